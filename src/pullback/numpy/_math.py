"""Elementwise functions of ``pullback.numpy`` built on the elementwise primitives.

Where JAX's result dtype or weak type differs from NumPy's, JAX's is followed: integer inputs of
``floor``/``ceil``/``trunc``/``round`` come back unchanged, ``power`` with a concrete integer
exponent keeps the base's dtype, and functions such as ``hypot`` promote to an inexact dtype.
"""

from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from pullback import _dtypes
from pullback._core import Array, Tracer
from pullback._ops import (
    _power,
    _round,
    absolute,
    convert_element_type,
    exp2,
    floor_divide,
    integer_pow,
    isinf,
    isnan,
    log1p,
    maximum,
    minimum,
    not_equal,
    remainder,
    sin,
    sqrt,
    trunc,
    where,
)
from pullback._ops import ceil as _ceil
from pullback._ops import floor as _floor
from pullback._ops import fmod as _fmod
from pullback._ops import logical_and as _logical_and
from pullback._ops import logical_not as _logical_not
from pullback._ops import logical_or as _logical_or
from pullback._ops import logical_xor as _logical_xor
from pullback._ops._base import dtype_of, weak_of
from pullback.numpy._creation import asarray

__all__ = [
    "power",
    "float_power",
    "mod",
    "remainder",
    "fmod",
    "divmod",
    "clip",
    "round",
    "around",
    "floor",
    "ceil",
    "trunc",
    "logaddexp2",
    "deg2rad",
    "rad2deg",
    "radians",
    "degrees",
    "hypot",
    "sinc",
    "nan_to_num",
    "logical_and",
    "logical_or",
    "logical_xor",
    "logical_not",
    "positive",
]


def _as_array(x):
    if isinstance(x, Array) or type(x) is np.ndarray or isinstance(x, np.generic):
        return x
    if type(x) in (bool, int, float, complex):
        return x
    return asarray(x)


def _inexact_pair(x, y):
    """``x`` and ``y`` converted to their common inexact dtype (weak types kept)."""
    x, y = _as_array(x), _as_array(y)
    dtype = _dtypes.to_inexact_dtype(_dtypes.result_type(x, y))
    return _to(x, dtype), _to(y, dtype)


def _inexact(x):
    x = _as_array(x)
    dtype = _dtypes.to_inexact_dtype(dtype_of(x))
    return _to(x, dtype)


def _to(x, dtype):
    if type(x) in (int, float, complex, bool):
        return convert_element_type(x, dtype, True)
    if dtype_of(x) == dtype:
        return x
    return convert_element_type(x, dtype, weak_of(x))


def _const(value, like):
    """``value`` as a weakly typed scalar of ``like``'s dtype.

    (``where`` given a bare Python scalar would let NumPy promote against its default dtype.)
    """
    return convert_element_type(value, dtype_of(like), True)


def _typed(v, other):
    """A Python scalar ``v`` as a weakly typed array of its promoted dtype with ``other``.

    (The elementwise primitives would otherwise see it as a NumPy scalar of the default dtype.)
    """
    if type(v) in (int, float, complex):
        return _to(v, _dtypes.result_type(v, other))
    return v


def _concrete_int(y):
    """``y`` as a Python int if it is a concrete integer scalar, else ``None``."""
    if isinstance(y, (bool, np.bool_)):
        return None
    if type(y) is int:
        return y
    if isinstance(y, Tracer) or np.ndim(y) != 0:
        return None
    if isinstance(y, (Array, np.ndarray, np.generic)) and dtype_of(y).kind in "iu":
        return operator.index(y)
    return None


# -- powers ------------------------------------------------------------------------------------


