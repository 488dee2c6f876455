"""grad, value_and_grad, vjp, stop_gradient, check_grads and Array basics."""

import math

import numpy as np
import pytest

import pullback as jax
import pullback.numpy as jnp
from pullback._core import UnexpectedTracerError
from pullback.test_util import check_grads


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


# -- grad and friends -----------------------------------------------------------------------------


def test_grad_argnums_int_and_tuple():
    f = lambda x, y, z: x * y + z * z
    close(jax.grad(f)(2.0, 3.0, 4.0), 3.0)
    close(jax.grad(f, 2)(2.0, 3.0, 4.0), 8.0)
    gx, gz = jax.grad(f, (0, 2))(2.0, 3.0, 4.0)
    close(gx, 3.0)
    close(gz, 8.0)
    close(jax.grad(f, -1)(2.0, 3.0, 4.0), 8.0)


def test_grad_keyword_arguments_pass_through():
    close(jax.grad(lambda x, scale=1.0: x * x * scale)(3.0, scale=2.0), 12.0)


def test_grad_pytree_input():
    g = jax.grad(lambda p: jnp.sum(p["w"] * p["b"][0]))({"w": jnp.ones(3), "b": [2.0]})
    close(g["w"], [2.0, 2.0, 2.0])
    close(g["b"][0], 3.0)


def test_grad_non_scalar_output():
    with pytest.raises(
        TypeError,
        match=r"Gradient only defined for scalar-output functions. "
        r"Output had shape: \(3,\)",
    ):
        jax.grad(lambda x: x * 2)(jnp.ones(3))


def test_grad_integer_input_needs_allow_int():
    with pytest.raises(TypeError, match="grad requires real- or complex-valued inputs.*int32"):
        jax.grad(lambda x: x * 1.0)(jnp.asarray(3))
    g = jax.grad(lambda x, y: x * y, allow_int=True)(jnp.asarray(3), 2.0)
    assert g.dtype == jax.dtypes.float0


def test_grad_integer_output():
    with pytest.raises(TypeError, match="real-valued outputs"):
        jax.grad(lambda x: (x > 0).astype(jnp.int32))(1.0)


def test_grad_wrong_argnums():
    with pytest.raises(TypeError, match="argnums=3 requires at least 4 positional arguments"):
        jax.grad(lambda x, y: x * y, 3)(1.0, 2.0)


def test_grad_invalid_argument_type():
    with pytest.raises(TypeError, match="'hello' of type <class 'str'> is not a valid JAX type"):
        jax.grad(lambda x: 1.0)("hello")


def test_has_aux():
    g, aux = jax.grad(lambda x: (x * x, {"y": x + 1}), has_aux=True)(3.0)
    close(g, 6.0)
    close(aux["y"], 4.0)
    assert type(aux["y"]) is jax.Array
    (v, aux), g = jax.value_and_grad(lambda x: (x * x, x), has_aux=True)(3.0)
    close(v, 9.0)
    with pytest.raises(TypeError, match="has_aux=True, so it must return a pair"):
        jax.grad(lambda x: x, has_aux=True)(1.0)


def test_value_and_grad_dtypes_follow_inputs():
    v, g = jax.value_and_grad(lambda x: jnp.sum(jnp.sin(x)))(jnp.ones(3))
    assert v.dtype == np.float32 and g.dtype == np.float32
    assert not v.weak_type and not g.weak_type
    v, g = jax.value_and_grad(jnp.sin)(1.0)
    assert v.weak_type and g.weak_type


def test_vjp_multiple_outputs_and_zero_cotangents():
    y, f_vjp = jax.vjp(lambda x, y: (x * y, x + y), 2.0, 3.0)
    close(y[0], 6.0)
    gx, gy = f_vjp((1.0, 0.0))
    close(gx, 3.0)
    close(gy, 2.0)
    gx, gy = jax.vjp(lambda x, y: x, 2.0, 3.0)[1](1.0)
    close(gy, 0.0)


def test_vjp_checks_cotangent():
    _, f_vjp = jax.vjp(jnp.sin, jnp.ones(3))
    with pytest.raises(ValueError, match=r"got float32\[2\], but expected float32\[3\]"):
        f_vjp(jnp.ones(2))
    with pytest.raises(ValueError, match="^unexpected tree structure"):
        f_vjp((jnp.ones(3),))


def test_vjp_has_aux():
    y, f_vjp, aux = jax.vjp(lambda x: (x * 2, "meta"), 1.0, has_aux=True)
    assert aux == "meta"
    close(f_vjp(1.0)[0], 2.0)


def test_stop_gradient():
    close(jax.grad(lambda x: x * jax.stop_gradient(x))(3.0), 3.0)
    close(jax.grad(lambda x: jnp.sum(jax.stop_gradient({"a": x})["a"]) + x)(1.0), 1.0)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_higher_order(order):
    f = jnp.sin
    for _ in range(order):
        f = jax.grad(f)
    expected = [math.cos, lambda x: -math.sin(x), lambda x: -math.cos(x)][order - 1](0.7)
    close(f(0.7), expected, 1e-5)


def test_escaped_tracer_is_an_error():
    leaked = []
    jax.grad(lambda x: leaked.append(x) or x * 2)(1.0)
    with pytest.raises(UnexpectedTracerError, match="outside the transformation"):
        jnp.sin(leaked[0])


