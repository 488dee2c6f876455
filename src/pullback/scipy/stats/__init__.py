"""``pullback.scipy.stats``: JAX's ``jax.scipy.stats`` — log-densities, densities, distribution
functions and quantiles, written in pullback's operations as JAX writes them (so they are
differentiable, batchable and stageable).

>>> import pullback.numpy as jnp
>>> from pullback.scipy import stats
>>> stats.norm.logpdf(0.0)
Array(-0.91894, dtype=float32, weak_type=True)
>>> stats.uniform.cdf(jnp.array([-1.0, 0.25, 2.0]))
Array([0.  , 0.25, 1.  ], dtype=float32)
"""

from pullback.scipy.stats import (
    bernoulli,
    beta,
    cauchy,
    dirichlet,
    gamma,
    laplace,
    logistic,
    multivariate_normal,
    norm,
    poisson,
    t,
    uniform,
)

__all__ = [
    "bernoulli",
    "beta",
    "cauchy",
    "dirichlet",
    "gamma",
    "laplace",
    "logistic",
    "multivariate_normal",
    "norm",
    "poisson",
    "t",
    "uniform",
]
