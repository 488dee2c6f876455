"""``pullback.scipy``: JAX's ``jax.scipy`` — SciPy's functions on pullback arrays, with their
derivatives, batching and staging rules."""

from pullback.scipy import linalg, special, stats

__all__ = ["linalg", "special", "stats"]
