"""Shape primitives: concatenate, split, squeeze, rev, slice, pad, take; and the operations
built from them (expand_dims, stack, tile, repeat, slice_in_dim).

All of these are linear, so each VJP is the adjoint operation: concatenate <-> split,
slice <-> pad, take <-> take_add, rev <-> rev, squeeze <-> reshape. Parameters are canonical
(non-negative axes, tuples); ``pullback.numpy`` normalises user input.
"""

from __future__ import annotations

import numpy as np

from pullback._core import Array
from pullback._ops._base import Linear, dtype_of, primitive
from pullback._ops.structural import broadcast_to, reduce_sum, reshape


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
