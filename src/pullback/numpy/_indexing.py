"""Indexing: ``Array.__getitem__``, ``Array.at[...]`` and ``take_along_axis``.

The facade turns a user's index (ints, slices, ``None``, ``Ellipsis``, integer or boolean arrays,
in any mix) into the canonical index description of :mod:`pullback._ops.indexing`, and calls
``getitem`` (no index arrays) or ``gather``/``scatter`` (index arrays as arguments).

Out-of-bounds indices follow JAX: reads clamp them into range (``x[10]`` on a length-3 array is
its last element) and updates drop them (``x.at[10].set(v)`` leaves ``x`` unchanged); negative
indices count from the end as in NumPy. As in JAX, the gradient of a read with an out-of-bounds
index *array* (default mode) does not reach the clamped element; ``mode="clip"`` makes it.
Boolean masks need concrete values (their number of ``True`` entries fixes the shape of the
result).
"""

from __future__ import annotations

import functools
import operator

import numpy as np

from pullback import _dtypes
from pullback._core import Array, Tracer
from pullback._ops import broadcast_to, convert_element_type, full, reduce_max, reshape, where
from pullback._ops._base import dtype_of, weak_of
from pullback._ops.indexing import (
    ARRAY,
    gather,
    getitem,
    indexed_shape,
    nonzero,
    scatter,
    scatter_add,
    scatter_max,
    scatter_min,
    scatter_mul,
)
from pullback.numpy._creation import asarray, ones_like

__all__ = ["take_along_axis"]

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


# -- parsing a user's index --------------------------------------------------------------------


def _slice_part(p):
    return None if p is None else operator.index(p)


def _check_static(s, position):
    if any(isinstance(p, Tracer) for p in (s.start, s.stop, s.step)):
        raise IndexError(
            f"Slice entries must be static integers. Got {s} at position {position}: a traced "
            f"bound gives a shape that is not known while tracing; use lax.dynamic_slice (a "
            f"traced start, a static size) instead."
        )


def _canonical_slice(s, n, position=0):
    _check_static(s, position)
    start, stop, step = _slice_part(s.start), _slice_part(s.stop), _slice_part(s.step)
    if step == 0:
        raise ValueError("slice step cannot be zero")
    return slice(start, stop, step).indices(n)


def _classify(e):
    """``(kind, value)`` for an index entry that is not None, Ellipsis, a slice or a scalar."""
    if isinstance(e, str):
        raise TypeError(f"String indexing is not supported; got idx={e!r}")
    if isinstance(e, (list, tuple)):
        e = asarray(e) if len(e) else np.zeros(0, _dtypes.default_int_dtype())
    dtype = getattr(e, "dtype", None)
    if not isinstance(dtype, np.dtype):
        dtype = np.asarray(e).dtype
    if dtype.kind == "b":
        if np.ndim(e) == 0:
            return "bool", bool(e)
        return "mask", e
    if dtype.kind in "iu":
        if np.ndim(e) == 0 and (type(e) is Array or not isinstance(e, Tracer)):
            return "int", operator.index(e)
        return "array", e
    raise TypeError(f"Indexer must have integer or boolean type, got indexer with type {dtype}")


