"""Reductions: sum, mean, ... with ``axis`` and ``keepdims``."""

from __future__ import annotations

from pullback import _dtypes
from pullback._core import Array
from pullback._ops import convert_element_type, reduce_sum, reshape
from pullback._ops._base import dtype_of
from pullback.numpy._creation import asarray


def canonical_axes(axis, ndim, who):
    """``axis`` as a sorted tuple of non-negative ints, validated against ``ndim``."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{who}: axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def _keepdims_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Sum of elements over ``axis``.

    >>> import pullback.numpy as jnp
    >>> jnp.sum(jnp.array([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    Array([4., 6.], dtype=float32)
    """
    a = _as_array(a)
    in_dtype = dtype_of(a)
    if dtype is None and in_dtype.kind in "bu" and in_dtype.itemsize < 4 or in_dtype.kind == "b":
        dtype = _dtypes.default_int_dtype() if in_dtype.kind != "u" else "uint32"
    if in_dtype.kind == "i" and in_dtype.itemsize < 4 and dtype is None:
        dtype = _dtypes.default_int_dtype()
    if dtype is not None:
        a = convert_element_type(a, dtype)
    axes = canonical_axes(axis, a.ndim, "sum")
    out_ = reduce_sum(a, axes)
    if keepdims:
        out_ = reshape(out_, _keepdims_shape(a.shape, axes))
    return out_


def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """Arithmetic mean over ``axis``.

    >>> import pullback.numpy as jnp
    >>> jnp.mean(jnp.array([1.0, 2.0, 4.0]))
    Array(2.3333333, dtype=float32)
    """
    a = _as_array(a)
    if dtype_of(a).kind not in "fc":
        a = convert_element_type(a, _dtypes.to_inexact_dtype(dtype_of(a)))
    axes = canonical_axes(axis, a.ndim, "mean")
    n = 1
    for i in axes:
        n *= a.shape[i]
    total = sum(a, axis=axes, dtype=dtype, keepdims=keepdims)
    return total / n


def _as_array(a):
    return a if isinstance(a, Array) else asarray(a)
