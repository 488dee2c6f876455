"""``pullback.scipy.special``: JAX's ``jax.scipy.special``.

The elementwise functions with no closed form (``erf``, ``gammaln``, ``digamma``, ``i0e``, ...)
are primitives of ``pullback._ops.special``; everything else is written here in pullback's
operations, as JAX writes it, so derivatives, batching and staging come with them. Custom
derivatives are JAX's: ``xlogy(0, 0)`` is 0 with ``xlogy``'s own rule, ``logit``, ``log_ndtr``
and ``zeta`` carry theirs, ``logsumexp`` differentiates to a softmax.

>>> import pullback.numpy as jnp
>>> from pullback.scipy import special
>>> special.erf(jnp.array([0.0, 0.5, jnp.inf]))
Array([0.       , 0.5204999, 1.       ], dtype=float32)
"""

from __future__ import annotations

import operator

import numpy as np

import pullback.numpy as jnp
from pullback import _dtypes, lax
from pullback._api import jvp
from pullback._core import Tracer
from pullback._ops import special as _special
from pullback._ops._base import dtype_of
from pullback.custom_derivatives import custom_jvp
from pullback.scipy import _util

__all__ = [
    "beta",
    "betainc",
    "betaln",
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfinv",
    "expit",
    "factorial",
    "gamma",
    "gammainc",
    "gammaincc",
    "gammaln",
    "gammasgn",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "kl_div",
    "log_ndtr",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "rel_entr",
    "xlog1py",
    "xlogy",
    "zeta",
]


_promote = _util.promote_args_inexact
_const = _util.weak_const
_lax_const = _util.lax_const
_strong = _util.strong


def _polyval(coeffs, x):
    """``coeffs[0] * x**(n-1) + ... + coeffs[-1]`` by Horner's rule, the coefficients strongly
    typed (as ``jnp.polyval`` of a NumPy array)."""
    out = jnp.zeros_like(x)
    for c in coeffs:
        out = out * x + _strong(c, x)
    return out


# -- gamma and beta -------------------------------------------------------------------------------


def gammaln(x):
    """Natural log of the absolute value of the gamma function (``scipy.special.gammaln``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> with jnp.printoptions(precision=4):
    ...     print(special.gammaln(jnp.array([0.5, 3.0, 10.0])))
    [ 0.5724  0.6931 12.8018]
    """
    (x,) = _promote("gammaln", x)
    return _special.lgamma(x)


def gammasgn(x):
    """The sign of the gamma function: NaN at the poles and for NaN, -1 at ``-0.0``.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.gammasgn(jnp.array([-1.5, -0.5, 0.5, -1.0]))
    Array([ 1., -1.,  1., nan], dtype=float32)
    """
    (x,) = _promote("gammasgn", x)
    floor_x = jnp.floor(x)
    negative = x < 0
    # arctan2(0, x) is pi for x = -0.0 and 0 for x = +0.0: the sign bit without a division
    negative_zero = (x == 0) & (jnp.arctan2(_const(0.0, x), x) > 0)
    odd = negative & (jnp.fmod(floor_x, _const(2.0, x)) != 0)
    nan = (negative & (x == floor_x)) | jnp.isnan(x)
    return jnp.where(
        nan, _strong(np.nan, x), jnp.where(odd | negative_zero, _strong(-1.0, x), _strong(1.0, x))
    )


def gamma(x):
    """The gamma function, ``gammasgn(x) * exp(gammaln(x))`` (``scipy.special.gamma``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> with jnp.printoptions(precision=4):
    ...     print(special.gamma(jnp.array([0.5, 5.0, -0.5])))
    [ 1.7725 24.     -3.5449]
    """
    (x,) = _promote("gamma", x)
    return gammasgn(x) * jnp.exp(_special.lgamma(x))


# Stirling's correction delta(x) = lgamma(x) - (x - 1/2) log(x) + x - log(2 pi)/2 as a series in
# 1/x: B_2k / (2k (2k - 1)), from the highest power down
_STIRLING = (-691 / 360360, 1 / 1188, -1 / 1680, 1 / 1260, -1 / 360, 1 / 12)


def _stirling_delta(x):
    z = 1 / (x * x)
    out = jnp.zeros_like(z)
    for c in _STIRLING:
        out = out * z + c
    return out / x


