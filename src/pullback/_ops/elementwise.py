"""Elementwise primitives: one line each, the derivative written once."""

from __future__ import annotations

import numpy as np

from pullback._core import EVAL, Array, Primitive, state
from pullback._ops._base import (
    Broadcasting,
    Linear,
    SameBdim,
    _promote_pair,
    binary,
    convert_element_type,
    dtype_of,
    pass_x,
    pass_y,
    unary,
    unbroadcast,
)

# -- unary ----------------------------------------------------------------------------------------
neg_p, negative = unary("neg", np.negative, vjp=lambda ct, ans, x: -ct, inexact=False)
sin_p, sin = unary("sin", np.sin, d=lambda x, ans: cos(x))
cos_p, cos = unary("cos", np.cos, d=lambda x, ans: -sin(x))
tan_p, tan = unary("tan", np.tan, d=lambda x, ans: 1 + ans * ans)
arcsin_p, arcsin = unary("asin", np.arcsin, d=lambda x, ans: rsqrt(1 - x * x))
arccos_p, arccos = unary("acos", np.arccos, d=lambda x, ans: -rsqrt(1 - x * x))
arctan_p, arctan = unary("atan", np.arctan, d=lambda x, ans: 1 / (1 + x * x))
sinh_p, sinh = unary("sinh", np.sinh, d=lambda x, ans: cosh(x))
cosh_p, cosh = unary("cosh", np.cosh, d=lambda x, ans: sinh(x))
tanh_p, tanh = unary("tanh", np.tanh, d=lambda x, ans: 1 - ans * ans)
arcsinh_p, arcsinh = unary("asinh", np.arcsinh, d=lambda x, ans: rsqrt(x * x + 1))
arccosh_p, arccosh = unary("acosh", np.arccosh, d=lambda x, ans: rsqrt(x * x - 1))
arctanh_p, arctanh = unary("atanh", np.arctanh, d=lambda x, ans: 1 / (1 - x * x))
exp_p, exp = unary("exp", np.exp, vjp=lambda ct, ans, x: ct * ans)
exp2_p, exp2 = unary("exp2", np.exp2, vjp=lambda ct, ans, x: ct * ans * np.log(2.0))
expm1_p, expm1 = unary("expm1", np.expm1, vjp=lambda ct, ans, x: ct * (ans + 1))
log_p, log = unary("log", np.log, vjp=lambda ct, ans, x: ct / x)
log2_p, log2 = unary("log2", np.log2, vjp=lambda ct, ans, x: ct / (x * np.log(2.0)))
log10_p, log10 = unary("log10", np.log10, vjp=lambda ct, ans, x: ct / (x * np.log(10.0)))
log1p_p, log1p = unary("log1p", np.log1p, vjp=lambda ct, ans, x: ct / (x + 1))
sqrt_p, sqrt = unary("sqrt", np.sqrt, vjp=lambda ct, ans, x: ct / (ans * 2))
rsqrt_p, rsqrt = unary(
    "rsqrt", lambda x: 1 / np.sqrt(x), vjp=lambda ct, ans, x: ct * ans / (x * -2)
)
cbrt_p, cbrt = unary("cbrt", np.cbrt, vjp=lambda ct, ans, x: ct / (ans * ans * 3))
square_p, square = unary("square", np.square, vjp=lambda ct, ans, x: ct * x * 2, inexact=False)
reciprocal_p, reciprocal = unary(
    "reciprocal", np.reciprocal, vjp=lambda ct, ans, x: -ct * ans * ans
)
abs_p, absolute = unary(
    # the derivative at 0 is taken as +1, as JAX does
    "abs",
    np.abs,
    vjp=lambda ct, ans, x: where(x >= 0, ct, -ct),
    inexact=False,
    kinds="iuf",
)
logistic_p, logistic = unary(
    "logistic",
    lambda x: (np.tanh(x * 0.5) + 1) * 0.5,
    vjp=lambda ct, ans, x: ct * ans * (1 - ans),
)

