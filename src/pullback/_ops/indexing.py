"""Indexing primitives: static slicing, gather, scatter, dynamic slices.

Every primitive here takes an *index description*, a hashable tuple with one entry per index
position as NumPy sees it after the facade has expanded ``Ellipsis`` and appended full slices for
trailing dimensions:

* an ``int`` in ``[0, n)``: a static integer index (removes the dimension),
* a ``(start, stop, step)`` tuple from ``slice.indices(n)``: a static slice; ``stop == -1`` only
  occurs for a negative step that runs past the start of the dimension (``range`` semantics),
* ``None``: a new axis of size 1,
* ``ARRAY``: an integer index array, passed as an *argument* of the primitive (so that it can be
  traced), in order of appearance.

Integer entries and index arrays follow NumPy's advanced-indexing rules, including where the
broadcast index dimensions land (:func:`indexed_shape`). Index arrays wrap negative values as
NumPy does. Out-of-bounds handling is a parameter ``mode``:

* gathers: ``"clip"`` clamps into range, ``"fill"`` returns ``fill_value`` (``None``: NaN for
  inexact types, the minimum of a signed type, the maximum of an unsigned one, ``True`` for
  bool), ``"promise_in_bounds"`` (JAX's default for ``x[i]``) clamps like ``"clip"`` but its
  cotangent drops out-of-bounds positions, as JAX's does (XLA's native gather/scatter
  semantics): ``x[array([5])]`` on a length-3 array reads the last value, with no gradient;
* scatters: ``"clip"`` clamps, ``"drop"`` ignores out-of-bounds updates (JAX's default for
  ``x.at[i].set(...)``).

Scatter primitives require ``updates`` to have exactly the indexed shape and the operand's dtype;
the facade broadcasts and converts. Duplicate indices accumulate in ``scatter_add``/``scatter_mul``
/``scatter_min``/``scatter_max``; for ``scatter`` (set) the last update written wins, and only
that update receives a cotangent.

``scatter_mul``'s cotangent for ``updates`` is only defined when the indices are unique (as in
JAX): with ``unique_indices=False`` and index arrays present it raises ``NotImplementedError``.
Its cotangent for ``operand`` is always defined.
"""

from __future__ import annotations

import functools

import numpy as np

from pullback._core import ConcretizationTypeError
from pullback._ops._base import (
    Linear,
    batch_at,
    batch_size,
    convert_element_type,
    dtype_of,
    primitive,
)
from pullback._ops.creation import arange, full
from pullback._ops.elementwise import less, maximum, minimum, where, zeros_like_raw
from pullback._ops.shape import PerOperand
from pullback._ops.structural import broadcast_to, reshape, transpose

__all__ = [
    "ARRAY",
    "indexed_shape",
    "getitem",
    "gather",
    "take_index",
    "scatter",
    "scatter_add",
    "scatter_mul",
    "scatter_min",
    "scatter_max",
    "scatter_winners",
    "nonzero",
    "dynamic_slice",
    "dynamic_update_slice",
]

#: Marker of an index-array position in an index description.
ARRAY = "array"


def _no_cotangent(ct, ans, *args, **params):
    return None


def _rules(*leading):
    """VJP rules for a primitive whose leading operands are ``leading`` and whose remaining
    operands, any number of integer index arrays, have no cotangent."""
    return PerOperand(lambda k: leading[k] if k < len(leading) else _no_cotangent)


# -- static helpers (index descriptions are metadata, so NumPy may run on them) ---------------


def _is_array_entry(e):
    return type(e) is str


@functools.lru_cache(maxsize=1024)
def _array_dims(index):
    """Operand dimension that each ``ARRAY`` entry of ``index`` indexes."""
    dims = []
    d = 0
    for e in index:
        if e is None:
            continue
        if _is_array_entry(e):
            dims.append(d)
        d += 1
    return tuple(dims)


