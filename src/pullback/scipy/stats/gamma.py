"""The gamma distribution (``scipy.stats.gamma``), as JAX's ``jax.scipy.stats.gamma``."""

from __future__ import annotations

import numpy as np

import pullback.numpy as jnp
from pullback import lax
from pullback.scipy._util import lax_const, promote_args_inexact
from pullback.scipy.special import gammainc, gammaincc, gammaln, xlogy

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "sf"]


def logpdf(x, a, loc=0, scale=1):
    """The log of the gamma density of shape ``a``; ``-inf`` below ``loc``.

    >>> from pullback.scipy.stats import gamma
    >>> gamma.logpdf(1.0, 1.0)
    Array(-1., dtype=float32, weak_type=True)
    """
    x, a, loc, scale = promote_args_inexact("gamma.logpdf", x, a, loc, scale)
    ok = lax.ge(x, loc)
    one = lax_const(x, 1)
    y = jnp.where(ok, lax.div(lax.sub(x, loc), scale), one)
    log_linear_term = lax.sub(xlogy(lax.sub(a, one), y), y)
    shape_terms = lax.add(gammaln(a), lax.log(scale))
    log_probs = lax.sub(log_linear_term, shape_terms)
    return jnp.where(ok, log_probs, -np.inf)


def pdf(x, a, loc=0, scale=1):
    """The gamma density.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import gamma
    >>> with jnp.printoptions(precision=4):
    ...     print(gamma.pdf(jnp.array([0.5, 1.0, 2.0]), 2.0))
    [0.3033 0.3679 0.2707]
    """
    return lax.exp(logpdf(x, a, loc, scale))


def cdf(x, a, loc=0, scale=1):
    """The distribution function, ``gammainc(a, (x - loc) / scale)`` (0 below ``loc``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import gamma
    >>> with jnp.printoptions(precision=4):
    ...     print(gamma.cdf(jnp.array([-1.0, 1.0, 3.0]), 1.0))
    [0.     0.6321 0.9502]
    """
    x, a, loc, scale = promote_args_inexact("gamma.cdf", x, a, loc, scale)
    return gammainc(
        a, lax.clamp(lax_const(x, 0), lax.div(lax.sub(x, loc), scale), lax_const(x, np.inf))
    )


def logcdf(x, a, loc=0, scale=1):
    """``log(cdf(x))``.

    >>> from pullback.scipy.stats import gamma
    >>> gamma.logcdf(0.0, 1.0)
    Array(-inf, dtype=float32, weak_type=True)
    """
    return lax.log(cdf(x, a, loc, scale))


def sf(x, a, loc=0, scale=1):
    """The survival function, ``gammaincc(a, (x - loc) / scale)`` (1 below ``loc``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import gamma
    >>> with jnp.printoptions(precision=4):
    ...     print(gamma.sf(jnp.array([-1.0, 1.0, 3.0]), 1.0))
    [1.     0.3679 0.0498]
    """
    x, a, loc, scale = promote_args_inexact("gamma.sf", x, a, loc, scale)
    y = lax.div(lax.sub(x, loc), scale)
    return jnp.where(lax.lt(y, lax_const(y, 0)), 1, gammaincc(a, y))


def logsf(x, a, loc=0, scale=1):
    """``log(sf(x))``.

    >>> from pullback.scipy.stats import gamma
    >>> gamma.logsf(2.0, 1.0)
    Array(-2., dtype=float32, weak_type=True)
    """
    return lax.log(sf(x, a, loc, scale))
