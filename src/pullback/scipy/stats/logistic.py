"""The logistic distribution (``scipy.stats.logistic``), as JAX's
``jax.scipy.stats.logistic``."""

from __future__ import annotations

import pullback.numpy as jnp
from pullback import lax
from pullback.scipy._util import lax_const, promote_args_inexact
from pullback.scipy.special import expit, logit

__all__ = ["cdf", "isf", "logpdf", "pdf", "ppf", "sf"]


def logpdf(x, loc=0, scale=1):
    """``-2 logaddexp(z/2, -z/2) - log(scale)``, ``z = (x - loc) / scale``.

    >>> from pullback.scipy.stats import logistic
    >>> logistic.logpdf(0.0)
    Array(-1.3862944, dtype=float32, weak_type=True)
    """
    x, loc, scale = promote_args_inexact("logistic.logpdf", x, loc, scale)
    x = lax.div(lax.sub(x, loc), scale)
    two = lax_const(x, 2)
    half_x = lax.div(x, two)
    return lax.sub(lax.mul(lax.neg(two), jnp.logaddexp(half_x, lax.neg(half_x))), lax.log(scale))


def pdf(x, loc=0, scale=1):
    """The logistic density.

    >>> from pullback.scipy.stats import logistic
    >>> logistic.pdf(0.0)
    Array(0.25, dtype=float32, weak_type=True)
    """
    return lax.exp(logpdf(x, loc, scale))


def ppf(x, loc=0, scale=1):
    """The quantile function, ``logit(q) * scale + loc``.

    >>> from pullback.scipy.stats import logistic
    >>> logistic.ppf(0.5)
    Array(0., dtype=float32, weak_type=True)
    """
    x, loc, scale = promote_args_inexact("logistic.ppf", x, loc, scale)
    return lax.add(lax.mul(logit(x), scale), loc)


def sf(x, loc=0, scale=1):
    """The survival function, ``expit(-(x - loc) / scale)``.

    >>> from pullback.scipy.stats import logistic
    >>> logistic.sf(0.0)
    Array(0.5, dtype=float32, weak_type=True)
    """
    x, loc, scale = promote_args_inexact("logistic.sf", x, loc, scale)
    return expit(lax.neg(lax.div(lax.sub(x, loc), scale)))


def isf(x, loc=0, scale=1):
    """The inverse survival function, ``-logit(q) * scale + loc``.

    >>> from pullback.scipy.stats import logistic
    >>> logistic.isf(0.5)
    Array(-0., dtype=float32, weak_type=True)
    """
    x, loc, scale = promote_args_inexact("logistic.isf", x, loc, scale)
    return lax.add(lax.mul(lax.neg(logit(x)), scale), loc)


def cdf(x, loc=0, scale=1):
    """The distribution function, ``expit((x - loc) / scale)``.

    >>> from pullback.scipy.stats import logistic
    >>> logistic.cdf(0.0)
    Array(0.5, dtype=float32, weak_type=True)
    """
    x, loc, scale = promote_args_inexact("logistic.cdf", x, loc, scale)
    return expit(lax.div(lax.sub(x, loc), scale))
