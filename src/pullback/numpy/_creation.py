"""Array creation: ``array``, ``asarray``, ``zeros``, ``ones``, ``full`` and friends."""

from __future__ import annotations

import numpy as np

from pullback import _dtypes
from pullback._core import RAW, Array, state, to_raw
from pullback._ops import convert_element_type
from pullback._ops.creation import full as _full


def _is_array_like(x):
    return isinstance(x, Array)


def _contains_array(x):
    if isinstance(x, Array):
        return True
    if isinstance(x, (list, tuple)):
        return any(_contains_array(e) for e in x)
    return False


def asarray(a, dtype=None, order=None, *, copy=None):
    """Convert ``a`` to an ``Array`` (no copy when it already is one).

    >>> import pullback.numpy as jnp
    >>> jnp.asarray([1, 2, 3])
    Array([1, 2, 3], dtype=int32)
    """
    if isinstance(a, Array):
        return a if dtype is None else convert_element_type(a, dtype)
    if isinstance(a, (list, tuple)) and _contains_array(a):
        from_elements = _stack_elements(a)
        return from_elements if dtype is None else convert_element_type(from_elements, dtype)
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


def _stack_elements(a):
    from pullback.numpy._shape import stack

    return stack([asarray(e) if not isinstance(e, Array) else e for e in a])


def array(object, dtype=None, copy=True, order="K", ndmin=0):
    """Create an ``Array`` from array-like data.

    >>> import pullback.numpy as jnp
    >>> jnp.array([0.0, 1.0])
    Array([0., 1.], dtype=float32)
    """
    out = asarray(object, dtype)
    if ndmin > out.ndim:
        from pullback.numpy._shape import reshape

        out = reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
    return out


def _dtype_or_default(dtype, default=None):
    if dtype is None:
        return default or _dtypes.default_float_dtype()
    return _dtypes.canonicalize_dtype(dtype)


def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value``.

    >>> import pullback.numpy as jnp
    >>> jnp.full((2,), 7)
    Array([7, 7], dtype=int32)
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if dtype is None:
        dtype = _dtypes.result_type(fill_value)
    return _full(shape, fill_value, _dtypes.canonicalize_dtype(dtype))


def zeros(shape, dtype=None):
    """An array of zeros.

    >>> import pullback.numpy as jnp
    >>> jnp.zeros(2)
    Array([0., 0.], dtype=float32)
    """
    return full(shape, 0, _dtype_or_default(dtype))


def ones(shape, dtype=None):
    """An array of ones.

    >>> import pullback.numpy as jnp
    >>> jnp.ones((1, 2))
    Array([[1., 1.]], dtype=float32)
    """
    return full(shape, 1, _dtype_or_default(dtype))


def _like(a, dtype, shape):
    a_shape = a.shape if hasattr(a, "shape") else np.shape(to_raw(a)[0])
    a_dtype = a.dtype if hasattr(a, "dtype") else to_raw(a)[0].dtype
    return (a_shape if shape is None else shape), (a_dtype if dtype is None else dtype)


def zeros_like(a, dtype=None, shape=None):
    """Zeros with the shape and dtype of ``a``.

    >>> import pullback.numpy as jnp
    >>> jnp.zeros_like(jnp.ones(2, jnp.int32))
    Array([0, 0], dtype=int32)
    """
    shape, dtype = _like(a, dtype, shape)
    return full(shape, 0, dtype)


def ones_like(a, dtype=None, shape=None):
    """Ones with the shape and dtype of ``a``.

    >>> import pullback.numpy as jnp
    >>> jnp.ones_like(jnp.zeros(2))
    Array([1., 1.], dtype=float32)
    """
    shape, dtype = _like(a, dtype, shape)
    return full(shape, 1, dtype)


def full_like(a, fill_value, dtype=None, shape=None):
    """``fill_value`` with the shape and dtype of ``a``.

    >>> import pullback.numpy as jnp
    >>> jnp.full_like(jnp.zeros(2), 3)
    Array([3., 3.], dtype=float32)
    """
    shape, dtype = _like(a, dtype, shape)
    return full(shape, fill_value, dtype)
