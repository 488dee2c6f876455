"""Shape manipulation: reshape, transpose, concatenate, split, tile, repeat, take, ..."""

from __future__ import annotations

import operator

import numpy as np

from pullback import _dtypes, _ops
from pullback._core import Array
from pullback._ops._base import dtype_of
from pullback.numpy._creation import _canonical_shape, asarray


def _as_array(a):
    return a if isinstance(a, Array) else asarray(a)


def _canonical_axis(axis, ndim, who="axis"):
    """``axis`` as a non-negative int, validated against ``ndim``."""
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{who}: axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _canonical_axes(axis, ndim, who="axis"):
    """``axis`` (an int or a sequence of ints) as a tuple of non-negative ints, in the order
    given; repeated axes are an error."""
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = tuple(_canonical_axis(a, ndim, who) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: repeated axis in {axis!r}")
    return out


# -- reshape ----------------------------------------------------------------------------------


def _resolve_shape(shape, size, old_shape):
    shape = _shape_with_unknown(shape)
    unknown = [i for i, n in enumerate(shape) if n == -1]
    if len(unknown) > 1:
        raise ValueError("can only specify one unknown dimension")
    known = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
    if unknown:
        if known == 0 or size % known:
            raise TypeError(
                f"cannot reshape array of shape {old_shape} (size {size}) into shape {shape} "
                f"because the product of specified axis sizes ({known}) does not evenly divide "
                f"{size}"
            )
        shape = tuple(size // known if n == -1 else n for n in shape)
    elif known != size:
        raise TypeError(
            f"cannot reshape array of shape {old_shape} (size {size}) into shape {shape} "
            f"(size {known})"
        )
    return shape


def _shape_with_unknown(shape):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    out = tuple(operator.index(n) for n in shape)
    if any(n < -1 for n in out):
        raise ValueError(f"reshape: invalid dimension in {out}")
    return out


def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    """Give ``a`` a new shape with the same number of elements; one dimension may be -1.

    >>> import pullback.numpy as jnp
    >>> jnp.reshape(jnp.arange(6), (2, -1))
    Array([[0, 1, 2],
           [3, 4, 5]], dtype=int32)
    >>> jnp.reshape(jnp.arange(6), (3, 2), order="F")
    Array([[0, 3],
           [1, 4],
           [2, 5]], dtype=int32)
    """
    a = _as_array(a)
    if shape is None:
        shape = newshape
    if shape is None:
        raise TypeError("reshape() missing required argument 'shape'")
    shape = _resolve_shape(shape, a.size, a.shape)
    if order == "F":
        flipped = _ops.transpose(a, tuple(range(a.ndim))[::-1])
        out = _ops.reshape(flipped, shape[::-1])
        return _ops.transpose(out, tuple(range(len(shape)))[::-1])
    if order not in ("C", "A"):
        raise ValueError(f"reshape: order must be 'C', 'F' or 'A', got {order!r}")
    return _ops.reshape(a, shape)


def ravel(a, order="C"):
    """The elements of ``a`` as a 1-D array.

    >>> import pullback.numpy as jnp
    >>> jnp.ravel(jnp.array([[1, 2], [3, 4]]))
    Array([1, 2, 3, 4], dtype=int32)
    """
    a = _as_array(a)
    return reshape(a, (a.size,), order)


def expand_dims(a, axis):
    """Insert size-1 axes at positions ``axis`` of the result.

    >>> import pullback.numpy as jnp
    >>> jnp.expand_dims(jnp.ones((2, 3)), (0, -1)).shape
    (1, 2, 3, 1)
    """
    a = _as_array(a)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = _canonical_axes(axes, a.ndim + len(axes), "expand_dims")
    return _ops.expand_dims(a, axes)


def squeeze(a, axis=None):
    """Remove size-1 axes (all of them, or those in ``axis``).

    >>> import pullback.numpy as jnp
    >>> jnp.squeeze(jnp.ones((1, 2, 1))).shape
    (2,)
    """
    a = _as_array(a)
    if axis is None:
        axes = tuple(i for i, n in enumerate(a.shape) if n == 1)
    else:
        axes = tuple(sorted(_canonical_axes(axis, a.ndim, "squeeze")))
        if any(a.shape[i] != 1 for i in axes):
            raise ValueError(
                f"cannot select an axis to squeeze out which has size not equal to one, got "
                f"shape={a.shape} and dimensions={axes}"
            )
    return _ops.squeeze(a, axes)


def broadcast_shapes(*shapes):
    """The shape that NumPy broadcasting gives ``shapes``.

    >>> import pullback.numpy as jnp
    >>> jnp.broadcast_shapes((2, 1), (3,))
    (2, 3)
    """
    try:
        return tuple(np.broadcast_shapes(*(_canonical_shape(s) for s in shapes)))
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: shapes={list(shapes)}") from None


def broadcast_to(array, shape):
    """Broadcast ``array`` to ``shape`` with NumPy's rules.

    >>> import pullback.numpy as jnp
    >>> jnp.broadcast_to(jnp.array([1, 2]), (2, 2))
    Array([[1, 2],
           [1, 2]], dtype=int32)
    """
    a = _as_array(array)
    shape = _canonical_shape(shape, "broadcast_to")
    ok = len(shape) >= a.ndim and all(n == m or n == 1 for n, m in zip(a.shape[::-1], shape[::-1]))
    if not ok:
        raise ValueError(
            f"Incompatible shapes for broadcasting: {a.shape} and requested shape {shape}"
        )
    return _ops.broadcast_to(a, shape)


def broadcast_arrays(*args):
    """Broadcast all arguments against one another.

    >>> import pullback.numpy as jnp
    >>> [x.shape for x in jnp.broadcast_arrays(jnp.ones(3), jnp.ones((2, 1)))]
    [(2, 3), (2, 3)]
    """
    arrays = [_as_array(a) for a in args]
    shape = broadcast_shapes(*(a.shape for a in arrays))
    return [_ops.broadcast_to(a, shape) for a in arrays]


# -- axes -------------------------------------------------------------------------------------


def transpose(a, axes=None):
    """Permute the axes of ``a`` (reverse them by default).

    >>> import pullback.numpy as jnp
    >>> jnp.transpose(jnp.ones((1, 2, 3)), (1, 0, 2)).shape
    (2, 1, 3)
    """
    a = _as_array(a)
    if axes is None:
        return _ops.transpose(a, tuple(range(a.ndim))[::-1])
    perm = _canonical_axes(axes, a.ndim, "transpose")
    if len(perm) != a.ndim:
        raise ValueError(f"transpose: axes {axes} don't match an array of dimension {a.ndim}")
    return _ops.transpose(a, perm)


def permute_dims(a, axes=None):
    """The Array API name of ``transpose``.

    >>> import pullback.numpy as jnp
    >>> jnp.permute_dims(jnp.ones((2, 3)), (1, 0)).shape
    (3, 2)
    """
    return transpose(a, axes)


def matrix_transpose(x):
    """Swap the last two axes.

    >>> import pullback.numpy as jnp
    >>> jnp.matrix_transpose(jnp.ones((4, 2, 3))).shape
    (4, 3, 2)
    """
    x = _as_array(x)
    if x.ndim < 2:
        raise ValueError(f"x must be at least two-dimensional for matrix_transpose; got {x.ndim=}")
    return swapaxes(x, -1, -2)


def swapaxes(a, axis1, axis2):
    """Exchange two axes.

    >>> import pullback.numpy as jnp
    >>> jnp.swapaxes(jnp.ones((2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    a = _as_array(a)
    perm = list(range(a.ndim))
    i = _canonical_axis(axis1, a.ndim, "swapaxes")
    j = _canonical_axis(axis2, a.ndim, "swapaxes")
    perm[i], perm[j] = perm[j], perm[i]
    return _ops.transpose(a, tuple(perm))


def moveaxis(a, source, destination):
    """Move axes ``source`` to positions ``destination``; the others keep their order.

    >>> import pullback.numpy as jnp
    >>> jnp.moveaxis(jnp.ones((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    a = _as_array(a)
    src = _canonical_axes(source, a.ndim, "moveaxis")
    dst = _canonical_axes(destination, a.ndim, "moveaxis")
    if len(src) != len(dst):
        raise ValueError(f"Inconsistent number of elements: {len(src)} vs {len(dst)}")
    perm = [i for i in range(a.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return _ops.transpose(a, tuple(perm))


def flip(m, axis=None):
    """Reverse the order of elements along ``axis`` (all axes by default).

    >>> import pullback.numpy as jnp
    >>> jnp.flip(jnp.array([[1, 2], [3, 4]]), axis=1)
    Array([[2, 1],
           [4, 3]], dtype=int32)
    """
    m = _as_array(m)
    axes = tuple(range(m.ndim)) if axis is None else _canonical_axes(axis, m.ndim, "flip")
    return _ops.rev(m, tuple(sorted(axes)))


def fliplr(m):
    """Reverse the order of columns (axis 1).

    >>> import pullback.numpy as jnp
    >>> jnp.fliplr(jnp.array([[1, 2]]))
    Array([[2, 1]], dtype=int32)
    """
    return flip(m, 1)


def flipud(m):
    """Reverse the order of rows (axis 0).

    >>> import pullback.numpy as jnp
    >>> jnp.flipud(jnp.array([1, 2]))
    Array([2, 1], dtype=int32)
    """
    return flip(m, 0)


def atleast_1d(*arys):
    """Arrays with at least one dimension (a list for several arguments).

    >>> import pullback.numpy as jnp
    >>> jnp.atleast_1d(1.0)
    Array([1.], dtype=float32, weak_type=True)
    """
    out = [_at_least(a, 1) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    """Arrays with at least two dimensions (new axes in front).

    >>> import pullback.numpy as jnp
    >>> jnp.atleast_2d(jnp.array([1, 2])).shape
    (1, 2)
    """
    out = [_at_least(a, 2) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    """Arrays with at least three dimensions (a 1-D ``(n,)`` becomes ``(1, n, 1)``).

    >>> import pullback.numpy as jnp
    >>> jnp.atleast_3d(jnp.ones((2, 3))).shape
    (2, 3, 1)
    """
    out = [_at_least(a, 3) for a in arys]
    return out[0] if len(out) == 1 else out


def _at_least(a, n):
    a = _as_array(a)
    if a.ndim >= n:
        return a
    if n == 3 and a.ndim == 1:
        return _ops.reshape(a, (1,) + a.shape + (1,))
    if n == 3 and a.ndim == 2:
        return _ops.reshape(a, a.shape + (1,))
    return _ops.reshape(a, (1,) * (n - a.ndim) + a.shape)


# -- joining and splitting --------------------------------------------------------------------


def _promoted(arrays, dtype, who):
    arrays = [_as_array(a) for a in arrays]
    if not arrays:
        raise ValueError(f"Need at least one array to {who}.")
    if dtype is None:
        dtype, _ = _dtypes.result_type(*arrays, return_weak_type=True)
        return [
            a if a.dtype == dtype else _ops.convert_element_type(a, dtype, a.weak_type)
            for a in arrays
        ]
    dtype = _dtypes.canonicalize_dtype(dtype)
    return [_ops.convert_element_type(a, dtype) for a in arrays]


def _unstack(a):
    pieces = _ops.split(a, (1,) * a.shape[0], 0) if a.shape[0] else []
    return [_ops.squeeze(p, (0,)) for p in pieces]


def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing ``axis`` (``None`` flattens them first).

    >>> import pullback.numpy as jnp
    >>> jnp.concatenate([jnp.array([1, 2]), jnp.array([3])])
    Array([1, 2, 3], dtype=int32)
    """
    if isinstance(arrays, Array):
        arrays = _unstack(arrays)
    arrays = _promoted(arrays, dtype, "concatenate")
    if axis is None:
        arrays = [_ops.reshape(a, (a.size,)) for a in arrays]
        axis = 0
    ndim = arrays[0].ndim
    if ndim == 0:
        raise ValueError("Zero-dimensional arrays cannot be concatenated.")
    if any(a.ndim != ndim for a in arrays):
        raise ValueError(
            "Cannot concatenate arrays with different numbers of dimensions: got "
            + ", ".join(str(a.shape) for a in arrays)
            + "."
        )
    axis = _canonical_axis(axis, ndim, "concatenate")
    ref = arrays[0].shape
    for a in arrays:
        if a.shape[:axis] != ref[:axis] or a.shape[axis + 1 :] != ref[axis + 1 :]:
            raise TypeError(
                f"Cannot concatenate arrays with shapes that differ in dimensions other than "
                f"the one being concatenated: concatenating along dimension {axis} for shapes "
                + ", ".join(str(x.shape) for x in arrays)
                + "."
            )
    return _ops.concatenate(arrays, axis)


def stack(arrays, axis=0, out=None, dtype=None):
    """Join arrays of one shape along a new ``axis``.

    >>> import pullback.numpy as jnp
    >>> jnp.stack([jnp.array([1, 2]), jnp.array([3, 4])], axis=1)
    Array([[1, 3],
           [2, 4]], dtype=int32)
    """
    if isinstance(arrays, Array):
        arrays = _unstack(arrays)
    arrays = _promoted(arrays, dtype, "stack")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError("All input arrays must have the same shape.")
    axis = _canonical_axis(axis, arrays[0].ndim + 1, "stack")
    return _ops.concatenate([_ops.expand_dims(a, (axis,)) for a in arrays], axis)


def hstack(tup, dtype=None):
    """Join arrays column-wise (along axis 1, or 0 for 1-D arrays).

    >>> import pullback.numpy as jnp
    >>> jnp.hstack([jnp.array([1, 2]), jnp.array([3])])
    Array([1, 2, 3], dtype=int32)
    """
    arrays = [_at_least(a, 1) for a in tup]
    axis = 0 if arrays and arrays[0].ndim == 1 else 1
    return concatenate(arrays, axis, dtype)


def vstack(tup, dtype=None):
    """Join arrays row-wise (1-D arrays become rows).

    >>> import pullback.numpy as jnp
    >>> jnp.vstack([jnp.array([1, 2]), jnp.array([3, 4])])
    Array([[1, 2],
           [3, 4]], dtype=int32)
    """
    return concatenate([_at_least(a, 2) for a in tup], 0, dtype)


def dstack(tup, dtype=None):
    """Join arrays along the third axis.

    >>> import pullback.numpy as jnp
    >>> jnp.dstack([jnp.array([1, 2]), jnp.array([3, 4])]).shape
    (1, 2, 2)
    """
    return concatenate([_at_least(a, 3) for a in tup], 2, dtype)


def column_stack(tup):
    """Stack 1-D arrays as the columns of a 2-D array.

    >>> import pullback.numpy as jnp
    >>> jnp.column_stack([jnp.array([1, 2]), jnp.array([3, 4])])
    Array([[1, 3],
           [2, 4]], dtype=int32)
    """
    arrays = [_as_array(a) for a in tup]
    arrays = [_ops.reshape(a, a.shape + (1,)) if a.ndim < 2 else a for a in arrays]
    return concatenate(arrays, 1)


def _static_ints(x, who):
    if isinstance(x, Array):
        x = np.asarray(x)
    return [operator.index(i) for i in np.asarray(x).reshape(-1).tolist()]


def _split_at(a, bounds, axis):
    """Pieces ``a[bounds[i]:bounds[i+1]]`` along ``axis``."""
    n = a.shape[axis]
    bounds = [min(max(b, 0), n) for b in bounds]
    if all(x <= y for x, y in zip(bounds, bounds[1:])) and bounds[0] == 0 and bounds[-1] == n:
        sizes = [y - x for x, y in zip(bounds, bounds[1:])]
        return list(_ops.split(a, sizes, axis))
    return [_ops.slice_in_dim(a, x, max(x, y), axis) for x, y in zip(bounds, bounds[1:])]


def _indices_to_bounds(indices_or_sections, n, who, *, even):
    if isinstance(indices_or_sections, (int, np.integer)) or (
        isinstance(indices_or_sections, Array) and indices_or_sections.ndim == 0
    ):
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"{who}: number of sections must be larger than 0.")
        if even:
            if n % sections:
                raise ValueError(
                    f"array split does not result in an equal division: rest is {n % sections}"
                )
            size = n // sections
            return [i * size for i in range(sections + 1)]
        size, extra = divmod(n, sections)
        bounds = [0]
        for i in range(sections):
            bounds.append(bounds[-1] + size + (1 if i < extra else 0))
        return bounds
    cuts = _static_ints(indices_or_sections, who)
    cuts = [c + n if c < 0 else c for c in cuts]
    return [0, *cuts, n]


def split(ary, indices_or_sections, axis=0):
    """Split into equal sections (an int) or at the given indices.

    >>> import pullback.numpy as jnp
    >>> jnp.split(jnp.arange(6), [1, 4])
    [Array([0], dtype=int32), Array([1, 2, 3], dtype=int32), Array([4, 5], dtype=int32)]
    """
    a = _as_array(ary)
    axis = _canonical_axis(axis, a.ndim, "split")
    bounds = _indices_to_bounds(indices_or_sections, a.shape[axis], "split", even=True)
    return _split_at(a, bounds, axis)


def array_split(ary, indices_or_sections, axis=0):
    """Like ``split``, but an int need not divide the axis evenly.

    >>> import pullback.numpy as jnp
    >>> [x.shape for x in jnp.array_split(jnp.arange(7), 3)]
    [(3,), (2,), (2,)]
    """
    a = _as_array(ary)
    axis = _canonical_axis(axis, a.ndim, "array_split")
    bounds = _indices_to_bounds(indices_or_sections, a.shape[axis], "array_split", even=False)
    return _split_at(a, bounds, axis)


def tile(A, reps):  # noqa: N803 - NumPy's name
    """Repeat the whole array ``reps`` times (per axis for a tuple).

    >>> import pullback.numpy as jnp
    >>> jnp.tile(jnp.array([1, 2]), 2)
    Array([1, 2, 1, 2], dtype=int32)
    """
    a = _as_array(A)
    reps = (
        (operator.index(reps),)
        if isinstance(reps, (int, np.integer))
        else tuple(operator.index(r) for r in reps)
    )
    if len(reps) < a.ndim:
        reps = (1,) * (a.ndim - len(reps)) + reps
    if a.ndim < len(reps):
        a = _ops.reshape(a, (1,) * (len(reps) - a.ndim) + a.shape)
    return _ops.tile(a, reps)


def repeat(a, repeats, axis=None, *, total_repeat_length=None):
    """Repeat each element ``repeats`` times (an int, or one count per element).

    >>> import pullback.numpy as jnp
    >>> jnp.repeat(jnp.array([1, 2]), 2)
    Array([1, 1, 2, 2], dtype=int32)
    >>> jnp.repeat(jnp.array([[1, 2]]), jnp.array([1, 2]), axis=1)
    Array([[1, 2, 2]], dtype=int32)
    """
    a = _as_array(a)
    if axis is None:
        a = _ops.reshape(a, (a.size,))
        axis = 0
    axis = _canonical_axis(axis, a.ndim, "repeat")
    n = a.shape[axis]
    counts = _static_ints(repeats, "repeat")
    if np.ndim(np.asarray(repeats)) == 0:
        count = counts[0]
        if total_repeat_length is None or total_repeat_length == n * count:
            return _ops.repeat(a, count, axis)
        counts = [count] * n
    if len(counts) == 1:
        counts = counts * n
    if len(counts) != n:
        raise ValueError(f"repeat: repeats has {len(counts)} entries for an axis of length {n}")
    if total_repeat_length is not None:
        index = np.repeat(np.arange(n), counts)
        total = operator.index(total_repeat_length)
        if len(index) < total:
            index = np.concatenate([index, np.full(total - len(index), max(n - 1, 0))])
        index = index[:total]
        return _ops.take(a, Array(index.astype(np.int32), True), axis, "clip", 0)
    return _ops.repeat(a, tuple(counts), axis)


def _default_fill(dtype):
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind == "i":
        return int(np.iinfo(dtype).min)
    if dtype.kind == "u":
        return int(np.iinfo(dtype).max)
    return True


def take(
    a,
    indices,
    axis=None,
    out=None,
    mode=None,
    unique_indices=False,
    indices_are_sorted=False,
    fill_value=None,
):
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened ``a`` by default).

    As in JAX the default ``mode`` is ``"fill"``: negative indices count from the end and
    out-of-bounds ones give ``fill_value`` (NaN for floats, the minimum for signed integers, the
    maximum for unsigned ones, True for booleans). ``"clip"`` and ``"wrap"`` are supported too.

    >>> import pullback.numpy as jnp
    >>> jnp.take(jnp.array([1.0, 2.0, 3.0]), jnp.array([0, -1, 5]))
    Array([ 1.,  3., nan], dtype=float32)
    """
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.take is not supported.")
    a = _as_array(a)
    if axis is None:
        a = _ops.reshape(a, (a.size,))
        axis = 0
    axis = _canonical_axis(axis, a.ndim, "take")
    mode = "fill" if mode is None else mode
    if mode not in ("fill", "clip", "wrap"):
        raise NotImplementedError(f"take: mode {mode!r} is not supported ('fill', 'clip', 'wrap')")
    idx = indices
    if not isinstance(idx, Array):
        raw = np.asarray(idx)
        if raw.dtype.kind not in "iu":
            raise TypeError(f"take: indices must be integers, got dtype {raw.dtype}")
        idx = Array(raw.astype(np.int32) if raw.dtype.itemsize > 4 else raw, False)
    elif dtype_of(idx).kind not in "iu":
        raise TypeError(f"take: indices must be integers, got dtype {idx.dtype}")
    fill = _default_fill(a.dtype) if fill_value is None else fill_value
    return _ops.take(a, idx, axis, mode, fill)


def ndim(a):
    """The number of dimensions of ``a`` (an array, a tracer, a scalar or a nested list).

    >>> import pullback.numpy as jnp
    >>> jnp.ndim(jnp.ones((2, 3))), jnp.ndim(1.0)
    (2, 0)
    """
    return np.ndim(a)


def shape(a):
    """The shape of ``a``.

    >>> import pullback.numpy as jnp
    >>> jnp.shape(jnp.ones((2, 3)))
    (2, 3)
    """
    return np.shape(a)


def size(a, axis=None):
    """The number of elements of ``a`` (along ``axis`` if given).

    >>> import pullback.numpy as jnp
    >>> jnp.size(jnp.ones((2, 3))), jnp.size(jnp.ones((2, 3)), 1)
    (6, 3)
    """
    dims = np.shape(a)
    return int(np.prod(dims, dtype=np.int64)) if axis is None else dims[axis]