def indexed_shape(index, array_shapes=()):
    """Shape of ``x[index]`` given the shapes of the index arrays.

    NumPy's rule: static ints and index arrays are advanced indices when any index array is
    present; their broadcast shape replaces the first of them when they are adjacent, and goes
    first otherwise.

    >>> indexed_shape((0, ARRAY, (0, 4, 1)), [(5,)])
    (5, 4)
    >>> indexed_shape((ARRAY, (0, 3, 1), 1), [(5,)])
    (5, 3)
    """
    advanced = any(_is_array_entry(e) for e in index)
    out = []
    adv_shapes = []
    adv_pos = []
    insert_at = None
    arrays = iter(array_shapes)
    for k, e in enumerate(index):
        if e is None:
            out.append(1)
        elif type(e) is tuple:
            out.append(len(range(*e)))
        elif advanced:
            adv_shapes.append(tuple(next(arrays)) if _is_array_entry(e) else ())
            adv_pos.append(k)
            if insert_at is None:
                insert_at = len(out)
    if adv_pos:
        broadcast = np.broadcast_shapes(*adv_shapes)
        if adv_pos != list(range(adv_pos[0], adv_pos[-1] + 1)):
            insert_at = 0
        out[insert_at:insert_at] = broadcast
    return tuple(out)


# -- NumPy helpers used by the impls -----------------------------------------------------------


def _np_index(index, arrays):
    out = []
    it = iter(arrays)
    for e in index:
        if type(e) is tuple:
            start, stop, step = e
            out.append(slice(start, stop if stop >= 0 else None, step))
        elif _is_array_entry(e):
            out.append(next(it))
        else:
            out.append(e)
    return tuple(out)


def _normalize(indices, dims, shape, clip):
    """Index arrays with negatives wrapped, then clamped (``clip``) or sent to slot ``n``."""
    out = []
    for a, d in zip(indices, dims, strict=True):
        n = shape[d]
        a = np.asarray(a).astype(np.intp, copy=False)
        a = np.where(a < 0, a + n, a)
        # out of bounds: clamped, or sent to the padding slot ``n`` (filled or dropped)
        out.append(np.clip(a, 0, max(n - 1, 0)) if clip else np.where((a < 0) | (a >= n), n, a))
    return out


def _pad_widths(ndim, dims):
    widths = [(0, 0)] * ndim
    for d in dims:
        widths[d] = (0, 1)
    return widths


def _default_fill(dtype):
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind == "i":
        return np.iinfo(dtype).min
    if dtype.kind == "u":
        return np.iinfo(dtype).max
    return True


# -- getitem: static basic indexing ------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _static_np_index(index):
    return _np_index(index, ())


def _getitem_impl(x, *, index):
    return x[_static_np_index(index)]


def _getitem_vjp(ct, ans, x, *, index):
    zeros = full(x.shape, 0, ct.dtype)
    return scatter_add(zeros, ct, index=index, mode="clip", unique_indices=True)


getitem_p, _getitem = primitive("getitem", _getitem_impl, vjp=(_getitem_vjp,))


def getitem(x, index):
    """``x[index]`` for a static index description (no index arrays)."""
    return _getitem(x, index=index)


# -- gather: indexing with integer index arrays ------------------------------------------------


def _gather_impl(x, *indices, index, mode, fill_value):
    dims = _array_dims(index)
    clip = mode != "fill"
    idx = _normalize(indices, dims, x.shape, clip)
    if not clip:
        fill = _default_fill(x.dtype) if fill_value is None else fill_value
        x = np.pad(x, _pad_widths(x.ndim, dims), constant_values=fill)
    return x[_np_index(index, idx)]


def _gather_vjp(ct, ans, x, *indices, index, mode, fill_value):
    zeros = full(x.shape, 0, ct.dtype)
    smode = "clip" if mode == "clip" else "drop"  # "fill" and "promise_in_bounds" drop
    return scatter_add(zeros, ct, *indices, index=index, mode=smode, unique_indices=False)


gather_p, _gather = primitive("gather", _gather_impl, vjp=_rules(_gather_vjp), weak=(0,))


def gather(x, *indices, index, mode="clip", fill_value=None):
    """``x[index]`` with index arrays ``indices`` filling the ``ARRAY`` entries of ``index``."""
    return _gather(x, *indices, index=index, mode=mode, fill_value=fill_value)


def take_index(x, indices, index, mode="clip", fill_value=None):
    """``getitem`` when there are no index arrays, else ``gather``."""
    if indices:
        return _gather(x, *indices, index=index, mode=mode, fill_value=fill_value)
    return _getitem(x, index=index)


def _gather_mode(scatter_mode):
    return "clip" if scatter_mode == "clip" else "fill"


def _take_ct(ct, indices, index, mode):
    """The cotangent of scatter updates: ``ct`` at the indexed positions (0 where dropped)."""
    return take_index(ct, indices, index, _gather_mode(mode), 0)


