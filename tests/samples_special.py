"""Sample rows for the special-function primitives of ``pullback._ops.special`` (format at the
top of ``test_primitives.py``); references from SciPy."""

from __future__ import annotations

import numpy as np
import scipy.special as sc

_rng = np.random.default_rng(2024)


def u(*shape, lo=-2.0, hi=2.0):
    return _rng.uniform(lo, hi, size=shape)


def row(*args, ref, **kw):
    return {"args": args, "ref": ref, **kw}


def _igamma_grad_a(a, x):
    # five-point central difference of SciPy's gammainc in a
    h = 1e-3
    f = lambda d: sc.gammainc(a + d, x)
    return (f(-2 * h) - 8 * f(-h) + 8 * f(h) - f(2 * h)) / (12 * h)


# negative non-integers for the reflection formulas
_NEGATIVE = np.array([-2.5, -0.3, -1.7, -3.2])

SAMPLES: dict[str, list[dict]] = {
    "erf": [
        row(u(2, 3), ref=sc.erf),
        row(np.array([-5.5, -3.0, -1.2, 1.5, 2.7, 6.2]), ref=sc.erf, id="tails"),
    ],
    "erfc": [
        row(u(2, 3), ref=sc.erfc),
        row(np.array([-3.0, -1.2, 1.5, 2.7, 4.5, 9.0]), ref=sc.erfc, rtol=1e-12, id="tails"),
    ],
    "erf_inv": [
        row(u(2, 3, lo=-0.95, hi=0.95), ref=sc.erfinv),
        row(np.array([-0.99, 0.995, 1e-8]), ref=sc.erfinv, grad_rtol=1e-5, id="ends"),
    ],
    "lgamma": [
        row(u(2, 3, lo=0.2, hi=6.0), ref=sc.gammaln),
        row(_NEGATIVE, ref=sc.gammaln, id="negative"),
        row(np.array([0.9, 1.1, 1.95, 2.2, 30.0, 250.5]), ref=sc.gammaln, id="near-roots"),
    ],
    "digamma": [
        row(u(2, 3, lo=0.2, hi=6.0), ref=sc.psi),
        row(np.concatenate([_NEGATIVE, [12.5, 80.0]]), ref=sc.psi, id="reflected-and-large"),
    ],
    "polygamma": [
        row(np.array([1, 2, 3, 0]), u(4, lo=0.3, hi=5.0), ref=sc.polygamma, wrt=(1,)),
        row(np.array([1, 2]), np.array([-1.5, -0.4]), ref=sc.polygamma, wrt=(1,), id="negative"),
    ],
    "zeta": [
        row(np.array([2.5, 3.0, 4.2]), u(3, lo=0.2, hi=5.0), ref=sc.zeta, wrt=(1,)),
    ],
    "bessel_i0e": [
        row(u(2, 3, lo=-4.0, hi=4.0), ref=sc.i0e),
        row(np.array([-25.0, 19.0, 40.0]), ref=sc.i0e, id="asymptotic"),
    ],
    "bessel_i1e": [
        row(u(2, 3, lo=-4.0, hi=4.0), ref=sc.i1e),
        row(np.array([-25.0, 19.0, 40.0]), ref=sc.i1e, id="asymptotic"),
    ],
    "igamma": [
        # the derivative in a is igamma_grad_a, which has none itself: first order only
        row(u(2, 3, lo=0.5, hi=4.0), u(2, 3, lo=0.2, hi=6.0), ref=sc.gammainc, order=1),
        row(np.array([0.7, 2.5, 6.0]), u(3, lo=0.2, hi=8.0), ref=sc.gammainc, wrt=(1,), id="x"),
    ],
    "igammac": [
        row(u(2, 3, lo=0.5, hi=4.0), u(2, 3, lo=0.2, hi=6.0), ref=sc.gammaincc, order=1),
        row(np.array([0.7, 2.5, 6.0]), u(3, lo=0.2, hi=8.0), ref=sc.gammaincc, wrt=(1,), id="x"),
    ],
    "igamma_grad_a": [
        row(
            np.array([0.6, 1.5, 3.0, 5.0]),
            np.array([0.3, 2.5, 1.0, 9.0]),
            ref=_igamma_grad_a,
            rtol=1e-8,
            order=0,
        ),
    ],
    "regularized_incomplete_beta": [
        row(
            np.array([0.5, 2.0, 5.0]),
            np.array([1.5, 3.0, 0.8]),
            u(3, lo=0.05, hi=0.95),
            ref=sc.betainc,
            wrt=(2,),
        ),
    ],
}
