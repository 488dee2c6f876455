"""Products: ``matmul`` and ``einsum`` primitives, and ``tensordot``/``trace`` built on them.

``matmul`` is NumPy's: operands of one dtype with at least one dimension each, a vector taken
as a row on the left and a column on the right, leading dimensions broadcast; its VJPs are
matrix products with a transposed operand, summed back over broadcast batch dimensions (for a
vector, a matrix-vector product and an outer product). ``einsum`` takes a canonical subscripts
string (explicit output, no ellipsis); its VJP for an operand is another ``einsum``.
"""

from __future__ import annotations

import functools
import math
import string

import numpy as np

from pullback._core import EVAL, RAW, Array, ShapedArray, state
from pullback._ops._base import (
    Linear,
    align_batched,
    batch_at,
    batch_size,
    primitive,
    unbroadcast,
)
from pullback._ops.creation import eye
from pullback._ops.elementwise import multiply
from pullback._ops.shape import PerOperand
from pullback._ops.structural import broadcast_to, reduce_sum, reshape, transpose

# -- matmul -----------------------------------------------------------------------------------


_matmul_impl = np.matmul


def matmul_shape(sx, sy):
    """The shape of ``matmul`` of operands of shapes ``sx`` and ``sy`` (NumPy's rule: a vector is
    a row on the left and a column on the right, and its axis leaves the result)."""
    mx = sx if len(sx) >= 2 else (1, *sx)
    my = sy if len(sy) >= 2 else (*sy, 1)
    batch = np.broadcast_shapes(mx[:-2], my[:-2])
    rows = sx[-2:-1]  # () for a vector
    cols = sy[-1:] if len(sy) >= 2 else ()
    return (*batch, *rows, *cols)


def _matmul_abstract(x, y):
    return ShapedArray(matmul_shape(x.shape, y.shape), x.dtype, x.weak_type and y.weak_type)


def _swap_last(x):
    return transpose(x, _swap_last_permutation(len(x.shape)))


@functools.cache
def _swap_last_permutation(n):
    return tuple(range(n - 2)) + (n - 1, n - 2)


def _matmul_vjp_x(ct, ans, x, y):
    if len(x.shape) >= 2 and len(y.shape) >= 2:
        return unbroadcast(matmul(ct, _swap_last(y)), x)
    return _vector_vjp(0, ct, x, y)


def _matmul_vjp_y(ct, ans, x, y):
    if len(x.shape) >= 2 and len(y.shape) >= 2:
        return unbroadcast(matmul(_swap_last(x), ct), y)
    return _vector_vjp(1, ct, x, y)


def _vector_vjp(k, ct, x, y):
    """The VJP of operand ``k`` of a product with a vector operand. Vectors are handled as they
    are (a vector-matrix product's cotangents are a matrix-vector product and an outer product),
    not reshaped into matrices: that keeps per-example products under ``vmap`` to one operation
    each."""
    nx, ny = len(x.shape), len(y.shape)
    if nx == 1 and ny == 1:
        return ct * (y if k == 0 else x)
    if nx == 1 and ny == 2:
        return matmul(y, ct) if k == 0 else einsum([x, ct], "i,j->ij")
    if nx == 2 and ny == 1:
        return einsum([ct, y], "i,j->ij") if k == 0 else matmul(ct, x)
    # a vector against a stack of matrices: as the matrices NumPy makes of it (reading only the
    # shape of operand k, which may be an abstract value: see linear_transpose)
    mx_shape = (1, *x.shape) if nx == 1 else x.shape
    my_shape = (*y.shape, 1) if ny == 1 else y.shape
    mct = reshape(ct, matmul_shape(mx_shape, my_shape))
    if k == 0:
        my = reshape(y, my_shape) if ny == 1 else y
        g = unbroadcast(matmul(mct, _swap_last(my)), ShapedArray(mx_shape, x.dtype, False))
        return reshape(g, x.shape)
    mx = reshape(x, mx_shape) if nx == 1 else x
    g = unbroadcast(matmul(_swap_last(mx), mct), ShapedArray(my_shape, y.dtype, False))
    return reshape(g, y.shape)


matmul_p, _ = primitive("matmul", _matmul_impl, vjp=(_matmul_vjp_x, _matmul_vjp_y))


