"""Straight-through estimators: differentiate through rounding and sign.

``round`` and ``sign`` are flat almost everywhere, so their true derivative is zero and nothing
upstream of them can learn. A straight-through estimator keeps the exact forward value but
pretends, on the way back, that the function was the identity (for ``round``) or a clipped
identity (for ``sign``: the cotangent passes where ``|x| <= 1`` and is zero elsewhere).

The second half trains a model with weights in {-1, +1}: latent real weights ``w`` are turned into
signs on the way forward, and the estimator lets the squared error reach ``w``.
"""

import pullback as jax
import pullback.numpy as jnp


@jax.custom_vjp
def round_ste(x):
    return jnp.round(x)


def round_ste_fwd(x):
    return jnp.round(x), None


def round_ste_bwd(_, g):
    return (g,)


round_ste.defvjp(round_ste_fwd, round_ste_bwd)


@jax.custom_vjp
def sign_ste(x):
    return jnp.sign(x)


def sign_ste_fwd(x):
    return jnp.sign(x), x


def sign_ste_bwd(x, g):
    return (jnp.where(jnp.abs(x) <= 1.0, g, 0.0),)


sign_ste.defvjp(sign_ste_fwd, sign_ste_bwd)


def main():
    x = jnp.array([0.2, 1.7, -0.6, 2.5])
    c = jnp.array([1.0, 2.0, 3.0, 4.0])
    with jnp.printoptions(precision=4, suppress=True):
        print("round(x):                 ", round_ste(x))
        print("grad through jnp.round:   ", jax.grad(lambda x: jnp.sum(c * jnp.round(x)))(x))
        print("grad through round_ste:   ", jax.grad(lambda x: jnp.sum(c * round_ste(x)))(x))
        print("grad through sign_ste:    ", jax.grad(lambda x: jnp.sum(c * sign_ste(x)))(x))

    # Binary weights: fit y = X @ w_true with w_true in {-1, +1}^4.
    X = jnp.array(
        [
            [1.0, 0.5, -1.0, 2.0],
            [0.0, 1.0, 1.0, -1.0],
            [2.0, -1.0, 0.5, 0.0],
            [1.0, 1.0, 1.0, 1.0],
            [-1.0, 2.0, 0.0, 0.5],
        ]
    )
    w_true = jnp.array([1.0, -1.0, -1.0, 1.0])
    y = X @ w_true

    def loss(w):
        return jnp.mean((X @ sign_ste(w) - y) ** 2)

    w = jnp.array([-0.3, 0.2, 0.1, -0.05])
    print("initial loss:", round(float(loss(w)), 4))
    for _ in range(30):
        w = w - 0.05 * jax.grad(loss)(w)
    with jnp.printoptions(precision=4, suppress=True):
        print("learned signs:", jnp.sign(w))
    print("final loss:", round(float(loss(w)), 4))


if __name__ == "__main__":
    main()
