"""Special functions as primitives (JAX's ``lax`` names): ``erf``, ``erfc``, ``erf_inv``,
``lgamma``, ``digamma``, ``polygamma``, ``zeta``, ``bessel_i0e``, ``bessel_i1e``, ``igamma``,
``igammac``, ``igamma_grad_a`` and ``regularized_incomplete_beta``, each declared once with its
derivative.

The implementations use NumPy only (SciPy is not a dependency). Every kernel computes in float64
and returns its operands' dtype, and gives JAX's values at the edges of the domain (poles, NaN,
infinities). Methods:

* erf/erfc: ``erf(x) = x * T(x**2)`` for ``|x| < 1``; ``erfc(x) = exp(-x**2) * erfcx(x)`` for
  ``|x| >= 1``, with Chebyshev interpolants of ``erfcx`` on [1, 2], [2, 4] and [4, 8] and its
  asymptotic series beyond. The tables come from ``tools/special_coefficients.py`` (computed in
  110-digit arithmetic); ``exp(-x**2)`` is split so that it keeps its relative precision.
* erf_inv: a closed-form first guess, refined by Halley steps on erf (on erfc near +-1).
* lgamma: Lanczos (g=7, n=9) with Euler's reflection; Taylor series in ``zeta(k)`` near 1 and 2.
* digamma: the recurrence up to 10, then the asymptotic series; reflection for ``x <= 0``.
* zeta (Hurwitz) and polygamma: Euler-Maclaurin summation.
* bessel_i0e/bessel_i1e: the power series up to 18, the asymptotic series beyond.
* igamma/igammac: the power series of P (``x <= 1`` or ``x <= a``), otherwise the continued
  fraction of Q (modified Lentz); igamma_grad_a carries the derivative in ``a`` through both.
* regularized_incomplete_beta: the continued fraction, with ``I_x(a, b) = 1 - I_{1-x}(b, a)``.
"""

from __future__ import annotations

import numpy as np

from pullback import _dtypes
from pullback._core import ShapedArray
from pullback._ops._base import (
    Broadcasting,
    _cast_operand,
    binary,
    dtype_of,
    primitive,
    unary,
    unbroadcast,
)
from pullback._ops.elementwise import absolute, exp, log, log1p, sign, where

_SQRT_PI = 1.7724538509055160273
_TWO_OVER_SQRT_PI = 1.1283791670955125739
_LOG_SQRT_2PI = 0.91893853320467274178
_EULER_GAMMA = 0.57721566490153286061

# -- kernels: float64 NumPy ---------------------------------------------------------------------


def _kernel(fn):
    """An ``impl`` from a float64 kernel: operands broadcast as float64 arrays, the result in the
    operands' dtype (a NumPy scalar for scalar operands, as NumPy's ufuncs give)."""

    def impl(*args):
        dtype = np.result_type(*args)
        values = np.broadcast_arrays(*[np.asarray(a, np.float64) for a in args])
        with np.errstate(all="ignore"):
            out = fn(*values)
        return np.asarray(out, dtype)[()]

    impl.__name__ = fn.__name__
    return impl


def _horner(u, coeffs):
    """``sum_j coeffs[j] u**(n - j)`` (coefficients from the highest power down)."""
    p = np.full_like(u, coeffs[0])
    for c in coeffs[1:]:
        p *= u
        p += c
    return p


