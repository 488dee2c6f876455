"""The beta distribution (``scipy.stats.beta``), as JAX's ``jax.scipy.stats.beta``."""

from __future__ import annotations

import numpy as np

import pullback.numpy as jnp
from pullback import lax
from pullback.scipy._util import lax_const, promote_args_inexact
from pullback.scipy.special import betainc, betaln, xlog1py, xlogy

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "sf"]


def logpdf(x, a, b, loc=0, scale=1):
    """The log of the beta density; ``-inf`` outside ``[loc, loc + scale]``, NaN for
    non-positive ``a``, ``b`` or ``scale``.

    >>> from pullback.scipy.stats import beta
    >>> beta.logpdf(0.5, 1.0, 1.0)
    Array(0., dtype=float32, weak_type=True)
    """
    x, a, b, loc, scale = promote_args_inexact("beta.logpdf", x, a, b, loc, scale)
    one = lax_const(x, 1)
    zero = lax_const(a, 0)
    shape_term = lax.neg(betaln(a, b))
    y = lax.div(lax.sub(x, loc), scale)
    log_linear_term = lax.add(xlogy(lax.sub(a, one), y), xlog1py(lax.sub(b, one), lax.neg(y)))
    log_probs = lax.sub(lax.add(shape_term, log_linear_term), lax.log(scale))
    result = jnp.where(
        jnp.logical_or(lax.gt(x, lax.add(loc, scale)), lax.lt(x, loc)), -np.inf, log_probs
    )
    bad = jnp.logical_or(jnp.logical_or(lax.le(a, zero), lax.le(b, zero)), lax.le(scale, zero))
    return jnp.where(bad, np.nan, result)


def pdf(x, a, b, loc=0, scale=1):
    """The beta density.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import beta
    >>> with jnp.printoptions(precision=4):
    ...     print(beta.pdf(jnp.array([0.25, 0.5]), 2.0, 2.0))
    [1.125 1.5  ]
    """
    return lax.exp(logpdf(x, a, b, loc, scale))


def cdf(x, a, b, loc=0, scale=1):
    """The distribution function, ``betainc(a, b, y)`` with ``y`` clamped to ``[0, 1]``.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import beta
    >>> with jnp.printoptions(precision=4):
    ...     print(beta.cdf(jnp.array([-1.0, 0.5, 2.0]), 2.0, 2.0))
    [0.  0.5 1. ]
    """
    x, a, b, loc, scale = promote_args_inexact("beta.cdf", x, a, b, loc, scale)
    y = lax.clamp(lax_const(x, 0), lax.div(lax.sub(x, loc), scale), lax_const(x, 1))
    return betainc(a, b, y)


def logcdf(x, a, b, loc=0, scale=1):
    """``log(cdf(x))``.

    >>> from pullback.scipy.stats import beta
    >>> beta.logcdf(1.0, 2.0, 3.0)
    Array(0., dtype=float32, weak_type=True)
    """
    return lax.log(cdf(x, a, b, loc, scale))


def sf(x, a, b, loc=0, scale=1):
    """The survival function, ``betainc(b, a, 1 - y)``.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import beta
    >>> with jnp.printoptions(precision=4):
    ...     print(beta.sf(jnp.array([-1.0, 0.5, 2.0]), 2.0, 2.0))
    [1.  0.5 0. ]
    """
    x, a, b, loc, scale = promote_args_inexact("beta.sf", x, a, b, loc, scale)
    y = lax.clamp(lax_const(x, 0), lax.div(lax.sub(x, loc), scale), lax_const(x, 1))
    return betainc(b, a, 1 - y)


def logsf(x, a, b, loc=0, scale=1):
    """``log(sf(x))``.

    >>> from pullback.scipy.stats import beta
    >>> beta.logsf(0.0, 2.0, 3.0)
    Array(0., dtype=float32, weak_type=True)
    """
    return lax.log(sf(x, a, b, loc, scale))
