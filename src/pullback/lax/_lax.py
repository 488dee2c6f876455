"""``pullback.lax``: JAX's ``lax`` operations over pullback's primitives.

Unlike ``pullback.numpy``, ``lax`` does no implicit type promotion: binary operations require
their operands to have the same dtype (a Python scalar counts as the default dtype of its kind,
weakly typed, as in JAX), and raise ``TypeError`` otherwise. Shapes broadcast as in NumPy.
"""

from __future__ import annotations

import enum
import operator
import string

import numpy as np

from pullback import _dtypes, _ops
from pullback._ops import indexing as _ix
from pullback._ops._base import dtype_of, weak_of
from pullback.numpy._creation import asarray
from pullback.tree_util import tree_map

__all__ = [
    "RoundingMethod",
    "abs",
    "acos",
    "acosh",
    "add",
    "argmax",
    "argmin",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "broadcast",
    "broadcast_in_dim",
    "cbrt",
    "ceil",
    "clamp",
    "concatenate",
    "convert_element_type",
    "cos",
    "cosh",
    "cumprod",
    "cumsum",
    "div",
    "dot",
    "dot_general",
    "dynamic_index_in_dim",
    "dynamic_slice",
    "dynamic_slice_in_dim",
    "dynamic_update_slice",
    "dynamic_update_slice_in_dim",
    "eq",
    "exp",
    "exp2",
    "expand_dims",
    "expm1",
    "floor",
    "ge",
    "gt",
    "index_in_dim",
    "integer_pow",
    "iota",
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
    "pad",
    "pow",
    "reciprocal",
    "reduce_and",
    "reduce_max",
    "reduce_min",
    "reduce_or",
    "reduce_prod",
    "reduce_sum",
    "rem",
    "reshape",
    "rev",
    "round",
    "rsqrt",
    "select",
    "sign",
    "sin",
    "sinh",
    "slice",
    "slice_in_dim",
    "sqrt",
    "square",
    "squeeze",
    "stop_gradient",
    "sub",
    "tan",
    "tanh",
    "transpose",
]

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


_FLOATING = ("fc", "floating, complexfloating")


# -- elementwise -------------------------------------------------------------------------------


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


# -- shapes ------------------------------------------------------------------------------------


def _axes(dims, ndim, who):
    out = []
    for d in dims:
        d = operator.index(d)
        if not -ndim <= d < ndim:
            raise ValueError(f"{who}: axis {d} is out of bounds for an array of rank {ndim}")
        out.append(d % ndim)
    return tuple(out)


def reshape(operand, new_sizes, dimensions=None):
    """``operand`` (transposed by ``dimensions`` first, if given) with shape ``new_sizes``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reshape(jnp.arange(6.0).reshape(2, 3), (3, 2), dimensions=(1, 0))
    Array([[0., 3.],
           [1., 4.],
           [2., 5.]], dtype=float32)
    """
    x = _arr(operand)
    new_sizes = tuple(operator.index(n) for n in new_sizes)
    size = int(np.prod(new_sizes, dtype=np.int64))
    if size != x.size:
        raise TypeError(
            f"reshape total size must be unchanged, got new_sizes {new_sizes} (of total size "
            f"{size}) for shape {tuple(x.shape)} (of total size {x.size})."
        )
    if dimensions is not None:
        x = _ops.transpose(x, _axes(dimensions, x.ndim, "reshape"))
    return _ops.reshape(x, new_sizes)


def broadcast_in_dim(operand, shape, broadcast_dimensions):
    """``operand`` broadcast to ``shape``; its axis ``i`` becomes ``broadcast_dimensions[i]``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.broadcast_in_dim(jnp.array([1.0, 2.0]), (2, 3), (0,))
    Array([[1., 1., 1.],
           [2., 2., 2.]], dtype=float32)
    """
    x = _arr(operand)
    shape = tuple(operator.index(n) for n in shape)
    dims = tuple(operator.index(d) for d in broadcast_dimensions)
    if len(dims) != x.ndim or list(dims) != sorted(set(dims)) or any(d >= len(shape) for d in dims):
        raise TypeError(
            f"broadcast_in_dim broadcast_dimensions must have length equal to operand ndim and "
            f"be strictly increasing and in range, got broadcast_dimensions {dims} for operand "
            f"ndim {x.ndim} and shape {shape}."
        )
    expanded = [1] * len(shape)
    for i, d in enumerate(dims):
        n = x.shape[i]
        if n not in (1, shape[d]):
            raise TypeError(
                f"broadcast_in_dim operand dimension sizes must either be 1, or be equal to "
                f"their corresponding dimensions in the target broadcast shape; got operand of "
                f"shape {tuple(x.shape)}, target broadcast shape {shape}, broadcast_dimensions "
                f"{dims}."
            )
        expanded[d] = n
    return _ops.broadcast_to(_ops.reshape(x, tuple(expanded)), shape)