def power(x1, x2, /):
    """``x1 ** x2`` elementwise, with JAX's rules for integer exponents.

    A concrete integer exponent keeps the dtype of ``x1`` (binary exponentiation, as
    ``lax.integer_pow``); integers cannot be raised to negative concrete powers.

    >>> import pullback.numpy as jnp
    >>> jnp.power(jnp.array([1, 2, 3]), 2)
    Array([1, 4, 9], dtype=int32)
    >>> jnp.power(2.0, jnp.array([0.5, 3.0]))
    Array([1.4142135, 8.       ], dtype=float32)
    """
    n = _concrete_int(x2)
    x1 = _as_array(x1)
    if n is not None:
        kind = dtype_of(x1).kind
        if kind == "b":
            x1 = _to(x1, _dtypes.default_int_dtype())
        elif kind in "iu" and n < 0:
            raise TypeError(
                f"Integers cannot be raised to negative powers, got "
                f"integer_pow({_dtypes.type_str(np.shape(x1), dtype_of(x1))}, {n})"
            )
        if type(x1) in (int, float, complex):
            x1 = convert_element_type(x1, dtype_of(x1), True)
        return integer_pow(x1, n)
    x2 = _as_array(x2)
    dtype = _dtypes.result_type(x1, x2)
    if dtype.kind in "iu":
        # NumPy refuses negative integer exponents; x ** -k truncates to 0 unless |x| == 1.
        x1, x2 = _to(x1, dtype), _to(x2, dtype)
        if dtype.kind == "u":
            return _power(x1, x2)
        one, zero = _const(1, x1), _const(0, x1)
        neg = x2 < 0
        safe = _power(x1, where(neg, zero, x2))
        odd = remainder(x2, 2) == 1
        small = where(x1 == 1, one, where(x1 == -1, where(odd, _const(-1, x1), one), zero))
        return where(neg, small, safe)
    return _power(x1, x2)


def float_power(x1, x2, /):
    """``x1 ** x2`` computed in an inexact dtype.

    >>> import pullback.numpy as jnp
    >>> jnp.float_power(jnp.array([2, 3]), 2)
    Array([4., 9.], dtype=float32)
    """
    x1, x2 = _inexact_pair(x1, x2)
    return _power(x1, x2)


# -- remainders --------------------------------------------------------------------------------


def mod(x1, x2, /):
    """Remainder with the sign of the divisor (Python's ``%``).

    >>> import pullback.numpy as jnp
    >>> jnp.mod(jnp.array([-3, 5]), 3)
    Array([0, 2], dtype=int32)
    """
    return remainder(x1, x2)


def fmod(x1, x2, /):
    """Remainder with the sign of the dividend (C's ``fmod``).

    >>> import pullback.numpy as jnp
    >>> jnp.fmod(jnp.array([-3.5, 5.0]), 2.0)
    Array([-1.5,  1. ], dtype=float32)
    """
    return _fmod(x1, x2)


def divmod(x1, x2, /):
    """``(floor_divide(x1, x2), mod(x1, x2))``.

    >>> import pullback.numpy as jnp
    >>> jnp.divmod(jnp.array([7, -7]), 2)
    (Array([ 3, -4], dtype=int32), Array([1, 1], dtype=int32))
    """
    return floor_divide(x1, x2), remainder(x1, x2)


# -- clip and rounding -------------------------------------------------------------------------

_MISSING = object()


