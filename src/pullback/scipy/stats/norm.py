"""The normal distribution (``scipy.stats.norm``), as JAX's ``jax.scipy.stats.norm``."""

from __future__ import annotations

import numpy as np

import pullback.numpy as jnp
from pullback import lax
from pullback.scipy import special
from pullback.scipy._util import lax_const, promote_args_inexact

__all__ = ["cdf", "isf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def logpdf(x, loc=0, scale=1):
    """The log of the normal density.

    >>> from pullback.scipy.stats import norm
    >>> norm.logpdf(0.0)
    Array(-0.91894, dtype=float32, weak_type=True)
    """
    x, loc, scale = promote_args_inexact("norm.logpdf", x, loc, scale)
    scale_sqrd = lax.square(scale)
    log_normalizer = lax.log(lax.mul(lax_const(x, 2 * np.pi), scale_sqrd))
    quadratic = lax.div(lax.square(lax.sub(x, loc)), scale_sqrd)
    return lax.div(lax.add(log_normalizer, quadratic), lax_const(x, -2))


def pdf(x, loc=0, scale=1):
    """The normal density.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import norm
    >>> with jnp.printoptions(precision=4):
    ...     print(norm.pdf(jnp.array([0.0, 1.0]), scale=2.0))
    [0.1995 0.176 ]
    """
    return lax.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """The normal distribution function, ``ndtr((x - loc) / scale)``.

    >>> from pullback.scipy.stats import norm
    >>> norm.cdf(0.0)
    Array(0.5, dtype=float32)
    """
    x, loc, scale = promote_args_inexact("norm.cdf", x, loc, scale)
    return special.ndtr(lax.div(lax.sub(x, loc), scale))


def logcdf(x, loc=0, scale=1):
    """The log of the normal distribution function, accurate in the tails (``log_ndtr``).

    >>> from pullback.scipy.stats import norm
    >>> norm.logcdf(-30.0)
    Array(-454.32123, dtype=float32)
    """
    x, loc, scale = promote_args_inexact("norm.logcdf", x, loc, scale)
    return special.log_ndtr(lax.div(lax.sub(x, loc), scale))


def ppf(q, loc=0, scale=1):
    """The quantile function, ``ndtri(q) * scale + loc``, in the default float dtype.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import norm
    >>> with jnp.printoptions(precision=4):
    ...     print(norm.ppf(jnp.array([0.5, 0.975])))
    [0.    1.96]
    """
    return jnp.asarray(special.ndtri(q) * scale + loc, float)


def logsf(x, loc=0, scale=1):
    """The log of the survival function ``1 - cdf``.

    >>> from pullback.scipy.stats import norm
    >>> norm.logsf(30.0)
    Array(-454.32123, dtype=float32)
    """
    x, loc, scale = promote_args_inexact("norm.logsf", x, loc, scale)
    return logcdf(-x, -loc, scale)


def sf(x, loc=0, scale=1):
    """The survival function ``1 - cdf``.

    >>> from pullback.scipy.stats import norm
    >>> norm.sf(0.0)
    Array(0.5, dtype=float32)
    """
    x, loc, scale = promote_args_inexact("norm.sf", x, loc, scale)
    return cdf(-x, -loc, scale)


def isf(q, loc=0, scale=1):
    """The inverse survival function, ``ppf(1 - q)``.

    >>> from pullback.scipy.stats import norm
    >>> norm.isf(0.5)
    Array(0., dtype=float32)
    """
    return ppf(lax.sub(lax_const(q, 1), q), loc, scale)
