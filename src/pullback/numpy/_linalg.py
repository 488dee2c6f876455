"""Products: dot, matmul, vdot, inner, outer, tensordot, einsum, trace."""

from __future__ import annotations

import operator
import string

import numpy as np

from pullback import _dtypes, _ops
from pullback._core import Array
from pullback.numpy._creation import asarray
from pullback.numpy._reductions import _strong, _upcast_small_ints
from pullback.numpy._shape import _canonical_axis


def _as_array(a):
    return a if isinstance(a, Array) else asarray(a)


def _common(a, b):
    """Both operands as ``Array``s of their promoted dtype (weak flags kept)."""
    if not isinstance(a, Array):
        a = asarray(a)
    if not isinstance(b, Array):
        b = asarray(b)
    if a.dtype is b.dtype or a.dtype == b.dtype:
        return a, b
    dtype = _dtypes.result_type(a, b)
    if a.dtype != dtype:
        a = _ops.convert_element_type(a, dtype, a.weak_type)
    if b.dtype != dtype:
        b = _ops.convert_element_type(b, dtype, b.weak_type)
    return a, b


def _finish(out, preferred_element_type):
    if preferred_element_type is None:
        return out
    return _ops.convert_element_type(out, preferred_element_type)


def matmul(a, b, *, precision=None, preferred_element_type=None):
    """Matrix product with NumPy's rules for 1-D operands and broadcast batch dimensions.

    >>> import pullback.numpy as jnp
    >>> jnp.matmul(jnp.array([[1.0, 2.0]]), jnp.array([[3.0], [4.0]]))
    Array([[11.]], dtype=float32)
    >>> jnp.array([1.0, 2.0]) @ jnp.array([3.0, 4.0])
    Array(11., dtype=float32)
    """
    if isinstance(a, Array) and isinstance(b, Array) and preferred_element_type is None:
        # the common case, kept cheap: matrices or vectors of one dtype
        sa, sb = a.shape, b.shape
        if 0 < len(sa) <= 2 and 0 < len(sb) <= 2 and sa[-1] == sb[0] and a.dtype == b.dtype:
            return _ops.matmul(a, b)
    a, b = _common(a, b)
    na, nb = a.ndim, b.ndim
    if na == 0 or nb == 0:
        which = 0 if na == 0 else 1
        raise ValueError(
            f"matmul input operand {which} must have ndim at least 1, but it has ndim 0"
        )
    _check_contraction(
        a.shape[-1], b.shape[-2] if nb >= 2 else b.shape[0], a.shape, b.shape, "matmul"
    )
    _batch_shape(a.shape[:-2], b.shape[:-2])
    return _finish(_ops.matmul(a, b), preferred_element_type)


def _check_contraction(k1, k2, shape_a, shape_b, who):
    if k1 != k2:
        raise TypeError(
            f"{who}: the contracting dimensions must have equal sizes, got shapes {shape_a} and "
            f"{shape_b}"
        )


def _batch_shape(s1, s2):
    try:
        return np.broadcast_shapes(s1, s2)
    except ValueError:
        raise ValueError(
            f"matmul: batch dimensions {s1} and {s2} cannot be broadcast together"
        ) from None


