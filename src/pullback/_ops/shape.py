"""Shape primitives: concatenate, split, squeeze, rev, slice, pad, take; and the operations
built from them (expand_dims, stack, tile, repeat, slice_in_dim).

All of these are linear, so each VJP is the adjoint operation: concatenate <-> split,
slice <-> pad, take <-> take_add, rev <-> rev, squeeze <-> reshape. Parameters are canonical
(non-negative axes, tuples); ``pullback.numpy`` normalises user input.
"""

from __future__ import annotations

import numpy as np

from pullback._core import Array
from pullback._ops._base import (
    Linear,
    along_axes,
    batch_at,
    batch_size,
    batched_axis,
    dtype_of,
    move_axis,
    primitive,
    reduction,
)
from pullback._ops.creation import arange, full
from pullback._ops.elementwise import (
    greater_equal,
    less,
    logical_and,
    maximum,
    minimum,
    remainder,
    where,
)
from pullback._ops.structural import broadcast_to, reduce_sum, reshape, transpose


class PerOperand:
    """VJP rules of a primitive that takes any number of operands: rule ``k`` is ``make(k)``.

    Indexing gives the rule of operand ``k``, so it can stand where a tuple of per-operand rules
    is expected.
    """

    __slots__ = ("make", "_cache")

    def __init__(self, make):
        self.make = make
        self._cache = {}

    def __getitem__(self, k):
        rule = self._cache.get(k)
        if rule is None:
            rule = self._cache[k] = self.make(k)
        return rule


# -- concatenate / split ----------------------------------------------------------------------


def _concatenate_rule(k):
    def rule(ct, ans, *xs, dimension):
        start = sum(x.shape[dimension] for x in xs[:k])
        return slice_in_dim(ct, start, start + xs[k].shape[dimension], dimension)

    return rule


concatenate_p, _concatenate = primitive(
    "concatenate",
    lambda *xs, dimension: np.concatenate(xs, axis=dimension),
    vjp=PerOperand(_concatenate_rule),
)


def concatenate(xs, dimension):
    """Join arrays of one dtype along ``dimension`` (a non-negative int)."""
    xs = tuple(xs)
    if len(xs) == 1:
        return xs[0]
    return _concatenate(*xs, dimension=dimension)


def _split_impl(x, *, sizes, axis):
    return np.split(x, np.cumsum(sizes[:-1]).tolist(), axis=axis)


split_p, _split = primitive(
    "split",
    _split_impl,
    vjp=(lambda cts, ans, x, *, sizes, axis: concatenate(cts, axis),),
    multiple_results=True,
)


def split(x, sizes, axis):
    """Cut ``x`` along ``axis`` into pieces of the given ``sizes`` (which sum to its length)."""
    return _split(x, sizes=tuple(int(s) for s in sizes), axis=axis)


# -- squeeze / expand_dims / rev --------------------------------------------------------------

squeeze_p, _squeeze = primitive(
    "squeeze",
    lambda x, *, dimensions: np.squeeze(x, axis=dimensions),
    vjp=(lambda ct, ans, x, *, dimensions: reshape(ct, x.shape),),
)


def squeeze(x, dimensions):
    """Remove the size-1 axes ``dimensions`` (a tuple of non-negative ints)."""
    dimensions = tuple(dimensions)
    if not dimensions:
        return x
    return _squeeze(x, dimensions=dimensions)


def expand_dims(x, dimensions):
    """Insert size-1 axes so that they sit at ``dimensions`` of the result (non-negative)."""
    shape = list(x.shape)
    for d in sorted(dimensions):
        shape.insert(d, 1)
    return reshape(x, tuple(shape))


rev_p, _rev = primitive(
    "rev",
    lambda x, *, dimensions: np.flip(x, dimensions),
    vjp=(lambda ct, ans, x, *, dimensions: rev(ct, dimensions),),
)


def rev(x, dimensions):
    """Reverse the order of elements along ``dimensions`` (a tuple of non-negative ints)."""
    dimensions = tuple(dimensions)
    if not dimensions:
        return x
    return _rev(x, dimensions=dimensions)


# -- slice / pad ------------------------------------------------------------------------------


def _slice_impl(x, *, start_indices, limit_indices, strides):
    if strides is None:
        index = tuple(slice(s, l) for s, l in zip(start_indices, limit_indices))
    else:
        index = tuple(slice(s, l, t) for s, l, t in zip(start_indices, limit_indices, strides))
    return x[index]