def _parse(shape, idx, oob_to_array):
    """The canonical description of ``idx`` for an array of ``shape``.

    Returns ``(index, arrays, expanded_shape)``: ``arrays`` are the index arrays in order, and
    ``expanded_shape`` (or ``None``) is the operand shape with a size-1 dimension inserted for
    every scalar boolean index (NumPy treats ``x[True]`` as indexing such a dimension).
    ``oob_to_array``: static ints out of bounds become 0-d index arrays (so that a scatter drops
    them) instead of being clamped.
    """
    if not isinstance(idx, tuple):
        if isinstance(idx, list):
            raise TypeError(
                "Using a non-tuple sequence for multidimensional indexing is not allowed; use "
                "`arr[array(seq)]` instead of `arr[seq]`."
            )
        idx = (idx,)
    entries = []
    consumed = 0
    seen_ellipsis = False
    for e in idx:
        if e is None:
            entries.append(("none", None))
        elif e is Ellipsis:
            if seen_ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen_ellipsis = True
            entries.append(("ellipsis", None))
        elif isinstance(e, slice):
            _check_static(e, len(entries))
            entries.append(("slice", e))
            consumed += 1
        elif isinstance(e, (bool, np.bool_)):
            entries.append(("bool", bool(e)))
        elif isinstance(e, (int, np.integer)):
            entries.append(("int", int(e)))
            consumed += 1
        else:
            kind, value = _classify(e)
            entries.append((kind, value))
            if kind == "mask":
                consumed += np.ndim(value)
            elif kind != "bool":
                consumed += 1
    ndim = len(shape)
    if consumed > ndim:
        raise IndexError(
            f"Too many indices: array is {ndim}-dimensional, but {consumed} were indexed"
        )

    index = []
    arrays = []
    expanded = []  # operand shape with the dimensions of scalar booleans inserted
    has_bool = False
    d = 0
    int_dtype = _dtypes.default_int_dtype()
    for pos, (kind, v) in enumerate(entries):
        if kind == "none":
            index.append(None)
        elif kind == "ellipsis":
            for _ in range(ndim - consumed):
                index.append((0, shape[d], 1))
                expanded.append(shape[d])
                d += 1
        elif kind == "slice":
            index.append(_canonical_slice(v, shape[d]))
            expanded.append(shape[d])
            d += 1
        elif kind == "int":
            n = shape[d]
            i = v + n if v < 0 else v
            if 0 <= i < n:
                index.append(i)
            elif oob_to_array:
                index.append(ARRAY)
                arrays.append(np.array(min(max(v, _INT32_MIN), _INT32_MAX), int_dtype))
            elif n == 0:
                raise IndexError(f"index is out of bounds for axis {d} with size 0")
            else:
                index.append(min(max(i, 0), n - 1))
            expanded.append(n)
            d += 1
        elif kind == "array":
            index.append(ARRAY)
            arrays.append(v)
            expanded.append(shape[d])
            d += 1
        elif kind == "mask":
            k = np.ndim(v)
            if tuple(np.shape(v)) != tuple(shape[d : d + k]):
                raise IndexError(
                    f"boolean index did not match shape of indexed array in index {pos}: got "
                    f"{tuple(np.shape(v))}, expected {list(shape[d : d + k])}"
                )
            if isinstance(v, Tracer) and v._concrete_value() is None:
                raise IndexError(
                    f"Array boolean indices must be concrete; got {v.aval.str_short()}. Use "
                    f"where(mask, x, 0) or x.at[...] with integer indices inside transformations."
                )
            for a in nonzero(v, int_dtype):
                index.append(ARRAY)
                arrays.append(a)
            expanded.extend(shape[d : d + k])
            d += k
        else:  # scalar boolean: index a new size-1 dimension with [0] (True) or [] (False)
            has_bool = True
            index.append(ARRAY)
            arrays.append(np.zeros(1 if v else 0, int_dtype))
            expanded.append(1)
    while d < ndim:
        index.append((0, shape[d], 1))
        expanded.append(shape[d])
        d += 1
    return tuple(index), arrays, (tuple(expanded) if has_bool else None)


def _is_identity(index, shape):
    return len(index) == len(shape) and all(
        e == (0, n, 1) for e, n in zip(index, shape, strict=True)
    )


def _gather_mode(mode):
    if mode is None or mode == "promise_in_bounds":
        return "promise_in_bounds"
    if mode == "clip":
        return "clip"
    if mode in ("fill", "drop"):
        return "fill"
    raise ValueError(f'Unknown gather mode "{mode}"')


def _scatter_mode(mode):
    if mode is None or mode in ("drop", "fill", "promise_in_bounds"):
        return "drop"
    if mode == "clip":
        return "clip"
    raise ValueError(f'Unknown scatter mode "{mode}"')


