"""Array creation: ``array``, ``asarray``, ``zeros``, ``ones``, ``full``, ``arange``,
``linspace``, ``eye`` and friends."""

from __future__ import annotations

import operator

import numpy as np

from pullback import _dtypes
from pullback._core import RAW, Array, state, to_raw
from pullback._ops import (
    add,
    broadcast_to,
    concatenate,
    convert_element_type,
    floor,
    multiply,
    reshape,
    stack,
    subtract,
    transpose,
    true_divide,
)
from pullback._ops import arange as _arange
from pullback._ops import eye as _eye
from pullback._ops import full as _full
from pullback._ops import linspace as _linspace
from pullback._ops._base import weak_of


def _canonical_shape(shape, who="shape"):
    """``shape`` (an int or a sequence of ints) as a tuple of non-negative Python ints."""
    if isinstance(shape, (int, np.integer)) or (isinstance(shape, Array) and shape.ndim == 0):
        shape = (shape,)
    try:
        out = tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(
            f"{who}: shapes must be sequences of integers, got {shape!r}. If the shape depends "
            f"on a traced value, make that value static."
        ) from None
    if any(n < 0 for n in out):
        raise ValueError(f"{who}: negative dimensions are not allowed, got {out}")
    return out


def _contains_array(x):
    if isinstance(x, Array):
        return True
    if isinstance(x, (list, tuple)):
        return any(_contains_array(e) for e in x)
    return False


def _leaves(x, out):
    if isinstance(x, (list, tuple)):
        for e in x:
            _leaves(e, out)
    else:
        out.append(x)
    return out


def asarray(a, dtype=None, order=None, *, copy=None):
    """Convert ``a`` to an ``Array`` (no copy when it already is one).

    >>> import pullback.numpy as jnp
    >>> jnp.asarray([1, 2, 3])
    Array([1, 2, 3], dtype=int32)
    """
    if isinstance(a, Array):
        return a if dtype is None else convert_element_type(a, dtype)
    if isinstance(a, (list, tuple)) and _contains_array(a):
        return _from_nested(a, dtype)
    if isinstance(a, (list, tuple)):
        raw = np.array(a)
        if raw.dtype == object:
            raise TypeError(f"asarray: cannot convert {a!r} to an array (ragged or non-numeric)")
        weak = False
    else:
        raw, weak = to_raw(a)
        raw = np.array(raw)
    if dtype is not None:
        raw = raw.astype(_dtypes.canonicalize_dtype(dtype))
        weak = False
    else:
        raw = raw.astype(_dtypes.canonicalize_dtype(raw.dtype), copy=False)
    raw = raw[()] if raw.ndim == 0 else raw
    return raw if state.interp is RAW else Array(raw, weak)


def _from_nested(a, dtype):
    """An array from nested lists that hold ``Array``s: promoted together (Python scalars are
    weak), stacked, and strongly typed, as JAX does."""
    if dtype is None:
        dtype = _dtypes.result_type(*_leaves(a, []))
    dtype = _dtypes.canonicalize_dtype(dtype)

    def build(x):
        if isinstance(x, (list, tuple)):
            parts = [build(e) for e in x]
            if not parts:
                raise TypeError("asarray: cannot build an array from an empty nested sequence")
            shapes = {p.shape for p in parts}
            if len(shapes) != 1:
                raise ValueError(
                    f"asarray: all elements of a nested sequence must have one shape, got "
                    f"{sorted(shapes)}"
                )
            return stack(parts, 0)
        if isinstance(x, Array):
            return convert_element_type(x, dtype)
        return asarray(x, dtype)

    return build(a)


def array(object, dtype=None, copy=True, order="K", ndmin=0):
    """Create an ``Array`` from array-like data.

    >>> import pullback.numpy as jnp
    >>> jnp.array([0.0, 1.0])
    Array([0., 1.], dtype=float32)
    >>> jnp.array(2.0, ndmin=2)
    Array([[2.]], dtype=float32, weak_type=True)
    """
    out = asarray(object, dtype)
    if ndmin > out.ndim:
        out = reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
    return out


def _dtype_or_default(dtype, default=None):
    if dtype is None:
        return default or _dtypes.default_float_dtype()
    return _dtypes.canonicalize_dtype(dtype)