# Chebyshev interpolants (tools/special_coefficients.py) as polynomials in u in [-1, 1], for
# Horner's rule: erf(x)/x with u = 2 x**2 - 1 for |x| < 1, and erfcx(x) = exp(x**2) erfc(x) on
# [1, 2], [2, 4] and [4, 8].
_ERF_T = (
    -5.166061616805981e-16,
    1.454817075960679e-14,
    -3.7910930392717217e-13,
    9.167606746069445e-12,
    -2.0352493920247854e-10,
    4.11580059766496e-09,
    -7.511569160678138e-08,
    1.223382738352401e-06,
    -1.75371694414921e-05,
    0.00021751715604160108,
    -0.0022854855611440673,
    0.019852496688983708,
    -0.1405360890227171,
    0.9654687386698673,
)
_ERFCX_1_2 = (
    -2.6641841734607675e-14,
    2.0292151163761165e-13,
    -1.3988172161915317e-12,
    1.0198170166276311e-11,
    -7.27683737113065e-11,
    5.046602976320114e-10,
    -3.4057547442939427e-09,
    2.232841288007105e-08,
    -1.4191195854849937e-07,
    8.723044760349276e-07,
    -5.171328643577939e-06,
    2.9470857452438927e-05,
    -0.00016081117337456488,
    0.0008360838095667822,
    -0.0041163631624453285,
    0.019037759963869347,
    -0.08181145886628004,
    0.3215854164543175,
)
_ERFCX_2_4 = (
    6.673885531447592e-14,
    -3.357346034257376e-13,
    1.3312429841532351e-12,
    -6.540314781838702e-12,
    3.235885068120229e-11,
    -1.5396164337943972e-10,
    7.198227468097589e-10,
    -3.312746819938391e-09,
    1.497770463242758e-08,
    -6.646692586156175e-08,
    2.892666692150117e-07,
    -1.2333677056587265e-06,
    5.146436563477516e-06,
    -2.0989464464224638e-05,
    8.355413962855905e-05,
    -0.0003241255444964542,
    0.001223039052376817,
    -0.004479431018372594,
    0.015884371159871336,
    -0.05437226000717287,
    0.17900115118138996,
)
_ERFCX_4_8 = (
    -6.24401931351657e-14,
    2.337849331956291e-13,
    -5.096963511175973e-13,
    1.917478272977136e-12,
    -8.05561821833392e-12,
    2.9565221985029636e-11,
    -1.0638597710322425e-10,
    3.848630917528613e-10,
    -1.3820250570318617e-09,
    4.916491662818339e-09,
    -1.733991778720752e-08,
    6.06232346141337e-08,
    -2.100474266188394e-07,
    7.210772677558256e-07,
    -2.452046917010835e-06,
    8.257487304548116e-06,
    -2.7531014712312838e-05,
    9.085053144583226e-05,
    -0.00029664123220902197,
    0.0009580615952111055,
    -0.003059585555764048,
    0.009657787464897708,
    -0.030120706978104643,
    0.09277656780053835,
)


_ERFCX_PIECES = ((1.0, 2.0, _ERFCX_1_2), (2.0, 4.0, _ERFCX_2_4), (4.0, 8.0, _ERFCX_4_8))


def _erf_small(x):
    """erf for ``|x| < 1``."""
    return x * _horner(2 * x * x - 1, _ERF_T)


def _erfcx_large(x):
    """``exp(x**2) * erfc(x)`` for ``x >= 1`` (NaN stays NaN)."""
    out = np.full_like(x, np.nan)
    for lo, hi, coeffs in _ERFCX_PIECES:
        m = (x >= lo) & (x < hi)
        out[m] = _horner((2 * x[m] - (lo + hi)) / (hi - lo), coeffs)
    m = x >= 8
    xm = x[m]
    z = 0.5 / (xm * xm)
    term = np.ones_like(xm)
    s = np.ones_like(xm)
    for n in range(1, 25):
        term = term * (-(2 * n - 1) * z)
        s = s + term
    out[m] = s / (xm * _SQRT_PI)
    return out


def _exp_minus_square(x):
    """``exp(-x**2)`` for ``x >= 0``, with ``x**2`` split into an exact part and a small rest."""
    finite = np.isfinite(x)
    xf = np.where(finite, x, 0.0)
    hi = np.round(xf * 64) / 64
    lo = xf - hi
    out = np.exp(-hi * hi) * np.exp(-lo * (2 * hi + lo))
    return np.where(finite, out, np.where(np.isnan(x), np.nan, 0.0))


def _erfc_large(x):
    """erfc for ``x >= 1``."""
    return _exp_minus_square(x) * _erfcx_large(x)


def _erf_kernel(x):
    out = np.empty_like(x)
    small = np.abs(x) < 1
    out[small] = _erf_small(x[small])
    big = ~small
    xb = x[big]
    out[big] = np.copysign(1 - _erfc_large(np.abs(xb)), xb)
    return out


def _erfc_kernel(x):
    out = np.empty_like(x)
    small = np.abs(x) < 1
    out[small] = 1 - _erf_small(x[small])
    big = ~small
    xb = x[big]
    e = _erfc_large(np.abs(xb))
    out[big] = np.where(xb < 0, 2 - e, e)
    return out