def broadcast(operand, sizes):
    """``operand`` with new leading dimensions ``sizes``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.broadcast(jnp.array([1.0, 2.0]), (2,))
    Array([[1., 2.],
           [1., 2.]], dtype=float32)
    """
    x = _arr(operand)
    sizes = tuple(sizes)
    dims = tuple(range(len(sizes), len(sizes) + x.ndim))
    return broadcast_in_dim(x, sizes + tuple(x.shape), dims)


def transpose(operand, permutation):
    """Permute the axes of ``operand``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.transpose(jnp.zeros((2, 3)), (1, 0)).shape
    (3, 2)
    """
    x = _arr(operand)
    perm = tuple(operator.index(p) for p in permutation)
    if sorted(perm) != list(range(x.ndim)):
        raise TypeError(
            f"transpose permutation isn't a permutation of operand dimensions, got permutation "
            f"{perm} for operand shape {tuple(x.shape)}."
        )
    return _ops.transpose(x, perm)


def squeeze(array, dimensions):
    """``array`` without its size-1 axes ``dimensions``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.squeeze(jnp.ones((1, 3, 1)), (0, 2)).shape
    (3,)
    """
    x = _arr(array)
    dims = tuple(sorted(set(_axes(dimensions, x.ndim, "squeeze"))))
    if any(x.shape[d] != 1 for d in dims):
        raise ValueError(
            f"cannot select an axis to squeeze out which has size not equal to one, got "
            f"shape={tuple(x.shape)} and dimensions={tuple(dimensions)}"
        )
    return _ops.squeeze(x, dims)


def expand_dims(array, dimensions):
    """``array`` with size-1 axes inserted at ``dimensions`` (of the result).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.expand_dims(jnp.ones(3), (0, 2)).shape
    (1, 3, 1)
    """
    x = _arr(array)
    ndim = x.ndim + len(dimensions)
    return _ops.expand_dims(x, tuple(sorted(_axes(dimensions, ndim, "expand_dims"))))


def rev(operand, dimensions):
    """``operand`` reversed along ``dimensions``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.rev(jnp.array([1.0, 2.0, 3.0]), (0,))
    Array([3., 2., 1.], dtype=float32)
    """
    x = _arr(operand)
    return _ops.rev(x, tuple(sorted(set(_axes(dimensions, x.ndim, "rev")))))


def concatenate(operands, dimension):
    """Join arrays of one dtype along ``dimension``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.concatenate([jnp.ones(2), jnp.zeros(1)], 0)
    Array([1., 1., 0.], dtype=float32)
    """
    operands = [_arr(x) for x in operands]
    if not operands:
        raise TypeError("concatenate requires a non-empty sequence of operands")
    _same_dtypes("concatenate", operands, "concatenate")
    (dimension,) = _axes((dimension,), operands[0].ndim, "concatenate")
    return _ops.concatenate(operands, dimension)


def pad(operand, padding_value, padding_config):
    """Pad ``operand`` with the scalar ``padding_value``; ``padding_config`` holds
    ``(low, high, interior)`` per dimension (negative ``low``/``high`` crop).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.pad(jnp.array([1.0, 2.0]), 0.0, [(1, 2, 1)])
    Array([0., 1., 0., 2., 0., 0.], dtype=float32)
    """
    x = _arr(operand)
    _same_dtypes("pad", (x, padding_value))
    config = [tuple(operator.index(v) for v in c) for c in padding_config]
    grown = _ops.pad(
        x,
        _arr(padding_value),
        tuple((lo if lo > 0 else 0, hi if hi > 0 else 0, i) for lo, hi, i in config),
    )
    if all(lo >= 0 and hi >= 0 for lo, hi, _ in config):
        return grown
    starts = [-lo if lo < 0 else 0 for lo, _, _ in config]
    limits = [n + hi if hi < 0 else n for n, (_, hi, _) in zip(grown.shape, config, strict=True)]
    return _ops.static_slice(grown, starts, limits)


