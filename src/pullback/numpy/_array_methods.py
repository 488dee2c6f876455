"""Operators and methods of ``Array`` (and so of every tracer), set from the numpy layer."""

from __future__ import annotations

import numpy as np

from pullback import _ops
from pullback._core import Array
from pullback.numpy import _creation, _linalg, _reductions, _shape


def _swap(fn):
    def reflected(self, other):
        return fn(other, self)

    reflected.__name__ = f"r{fn.__name__}"
    return reflected


_OPERATORS = {
    "add": _ops.add,
    "sub": _ops.subtract,
    "mul": _ops.multiply,
    "truediv": _ops.true_divide,
    "floordiv": _ops.floor_divide,
    "mod": _ops.remainder,
    "pow": _ops.power,
    "and": _ops.bitwise_and,
    "or": _ops.bitwise_or,
    "xor": _ops.bitwise_xor,
    "lshift": _ops.left_shift,
    "rshift": _ops.right_shift,
}

for _name, _fn in _OPERATORS.items():
    setattr(Array, f"__{_name}__", _fn)
    setattr(Array, f"__r{_name}__", _swap(_fn))

Array.__eq__ = _ops.equal
Array.__ne__ = _ops.not_equal
Array.__lt__ = _ops.less
Array.__le__ = _ops.less_equal
Array.__gt__ = _ops.greater
Array.__ge__ = _ops.greater_equal
Array.__neg__ = _ops.negative
Array.__pos__ = lambda self: self
Array.__abs__ = _ops.absolute
Array.__invert__ = lambda self: (
    _ops.logical_not(self) if self.dtype.kind == "b" else _ops.bitwise_not(self)
)
Array.__array_ufunc__ = None  # NumPy operators defer to ours (ndarray + Array -> Array)
Array.__hash__ = None


def _method(fn, name):
    fn.__name__ = fn.__qualname__ = name
    return fn


def _shape_args(args, who):
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean the shape ``(2, 3)``."""
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        return args[0]
    return args


def _reshape_method(self, *shape, order="C"):
    return _shape.reshape(self, _shape_args(shape, "reshape"), order)


def _transpose_method(self, *axes):
    if not axes or (len(axes) == 1 and axes[0] is None):
        return _shape.transpose(self)
    return _shape.transpose(self, _shape_args(axes, "transpose"))


def _astype(self, dtype, copy=False, device=None):
    return _ops.convert_element_type(self, dtype)


def _clip(self, min=None, max=None):
    return clip(self, min, max)


def clip(a, min=None, max=None):
    """``a`` limited to ``[min, max]`` (either bound may be ``None``)."""
    if min is not None:
        a = _ops.maximum(min, a)
    if max is not None:
        a = _ops.minimum(max, a)
    return a


def _round_method(self, decimals=0, out=None):
    if out is not None:
        raise NotImplementedError("The 'out' argument to Array.round is not supported.")
    return round_(self, decimals)


def round_(a, decimals=0):
    """Round half to even, to ``decimals`` places."""
    kind = a.dtype.kind
    if kind in "biu":
        if decimals < 0:
            raise NotImplementedError("round: negative decimals for integers is not supported.")
        return a
    if kind == "c":
        raise NotImplementedError("round of complex arrays is not supported yet.")
    if decimals == 0:
        return _ops._round(a)
    factor = a.dtype.type(10.0**decimals)
    return _ops.true_divide(_ops._round(_ops.multiply(a, factor)), factor)


def _real_only(self, who):
    if self.dtype.kind == "c":
        raise NotImplementedError(f"Array.{who} of complex arrays is not supported yet.")


def _conj(self):
    _real_only(self, "conj")
    return self


def _real(self):
    _real_only(self, "real")
    return self


def _imag(self):
    _real_only(self, "imag")
    return _creation.zeros_like(self)


def _mT(self):  # noqa: N802 - the Array API name
    if self.ndim < 2:
        raise ValueError(
            f"x must be at least two-dimensional for matrix_transpose; got {self.ndim}"
        )
    return _shape.swapaxes(self, -1, -2)


_METHODS = {
    "sum": _reductions.sum,
    "prod": _reductions.prod,
    "mean": _reductions.mean,
    "max": _reductions.max,
    "min": _reductions.min,
    "argmax": _reductions.argmax,
    "argmin": _reductions.argmin,
    "var": _reductions.var,
    "std": _reductions.std,
    "all": _reductions.all,
    "any": _reductions.any,
    "cumsum": _reductions.cumsum,
    "cumprod": _reductions.cumprod,
    "ravel": _shape.ravel,
    "flatten": _shape.ravel,
    "squeeze": _shape.squeeze,
    "swapaxes": _shape.swapaxes,
    "repeat": _shape.repeat,
    "dot": _linalg.dot,
    "trace": _linalg.trace,
    "reshape": _reshape_method,
    "transpose": _transpose_method,
    "astype": _astype,
    "clip": _clip,
    "round": _round_method,
    "conj": _conj,
    "conjugate": _conj,
    "__matmul__": _linalg.matmul,
    "__rmatmul__": _swap(_linalg.matmul),
}
for _name, _fn in _METHODS.items():
    setattr(Array, _name, _fn)

Array.T = property(lambda self: _shape.transpose(self))
Array.mT = property(_mT)
Array.real = property(_real)
Array.imag = property(_imag)
Array.itemsize = property(lambda self: self.dtype.itemsize)
Array.nbytes = property(lambda self: self.size * self.dtype.itemsize)
