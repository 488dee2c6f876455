"""The Cauchy distribution (``scipy.stats.cauchy``), as JAX's ``jax.scipy.stats.cauchy``."""

from __future__ import annotations

import numpy as np

import pullback.numpy as jnp
from pullback import lax
from pullback.scipy._util import lax_const, promote_args_inexact

__all__ = ["cdf", "isf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def logpdf(x, loc=0, scale=1):
    """``-log(pi scale (1 + ((x - loc) / scale)**2))``.

    >>> from pullback.scipy.stats import cauchy
    >>> cauchy.logpdf(0.0)
    Array(-1.14473, dtype=float32, weak_type=True)
    """
    x, loc, scale = promote_args_inexact("cauchy.logpdf", x, loc, scale)
    pi = lax_const(x, np.pi)
    scaled_x = lax.div(lax.sub(x, loc), scale)
    normalize_term = lax.log(lax.mul(pi, scale))
    return lax.neg(lax.add(normalize_term, lax.log1p(lax.mul(scaled_x, scaled_x))))


def pdf(x, loc=0, scale=1):
    """The Cauchy density.

    >>> from pullback.scipy.stats import cauchy
    >>> cauchy.pdf(0.0)
    Array(0.31831, dtype=float32, weak_type=True)
    """
    return lax.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """``1/2 + arctan((x - loc) / scale) / pi``.

    >>> from pullback.scipy.stats import cauchy
    >>> cauchy.cdf(1.0)
    Array(0.75, dtype=float32, weak_type=True)
    """
    x, loc, scale = promote_args_inexact("cauchy.cdf", x, loc, scale)
    pi = lax_const(x, np.pi)
    scaled_x = lax.div(lax.sub(x, loc), scale)
    return lax.add(lax_const(x, 0.5), lax.mul(lax.div(lax_const(x, 1.0), pi), jnp.arctan(scaled_x)))


def logcdf(x, loc=0, scale=1):
    """``log(cdf(x))``.

    >>> from pullback.scipy.stats import cauchy
    >>> cauchy.logcdf(0.0)
    Array(-0.6931472, dtype=float32, weak_type=True)
    """
    return lax.log(cdf(x, loc, scale))


def sf(x, loc=0, scale=1):
    """The survival function, ``cdf(-x, -loc, scale)``.

    >>> from pullback.scipy.stats import cauchy
    >>> cauchy.sf(1.0)
    Array(0.25, dtype=float32, weak_type=True)
    """
    x, loc, scale = promote_args_inexact("cauchy.sf", x, loc, scale)
    return cdf(-x, -loc, scale)


def logsf(x, loc=0, scale=1):
    """``log(sf(x))``.

    >>> from pullback.scipy.stats import cauchy
    >>> cauchy.logsf(0.0)
    Array(-0.6931472, dtype=float32, weak_type=True)
    """
    x, loc, scale = promote_args_inexact("cauchy.logsf", x, loc, scale)
    return logcdf(-x, -loc, scale)


def isf(q, loc=0, scale=1):
    """The inverse survival function, ``loc + scale * tan(pi/2 - pi q)``.

    >>> from pullback.scipy.stats import cauchy
    >>> cauchy.isf(0.5)
    Array(0., dtype=float32, weak_type=True)
    """
    q, loc, scale = promote_args_inexact("cauchy.isf", q, loc, scale)
    pi = lax_const(q, np.pi)
    half_pi = lax_const(q, np.pi / 2)
    unscaled = lax.tan(lax.sub(half_pi, lax.mul(pi, q)))
    return lax.add(lax.mul(unscaled, scale), loc)


def ppf(q, loc=0, scale=1):
    """The quantile function, ``loc + scale * tan(pi q - pi/2)``.

    >>> from pullback.scipy.stats import cauchy
    >>> cauchy.ppf(0.5)
    Array(0., dtype=float32, weak_type=True)
    """
    q, loc, scale = promote_args_inexact("cauchy.ppf", q, loc, scale)
    pi = lax_const(q, np.pi)
    half_pi = lax_const(q, np.pi / 2)
    unscaled = lax.tan(lax.sub(lax.mul(pi, q), half_pi))
    return lax.add(lax.mul(unscaled, scale), loc)
