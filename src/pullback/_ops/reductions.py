"""Reductions other than ``reduce_sum`` (which lives in ``structural``), and cumulative ops.

Parameters are canonical: ``axes`` is a sorted tuple of non-negative ints, ``axis`` a
non-negative int. ``pullback.numpy`` normalises what users pass.
"""

from __future__ import annotations

import numpy as np

from pullback._ops._base import Linear, along_axes, convert_element_type, primitive, reduction
from pullback._ops.elementwise import equal, where
from pullback._ops.shape import rev
from pullback._ops.structural import reduce_sum, reshape


def _kept_shape(shape, axes):
    """``shape`` with the reduced ``axes`` set to 1 (the shape ``keepdims=True`` gives)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _identity_of_max(dtype):
    if dtype.kind == "f":
        return -np.inf
    if dtype.kind in "iu":
        return np.iinfo(dtype).min
    return False


def _identity_of_min(dtype):
    if dtype.kind == "f":
        return np.inf
    if dtype.kind in "iu":
        return np.iinfo(dtype).max
    return True


# -- max / min --------------------------------------------------------------------------------


def _reduce_max_impl(x, *, axes):
    if x.size == 0:
        return np.maximum.reduce(x, axis=axes, initial=_identity_of_max(x.dtype))
    return np.maximum.reduce(x, axis=axes)


def _reduce_min_impl(x, *, axes):
    if x.size == 0:
        return np.minimum.reduce(x, axis=axes, initial=_identity_of_min(x.dtype))
    return np.minimum.reduce(x, axis=axes)


def _chooser_vjp(ct, ans, x, *, axes):
    # The cotangent is shared equally by every location that attains the extremum.
    shape = _kept_shape(x.shape, axes)
    hits = convert_element_type(equal(x, reshape(ans, shape)), ct.dtype)
    count = reduce_sum(hits, axes)
    return hits * reshape(ct / count, shape)


reduce_max_p, _reduce_max = primitive("reduce_max", _reduce_max_impl, vjp=(_chooser_vjp,))
reduce_min_p, _reduce_min = primitive("reduce_min", _reduce_min_impl, vjp=(_chooser_vjp,))


def reduce_max(x, axes):
    """Maximum over ``axes`` (a tuple of non-negative ints); ties share the cotangent."""
    return _reduce_max(x, axes=tuple(axes))


def reduce_min(x, axes):
    """Minimum over ``axes`` (a tuple of non-negative ints); ties share the cotangent."""
    return _reduce_min(x, axes=tuple(axes))


# -- product ----------------------------------------------------------------------------------


def _reduce_prod_impl(x, *, axes):
    return np.multiply.reduce(x, axis=axes, dtype=x.dtype)


def _reduce_prod_vjp(ct, ans, x, *, axes):
    # d prod / d x_i is the product of the other elements. Written without dividing by zero:
    # with no zero in the slice it is prod / x_i; with exactly one zero it is the product of the
    # non-zero elements at the zero and 0 elsewhere; with more zeros it is 0 everywhere.
    shape = _kept_shape(x.shape, axes)
    is_zero = equal(x, 0)
    n_zeros = reshape(reduce_sum(convert_element_type(is_zero, np.int32), axes), shape)
    safe = where(is_zero, 1, x)
    others = reshape(reduce_prod(safe, axes), shape)
    one_zero = convert_element_type(equal(n_zeros, 1), x.dtype)
    partial = where(equal(n_zeros, 0), others / safe, where(is_zero, others * one_zero, 0))
    return partial * reshape(ct, shape)


reduce_prod_p, _reduce_prod = primitive("reduce_prod", _reduce_prod_impl, vjp=(_reduce_prod_vjp,))


def reduce_prod(x, axes):
    """Product over ``axes`` (a tuple of non-negative ints)."""
    return _reduce_prod(x, axes=tuple(axes))


# -- boolean reductions -----------------------------------------------------------------------

reduce_and_p, _reduce_and = primitive(
    "reduce_and", lambda x, *, axes: np.all(x, axis=axes), weak="never"
)
reduce_or_p, _reduce_or = primitive(
    "reduce_or", lambda x, *, axes: np.any(x, axis=axes), weak="never"
)


def reduce_and(x, axes):
    """Logical AND of a boolean array over ``axes``."""
    return _reduce_and(x, axes=tuple(axes))


def reduce_or(x, axes):
    """Logical OR of a boolean array over ``axes``."""
    return _reduce_or(x, axes=tuple(axes))


# -- argmax / argmin --------------------------------------------------------------------------

argmax_p, _argmax = primitive(
    "argmax",
    lambda x, *, axes, index_dtype: np.argmax(x, axis=axes[0]).astype(index_dtype),
    weak="never",
)
argmin_p, _argmin = primitive(
    "argmin",
    lambda x, *, axes, index_dtype: np.argmin(x, axis=axes[0]).astype(index_dtype),
    weak="never",
)


def argmax(x, axis, index_dtype):
    """Index of the first maximum along ``axis`` (NaN counts as the maximum)."""
    return _argmax(x, axes=(axis,), index_dtype=np.dtype(index_dtype))


def argmin(x, axis, index_dtype):
    """Index of the first minimum along ``axis`` (NaN counts as the minimum)."""
    return _argmin(x, axes=(axis,), index_dtype=np.dtype(index_dtype))


# -- cumulative -------------------------------------------------------------------------------


def _cumulative(np_fn):
    def impl(x, *, axis, reverse):
        if reverse:
            return np.flip(np_fn(np.flip(x, axis), axis=axis, dtype=x.dtype), axis)
        return np_fn(x, axis=axis, dtype=x.dtype)

    return impl


cumsum_p, _cumsum = primitive(
    "cumsum",
    _cumulative(np.cumsum),
    vjp=(lambda ct, ans, x, *, axis, reverse: cumsum(ct, axis, not reverse),),
)


def cumsum(x, axis, reverse=False):
    """Running sum along ``axis`` (from the end when ``reverse``)."""
    return _cumsum(x, axis=axis, reverse=bool(reverse))


def _cumprod_vjp(ct, ans, x, *, axis, reverse):
    if reverse:
        flip = (axis,)
        back = _cumprod_vjp(rev(ct, flip), rev(ans, flip), rev(x, flip), axis=axis, reverse=False)
        return rev(back, flip)
    # ct_x[j] = sum_{i >= j} ct[i] * prod_{k <= i, k != j} x[k], without dividing by zero. Before
    # the first zero z: (reverse cumsum of ct * ans)[j] / x[j]. At z: the reverse cumsum of
    # ct * cumprod(x with x[z] set to 1). After z: 0.
    is_zero = equal(x, 0)
    zeros_so_far = cumsum(convert_element_type(is_zero, np.int32), axis)
    before = equal(zeros_so_far, 0)
    first_zero = convert_element_type(is_zero, np.int32) * zeros_so_far
    first_zero = equal(first_zero, 1)
    safe = where(is_zero, 1, x)
    lead = cumsum(ct * ans, axis, True) / safe
    skip_first = cumprod(where(first_zero, 1, x), axis)
    at_zero = cumsum(ct * skip_first, axis, True)
    return where(before, lead, where(first_zero, at_zero, 0))


cumprod_p, _cumprod = primitive("cumprod", _cumulative(np.cumprod), vjp=(_cumprod_vjp,))


def cumprod(x, axis, reverse=False):
    """Running product along ``axis`` (from the end when ``reverse``)."""
    return _cumprod(x, axis=axis, reverse=bool(reverse))


# -- where these primitives are linear (for linear_transpose) --------------------------------------

cumsum_p.transpose = Linear(0)


# -- batching rules (vmap) -------------------------------------------------------------------------

for _prim in (
    reduce_max_p,
    reduce_min_p,
    reduce_prod_p,
    reduce_and_p,
    reduce_or_p,
    argmax_p,
    argmin_p,
):
    _prim.batch = reduction(_prim)
for _prim in (cumsum_p, cumprod_p):
    _prim.batch = along_axes(_prim, "axis")