def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value`` (which may be an array: it is broadcast).

    >>> import pullback.numpy as jnp
    >>> jnp.full((2,), 7)
    Array([7, 7], dtype=int32, weak_type=True)
    >>> jnp.full((2, 2), jnp.array([1, 2]), dtype=jnp.float32)
    Array([[1., 2.],
           [1., 2.]], dtype=float32)
    """
    shape = _canonical_shape(shape, "full")
    if isinstance(fill_value, Array) or np.ndim(fill_value) > 0:
        return broadcast_to(asarray(fill_value, dtype), _broadcast_check(fill_value, shape))
    weak = dtype is None and _dtypes.is_weakly_typed(fill_value)
    dtype = _dtypes.result_type(fill_value) if dtype is None else _dtypes.canonicalize_dtype(dtype)
    if weak:
        return broadcast_to(convert_element_type(fill_value, dtype, True), shape)
    return _full(shape, fill_value, dtype)


def _broadcast_check(value, shape):
    value_shape = np.shape(value) if not isinstance(value, Array) else value.shape
    try:
        if np.broadcast_shapes(value_shape, shape) == shape:
            return shape
    except ValueError:
        pass
    raise ValueError(
        f"Incompatible shapes for broadcasting: {value_shape} and requested shape {shape}"
    )


def zeros(shape, dtype=None):
    """An array of zeros.

    >>> import pullback.numpy as jnp
    >>> jnp.zeros(2)
    Array([0., 0.], dtype=float32)
    """
    return _full(_canonical_shape(shape, "zeros"), 0, _dtype_or_default(dtype))


def ones(shape, dtype=None):
    """An array of ones.

    >>> import pullback.numpy as jnp
    >>> jnp.ones((1, 2))
    Array([[1., 1.]], dtype=float32)
    """
    return _full(_canonical_shape(shape, "ones"), 1, _dtype_or_default(dtype))


def empty(shape, dtype=None):
    """An array of ``shape``; its contents are zeros (arrays are never left uninitialised).

    >>> import pullback.numpy as jnp
    >>> jnp.empty((2,), jnp.int32)
    Array([0, 0], dtype=int32)
    """
    return zeros(shape, dtype)


def _shape_dtype(a):
    """Shape and dtype of an array-like, or of any object with ``shape`` and ``dtype``."""
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        return tuple(a.shape), np.dtype(a.dtype)
    raw = to_raw(a)[0]
    return np.shape(raw), raw.dtype


def _like(a, fill_value, dtype, shape):
    a_shape, a_dtype = _shape_dtype(a)
    shape = a_shape if shape is None else _canonical_shape(shape)
    if dtype is None:
        if weak_of(a):
            return broadcast_to(convert_element_type(fill_value, a_dtype, True), shape)
        dtype = a_dtype
    return _full(shape, fill_value, _dtypes.canonicalize_dtype(dtype))


def zeros_like(a, dtype=None, shape=None):
    """Zeros with the shape and dtype (and weak type) of ``a``.

    >>> import pullback.numpy as jnp
    >>> jnp.zeros_like(jnp.ones(2, jnp.int32))
    Array([0, 0], dtype=int32)
    """
    return _like(a, 0, dtype, shape)


def ones_like(a, dtype=None, shape=None):
    """Ones with the shape and dtype (and weak type) of ``a``.

    >>> import pullback.numpy as jnp
    >>> jnp.ones_like(jnp.zeros(2))
    Array([1., 1.], dtype=float32)
    """
    return _like(a, 1, dtype, shape)


def empty_like(prototype, dtype=None, shape=None):
    """Like ``zeros_like``: arrays are never left uninitialised.

    >>> import pullback.numpy as jnp
    >>> jnp.empty_like(jnp.ones(2))
    Array([0., 0.], dtype=float32)
    """
    return _like(prototype, 0, dtype, shape)


def full_like(a, fill_value, dtype=None, shape=None):
    """``fill_value`` with the shape and dtype of ``a``.

    >>> import pullback.numpy as jnp
    >>> jnp.full_like(jnp.zeros(2), 3)
    Array([3., 3.], dtype=float32)
    """
    if isinstance(fill_value, Array) or np.ndim(fill_value) > 0:
        a_shape, a_dtype = _shape_dtype(a)
        shape = a_shape if shape is None else _canonical_shape(shape)
        return full(shape, fill_value, a_dtype if dtype is None else dtype)
    return _like(a, fill_value, dtype, shape)


def _static_number(x, who):
    if isinstance(x, Array):
        if x.ndim != 0:
            raise ValueError(f"{who}: expected a scalar, got an array of shape {x.shape}")
        return x.item()
    if isinstance(x, np.ndarray) and x.ndim == 0 or isinstance(x, np.generic):
        return x.item()
    return x


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in ``[start, stop)`` (ints give int32, floats float32).

    >>> import pullback.numpy as jnp
    >>> jnp.arange(3)
    Array([0, 1, 2], dtype=int32)
    >>> jnp.arange(1.0, 2.0, 0.25)
    Array([1.  , 1.25, 1.5 , 1.75], dtype=float32)
    """
    given = [v for v in (start, stop, step) if v is not None]
    if dtype is None:
        dtype = _dtypes.result_type(*given)
    dtype = _dtypes.canonicalize_dtype(dtype)
    start = _static_number(start, "arange")
    stop = _static_number(stop, "arange")
    step = _static_number(step, "arange")
    if stop is None:
        start, stop = 0, start
    if step is None:
        step = 1
    return _arange(start, stop, step, dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` (differentiable in both ends).

    Values are ``start * (1 - t) + stop * t`` with ``t = i / div`` in float32 (or the
    requested float type); they can differ from JAX's in the last bit, because XLA rewrites
    that arithmetic.

    >>> import pullback.numpy as jnp
    >>> jnp.linspace(0, 1, 5)
    Array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    if dtype is None:
        dtype = _dtypes.result_type(start, stop, float(num))
    dtype = _dtypes.canonicalize_dtype(dtype)
    computation = _dtypes.to_inexact_dtype(dtype)
    div = num - 1 if endpoint else num
    static = not isinstance(start, Array) and not isinstance(stop, Array)
    if static and np.ndim(start) == 0 and np.ndim(stop) == 0:
        out = _linspace(
            _static_number(start, "linspace"),
            _static_number(stop, "linspace"),
            num,
            endpoint,
            dtype,
            computation,
        )
        if not retstep:
            return out
        return out, _step(asarray(start, computation), asarray(stop, computation), div)
    start = asarray(start, computation)
    stop = asarray(stop, computation)
    bounds = np.broadcast_shapes(start.shape, stop.shape)
    start = broadcast_to(start, bounds)
    stop = broadcast_to(stop, bounds)
    lead = reshape(start, (1,) + bounds)
    last = reshape(stop, (1,) + bounds)
    if div > 0:
        t = true_divide(_arange(0, div, 1, computation), computation.type(div))
        t = reshape(t, (div,) + (1,) * len(bounds))
        out = add(multiply(lead, subtract(computation.type(1), t)), multiply(last, t))
        if endpoint:
            out = concatenate([out, last], 0)
    elif num == 1:
        out = lead
    else:
        out = broadcast_to(lead, (0,) + bounds)
    if dtype.kind in "iub":
        out = floor(out)
    out = convert_element_type(out, dtype)
    axis = operator.index(axis) % out.ndim
    if axis:
        perm = list(range(1, out.ndim))
        perm.insert(axis, 0)
        out = transpose(out, tuple(perm))
    return (out, _step(start, stop, div)) if retstep else out


def _step(start, stop, div):
    if div <= 0:
        return multiply(subtract(stop, start), np.nan)
    return multiply(subtract(stop, start), 1 / start.dtype.type(div))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - NumPy's names
    """Ones on diagonal ``k`` of an ``N x M`` array, zeros elsewhere.

    >>> import pullback.numpy as jnp
    >>> jnp.eye(2, 3, k=1)
    Array([[0., 1., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    N = operator.index(N)
    M = N if M is None else operator.index(M)
    if N < 0 or M < 0:
        raise ValueError(f"negative dimensions are not allowed, got N={N}, M={M}")
    return _eye(N, M, operator.index(k), _dtype_or_default(dtype))


def identity(n, dtype=None):
    """The ``n x n`` identity matrix.

    >>> import pullback.numpy as jnp
    >>> jnp.identity(2, dtype=int)
    Array([[1, 0],
           [0, 1]], dtype=int32)
    """
    return eye(n, dtype=dtype)