def _canonical_fill(fill_value, dtype):
    if fill_value is None:
        return None
    return np.asarray(fill_value).astype(dtype).item()


def _as_operand(x):
    return x if isinstance(x, Array) or type(x) is np.ndarray else asarray(x)


def _shape_of(a):
    return tuple(a.shape) if hasattr(a, "shape") else np.shape(a)


# -- reading -----------------------------------------------------------------------------------


def _rewriting_take(x, idx, mode=None, fill_value=None):
    gmode = _gather_mode(mode)
    index, arrays, expanded = _parse(x.shape, idx, oob_to_array=gmode == "fill")
    if expanded is not None:
        x = reshape(x, expanded)
    if not arrays:
        if _is_identity(index, x.shape):
            return x
        return getitem(x, index)
    fill = _canonical_fill(fill_value, dtype_of(x))
    return gather(x, *arrays, index=index, mode=gmode, fill_value=fill)


def _getitem_method(self, idx):
    """``x[idx]``: NumPy indexing; out-of-bounds integer indices are clamped, as in JAX.

    >>> import pullback.numpy as jnp
    >>> x = jnp.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> x[1, ::-1]
    Array([6., 5., 4.], dtype=float32)
    >>> x[:, jnp.array([0, 2])]
    Array([[1., 3.],
           [4., 6.]], dtype=float32)
    >>> x[x > 3.0]
    Array([4., 5., 6.], dtype=float32)
    """
    t = type(idx)
    if t is int or t is slice:  # fast paths for the most common static indices
        shape = self.shape
        if shape and shape[0]:
            n = shape[0]
            if t is int:
                i = idx + n if idx < 0 else idx
                first = 0 if i < 0 else n - 1 if i >= n else i
            else:
                first = _canonical_slice(idx, n)
                if first == (0, n, 1):
                    return self
            return getitem(self, (first, *_full_slices(shape[1:])))
    return _rewriting_take(self, idx)


@functools.lru_cache(maxsize=512)
def _full_slices(shape):
    return tuple((0, n, 1) for n in shape)


# -- updating ----------------------------------------------------------------------------------


def _scatter_update(x, idx, values, prim, mode, unique_indices, negate=False):
    x = _as_operand(x)
    dtype, weak = dtype_of(x), weak_of(x)
    index, arrays, expanded = _parse(x.shape, idx, oob_to_array=True)
    shape = indexed_shape(index, [_shape_of(a) for a in arrays])
    if 0 in shape:
        return x
    if isinstance(values, (list, tuple)):
        values = asarray(values)
    pdtype = _dtypes.result_type(x, values)
    values = convert_element_type(values, pdtype)
    if negate:
        values = -values
    vshape = _shape_of(values)
    if vshape != shape:
        if len(vshape) > len(shape):
            raise ValueError(
                f"Cannot broadcast to shape with fewer dimensions: arr_shape={vshape} shape={shape}"
            )
        try:
            ok = np.broadcast_shapes(vshape, shape) == shape
        except ValueError:
            ok = False
        if not ok:
            dtype_name = _dtypes.type_str(vshape, dtype_of(values))
            raise ValueError(
                f"Incompatible types for broadcasting: input type={dtype_name} and requested "
                f"type={_dtypes.type_str(shape, dtype_of(values))}"
            )
        values = broadcast_to(values, shape)
    operand = reshape(x, expanded) if expanded is not None else x
    operand = convert_element_type(operand, pdtype)
    out = prim(
        operand,
        values,
        *arrays,
        index=index,
        mode=_scatter_mode(mode),
        unique_indices=bool(unique_indices),
    )
    if expanded is not None:
        out = reshape(out, x.shape)
    return convert_element_type(out, dtype, weak)


