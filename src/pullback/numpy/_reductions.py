"""Reductions (sum, mean, max, var, all, argmax, ...) and cumulative sums and products.

Like JAX, reductions return strongly typed results (a weakly typed input is made strong first),
sum/prod widen small integers and booleans to the default integer type, and mean/var/std of
integers are floating point.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from pullback import _dtypes, _ops
from pullback._core import Array
from pullback.numpy._creation import asarray
from pullback.numpy._shape import _canonical_axis


def _canonical_axes(axis, ndim, who):
    """``axis`` as a sorted tuple of non-negative ints, validated against ``ndim``."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{who}: axis {a} is out of bounds for array of dimension {ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def _keepdims_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _strong(a):
    """``a`` as a strongly typed ``Array`` (reductions never return weak types)."""
    if not isinstance(a, Array):
        a = asarray(a)
    if a.weak_type:
        a = _ops.convert_element_type(a, a.dtype, False)
    return a


def _no_out(out, who):
    if out is not None:
        raise NotImplementedError(f"The 'out' argument to jnp.{who} is not supported.")


def _upcast_small_ints(dtype):
    """JAX's accumulation type for sum/prod: bool and narrow ints widen to the default int."""
    if dtype.kind == "b":
        return _dtypes.default_int_dtype()
    if dtype.kind == "i" and dtype.itemsize < _dtypes.default_int_dtype().itemsize:
        return _dtypes.default_int_dtype()
    if dtype.kind == "u" and dtype.itemsize < _dtypes.default_uint_dtype().itemsize:
        return _dtypes.default_uint_dtype()
    return dtype


def _finish(out, shape, axes, keepdims):
    return _ops.reshape(out, _keepdims_shape(shape, axes)) if keepdims else out


def _masked(a, where, neutral):
    if where is None:
        return a
    return _ops.where(asarray(where), a, neutral)


def _size_of(shape, axes):
    n = 1
    for i in axes:
        n *= shape[i]
    return n


def sum(
    a,
    axis=None,
    dtype=None,
    out=None,
    keepdims=False,
    initial=None,
    where=None,
    promote_integers=True,
):
    """Sum of elements over ``axis``; bool and small ints add up in the default int type.

    >>> import pullback.numpy as jnp
    >>> jnp.sum(jnp.array([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    Array([4., 6.], dtype=float32)
    >>> jnp.sum(jnp.array([1, 2, 3], dtype=jnp.int8))
    Array(6, dtype=int32)
    """
    return _accumulate(
        a,
        axis,
        dtype,
        out,
        keepdims,
        initial,
        where,
        promote_integers,
        "sum",
        _ops.reduce_sum,
        _ops.add,
        0,
    )


def prod(
    a,
    axis=None,
    dtype=None,
    out=None,
    keepdims=False,
    initial=None,
    where=None,
    promote_integers=True,
):
    """Product of elements over ``axis``.

    >>> import pullback.numpy as jnp
    >>> jnp.prod(jnp.array([1.0, 2.0, 3.0]))
    Array(6., dtype=float32)
    """
    return _accumulate(
        a,
        axis,
        dtype,
        out,
        keepdims,
        initial,
        where,
        promote_integers,
        "prod",
        _ops.reduce_prod,
        _ops.multiply,
        1,
    )


def _accumulate(
    a, axis, dtype, out, keepdims, initial, where, promote_integers, who, reduce, combine, unit
):
    """sum and prod: JAX's accumulation dtype, ``where`` masking with ``unit``, ``initial``."""
    _no_out(out, who)
    a = _strong(a)
    if dtype is None:
        dtype = _upcast_small_ints(a.dtype) if promote_integers else a.dtype
    else:
        dtype = _dtypes.canonicalize_dtype(dtype)
    if a.dtype != dtype:
        a = _ops.convert_element_type(a, dtype)
    axes = _canonical_axes(axis, a.ndim, who)
    result = reduce(_masked(a, where, unit), axes)
    if initial is not None:
        result = combine(result, _ops.convert_element_type(initial, dtype))
    return _finish(result, a.shape, axes, keepdims)


def _extremum(a, axis, out, keepdims, initial, where, who, reduce, combine):
    _no_out(out, who)
    a = _strong(a)
    axes = _canonical_axes(axis, a.ndim, who)
    if where is not None and initial is None:
        raise ValueError(
            f"reduction operation {who} does not have an identity, so to use a where mask one "
            f"has to specify 'initial'"
        )
    if initial is None and _size_of(a.shape, axes) == 0:
        raise ValueError(f"zero-size array to reduction operation {who} which has no identity")
    if where is not None:
        a = _ops.where(asarray(where), a, _ops.convert_element_type(initial, a.dtype))
    result = reduce(a, axes)
    if initial is not None:
        result = combine(result, _ops.convert_element_type(initial, a.dtype))
    return _finish(result, a.shape, axes, keepdims)


