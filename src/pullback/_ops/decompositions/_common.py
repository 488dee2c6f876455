"""What the decompositions share: NumPy helpers for the impls (batched loops, NaN results,
triangular substitution, LU with partial pivoting), operations on pullback values for the rules
(triangles, diagonals, row and column blocks, ``_quiet``), and the batch rule of primitives on
stacks of matrices."""

from __future__ import annotations

import functools
import math

import numpy as np

from pullback._ops._base import batch_at, batch_size, convert_element_type
from pullback._ops.creation import arange, eye
from pullback._ops.elementwise import equal, less_equal, where
from pullback._ops.linalg import einsum
from pullback._ops.reductions import reduce_and
from pullback._ops.shape import static_slice
from pullback._ops.structural import reshape, transpose

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


# -- NumPy helpers (impls only) ------------------------------------------------------------------


def _swap(x):
    return np.swapaxes(x, -1, -2)


def _each_matrix(fn, x, outs):
    """``fn`` on each matrix of the stack ``x``; ``outs`` are the result arrays to fill (their
    leading dimensions are ``x``'s), preset to what a failure leaves (NaN)."""
    batch = x.shape[:-2]
    for idx in np.ndindex(*batch):
        try:
            results = fn(x[idx])
        except np.linalg.LinAlgError:
            continue
        if not isinstance(results, tuple):
            results = (results,)
        for out, r in zip(outs, results, strict=True):
            out[idx] = r
    return outs


def _nan(shape, dtype):
    return np.full(shape, np.nan, dtype)


def _substitute(t, b, lower, unit=False):
    """``t^-1 b`` by substitution for triangular ``t`` (only its triangle is read), as LAPACK's
    ``trsm``: a zero on the diagonal gives infinities and NaNs, not an error."""
    m = t.shape[-1]
    x = np.zeros(np.broadcast_shapes(t.shape[:-2], b.shape[:-2]) + b.shape[-2:], b.dtype)
    rows = range(m) if lower else range(m - 1, -1, -1)
    with np.errstate(all="ignore"):
        for i in rows:
            known = slice(0, i) if lower else slice(i + 1, m)
            s = b[..., i, :] - np.einsum("...j,...jn->...n", t[..., i, known], x[..., known, :])
            x[..., i, :] = s if unit else s / t[..., i, i][..., None]
    return x


def _solve_triangular_raw(t, b, lower):
    """Solve with the triangle of ``t`` that ``lower`` names (the other triangle is zero)."""
    try:
        with np.errstate(all="ignore"):
            return np.linalg.solve(t, b)
    except np.linalg.LinAlgError:
        return _substitute(t, b, lower)


def _lu_raw(a):
    """LU with partial pivoting (LAPACK's ``getrf``: the first largest pivot): ``(lu, pivots,
    permutation)`` with ``a[permutation] = L @ U``; a zero pivot leaves its column unscaled."""
    *batch, m, n = a.shape
    k = min(m, n)
    count = math.prod(batch)
    flat = np.array(a, dtype=a.dtype).reshape(count, m, n)
    pivots = np.zeros((count, k), np.int32)
    perm = np.tile(np.arange(m, dtype=np.int32), (count, 1))
    rows = np.arange(count)
    with np.errstate(all="ignore"):
        for j in range(k):
            p = j + np.argmax(np.abs(flat[:, j:, j]), axis=1)
            pivots[:, j] = p
            top = flat[rows, j, :].copy()
            flat[rows, j, :] = flat[rows, p, :]
            flat[rows, p, :] = top
            pj = perm[rows, j].copy()
            perm[rows, j] = perm[rows, p]
            perm[rows, p] = pj
            d = flat[:, j, j]
            below = flat[:, j + 1 :, j]
            flat[:, j + 1 :, j] = np.where((d != 0)[:, None], below / d[:, None], below)
            flat[:, j + 1 :, j + 1 :] -= flat[:, j + 1 :, j, None] * flat[:, j, None, j + 1 :]
    return (
        flat.reshape(a.shape),
        pivots.reshape((*batch, k)),
        perm.reshape((*batch, m)),
    )


