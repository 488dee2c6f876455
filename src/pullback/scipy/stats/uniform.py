"""The uniform distribution on ``[loc, loc + scale]`` (``scipy.stats.uniform``), as JAX's
``jax.scipy.stats.uniform``."""

from __future__ import annotations

import numpy as np

import pullback.numpy as jnp
from pullback import lax
from pullback._ops._base import dtype_of
from pullback.scipy._util import promote_args_inexact, select

__all__ = ["cdf", "logpdf", "pdf", "ppf"]


def logpdf(x, loc=0, scale=1):
    """``-log(scale)`` inside the support, ``-inf`` outside.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import uniform
    >>> uniform.logpdf(jnp.array([0.5, 3.0]), 0.0, 2.0)
    Array([-0.6931472,       -inf], dtype=float32)
    """
    x, loc, scale = promote_args_inexact("uniform.logpdf", x, loc, scale)
    log_probs = lax.neg(lax.log(scale))
    return jnp.where(
        jnp.logical_or(lax.gt(x, lax.add(loc, scale)), lax.lt(x, loc)), -np.inf, log_probs
    )


def pdf(x, loc=0, scale=1):
    """``1 / scale`` inside the support, 0 outside.

    >>> from pullback.scipy.stats import uniform
    >>> uniform.pdf(0.5, 0.0, 2.0)
    Array(0.5, dtype=float32, weak_type=True)
    """
    return lax.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """The distribution function, 0 below the support and 1 above it.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import uniform
    >>> uniform.cdf(jnp.array([-1.0, 0.5, 3.0]), 0.0, 2.0)
    Array([0.  , 0.25, 1.  ], dtype=float32)
    """
    x, loc, scale = promote_args_inexact("uniform.cdf", x, loc, scale)
    zero, one = jnp.array(0, dtype_of(x)), jnp.array(1, dtype_of(x))
    conds = [
        lax.lt(x, loc),
        lax.gt(x, lax.add(loc, scale)),
        lax.ge(x, loc) & lax.le(x, lax.add(loc, scale)),
    ]
    vals = [zero, one, lax.div(lax.sub(x, loc), scale)]
    return select(conds, vals)


def ppf(q, loc=0, scale=1):
    """The quantile function ``loc + scale * q``; NaN outside ``[0, 1]``.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import uniform
    >>> uniform.ppf(jnp.array([0.25, 2.0]), 1.0, 2.0)
    Array([1.5, nan], dtype=float32)
    """
    q, loc, scale = promote_args_inexact("uniform.ppf", q, loc, scale)
    return jnp.where(jnp.isnan(q) | (q < 0) | (q > 1), np.nan, lax.add(loc, lax.mul(scale, q)))