def _erf_inv_kernel(y):
    a = np.abs(y)
    # first guess: Winitzki's closed form (relative error < 2e-3), or the Taylor series near 0
    w = np.log((1 - a) * (1 + a))
    t = 2 / (np.pi * 0.147) + w / 2
    guess = np.sqrt(np.sqrt(t * t - w / 0.147) - t)
    x = np.where(a < 1e-3, a * (_SQRT_PI / 2) * (1 + np.pi / 12 * a * a), guess)
    inner = a <= 0.5
    outer = (a > 0.5) & (a < 1)
    for _ in range(3):
        # Halley's steps on f(x) = erf(x) - a, written (1 - a) - erfc(x) near 1 (1 - a is exact)
        f = np.zeros_like(x)
        f[inner] = _erf_kernel(x[inner]) - a[inner]
        f[outer] = (1 - a[outer]) - _erfc_kernel(x[outer])
        fprime = _TWO_OVER_SQRT_PI * np.exp(-x * x)
        x = x - f / (fprime + x * f)
    x = np.where(a == 1, np.inf, np.where(a > 1, np.nan, x))
    return np.copysign(x, y)


# Lanczos approximation, g = 7, n = 9 (the coefficients of GSL's gamma.c, also XLA's and JAX's)
_LANCZOS = (
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
)


def _lgamma_lanczos(x):
    """lgamma for ``x >= 0.5``."""
    z = x - 1
    s = np.full_like(z, _LANCZOS[0])
    for i in range(1, 9):
        s = s + _LANCZOS[i] / (z + i)
    t = z + 7.5
    out = _LOG_SQRT_2PI + (z + 0.5) * np.log(t) - t + np.log(s)
    return np.where(x == np.inf, np.inf, out)


def _lgamma_near_one(e):
    """``lgamma(1 + e)`` for ``|e| <= 1/4``: ``-gamma e + sum_k (-1)^k zeta(k) e^k / k``."""
    p = np.zeros_like(e)
    for c in _LGAMMA_TAYLOR[::-1]:
        p = (p + c) * e
    return (p - _EULER_GAMMA) * e + 0.0  # + 0.0: lgamma(1) is +0


def _lgamma_positive(x):
    out = _lgamma_lanczos(np.maximum(x, 0.5))
    near1 = np.abs(x - 1) <= 0.25
    out[near1] = _lgamma_near_one(x[near1] - 1)
    near2 = np.abs(x - 2) <= 0.25
    e = x[near2] - 2
    out[near2] = _lgamma_near_one(e) + np.log1p(e)
    return out


def _lgamma_kernel(x):
    reflect = x < 0.5
    out = _lgamma_positive(np.where(reflect, 1 - x, x))
    # lgamma(x) = log(pi) - log|sin(pi x)| - lgamma(1 - x), |sin(pi x)| from x's distance to the
    # nearest integer (exactly 0 at the poles)
    frac = np.abs(x) - np.floor(np.abs(x))
    log_sin = np.log(np.sin(np.pi * np.minimum(frac, 1 - frac)))
    reflected = np.where(np.isfinite(log_sin), np.log(np.pi) - log_sin - out, -log_sin)
    out = np.where(reflect, reflected, out)
    return np.where(np.isinf(x), np.inf, out)


# B_2k / (2k) for the asymptotic series of digamma
_DIGAMMA_ASYMPTOTIC = tuple(
    b / (2 * k)
    for k, b in enumerate(
        (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510), start=1
    )
)


def _digamma_positive(x):
    s = np.zeros_like(x)
    y = x.copy()
    for _ in range(10):
        m = y < 10
        s[m] += 1 / y[m]
        y[m] += 1
    z = 1 / (y * y)
    tail = np.zeros_like(y)
    for c in _DIGAMMA_ASYMPTOTIC[::-1]:
        tail = (tail + c) * z
    return np.log(y) - 0.5 / y - tail - s


def _digamma_kernel(x):
    reflect = x <= 0
    out = _digamma_positive(np.where(reflect, 1 - x, x))
    # digamma(x) = digamma(1 - x) - pi cot(pi x), with cot's period 1 (NaN at the poles)
    r = x - np.round(x)
    cot = np.cos(np.pi * r) / np.sin(np.pi * r)
    out = np.where(reflect, out - np.pi * cot, out)
    return np.where(reflect & (r == 0), np.nan, out)