def max(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """Maximum over ``axis``; ties share the gradient equally.

    >>> import pullback.numpy as jnp
    >>> jnp.max(jnp.array([[1, 5], [3, 2]]), axis=1)
    Array([5, 3], dtype=int32)
    """
    return _extremum(a, axis, out, keepdims, initial, where, "max", _ops.reduce_max, _ops.maximum)


def min(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """Minimum over ``axis``; ties share the gradient equally.

    >>> import pullback.numpy as jnp
    >>> jnp.min(jnp.array([[1, 5], [3, 2]]), axis=0)
    Array([1, 2], dtype=int32)
    """
    return _extremum(a, axis, out, keepdims, initial, where, "min", _ops.reduce_min, _ops.minimum)


def amax(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """Alias of ``max``.

    >>> import pullback.numpy as jnp
    >>> jnp.amax(jnp.array([1.0, 4.0]))
    Array(4., dtype=float32)
    """
    return max(a, axis, out, keepdims, initial, where)


def amin(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """Alias of ``min``.

    >>> import pullback.numpy as jnp
    >>> jnp.amin(jnp.array([1.0, 4.0]))
    Array(1., dtype=float32)
    """
    return min(a, axis, out, keepdims, initial, where)


def _inexact_result(in_dtype, dtype):
    """(computation dtype, result dtype) of mean/var: float16 is computed in float32."""
    if dtype is None:
        result = _dtypes.to_inexact_dtype(in_dtype)
    else:
        result = _dtypes.canonicalize_dtype(dtype)
    computation = _dtypes.to_inexact_dtype(result)
    if computation == np.float16:
        computation = np.dtype(np.float32)
    return computation, result


_FLOATS = frozenset({np.dtype(np.float32), np.dtype(np.float64)})


@functools.cache
def _all_axes(ndim):
    return tuple(range(ndim))


def _count(a, axes, where, dtype):
    if where is None:
        return _size_of(a.shape, axes)
    mask = _ops.broadcast_to(asarray(where), a.shape)
    return _ops.reduce_sum(_ops.convert_element_type(mask, dtype), axes)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Arithmetic mean over ``axis`` (integers give float32).

    >>> import pullback.numpy as jnp
    >>> jnp.mean(jnp.array([1.0, 2.0, 4.0]))
    Array(2.3333333, dtype=float32)
    >>> jnp.mean(jnp.array([1, 2]))
    Array(1.5, dtype=float32)
    """
    _no_out(out, "mean")
    if (
        axis is None
        and dtype is None
        and where is None
        and isinstance(a, Array)
        and not a._weak
        and a._value.dtype in _FLOATS
    ):
        # the common case, kept cheap: the mean of all elements of a float32/float64 array
        shape = a.shape
        total = _ops.reduce_sum(a, _all_axes(len(shape)))
        out_ = total / float(math.prod(shape))
        return _ops.reshape(out_, (1,) * len(shape)) if keepdims else out_
    a = _strong(a)
    computation, result = _inexact_result(a.dtype, dtype)
    axes = _canonical_axes(axis, a.ndim, "mean")
    if a.dtype != computation:
        a = _ops.convert_element_type(a, computation)
    total = _ops.reduce_sum(_masked(a, where, 0), axes)
    n = _count(a, axes, where, computation)
    # a Python float divides without promotion (NumPy treats it as weakly typed)
    out_ = _ops.true_divide(total, n if isinstance(n, Array) else float(n))
    if out_.dtype != result:
        out_ = _ops.convert_element_type(out_, result)
    return _finish(out_, a.shape, axes, keepdims)


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, correction=None):
    """Variance over ``axis``, divided by ``N - ddof`` (``correction`` is the Array API name).

    >>> import pullback.numpy as jnp
    >>> jnp.var(jnp.array([1.0, 2.0, 3.0, 4.0]))
    Array(1.25, dtype=float32)
    >>> jnp.var(jnp.array([1.0, 2.0, 3.0, 4.0]), ddof=1)
    Array(1.6666666, dtype=float32)
    """
    _no_out(out, "var")
    if correction is not None:
        ddof = correction
    a = _strong(a)
    computation, result = _inexact_result(a.dtype, dtype)
    if computation.kind == "c":
        raise NotImplementedError("var/std of complex arrays is not supported yet.")
    axes = _canonical_axes(axis, a.ndim, "var")
    if a.dtype != computation:
        a = _ops.convert_element_type(a, computation)
    centre = mean(a, axes, keepdims=True, where=where)
    centred = _ops.subtract(a, centre)
    total = _ops.reduce_sum(_masked(_ops.multiply(centred, centred), where, 0), axes)
    n = _count(a, axes, where, computation)
    # like JAX, N - ddof <= 0 gives NaN
    if isinstance(n, Array):
        denom = _ops.subtract(n, computation.type(ddof))
        out_ = _ops.where(
            _ops.greater(denom, 0), _ops.true_divide(total, denom), computation.type(np.nan)
        )
    elif n - ddof > 0:
        out_ = _ops.true_divide(total, computation.type(n - ddof))
    else:
        out_ = _ops.multiply(total, computation.type(np.nan))
    if out_.dtype != result:
        out_ = _ops.convert_element_type(out_, result)
    return _finish(out_, a.shape, axes, keepdims)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, correction=None):
    """Standard deviation over ``axis`` (the square root of ``var``).

    >>> import pullback.numpy as jnp
    >>> jnp.std(jnp.array([1.0, 3.0]))
    Array(1., dtype=float32)
    """
    _no_out(out, "std")
    v = var(a, axis, None, None, ddof, keepdims, where=where, correction=correction)
    out_ = _ops.sqrt(v)
    if dtype is not None:
        out_ = _ops.convert_element_type(out_, dtype)
    return out_


def _boolean(a, axis, out, keepdims, where, who, reduce, neutral):
    _no_out(out, who)
    a = _strong(a)
    if a.dtype.kind != "b":
        a = _ops.convert_element_type(a, np.bool_)
    axes = _canonical_axes(axis, a.ndim, who)
    result = reduce(_masked(a, where, neutral), axes)
    return _finish(result, a.shape, axes, keepdims)


def all(a, axis=None, out=None, keepdims=False, *, where=None):
    """Whether every element (over ``axis``) is true (non-zero).

    >>> import pullback.numpy as jnp
    >>> jnp.all(jnp.array([1, 0, 2]))
    Array(False, dtype=bool)
    """
    return _boolean(a, axis, out, keepdims, where, "all", _ops.reduce_and, True)


def any(a, axis=None, out=None, keepdims=False, *, where=None):
    """Whether any element (over ``axis``) is true (non-zero).

    >>> import pullback.numpy as jnp
    >>> jnp.any(jnp.array([[0, 0], [0, 3]]), axis=1)
    Array([False,  True], dtype=bool)
    """
    return _boolean(a, axis, out, keepdims, where, "any", _ops.reduce_or, False)


def _arg(a, axis, out, keepdims, who, op):
    _no_out(out, who)
    a = _strong(a)
    if axis is None:
        if a.size == 0:
            raise ValueError(f"attempt to get {who} of an empty sequence")
        flat = _ops.reshape(a, (a.size,))
        result = op(flat, 0, _dtypes.default_int_dtype())
        return _ops.reshape(result, (1,) * a.ndim) if keepdims else result
    axis = _canonical_axis(axis, a.ndim, who)
    if a.shape[axis] == 0:
        raise ValueError(f"attempt to get {who} of an empty sequence")
    result = op(a, axis, _dtypes.default_int_dtype())
    return _finish(result, a.shape, (axis,), keepdims)


def argmax(a, axis=None, out=None, keepdims=None):
    """Index of the (first) maximum, over the flattened array by default.

    >>> import pullback.numpy as jnp
    >>> jnp.argmax(jnp.array([[1, 5], [7, 2]]), axis=1)
    Array([1, 0], dtype=int32)
    """
    return _arg(a, axis, out, bool(keepdims), "argmax", _ops.argmax)


def argmin(a, axis=None, out=None, keepdims=None):
    """Index of the (first) minimum, over the flattened array by default.

    >>> import pullback.numpy as jnp
    >>> jnp.argmin(jnp.array([3.0, 1.0, 2.0]))
    Array(1, dtype=int32)
    """
    return _arg(a, axis, out, bool(keepdims), "argmin", _ops.argmin)


def _cumulative(a, axis, dtype, out, who, op):
    _no_out(out, who)
    a = _strong(a)
    if axis is None:
        a = _ops.reshape(a, (a.size,))
        axis = 0
    axis = _canonical_axis(axis, a.ndim, who)
    if dtype is None:
        dtype = _dtypes.default_int_dtype() if a.dtype.kind == "b" else a.dtype
    dtype = _dtypes.canonicalize_dtype(dtype)
    if a.dtype != dtype:
        a = _ops.convert_element_type(a, dtype)
    return op(a, axis)


def cumsum(a, axis=None, dtype=None, out=None):
    """Running sum along ``axis`` (of the flattened array by default).

    >>> import pullback.numpy as jnp
    >>> jnp.cumsum(jnp.array([[1, 2], [3, 4]]), axis=1)
    Array([[1, 3],
           [3, 7]], dtype=int32)
    """
    return _cumulative(a, axis, dtype, out, "cumsum", _ops.cumsum)


def cumprod(a, axis=None, dtype=None, out=None):
    """Running product along ``axis`` (of the flattened array by default).

    >>> import pullback.numpy as jnp
    >>> jnp.cumprod(jnp.array([1.0, 2.0, 3.0]))
    Array([1., 2., 6.], dtype=float32)
    """
    return _cumulative(a, axis, dtype, out, "cumprod", _ops.cumprod)
