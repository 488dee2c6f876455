"""Names JAX programs with custom rules use (issue 11, item 5), against JAX where installed:
``float0``, ``jnp.ndim``/``shape``/``size``, a ``functools.partial`` as the function of
``custom_jvp``/``custom_vjp``, keyword-only parameters left at their defaults, and binding
errors raised before any rule runs."""

import functools

import numpy as np
import pytest

import pullback as jax
import pullback.numpy as jnp


@pytest.fixture
def real():
    return pytest.importorskip("jax")


def _same(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_float0_is_jaxs(real):
    assert jax.float0 == real.float0
    assert jax.float0 is jax.dtypes.float0
    grads = jax.grad(lambda x, i: x * i, argnums=(0, 1), allow_int=True)(2.0, 3)
    assert grads[1].dtype == jax.float0


@pytest.mark.parametrize("value", [1.0, 3, np.ones((2, 3, 4), np.float32), np.float32(2.0)])
def test_ndim_shape_size(value, real):
    for name in ("ndim", "shape", "size"):
        assert getattr(jnp, name)(value) == getattr(real.numpy, name)(value), name
    a = jnp.asarray(value)
    assert (jnp.ndim(a), jnp.shape(a), jnp.size(a)) == (a.ndim, a.shape, a.size)


def test_ndim_and_shape_of_traced_values():
    seen = []

    def f(x):
        seen.append((jnp.ndim(x), jnp.shape(x), jnp.size(x), jnp.size(x, 0)))
        return x

    jax.jit(f)(jnp.ones((2, 3)))
    jax.vmap(f)(jnp.ones((4, 2, 3)))
    assert seen == [(2, (2, 3), 6, 2), (2, (2, 3), 6, 2)]


def _scale(x, y):
    return x * y


def _partial_custom_jvp(lib):
    f = lib.custom_jvp(functools.partial(_scale, y=2.0))
    f.defjvp(lambda primals, tangents: (f(*primals), tangents[0] * 2.0))
    return f


def _partial_custom_vjp(lib):
    f = lib.custom_vjp(functools.partial(_scale, y=2.0))
    f.defvjp(lambda x: (f(x), None), lambda _, g: (g * 3.0,))  # a rule that shows it ran
    return f


@pytest.mark.parametrize("make", [_partial_custom_jvp, _partial_custom_vjp])
def test_a_partial_as_the_function(make, real):
    f, rf = make(jax), make(real)
    assert f.__name__ == "_scale"
    x = np.float32(1.5)
    _same(f(x), rf(x))
    _same(jax.grad(f)(x), real.grad(rf)(x))
    _same(jax.jit(jax.grad(f))(x), real.jit(real.grad(rf))(x))
    xs = np.ones(3, np.float32)
    _same(jax.vmap(jax.grad(f))(xs), real.vmap(real.grad(rf))(xs))
    assert str(jax.make_jaxpr(f)(x)) == str(real.make_jaxpr(rf)(x))


def _power_with_jax_style_rule(lib):
    """A keyword-only parameter with a default, and a rule written for JAX: fwd does not take
    it (JAX never passes it)."""

    @lib.custom_vjp
    def power(x, *, p=2.0):
        return x**p

    power.defvjp(lambda x: (x**2, x), lambda x, g: (2 * x * g,))
    return power


def test_keyword_only_default_is_not_passed_to_the_rules(real):
    f, rf = _power_with_jax_style_rule(jax), _power_with_jax_style_rule(real)
    _same(jax.grad(f)(3.0), real.grad(rf)(3.0))
    _same(jax.jit(jax.grad(f))(3.0), real.jit(real.grad(rf))(3.0))


def test_keyword_only_argument_passed_reaches_fun_and_fwd():
    @jax.custom_vjp
    def power(x, *, p=2.0):
        return x**p

    power.defvjp(lambda x, *, p=2.0: (x**p, (x, p)), lambda r, g: (r[1] * r[0] ** (r[1] - 1) * g,))
    assert float(jax.grad(power)(3.0)) == 6.0
    assert float(jax.grad(lambda x: power(x, p=3.0))(3.0)) == 27.0


@pytest.mark.parametrize("kind", ["custom_vjp", "custom_jvp"])
def test_binding_errors_before_any_rule_runs(kind, real):
    ran = []

    def make(lib):
        f = getattr(lib, kind)(lambda x, y: x * y)
        if kind == "custom_vjp":
            f.defvjp(lambda x, y: ran.append("fwd") or (x * y, None), lambda r, g: (g, g))
        else:
            f.defjvp(lambda p, t: ran.append("jvp") or (p[0] * p[1], t[0]))
        return f

    with pytest.raises(TypeError, match="missing a required argument: 'y'") as ours:
        jax.grad(make(jax))(1.0)
    with pytest.raises(TypeError, match="missing a required argument: 'y'") as theirs:
        real.grad(make(real))(1.0)
    assert ran == []
    assert "missing a required argument: 'y'" in str(ours.value)
    assert type(ours.value) is type(theirs.value)