# B_2j / (2j)! for Euler-Maclaurin summation
_EULER_MACLAURIN = (
    1 / 12,
    -1 / 720,
    1 / 30240,
    -1 / 1209600,
    1 / 47900160,
    -691 / 1307674368000,
    1 / 74724249600,
    -3617 / 10670622842880000,
    43867 / 5109094217170944000,
    -174611 / 802857662698291200000,
    77683 / 14101100039391805440000,
    -236364091 / 1693824136731743669452800000,
)
_ZETA_MAX_TERMS = 100_000


def _zeta_kernel(s, q):
    """Hurwitz zeta: ``N`` terms summed, then Euler-Maclaurin from ``q + N``."""
    extra = np.where((q < 0) & (q > -_ZETA_MAX_TERMS), np.ceil(-q), 0.0)
    n_terms = 10 + extra
    total = np.zeros_like(q)
    for k in range(int(n_terms.max(initial=10))):
        m = k < n_terms
        total[m] += (q[m] + k) ** -s[m]
    w = q + n_terms
    tail = w ** (1 - s) / (s - 1) + 0.5 * w**-s
    factor = s * w ** (-s - 1)
    for j, c in enumerate(_EULER_MACLAURIN, start=1):
        tail = tail + c * factor
        factor = factor * (s + 2 * j - 1) * (s + 2 * j) / (w * w)
    out = total + tail
    # JAX's values off the domain, later rules winning: NaN for s < 1 or an infinite s or q (or q
    # beyond the term budget); at a pole of the sum (q a non-positive integer) inf for an even s
    # and NaN otherwise; inf for s = 1
    bad = (s < 1) | np.isinf(s) | np.isinf(q) | (q <= -_ZETA_MAX_TERMS)
    out = np.where(bad, np.nan, out)
    pole = (q <= 0) & (q == np.floor(q))
    even = (s == np.floor(s)) & (np.fmod(s, 2) == 0)
    out = np.where(pole, np.where(even, np.inf, np.nan), out)
    return np.where(s == 1, np.inf, out)


def _polygamma_kernel(n, x):
    order = np.where(n == np.floor(n), n, np.nan)
    with_zeta = (
        (-1.0) ** (order + 1) * np.exp(_lgamma_kernel(order + 1)) * _zeta_kernel(order + 1, x)
    )
    out = np.where(order == 0, _digamma_kernel(x), with_zeta)
    return np.where((order < 0) | np.isnan(order), np.nan, out)


# (-1)^k zeta(k) / k, k = 2..30: the Taylor series of lgamma(1 + e) after -gamma e
_LGAMMA_TAYLOR = tuple(
    (-1) ** k * float(_zeta_kernel(np.array([float(k)]), np.array([1.0]))[0]) / k
    for k in range(2, 31)
)

_BESSEL_SPLIT = 18.0


def _bessel_ie(x, order):
    """``exp(-|x|) I_order(|x|)`` (order 0 or 1): the power series below the split, the
    asymptotic series above it."""
    ax = np.abs(x)
    out = np.full_like(ax, np.nan)
    small = ax <= _BESSEL_SPLIT
    xs = ax[small]
    q = xs * xs / 4
    term = np.ones_like(xs)
    s = np.ones_like(xs)
    for k in range(1, 60):
        term = term * q / (k * (k + order))
        s = s + term
    if order:
        s = s * xs / 2
    out[small] = s * np.exp(-xs)
    large = ax > _BESSEL_SPLIT
    xl = ax[large]
    z = 1 / (8 * xl)
    mu = 4 * order * order
    term = np.ones_like(xl)
    s = np.ones_like(xl)
    for k in range(1, 40):
        term = term * (-(mu - (2 * k - 1) ** 2) * z / k)
        s = s + term
    out[large] = s / np.sqrt(2 * np.pi * xl)
    return out


def _i0e_kernel(x):
    return _bessel_ie(x, 0)


def _i1e_kernel(x):
    return np.copysign(_bessel_ie(x, 1), x)


# -- incomplete gamma and beta --------------------------------------------------------------------

