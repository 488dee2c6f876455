"""Differentiating an external solver: SciPy's linear solve inside jit and grad.

``pure_callback`` runs ``scipy.linalg.solve`` on NumPy arrays from traced code, so the solve can
sit inside a jitted function. The solver is opaque to differentiation; a ``custom_vjp`` supplies
its derivative by the implicit function theorem: ``x = solve(a, b)`` satisfies ``a x = b``, so for
an output cotangent ``g`` one more solve with the transpose, ``a^T l = g``, gives the cotangents
``b_bar = l`` and ``a_bar = -l x^T``. That second solve is a ``pure_callback`` too.

The gradient of a loss through the solver is checked against central finite differences
computed in float64 with SciPy directly.
"""

import functools

import numpy as np
import scipy.linalg

import pullback as jax
import pullback.numpy as jnp


def host_solve(a, b, transposed=False):
    """``a x = b`` (or ``a^T x = b``) solved by SciPy, callable from traced code."""
    solve = functools.partial(scipy.linalg.solve, transposed=transposed)
    return jax.pure_callback(solve, jax.ShapeDtypeStruct(b.shape, b.dtype), a, b)


@jax.custom_vjp
def solve(a, b):
    return host_solve(a, b)


def solve_fwd(a, b):
    x = solve(a, b)
    return x, (a, x)


def solve_bwd(res, g):
    a, x = res
    lam = host_solve(a, g, transposed=True)
    return -jnp.outer(lam, x), lam


solve.defvjp(solve_fwd, solve_bwd)


def loss(a, b):
    x = solve(a, b)
    return jnp.sum(x**2) + x[0]


def central_differences(f, x, eps=1e-6):
    """The gradient of scalar ``f`` at float64 array ``x``, one coordinate at a time."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def main():
    a = jnp.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    b = jnp.array([1.0, 2.0, 3.0])

    x = jax.jit(solve)(a, b)
    value, (a_bar, b_bar) = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))(a, b)
    with jnp.printoptions(precision=5, suppress=True):
        print("x = solve(a, b):  ", x)
        print("a @ x:            ", a @ x)
        print("loss:             ", round(float(value), 5))
        print("grad wrt b:       ", b_bar)
        print("grad wrt a:")
        print(a_bar)

    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)

    def loss64(a, b):
        x = scipy.linalg.solve(a, b)
        return np.sum(x**2) + x[0]

    fd_a = central_differences(lambda a: loss64(a, b64), a64)
    fd_b = central_differences(lambda b: loss64(a64, b), b64)
    close = np.allclose(a_bar, fd_a, rtol=1e-4, atol=1e-5)
    close = close and np.allclose(b_bar, fd_b, rtol=1e-4, atol=1e-5)
    print("matches finite differences:", bool(close))


if __name__ == "__main__":
    main()
