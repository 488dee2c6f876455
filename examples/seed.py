"""The example from the documentation of ``custom_vjp.defvjp``.

``f(x, y) = sin(x) * y`` gets a hand-written reverse-mode rule: the forward rule saves
``cos(x)``, ``sin(x)`` and ``y``, and the backward rule turns them into the two cotangents.
"""

import pullback as jax
import pullback.numpy as jnp


@jax.custom_vjp
def f(x, y):
    return jnp.sin(x) * y


def f_fwd(x, y):
    return f(x, y), (jnp.cos(x), jnp.sin(x), y)


def f_bwd(res, g):
    cos_x, sin_x, y = res
    return (cos_x * g * y, sin_x * g)


f.defvjp(f_fwd, f_bwd)


def main():
    x = jnp.float32(1.0)
    y = jnp.float32(2.0)
    with jnp.printoptions(precision=2):
        print(jax.value_and_grad(f)(x, y))


if __name__ == "__main__":
    main()