# not differentiable: zero derivative almost everywhere
sign_p, sign = unary("sign", np.sign, inexact=False, differentiable=False)
floor_p, floor = unary("floor", np.floor, differentiable=False, kinds="f")
ceil_p, ceil = unary("ceil", np.ceil, differentiable=False, kinds="f")
round_p, _round = unary("round", np.round, differentiable=False, kinds="f")
trunc_p, trunc = unary("trunc", np.trunc, differentiable=False, kinds="f")
isnan_p, isnan = unary("isnan", np.isnan, inexact=False, differentiable=False)
isinf_p, isinf = unary("isinf", np.isinf, inexact=False, differentiable=False)
isfinite_p, isfinite = unary("isfinite", np.isfinite, inexact=False, differentiable=False)
logical_not_p, logical_not = unary(
    "not", np.logical_not, inexact=False, differentiable=False, kinds="b"
)
bitwise_not_p, bitwise_not = unary(
    "bitwise_not", np.invert, inexact=False, differentiable=False, kinds="biu"
)


# -- binary ---------------------------------------------------------------------------------------
add_p, add = binary("add", np.add, vjp_x=pass_x, vjp_y=pass_y)
sub_p, subtract = binary(
    "sub", np.subtract, vjp_x=pass_x, vjp_y=lambda ct, ans, x, y: unbroadcast(-ct, y)
)


def _mul_vjp_x(ct, ans, x, y):
    g = ct * y
    return g if g.shape == x.shape else unbroadcast(g, x)


def _mul_vjp_y(ct, ans, x, y):
    g = ct * x
    return g if g.shape == y.shape else unbroadcast(g, y)


# the rules are dx = y and dy = x written out, which saves a call per product
mul_p, multiply = binary("mul", np.multiply, vjp_x=_mul_vjp_x, vjp_y=_mul_vjp_y)
div_p, true_divide = binary(
    "div",
    np.true_divide,
    vjp_x=lambda ct, ans, x, y: unbroadcast(ct / y, x),
    vjp_y=lambda ct, ans, x, y: unbroadcast(-ct * ans / y, y),
    inexact=True,
)
pow_p, _power = binary(
    "pow",
    np.power,
    dx=lambda x, y, ans: y * x ** (y - 1),
    dy=lambda x, y, ans: ans * log(where(x == 0, 1, x)),
)


def _integer_pow_impl(x, *, y):
    if y == 2:
        return x * x
    return np.power(x, y) if y >= 0 else np.power(np.reciprocal(x), -y)


def _integer_pow_vjp(ct, ans, x, *, y):
    if y == 0:
        return None
    return ct * y if y == 1 else ct * (integer_pow(x, y - 1) * y)


integer_pow_p = Primitive("integer_pow", _integer_pow_impl, vjp=(_integer_pow_vjp,))


def integer_pow(x, y):
    """``x ** y`` for a static Python int ``y`` (JAX's ``lax.integer_pow``)."""
    if y == 1:
        return x
    interp = state.interp
    if interp is EVAL and type(x) is Array:
        return Array(_integer_pow_impl(x._value, y=y), x._weak)
    return interp.process(integer_pow_p, (x,), {"y": y})


def power(x, y):
    """``x ** y``: integer exponents that are Python ints use ``integer_pow``, as in JAX."""
    if type(y) is int and dtype_of(x).kind in "fc":
        return integer_pow(x, y)
    return _power(x, y)


max_p, maximum = binary(
    "max",
    np.maximum,
    # ties share the cotangent equally, as JAX does
    dx=lambda x, y, ans: select_half(x > y, x == y, ans),
    dy=lambda x, y, ans: select_half(y > x, x == y, ans),
)
min_p, minimum = binary(
    "min",
    np.minimum,
    dx=lambda x, y, ans: select_half(x < y, x == y, ans),
    dy=lambda x, y, ans: select_half(y < x, x == y, ans),
)
atan2_p, arctan2 = binary(
    "atan2",
    np.arctan2,
    dx=lambda x, y, ans: y / (x * x + y * y),
    dy=lambda x, y, ans: -x / (x * x + y * y),
    inexact=True,
)
logaddexp_p, logaddexp = binary(
    "logaddexp",
    np.logaddexp,
    dx=lambda x, y, ans: exp(x - ans),
    dy=lambda x, y, ans: exp(y - ans),
    inexact=True,
)
rem_p, remainder = binary(
    "rem",
    np.remainder,
    dx=lambda x, y, ans: 1.0,
    dy=lambda x, y, ans: -floor_divide(x, y),
)
floor_divide_p, floor_divide = binary("floor_divide", np.floor_divide, differentiable=False)
# C-like remainder (sign of the dividend): JAX's ``lax.rem``, NumPy's ``fmod``
fmod_p, fmod = binary(
    "fmod",
    np.fmod,
    dx=lambda x, y, ans: 1.0,
    dy=lambda x, y, ans: -trunc(x / y),
)
nextafter_p, nextafter = binary("nextafter", np.nextafter, differentiable=False, kinds="f")