# -- scatters ----------------------------------------------------------------------------------


def _scatter_impl(ufunc, operand, updates, *indices, index, mode, unique_indices):
    dims = _array_dims(index)
    drop = mode != "clip" and bool(dims)
    idx = _normalize(indices, dims, operand.shape, not drop)
    # dropped updates land in a padding slot that is cut off afterwards
    out = np.pad(operand, _pad_widths(operand.ndim, dims)) if drop else np.array(operand)
    np_idx = _np_index(index, idx)
    if ufunc is None:
        out[np_idx] = updates
    elif not indices:  # basic indices never repeat a position
        out[np_idx] = ufunc(out[np_idx], updates)
    else:
        ufunc.at(out, np_idx, updates)
    if drop:
        out = out[tuple(slice(0, n) for n in operand.shape)]
    return out


def _scatter_prim(name, ufunc, vjp_operand, vjp_updates):
    """A scatter primitive; its bind takes ``(operand, updates, *index_arrays, index=, mode=,
    unique_indices=)``."""
    impl = functools.partial(_scatter_impl, ufunc)
    impl.__name__ = name
    return primitive(name, impl, vjp=_rules(vjp_operand, vjp_updates))


def _set_vjp_operand(ct, ans, operand, updates, *indices, index, mode, unique_indices):
    zeros = full(updates.shape, 0, ct.dtype)
    return scatter(ct, zeros, *indices, index=index, mode=mode, unique_indices=unique_indices)


def _set_vjp_updates(ct, ans, operand, updates, *indices, index, mode, unique_indices):
    g = _take_ct(ct, indices, index, mode)
    if indices and not unique_indices:
        won = scatter_winners(
            *indices,
            index=index,
            mode=mode,
            operand_shape=operand.shape,
            updates_shape=updates.shape,
        )
        g = where(won, g, zeros_like_raw(g))
    return g


def _add_vjp_operand(ct, ans, operand, updates, *indices, index, mode, unique_indices):
    return ct


def _add_vjp_updates(ct, ans, operand, updates, *indices, index, mode, unique_indices):
    return _take_ct(ct, indices, index, mode)


def _mul_vjp_operand(ct, ans, operand, updates, *indices, index, mode, unique_indices):
    return scatter_mul(ct, updates, *indices, index=index, mode=mode, unique_indices=unique_indices)


def _mul_vjp_updates(ct, ans, operand, updates, *indices, index, mode, unique_indices):
    if indices and not unique_indices:
        raise NotImplementedError(
            "The gradient of scatter_mul (x.at[idx].multiply(y)) with respect to the updates is "
            "only implemented for unique indices; pass unique_indices=True if the indices are "
            "unique, or use x.at[idx].set(x[idx] * y)."
        )
    return _take_ct(ct * operand, indices, index, mode)


def _extremal_counts(ans, operand, updates, indices, index, mode):
    """Masks of the operand and update values equal to the result, and ties per position."""
    dtype = ans.dtype
    at_x = convert_element_type(operand == ans, dtype)
    at_u = convert_element_type(updates == _take_ct(ans, indices, index, mode), dtype)
    zeros = full(operand.shape, 0, dtype)
    count = at_x + scatter_add(zeros, at_u, *indices, index=index, mode=mode, unique_indices=False)
    return at_x, at_u, count


def _extremal_vjp_operand(ct, ans, operand, updates, *indices, index, mode, unique_indices):
    at_x, _, count = _extremal_counts(ans, operand, updates, indices, index, mode)
    return ct * at_x / count


def _extremal_vjp_updates(ct, ans, operand, updates, *indices, index, mode, unique_indices):
    _, at_u, count = _extremal_counts(ans, operand, updates, indices, index, mode)
    return _take_ct(ct / count, indices, index, mode) * at_u


scatter_p, scatter = _scatter_prim("scatter", None, _set_vjp_operand, _set_vjp_updates)
scatter_add_p, scatter_add = _scatter_prim(
    "scatter-add", np.add, _add_vjp_operand, _add_vjp_updates
)
scatter_mul_p, scatter_mul = _scatter_prim(
    "scatter-mul", np.multiply, _mul_vjp_operand, _mul_vjp_updates
)
scatter_min_p, scatter_min = _scatter_prim(
    "scatter-min", np.minimum, _extremal_vjp_operand, _extremal_vjp_updates
)
scatter_max_p, scatter_max = _scatter_prim(
    "scatter-max", np.maximum, _extremal_vjp_operand, _extremal_vjp_updates
)


