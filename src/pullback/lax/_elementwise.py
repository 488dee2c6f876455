"""``lax`` elementwise operations: arithmetic, comparisons, bitwise, math functions, select,
clamp and dtype conversion."""

from __future__ import annotations

import enum
import operator

import numpy as np

from pullback import _dtypes, _ops
from pullback._ops._base import dtype_of, weak_of
from pullback.lax._common import _arr, _check_kinds, _dtype, _same_dtypes
from pullback.tree_util import tree_map

__all__ = [
    "RoundingMethod",
    "abs",
    "acos",
    "acosh",
    "add",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "cbrt",
    "ceil",
    "clamp",
    "convert_element_type",
    "cos",
    "cosh",
    "div",
    "eq",
    "exp",
    "exp2",
    "expm1",
    "floor",
    "ge",
    "gt",
    "integer_pow",
    "is_finite",
    "le",
    "log",
    "log1p",
    "logistic",
    "lt",
    "max",
    "min",
    "mul",
    "ne",
    "neg",
    "nextafter",
    "pow",
    "reciprocal",
    "rem",
    "round",
    "rsqrt",
    "select",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "stop_gradient",
    "sub",
    "tan",
    "tanh",
]


_FLOATING = ("fc", "floating, complexfloating")


def _binary(name, fn, tip, doc):
    def op(x, y):
        _same_dtypes(name, (x, y), tip)
        sx, sy = np.shape(x), np.shape(y)
        if sx != sy:
            try:
                np.broadcast_shapes(sx, sy)
            except ValueError:
                raise TypeError(
                    f"{name} got incompatible shapes for broadcasting: {sx}, {sy}."
                ) from None
        return fn(_arr(x), y)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


add = _binary(
    "add",
    _ops.add,
    "add",
    """Elementwise ``x + y`` (same dtypes).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.add(jnp.float32(1.0), 2.0)
    Array(3., dtype=float32)
    """,
)
sub = _binary(
    "sub",
    _ops.subtract,
    "subtract",
    """Elementwise ``x - y`` (same dtypes).

    >>> from pullback import lax
    >>> lax.sub(5, 2)
    Array(3, dtype=int32, weak_type=True)
    """,
)
mul = _binary(
    "mul",
    _ops.multiply,
    "multiply",
    """Elementwise ``x * y`` (same dtypes).

    >>> from pullback import lax
    >>> lax.mul(2.0, 3.0)
    Array(6., dtype=float32, weak_type=True)
    """,
)
max = _binary(
    "max",
    _ops.maximum,
    "maximum",
    """Elementwise maximum (same dtypes).

    >>> from pullback import lax
    >>> lax.max(1.0, 2.0)
    Array(2., dtype=float32, weak_type=True)
    """,
)
min = _binary(
    "min",
    _ops.minimum,
    "minimum",
    """Elementwise minimum (same dtypes).

    >>> from pullback import lax
    >>> lax.min(1.0, 2.0)
    Array(1., dtype=float32, weak_type=True)
    """,
)
atan2 = _binary(
    "atan2",
    _ops.arctan2,
    "arctan2",
    """Elementwise ``atan2(x, y)`` (same inexact dtypes).

    >>> from pullback import lax
    >>> lax.atan2(0.0, 1.0)
    Array(0., dtype=float32, weak_type=True)
    """,
)
nextafter = _binary(
    "nextafter",
    _ops.nextafter,
    "nextafter",
    """The next representable value after ``x`` towards ``y``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.nextafter(jnp.float32(1.0), jnp.float32(2.0)) > 1.0
    Array(True, dtype=bool)
    """,
)
eq = _binary(
    "eq",
    _ops.equal,
    "equal",
    """Elementwise ``x == y`` (same dtypes).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.eq(jnp.float32(1.0), 1.0)
    Array(True, dtype=bool)
    """,
)
ne = _binary(
    "ne",
    _ops.not_equal,
    "not_equal",
    """Elementwise ``x != y`` (same dtypes).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.ne(jnp.int32(1), 2)
    Array(True, dtype=bool)
    """,
)
lt = _binary(
    "lt",
    _ops.less,
    "less",
    """Elementwise ``x < y`` (same dtypes).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.lt(jnp.float32(1.0), 2.0)
    Array(True, dtype=bool)
    """,
)
le = _binary(
    "le",
    _ops.less_equal,
    "less_equal",
    """Elementwise ``x <= y`` (same dtypes).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.le(jnp.float32(2.0), 2.0)
    Array(True, dtype=bool)
    """,
)
gt = _binary(
    "gt",
    _ops.greater,
    "greater",
    """Elementwise ``x > y`` (same dtypes).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.gt(jnp.float32(1.0), 2.0)
    Array(False, dtype=bool)
    """,
)
ge = _binary(
    "ge",
    _ops.greater_equal,
    "greater_equal",
    """Elementwise ``x >= y`` (same dtypes).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.ge(jnp.float32(1.0), 2.0)
    Array(False, dtype=bool)
    """,
)
bitwise_and = _binary(
    "bitwise_and",
    _ops.bitwise_and,
    "bitwise_and",
    """Elementwise AND of booleans or integers (same dtypes).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.bitwise_and(jnp.int32(3), 1)
    Array(1, dtype=int32)
    """,
)
bitwise_or = _binary(
    "bitwise_or",
    _ops.bitwise_or,
    "bitwise_or",
    """Elementwise OR of booleans or integers (same dtypes).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.bitwise_or(jnp.int32(2), 1)
    Array(3, dtype=int32)
    """,
)
bitwise_xor = _binary(
    "bitwise_xor",
    _ops.bitwise_xor,
    "bitwise_xor",
    """Elementwise XOR of booleans or integers (same dtypes).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.bitwise_xor(jnp.int32(3), 1)
    Array(2, dtype=int32)
    """,
)


