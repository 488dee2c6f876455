"""Custom rules closing over values of enclosing transformations (issue 11, item 1): a
``custom_vjp``/``custom_jvp`` function and its rules may close over a value of an enclosing
``vmap``, ``jit``, ``jvp`` or ``grad`` that is not the differentiation the rule answers for. Which
interpreter owns the value decides, not whether it is a tracer. Each program runs on pullback
and, where installed, on JAX."""

import numpy as np
import pytest

import pullback
import pullback.numpy as pnp

LIBS = ["pullback", "jax"]
YS = np.array([1.0, 2.0, 3.0], np.float32)


def _lib(name):
    if name == "jax":
        jax = pytest.importorskip("jax")
        return jax, jax.numpy
    return pullback, pnp


def _scaled_vjp(jax, jnp, y):
    """``sin(x) * y`` with a custom VJP, closing over ``y``."""

    @jax.custom_vjp
    def g(x):
        return jnp.sin(x) * y

    g.defvjp(lambda x: (jnp.sin(x) * y, jnp.cos(x)), lambda c, ct: (ct * y * c,))
    return g


def _scaled_jvp(jax, jnp, y):
    """``sin(x) * y`` with a custom JVP whose rule closes over ``y``."""

    @jax.custom_jvp
    def h(x):
        return jnp.sin(x) * y

    @h.defjvp
    def h_jvp(primals, tangents):
        (x,), (tx,) = primals, tangents
        return h(x), jnp.cos(x) * y * tx

    return h


def _value(jax, jnp, make):
    return lambda y: make(jax, jnp, y)(2.0)


def _grad_at_constant(jax, jnp, make):
    return lambda y: jax.grad(make(jax, jnp, y))(2.0)


def _jvp_at_constant(jax, jnp, make):
    return lambda y: jax.jvp(make(jax, jnp, y), (2.0,), (1.0,))


SIN2, COS2 = np.sin(np.float32(2.0)), np.cos(np.float32(2.0))
PROGRAMS = {
    "value": (_value, lambda: (YS * SIN2,)),
    "grad_at_constant": (_grad_at_constant, lambda: (YS * COS2,)),
    "jvp_at_constant": (_jvp_at_constant, lambda: (YS * SIN2, YS * COS2)),
}
WRAPPERS = {
    "vmap": lambda jax, f: jax.vmap(f),
    "jit_vmap": lambda jax, f: jax.jit(jax.vmap(f)),
    "vmap_jit": lambda jax, f: jax.vmap(jax.jit(f)),
}


# JAX has no forward mode over custom_vjp (docs/differences.md): that case runs on pullback only
CASES = [
    (lib, kind, program)
    for lib in LIBS
    for kind in ("custom_vjp", "custom_jvp")
    for program in PROGRAMS
    if not (lib == "jax" and kind == "custom_vjp" and program == "jvp_at_constant")
]


@pytest.mark.parametrize("wrapper", WRAPPERS)
@pytest.mark.parametrize(("lib", "kind", "program"), CASES)
def test_rule_closes_over_a_batched_value_called_unbatched(lib, kind, program, wrapper):
    jax, jnp = _lib(lib)
    make = _scaled_vjp if kind == "custom_vjp" else _scaled_jvp
    build, expected = PROGRAMS[program]
    got = WRAPPERS[wrapper](jax, build(jax, jnp, make))(YS)
    for g, e in zip(jax.tree_util.tree_leaves(got), expected(), strict=True):
        assert g.dtype == np.float32 and g.shape == (3,)
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-6)


def _loss_over_closures(jax, jnp):
    return lambda x: jax.vmap(lambda y: _scaled_vjp(jax, jnp, y)(x))(YS).sum()


def test_grad_of_vmap_over_a_closure_runs_the_rule():
    """The closed-over value is batched but not differentiated: ``bwd``, batched when the
    backward pass runs (after the vmap is over), gives the derivative."""
    loss = _loss_over_closures(pullback, pnp)
    np.testing.assert_allclose(float(pullback.grad(loss)(0.5)), YS.sum() * np.cos(0.5), rtol=1e-6)
    check = pullback.test_util.check_grads
    check(_loss_over_closures(pullback, pnp), (np.float64(0.5),), order=1, modes=["rev"])