def _winners_impl(*indices, index, mode, operand_shape, updates_shape):
    dims = _array_dims(index)
    drop = mode != "clip" and bool(dims)
    idx = _normalize(indices, dims, operand_shape, not drop)
    shape = list(operand_shape)
    if drop:
        for d in dims:
            shape[d] += 1
    ids = np.arange(int(np.prod(updates_shape, dtype=np.int64))).reshape(updates_shape)
    target = np.full(shape, -1, np.intp)
    np_idx = _np_index(index, idx)
    target[np_idx] = ids
    if drop:
        for d in dims:
            target[(slice(None),) * d + (operand_shape[d],)] = -1
    return target[np_idx] == ids


scatter_winners_p, _scatter_winners = primitive("scatter_winners", _winners_impl, weak="never")


def scatter_winners(*indices, index, mode, operand_shape, updates_shape):
    """Boolean mask over the updates of a scatter: which ones are the value finally written."""
    return _scatter_winners(
        *indices,
        index=index,
        mode=mode,
        operand_shape=tuple(operand_shape),
        updates_shape=tuple(updates_shape),
    )


# -- nonzero (for boolean masks; output shape depends on values, so never traced) --------------

nonzero_p, _nonzero = primitive(
    "nonzero",
    lambda x, *, dtype: tuple(i.astype(dtype) for i in np.nonzero(x)),
    multiple_results=True,
    weak="never",
)


def _nonzero_stage(interp, args, params):
    raise ConcretizationTypeError(
        f"nonzero's output shape depends on the values of its input {args[0].aval.str_short()}, "
        f"which are not known while tracing {interp.context}. Index with integer arrays, use "
        f"jnp.where(mask, x, 0), or pass size= to jnp.nonzero/argwhere."
    )


nonzero_p.rules["stage"] = _nonzero_stage


def nonzero(x, dtype):
    """Indices of the nonzero entries of ``x``, one integer array of ``dtype`` per dimension."""
    return _nonzero(x, dtype=np.dtype(dtype))


# -- dynamic slices ----------------------------------------------------------------------------


def _dynamic_starts(shape, starts, sizes):
    out = []
    for n, s, k in zip(shape, starts, sizes, strict=True):
        s = int(s)
        if s < 0:  # negative starts count from the end, as in NumPy
            s += n
        s = max(0, min(s, n - k))
        out.append(slice(s, s + k))
    return tuple(out)


def _dynamic_slice_impl(x, *starts, slice_sizes):
    return x[_dynamic_starts(x.shape, starts, slice_sizes)]


def _dynamic_slice_vjp(ct, ans, x, *starts, slice_sizes):
    return dynamic_update_slice(full(x.shape, 0, ct.dtype), ct, *starts)


dynamic_slice_p, _dynamic_slice = primitive(
    "dynamic_slice", _dynamic_slice_impl, vjp=_rules(_dynamic_slice_vjp)
)


def dynamic_slice(x, *starts, slice_sizes):
    """The block of ``slice_sizes`` at ``starts`` (scalars), clamped to lie inside ``x``."""
    return _dynamic_slice(x, *starts, slice_sizes=tuple(slice_sizes))


def _dynamic_update_slice_impl(x, update, *starts):
    out = np.array(x, copy=True)
    out[_dynamic_starts(x.shape, starts, update.shape)] = update
    return out


def _dus_vjp_operand(ct, ans, x, update, *starts):
    return dynamic_update_slice(ct, full(update.shape, 0, ct.dtype), *starts)


def _dus_vjp_update(ct, ans, x, update, *starts):
    return dynamic_slice(ct, *starts, slice_sizes=update.shape)


dynamic_update_slice_p, _dynamic_update_slice = primitive(
    "dynamic_update_slice",
    _dynamic_update_slice_impl,
    vjp=_rules(_dus_vjp_operand, _dus_vjp_update),
)


def dynamic_update_slice(x, update, *starts):
    """``x`` with ``update`` written at ``starts`` (scalars), clamped to lie inside ``x``."""
    return _dynamic_update_slice(x, update, *starts)


# -- where these primitives are linear (for linear_transpose) --------------------------------------

for _prim in (getitem_p, gather_p, scatter_mul_p, dynamic_slice_p):
    _prim.transpose = Linear(0)