def _slice_vjp(ct, ans, x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * x.ndim
    config = []
    for n, lo, m, s in zip(x.shape, start_indices, ct.shape, strides):
        interior = s - 1
        hi = n - lo - m - max(m - 1, 0) * interior
        config.append((lo, hi, interior))
    return pad(ct, dtype_of(ct).type(0), tuple(config))


slice_p, _slice = primitive("slice", _slice_impl, vjp=(_slice_vjp,))


def static_slice(x, start_indices, limit_indices, strides=None):
    """``x[start:limit:stride]`` in every dimension (non-negative, in-bounds indices)."""
    start_indices = tuple(int(i) for i in start_indices)
    limit_indices = tuple(int(i) for i in limit_indices)
    if strides is not None:
        strides = tuple(int(s) for s in strides)
        if all(s == 1 for s in strides):
            strides = None
    if strides is None and start_indices == (0,) * x.ndim and limit_indices == tuple(x.shape):
        return x
    return _slice(x, start_indices=start_indices, limit_indices=limit_indices, strides=strides)


def slice_in_dim(x, start, limit, axis, stride=1):
    """``x[..., start:limit:stride, ...]`` along one non-negative ``axis``."""
    starts = [0] * x.ndim
    limits = list(x.shape)
    strides = [1] * x.ndim
    starts[axis], limits[axis], strides[axis] = start, limit, stride
    return static_slice(x, starts, limits, strides)


def _pad_impl(x, padding_value, *, padding_config):
    shape = tuple(
        lo + hi + n + max(n - 1, 0) * interior
        for n, (lo, hi, interior) in zip(x.shape, padding_config)
    )
    out = np.full(shape, padding_value, dtype=x.dtype)
    index = tuple(
        slice(lo, lo + n + max(n - 1, 0) * interior, interior + 1)
        for n, (lo, hi, interior) in zip(x.shape, padding_config)
    )
    out[index] = x
    return out


def _pad_vjp_x(ct, ans, x, padding_value, *, padding_config):
    starts = [lo for lo, _, _ in padding_config]
    limits = [lo + n + max(n - 1, 0) * i for n, (lo, _, i) in zip(x.shape, padding_config)]
    strides = [i + 1 for _, _, i in padding_config]
    return static_slice(ct, starts, limits, strides)


def _pad_vjp_value(ct, ans, x, padding_value, *, padding_config):
    every = tuple(range(ct.ndim))
    inner = _pad_vjp_x(ct, ans, x, padding_value, padding_config=padding_config)
    return reduce_sum(ct, every) - reduce_sum(inner, every)


pad_p, _pad = primitive("pad", _pad_impl, vjp=(_pad_vjp_x, _pad_vjp_value))


def pad(x, padding_value, padding_config):
    """Pad with a scalar: ``padding_config`` holds ``(low, high, interior)`` per dimension,
    all non-negative; ``interior`` elements go between neighbours."""
    config = tuple((int(lo), int(hi), int(i)) for lo, hi, i in padding_config)
    return _pad(x, padding_value, padding_config=config)


# -- take / take_add --------------------------------------------------------------------------


def _normalize_take(idx, n, mode):
    """Indices in ``[0, n)`` and a mask of the ones dropped (``mode="fill"``), or ``None``."""
    idx = np.asarray(idx)
    if mode == "wrap":
        return (np.mod(idx, n) if n else idx), None
    if mode == "clip":
        return np.clip(idx, 0, max(n - 1, 0)), None
    idx = np.where(idx < 0, idx + n, idx)
    dropped = (idx < 0) | (idx >= n)
    if dropped.any():
        return np.where(dropped, 0, idx), dropped
    return idx, None


def _mask_shape(dropped, axis, ndim_after):
    return (1,) * axis + dropped.shape + (1,) * ndim_after


def _take_impl(x, idx, *, axis, mode, fill_value):
    n = x.shape[axis]
    idx, dropped = _normalize_take(idx, n, mode)
    if n == 0:
        shape = x.shape[:axis] + idx.shape + x.shape[axis + 1 :]
        return np.full(shape, fill_value, x.dtype)
    out = np.take(x, idx, axis=axis)
    if dropped is not None:
        mask = dropped.reshape(_mask_shape(dropped, axis, x.ndim - axis - 1))
        out = np.where(mask, np.asarray(fill_value, x.dtype), out)
    return out


def _take_add_impl(ct, idx, *, axis, mode, size):
    idx, dropped = _normalize_take(idx, size, mode)
    k = idx.ndim
    out = np.zeros(ct.shape[:axis] + (size,) + ct.shape[axis + k :], ct.dtype)
    if size == 0:
        return out
    if dropped is not None:
        mask = dropped.reshape(_mask_shape(dropped, axis, ct.ndim - axis - k))
        ct = np.where(mask, np.zeros((), ct.dtype), ct)
    np.add.at(out, (np.s_[:],) * axis + (idx,), ct)
    return out


take_p, _take = primitive(
    "take",
    _take_impl,
    vjp=(
        lambda ct, ans, x, idx, *, axis, mode, fill_value: take_add(
            ct, idx, axis, mode, x.shape[axis]
        ),
        None,
    ),
    weak=(0,),
)
take_add_p, _take_add = primitive(
    "take_add",
    _take_add_impl,
    vjp=(
        lambda ct, ans, c, idx, *, axis, mode, size: take(ct, idx, axis, mode, 0),
        None,
    ),
    weak=(0,),
)


def take(x, indices, axis, mode, fill_value):
    """Elements of ``x`` at integer ``indices`` along ``axis`` (``np.take``'s shape rule).

    ``mode``: ``"fill"`` (negative indices count from the end, out-of-bounds ones give
    ``fill_value``), ``"clip"`` (clamp to ``[0, n)``) or ``"wrap"`` (modulo ``n``).
    """
    return _take(x, indices, axis=axis, mode=mode, fill_value=fill_value)


def take_add(ct, indices, axis, mode, size):
    """The adjoint of ``take``: add the slices of ``ct`` into zeros of length ``size`` along
    ``axis``, at ``indices`` (dropped ones, in ``"fill"`` mode, add nothing)."""
    return _take_add(ct, indices, axis=axis, mode=mode, size=int(size))


# -- built from the primitives ----------------------------------------------------------------


def stack(xs, axis):
    """Join arrays of one shape and dtype along a new axis ``axis`` (non-negative)."""
    return concatenate([expand_dims(x, (axis,)) for x in xs], axis)


def tile(x, reps):
    """Repeat the whole of ``x`` ``reps[i]`` times along each axis (``len(reps) == x.ndim``)."""
    reps = tuple(reps)
    grown = []
    for n in x.shape:
        grown += [1, n]
    target = []
    for r, n in zip(reps, x.shape):
        target += [r, n]
    out = broadcast_to(reshape(x, tuple(grown)), tuple(target))
    return reshape(out, tuple(r * n for r, n in zip(reps, x.shape)))


def repeat(x, repeats, axis):
    """Repeat each element along ``axis``: ``repeats`` is an int, or a tuple of ints (one per
    element)."""
    n = x.shape[axis]
    if isinstance(repeats, int):
        shape = x.shape[: axis + 1] + (1,) + x.shape[axis + 1 :]
        target = x.shape[: axis + 1] + (repeats,) + x.shape[axis + 1 :]
        out = broadcast_to(reshape(x, shape), target)
        return reshape(out, x.shape[:axis] + (n * repeats,) + x.shape[axis + 1 :])
    index = np.repeat(np.arange(n, dtype=np.int32), np.asarray(repeats, np.int64))
    return take(x, Array(index, False), axis, "clip", 0)


# -- where these primitives are linear (for linear_transpose) --------------------------------------

concatenate_p.transpose = Linear()
pad_p.transpose = Linear(0, 1)
for _prim in (split_p, squeeze_p, rev_p, slice_p, take_p, take_add_p):
    _prim.transpose = Linear(0)


# -- batching rules (vmap) -------------------------------------------------------------------------


def _concatenate_batch(values, bdims, *, dimension):
    size = batch_size(values, bdims)
    xs = [batch_at(v, d, size) for v, d in zip(values, bdims, strict=True)]
    return _concatenate(*xs, dimension=dimension + 1), 0


def _slice_batch(values, bdims, *, start_indices, limit_indices, strides):
    x, d = values[0], bdims[0]
    starts, limits = list(start_indices), list(limit_indices)
    starts.insert(d, 0)
    limits.insert(d, x.shape[d])
    if strides is not None:
        strides = list(strides)
        strides.insert(d, 1)
        strides = tuple(strides)
    out = _slice(x, start_indices=tuple(starts), limit_indices=tuple(limits), strides=strides)
    return out, d


def _pad_batch(values, bdims, *, padding_config):
    (x, value), (dx, dv) = values, bdims
    if dv is None:
        config = list(padding_config)
        config.insert(dx, (0, 0, 0))
        return _pad(x, value, padding_config=tuple(config)), dx
    # a padding value per example: pad with zeros, then put each example's value where the
    # padding goes (the positions are the same for every example)
    size = value.shape[dv]
    x = batch_at(x, dx, size)
    padded = _pad(x, dtype_of(x).type(0), padding_config=((0, 0, 0), *padding_config))
    is_padding = _pad(full(x.shape[1:], False, np.bool_), True, padding_config=padding_config)
    value = reshape(batch_at(value, dv, size), (size,) + (1,) * (padded.ndim - 1))
    return where(is_padding, value, padded), 0


def _flat_indices(idx, n, size, mode):
    """Indices ``idx`` (batch axis at 0) into each example's axis of length ``n``, as indices into
    the ``size * n`` rows of all examples' axes laid end to end. In ``"fill"`` mode an index out
    of bounds becomes ``size * n`` (out of bounds again); the other modes clamp or wrap first."""
    if mode == "wrap":
        idx = remainder(idx, n)
    elif mode == "clip":
        idx = maximum(minimum(idx, n - 1), 0)
    else:
        idx = where(less(idx, 0), idx + n, idx)
    start = reshape(arange(0, size * n, n, dtype_of(idx)), (size,) + (1,) * (idx.ndim - 1))
    flat = idx + start
    if mode == "fill":
        inside = logical_and(greater_equal(idx, 0), less(idx, n))
        flat = where(inside, flat, size * n)
    return flat


def _take_batch(values, bdims, *, axis, mode, fill_value):
    (x, idx), (dx, di) = values, bdims
    if di is None:
        a = batched_axis(axis, dx)
        out = _take(x, idx, axis=a, mode=mode, fill_value=fill_value)
        return out, (dx if dx < a else dx + idx.ndim - 1)
    if dx is None:  # the batched indices' axes take the place of axis ``axis``
        return _take(x, idx, axis=axis, mode=mode, fill_value=fill_value), axis + di
    # both batched: gather every example's rows from the examples' axes laid end to end
    size = idx.shape[di]
    x = move_axis(batch_at(x, dx, size), axis + 1, 1)
    n = x.shape[1]
    rows = reshape(x, (size * n,) + x.shape[2:])
    idx = batch_at(idx, di, size)
    flat_mode = "fill" if mode == "fill" else "clip"
    out = _take(
        rows, _flat_indices(idx, n, size, mode), axis=0, mode=flat_mode, fill_value=fill_value
    )
    k = idx.ndim - 1  # out: (batch, *index, *before axis, *after axis)
    perm = (0, *range(1 + k, 1 + k + axis), *range(1, 1 + k), *range(1 + k + axis, out.ndim))
    return transpose(out, perm), 0


def _take_add_batch(values, bdims, *, axis, mode, size):
    (ct, idx), (dc, di) = values, bdims
    if di is None:
        return _take_add(batch_at(ct, dc, None), idx, axis=axis + 1, mode=mode, size=size), 0
    n = idx.shape[di]
    ct = batch_at(ct, dc, n)
    k = idx.ndim - 1  # ct: (batch, *before axis, *index, *after axis)
    ct = transpose(
        ct, (0, *range(1 + axis, 1 + axis + k), *range(1, 1 + axis), *range(1 + axis + k, ct.ndim))
    )
    flat = _flat_indices(batch_at(idx, di, n), size, n, mode)
    flat_mode = "fill" if mode == "fill" else "clip"
    out = _take_add(ct, flat, axis=0, mode=flat_mode, size=n * size)
    out = reshape(out, (n, size) + out.shape[1:])
    return move_axis(out, 1, 1 + axis), 0


concatenate_p.batch = _concatenate_batch
split_p.batch = along_axes(split_p, "axis")
squeeze_p.batch = reduction(squeeze_p, "dimensions")
rev_p.batch = along_axes(rev_p, "dimensions")
slice_p.batch = _slice_batch
pad_p.batch = _pad_batch
take_p.batch = _take_batch
take_add_p.batch = _take_add_batch
