"""Regenerate the Chebyshev tables of ``src/pullback/_ops/special.py`` (erf and erfcx).

Every value is computed in 110-digit decimal arithmetic (Python's ``decimal``: the Taylor series
of erf, ``erfcx(x) = exp(x**2) * (1 - erf(x))``, cosines by their series), so the tables carry no
rounding from a float64 reference. Run ``python tools/special_coefficients.py`` and paste its
output over the tables.
"""

from __future__ import annotations

from decimal import Decimal, getcontext

getcontext().prec = 110
_EPS = Decimal(10) ** -105


def _pi():
    # the series of the ``decimal`` documentation's recipe
    getcontext().prec += 2
    three = Decimal(3)
    last, t, s, n, na, d, da = 0, three, 3, 1, 0, 0, 24
    while s != last:
        last = s
        n, na = n + na, na + 8
        d, da = d + da, da + 32
        t = (t * n) / d
        s += t
    getcontext().prec -= 2
    return +s


PI = _pi()
SQRT_PI = PI.sqrt()


def cos(x):
    x = Decimal(x)
    x2 = x * x
    term = s = Decimal(1)
    n = 0
    while abs(term) > _EPS:
        n += 2
        term = -term * x2 / (n * (n - 1))
        s += term
    return s


def erf(x):
    x = Decimal(x)
    x2 = x * x
    term = s = x
    n = 0
    while True:
        n += 1
        term = -term * x2 / n
        add = term / (2 * n + 1)
        s += add
        if abs(add) < _EPS * (abs(s) + 1):
            return 2 * s / SQRT_PI


def erfcx(x):
    x = Decimal(x)
    return (x * x).exp() * (1 - erf(x))


def erf_over_x(t):
    """``erf(sqrt(t)) / sqrt(t)``, a function of ``t = x**2``."""
    if t == 0:
        return 2 / SQRT_PI
    x = t.sqrt()
    return erf(x) / x


def chebyshev(f, lo, hi, tol=Decimal("1e-19"), max_degree=40):
    """The Chebyshev interpolant of ``f`` on ``[lo, hi]`` as a polynomial in ``u`` (``u = -1`` at
    ``lo``, ``1`` at ``hi``): its coefficients from the highest power down, for Horner's rule. The
    Chebyshev series is cut where its terms fall below ``tol`` relative to the first."""
    n = max_degree + 1
    nodes = [cos(PI * (k + Decimal(1) / 2) / n) for k in range(n)]
    lo, hi = Decimal(lo), Decimal(hi)
    values = [f(lo + (u + 1) * (hi - lo) / 2) for u in nodes]
    coeffs = []
    for j in range(n):
        s = sum(v * cos(PI * j * (k + Decimal(1) / 2) / n) for k, v in enumerate(values))
        coeffs.append(s * 2 / n)
    coeffs[0] /= 2
    keep = max(j for j, c in enumerate(coeffs) if abs(c) > tol * abs(coeffs[0]))
    # T_0 = 1, T_1 = u, T_{j+1} = 2 u T_j - T_{j-1}, each as its list of monomial coefficients
    power = [Decimal(0)] * (keep + 1)
    prev, cur = [Decimal(1)], [Decimal(0), Decimal(1)]
    for j, c in enumerate(coeffs[: keep + 1]):
        t = prev if j == 0 else cur
        if j >= 2:
            nxt = [Decimal(0)] + [2 * v for v in cur]
            for i, v in enumerate(prev):
                nxt[i] -= v
            prev, cur = cur, nxt
            t = cur
        for i, v in enumerate(t):
            power[i] += c * v
    return [float(c) for c in power[::-1]]


def _table(name, coeffs):
    body = "".join(f"    {c!r},\n" for c in coeffs)
    return f"{name} = (\n{body})"


if __name__ == "__main__":
    print(_table("_ERF_T", chebyshev(erf_over_x, 0, 1)))
    for lo, hi in ((1, 2), (2, 4), (4, 8)):
        print(_table(f"_ERFCX_{lo}_{hi}", chebyshev(erfcx, lo, hi)))