def _lu_solve_raw(lu, perm, b):
    pb = np.take_along_axis(b, perm[..., None].astype(np.intp), axis=-2)
    y = _substitute(lu, pb, lower=True, unit=True)
    return _substitute(lu, y, lower=False)


# -- operations on pullback values (rules) -------------------------------------------------------


def _T(x):
    n = len(x.shape)
    return transpose(x, (*range(n - 2), n - 1, n - 2))


def _tri_mask(n, m, k):
    """``True`` on and below diagonal ``k`` of an ``n`` by ``m`` matrix."""
    i = reshape(arange(0, n, 1, np.int32), (n, 1))
    j = reshape(arange(0, m, 1, np.int32), (1, m))
    return less_equal(j - i, k)


def tril(x, k=0):
    """``x`` with the entries above diagonal ``k`` of its last two axes set to zero."""
    n, m = x.shape[-2:]
    return where(_tri_mask(n, m, k), x, 0)


def triu(x, k=0):
    """``x`` with the entries below diagonal ``k`` of its last two axes set to zero."""
    n, m = x.shape[-2:]
    return where(_tri_mask(n, m, k - 1), 0, x)


def _sym(x):
    return (x + _T(x)) * 0.5


def _eye(n, dtype):
    return eye(n, n, 0, dtype)


def diagonal(x):
    """The main diagonals of the matrices in the last two axes of ``x``."""
    lead = _LETTERS[: len(x.shape) - 2]
    return einsum([x], f"{lead}yy->{lead}y")


def diag_embed(s):
    """Diagonal matrices with the vectors in the last axis of ``s`` on their diagonals."""
    n = s.shape[-1]
    return reshape(s, (*s.shape, 1)) * _eye(n, s.dtype)


def _col(s):
    return reshape(s, (*s.shape, 1))


def _row(s):
    return reshape(s, (*s.shape[:-1], 1, s.shape[-1]))


def _columns(x, start, stop):
    starts = [0] * len(x.shape)
    starts[-1] = start
    return static_slice(x, starts, (*x.shape[:-1], stop))


def _rows(x, start, stop):
    starts = [0] * len(x.shape)
    starts[-2] = start
    return static_slice(x, starts, (*x.shape[:-2], stop, x.shape[-1]))


def _unless_zero(ct, f, x):
    """``f * x``, or zero for a matrix whose cotangent ``ct`` is zero throughout: an output that
    received no cotangent contributes nothing, not ``inf * 0`` (JAX skips such symbolic zeros;
    pullback's tape hands multi-result rules zeros for them)."""
    nd = len(ct.shape)
    zero = reduce_and(equal(ct, 0), (nd - 2, nd - 1))
    return where(reshape(zero, (*zero.shape, 1, 1)), 0, f * x)


def _quiet(rule):
    """``rule`` without NumPy's warnings for the infinities JAX's formulas produce by design
    (repeated eigenvalues or singular values, zero singular values)."""

    @functools.wraps(rule)
    def quiet(*args, **params):
        with np.errstate(divide="ignore", invalid="ignore"):
            return rule(*args, **params)

    return quiet


def _permutation_matrix(perm, dtype):
    """One-hot rows: ``P @ a`` is ``a[perm]`` (``perm`` along the last axis, any batch)."""
    m = perm.shape[-1]
    cols = arange(0, m, 1, perm.dtype)
    return convert_element_type(equal(_col(perm), cols), dtype)


# -- batching: every primitive here works on stacks of matrices --------------------------------


def _leading_batch(prim):
    """The batch rule of a primitive whose operands share their leading (batch) dimensions:
    every operand gets the batch axis in front (broadcast when it has none)."""

    def rule(values, bdims, **params):
        size = batch_size(values, bdims)
        args = [batch_at(v, d, size) for v, d in zip(values, bdims, strict=True)]
        out = prim.bind(*args, **params)
        return out, ([0] * len(out) if prim.multiple_results else 0)

    return rule


def _square_shape(x, who):
    shape = x.shape
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"The input to {who} must be a square matrix. Got shape {shape}.")
    return shape