# -- slicing -----------------------------------------------------------------------------------


def slice(operand, start_indices, limit_indices, strides=None):
    """``operand[start:limit:stride]`` in every dimension (static, in-bounds indices).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.slice(jnp.arange(10.0), (1,), (8,), (3,))
    Array([1., 4., 7.], dtype=float32)
    """
    x = _arr(operand)
    starts = tuple(operator.index(i) for i in start_indices)
    limits = tuple(operator.index(i) for i in limit_indices)
    shape = tuple(x.shape)
    if len(starts) != x.ndim or len(limits) != x.ndim:
        raise TypeError(
            f"slice start_indices and limit_indices must have length equal to the number of "
            f"dimensions of the operand, got start_indices {starts}, limit_indices {limits} "
            f"and operand shape {shape}."
        )
    if any(s < 0 for s in starts):
        raise TypeError(f"slice start_indices must be greater than or equal to zero, got {starts}.")
    if any(lim > n for lim, n in zip(limits, shape, strict=True)):
        raise TypeError(
            f"slice limit_indices must be less than or equal to operand shape, got "
            f"limit_indices {limits} for operand shape {shape}."
        )
    if any(s > lim for s, lim in zip(starts, limits, strict=True)):
        raise TypeError(
            f"slice limit_indices must be greater than or equal to start_indices, got "
            f"start_indices {starts} and limit_indices {limits}."
        )
    if strides is not None:
        strides = tuple(operator.index(s) for s in strides)
        if len(strides) != x.ndim or any(s <= 0 for s in strides):
            raise TypeError(f"slice strides must be positive, got {strides}")
    return _ops.static_slice(x, starts, limits, strides)


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """``operand[start:limit:stride]`` along ``axis`` (negative indices count from the end).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.slice_in_dim(jnp.arange(6.0).reshape(2, 3), 1, 3, axis=1)
    Array([[1., 2.],
           [4., 5.]], dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "slice_in_dim")
    n = x.shape[axis]
    start = 0 if start_index is None else operator.index(start_index)
    limit = n if limit_index is None else operator.index(limit_index)
    start = start + n if start < 0 else start
    limit = limit + n if limit < 0 else limit
    starts = [0] * x.ndim
    limits = list(x.shape)
    strides = [1] * x.ndim
    starts[axis], limits[axis], strides[axis] = start, limit, operator.index(stride)
    return slice(x, starts, limits, strides)


def index_in_dim(operand, index, axis=0, keepdims=True):
    """Entry ``index`` (static; negative counts from the end) along ``axis``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.index_in_dim(jnp.arange(6.0).reshape(2, 3), -1, 1, keepdims=False)
    Array([2., 5.], dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "index_in_dim")
    n = x.shape[axis]
    index = operator.index(index)
    i = index + n if index < 0 else index
    if not 0 <= i < n:
        raise IndexError(f"index {index} is out of bounds for axis {axis} with size {n}")
    out = slice_in_dim(x, i, i + 1, 1, axis)
    return out if keepdims else _ops.squeeze(out, (axis,))


def _start_list(start_indices, ndim, who):
    if hasattr(start_indices, "shape") and len(start_indices.shape) == 1:
        starts = [start_indices[i] for i in range(start_indices.shape[0])]
    else:
        starts = list(start_indices)
    if len(starts) != ndim:
        raise TypeError(
            f"{who}: the number of start indices ({len(starts)}) must equal the rank of the "
            f"operand ({ndim})."
        )
    for s in starts:
        if dtype_of(s).kind not in "iu" or np.ndim(s) != 0:
            raise TypeError(f"{who}: start indices must be integer scalars, got {s!r}")
    return starts


def dynamic_slice(operand, start_indices, slice_sizes):
    """The block of ``slice_sizes`` at ``start_indices`` (which may be traced); starts are
    clamped so that the block lies inside ``operand``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.dynamic_slice(jnp.arange(5.0), (3,), (3,))
    Array([2., 3., 4.], dtype=float32)
    """
    x = _arr(operand)
    starts = _start_list(start_indices, x.ndim, "dynamic_slice")
    sizes = tuple(operator.index(k) for k in slice_sizes)
    if len(sizes) != x.ndim or any(k < 0 or k > n for k, n in zip(sizes, x.shape, strict=True)):
        raise TypeError(
            f"dynamic_slice slice_sizes must be non-negative and at most the operand shape, "
            f"got slice_sizes {sizes} for operand shape {tuple(x.shape)}."
        )
    return _ix.dynamic_slice(x, *starts, slice_sizes=sizes)


