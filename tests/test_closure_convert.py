"""``closure_convert`` (custom-vjp-spec §4.8, scenario 60): closed-over values that may be
perturbed become explicit arguments, so a ``custom_vjp`` function can return their cotangents.
Values are compared with JAX 0.10.2 running the same source."""

import functools

import numpy as np
import pytest

import pullback as jax
import pullback.numpy as jnp
from pullback.custom_derivatives import CustomVJPException


def scenario(jax, jnp):
    """Scenario 60, written once for both libraries: ``solve(c, x) = cos(|x - c|^2)`` through a
    custom_vjp whose bwd returns 17 x for x and 42 a for each hoisted value a. Returns ``solve``
    and the list of the numbers of hoisted values, one per call."""
    hoisted = []

    def cos_after(fn, x):
        converted_fn, aux_args = jax.closure_convert(fn, x)
        hoisted.append(len(aux_args))
        return _cos_after(converted_fn, x, *aux_args)

    @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
    def _cos_after(fn, x, *args):
        return jnp.cos(fn(x, *args))

    def fwd(fn, x, *args):
        return _cos_after(fn, x, *args), (x, args)

    def rev(fn, res, g):
        x, args = res
        return (17.0 * x, *[42.0 * a for a in args])

    _cos_after.defvjp(fwd, rev)

    def solve(c, x):
        def closure(x):
            return jnp.sum((x - c) ** 2.0)

        return cos_after(closure, x)

    return solve, hoisted


C = 2.0 * np.ones(2, np.float32)
X = np.ones(2, np.float32)


@pytest.fixture(scope="module")
def real_jax():
    return pytest.importorskip("jax")


def test_value_and_nothing_hoisted_eagerly():
    solve, hoisted = scenario(jax, jnp)
    np.testing.assert_allclose(float(solve(C, X)), -0.41614684, rtol=1e-6)
    assert hoisted == [0]


@pytest.mark.parametrize(
    "transform",
    [
        lambda f: jax.grad(f, argnums=(0, 1)),
        lambda f: jax.jit(jax.grad(f, argnums=(0, 1))),
        lambda f: jax.grad(jax.jit(f), argnums=(0, 1)),
    ],
    ids=["grad", "jit_of_grad", "grad_of_jit"],
)
def test_gradient_reaches_the_closed_over_value(transform):
    solve, hoisted = scenario(jax, jnp)
    g_c, g_x = transform(solve)(C, X)
    np.testing.assert_array_equal(np.asarray(g_c), [84.0, 84.0])  # 42 c
    np.testing.assert_array_equal(np.asarray(g_x), [17.0, 17.0])  # 17 x
    assert hoisted == [1]


def test_matches_jax(real_jax):
    solve, hoisted = scenario(jax, jnp)
    real_solve, real_hoisted = scenario(real_jax, real_jax.numpy)
    np.testing.assert_allclose(float(solve(C, X)), float(real_solve(C, X)), rtol=1e-6)
    got = jax.grad(solve, argnums=(0, 1))(C, X)
    expected = real_jax.grad(real_solve, argnums=(0, 1))(C, X)
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == e.dtype
        np.testing.assert_array_equal(np.asarray(g), np.asarray(e))
    assert hoisted == real_hoisted == [0, 1]


def test_without_closure_convert():
    # the closed-over c reaches the custom_vjp function unconverted: differentiating with respect
    # to it is an error, with respect to x alone it is fine
    @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
    def cos_after(fn, x):
        return jnp.cos(fn(x))

    cos_after.defvjp(lambda fn, x: (cos_after(fn, x), x), lambda fn, x, g: (17.0 * x,))

    def solve(c, x):
        return cos_after(lambda x: jnp.sum((x - c) ** 2.0), x)

    np.testing.assert_array_equal(np.asarray(jax.grad(solve, argnums=1)(C, X)), [17.0, 17.0])
    with pytest.raises(CustomVJPException, match="closed-over value"):
        jax.grad(solve, argnums=0)(C, X)


def test_converted_needs_the_example_structure(real_jax):
    message = (
        "The inputs to the closure produced by closure_convert must have the same Pytree "
        "structure as the example arguments"
    )
    for lib in (jax, real_jax):
        converted, consts = lib.closure_convert(lambda p: p[0] * C, (X,))
        assert consts == []
        with pytest.raises(TypeError, match=message):
            converted(X)
    converted, _ = jax.closure_convert(lambda p: p[0] * C, (X,))
    np.testing.assert_array_equal(np.asarray(converted((X,))), X * C)


def test_only_perturbable_values_are_hoisted(real_jax):
    # under jit, a closed-over float tracer is hoisted, an integer one stays inside
    def count(lib, jnp):
        counts = []

        def f(x, n):
            converted, consts = lib.closure_convert(lambda y: y * x + n, X)
            counts.append(len(consts))
            return converted(X, *consts)

        out = lib.jit(f)(np.float32(3.0), np.int32(2))
        return counts, out

    (counts, out), (real_counts, real_out) = count(jax, jnp), count(real_jax, real_jax.numpy)
    assert counts == real_counts == [1]
    np.testing.assert_array_equal(np.asarray(out), np.asarray(real_out))


def test_cached_for_the_same_function_and_types():
    def fun(x):
        return x * C

    first, _ = jax.closure_convert(fun, X)
    assert jax.closure_convert(fun, X + 1)[0] is first  # same avals: no new trace
    assert jax.closure_convert(fun, X[:1])[0] is not first  # another shape: traced again
    assert jax.closure_convert(fun, X.astype(np.int32))[0] is not first


def test_a_closure_over_tracers_is_not_reused():
    # the same function, closing over a different tracer in each grad: traced each time
    box = {}

    def fun(x):
        return x * box["c"]

    def g(c):
        box["c"] = c
        converted, consts = jax.closure_convert(fun, X)
        assert len(consts) == 1
        return jnp.sum(converted(X, *consts) * c)

    for c in (1.0, 2.0):
        np.testing.assert_allclose(float(jax.grad(g)(np.float32(c))), 2 * c * X.sum())