def matmul(x, y):
    """NumPy's ``matmul`` of operands of one dtype with at least one dimension each."""
    interp = state.interp
    if interp is EVAL:
        if type(x) is Array and type(y) is Array:
            return Array(_matmul_impl(x._value, y._value), x._weak and y._weak)
    elif interp is RAW and type(x) is np.ndarray and type(y) is np.ndarray:
        return _matmul_impl(x, y)
    # ``process2`` is the two-operand bind without parameters (not only for elementwise ops)
    return interp.process2(matmul_p, x, y)


matmul_p.abstract = _matmul_abstract


# -- einsum -----------------------------------------------------------------------------------


def _einsum_impl(*xs, subscripts):
    optimize = _einsum_optimize(subscripts, tuple(x.shape for x in xs))
    return np.einsum(subscripts, *xs, optimize=optimize)


@functools.lru_cache(maxsize=1024)
def _einsum_optimize(subscripts, shapes):
    """Whether NumPy's optimized (BLAS) path pays: for more than two operands, or for a product
    that sums over a letter of a large operand. A product that sums over no letter (outer
    products) gains nothing from BLAS: NumPy's plain loop is 1.5x faster than the optimized path
    there (measured on 128 outer products of 64)."""
    ins, out = _parse(subscripts)
    contracts = any(
        c not in out and n > 1
        for s, shape in zip(ins, shapes, strict=True)
        for c, n in zip(s, shape, strict=True)
    )
    return len(shapes) > 2 or (contracts and any(math.prod(shape) > 4096 for shape in shapes))


def _parse(subscripts):
    ins, out = subscripts.split("->")
    return ins.split(","), out


def _einsum_rule(k):
    def rule(ct, ans, *xs, subscripts):
        ins, out = _parse(subscripts)
        own = ins[k]
        sizes = {}
        for s, x in zip(ins, xs):
            sizes.update(zip(s, x.shape))
        others = [s for j, s in enumerate(ins) if j != k]
        available = set(out).union(*others)
        unique = "".join(dict.fromkeys(own))
        kept = "".join(c for c in unique if c in available)
        spec = ",".join([out, *others]) + "->" + kept
        g = einsum([ct, *(x for j, x in enumerate(xs) if j != k)], spec)
        if kept != unique:
            # letters summed within this operand alone: the cotangent is constant along them
            g = reshape(g, tuple(sizes[c] if c in kept else 1 for c in unique))
            g = broadcast_to(g, tuple(sizes[c] for c in unique))
        if unique != own:
            g = _onto_diagonals(g, own, sizes)
        return g

    return rule


def _onto_diagonals(g, own, sizes):
    """Spread ``g`` (one axis per distinct letter of ``own``) onto the diagonals that repeated
    letters of ``own`` describe, with zeros elsewhere."""
    first = {}
    shape = []
    for p, c in enumerate(own):
        if c in first:
            shape.append(1)
        else:
            first[c] = p
            shape.append(sizes[c])
    g = broadcast_to(reshape(g, tuple(shape)), tuple(sizes[c] for c in own))
    for p, c in enumerate(own):
        if first[c] != p:
            n = sizes[c]
            mask_shape = [1] * len(own)
            mask_shape[first[c]] = n
            mask_shape[p] = n
            g = g * reshape(eye(n, n, 0, g.dtype), tuple(mask_shape))
    return g


einsum_p, _einsum = primitive("einsum", _einsum_impl, vjp=PerOperand(_einsum_rule))


def einsum(operands, subscripts):
    """``np.einsum`` on operands of one dtype; ``subscripts`` is explicit (``"ij,jk->ik"``),
    without ellipsis or spaces."""
    return _einsum(*operands, subscripts=subscripts)


# -- built from the primitives ----------------------------------------------------------------


def tensordot(x, y, axes_x, axes_y):
    """Contract axes ``axes_x`` of ``x`` with ``axes_y`` of ``y`` (non-negative, paired in order).

    The free axes of ``x`` come first in the result, then those of ``y``.
    """
    free_x = [i for i in range(x.ndim) if i not in axes_x]
    free_y = [i for i in range(y.ndim) if i not in axes_y]
    k = int(np.prod([x.shape[i] for i in axes_x], dtype=np.int64))
    m = int(np.prod([x.shape[i] for i in free_x], dtype=np.int64))
    n = int(np.prod([y.shape[i] for i in free_y], dtype=np.int64))
    a = reshape(transpose(x, tuple(free_x) + tuple(axes_x)), (m, k))
    b = reshape(transpose(y, tuple(axes_y) + tuple(free_y)), (k, n))
    out_shape = tuple(x.shape[i] for i in free_x) + tuple(y.shape[i] for i in free_y)
    return reshape(matmul(a, b), out_shape)