_EPS = np.finfo(np.float64).eps
_TINY = 1e-300
_MAX_ITERATIONS = 2000


def _igamma_series(a, x):
    """P(a, x) by its power series, and its derivative in ``a``."""
    log_prefix = a * np.log(x) - x - _lgamma_kernel(a + 1)
    term = np.ones_like(a)
    s = np.ones_like(a)
    h = np.zeros_like(a)  # sum_k 1 / (a + k)
    ds = np.zeros_like(a)
    active = np.ones(a.shape, bool)
    for n in range(1, _MAX_ITERATIONS):
        an = a[active] + n
        t = term[active] * x[active] / an
        hn = h[active] + 1 / an
        term[active] = t
        h[active] = hn
        s[active] += t
        ds[active] -= t * hn
        done = (np.abs(t) <= _EPS * np.abs(s[active])) & (
            np.abs(t * hn) <= _EPS * np.abs(ds[active])
        )
        active[np.flatnonzero(active)[done]] = False
        if not active.any():
            break
    prefix = np.exp(log_prefix)
    p = prefix * s
    dp = prefix * (s * (np.log(x) - _digamma_kernel(a + 1)) + ds)
    return p, dp


def _igammac_fraction(a, x):
    """Q(a, x) by its continued fraction (modified Lentz), and its derivative in ``a``."""
    log_prefix = a * np.log(x) - x - _lgamma_kernel(a)
    b = x + 1 - a
    c = np.full_like(a, 1 / _TINY)
    dc = np.zeros_like(a)
    d = 1 / b
    dd = d * d  # d/da of 1/b, with db/da = -1
    h = d.copy()
    dh = dd.copy()
    active = np.ones(a.shape, bool)
    for i in range(1, _MAX_ITERATIONS):
        ai = a[active]
        an = -i * (i - ai)
        b[active] += 2
        bi = b[active]
        di, ddi, ci, dci = d[active], dd[active], c[active], dc[active]
        den = an * di + bi
        dden = i * di + an * ddi - 1
        den = np.where(np.abs(den) < _TINY, _TINY, den)
        cn = bi + an / ci
        dcn = -1 + (i * ci - an * dci) / (ci * ci)
        cn = np.where(np.abs(cn) < _TINY, _TINY, cn)
        dn = 1 / den
        ddn = -dden * dn * dn
        delta = dn * cn
        ddelta = ddn * cn + dn * dcn
        hi = h[active]
        dhi = dh[active]
        h_new = hi * delta
        dh_new = dhi * delta + hi * ddelta
        d[active], dd[active], c[active], dc[active] = dn, ddn, cn, dcn
        h[active], dh[active] = h_new, dh_new
        done = (np.abs(delta - 1) <= _EPS) & (np.abs(dh_new - dhi) <= _EPS * np.abs(dh_new))
        active[np.flatnonzero(active)[done]] = False
        if not active.any():
            break
    prefix = np.exp(log_prefix)
    q = prefix * h
    dq = prefix * (h * (np.log(x) - _digamma_kernel(a)) + dh)
    return q, dq


def _igamma_parts(a, x, fraction):
    """``(P, Q, dP/da)`` at the points where ``a`` and ``x`` are positive and finite (NaN
    elsewhere): by the continued fraction where ``fraction`` holds, by the series otherwise. P and
    Q are each exact in their own branch (not one minus the other)."""
    valid = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    by_fraction = valid & fraction
    by_series = valid & ~fraction
    p = np.full_like(a, np.nan)
    q = np.full_like(a, np.nan)
    dp = np.full_like(a, np.nan)
    ps, dps = _igamma_series(a[by_series], x[by_series])
    p[by_series], q[by_series], dp[by_series] = ps, 1 - ps, dps
    qf, dqf = _igammac_fraction(a[by_fraction], x[by_fraction])
    p[by_fraction], q[by_fraction], dp[by_fraction] = 1 - qf, qf, -dqf
    return p, q, dp


def _igamma_nan(a, x):
    return np.isnan(a) | np.isnan(x) | (a < 0) | (x < 0) | ((a == 0) & (x == 0))


