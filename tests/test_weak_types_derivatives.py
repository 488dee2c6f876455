"""Weak types through derivatives (issue 11, item 7), each case against JAX where installed: the
gradient with respect to a Python float is weakly typed eagerly and under ``jit``, ``vmap`` and
forward mode, and nothing computed from weak constants alone drifts to 64 bits."""

import numpy as np
import pytest

import pullback
import pullback.numpy as pnp
from pullback._core import EVAL, RAW
from pullback._ops.elementwise import mul_p

LIBS = ["pullback", "jax"]


def _lib(name):
    if name == "jax":
        jax = pytest.importorskip("jax")
        return jax, jax.numpy
    return pullback, pnp


def _grad_of_constant_derivative(jax, jnp):
    return jax.grad(lambda v: (v * 2.0).sum())


CASES = {
    "grad": lambda jax, jnp: jax.grad(lambda x: x * 2)(0.7),
    "jit_grad": lambda jax, jnp: jax.jit(jax.grad(lambda x: jnp.sin(x) * 2))(0.7),
    "grad_with_strong_constant": lambda jax, jnp: jax.grad(lambda x: x * jnp.float32(2))(0.7),
    "jvp_of_grad_primal": lambda jax, jnp: jax.jvp(
        _grad_of_constant_derivative(jax, jnp), (0.7,), (1.0,)
    )[0],
    "jvp_of_grad_tangent": lambda jax, jnp: jax.jvp(
        _grad_of_constant_derivative(jax, jnp), (0.7,), (1.0,)
    )[1],
    "jit_of_weak_constants": lambda jax, jnp: jax.jit(lambda x: jnp.ones_like(x) * 2.0)(0.7),
    "jvp_of_jit_of_weak_constants": lambda jax, jnp: jax.jvp(
        jax.jit(lambda x: jnp.ones_like(x) * 2.0), (0.7,), (1.0,)
    )[0],
    "jit_of_weak_integer_constants": lambda jax, jnp: jax.jit(lambda x: jnp.ones_like(x) // 2)(3),
    "hessian": lambda jax, jnp: jax.hessian(lambda x: x**3)(0.7),
    "jacfwd": lambda jax, jnp: jax.jacfwd(lambda x: x * 2)(0.7),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("lib", LIBS)
def test_weak_types_through_derivatives(lib, case):
    jax, jnp = _lib(lib)
    out = CASES[case](jax, jnp)
    assert out.dtype in (np.float32, np.int32), (case, out.dtype)
    assert out.weak_type, case


def test_third_derivative_through_a_custom_rule_stays_32_bit():
    c = pnp.float32(0.5)
    f = pullback.custom_vjp(lambda x: x * x * c)
    f.defvjp(lambda x: (x * x * c, x), lambda x, g: (2 * x * c * g,))

    def second(x):
        first = pullback.grad(lambda v: f(v).sum())
        return pullback.grad(lambda v: first(v).sum())(x)

    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    y, pull = pullback.vjp(second, x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(y), np.ones((2, 3)))
    (ct,) = pull(pnp.ones((2, 3)))
    assert ct.dtype == np.float32


@pytest.mark.parametrize("level", [RAW, EVAL])
def test_numpy_values_beside_python_ints_keep_their_dtype(level):
    """The values of a backward pass on NumPy beside a Python int: NumPy would make a float32
    value times an int32 scalar float64."""
    for x in (np.float32(2.0), np.ones(2, np.float32)):
        assert np.asarray(level.process2(mul_p, x, 3)).dtype == np.float32
        assert np.asarray(level.process2(mul_p, 3, x)).dtype == np.float32