for _prim in (scatter_p, scatter_add_p, dynamic_update_slice_p):
    _prim.transpose = Linear(0, 1)


# -- batching rules (vmap) -------------------------------------------------------------------------
# An index description works on one example. A batched operand gets its batch axis at 0 and a
# leading full slice (indices not batched), or a leading ``ARRAY`` entry holding the batch
# positions (indices batched), which NumPy broadcasts against the batched index arrays. Then the
# broadcast index dimensions come first in the result (``(batch, *index dims, *other dims)``),
# and a transposition puts them where one example's result has them.


def _advanced_layout(index, array_shapes):
    """``(adjacent, position, rank)`` of the broadcast index dimensions in ``x[index]`` (NumPy's
    rule, as ``indexed_shape``), or None when there are no index arrays."""
    if not any(_is_array_entry(e) for e in index):
        return None
    out_len, positions, shapes, insert_at = 0, [], [], None
    arrays = iter(array_shapes)
    for k, e in enumerate(index):
        if e is None or type(e) is tuple:
            out_len += 1
            continue
        positions.append(k)
        shapes.append(tuple(next(arrays)) if _is_array_entry(e) else ())
        if insert_at is None:
            insert_at = out_len
    adjacent = positions == list(range(positions[0], positions[-1] + 1))
    return adjacent, insert_at if adjacent else 0, len(np.broadcast_shapes(*shapes))


def _example_shapes(values, bdims):
    return [
        v.shape if d is None else v.shape[:d] + v.shape[d + 1 :]
        for v, d in zip(values, bdims, strict=True)
    ]


def _batched_indices(indices, bdims, size):
    """The index arrays for an index description with a leading batch entry: batched ones with
    the batch axis at 0 and size-1 axes up to the largest example rank, and the batch positions
    (``arange(size)`` shaped to broadcast against them)."""
    shapes = _example_shapes(indices, bdims)
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for a, d, s in zip(indices, bdims, shapes, strict=True):
        if d is not None:
            a = reshape(batch_at(a, d, size), (size,) + (1,) * (rank - len(s)) + s)
        out.append(a)
    iota = reshape(arange(0, size, 1, np.int32), (size,) + (1,) * rank)
    return [iota, *out]


def _to_example_order(p, r, ndim):
    """The permutation taking ``(batch, *index dims (r), *other dims)`` to ``(batch, *other[:p],
    *index dims, *other[p:])``."""
    return (0, *range(1 + r, 1 + r + p), *range(1, 1 + r), *range(1 + r + p, ndim))


def _from_example_order(p, r, ndim):
    """The inverse of ``_to_example_order``."""
    return (0, *range(1 + p, 1 + p + r), *range(1, 1 + p), *range(1 + p + r, ndim))


def _getitem_batch(values, bdims, *, index):
    x = batch_at(values[0], bdims[0], None)
    return _getitem(x, index=((0, x.shape[0], 1), *index)), 0


def _gather_batch(values, bdims, *, index, mode, fill_value):
    x, indices, dx, di = values[0], values[1:], bdims[0], bdims[1:]
    layout = _advanced_layout(index, _example_shapes(indices, di))
    params = {"mode": mode, "fill_value": fill_value}
    if all(d is None for d in di):
        x = batch_at(x, dx, None)
        out = _gather(x, *indices, index=((0, x.shape[0], 1), *index), **params)
        return out, (0 if layout is None or layout[0] else layout[2])
    size = batch_size(indices, di)
    iota, *arrays = _batched_indices(indices, di, size)
    adjacent, p, r = layout
    if dx is None:  # the batch axis is one more index dimension
        return _gather(x, *arrays, index=index, **params), (p if adjacent else 0)
    out = _gather(batch_at(x, dx, size), iota, *arrays, index=(ARRAY, *index), **params)
    return transpose(out, _to_example_order(p, r, out.ndim)), 0


def _scatter_batch(prim):
    def rule(values, bdims, *, index, mode, unique_indices):
        size = batch_size(values, bdims)
        operand = batch_at(values[0], bdims[0], size)  # every example writes its own result
        updates, du = values[1], bdims[1]
        indices, di = values[2:], bdims[2:]
        layout = _advanced_layout(index, _example_shapes(indices, di))
        params = {"mode": mode, "unique_indices": unique_indices}
        if all(d is None for d in di):
            at = 0 if layout is None or layout[0] else layout[2]
            index = ((0, size, 1), *index)
            return prim.bind(
                operand, batch_at(updates, du, size, at), *indices, index=index, **params
            ), 0
        _, p, r = layout
        updates = batch_at(updates, du, size)
        updates = transpose(updates, _from_example_order(p, r, updates.ndim))
        arrays = _batched_indices(indices, di, size)
        return prim.bind(operand, updates, *arrays, index=(ARRAY, *index), **params), 0

    return rule


