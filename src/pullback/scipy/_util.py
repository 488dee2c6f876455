"""Helpers shared by ``pullback.scipy.special`` and ``pullback.scipy.stats``: JAX's argument
promotion and its two kinds of constants."""

from __future__ import annotations

import numpy as np

import pullback.numpy as jnp
from pullback import _dtypes
from pullback._core import Array
from pullback._ops._base import convert_element_type, dtype_of, weak_of


def promote_args_inexact(name, *args):
    """The arguments as arrays of their common inexact dtype (JAX's ``promote_args_inexact``;
    weakly typed when every argument is)."""
    arrays = [a if isinstance(a, Array) else jnp.asarray(a) for a in args]
    dtype, weak = _dtypes.result_type(*arrays, return_weak_type=True)
    if dtype.kind == "c":
        raise ValueError(f"{name} does not support complex-valued inputs.")
    dtype = _dtypes.to_inexact_dtype(dtype)
    return [convert_element_type(a, dtype, weak) for a in arrays]


def weak_const(value, like):
    """``value`` as a weakly typed scalar of ``like``'s dtype."""
    return convert_element_type(value, dtype_of(like), True)


def lax_const(like, value):
    """JAX's ``lax._const(like, value)``: a Python scalar (weak) beside a weakly typed scalar,
    otherwise a NumPy value of ``like``'s dtype (strong)."""
    if np.ndim(like) == 0 and weak_of(like):
        return float(value)
    return np.asarray(value, dtype_of(like))[()]


def strong(value, like):
    """``value`` as a NumPy scalar of ``like``'s dtype: strongly typed, as JAX's
    ``x.dtype.type(value)`` constants are, so results are not weak."""
    return np.asarray(value, dtype_of(like))[()]


def select(conditions, values, default=0):
    """``jnp.select``: the value of the first condition that holds, ``default`` where none
    does."""
    out = default
    for cond, value in zip(reversed(conditions), reversed(values), strict=True):
        out = jnp.where(cond, value, out)
    return out