eq_p, equal = binary("eq", np.equal, differentiable=False)
ne_p, not_equal = binary("ne", np.not_equal, differentiable=False)
lt_p, less = binary("lt", np.less, differentiable=False)
le_p, less_equal = binary("le", np.less_equal, differentiable=False)
gt_p, greater = binary("gt", np.greater, differentiable=False)
ge_p, greater_equal = binary("ge", np.greater_equal, differentiable=False)
and_p, bitwise_and = binary("and", np.bitwise_and, differentiable=False, kinds="biu")
or_p, bitwise_or = binary("or", np.bitwise_or, differentiable=False, kinds="biu")
xor_p, bitwise_xor = binary("xor", np.bitwise_xor, differentiable=False, kinds="biu")
logical_and_p, logical_and = binary("logical_and", np.logical_and, differentiable=False)
logical_or_p, logical_or = binary("logical_or", np.logical_or, differentiable=False)
logical_xor_p, logical_xor = binary("logical_xor", np.logical_xor, differentiable=False)
shift_left_p, left_shift = binary("shift_left", np.left_shift, differentiable=False, kinds="iu")
shift_right_p, right_shift = binary("shift_right", np.right_shift, differentiable=False, kinds="iu")


def select_half(strict, tie, like):
    """1 where ``strict``, 0.5 where ``tie``, else 0, in the dtype of ``like``."""
    dtype = like.dtype
    return convert_element_type(strict, dtype) + convert_element_type(tie, dtype) * 0.5


# -- selection ------------------------------------------------------------------------------------


def _where_vjp_x(ct, ans, c, x, y):
    return unbroadcast(where(c, ct, zeros_like_raw(ct)), x)


def _where_vjp_y(ct, ans, c, x, y):
    return unbroadcast(where(c, zeros_like_raw(ct), ct), y)


def zeros_like_raw(x):
    """A zero scalar of ``x``'s dtype (broadcasts against ``x``)."""
    return x.dtype.type(0)


where_p = Primitive("select", np.where, vjp=(None, _where_vjp_x, _where_vjp_y), weak=(1, 2))


def where(condition, x, y):
    """Elementwise ``x`` where ``condition`` else ``y``, with broadcasting and promotion."""
    x, y, _, _ = _promote_pair(x, y, "where")
    if dtype_of(condition).kind != "b":
        condition = convert_element_type(condition, np.bool_)
    return state.interp.process(where_p, (condition, x, y), {})


# -- clamp: lax.clamp's derivative gives ties (x == lo or x == hi) a zero cotangent --------------


def _clamp_vjp_lo(ct, ans, lo, x, hi):
    return unbroadcast(where((lo > x) & (lo < hi), ct, zeros_like_raw(ct)), lo)


def _clamp_vjp_x(ct, ans, lo, x, hi):
    return unbroadcast(where((x > lo) & (x < hi), ct, zeros_like_raw(ct)), x)


def _clamp_vjp_hi(ct, ans, lo, x, hi):
    return unbroadcast(where(hi < x, ct, zeros_like_raw(ct)), hi)


clamp_p = Primitive(
    "clamp",
    lambda lo, x, hi: np.minimum(np.maximum(x, lo), hi),
    vjp=(_clamp_vjp_lo, _clamp_vjp_x, _clamp_vjp_hi),
)


def clamp(lo, x, hi):
    """``min(max(x, lo), hi)`` for operands of one dtype (lax semantics, no promotion)."""
    return state.interp.process(clamp_p, (lo, x, hi), {})


# -- where these primitives are linear (for linear_transpose) --------------------------------------

neg_p.transpose = Linear(0)
add_p.transpose = Linear(0, 1)
sub_p.transpose = Linear(0, 1)
mul_p.transpose = Linear(0, 1, separately=True)
div_p.transpose = Linear(0)
where_p.transpose = Linear(1, 2)


# -- batching rules (vmap) of the primitives declared outside the families -------------------------

integer_pow_p.batch = SameBdim(integer_pow_p)
where_p.batch = Broadcasting(where_p)
clamp_p.batch = Broadcasting(clamp_p)
