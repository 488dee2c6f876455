"""Operators and methods of ``Array`` (and so of every tracer), set from the numpy layer."""

from __future__ import annotations

from pullback import _ops
from pullback._core import Array
from pullback.numpy import _creation, _reductions


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
    "pow": _ops._power,
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

Array.sum = _reductions.sum
Array.mean = _reductions.mean
Array.astype = lambda self, dtype: _ops.convert_element_type(self, dtype)
Array.reshape = lambda self, *shape, order="C": _reshape_method(self, shape)


def _reshape_method(self, shape):
    from_args = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
    return _creation_reshape(self, from_args)


def _creation_reshape(x, shape):
    shape = tuple(shape)
    if -1 in shape:
        known = 1
        for n in shape:
            if n != -1:
                known *= n
        shape = tuple(x.size // known if n == -1 else n for n in shape)
    return _ops.reshape(x, shape)


del _creation