def _const_like(value, x):
    return _ops.convert_element_type(value, dtype_of(x), True)


def div(x, y):
    """Elementwise division; integer division rounds towards zero (as C).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.div(jnp.int32(-7), 2)
    Array(-3, dtype=int32)
    >>> lax.div(7.0, 2.0)
    Array(3.5, dtype=float32, weak_type=True)
    """
    dtype = _same_dtypes("div", (x, y), "divide")
    x = _arr(x)
    if dtype.kind in "fc":
        return _ops.true_divide(x, y)
    q = _ops.floor_divide(x, y)
    if dtype.kind == "u":
        return q
    inexact = _ops.not_equal(_ops.remainder(x, y), _const_like(0, q))
    signs_differ = _ops.not_equal(_ops.less(x, _const_like(0, x)), _ops.less(y, 0))
    return _ops.where(inexact & signs_differ, q + _const_like(1, q), q)


def rem(x, y):
    """Remainder with the sign of the dividend (C's ``fmod``).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.rem(jnp.int32(7), jnp.int32(-2))
    Array(1, dtype=int32)
    >>> lax.rem(-7.0, 2.0)
    Array(-1., dtype=float32, weak_type=True)
    """
    _same_dtypes("rem", (x, y), "remainder")
    return _ops.fmod(_arr(x), y)


def pow(x, y):
    """``x ** y`` for inexact ``x`` and an integer or same-dtype ``y``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.pow(jnp.float32(2.0), jnp.int32(3))
    Array(8., dtype=float32)
    """
    dx, dy = _dtype(x), _dtype(y)
    if dx.kind not in "fc":
        raise TypeError(
            f"pow does not accept dtype {dx.name} at position 0. Accepted dtypes at position 0 "
            f"are subtypes of floating, complexfloating."
        )
    if dy.kind not in "iufc" or (dy.kind in "fc" and dy != dx):
        raise TypeError(
            f"the first argument to pow must have an inexact dtype (float or complex), and the "
            f"second argument must have an inexact or integer dtype, and two inexact dtypes "
            f"must match, but got {dx.name} and {dy.name} respectively."
        )
    x = _arr(x)
    if dy.kind in "iu" and type(y) is not int:
        y = _ops.convert_element_type(y, dx, weak_of(y))
    return _ops._power(x, y)


def integer_pow(x, y):
    """``x ** y`` for a static Python int ``y``.

    >>> from pullback import lax
    >>> lax.integer_pow(2.0, 3)
    Array(8., dtype=float32, weak_type=True)
    """
    y = operator.index(y)
    x = _arr(x)
    if dtype_of(x).kind in "iu" and y < 0:
        raise TypeError(
            f"Integers cannot be raised to negative powers, got "
            f"integer_pow({_dtypes.type_str(x.shape, x.dtype)}, {y})"
        )
    return _ops.integer_pow(x, y)