def _igamma_kernel(a, x):
    # the branches and the values at the edges are JAX's, except that P(0, x) = 1 for every
    # x > 0 (JAX gives NaN for x < 1) and P(inf, x) = 0 for a finite x (JAX: 0 or NaN)
    out = _igamma_parts(a, x, (x >= 1) & (x > a))[0]
    out = np.where(a == 0, 1.0, np.where(a == np.inf, 0.0, out))
    out = np.where(x == 0, 0.0, np.where(x == np.inf, 1.0, out))
    return np.where(_igamma_nan(a, x), np.nan, out)


def _igammac_kernel(a, x):
    out = _igamma_parts(a, x, (x >= 1) & (x >= a))[1]
    out = np.where(a == np.inf, 1.0, out)
    out = np.where(x == 0, 1.0, out)
    out = np.where((x == np.inf) | (a == 0), 0.0, out)
    return np.where(_igamma_nan(a, x), np.nan, out)


def _igamma_grad_a_kernel(a, x):
    out = _igamma_parts(a, x, (x > 1) & (x > a))[2]
    out = np.where(x == 0, 0.0, out)
    bad = np.isnan(a) | np.isnan(x) | (a <= 0) | (x < 0) | np.isinf(x) | (np.isinf(a) & (x != 0))
    return np.where(bad, np.nan, out)


def _betainc_fraction(a, b, x):
    """I_x(a, b) by the continued fraction (for ``x <= (a + 1) / (a + b + 2)``)."""
    lbeta = _lgamma_kernel(a) + _lgamma_kernel(b) - _lgamma_kernel(a + b)
    front = np.exp(a * np.log(x) + b * np.log1p(-x) - lbeta) / a
    qab = a + b
    qap = a + 1
    qam = a - 1
    c = np.ones_like(a)
    d = 1 - qab * x / qap
    d = 1 / np.where(np.abs(d) < _TINY, _TINY, d)
    h = d.copy()
    active = np.ones(a.shape, bool)
    for m in range(1, _MAX_ITERATIONS):
        ai, bi, xi = a[active], b[active], x[active]
        di, ci, hi = d[active], c[active], h[active]
        m2 = 2 * m
        for aa in (
            m * (bi - m) * xi / ((qam[active] + m2) * (ai + m2)),
            -(ai + m) * (qab[active] + m) * xi / ((ai + m2) * (qap[active] + m2)),
        ):
            di = 1 + aa * di
            di = 1 / np.where(np.abs(di) < _TINY, _TINY, di)
            ci = 1 + aa / ci
            ci = np.where(np.abs(ci) < _TINY, _TINY, ci)
            delta = di * ci
            hi = hi * delta
        d[active], c[active], h[active] = di, ci, hi
        done = np.abs(delta - 1) <= _EPS
        active[np.flatnonzero(active)[done]] = False
        if not active.any():
            break
    return front * h


def _betainc_kernel(a, b, x):
    out = np.full_like(x, np.nan)
    valid = (a > 0) & (b > 0) & np.isfinite(a) & np.isfinite(b) & (x > 0) & (x < 1)
    swap = valid & (x > (a + 1) / (a + b + 2))
    direct = valid & ~swap
    out[direct] = _betainc_fraction(a[direct], b[direct], x[direct])
    out[swap] = 1 - _betainc_fraction(b[swap], a[swap], 1 - x[swap])
    # SciPy's values at the ends of the domain
    ok = (a >= 0) & (b >= 0) & ~((a == 0) & (b == 0)) & ~(np.isinf(a) & np.isinf(b))
    ok &= (x >= 0) & (x <= 1)
    out = np.where((a == 0) | (b == np.inf), 1.0, out)
    out = np.where((b == 0) | (a == np.inf), 0.0, out)
    out = np.where(x == 0, 0.0, np.where(x == 1, 1.0, out))
    return np.where(ok, out, np.nan)


# -- primitives -----------------------------------------------------------------------------------


def _not_differentiable(name):
    def rule(ct, ans, *args, **params):
        raise NotImplementedError(f"Differentiation rule for '{name}' not implemented")

    return rule