def betaln(a, b):
    """Natural log of the absolute value of the beta function (``scipy.special.betaln``).

    For ``max(a, b) >= 8`` the difference ``lgamma(b) - lgamma(a + b)`` is taken in closed form
    with Stirling's corrections, which keeps precision for large arguments (as JAX does).

    >>> from pullback.scipy import special
    >>> special.betaln(2.0, 3.0)
    Array(-2.48491, dtype=float32, weak_type=True)
    """
    a, b = _promote("betaln", a, b)
    a, b = jnp.minimum(a, b), jnp.maximum(a, b)
    small_b = _special.lgamma(a) + (_special.lgamma(b) - _special.lgamma(a + b))
    safe_b = jnp.where(b < 8, _const(8.0, b), b)
    # lgamma(b) - lgamma(a + b) = -(a + b - 1/2) log1p(a/b) - a (log b - 1) + delta(b) - delta(a+b)
    u = (safe_b + (a - 0.5)) * jnp.log1p(a / safe_b)
    v = a * (jnp.log(safe_b) - 1)
    w = _stirling_delta(safe_b) - _stirling_delta(a + safe_b)
    large_b = _special.lgamma(a) + jnp.where(u <= v, (w - v) - u, (w - u) - v)
    return jnp.where(b < 8, small_b, large_b)


def beta(a, b):
    """The beta function ``gamma(a) gamma(b) / gamma(a + b)`` (``scipy.special.beta``).

    >>> from pullback.scipy import special
    >>> special.beta(2.0, 3.0)
    Array(0.083333, dtype=float32)
    """
    a, b = _promote("beta", a, b)
    sign = gammasgn(a) * gammasgn(b) * gammasgn(a + b)
    return sign * jnp.exp(betaln(a, b))


def betainc(a, b, x):
    """The regularized incomplete beta function (``scipy.special.betainc``); differentiable in
    ``x`` only, as in JAX.

    >>> from pullback.scipy import special
    >>> special.betainc(2.0, 3.0, 0.5)
    Array(0.68750, dtype=float32, weak_type=True)
    """
    a, b, x = _promote("betainc", a, b, x)
    return _special.betainc(a, b, x)


def digamma(x):
    """The digamma function, the derivative of ``gammaln`` (``scipy.special.digamma``); NaN at
    the poles (0 and the negative integers), as in JAX.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> with jnp.printoptions(precision=4):  # -euler_gamma at 1
    ...     print(special.digamma(jnp.array([0.5, 1.0, 2.0])))
    [-1.9635 -0.5772  0.4228]
    """
    (x,) = _promote("digamma", x)
    return _special.digamma(x)


def gammainc(a, x):
    """The regularized lower incomplete gamma function P(a, x) (``scipy.special.gammainc``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> with jnp.printoptions(precision=4):
    ...     print(special.gammainc(jnp.array([1.0, 2.0]), 1.0))
    [0.6321 0.2642]
    """
    a, x = _promote("gammainc", a, x)
    return _special.igamma(a, x)


def gammaincc(a, x):
    """The regularized upper incomplete gamma function Q(a, x) (``scipy.special.gammaincc``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> with jnp.printoptions(precision=4):
    ...     print(special.gammaincc(jnp.array([1.0, 2.0]), 1.0))
    [0.3679 0.7358]
    """
    a, x = _promote("gammaincc", a, x)
    return _special.igammac(a, x)


def factorial(n, exact=False):
    """``n!`` as ``exp(gammaln(n + 1))``, 0 for negative ``n`` (``scipy.special.factorial``;
    ``exact=True`` is not supported, as in JAX).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> with jnp.printoptions(precision=3):
    ...     print(special.factorial(jnp.array([0, 3, 5, -1])))
    [  1.   6. 120.   0.]
    """
    if exact:
        raise NotImplementedError("factorial with exact=True")
    (n,) = _promote("factorial", n)
    return jnp.where(n < 0, _const(0.0, n), jnp.exp(_special.lgamma(n + 1)))