class _IndexUpdateHelper:
    """The ``x.at`` object: ``x.at[idx]`` gives an ``_IndexUpdateRef``."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)

    def __repr__(self):
        return f"_IndexUpdateHelper({self.array!r})"


class _IndexUpdateRef:
    """Functional indexed updates: ``x.at[idx].set(y)`` returns a new array.

    Out-of-bounds updates are dropped unless ``mode="clip"``; duplicate indices accumulate for
    ``add``, ``multiply``, ``min`` and ``max``. ``indices_are_sorted`` and ``unique_indices`` are
    promises about the indices; ``unique_indices=True`` is needed for the gradient of
    ``multiply`` with respect to the values.
    """

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array = array
        self.index = index

    def __repr__(self):
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
        """``x[idx]``, with a choice of out-of-bounds ``mode`` (``"clip"`` or ``"fill"``).

        >>> import pullback.numpy as jnp
        >>> x = jnp.array([1.0, 2.0, 3.0])
        >>> x.at[jnp.array([0, 5])].get(mode="fill", fill_value=-1.0)
        Array([ 1., -1.], dtype=float32)
        """
        return _rewriting_take(_as_operand(self.array), self.index, mode, fill_value)

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] = values``.

        >>> import pullback.numpy as jnp
        >>> jnp.zeros(4).at[1:3].set(7.0)
        Array([0., 7., 7., 0.], dtype=float32)
        """
        return _scatter_update(self.array, self.index, values, scatter, mode, unique_indices)

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] += values``; repeated indices accumulate.

        >>> import pullback.numpy as jnp
        >>> jnp.zeros(3).at[jnp.array([0, 0, 2])].add(1.0)
        Array([2., 0., 1.], dtype=float32)
        """
        return _scatter_update(self.array, self.index, values, scatter_add, mode, unique_indices)

    def subtract(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] -= values``.

        >>> import pullback.numpy as jnp
        >>> jnp.ones(3).at[1].subtract(2.0)
        Array([ 1., -1.,  1.], dtype=float32)
        """
        return _scatter_update(
            self.array, self.index, values, scatter_add, mode, unique_indices, negate=True
        )

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] *= values``; repeated indices multiply.

        >>> import pullback.numpy as jnp
        >>> jnp.ones(3).at[jnp.array([1, 1])].multiply(3.0)
        Array([1., 9., 1.], dtype=float32)
        """
        return _scatter_update(self.array, self.index, values, scatter_mul, mode, unique_indices)

    mul = multiply

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] /= values`` (the result has the dtype of ``x / values``).

        >>> import pullback.numpy as jnp
        >>> jnp.ones(3).at[0].divide(4.0)
        Array([0.25, 1.  , 1.  ], dtype=float32)
        """
        x = _as_operand(self.array)
        scale = _scatter_update(ones_like(x), self.index, values, scatter_mul, mode, unique_indices)
        return x / scale

    def power(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] **= values``.

        >>> import pullback.numpy as jnp
        >>> jnp.array([2.0, 2.0, 2.0]).at[2].power(3)
        Array([2., 2., 8.], dtype=float32)
        """
        x = _as_operand(self.array)
        exps = _scatter_update(ones_like(x), self.index, values, scatter_mul, mode, unique_indices)
        return x**exps

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] = minimum(x[idx], values)``.

        >>> import pullback.numpy as jnp
        >>> jnp.array([1.0, 5.0]).at[:].min(3.0)
        Array([1., 3.], dtype=float32)
        """
        return _scatter_update(self.array, self.index, values, scatter_min, mode, unique_indices)

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] = maximum(x[idx], values)``.

        >>> import pullback.numpy as jnp
        >>> jnp.array([1.0, 5.0]).at[:].max(3.0)
        Array([3., 5.], dtype=float32)
        """
        return _scatter_update(self.array, self.index, values, scatter_max, mode, unique_indices)

    def apply(self, func, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with the elementwise function ``func`` applied to the entries at ``idx``.

        An entry indexed ``k`` times gets ``func`` applied ``k`` times, as in JAX. Unlike JAX's,
        the result is differentiable. (Counting repeats needs concrete index values; for
        traced indices ``func`` is applied once.)

        >>> import pullback.numpy as jnp
        >>> jnp.arange(4.0).at[1:3].apply(lambda v: v * 10)
        Array([ 0., 10., 20.,  3.], dtype=float32)
        >>> jnp.zeros(2).at[jnp.array([0, 0])].apply(lambda v: v + 1)
        Array([2., 0.], dtype=float32)
        """
        x = _as_operand(self.array)
        read_mode = "fill" if mode is None else mode
        values = _rewriting_take(x, self.index, mode=read_mode)
        _, arrays, _ = _parse(x.shape, self.index, oob_to_array=True)
        rounds, times = 1, None
        if arrays and not unique_indices and x.size:
            zeros = full(x.shape, 0, _dtypes.default_int_dtype())
            counts = _scatter_update(zeros, self.index, 1, scatter_add, mode, False)
            if not isinstance(counts, Tracer) or counts._concrete_value() is not None:
                rounds = int(reduce_max(counts, tuple(range(counts.ndim))))
                times = _rewriting_take(counts, self.index, mode=read_mode)
        if rounds == 1:
            values = func(values)
        for r in range(rounds if rounds > 1 else 0):
            values = where(times > r, func(values), values)
        return _scatter_update(x, self.index, values, scatter, mode, unique_indices)