def dynamic_update_slice(operand, update, start_indices):
    """``operand`` with ``update`` written at ``start_indices`` (clamped to fit).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.dynamic_update_slice(jnp.zeros(5), jnp.ones(2), (4,))
    Array([0., 0., 0., 1., 1.], dtype=float32)
    """
    x = _arr(operand)
    update = _arr(update)
    _same_dtypes("dynamic_update_slice", (x, update))
    starts = _start_list(start_indices, x.ndim, "dynamic_update_slice")
    if update.ndim != x.ndim or any(k > n for k, n in zip(update.shape, x.shape, strict=True)):
        raise TypeError(
            f"dynamic_update_slice update shape must be smaller than operand shape, got update "
            f"shape {tuple(update.shape)} for operand shape {tuple(x.shape)}."
        )
    return _ix.dynamic_update_slice(x, update, *starts)


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0):
    """``dynamic_slice`` along one axis.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.dynamic_slice_in_dim(jnp.arange(5.0), 1, 2)
    Array([1., 2.], dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "dynamic_slice_in_dim")
    starts = [0] * x.ndim
    sizes = list(x.shape)
    starts[axis], sizes[axis] = start_index, slice_size
    return dynamic_slice(x, starts, sizes)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True):
    """Entry ``index`` (may be traced, clamped) along ``axis``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.dynamic_index_in_dim(jnp.arange(5.0), 9, keepdims=False)
    Array(4., dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "dynamic_index_in_dim")
    out = dynamic_slice_in_dim(x, index, 1, axis)
    return out if keepdims else _ops.squeeze(out, (axis,))


def dynamic_update_slice_in_dim(operand, update, start_index, axis):
    """``dynamic_update_slice`` along one axis.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.dynamic_update_slice_in_dim(jnp.zeros(4), jnp.ones(2), 1, 0)
    Array([0., 1., 1., 0.], dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "dynamic_update_slice_in_dim")
    starts = [0] * x.ndim
    starts[axis] = start_index
    return dynamic_update_slice(x, update, starts)


# -- reductions and cumulative operations -------------------------------------------------------


def _reduction(name, fn, doc):
    def op(operand, axes):
        x = _arr(operand)
        return fn(x, tuple(sorted(set(_axes(axes, x.ndim, name)))))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


reduce_sum = _reduction(
    "reduce_sum",
    _ops.reduce_sum,
    """Sum over ``axes``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reduce_sum(jnp.ones((2, 3)), (1,))
    Array([3., 3.], dtype=float32)
    """,
)
reduce_max = _reduction(
    "reduce_max",
    _ops.reduce_max,
    """Maximum over ``axes``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reduce_max(jnp.array([[1.0, 5.0], [3.0, 2.0]]), (0,))
    Array([3., 5.], dtype=float32)
    """,
)
reduce_min = _reduction(
    "reduce_min",
    _ops.reduce_min,
    """Minimum over ``axes``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reduce_min(jnp.array([[1.0, 5.0], [3.0, 2.0]]), (0,))
    Array([1., 2.], dtype=float32)
    """,
)
reduce_prod = _reduction(
    "reduce_prod",
    _ops.reduce_prod,
    """Product over ``axes``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reduce_prod(jnp.array([2.0, 3.0]), (0,))
    Array(6., dtype=float32)
    """,
)
reduce_and = _reduction(
    "reduce_and",
    _ops.reduce_and,
    """Logical AND over ``axes`` of a boolean array.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reduce_and(jnp.array([True, False]), (0,))
    Array(False, dtype=bool)
    """,
)
reduce_or = _reduction(
    "reduce_or",
    _ops.reduce_or,
    """Logical OR over ``axes`` of a boolean array.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reduce_or(jnp.array([True, False]), (0,))
    Array(True, dtype=bool)
    """,
)


def argmax(operand, axis, index_dtype):
    """Index of the first maximum along ``axis``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.argmax(jnp.array([1.0, 3.0, 2.0]), 0, jnp.int32)
    Array(1, dtype=int32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "argmax")
    return _ops.argmax(x, axis, _dtypes.canonicalize_dtype(index_dtype))