def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension ``d`` (a concrete int):
    ``d (d - 1) / 4 log(pi) + sum_i gammaln(a - i / 2)`` (``scipy.special.multigammaln``).

    >>> from pullback.scipy import special
    >>> special.multigammaln(2.5, 2)
    Array(0.857048, dtype=float32)
    """
    if isinstance(d, Tracer):
        raise TypeError(
            "The d argument of multigammaln must be a concrete integer, not a traced value; "
            "pass it as a static argument."
        )
    d = operator.index(d)
    a, d_ = _promote("multigammaln", a, d)
    constant = lax.mul(
        lax.mul(lax.mul(_lax_const(a, 0.25), d_), lax.sub(d_, _lax_const(a, 1.0))),
        lax.log(_lax_const(a, np.pi)),
    )
    b = lax.div(jnp.arange(d, dtype=dtype_of(d_)), _lax_const(a, 2.0))
    res = jnp.sum(
        _special.lgamma(jnp.expand_dims(a, axis=-1) - jnp.expand_dims(b, tuple(range(a.ndim)))),
        axis=-1,
    )
    return res + constant


# -- error functions ------------------------------------------------------------------------------


def erf(x):
    """The error function (``scipy.special.erf``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.erf(jnp.array([0.0, 0.5, -jnp.inf]))
    Array([ 0.       ,  0.5204999, -1.       ], dtype=float32)
    """
    (x,) = _promote("erf", x)
    return _special.erf(x)


def erfc(x):
    """The complementary error function ``1 - erf(x)``, accurate in the tail
    (``scipy.special.erfc``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.erfc(jnp.array([0.0, 2.0, -jnp.inf]))
    Array([1.        , 0.00467773, 2.        ], dtype=float32)
    """
    (x,) = _promote("erfc", x)
    return _special.erfc(x)


def erfinv(x):
    """The inverse of the error function (``scipy.special.erfinv``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.erfinv(jnp.array([0.0, 0.5, -1.0]))
    Array([0.        , 0.47693628,       -inf], dtype=float32)
    """
    (x,) = _promote("erfinv", x)
    return _special.erf_inv(x)


# -- logistic -------------------------------------------------------------------------------------


@custom_jvp
def logit(x):
    """``log(x / (1 - x))``, the inverse of ``expit``, with JAX's derivative ``1 / (x (1 - x))``
    (``scipy.special.logit``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.logit(jnp.array([0.25, 0.5, 0.75]))
    Array([-1.0986123,  0.       ,  1.0986123], dtype=float32)
    """
    (x,) = _promote("logit", x)
    return lax.log(lax.div(x, lax.sub(_lax_const(x, 1.0), x)))


logit.defjvps(lambda g, ans, x: lax.div(g, lax.mul(x, lax.sub(_lax_const(x, 1.0), x))))


def expit(x):
    """The logistic sigmoid ``1 / (1 + exp(-x))`` (``scipy.special.expit``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.expit(0.0)
    Array(0.5, dtype=float32, weak_type=True)
    >>> with jnp.printoptions(precision=4):
    ...     print(special.expit(jnp.array([-1.0, 1.0])))
    [0.2689 0.7311]
    """
    (x,) = _promote("expit", x)
    return lax.logistic(x)


# -- logsumexp ------------------------------------------------------------------------------------


def _reduction_dims(a, axis):
    """``(pos_dims, dims)``: the reduced axes, non-negative and sorted, as a tuple (both)."""
    ndim = a.ndim
    if axis is None:
        dims = tuple(range(ndim))
    else:
        axes = (axis,) if isinstance(axis, int) or np.ndim(axis) == 0 else tuple(axis)
        dims = []
        for ax in axes:
            ax = operator.index(ax)
            if not -ndim <= ax < max(ndim, 1):
                raise ValueError(f"axis {ax} is out of bounds for array of dimension {ndim}")
            dims.append(ax % ndim if ndim else 0)
        if len(set(dims)) != len(dims):
            raise ValueError(f"duplicate value in 'axis': {axis}")
        dims = tuple(sorted(dims))
    return dims, dims


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """``log(sum(b * exp(a)))`` over ``axis``, computed stably (``scipy.special.logsumexp``).

    The maximum is subtracted first (and held constant for differentiation, so the gradient is
    the softmax); ``b`` scales the terms (negative terms give NaN unless ``return_sign``, which
    returns ``(log|sum|, sign)``); ``where`` selects the terms.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.logsumexp(jnp.array([0.0, 0.0]))
    Array(0.6931472, dtype=float32)
    >>> special.logsumexp(jnp.array([0.0, 0.0]), b=jnp.array([1.0, -0.5]), return_sign=True)
    (Array(-0.6931472, dtype=float32), Array(1., dtype=float32))
    >>> import pullback as jax
    >>> jax.grad(special.logsumexp)(jnp.array([0.0, 0.0]))
    Array([0.5, 0.5], dtype=float32)
    """
    if where is not None:
        a = jnp.where(where, a, 0)
    if b is not None:
        a_arr, b_arr = _promote("logsumexp", a, b)
        a_arr = jnp.where(b_arr != 0, a_arr, -np.inf)
    else:
        (a_arr,) = _promote("logsumexp", a)
        b_arr = a_arr
    pos_dims, dims = _reduction_dims(a_arr, axis)
    amax = jnp.max(a_arr, axis=dims, keepdims=keepdims, where=where, initial=-np.inf)
    amax = lax.stop_gradient(lax.select(jnp.isfinite(amax), amax, lax.full_like(amax, 0)))
    amax_with_dims = amax if keepdims else lax.expand_dims(amax, pos_dims)
    exp_a = lax.exp(lax.sub(a_arr, amax_with_dims))
    if b is not None:
        exp_a = lax.mul(exp_a, b_arr)
    sumexp = jnp.sum(exp_a, axis=dims, keepdims=keepdims, where=where)
    sign = lax.sign(sumexp)
    sumexp = jnp.abs(sumexp)
    out = lax.add(lax.log(sumexp), amax)
    if return_sign:
        return out, sign
    if b is not None:
        out = jnp.where(sign < 0, _const(np.nan, out), out)
    return out


# -- x log y --------------------------------------------------------------------------------------


@custom_jvp
def xlogy(x, y):
    """``x * log(y)``, 0 where ``x == 0`` (NaN in ``y`` still propagates), with JAX's rule
    ``x_dot * log(y) + y_dot * x / y`` (``scipy.special.xlogy``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.xlogy(jnp.array([0.0, 0.0, 2.0]), jnp.array([0.0, 1.0, 1.0]))
    Array([0., 0., 0.], dtype=float32)
    >>> import pullback as jax
    >>> jax.grad(special.xlogy, argnums=(0, 1))(0.0, 1.0)
    (Array(0., dtype=float32, weak_type=True), Array(0., dtype=float32, weak_type=True))
    """
    x, y = _promote("xlogy", x, y)
    x_ok = x != 0.0
    return jnp.where(x_ok | jnp.isnan(y), lax.mul(x, lax.log(y)), jnp.zeros_like(x))


def _xlogy_jvp(primals, tangents):
    x, y = primals
    x_dot, y_dot = tangents
    result = xlogy(x, y)
    return result, (x_dot * lax.log(y) + y_dot * x / y).astype(result.dtype)


xlogy.defjvp(_xlogy_jvp)


@custom_jvp
def xlog1py(x, y):
    """``x * log1p(y)``, 0 where ``x == 0`` (NaN in ``y`` still propagates), with JAX's rule
    (``scipy.special.xlog1py``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.xlog1py(jnp.array([0.0, 1.0]), jnp.array([-1.0, 0.0]))
    Array([0., 0.], dtype=float32)
    """
    x, y = _promote("xlog1py", x, y)
    x_ok = x != 0.0
    return jnp.where(x_ok | jnp.isnan(y), lax.mul(x, lax.log1p(y)), jnp.zeros_like(x))


def _xlog1py_jvp(primals, tangents):
    x, y = primals
    x_dot, y_dot = tangents
    result = xlog1py(x, y)
    return result, (x_dot * lax.log1p(y) + y_dot * x / (1 + y)).astype(result.dtype)


xlog1py.defjvp(_xlog1py_jvp)


@custom_jvp
def _xlogx(x):
    """``x log(x)`` with the derivative ``log(x) + 1``."""
    return xlogy(x, x)


def _xlogx_jvp(primals, tangents):
    (x,) = primals
    (x_dot,) = tangents
    return _xlogx(x), x_dot * (lax.log(x) + 1)


_xlogx.defjvp(_xlogx_jvp)


def entr(x):
    """The entropy term ``-x log(x)``: 0 at 0, ``-inf`` for negative ``x``
    (``scipy.special.entr``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.entr(jnp.array([0.0, 0.5, -1.0]))
    Array([-0.       ,  0.3465736,       -inf], dtype=float32)
    """
    (x,) = _promote("entr", x)
    return lax.select(lax.lt(x, _const(0.0, x)), lax.full_like(x, -np.inf), lax.neg(_xlogx(x)))


def rel_entr(p, q):
    """The relative entropy term ``p log(p / q)``: 0 for ``p == 0 <= q``, ``inf`` off the
    domain (``scipy.special.rel_entr``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.rel_entr(jnp.array([0.0, 1.0, -1.0]), jnp.array([1.0, 1.0, 1.0]))
    Array([ 0.,  0., inf], dtype=float32)
    """
    p, q = _promote("rel_entr", p, q)
    zero = _lax_const(p, 0.0)
    both_gt_zero = lax.bitwise_and(lax.gt(p, zero), lax.gt(q, zero))
    one_zero = lax.bitwise_and(lax.eq(p, zero), lax.ge(q, zero))
    safe_p = jnp.where(both_gt_zero, p, 1)
    safe_q = jnp.where(both_gt_zero, q, 1)
    log_val = lax.sub(_xlogx(safe_p), xlogy(safe_p, safe_q))
    return jnp.where(both_gt_zero, log_val, jnp.where(one_zero, zero, np.inf))


def kl_div(p, q):
    """The Kullback-Leibler term ``p log(p / q) - p + q`` (``scipy.special.kl_div``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.kl_div(jnp.array([0.0, 1.0]), jnp.array([2.0, 1.0]))
    Array([2., 0.], dtype=float32)
    """
    p, q = _promote("kl_div", p, q)
    return rel_entr(p, q) - p + q


# -- zeta and polygamma ---------------------------------------------------------------------------

# (2k)! / B_2k
_BERNOULLI_COEFS = (
    12,
    -720,
    30240,
    -1209600,
    47900160,
    -1307674368000 / 691,
    74724249600,
    -10670622842880000 / 3617,
    5109094217170944000 / 43867,
    -802857662698291200000 / 174611,
    14101100039391805440000 / 77683,
    -1693824136731743669452800000 / 236364091,
    186134520519971831808000000 / 657931,
    -37893265687455865519472640000000 / 3392780147,
    759790291646040068357842010112000000 / 1723168255201,
    -134196726836183700385281186201600000000 / 7709321041217,
)


@custom_jvp
def zeta(x, q=None):
    """The Hurwitz zeta function ``sum_n (n + q)**-x`` (``scipy.special.zeta``; as in JAX, the
    Riemann zeta function, ``q=None``, is not implemented). Derivatives are those of a truncated
    series (Johansson 2015, formula 5), as JAX's.

    >>> from pullback.scipy import special
    >>> special.zeta(2.0, 1.0)
    Array(1.644934, dtype=float32, weak_type=True)
    """
    if q is None:
        raise NotImplementedError(
            "Riemann zeta function not implemented; pass q != None to compute the Hurwitz Zeta "
            "function."
        )
    x, q = _promote("zeta", x, q)
    return _special.zeta(x, q)


def _zeta_series_expansion(x, q=None):
    # Johansson, "Rigorous high-precision computation of the Hurwitz zeta function and its
    # derivatives", Numerical Algorithms 69.2 (2015), formula (5), with JAX's N and M
    if q is None:
        raise NotImplementedError(
            "Riemann zeta function not implemented; pass q != None to compute the Hurwitz Zeta "
            "function."
        )
    s, a = _promote("zeta", x, q)
    dtype = dtype_of(a)
    n = m = 8 if dtype == np.float32 else 16
    s_, a_ = jnp.expand_dims(s, -1), jnp.expand_dims(a, -1)
    k = jnp.expand_dims(jnp.arange(n, dtype=dtype), tuple(range(a.ndim)))
    total = jnp.sum((a_ + k) ** -s_, -1)
    integral = lax.div((a + n) ** (1 - s), s - 1)
    t0 = (a + n) ** -s
    mm = jnp.expand_dims(jnp.arange(2 * m, dtype=dtype), tuple(range(s.ndim)))
    s_over_a = (s_ + mm) / (a_ + n)
    t1 = jnp.cumprod(s_over_a, -1)[..., ::2]
    t1 = jnp.clip(t1, max=float(np.finfo(dtype).max))
    coefs = jnp.expand_dims(
        jnp.array(np.array(_BERNOULLI_COEFS[: t1.shape[-1]], dtype=dtype)),
        tuple(range(a.ndim)),
    )
    t1 = t1 / coefs
    t = t0 * (0.5 + t1.sum(-1))
    return total + integral + t


zeta.defjvp(lambda primals, tangents: jvp(_zeta_series_expansion, primals, tangents))


def polygamma(n, x):
    """The polygamma function, the ``n``-th derivative of ``digamma`` (``n`` of an integer
    dtype; ``scipy.special.polygamma``).

    >>> from pullback.scipy import special
    >>> special.polygamma(1, 1.0)
    Array(1.644934, dtype=float32, weak_type=True)
    """
    if not _dtypes.issubdtype(_dtypes.dtype(n), np.integer):
        raise ValueError(
            f"Argument `n` to polygamma must be of integer type. Got dtype {_dtypes.dtype(n)}."
        )
    n_arr, x_arr = _promote("polygamma", n, x)
    return _special.polygamma(n_arr, x_arr)


# -- normal distribution --------------------------------------------------------------------------


def ndtr(x):
    """The standard normal cumulative distribution function (``scipy.special.ndtr``); float32
    and float64 only.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> with jnp.printoptions(precision=4):
    ...     print(special.ndtr(jnp.array([-1.0, 0.0, 1.0])))
    [0.1587 0.5    0.8413]
    """
    x = jnp.asarray(x)
    dtype = dtype_of(x)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"x.dtype={dtype} is not supported, see docstring for supported types.")
    return _ndtr(x)


def _ndtr(x):
    c = lambda v: _strong(v, x)
    half_sqrt_2 = c(0.5 * np.sqrt(2.0))
    w = x * half_sqrt_2
    z = lax.abs(w)
    y = lax.select(
        lax.lt(z, half_sqrt_2),
        c(1.0) + _special.erf(w),
        lax.select(lax.gt(w, c(0.0)), c(2.0) - _special.erfc(z), _special.erfc(z)),
    )
    return c(0.5) * y


# The rational approximations of Cephes' ndtri (S. Moshier), as JAX uses them.
_NDTRI_P0 = (
    -5.99633501014107895267e1,
    9.80010754185999661536e1,
    -5.66762857469070293439e1,
    1.39312609387279679503e1,
    -1.23916583867381258016e0,
)
_NDTRI_Q0 = (
    1.0,
    1.95448858338141759834e0,
    4.67627912898881538453e0,
    8.63602421390890590575e1,
    -2.25462687854119370527e2,
    2.00260212380060660359e2,
    -8.20372256168333339912e1,
    1.59056225126211695515e1,
    -1.18331621121330003142e0,
)
_NDTRI_P1 = (
    4.05544892305962419923e0,
    3.15251094599893866154e1,
    5.71628192246421288162e1,
    4.40805073893200834700e1,
    1.46849561928858024014e1,
    2.18663306850790267539e0,
    -1.40256079171354495875e-1,
    -3.50424626827848203418e-2,
    -8.57456785154685413611e-4,
)
_NDTRI_Q1 = (
    1.0,
    1.57799883256466749731e1,
    4.53907635128879210584e1,
    4.13172038254672030440e1,
    1.50425385692907503408e1,
    2.50464946208309415979e0,
    -1.42182922854787788574e-1,
    -3.80806407691578277194e-2,
    -9.33259480895457427372e-4,
)
_NDTRI_P2 = (
    3.23774891776946035970e0,
    6.91522889068984211695e0,
    3.93881025292474443415e0,
    1.33303460815807542389e0,
    2.01485389549179081538e-1,
    1.23716634817820021358e-2,
    3.01581553508235416007e-4,
    2.65806974686737550832e-6,
    6.23974539184983293730e-9,
)
_NDTRI_Q2 = (
    1.0,
    6.02427039364742014255e0,
    3.67983563856160859403e0,
    1.37702099489081330271e0,
    2.16236993594496635890e-1,
    1.34204006088543189037e-2,
    3.28014464682127739104e-4,
    2.89247864745380683936e-6,
    6.79019408009981274425e-9,
)


def ndtri(p):
    """The inverse of ``ndtr`` (``scipy.special.ndtri``), by Cephes' piecewise rational
    approximations written in pullback's operations (as JAX computes it, derivatives
    included); float32 and float64 only.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> with jnp.printoptions(precision=4):
    ...     print(special.ndtri(jnp.array([0.0, 0.5, 0.975])))
    [-inf 0.   1.96]
    """
    p = jnp.asarray(p)
    dtype = dtype_of(p)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"x.dtype={dtype} is not supported, see docstring for supported types.")
    return _ndtri(p)


def _ndtri(p):
    shape = p.shape
    c = lambda v: _strong(v, p)
    maybe_complement_p = jnp.where(p > c(-np.expm1(-2.0)), c(1.0) - p, p)
    # an arbitrary value in place of 0 (whose result is not used) keeps NaNs out
    sanitized_mcp = jnp.where(
        maybe_complement_p == c(0.0), jnp.full(shape, c(0.5)), maybe_complement_p
    )
    # p > exp(-2): x/sqrt(2pi) = w + w**3 P0(w**2)/Q0(w**2)
    w = sanitized_mcp - c(0.5)
    ww = lax.square(w)
    x_for_big_p = w + w * ww * (_polyval(_NDTRI_P0, ww) / _polyval(_NDTRI_Q0, ww))
    x_for_big_p = x_for_big_p * -c(np.sqrt(2.0 * np.pi))
    # p <= exp(-2): x = z - log(z)/z - (1/z) P(1/z) / Q(1/z), z = sqrt(-2 log(p)), with P, Q
    # chosen by whether p < exp(-32)
    z = lax.sqrt(c(-2.0) * lax.log(sanitized_mcp))
    first_term = z - lax.log(z) / z
    second_term_small_p = _polyval(_NDTRI_P2, 1 / z) / _polyval(_NDTRI_Q2, 1 / z) / z
    second_term_otherwise = _polyval(_NDTRI_P1, 1 / z) / _polyval(_NDTRI_Q1, 1 / z) / z
    x_for_small_p = first_term - second_term_small_p
    x_otherwise = first_term - second_term_otherwise
    x = jnp.where(
        sanitized_mcp > c(np.exp(-2.0)),
        x_for_big_p,
        jnp.where(z >= c(8.0), x_for_small_p, x_otherwise),
    )
    x = jnp.where(p > c(1.0 - np.exp(-2.0)), x, -x)
    infinity = jnp.full(shape, c(np.inf))
    return jnp.where(p == c(0.0), -infinity, jnp.where(p == c(1.0), infinity, x))


# log_ndtr switches between log(ndtr(x)), -ndtr(-x) and an asymptotic series at these points
_LOGNDTR_LOWER = {np.dtype(np.float64): -20.0, np.dtype(np.float32): -10.0}
_LOGNDTR_UPPER = {np.dtype(np.float64): 8.0, np.dtype(np.float32): 5.0}


def log_ndtr(x, series_order=3):
    """``log(ndtr(x))``, accurate in both tails (``scipy.special.log_ndtr``): ``-ndtr(-x)`` for
    large ``x``, an asymptotic series of order ``series_order`` for very negative ``x``; its
    derivative is ``exp(norm.logpdf(x) - log_ndtr(x))``, as in JAX. float32 and float64 only.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> with jnp.printoptions(precision=4):
    ...     print(special.log_ndtr(jnp.array([0.0, -30.0, jnp.inf])))
    [  -0.6931 -454.3212   -0.    ]
    """
    if not isinstance(series_order, int):
        raise TypeError("series_order must be a Python integer.")
    if series_order < 0:
        raise ValueError("series_order must be non-negative.")
    if series_order > 30:
        raise ValueError("series_order must be <= 30.")
    return _log_ndtr(x, series_order)


def _log_ndtr_impl(x, series_order):
    x_arr = jnp.asarray(x)
    dtype = dtype_of(x_arr)
    if dtype not in _LOGNDTR_LOWER:
        raise TypeError(f"x.dtype={dtype} is not supported.")
    lower = _strong(_LOGNDTR_LOWER[dtype], x_arr)
    upper = _strong(_LOGNDTR_UPPER[dtype], x_arr)
    # The lower branch's arguments are clamped so that the branches not taken stay finite, and
    # their derivatives with them.
    above = lax.gt(x_arr, upper)
    ndtr_arg = jnp.where(above, -x_arr, lax.max(x_arr, lower))
    ndtr_res = _ndtr(ndtr_arg)
    return jnp.where(
        above,
        -ndtr_res,
        jnp.where(
            lax.gt(x_arr, lower),
            lax.log(ndtr_res),
            _log_ndtr_lower(lax.min(x_arr, lower), series_order),
        ),
    )


_log_ndtr = custom_jvp(_log_ndtr_impl, nondiff_argnums=(1,))


def _log_ndtr_jvp(series_order, primals, tangents):
    (x,), (t,) = primals, tangents
    ans = _log_ndtr(x, series_order)
    return ans, lax.mul(t, lax.exp(lax.sub(_norm_logpdf(x), ans)))


_log_ndtr.defjvp(_log_ndtr_jvp)


def _log_ndtr_lower(x, series_order):
    """The asymptotic expansion of ``log(ndtr(x))`` for ``x << -1``."""
    x_2 = lax.square(x)
    log_scale = -_strong(0.5, x) * x_2 - lax.log(-x) - _strong(0.5 * np.log(2.0 * np.pi), x)
    return log_scale + lax.log(_log_ndtr_asymptotic_series(x, series_order))


def _log_ndtr_asymptotic_series(x, series_order):
    if series_order <= 0:
        return _strong(1.0, x)
    x_2 = lax.square(x)
    even_sum = jnp.zeros_like(x)
    odd_sum = jnp.zeros_like(x)
    x_2n = x_2
    for n in range(1, series_order + 1):
        y = _strong(np.prod(np.arange(2 * n - 1, 1, -2)), x) / x_2n
        if n % 2:
            odd_sum = odd_sum + y
        else:
            even_sum = even_sum + y
        x_2n = x_2n * x_2
    return _strong(1.0, x) + even_sum - odd_sum


def _norm_logpdf(x):
    return lax.sub(lax.mul(_strong(-0.5, x), lax.square(x)), _strong(np.log(np.sqrt(2 * np.pi)), x))


# -- Bessel functions -----------------------------------------------------------------------------


def i0e(x):
    """The exponentially scaled modified Bessel function of order 0, ``exp(-|x|) I0(x)``
    (``scipy.special.i0e``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> with jnp.printoptions(precision=4):
    ...     print(special.i0e(jnp.array([1.0, 10.0])))
    [0.4658 0.1278]
    """
    (x,) = _promote("i0e", x)
    return _special.bessel_i0e(x)


def i0(x):
    """The modified Bessel function of order 0 (``scipy.special.i0``).

    >>> from pullback.scipy import special
    >>> special.i0(1.0)
    Array(1.26607, dtype=float32, weak_type=True)
    """
    (x,) = _promote("i0", x)
    return lax.mul(lax.exp(lax.abs(x)), _special.bessel_i0e(x))


def i1e(x):
    """The exponentially scaled modified Bessel function of order 1, ``exp(-|x|) I1(x)``
    (``scipy.special.i1e``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy import special
    >>> special.i1e(jnp.array([0.0, 1.0, 10.0]))
    Array([0.        , 0.20791042, 0.12126268], dtype=float32)
    """
    (x,) = _promote("i1e", x)
    return _special.bessel_i1e(x)


def i1(x):
    """The modified Bessel function of order 1 (``scipy.special.i1``).

    >>> from pullback.scipy import special
    >>> special.i1(1.0)
    Array(0.565159, dtype=float32, weak_type=True)
    """
    (x,) = _promote("i1", x)
    return lax.mul(lax.exp(lax.abs(x)), _special.bessel_i1e(x))
