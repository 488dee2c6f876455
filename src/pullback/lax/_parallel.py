"""Collectives over named ``vmap`` axes (``psum``, ``pmean``, ``pmax``, ``pmin``,
``axis_index``), on pytrees as in JAX."""

from __future__ import annotations

from pullback import _ops
from pullback.tree_util import tree_map

__all__ = ["psum", "pmean", "pmax", "pmin", "axis_index"]


def psum(x, axis_name):
    """Sum of ``x`` (a pytree) over the members of the ``vmap`` axis ``axis_name`` (a name or a
    tuple of names).

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.vmap(lambda x: jax.lax.psum(x, "i"), axis_name="i")(jnp.arange(3.0))
    Array([3., 3., 3.], dtype=float32)
    """
    return tree_map(lambda v: _ops.psum(v, axis_name), x)


def pmean(x, axis_name):
    """Mean of ``x`` (a pytree) over the members of the ``vmap`` axis ``axis_name``.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.vmap(lambda x: jax.lax.pmean(x, "i"), axis_name="i")(jnp.arange(3.0))
    Array([1., 1., 1.], dtype=float32)
    """
    n = _ops.psum(1, axis_name)
    return tree_map(lambda v: _ops.psum(v, axis_name) / n, x)


def pmax(x, axis_name):
    """Maximum of ``x`` (a pytree) over the members of the ``vmap`` axis ``axis_name``.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.vmap(lambda x: jax.lax.pmax(x, "i"), axis_name="i")(jnp.arange(3.0))
    Array([2., 2., 2.], dtype=float32)
    """
    return tree_map(lambda v: _ops.pmax(v, axis_name), x)


def pmin(x, axis_name):
    """Minimum of ``x`` (a pytree) over the members of the ``vmap`` axis ``axis_name``.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.vmap(lambda x: jax.lax.pmin(x, "i"), axis_name="i")(jnp.arange(3.0))
    Array([0., 0., 0.], dtype=float32)
    """
    return tree_map(lambda v: _ops.pmin(v, axis_name), x)


def axis_index(axis_name):
    """The index of the current member along the ``vmap`` axis ``axis_name`` (int32).

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.vmap(lambda x: jax.lax.axis_index("i"), axis_name="i")(jnp.zeros(3))
    Array([0, 1, 2], dtype=int32)
    """
    return _ops.axis_index(axis_name)
