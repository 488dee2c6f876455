"""The Laplace distribution (``scipy.stats.laplace``), as JAX's ``jax.scipy.stats.laplace``."""

from __future__ import annotations

from pullback import lax
from pullback.scipy._util import lax_const, promote_args_inexact

__all__ = ["cdf", "logpdf", "pdf"]


def logpdf(x, loc=0, scale=1):
    """``-|x - loc| / scale - log(2 scale)``.

    >>> from pullback.scipy.stats import laplace
    >>> laplace.logpdf(0.0)
    Array(-0.6931472, dtype=float32, weak_type=True)
    """
    x, loc, scale = promote_args_inexact("laplace.logpdf", x, loc, scale)
    two = lax_const(x, 2)
    linear_term = lax.div(lax.abs(lax.sub(x, loc)), scale)
    return lax.neg(lax.add(linear_term, lax.log(lax.mul(two, scale))))


def pdf(x, loc=0, scale=1):
    """The Laplace density.

    >>> from pullback.scipy.stats import laplace
    >>> laplace.pdf(0.0)
    Array(0.5, dtype=float32, weak_type=True)
    """
    return lax.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """The distribution function.

    >>> from pullback.scipy.stats import laplace
    >>> laplace.cdf(0.0)
    Array(0.5, dtype=float32, weak_type=True)
    """
    x, loc, scale = promote_args_inexact("laplace.cdf", x, loc, scale)
    half = lax_const(x, 0.5)
    one = lax_const(x, 1)
    zero = lax_const(x, 0)
    diff = lax.div(lax.sub(x, loc), scale)
    return lax.select(
        lax.le(diff, zero),
        lax.mul(half, lax.exp(diff)),
        lax.sub(one, lax.mul(half, lax.exp(lax.neg(diff)))),
    )