def trace(x, offset, axis1, axis2):
    """Sum of diagonal ``offset`` of the planes given by ``axis1``/``axis2`` (non-negative)."""
    rest = tuple(i for i in range(x.ndim) if i not in (axis1, axis2))
    x = transpose(x, rest + (axis1, axis2))
    n, m = x.shape[-2:]
    mask = eye(n, m, offset, x.dtype)
    nd = x.ndim
    return reduce_sum(x * mask, (nd - 2, nd - 1))


# -- where these primitives are linear (for linear_transpose) --------------------------------------

matmul_p.transpose = Linear(0, 1, separately=True)
einsum_p.transpose = Linear(separately=True)


# -- batching rules (vmap) -------------------------------------------------------------------------


def _matmul_batch(values, bdims):
    (x, y), (dx, dy) = values, bdims
    ex = x.shape if dx is None else x.shape[:dx] + x.shape[dx + 1 :]  # one example's shapes
    ey = y.shape if dy is None else y.shape[:dy] + y.shape[dy + 1 :]
    if dy is None and len(ey) == 2:
        # every example's rows (or vector) against one matrix: a single product over all of them
        x = batch_at(x, dx, None)
        if len(ex) == 1:
            return matmul(x, y), 0
        s = x.shape
        out = matmul(reshape(x, (math.prod(s[:-1]), s[-1])), y)
        return reshape(out, s[:-1] + ey[-1:]), 0
    if dx is None and len(ex) == 2 and len(ey) == 1:
        # one matrix against every example's vector: the vectors as rows, against its transpose
        return matmul(batch_at(y, dy, None), _swap_last(x)), 0
    if dx is None and len(ex) == 2 and len(ey) == 2:
        # one matrix against every example's columns: (m, k) @ (k, B * n), batch axis in the middle
        y = transpose(y, (1 if dy == 0 else 0, dy, 2 if dy != 2 else 1))
        k, size, n = y.shape
        return reshape(matmul(x, reshape(y, (k, size * n))), (x.shape[0], size, n)), 1
    size = batch_size(values, bdims)
    # an example's vector made the matrix NumPy makes of it (a row on the left, a column on the
    # right); the result is reshaped to the examples' result shape at the end
    if dx is not None and len(ex) == 1:
        x, dx = reshape(batch_at(x, dx, None), (size, 1, ex[0])), 0
    if dy is not None and len(ey) == 1:
        y, dy = reshape(batch_at(y, dy, None), (size, ey[0], 1)), 0
    (x, y), _ = align_batched((x, y), (dx, dy), keep=False)
    if x.shape[-1] == 1:
        # a stack of outer products (per-example weight gradients): NumPy's batched matmul makes
        # one small BLAS call per example; einsum's plain loop is 4x faster, a broadcast product
        # (when the leading axes broadcast, which einsum does not do) 3x
        if x.shape[:-2] == y.shape[:-2]:
            lead = string.ascii_letters[: len(x.shape) - 2]
            out = einsum([x, y], f"{lead}ik,{lead}kj->{lead}ij")
        else:
            out = multiply(x, y)
    else:
        out = matmul(x, y)
    shape = (size, *matmul_shape(ex, ey))
    return (out if out.shape == shape else reshape(out, shape)), 0


def _einsum_batch(values, bdims, *, subscripts):
    return einsum(values, _batched_subscripts(subscripts, tuple(bdims))), 0


@functools.lru_cache(maxsize=1024)
def _batched_subscripts(subscripts, bdims):
    """``subscripts`` with a new letter for the batch axes (at ``bdims``), leading the output."""
    ins, out = _parse(subscripts)
    letter = next(c for c in string.ascii_letters if c not in subscripts)
    ins = [s if d is None else s[:d] + letter + s[d:] for s, d in zip(ins, bdims, strict=True)]
    return ",".join(ins) + "->" + letter + out


matmul_p.batch = _matmul_batch
einsum_p.batch = _einsum_batch
