"""Gradient clipping as a custom derivative rule.

Both functions below are the identity on the way forward. On the way back their rules change
the cotangent: ``clip_by_value`` clamps each entry to ``[-limit, limit]``, ``clip_by_norm``
rescales the whole cotangent so that its Euclidean norm is at most ``max_norm``. Put them where
a large gradient would otherwise blow up an update: here, gradient descent on ``x ** 4`` with a
step that is too large for the starting point.
"""

from functools import partial

import pullback as jax
import pullback.numpy as jnp


@partial(jax.custom_vjp, nondiff_argnums=(1,))
def clip_by_value(x, limit):
    return x


def clip_by_value_fwd(x, limit):
    return x, None


def clip_by_value_bwd(limit, _, g):
    return (jnp.clip(g, -limit, limit),)


clip_by_value.defvjp(clip_by_value_fwd, clip_by_value_bwd)


@partial(jax.custom_vjp, nondiff_argnums=(1,))
def clip_by_norm(x, max_norm):
    return x


def clip_by_norm_fwd(x, max_norm):
    return x, None


def clip_by_norm_bwd(max_norm, _, g):
    norm = jnp.sqrt(jnp.sum(g * g))
    factor = jnp.where(norm > max_norm, max_norm / norm, 1.0)
    return (g * factor,)


clip_by_norm.defvjp(clip_by_norm_fwd, clip_by_norm_bwd)


def loss(x):
    return jnp.sum(5.0 * x**2)


def descend(f, x, lr, steps):
    for _ in range(steps):
        x = x - lr * jax.grad(f)(x)
    return x


def main():
    x = jnp.array([1.0, -2.0, 0.05])
    with jnp.printoptions(precision=4, suppress=True):
        print("plain gradient:        ", jax.grad(loss)(x))
        print("clipped by value (1.0):", jax.grad(lambda x: loss(clip_by_value(x, 1.0)))(x))
        print("clipped by norm (1.0): ", jax.grad(lambda x: loss(clip_by_norm(x, 1.0)))(x))

    def quartic(x):
        return jnp.sum(x**4)

    def quartic_clipped(x):
        return quartic(clip_by_norm(x, 1.0))

    x0 = jnp.array([3.0])
    with jnp.printoptions(precision=4, suppress=True):
        print("descent on x**4 from 3, 3 steps, lr 0.1:")
        print("  plain:  ", descend(quartic, x0, 0.1, 3))
        print("descent on x**4 from 3, 40 steps, lr 0.1:")
        print("  clipped:", descend(quartic_clipped, x0, 0.1, 40))


if __name__ == "__main__":
    main()
