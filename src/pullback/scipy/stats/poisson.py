"""The Poisson distribution (``scipy.stats.poisson``), as JAX's ``jax.scipy.stats.poisson``."""

from __future__ import annotations

import numpy as np

import pullback.numpy as jnp
from pullback import lax
from pullback._ops._base import dtype_of
from pullback.scipy._util import lax_const, promote_args_inexact
from pullback.scipy.special import entr, gammaincc, gammaln, xlogy

__all__ = ["cdf", "entropy", "logpmf", "pmf"]


def logpmf(k, mu, loc=0):
    """``k log(mu) - gammaln(k + 1) - mu`` at the non-negative integers, ``-inf`` elsewhere.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import poisson
    >>> with jnp.printoptions(precision=4):
    ...     print(poisson.logpmf(jnp.array([0, 2, -1]), 2.0))
    [-2.     -1.3069    -inf]
    """
    k, mu, loc = promote_args_inexact("poisson.logpmf", k, mu, loc)
    zero = lax_const(k, 0)
    x = lax.sub(k, loc)
    log_probs = xlogy(x, mu) - gammaln(x + 1) - mu
    return jnp.where(jnp.logical_or(lax.lt(x, zero), lax.ne(jnp.round(k), k)), -np.inf, log_probs)


def pmf(k, mu, loc=0):
    """The probability mass function.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import poisson
    >>> with jnp.printoptions(precision=4):
    ...     print(poisson.pmf(jnp.array([0, 1, 2]), 1.0))
    [0.3679 0.3679 0.1839]
    """
    return jnp.exp(logpmf(k, mu, loc))


def cdf(k, mu, loc=0):
    """The distribution function, ``gammaincc(floor(k - loc) + 1, mu)`` (0 below ``loc``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import poisson
    >>> with jnp.printoptions(precision=4):
    ...     print(poisson.cdf(jnp.array([-1.0, 0.0, 2.5]), 1.0))
    [0.     0.3679 0.9197]
    """
    k, mu, loc = promote_args_inexact("poisson.logpmf", k, mu, loc)
    zero = lax_const(k, 0)
    x = lax.sub(k, loc)
    p = gammaincc(jnp.floor(1 + x), mu)
    return jnp.where(lax.lt(x, zero), zero, p)


def entropy(mu, loc=0):
    """The entropy of the distribution (``loc`` does not change it): a sum over the support
    for ``mu < 100``, the asymptotic expansion above.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import poisson
    >>> with jnp.printoptions(precision=4):
    ...     print(poisson.entropy(jnp.array([0.0, 1.0, 50.0, 500.0])))
    [0.     1.3048 3.3733 4.5261]
    """
    mu, loc = (x if isinstance(x, jnp.ndarray) else jnp.asarray(x) for x in (mu, loc))
    promoted_mu, promoted_loc = promote_args_inexact("poisson.entropy", mu, loc)
    result_shape = jnp.broadcast_shapes(promoted_mu.shape, promoted_loc.shape)
    mu_flat = jnp.ravel(promoted_mu)
    zero_result = jnp.zeros_like(mu_flat)
    result = jnp.where(
        mu_flat == 0,
        zero_result,
        jnp.where(
            mu_flat < 10,
            _entropy_small_mu(mu_flat),
            jnp.where(mu_flat < 100, _entropy_medium_mu(mu_flat), _entropy_large_mu(mu_flat)),
        ),
    )
    return jnp.broadcast_to(jnp.reshape(result, promoted_mu.shape), result_shape)


def _entropy_sum(mu, max_k, upper_bounds):
    k = jnp.arange(max_k, dtype=dtype_of(mu))[:, None]
    probs = pmf(k, mu, 0)
    mask = k < upper_bounds.astype(dtype_of(k))[None, :]
    return jnp.sum(entr(jnp.where(mask, probs, 0.0)), axis=0)


def _entropy_small_mu(mu):
    return _entropy_sum(mu, 35, jnp.ceil(mu + 20))


def _entropy_medium_mu(mu):
    # a static bound: for mu < 100 the upper bound is below 220
    return _entropy_sum(mu, 250, jnp.ceil(mu + 10 * jnp.sqrt(mu) + 20))


def _entropy_large_mu(mu):
    return 0.5 * jnp.log(2 * np.pi * np.e * mu) - 1.0 / (12 * mu)
