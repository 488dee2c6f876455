"""Scalar types as callables (``jnp.float32(1.0)``), dtype utilities and constants.

``jnp.float32`` and friends are classes that stand for a dtype: NumPy accepts them wherever it
accepts a dtype, and calling one makes a 0-d (or n-d) ``Array`` of that dtype, never weakly typed.
64-bit types give 32-bit arrays unless x64 is enabled, as in JAX.

They subclass the NumPy scalar type they stand for (so every dtype routine of NumPy and of
:mod:`pullback._dtypes` understands them), and compare and hash equal to it.
"""

from __future__ import annotations

import math

import numpy as np

from pullback import _dtypes
from pullback.numpy._creation import asarray

__all__ = [
    "bool_",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "int_",
    "uint",
    "float_",
    "complex_",
    "single",
    "double",
    "csingle",
    "cdouble",
    "dtype",
    "finfo",
    "iinfo",
    "result_type",
    "promote_types",
    "issubdtype",
    "can_cast",
    "generic",
    "number",
    "inexact",
    "floating",
    "complexfloating",
    "integer",
    "signedinteger",
    "unsignedinteger",
    "pi",
    "e",
    "inf",
    "nan",
    "euler_gamma",
    "newaxis",
]


class _ScalarMeta(type):
    """Metaclass of the scalar types: calling the class makes an ``Array``."""

    def __call__(cls, x):
        return asarray(x, dtype=cls.dtype)

    def __eq__(cls, other):
        return cls is other or cls.dtype.type == other

    def __ne__(cls, other):
        return not (cls is other or cls.dtype.type == other)

    def __hash__(cls):
        return hash(cls.dtype.type)

    def __instancecheck__(cls, instance):
        return isinstance(instance, cls.dtype.type)

    def __subclasscheck__(cls, subclass):
        return issubclass(subclass, cls.dtype.type)


def _scalar_type(np_type, name=None):
    dt = np.dtype(np_type)
    name = name or dt.name
    doc = (
        f"The {name} scalar type: ``{name}(x)`` is ``pullback.numpy.asarray(x, dtype={name})``.\n\n"
        f"It can be used wherever a dtype is expected."
    )
    return _ScalarMeta(
        name, (np_type,), {"dtype": dt, "__module__": "pullback.numpy", "__doc__": doc}
    )


bool_ = _scalar_type(np.bool_, "bool")
int8 = _scalar_type(np.int8)
int16 = _scalar_type(np.int16)
int32 = _scalar_type(np.int32)
int64 = _scalar_type(np.int64)
uint8 = _scalar_type(np.uint8)
uint16 = _scalar_type(np.uint16)
uint32 = _scalar_type(np.uint32)
uint64 = _scalar_type(np.uint64)
float16 = _scalar_type(np.float16)
float32 = _scalar_type(np.float32)
float64 = _scalar_type(np.float64)
complex64 = _scalar_type(np.complex64)
complex128 = _scalar_type(np.complex128)

int_ = int64
uint = uint64
float_ = float64
complex_ = complex128
single = float32
double = float64
csingle = complex64
cdouble = complex128

# NumPy's abstract scalar types, for ``issubdtype``.
generic = np.generic
number = np.number
inexact = np.inexact
floating = np.floating
complexfloating = np.complexfloating
integer = np.integer
signedinteger = np.signedinteger
unsignedinteger = np.unsignedinteger

dtype = np.dtype

pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
euler_gamma = 0.5772156649015329
newaxis = None


def finfo(dtype):
    """Machine limits of a floating-point type.

    >>> import pullback.numpy as jnp
    >>> jnp.finfo(jnp.float32)
    finfo(resolution=1e-06, min=-3.4028235e+38, max=3.4028235e+38, dtype=float32)
    """
    return _dtypes.finfo(np.dtype(dtype))


def iinfo(int_type):
    """Machine limits of an integer type.

    >>> import pullback.numpy as jnp
    >>> jnp.iinfo(jnp.int8)
    iinfo(min=-128, max=127, dtype=int8)
    """
    return _dtypes.iinfo(np.dtype(int_type))


def result_type(*args):
    """The dtype of an operation on ``args`` under JAX's promotion rules (canonicalized).

    >>> import pullback.numpy as jnp
    >>> jnp.result_type(jnp.int8, jnp.uint8)
    dtype('int16')
    >>> jnp.result_type(jnp.float16, 1.0)
    dtype('float16')
    """
    return _dtypes.result_type(*args)


def promote_types(a, b):
    """The dtype both ``a`` and ``b`` promote to (not canonicalized).

    >>> import pullback.numpy as jnp
    >>> jnp.promote_types(jnp.int32, jnp.float16)
    dtype('float16')
    """
    return _dtypes.promote_types(a, b)


def issubdtype(arg1, arg2):
    """Whether ``arg1`` is a sub-dtype of ``arg2`` in NumPy's hierarchy.

    >>> import pullback.numpy as jnp
    >>> jnp.issubdtype(jnp.float32, jnp.floating)
    True
    >>> jnp.issubdtype(jnp.int32, jnp.inexact)
    False
    """
    return _dtypes.issubdtype(arg1, arg2)


def can_cast(from_, to, casting="safe"):
    """Whether a cast from ``from_`` to ``to`` is allowed under ``casting`` (NumPy's rule).

    >>> import pullback.numpy as jnp
    >>> jnp.can_cast(jnp.int8, jnp.float32)
    True
    """
    from_ = from_.dtype if hasattr(from_, "dtype") else np.dtype(from_)
    return bool(np.can_cast(from_, np.dtype(to), casting))
