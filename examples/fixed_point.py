"""Implicit differentiation of a fixed point.

``fixed_point(f, a, x_init)`` iterates ``x = f(a, x)`` in a plain Python loop until it stops
moving. Differentiating through the loop would record every iteration and depend on the starting
guess; the answer ``x*`` depends only on ``a``. The implicit function theorem gives its derivative
from ``x*`` alone: with ``x* = f(a, x*)``, the cotangent ``a_bar`` for a cotangent ``x_bar`` of
``x*`` is ``(df/da)^T u``, where ``u`` solves the linear fixed point ``u = x_bar + (df/dx)^T u``.
The backward rule solves that second fixed point with the same function, so the rule is itself
differentiable and second derivatives work too.

The example computes square roots with Newton's iteration ``x = (x + a / x) / 2`` and checks the
derivatives against ``1 / (2 sqrt(a))`` and ``-1 / (4 a^(3/2))``.
"""

from functools import partial

import pullback as jax
import pullback.numpy as jnp

TOLERANCE = 1e-6
MAX_ITERATIONS = 100


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def fixed_point(f, a, x_init):
    x = x_init
    for _ in range(MAX_ITERATIONS):
        x_next = f(a, x)
        change = float(jnp.sqrt(jnp.sum((x_next - x) ** 2)))
        x = x_next
        if change <= TOLERANCE * (1.0 + float(jnp.sqrt(jnp.sum(x * x)))):
            break
    return x


def fixed_point_fwd(f, a, x_init):
    x_star = fixed_point(f, a, x_init)
    return x_star, (a, x_star)


def fixed_point_bwd(f, res, x_star_bar):
    a, x_star = res

    def adjoint_step(packed, u):
        # u -> x_bar + (df/dx)^T u at x*; its fixed point is the adjoint solution. Everything it
        # differentiates arrives through ``packed``, so the rule stays differentiable.
        a, x_star, x_bar = packed
        _, vjp_wrt_x = jax.vjp(lambda x: f(a, x), x_star)
        return x_bar + vjp_wrt_x(u)[0]

    u = fixed_point(adjoint_step, (a, x_star, x_star_bar), x_star_bar)
    _, vjp_wrt_a = jax.vjp(lambda a: f(a, x_star), a)
    (a_bar,) = vjp_wrt_a(u)
    # x* does not depend on the starting guess.
    return a_bar, jnp.zeros_like(x_star)


fixed_point.defvjp(fixed_point_fwd, fixed_point_bwd)


def newton_step(a, x):
    return 0.5 * (x + a / x)


def newton_sqrt(a):
    return fixed_point(newton_step, a, a)


def main():
    a = jnp.float32(2.0)
    print("sqrt(2):                 ", newton_sqrt(a))
    print("d/da sqrt(a) at 2:       ", jax.grad(newton_sqrt)(a))
    print("  expected 1/(2 sqrt 2): ", 0.5 / 2.0**0.5)
    print("d2/da2 sqrt(a) at 2:     ", jax.grad(jax.grad(newton_sqrt))(a))
    print("  expected -1/(4 2^1.5): ", -0.25 / 2.0**1.5)

    a = jnp.array([1.0, 4.0, 9.0, 16.0])
    with jnp.printoptions(precision=5, suppress=True):
        print("sqrt([1, 4, 9, 16]):     ", newton_sqrt(a))
        print("grad of sum:             ", jax.grad(lambda a: jnp.sum(newton_sqrt(a)))(a))


if __name__ == "__main__":
    main()
