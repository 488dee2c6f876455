"""``lax`` slicing: static slices and indices, and dynamic (traceable) slices and updates."""

from __future__ import annotations

import operator

import numpy as np

from pullback import _ops
from pullback._ops import indexing as _ix
from pullback._ops._base import dtype_of
from pullback.lax._common import _arr, _axes, _same_dtypes

__all__ = [
    "dynamic_index_in_dim",
    "dynamic_slice",
    "dynamic_slice_in_dim",
    "dynamic_update_slice",
    "dynamic_update_slice_in_dim",
    "index_in_dim",
    "slice",
    "slice_in_dim",
]


def slice(operand, start_indices, limit_indices, strides=None):
    """``operand[start:limit:stride]`` in every dimension (static, in-bounds indices).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.slice(jnp.arange(10.0), (1,), (8,), (3,))
    Array([1., 4., 7.], dtype=float32)
    """
    x = _arr(operand)
    starts = tuple(operator.index(i) for i in start_indices)
    limits = tuple(operator.index(i) for i in limit_indices)
    shape = tuple(x.shape)
    if len(starts) != x.ndim or len(limits) != x.ndim:
        raise TypeError(
            f"slice start_indices and limit_indices must have length equal to the number of "
            f"dimensions of the operand, got start_indices {starts}, limit_indices {limits} "
            f"and operand shape {shape}."
        )
    if any(s < 0 for s in starts):
        raise TypeError(f"slice start_indices must be greater than or equal to zero, got {starts}.")
    if any(lim > n for lim, n in zip(limits, shape, strict=True)):
        raise TypeError(
            f"slice limit_indices must be less than or equal to operand shape, got "
            f"limit_indices {limits} for operand shape {shape}."
        )
    if any(s > lim for s, lim in zip(starts, limits, strict=True)):
        raise TypeError(
            f"slice limit_indices must be greater than or equal to start_indices, got "
            f"start_indices {starts} and limit_indices {limits}."
        )
    if strides is not None:
        strides = tuple(operator.index(s) for s in strides)
        if len(strides) != x.ndim or any(s <= 0 for s in strides):
            raise TypeError(f"slice strides must be positive, got {strides}")
    return _ops.static_slice(x, starts, limits, strides)


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """``operand[start:limit:stride]`` along ``axis`` (negative indices count from the end).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.slice_in_dim(jnp.arange(6.0).reshape(2, 3), 1, 3, axis=1)
    Array([[1., 2.],
           [4., 5.]], dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "slice_in_dim")
    n = x.shape[axis]
    start = 0 if start_index is None else operator.index(start_index)
    limit = n if limit_index is None else operator.index(limit_index)
    start = start + n if start < 0 else start
    limit = limit + n if limit < 0 else limit
    starts = [0] * x.ndim
    limits = list(x.shape)
    strides = [1] * x.ndim
    starts[axis], limits[axis], strides[axis] = start, limit, operator.index(stride)
    return slice(x, starts, limits, strides)


def index_in_dim(operand, index, axis=0, keepdims=True):
    """Entry ``index`` (static; negative counts from the end) along ``axis``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.index_in_dim(jnp.arange(6.0).reshape(2, 3), -1, 1, keepdims=False)
    Array([2., 5.], dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "index_in_dim")
    n = x.shape[axis]
    index = operator.index(index)
    i = index + n if index < 0 else index
    if not 0 <= i < n:
        raise IndexError(f"index {index} is out of bounds for axis {axis} with size {n}")
    out = slice_in_dim(x, i, i + 1, 1, axis)
    return out if keepdims else _ops.squeeze(out, (axis,))


def _start_list(start_indices, ndim, who):
    if hasattr(start_indices, "shape") and len(start_indices.shape) == 1:
        starts = [start_indices[i] for i in range(start_indices.shape[0])]
    else:
        starts = list(start_indices)
    if len(starts) != ndim:
        raise TypeError(
            f"{who}: the number of start indices ({len(starts)}) must equal the rank of the "
            f"operand ({ndim})."
        )
    for s in starts:
        if dtype_of(s).kind not in "iu" or np.ndim(s) != 0:
            raise TypeError(f"{who}: start indices must be integer scalars, got {s!r}")
    return starts


def dynamic_slice(operand, start_indices, slice_sizes):
    """The block of ``slice_sizes`` at ``start_indices`` (which may be traced); starts are
    clamped so that the block lies inside ``operand``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.dynamic_slice(jnp.arange(5.0), (3,), (3,))
    Array([2., 3., 4.], dtype=float32)
    """
    x = _arr(operand)
    starts = _start_list(start_indices, x.ndim, "dynamic_slice")
    sizes = tuple(operator.index(k) for k in slice_sizes)
    if len(sizes) != x.ndim or any(k < 0 or k > n for k, n in zip(sizes, x.shape, strict=True)):
        raise TypeError(
            f"dynamic_slice slice_sizes must be non-negative and at most the operand shape, "
            f"got slice_sizes {sizes} for operand shape {tuple(x.shape)}."
        )
    return _ix.dynamic_slice(x, *starts, slice_sizes=sizes)


def dynamic_update_slice(operand, update, start_indices):
    """``operand`` with ``update`` written at ``start_indices`` (clamped to fit).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.dynamic_update_slice(jnp.zeros(5), jnp.ones(2), (4,))
    Array([0., 0., 0., 1., 1.], dtype=float32)
    """
    x = _arr(operand)
    update = _arr(update)
    _same_dtypes("dynamic_update_slice", (x, update))
    starts = _start_list(start_indices, x.ndim, "dynamic_update_slice")
    if update.ndim != x.ndim or any(k > n for k, n in zip(update.shape, x.shape, strict=True)):
        raise TypeError(
            f"dynamic_update_slice update shape must be smaller than operand shape, got update "
            f"shape {tuple(update.shape)} for operand shape {tuple(x.shape)}."
        )
    return _ix.dynamic_update_slice(x, update, *starts)


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0):
    """``dynamic_slice`` along one axis.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.dynamic_slice_in_dim(jnp.arange(5.0), 1, 2)
    Array([1., 2.], dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "dynamic_slice_in_dim")
    starts = [0] * x.ndim
    sizes = list(x.shape)
    starts[axis], sizes[axis] = start_index, slice_size
    return dynamic_slice(x, starts, sizes)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True):
    """Entry ``index`` (may be traced, clamped) along ``axis``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.dynamic_index_in_dim(jnp.arange(5.0), 9, keepdims=False)
    Array(4., dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "dynamic_index_in_dim")
    out = dynamic_slice_in_dim(x, index, 1, axis)
    return out if keepdims else _ops.squeeze(out, (axis,))


def dynamic_update_slice_in_dim(operand, update, start_index, axis):
    """``dynamic_update_slice`` along one axis.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.dynamic_update_slice_in_dim(jnp.zeros(4), jnp.ones(2), 1, 0)
    Array([0., 1., 1., 0.], dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "dynamic_update_slice_in_dim")
    starts = [0] * x.ndim
    starts[axis] = start_index
    return dynamic_update_slice(x, update, starts)
