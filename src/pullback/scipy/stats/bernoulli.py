"""The Bernoulli distribution (``scipy.stats.bernoulli``), as JAX's
``jax.scipy.stats.bernoulli``."""

from __future__ import annotations

import numpy as np

import pullback.numpy as jnp
from pullback import lax
from pullback.scipy._util import lax_const, promote_args_inexact, select
from pullback.scipy.special import xlog1py, xlogy

__all__ = ["cdf", "logpmf", "pmf", "ppf"]


def logpmf(k, p, loc=0):
    """``log(p)`` at 1, ``log(1 - p)`` at 0, ``-inf`` elsewhere.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import bernoulli
    >>> bernoulli.logpmf(jnp.array([0, 1, 2]), 0.5)
    Array([-0.6931472, -0.6931472,       -inf], dtype=float32)
    """
    k, p, loc = promote_args_inexact("bernoulli.logpmf", k, p, loc)
    zero = lax_const(k, 0)
    one = lax_const(k, 1)
    x = lax.sub(k, loc)
    log_probs = xlogy(x, p) + xlog1py(lax.sub(one, x), -p)
    return jnp.where(jnp.logical_or(lax.lt(x, zero), lax.gt(x, one)), -np.inf, log_probs)


def pmf(k, p, loc=0):
    """The probability mass function.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import bernoulli
    >>> bernoulli.pmf(jnp.array([0, 1, 2]), 0.25)
    Array([0.75, 0.25, 0.  ], dtype=float32)
    """
    return jnp.exp(logpmf(k, p, loc))


def cdf(k, p):
    """The distribution function: 0 below 0, ``1 - p`` on ``[0, 1)``, 1 from 1.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import bernoulli
    >>> bernoulli.cdf(jnp.array([-1.0, 0.5, 1.0]), 0.25)
    Array([0.  , 0.75, 1.  ], dtype=float32)
    """
    k, p = promote_args_inexact("bernoulli.cdf", k, p)
    zero, one = lax_const(k, 0), lax_const(k, 1)
    conds = [
        jnp.isnan(k) | jnp.isnan(p) | (p < zero) | (p > one),
        lax.lt(k, zero),
        jnp.logical_and(lax.ge(k, zero), lax.lt(k, one)),
        lax.ge(k, one),
    ]
    vals = [jnp.nan, zero, one - p, one]
    return select(conds, vals)


def ppf(q, p):
    """The quantile function: 0 up to ``1 - p``, 1 above; NaN off the domain.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import bernoulli
    >>> bernoulli.ppf(jnp.array([0.5, 0.9]), 0.25)
    Array([0., 1.], dtype=float32)
    """
    q, p = promote_args_inexact("bernoulli.ppf", q, p)
    zero, one = lax_const(q, 0), lax_const(q, 1)
    return jnp.where(
        jnp.isnan(q) | jnp.isnan(p) | (p < zero) | (p > one) | (q < zero) | (q > one),
        jnp.nan,
        jnp.where(lax.le(q, one - p), zero, one),
    )
