"""Custom forward-mode rules with ``custom_jvp``, and reverse mode from the same rule.

``log1pexp(x) = log(1 + exp(x))`` overflows for large ``x`` and its automatic derivative becomes
``nan``; a JVP rule written with ``1 - 1 / (1 + exp(x))`` stays finite. ``grad`` uses the same rule:
the rule's tangent part is linear in the tangents, so it is transposed. ``safe`` defines the
derivative of ``x / (1 + sqrt(x))`` at 0 by its limit, and ``newton_sqrt`` differentiates a
``while_loop`` implicitly instead of through its iterations.
"""

import pullback as jax
import pullback.numpy as jnp


@jax.custom_jvp
def log1pexp(x):
    return jnp.log(1.0 + jnp.exp(x))


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    (x,) = primals
    (x_dot,) = tangents
    return log1pexp(x), (1 - 1 / (1 + jnp.exp(x))) * x_dot


@jax.custom_jvp
def safe(x):
    return x / (1 + jnp.sqrt(x))


@safe.defjvp
def safe_jvp(primals, tangents):
    (x,) = primals
    (x_dot,) = tangents
    return safe(x), ((jnp.sqrt(x) + 2) / (2 * (jnp.sqrt(x) + 1) ** 2)) * x_dot


@jax.custom_jvp
def newton_sqrt(a):
    def cond(state):
        x, x_prev = state
        return jnp.abs(x - x_prev) > 1e-6

    def body(state):
        x, _ = state
        return 0.5 * (x + a / x), x

    return jax.lax.while_loop(cond, body, (a, a + 1.0))[0]


@newton_sqrt.defjvp
def newton_sqrt_jvp(primals, tangents):
    (a,) = primals
    (a_dot,) = tangents
    x = newton_sqrt(a)
    return x, a_dot / (2 * x)


def main():
    print("grad log1pexp at 3:     ", jax.grad(log1pexp)(3.0))
    print("grad log1pexp at 100:   ", jax.grad(log1pexp)(100.0))
    print("jit(grad) at 3:         ", jax.jit(jax.grad(log1pexp))(3.0))
    print("second derivative at 1: ", jax.grad(jax.grad(log1pexp))(1.0))
    print("grad safe at 0:         ", jax.grad(safe)(0.0))
    print("newton_sqrt(2):         ", newton_sqrt(2.0))
    print("grad newton_sqrt at 2:  ", jax.grad(newton_sqrt)(2.0))
    print(jax.make_jaxpr(log1pexp)(3.0))


if __name__ == "__main__":
    main()