def _at(self):
    """Functional indexed updates: ``x.at[idx].set(y)``, ``.add``, ``.get``, ...

    >>> import pullback.numpy as jnp
    >>> jnp.zeros(3).at[1].set(5.0)
    Array([0., 5., 0.], dtype=float32)
    """
    return _IndexUpdateHelper(self)


# -- take_along_axis -------------------------------------------------------------------------------


def _check_int_indices(indices, who):
    if dtype_of(indices).kind not in "iu":
        raise TypeError(f"{who}: indices must be of integer type, got {dtype_of(indices)}")


def _canonical_axis(axis, ndim, who):
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{who}: axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def take_along_axis(arr, indices, axis, mode=None, fill_value=None):
    """Entries of ``arr`` at ``indices`` along ``axis``, matching the other dimensions.

    >>> import pullback.numpy as jnp
    >>> x = jnp.array([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
    >>> jnp.take_along_axis(x, jnp.array([[0], [1]]), axis=1)
    Array([[10.],
           [40.]], dtype=float32)
    """
    arr = _as_operand(arr)
    indices = _as_operand(indices)
    _check_int_indices(indices, "take_along_axis")
    if axis is None:
        arr = reshape(arr, (arr.size,))
        if indices.ndim != 1:
            raise ValueError("take_along_axis: indices must be 1-D when axis is None")
        axis = 0
    if indices.ndim != arr.ndim:
        raise ValueError(
            f"indices and arr must have the same number of dimensions; {indices.ndim} vs. "
            f"{arr.ndim}"
        )
    axis = _canonical_axis(axis, arr.ndim, "take_along_axis")
    ndim = arr.ndim
    int_dtype = _dtypes.default_int_dtype()
    arrays = []
    for d in range(ndim):
        if d == axis:
            arrays.append(indices)
            continue
        n, k = arr.shape[d], indices.shape[d]
        if n != k and 1 not in (n, k):
            raise ValueError(
                f"take_along_axis: indices shape {indices.shape} is incompatible with array "
                f"shape {arr.shape} at dimension {d}"
            )
        shape = [1] * ndim
        shape[d] = n
        iota = np.arange(n, dtype=int_dtype) if n != 1 else np.zeros(1, int_dtype)
        arrays.append(iota.reshape(shape))
    gmode = _gather_mode("fill" if mode is None else mode)
    fill = _canonical_fill(fill_value, dtype_of(arr)) if gmode == "fill" else None
    return gather(arr, *arrays, index=(ARRAY,) * ndim, mode=gmode, fill_value=fill)


Array.__getitem__ = _getitem_method
Array.at = property(_at)