def test_jax_cannot_take_grad_of_vmap_over_a_closure():
    """A documented difference: JAX's batched ``bwd`` meets the vmap's tracer after it ended."""
    jax = pytest.importorskip("jax")
    with pytest.raises(jax.errors.UnexpectedTracerError):
        jax.grad(_loss_over_closures(jax, jax.numpy))(0.5)


@pytest.mark.parametrize("lib", LIBS)
def test_rule_and_function_batched_by_the_argument_and_the_closure(lib):
    jax, jnp = _lib(lib)

    def per_example(y, x):
        return jax.grad(_scaled_vjp(jax, jnp, y))(x)

    xs = np.array([0.1, 0.2, 0.3], np.float32)
    got = jax.vmap(per_example)(YS, xs)
    np.testing.assert_allclose(np.asarray(got), YS * np.cos(xs), rtol=1e-6)


@pytest.mark.parametrize("lib", LIBS)
def test_custom_jvp_rule_closing_over_vmap_value_under_outer_jvp(lib):
    jax, jnp = _lib(lib)

    def f(x):
        return jax.vmap(lambda y: _scaled_jvp(jax, jnp, y)(x))(YS)

    out, tangent = jax.jvp(f, (2.0,), (1.0,))
    np.testing.assert_allclose(np.asarray(out), YS * SIN2, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(tangent), YS * COS2, rtol=1e-6)


@pytest.mark.parametrize("lib", LIBS)
def test_nested_custom_jvp_closing_over_jit_values_inside_vmap(lib):
    jax, jnp = _lib(lib)

    def outer(y):
        @jax.jit
        def inner(z):
            @jax.custom_jvp
            def h(x):
                return x * z

            h.defjvp(lambda p, t: (h(p[0]), t[0] * z))

            @jax.custom_jvp
            def k(x):
                return h(x) * z

            k.defjvp(lambda p, t: (k(p[0]), t[0] * z * z))
            return jax.grad(k)(3.0) + k(1.0)

        return inner(y)

    np.testing.assert_allclose(np.asarray(jax.vmap(outer)(YS)), 2 * YS**2, rtol=1e-6)


@pytest.mark.parametrize("lib", LIBS)
def test_closure_returned_unchanged_by_the_batched_function(lib):
    """``fun`` may hand the closed-over batched value straight back."""
    jax, jnp = _lib(lib)

    def outer(y):
        @jax.custom_vjp
        def g(x):
            return x + y, y

        g.defvjp(lambda x: (g(x), None), lambda _, ct: (ct[0],))
        return g(1.0)

    a, b = jax.vmap(outer)(YS)
    np.testing.assert_allclose(np.asarray(a), YS + 1)
    np.testing.assert_allclose(np.asarray(b), YS)


def test_differentiating_with_respect_to_a_closed_over_value_stays_an_error():
    def f(y):
        return _scaled_vjp(pullback, pnp, y)(1.0)

    with pytest.raises(pullback.errors.CustomVJPException, match="^Detected differentiation"):
        pullback.grad(f)(2.0)
    # batched as well as differentiated: still the differentiation that is refused
    with pytest.raises(pullback.errors.CustomVJPException, match="^Detected differentiation"):
        pullback.grad(lambda y: pullback.vmap(f)(y * pnp.ones(3)).sum())(2.0)


def test_jax_refuses_differentiating_a_closed_over_value_too():
    jax = pytest.importorskip("jax")

    def f(y):
        return _scaled_vjp(jax, jax.numpy, y)(1.0)

    with pytest.raises(Exception):  # noqa: B017 - JAX's type varies between versions
        jax.grad(f)(2.0)


def test_an_escaped_batched_value_is_an_escape_not_a_differentiation():
    leaked = []

    def keep(y):
        leaked.append(y)
        return y

    pullback.vmap(keep)(YS)
    g = _scaled_vjp(pullback, pnp, leaked[0])
    with pytest.raises(pullback.errors.UnexpectedTracerError, match="outside the transformation"):
        pullback.grad(g)(1.0)
