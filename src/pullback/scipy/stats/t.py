"""Student's t distribution (``scipy.stats.t``), as JAX's ``jax.scipy.stats.t``."""

from __future__ import annotations

import numpy as np

from pullback import lax
from pullback._ops import special as _special
from pullback.scipy._util import lax_const, promote_args_inexact

__all__ = ["logpdf", "pdf"]


def logpdf(x, df, loc=0, scale=1):
    """The log of the density of Student's t with ``df`` degrees of freedom.

    >>> from pullback.scipy.stats import t
    >>> t.logpdf(0.0, 1.0)
    Array(-1.14473, dtype=float32, weak_type=True)
    """
    x, df, loc, scale = promote_args_inexact("t.logpdf", x, df, loc, scale)
    two = lax_const(x, 2)
    scaled_x = lax.div(lax.sub(x, loc), scale)
    df_over_two = lax.div(df, two)
    df_plus_one_over_two = lax.add(df_over_two, lax_const(x, 0.5))
    normalize_term_const = lax.mul(lax.mul(scale, scale), lax_const(x, np.pi))
    normalize_term_tmp = lax.div(lax.log(lax.mul(normalize_term_const, df)), two)
    normalize_term = lax.sub(
        lax.add(_special.lgamma(df_over_two), normalize_term_tmp),
        _special.lgamma(df_plus_one_over_two),
    )
    quadratic = lax.div(lax.mul(scaled_x, scaled_x), df)
    return lax.neg(lax.add(normalize_term, lax.mul(df_plus_one_over_two, lax.log1p(quadratic))))


def pdf(x, df, loc=0, scale=1):
    """The density of Student's t.

    >>> from pullback.scipy.stats import t
    >>> t.pdf(0.0, 1.0)
    Array(0.31831, dtype=float32, weak_type=True)
    """
    return lax.exp(logpdf(x, df, loc, scale))