def _unary(name, fn, kinds, accepted, doc):
    def op(x):
        _check_kinds(name, x, kinds, accepted)
        return fn(_arr(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _float_unary(name, fn, example, result):
    doc = f"""Elementwise ``{name}`` of a floating-point operand.

    >>> from pullback import lax
    >>> lax.{name}({example})
    {result}
    """
    return _unary(name, fn, *_FLOATING, doc)


sin = _float_unary("sin", _ops.sin, "0.0", "Array(0., dtype=float32, weak_type=True)")
cos = _float_unary("cos", _ops.cos, "0.0", "Array(1., dtype=float32, weak_type=True)")
tan = _float_unary("tan", _ops.tan, "0.0", "Array(0., dtype=float32, weak_type=True)")
asin = _float_unary("asin", _ops.arcsin, "0.0", "Array(0., dtype=float32, weak_type=True)")
acos = _float_unary("acos", _ops.arccos, "1.0", "Array(0., dtype=float32, weak_type=True)")
atan = _float_unary("atan", _ops.arctan, "0.0", "Array(0., dtype=float32, weak_type=True)")
sinh = _float_unary("sinh", _ops.sinh, "0.0", "Array(0., dtype=float32, weak_type=True)")
cosh = _float_unary("cosh", _ops.cosh, "0.0", "Array(1., dtype=float32, weak_type=True)")
tanh = _float_unary("tanh", _ops.tanh, "0.0", "Array(0., dtype=float32, weak_type=True)")
asinh = _float_unary("asinh", _ops.arcsinh, "0.0", "Array(0., dtype=float32, weak_type=True)")
acosh = _float_unary("acosh", _ops.arccosh, "1.0", "Array(0., dtype=float32, weak_type=True)")
atanh = _float_unary("atanh", _ops.arctanh, "0.0", "Array(0., dtype=float32, weak_type=True)")
exp = _float_unary("exp", _ops.exp, "0.0", "Array(1., dtype=float32, weak_type=True)")
exp2 = _float_unary("exp2", _ops.exp2, "1.0", "Array(2., dtype=float32, weak_type=True)")
expm1 = _float_unary("expm1", _ops.expm1, "0.0", "Array(0., dtype=float32, weak_type=True)")
log = _float_unary("log", _ops.log, "1.0", "Array(0., dtype=float32, weak_type=True)")
log1p = _float_unary("log1p", _ops.log1p, "0.0", "Array(0., dtype=float32, weak_type=True)")
sqrt = _float_unary("sqrt", _ops.sqrt, "4.0", "Array(2., dtype=float32, weak_type=True)")
rsqrt = _float_unary("rsqrt", _ops.rsqrt, "4.0", "Array(0.5, dtype=float32, weak_type=True)")
cbrt = _float_unary("cbrt", _ops.cbrt, "8.0", "Array(2., dtype=float32, weak_type=True)")
logistic = _float_unary(
    "logistic", _ops.logistic, "0.0", "Array(0.5, dtype=float32, weak_type=True)"
)
floor = _unary(
    "floor",
    _ops.floor,
    "f",
    "floating",
    """Elementwise floor of a floating-point operand.

    >>> from pullback import lax
    >>> lax.floor(-1.5)
    Array(-2., dtype=float32, weak_type=True)
    """,
)
ceil = _unary(
    "ceil",
    _ops.ceil,
    "f",
    "floating",
    """Elementwise ceiling of a floating-point operand.

    >>> from pullback import lax
    >>> lax.ceil(-1.5)
    Array(-1., dtype=float32, weak_type=True)
    """,
)
is_finite = _unary(
    "is_finite",
    _ops.isfinite,
    "f",
    "floating",
    """Elementwise test for finite values.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.is_finite(jnp.float32(1.0))
    Array(True, dtype=bool)
    """,
)
neg = _unary(
    "neg",
    _ops.negative,
    "iufc",
    "integer, floating, complexfloating",
    """Elementwise negation.

    >>> from pullback import lax
    >>> lax.neg(1)
    Array(-1, dtype=int32, weak_type=True)
    """,
)
abs = _unary(
    "abs",
    _ops.absolute,
    "ifc",
    "floating, complexfloating, signedinteger",
    """Elementwise absolute value.

    >>> from pullback import lax
    >>> lax.abs(-2.0)
    Array(2., dtype=float32, weak_type=True)
    """,
)
sign = _unary(
    "sign",
    _ops.sign,
    "iufc",
    "integer, floating, complexfloating",
    """Elementwise sign: -1, 0 or 1.

    >>> from pullback import lax
    >>> lax.sign(-2)
    Array(-1, dtype=int32, weak_type=True)
    """,
)
square = _unary(
    "square",
    _ops.square,
    "iufc",
    "integer, floating, complexfloating",
    """Elementwise ``x * x``.

    >>> from pullback import lax
    >>> lax.square(3)
    Array(9, dtype=int32, weak_type=True)
    """,
)
bitwise_not = _unary(
    "bitwise_not",
    lambda x: _ops.logical_not(x) if dtype_of(x).kind == "b" else _ops.bitwise_not(x),
    "biu",
    "bool, integer",
    """Elementwise NOT of booleans or integers.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.bitwise_not(jnp.array([True, False]))
    Array([False,  True], dtype=bool)
    """,
)


def reciprocal(x):
    """Elementwise ``1 / x``.

    >>> from pullback import lax
    >>> lax.reciprocal(4.0)
    Array(0.25, dtype=float32, weak_type=True)
    """
    return integer_pow(x, -1)


class RoundingMethod(enum.IntEnum):
    """How ``round`` breaks ties: away from zero (JAX's default) or to the nearest even."""

    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


def round(x, rounding_method=RoundingMethod.AWAY_FROM_ZERO):
    """Round to the nearest integer; ties away from zero unless ``TO_NEAREST_EVEN``.

    >>> from pullback import lax
    >>> lax.round(2.5)
    Array(3., dtype=float32, weak_type=True)
    >>> lax.round(2.5, lax.RoundingMethod.TO_NEAREST_EVEN)
    Array(2., dtype=float32, weak_type=True)
    """
    _check_kinds("round", x, "f", "floating")
    x = _arr(x)
    if RoundingMethod(rounding_method) == RoundingMethod.TO_NEAREST_EVEN:
        return _ops._round(x)
    t = _ops.trunc(x)
    half = _ops.greater_equal(_ops.absolute(x - t), _const_like(0.5, x))
    return _ops.where(half, t + _ops.sign(x), t)


def select(pred, on_true, on_false):
    """``on_true`` where ``pred`` else ``on_false`` (same shapes and dtypes; no broadcasting).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.select(jnp.array([True, False]), jnp.ones(2), jnp.zeros(2))
    Array([1., 0.], dtype=float32)
    """
    _same_dtypes("select", (on_false, on_true), "where")
    shapes = [np.shape(on_false), np.shape(on_true)]
    if shapes[0] != shapes[1]:
        raise TypeError(f"select cases must have the same shapes, got {shapes}.")
    pshape = np.shape(pred)
    if pshape not in ((), shapes[0]):
        raise TypeError(
            f"select `which` must be scalar or have the same shape as cases, got `which` shape "
            f"{pshape} but case shape {shapes[0]}."
        )
    if dtype_of(pred).kind != "b":
        if dtype_of(pred).kind not in "iu":
            raise TypeError(f"select `which` must be boolean or integer type, got {pred!r}")
        pred = _ops.not_equal(_arr(pred), 0)
    return _ops.where(pred, _arr(on_true), on_false)


def clamp(min, x, max):
    """``x`` limited to ``[min, max]``; ``min``/``max`` are scalars or of ``x``'s shape.

    At the bounds the derivative with respect to ``x`` is zero, as in JAX.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.clamp(0.0, jnp.array([-1.0, 0.5, 2.0]), 1.0)
    Array([0. , 0.5, 1. ], dtype=float32)
    """
    _same_dtypes("clamp", (min, x, max))
    xs = np.shape(x)
    for name, b in (("min", min), ("max", max)):
        bs = np.shape(b)
        if bs not in ((), xs):
            raise TypeError(
                f"clamp requires {name}.shape == operand.shape or {name}.shape == (), got "
                f"{name}.shape={bs}, operand.shape={xs}."
            )
    x = _arr(x)
    return _ops.clamp(_arr(min), x, _arr(max))


def convert_element_type(operand, new_dtype):
    """``operand`` converted to ``new_dtype`` (never weakly typed).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.convert_element_type(1.5, jnp.int32)
    Array(1, dtype=int32)
    """
    return _ops.convert_element_type(_arr(operand), _dtypes.canonicalize_dtype(new_dtype))


def stop_gradient(x):
    """``x`` (any pytree) as a constant: no derivative flows through it.

    >>> from pullback import lax
    >>> lax.stop_gradient(1.0)
    Array(1., dtype=float32, weak_type=True)
    """
    return tree_map(_ops.stop_gradient, x)