def _winners_batch(values, bdims, *, index, mode, operand_shape, updates_shape):
    size = batch_size(values, bdims)
    _, p, r = _advanced_layout(index, _example_shapes(values, bdims))
    shape = updates_shape
    won = _scatter_winners(
        *_batched_indices(values, bdims, size),
        index=(ARRAY, *index),
        mode=mode,
        operand_shape=(size, *operand_shape),
        updates_shape=(size, *shape[p : p + r], *shape[:p], *shape[p + r :]),
    )
    return transpose(won, _to_example_order(p, r, won.ndim)), 0


def _nonzero_batch(values, bdims, *, dtype):
    raise ConcretizationTypeError(
        "nonzero's output shape depends on the values of its input, which differ between the "
        "examples of vmap. Index with integer arrays, use jnp.where(mask, x, 0), or pass size= "
        "to jnp.nonzero/argwhere."
    )


def _window_indices(starts, bdims, size, example_shape, window):
    """Index arrays ``(batch, *window)`` of the windows of ``window`` at ``starts`` (clamped into
    ``example_shape`` as ``dynamic_slice`` clamps them)."""
    n = len(window)
    arrays = []
    for j, (s, d, dim, k) in enumerate(zip(starts, bdims, example_shape, window, strict=True)):
        s = batch_at(s, d, size) if d is not None else broadcast_to(s, (size,))
        s = where(less(s, 0), s + dim, s)
        s = maximum(minimum(s, dim - k), 0)
        offsets = reshape(arange(0, k, 1, dtype_of(s)), (1,) * (j + 1) + (k,) + (1,) * (n - 1 - j))
        arrays.append(reshape(s, (size,) + (1,) * n) + offsets)
    return arrays


def _dynamic_slice_batch(values, bdims, *, slice_sizes):
    x, starts, dx, ds = values[0], values[1:], bdims[0], bdims[1:]
    if all(d is None for d in ds):
        starts = list(starts)
        starts.insert(dx, 0)
        sizes = list(slice_sizes)
        sizes.insert(dx, x.shape[dx])
        return _dynamic_slice(x, *starts, slice_sizes=tuple(sizes)), dx
    size = batch_size(starts, ds)
    shape = x.shape if dx is None else x.shape[:dx] + x.shape[dx + 1 :]
    arrays = _window_indices(starts, ds, size, shape, slice_sizes)
    index = (ARRAY,) * len(arrays)
    if dx is None:
        return _gather(x, *arrays, index=index, mode="clip", fill_value=None), 0
    iota = reshape(arange(0, size, 1, np.int32), (size,) + (1,) * len(arrays))
    out = _gather(
        batch_at(x, dx, size), iota, *arrays, index=(ARRAY, *index), mode="clip", fill_value=None
    )
    return out, 0


def _dynamic_update_slice_batch(values, bdims):
    size = batch_size(values, bdims)
    x, update = batch_at(values[0], bdims[0], size), batch_at(values[1], bdims[1], size)
    starts, ds = values[2:], bdims[2:]
    if all(d is None for d in ds):
        return _dynamic_update_slice(x, update, 0, *starts), 0
    arrays = _window_indices(starts, ds, size, x.shape[1:], update.shape[1:])
    iota = reshape(arange(0, size, 1, np.int32), (size,) + (1,) * len(arrays))
    index = (ARRAY,) * (len(arrays) + 1)
    return scatter(x, update, iota, *arrays, index=index, mode="clip", unique_indices=True), 0


getitem_p.batch = _getitem_batch
gather_p.batch = _gather_batch
for _prim in (scatter_p, scatter_add_p, scatter_mul_p, scatter_min_p, scatter_max_p):
    _prim.batch = _scatter_batch(_prim)
scatter_winners_p.batch = _winners_batch
nonzero_p.batch = _nonzero_batch
dynamic_slice_p.batch = _dynamic_slice_batch
dynamic_update_slice_p.batch = _dynamic_update_slice_batch
