"""The multivariate normal distribution (``scipy.stats.multivariate_normal``), as JAX's
``jax.scipy.stats.multivariate_normal``."""

from __future__ import annotations

import numpy as np

import pullback.numpy as jnp
from pullback import lax
from pullback.scipy import linalg
from pullback.scipy._util import promote_args_inexact

__all__ = ["logpdf", "pdf"]


def logpdf(x, mean, cov, allow_singular=None):
    """The log-density at ``x`` (``(..., n)``) of mean ``mean`` (``(..., n)``) and covariance
    ``cov``: a matrix (``(..., n, n)``, through its Cholesky factor), a scalar variance, or,
    with a scalar ``mean``, a scalar variance of a univariate normal.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import multivariate_normal
    >>> cov = jnp.array([[2.0, 0.5], [0.5, 1.0]])
    >>> multivariate_normal.logpdf(jnp.array([0.5, -1.0]), jnp.zeros(2), cov)
    Array(-2.90340, dtype=float32)
    """
    if allow_singular is not None:
        raise NotImplementedError("allow_singular argument of multivariate_normal.logpdf")
    x, mean, cov = _promote(x, mean, cov)
    log_2pi = np.log(2 * np.pi)
    if not mean.shape:
        return -1 / 2 * jnp.square(x - mean) / cov - 1 / 2 * (log_2pi + jnp.log(cov))
    n = mean.shape[-1]
    if not np.shape(cov):
        y = x - mean
        return -1 / 2 * jnp.einsum("...i,...i->...", y, y) / cov - n / 2 * (log_2pi + jnp.log(cov))
    if cov.ndim < 2 or cov.shape[-2:] != (n, n):
        raise ValueError("multivariate_normal.logpdf got incompatible shapes")
    chol = jnp.linalg.cholesky(cov)
    diff = x - mean
    batch = jnp.broadcast_shapes(chol.shape[:-2], diff.shape[:-1])
    chol = jnp.broadcast_to(chol, batch + (n, n))
    diff = jnp.broadcast_to(diff, batch + (n,))
    y = linalg.solve_triangular(chol, diff[..., None], lower=True)[..., 0]
    log_det = jnp.log(jnp.linalg.diagonal(chol)).sum(-1)
    return -1 / 2 * jnp.einsum("...i,...i->...", y, y) - n / 2 * log_2pi - log_det


def _promote(*args):
    """JAX's ``promote_dtypes_inexact``: a common inexact dtype, weak only if all are weak."""
    x, mean, cov = promote_args_inexact("multivariate_normal.logpdf", *args)
    return x, mean, cov


def pdf(x, mean, cov):
    """The density.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.stats import multivariate_normal
    >>> multivariate_normal.pdf(jnp.zeros(2), jnp.zeros(2), jnp.eye(2))
    Array(0.159155, dtype=float32)
    """
    return lax.exp(logpdf(x, mean, cov))