def dot(a, b, *, precision=None, preferred_element_type=None):
    """NumPy's ``dot``: products of scalars, inner products of vectors, matrix products, and
    the contraction of the last axis of ``a`` with the second-to-last of ``b`` in general.

    >>> import pullback.numpy as jnp
    >>> jnp.dot(jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0]))
    Array(11., dtype=float32)
    """
    a, b = _common(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return _finish(_ops.multiply(a, b), preferred_element_type)
    if b.ndim == 1 or (a.ndim <= 2 and b.ndim == 2) or a.ndim == 1:
        return matmul(a, b, preferred_element_type=preferred_element_type)
    return tensordot(
        a, b, ((a.ndim - 1,), (b.ndim - 2,)), preferred_element_type=preferred_element_type
    )


def vdot(a, b, *, precision=None, preferred_element_type=None):
    """Dot product of the flattened arrays (real arrays only: no conjugation is needed).

    >>> import pullback.numpy as jnp
    >>> jnp.vdot(jnp.ones((2, 2)), jnp.ones((2, 2)))
    Array(4., dtype=float32)
    """
    a, b = _common(a, b)
    if a.dtype.kind == "c":
        raise NotImplementedError("vdot of complex arrays is not supported yet.")
    a = _ops.reshape(a, (a.size,))
    b = _ops.reshape(b, (b.size,))
    return dot(a, b, preferred_element_type=preferred_element_type)


def inner(a, b, *, precision=None, preferred_element_type=None):
    """Sum of products over the last axes of ``a`` and ``b``.

    >>> import pullback.numpy as jnp
    >>> jnp.inner(jnp.ones((2, 3)), jnp.ones((4, 3))).shape
    (2, 4)
    """
    a, b = _common(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return _finish(_ops.multiply(a, b), preferred_element_type)
    return tensordot(
        a, b, ((a.ndim - 1,), (b.ndim - 1,)), preferred_element_type=preferred_element_type
    )


def outer(a, b, out=None):
    """Outer product of the flattened arrays.

    >>> import pullback.numpy as jnp
    >>> jnp.outer(jnp.array([1, 2]), jnp.array([1, 10]))
    Array([[ 1, 10],
           [ 2, 20]], dtype=int32)
    """
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.outer is not supported.")
    a, b = _common(a, b)
    a = _ops.reshape(a, (a.size, 1))
    b = _ops.reshape(b, (1, b.size))
    return _ops.multiply(a, b)


def tensordot(a, b, axes=2, *, precision=None, preferred_element_type=None):
    """Contract ``axes`` of ``a`` with those of ``b``: an int ``n`` (the last ``n`` of ``a``
    with the first ``n`` of ``b``) or a pair of axis sequences.

    >>> import pullback.numpy as jnp
    >>> jnp.tensordot(jnp.ones((2, 3, 4)), jnp.ones((3, 4, 5))).shape
    (2, 5)
    >>> jnp.tensordot(jnp.ones((2, 3)), jnp.ones((3, 2)), axes=([1], [0]))
    Array([[3., 3.],
           [3., 3.]], dtype=float32)
    """
    a, b = _common(a, b)
    if isinstance(axes, (int, np.integer)):
        n = operator.index(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise TypeError(
                f"Number of tensordot axes (axes {n}) exceeds input ranks ({a.shape} and {b.shape})"
            )
        axes_a = tuple(range(a.ndim - n, a.ndim))
        axes_b = tuple(range(n))
    else:
        try:
            ax_a, ax_b = axes
        except (TypeError, ValueError):
            raise TypeError(
                f"tensordot axes argument must be an int or a pair of sequences, got {axes!r}"
            ) from None
        ax_a = (ax_a,) if isinstance(ax_a, (int, np.integer)) else tuple(ax_a)
        ax_b = (ax_b,) if isinstance(ax_b, (int, np.integer)) else tuple(ax_b)
        if len(ax_a) != len(ax_b):
            raise TypeError(
                f"tensordot requires axes lists to have equal length, got {ax_a} and {ax_b}."
            )
        axes_a = tuple(_canonical_axis(i, a.ndim, "tensordot") for i in ax_a)
        axes_b = tuple(_canonical_axis(i, b.ndim, "tensordot") for i in ax_b)
    for i, j in zip(axes_a, axes_b):
        _check_contraction(a.shape[i], b.shape[j], a.shape, b.shape, "tensordot")
    return _finish(_ops.tensordot(a, b, axes_a, axes_b), preferred_element_type)


# -- einsum -----------------------------------------------------------------------------------


def _canonical_subscripts(subscripts, shapes):
    """Explicit subscripts without ellipsis or spaces, and the broadcast shape each operand
    needs (its ellipsis dimensions broadcast against the others')."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, out = subscripts.split("->")
        explicit = True
    else:
        lhs, out, explicit = subscripts, "", False
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(
            f"einsum: the subscripts name {len(ins)} operands but {len(shapes)} were given"
        )
    used = set(subscripts) - set(".,->")
    for c in used:
        if c not in string.ascii_letters:
            raise ValueError(f"einsum: invalid subscript character {c!r}")
    spare = [c for c in string.ascii_letters if c not in used]
    ell_ndim = 0
    for s, shape in zip(ins, shapes):
        if "..." in s:
            ell_ndim = max(ell_ndim, len(shape) - (len(s) - 3))
    ell = "".join(spare[:ell_ndim])
    ell_shapes = []
    new_ins = []
    for s, shape in zip(ins, shapes):
        if "..." in s:
            k = len(shape) - (len(s) - 3)
            pre, post = s.split("...")
            new_ins.append(pre + ell[ell_ndim - k :] + post)
            ell_shapes.append(shape[len(pre) : len(pre) + k])
        else:
            if len(s) != len(shape):
                raise ValueError(
                    f"einsum: operand with subscripts {s!r} has {len(shape)} dimensions"
                )
            new_ins.append(s)
            ell_shapes.append(())
    ell_shape = np.broadcast_shapes(*ell_shapes) if ell_ndim else ()
    if explicit:
        out = out.replace("...", ell) if "..." in out else out
    else:
        counts = {}
        for s in new_ins:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    targets = []
    for s, shape, es in zip(ins, shapes, ell_shapes):
        if "..." in s and es != ell_shape[len(ell_shape) - len(es) :]:
            pre = s.split("...")[0]
            k = len(es)
            full = ell_shape[len(ell_shape) - k :]
            targets.append(shape[: len(pre)] + tuple(full) + shape[len(pre) + k :])
        else:
            targets.append(None)
    return ",".join(new_ins) + "->" + out, targets


def einsum(
    subscripts,
    *operands,
    out=None,
    optimize="auto",
    precision=None,
    preferred_element_type=None,
    _dot_general=None,
):
    """Einstein summation over the operands (explicit or implicit output, ``...`` allowed).

    >>> import pullback.numpy as jnp
    >>> jnp.einsum("ij,jk->ik", jnp.ones((2, 3)), jnp.ones((3, 4))).shape
    (2, 4)
    >>> jnp.einsum("ii", jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    Array(5., dtype=float32)
    """
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.einsum is not supported.")
    if not isinstance(subscripts, str):
        raise NotImplementedError("einsum: only the subscripts-string form is supported.")
    arrays = [_as_array(x) for x in operands]
    if len(arrays) > 1:
        dtype = _dtypes.result_type(*arrays)
        arrays = [
            x if x.dtype == dtype else _ops.convert_element_type(x, dtype, x.weak_type)
            for x in arrays
        ]
    spec, targets = _canonical_subscripts(subscripts, [x.shape for x in arrays])
    sizes = {}
    ins = spec.split("->")[0].split(",")
    for i, (s, x, t) in enumerate(zip(ins, arrays, targets)):
        if t is not None:
            arrays[i] = x = _ops.broadcast_to(x, t)
        for c, n in zip(s, x.shape):
            if sizes.setdefault(c, n) != n:
                raise ValueError(
                    f"einsum: size of label {c!r} for operand {i} ({n}) does not match previous "
                    f"terms ({sizes[c]})."
                )
    return _finish(_ops.einsum(arrays, spec), preferred_element_type)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """Sum along diagonal ``offset`` of the planes ``axis1``/``axis2`` (small ints widen as in
    ``sum``).

    >>> import pullback.numpy as jnp
    >>> jnp.trace(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    Array(5., dtype=float32)
    """
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.trace is not supported.")
    a = _strong(a)
    if a.ndim < 2:
        raise ValueError(f"trace requires an array of at least two dimensions, got {a.ndim}")
    i = _canonical_axis(axis1, a.ndim, "trace")
    j = _canonical_axis(axis2, a.ndim, "trace")
    if i == j:
        raise ValueError("axis1 and axis2 can not be same.")
    dtype = _upcast_small_ints(a.dtype) if dtype is None else _dtypes.canonicalize_dtype(dtype)
    if a.dtype != dtype:
        a = _ops.convert_element_type(a, dtype)
    return _ops.trace(a, operator.index(offset), i, j)
