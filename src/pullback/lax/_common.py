"""Operands of ``pullback.lax``: conversion, dtype and axis checks shared by its modules.

Unlike ``pullback.numpy``, ``lax`` does no implicit type promotion: binary operations require
their operands to have the same dtype (a Python scalar counts as the default dtype of its kind,
weakly typed, as in JAX), and raise ``TypeError`` otherwise. Shapes broadcast as in NumPy.
"""

from __future__ import annotations

import operator

from pullback import _dtypes, _ops
from pullback._ops._base import dtype_of
from pullback.numpy._creation import asarray

_PY_SCALARS = (bool, int, float, complex)


def _arr(x):
    """``x`` as an array; a Python scalar becomes a weakly typed one."""
    if type(x) in _PY_SCALARS:
        return _ops.convert_element_type(x, dtype_of(x), type(x) is not bool)
    if isinstance(x, (list, tuple)):
        raise TypeError(f"lax operations take arrays or scalars, got a {type(x).__name__}")
    return x if hasattr(x, "dtype") else asarray(x)


def _dtype(x):
    """The dtype ``x`` has as an operand: NumPy values are canonicalized (float64 -> float32
    unless x64 is enabled), pullback arrays keep theirs."""
    dt = dtype_of(x)
    return dt if hasattr(x, "_value") else _dtypes.canonicalize_dtype(dt)


def _same_dtypes(name, args, tip=None):
    dts = [_dtype(a) for a in args]
    if any(d != dts[0] for d in dts[1:]):
        msg = (
            f"lax.{name} requires arguments to have the same dtypes, got "
            f"{', '.join(d.name for d in dts)}."
        )
        if tip:
            msg += f" (Tip: jnp.{tip} is a similar function that does automatic type promotion "
            msg += "on inputs)."
        raise TypeError(msg)
    return dts[0]


def _check_kinds(name, x, kinds, accepted):
    dtype = dtype_of(x)
    if dtype.kind not in kinds:
        raise TypeError(
            f"{name} does not accept dtype {dtype.name}. Accepted dtypes are subtypes of "
            f"{accepted}."
        )
    return dtype


def _axes(dims, ndim, who):
    out = []
    for d in dims:
        d = operator.index(d)
        if not -ndim <= d < ndim:
            raise ValueError(f"{who}: axis {d} is out of bounds for an array of rank {ndim}")
        out.append(d % ndim)
    return tuple(out)