erf_p, erf = unary("erf", _kernel(_erf_kernel), d=lambda x, ans: exp(-x * x) * _TWO_OVER_SQRT_PI)
erfc_p, erfc = unary(
    "erfc", _kernel(_erfc_kernel), d=lambda x, ans: exp(-x * x) * -_TWO_OVER_SQRT_PI
)
erf_inv_p, erf_inv = unary(
    "erf_inv", _kernel(_erf_inv_kernel), d=lambda x, ans: exp(ans * ans) * (_SQRT_PI / 2)
)
lgamma_p, lgamma = unary("lgamma", _kernel(_lgamma_kernel), d=lambda x, ans: digamma(x))
digamma_p, digamma = unary("digamma", _kernel(_digamma_kernel), d=lambda x, ans: polygamma(1.0, x))
polygamma_p, polygamma = binary(
    "polygamma",
    _kernel(_polygamma_kernel),
    # the order is an integer: JAX has no derivative in it
    vjp_x=_not_differentiable("polygamma"),
    dy=lambda m, x, ans: polygamma(m + 1, x),
    inexact=True,
    kinds="fiub",
)
zeta_p, zeta = binary(
    "zeta",
    _kernel(_zeta_kernel),
    # no closed form in s: pullback.scipy.special.zeta differentiates a series (as JAX does)
    vjp_x=_not_differentiable("zeta"),
    dy=lambda s, q, ans: -s * zeta(s + 1, q),
    inexact=True,
    kinds="fiub",
)
bessel_i0e_p, bessel_i0e = unary(
    "bessel_i0e",
    _kernel(_i0e_kernel),
    d=lambda x, ans: bessel_i1e(x) - sign(x) * ans,
)


def _i1e_derivative(x, ans):
    eps = float(np.finfo(dtype_of(x)).eps)
    not_tiny = absolute(x) > eps
    safe = where(not_tiny, x, eps)
    return where(not_tiny, bessel_i0e(safe) - ans * (sign(safe) + 1 / safe), 0.5)


bessel_i1e_p, bessel_i1e = unary("bessel_i1e", _kernel(_i1e_kernel), d=_i1e_derivative)


def _igamma_dx(a, x, ans):
    return exp(log(x) * (a - 1) - x - lgamma(a))


igamma_grad_a_p, igamma_grad_a = binary(
    "igamma_grad_a",
    _kernel(_igamma_grad_a_kernel),
    vjp_x=_not_differentiable("igamma_grad_a"),
    vjp_y=_not_differentiable("igamma_grad_a"),
    inexact=True,
    kinds="fiub",
)
igamma_p, igamma = binary(
    "igamma",
    _kernel(_igamma_kernel),
    dx=lambda a, x, ans: igamma_grad_a(a, x),
    dy=_igamma_dx,
    inexact=True,
    kinds="fiub",
)
igammac_p, igammac = binary(
    "igammac",
    _kernel(_igammac_kernel),
    dx=lambda a, x, ans: -igamma_grad_a(a, x),
    dy=lambda a, x, ans: -_igamma_dx(a, x, ans),
    inexact=True,
    kinds="fiub",
)


def _betainc_ab(ct, ans, a, b, x):
    raise ValueError("Betainc gradient with respect to a and b not supported.")


def _betainc_vjp_x(ct, ans, a, b, x):
    lbeta = lgamma(a) + lgamma(b) - lgamma(a + b)
    g = ct * exp((b - 1) * log1p(-x) + (a - 1) * log(x) - lbeta)
    return g if g.shape == x.shape else unbroadcast(g, x)


regularized_incomplete_beta_p, _betainc = primitive(
    "regularized_incomplete_beta",
    _kernel(_betainc_kernel),
    vjp=(_betainc_ab, _betainc_ab, _betainc_vjp_x),
)
regularized_incomplete_beta_p.abstract = lambda a, b, x: ShapedArray(
    np.broadcast_shapes(a.shape, b.shape, x.shape),
    x.dtype,
    a.weak_type and b.weak_type and x.weak_type,
)
regularized_incomplete_beta_p.batch = Broadcasting(regularized_incomplete_beta_p)


def betainc(a, b, x):
    """The regularized incomplete beta function ``I_x(a, b)`` (JAX's ``lax.betainc``), with
    JAX's promotion to a common inexact dtype."""
    dtype, weak = _dtypes.result_type(a, b, x, return_weak_type=True)
    if dtype.kind not in "fc":
        dtype = _dtypes.to_inexact_dtype(dtype)
    a, b, x = (_cast_operand(v, dtype, weak) for v in (a, b, x))
    return _betainc(a, b, x)