def test_python_control_flow_on_values_eagerly():
    f = lambda x: jnp.sin(x) if x > 0 else jnp.cos(x)
    close(jax.grad(f)(1.0), math.cos(1.0))
    close(jax.grad(f)(-1.0), math.sin(1.0))


# -- x64 ------------------------------------------------------------------------------------------


def test_x64_context_manager():
    with jax.enable_x64():
        x = jnp.asarray(1.5)
        assert x.dtype == np.float64
        g = jax.grad(lambda x: x * x)(x)
        assert g.dtype == np.float64
    assert jnp.asarray(1.5).dtype == np.float32


def test_config_update_x64():
    jax.config.update("jax_enable_x64", True)
    try:
        assert jnp.asarray(np.ones(2)).dtype == np.float64
    finally:
        jax.config.update("jax_enable_x64", False)
    assert jnp.asarray(np.ones(2)).dtype == np.float32


# -- check_grads ----------------------------------------------------------------------------------


def test_check_grads_passes_on_correct_rules():
    check_grads(lambda x, y: jnp.sum(jnp.tanh(x) * y), (jnp.ones(3), jnp.arange(3.0)), order=2)


def test_check_grads_names_argument_and_leaf():
    bad = jax.custom_vjp(lambda x: jnp.sin(x))
    bad.defvjp(lambda x: (bad(x), jnp.cos(x)), lambda c, g: (2 * c * g,))
    with pytest.raises(AssertionError, match=r"w.r.t. argument 1, leaf \['w'\] disagrees"):
        check_grads(lambda a, p: jnp.sum(bad(p["w"])) + a, (1.0, {"w": jnp.ones(3)}), order=1)


def test_check_grads_second_order_failure():
    # first derivative right, second wrong: bwd uses a constant instead of cos(x)
    f = jax.custom_vjp(lambda x: jnp.sin(x))
    f.defvjp(lambda x: (f(x), jnp.cos(jax.stop_gradient(x))), lambda c, g: (c * g,))
    check_grads(f, (0.3,), order=1)
    with pytest.raises(AssertionError, match=r"order 2"):
        check_grads(f, (0.3,), order=2)


def test_check_grads_modes():
    check_grads(jnp.sin, (1.0,), order=2, modes=("fwd",))
    check_grads(lambda x, y: jnp.sin(x) * y, (0.5, jnp.ones(3)), order=2, modes=("fwd", "rev"))
    with pytest.raises(ValueError, match="unknown modes"):
        check_grads(jnp.sin, (1.0,), order=1, modes=("sideways",))


def test_check_grads_fwd_catches_a_wrong_jvp():
    with pytest.raises(AssertionError, match="forward-mode derivative"):
        check_grads(lambda x: jax.lax.stop_gradient(x) * x, (0.5,), order=1, modes=("fwd",))


# -- Array ----------------------------------------------------------------------------------------


def test_array_repr_and_str():
    assert repr(jnp.array([0.0, 1.0])) == "Array([0., 1.], dtype=float32)"
    assert repr(jnp.asarray(1.5)) == "Array(1.5, dtype=float32, weak_type=True)"
    assert str(jnp.array([0.0, 1.0])) == "[0. 1.]"
    with jnp.printoptions(precision=2):
        assert repr(jnp.asarray(np.float32(1.6829419))) == "Array(1.68, dtype=float32)"
    assert repr(jnp.ones((2, 2))) == "Array([[1., 1.],\n       [1., 1.]], dtype=float32)"


def test_array_is_immutable_and_numpy_interop():
    a = jnp.array([1.0, 2.0])
    view = np.asarray(a)
    with pytest.raises(ValueError):
        view[0] = 5.0
    assert np.asarray(a).dtype == np.float32
    assert (np.ones(2) + a).__class__ is jax.Array
    assert a.block_until_ready() is a
    assert float(jnp.asarray(2.5)) == 2.5 and int(jnp.asarray(3)) == 3
    assert jnp.asarray(2.5).item() == 2.5 and a.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="unhashable"):
        hash(a)


def test_array_operators():
    a = jnp.array([1.0, 2.0])
    close(a + 1, [2, 3])
    close(1 - a, [0, -1])
    close(2 / a, [2, 1])
    close(a**2, [1, 4])
    close(2**a, [2, 4])
    close(-a, [-1, -2])
    close(abs(-a), [1, 2])
    assert (a > 1).dtype == np.bool_
    close(a == 1.0, [True, False])


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x + 2.0,
        lambda x: 2.0 + x,
        lambda x: x - 2,
        lambda x: 2.0 - x,
        lambda x: x * 3,
        lambda x: 3.0 * x,
        lambda x: x / 4.0,
        lambda x: 4.0 / x,
        lambda x: (x + 1.0) * (x - 1.0) + x,
    ],
)
def test_scalar_operators_on_tracers(f):
    check_grads(lambda x: jnp.sum(f(x) * f(x)), (jnp.array([0.5, 1.5, -2.0]),), order=2)
    g = jax.grad(lambda x: jnp.sum(f(x)))(jnp.array([0.5, 1.5], jnp.float32))
    assert g.dtype == np.float32 and not g.weak_type
    assert jax.grad(lambda x: f(x))(1.0).weak_type


def test_grad_through_one_used_output_of_a_multiple_result_primitive():
    w = jnp.ones((2, 3))
    got = jax.grad(lambda x: (jnp.split(x, [2], 0)[0] * w).sum())(jnp.ones((3, 3)))
    np.testing.assert_array_equal(np.asarray(got), [[1, 1, 1], [1, 1, 1], [0, 0, 0]])