def argmin(operand, axis, index_dtype):
    """Index of the first minimum along ``axis``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.argmin(jnp.array([1.0, 3.0, 0.0]), 0, jnp.int32)
    Array(2, dtype=int32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "argmin")
    return _ops.argmin(x, axis, _dtypes.canonicalize_dtype(index_dtype))


def cumsum(operand, axis=0, reverse=False):
    """Running sum along ``axis`` (from the end when ``reverse``).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.cumsum(jnp.arange(4.0), reverse=True)
    Array([6., 6., 5., 3.], dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "cumsum")
    return _ops.cumsum(x, axis, reverse)


def cumprod(operand, axis=0, reverse=False):
    """Running product along ``axis`` (from the end when ``reverse``).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.cumprod(jnp.array([1.0, 2.0, 3.0]))
    Array([1., 2., 6.], dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "cumprod")
    return _ops.cumprod(x, axis, reverse)


def iota(dtype, size):
    """``[0, 1, ..., size - 1]`` with ``dtype``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.iota(jnp.int32, 3)
    Array([0, 1, 2], dtype=int32)
    """
    return _ops.arange(0, operator.index(size), 1, _dtypes.canonicalize_dtype(dtype))


# -- products ----------------------------------------------------------------------------------


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """General tensor contraction: ``dimension_numbers = ((lhs_contract, rhs_contract),
    (lhs_batch, rhs_batch))``. The result has the batch axes, then the free axes of ``lhs``,
    then those of ``rhs``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> x = jnp.ones((2, 3, 4))
    >>> lax.dot_general(x, x, (((2,), (2,)), ((0,), (0,)))).shape
    (2, 3, 3)
    """
    lhs, rhs = _promoted_pair(lhs, rhs)
    (lc, rc), (lb, rb) = dimension_numbers
    lc, rc = _axes(lc, lhs.ndim, "dot_general"), _axes(rc, rhs.ndim, "dot_general")
    lb, rb = _axes(lb, lhs.ndim, "dot_general"), _axes(rb, rhs.ndim, "dot_general")
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise TypeError(
            f"dot_general requires equal numbers of lhs and rhs contracting and batch "
            f"dimensions, got {dimension_numbers}."
        )
    for a, b in list(zip(lc, rc)) + list(zip(lb, rb)):
        if lhs.shape[a] != rhs.shape[b]:
            raise TypeError(
                f"dot_general requires contracting and batch dimensions to have the same "
                f"sizes, got lhs shape {tuple(lhs.shape)}, rhs shape {tuple(rhs.shape)} and "
                f"dimension_numbers {dimension_numbers}."
            )
    letters = iter(string.ascii_letters)
    lsub = [next(letters) for _ in range(lhs.ndim)]
    rsub = [next(letters) for _ in range(rhs.ndim)]
    for a, b in list(zip(lc, rc)) + list(zip(lb, rb)):
        rsub[b] = lsub[a]
    out = [lsub[a] for a in lb]
    out += [lsub[i] for i in range(lhs.ndim) if i not in lc and i not in lb]
    out += [rsub[i] for i in range(rhs.ndim) if i not in rc and i not in rb]
    subscripts = f"{''.join(lsub)},{''.join(rsub)}->{''.join(out)}"
    result = _ops.einsum((lhs, rhs), subscripts)
    if preferred_element_type is not None:
        result = _ops.convert_element_type(
            result, _dtypes.canonicalize_dtype(preferred_element_type)
        )
    return result


def _promoted_pair(x, y):
    x, y = _arr(x), _arr(y)
    dtype = _dtypes.result_type(x, y)
    return _ops.convert_element_type(x, dtype), _ops.convert_element_type(y, dtype)


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """Vector/matrix product: contracts the last axis of ``lhs`` with the first of ``rhs``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.dot(jnp.ones(3), jnp.ones(3))
    Array(3., dtype=float32)
    """
    lhs, rhs = _arr(lhs), _arr(rhs)
    if not (1 <= lhs.ndim <= 2 and 1 <= rhs.ndim <= 2):
        raise TypeError(
            f"dot only supports rank 1 or 2 operands, got shapes {tuple(lhs.shape)} and "
            f"{tuple(rhs.shape)}; use dot_general for higher ranks."
        )
    dims = (((lhs.ndim - 1,), (0,)), ((), ()))
    return dot_general(lhs, rhs, dims, precision, preferred_element_type)