def clip(arr=None, /, min=None, max=None, *, a=_MISSING, a_min=_MISSING, a_max=_MISSING):
    """``arr`` limited to ``[min, max]`` (either bound may be ``None``).

    Ties share the gradient with the bound, as ``maximum``/``minimum`` do.

    >>> import pullback.numpy as jnp
    >>> jnp.clip(jnp.array([-1.0, 0.5, 2.0]), 0.0, 1.0)
    Array([0. , 0.5, 1. ], dtype=float32)
    """
    if a is not _MISSING or a_min is not _MISSING or a_max is not _MISSING:
        warnings.warn(
            "Passing arguments 'a', 'a_min' or 'a_max' to clip is deprecated; use 'arr', 'min' "
            "or 'max' instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        if a is not _MISSING:
            arr = a
        if a_min is not _MISSING:
            min = a_min
        if a_max is not _MISSING:
            max = a_max
    arr = _as_array(arr)
    if type(arr) in (int, float, complex, bool):
        arr = _to(arr, dtype_of(arr))
    if min is not None:
        arr = maximum(_typed(min, arr), arr)
    if max is not None:
        arr = minimum(_typed(max, arr), arr)
    return arr


def _integral(x):
    return dtype_of(x).kind in "biu"


def round(a, decimals=0, out=None):
    """Round half to even, to ``decimals`` decimal places.

    >>> import pullback.numpy as jnp
    >>> jnp.round(jnp.array([0.5, 1.5, 2.675]), 2)
    Array([0.5 , 1.5 , 2.68], dtype=float32)
    >>> jnp.round(jnp.array([0.5, 1.5, 2.5]))
    Array([0., 2., 2.], dtype=float32)
    """
    if out is not None:
        raise NotImplementedError("The 'out' argument to round is not supported.")
    a = _as_array(a)
    decimals = operator.index(decimals)
    if _integral(a):
        if decimals < 0:
            raise NotImplementedError("integer np.round not implemented for decimals < 0")
        return asarray(a) if type(a) in (int, bool) else a
    if dtype_of(a).kind == "c":
        raise NotImplementedError("round of complex values is not supported.")
    a = _to(a, dtype_of(a))
    if decimals == 0:
        return _round(a)
    dtype = dtype_of(a)
    work = dtype if dtype.itemsize >= 4 else np.dtype(np.float32)
    x = _to(a, work)
    factor = float(10.0**decimals)
    return _to(_round(x * factor) / factor, dtype) if work != dtype else _round(x * factor) / factor


around = round


def _keep_integral(fn, name):
    def wrapped(x, /):
        x = _as_array(x)
        if _integral(x):
            return asarray(x) if type(x) in (int, bool) else x
        return fn(x)

    wrapped.__name__ = wrapped.__qualname__ = name
    return wrapped


floor = _keep_integral(_floor, "floor")
floor.__doc__ = """Largest integer not greater than ``x`` (integer inputs are returned as they are).

>>> import pullback.numpy as jnp
>>> jnp.floor(jnp.array([-1.5, 1.5]))
Array([-2.,  1.], dtype=float32)
"""
ceil = _keep_integral(_ceil, "ceil")
ceil.__doc__ = """Smallest integer not less than ``x`` (integer inputs are returned as they are).

>>> import pullback.numpy as jnp
>>> jnp.ceil(jnp.array([-1.5, 1.5]))
Array([-1.,  2.], dtype=float32)
"""
trunc = _keep_integral(trunc, "trunc")
trunc.__doc__ = """``x`` rounded towards zero (integer inputs are returned as they are).

>>> import pullback.numpy as jnp
>>> jnp.trunc(jnp.array([-1.5, 1.5]))
Array([-1.,  1.], dtype=float32)
"""


# -- logs, angles and friends ------------------------------------------------------------------

_LN2 = math.log(2.0)


def logaddexp2(x1, x2, /):
    """``log2(2**x1 + 2**x2)`` without overflow.

    >>> import pullback.numpy as jnp
    >>> jnp.logaddexp2(1.0, 1.0)
    Array(2., dtype=float32, weak_type=True)
    """
    x1, x2 = _inexact_pair(x1, x2)
    delta = x1 - x2
    out = maximum(x1, x2) + log1p(exp2(-absolute(delta))) / _LN2
    return where(isnan(delta), x1 + x2, out)


def deg2rad(x, /):
    """Degrees to radians.

    >>> import pullback.numpy as jnp
    >>> jnp.deg2rad(jnp.array([180.0]))
    Array([3.1415927], dtype=float32)
    """
    return _inexact(x) * (math.pi / 180.0)


def rad2deg(x, /):
    """Radians to degrees.

    >>> import pullback.numpy as jnp
    >>> jnp.rad2deg(jnp.array([1.0]))
    Array([57.29578], dtype=float32)
    """
    return _inexact(x) * (180.0 / math.pi)


radians = deg2rad
degrees = rad2deg


def hypot(x1, x2, /):
    """``sqrt(x1**2 + x2**2)``, scaled to avoid overflow and underflow.

    >>> import pullback.numpy as jnp
    >>> jnp.hypot(jnp.array([3.0, 0.0]), 4.0)
    Array([5., 4.], dtype=float32)
    """
    x1, x2 = _inexact_pair(x1, x2)
    a, b = absolute(x1), absolute(x2)
    big, small = maximum(a, b), minimum(a, b)
    zero = big == 0
    safe_big = where(zero, _const(1, big), big)
    ratio = small / safe_big
    out = where(zero, big, safe_big * sqrt(1 + ratio * ratio))
    return where(isinf(a) | isinf(b), _const(math.inf, big), out)


def sinc(x, /):
    """``sin(pi x) / (pi x)``, with the limit 1 at 0 (smooth there to fourth order).

    >>> import pullback.numpy as jnp
    >>> jnp.sinc(jnp.array([0.0, 0.5]))
    Array([1.       , 0.6366198], dtype=float32)
    """
    x = _inexact(x)
    zero = x == 0
    px = where(zero, _const(1, x), x) * math.pi
    pz = where(zero, x, _const(0, x)) * math.pi  # 0 where used, but carries derivatives at 0
    pz2 = pz * pz
    series = 1 - pz2 / 6 + pz2 * pz2 / 120
    return where(zero, series, sin(px) / px)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """``x`` with NaN, +inf and -inf replaced by finite numbers.

    >>> import pullback.numpy as jnp
    >>> jnp.nan_to_num(jnp.array([jnp.nan, jnp.inf, 1.0]), posinf=9.0)
    Array([0., 9., 1.], dtype=float32)
    """
    x = _as_array(x)
    if type(x) in (int, float, complex, bool):
        x = asarray(x)
    dtype = dtype_of(x)
    if dtype.kind not in "fc":
        return x
    if dtype.kind == "c":
        raise NotImplementedError("nan_to_num of complex values is not supported.")
    info = np.finfo(dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    out = where(isnan(x), _to(nan, dtype), x)
    inf = isinf(out)
    out = where(inf & (out > 0), _to(posinf, dtype), out)
    return where(inf & (out < 0), _to(neginf, dtype), out)


# -- logical -----------------------------------------------------------------------------------


def _as_bool(x):
    x = _as_array(x)
    if type(x) in (int, float, complex):
        return bool(x)
    if dtype_of(x).kind == "b":
        return x
    return not_equal(x, 0)


def logical_not(x, /):
    """Elementwise logical NOT; nonzero values count as true.

    >>> import pullback.numpy as jnp
    >>> jnp.logical_not(jnp.array([0, 2]))
    Array([ True, False], dtype=bool)
    """
    x = _as_bool(x)
    return _logical_not(asarray(x) if type(x) is bool else x)


def logical_and(x1, x2, /):
    """Elementwise logical AND.

    >>> import pullback.numpy as jnp
    >>> jnp.logical_and(jnp.array([True, True]), jnp.array([1, 0]))
    Array([ True, False], dtype=bool)
    """
    return _logical_and(_as_bool(x1), _as_bool(x2))


def logical_or(x1, x2, /):
    """Elementwise logical OR.

    >>> import pullback.numpy as jnp
    >>> jnp.logical_or(jnp.array([False, False]), jnp.array([1, 0]))
    Array([ True, False], dtype=bool)
    """
    return _logical_or(_as_bool(x1), _as_bool(x2))


def logical_xor(x1, x2, /):
    """Elementwise logical XOR.

    >>> import pullback.numpy as jnp
    >>> jnp.logical_xor(jnp.array([True, True]), jnp.array([1, 0]))
    Array([False,  True], dtype=bool)
    """
    return _logical_xor(_as_bool(x1), _as_bool(x2))


def positive(x, /):
    """``+x``: ``x`` itself.

    >>> import pullback.numpy as jnp
    >>> jnp.positive(jnp.array([-1, 2]))
    Array([-1,  2], dtype=int32)
    """
    x = _as_array(x)
    return asarray(x) if not isinstance(x, Array) else x
