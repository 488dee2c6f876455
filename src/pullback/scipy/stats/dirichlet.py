"""The Dirichlet distribution (``scipy.stats.dirichlet``), as JAX's
``jax.scipy.stats.dirichlet``."""

from __future__ import annotations

import numpy as np

import pullback.numpy as jnp
from pullback import lax
from pullback.scipy._util import lax_const, promote_args_inexact
from pullback.scipy.special import gammaln, xlogy

__all__ = ["logpdf", "pdf"]


def _is_simplex(x):
    x_sum = jnp.sum(x, axis=0)
    return jnp.all(x > 0, axis=0) & (abs(x_sum - 1) < 1e-6)


def logpdf(x, alpha):
    """The log of the Dirichlet density of concentration ``alpha`` (one-dimensional) at ``x``,
    whose first axis holds the categories (all of them, or all but the last); ``-inf`` off
    the simplex.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import dirichlet
    >>> dirichlet.logpdf(jnp.array([0.2, 0.3, 0.5]), jnp.array([1.0, 2.0, 3.0]))
    Array(1.50408, dtype=float32)
    """
    x, alpha = promote_args_inexact("dirichlet.logpdf", x, alpha)
    if alpha.ndim != 1:
        raise ValueError(f"`alpha` must be one-dimensional; got alpha.shape={alpha.shape}")
    if x.shape[0] not in (alpha.shape[0], alpha.shape[0] - 1):
        raise ValueError(
            "`x` must have either the same number of entries as `alpha` or one entry fewer; "
            f"got x.shape={x.shape}, alpha.shape={alpha.shape}"
        )
    one = lax_const(x, 1)
    if x.shape[0] != alpha.shape[0]:
        x = jnp.concatenate([x, lax.sub(one, x.sum(0, keepdims=True))], axis=0)
    normalize_term = jnp.sum(gammaln(alpha)) - gammaln(jnp.sum(alpha))
    if x.ndim > 1:
        alpha = lax.broadcast_in_dim(alpha, alpha.shape + (1,) * (x.ndim - 1), (0,))
    log_probs = lax.sub(jnp.sum(xlogy(lax.sub(alpha, one), x), axis=0), normalize_term)
    return jnp.where(_is_simplex(x), log_probs, -np.inf)


def pdf(x, alpha):
    """The Dirichlet density.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import dirichlet
    >>> dirichlet.pdf(jnp.array([0.5, 0.5]), jnp.array([1.0, 1.0]))
    Array(1., dtype=float32)
    """
    return lax.exp(logpdf(x, alpha))
