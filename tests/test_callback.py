"""``pure_callback``: eager and jitted calls agree with each other and with JAX 0.10.2; the
callback sees read-only NumPy arrays; a result that does not match ``result_shape_dtypes`` and
differentiating through a callback are clear errors."""

import functools

import numpy as np
import pytest

import pullback as jax
import pullback.numpy as jnp

X = np.array([0.5, -1.0, 2.0], np.float32)
M = np.array([[2.0, 1.0], [1.0, 3.0]], np.float32)


@pytest.fixture(scope="module")
def real_jax():
    return pytest.importorskip("jax")


def host_sin(x):
    return np.sin(x)


def sin_cb(x):
    return jax.pure_callback(host_sin, jax.ShapeDtypeStruct(x.shape, x.dtype), x)


def _solve_and_norm(m, b, *, scale):
    sol = np.linalg.solve(m, b) * scale
    return {"sol": sol, "norm": np.linalg.norm(sol).astype(np.float32)}


def pytree_cb(m, b):
    result = {
        "sol": jax.ShapeDtypeStruct(b.shape, b.dtype),
        "norm": jax.ShapeDtypeStruct((), b.dtype),
    }
    return jax.pure_callback(_solve_and_norm, result, m, b, scale=2.0)


def scalar_args_cb(x):
    # Python scalars reach the callback as arrays of the default dtype
    def host(x, a, n):
        assert (a.dtype, n.dtype) == (np.float32, np.int32), (a.dtype, n.dtype)
        return x * a + n

    return jax.pure_callback(host, jax.ShapeDtypeStruct(x.shape, x.dtype), x, 1.5, 2)


CASES = {
    "sin": (sin_cb, (X,)),
    "pytree": (pytree_cb, (M, X[:2])),
    "scalar_args": (scalar_args_cb, (X,)),
}


def _leaves(tree):
    return jax.tree_util.tree_leaves(tree)


@pytest.mark.parametrize("name", list(CASES))
def test_eager_jit_and_jax_agree(name, real_jax):
    fun, args = CASES[name]
    eager = fun(*args)
    jitted = jax.jit(fun)(*args)
    with_jax = real_jax.jit(_with_jax(fun))(*args)
    assert jax.tree_util.tree_structure(eager) == jax.tree_util.tree_structure(jitted)
    for e, j, r in zip(_leaves(eager), _leaves(jitted), _leaves(with_jax), strict=True):
        assert isinstance(e, jax.Array) and isinstance(j, jax.Array)
        assert e.dtype == j.dtype == r.dtype and e.shape == j.shape == r.shape
        assert not e.weak_type and not j.weak_type
        np.testing.assert_array_equal(np.asarray(e), np.asarray(j))
        np.testing.assert_allclose(np.asarray(e), np.asarray(r), rtol=1e-6)


def _with_jax(fun):
    """``fun`` run with JAX in place of pullback (the functions tested here read ``jax`` and
    ``jnp`` from this module's globals)."""
    real = {"jax": pytest.importorskip("jax"), "jnp": pytest.importorskip("jax.numpy")}

    @functools.wraps(fun)
    def run(*args):
        saved = {name: globals()[name] for name in real}
        globals().update(real)
        try:
            return fun(*args)
        finally:
            globals().update(saved)

    return run


def test_staged_as_an_equation():
    text = str(jax.make_jaxpr(sin_cb)(X))
    assert text == (
        "{ lambda ; a:f32[3]. let\n"
        "    b:f32[3] = pure_callback[\n"
        "      callback=host_sin\n"
        "      result_avals=(ShapedArray(float32[3]),)\n"
        "      sharding=None\n"
        "      vmap_method=None\n"
        "    ] a\n"
        "  in (b,) }"
    )


def test_keyword_arguments_are_operands_and_vmap_method_is_shown():
    def f(x):
        return jax.pure_callback(
            lambda x, k: x * k,
            jax.ShapeDtypeStruct(x.shape, x.dtype),
            x,
            k=jnp.float32(2.0),
            vmap_method="sequential",
        )

    text = str(jax.make_jaxpr(f)(X))
    assert "vmap_method=sequential" in text
    assert text.endswith("] a 2.0:f32[]\n  in (b,) }")
    np.testing.assert_array_equal(np.asarray(f(X)), X * 2)
    np.testing.assert_array_equal(np.asarray(jax.jit(f)(X)), X * 2)


def test_callback_sees_read_only_numpy_arrays():
    seen = []

    def host(x, y):
        seen.append((type(x), type(y), x.flags.writeable, y.flags.writeable))
        return x + y

    def f(x):
        return jax.pure_callback(host, jax.ShapeDtypeStruct(x.shape, x.dtype), x, x * 2)

    x = jnp.asarray(X)
    f(x)
    jax.jit(f)(x)
    assert seen == [(np.ndarray, np.ndarray, False, False)] * 2
    np.testing.assert_array_equal(np.asarray(x), X)  # the input is unchanged

    def host_one(x):  # one operand takes a path of its own
        seen.append((type(x), x.flags.writeable))
        return np.sin(x)

    g = lambda x: jax.pure_callback(host_one, jax.ShapeDtypeStruct(x.shape, x.dtype), x)  # noqa: E731
    for run in (g, jax.jit(g), jax.jit(lambda x: g(x * 2.0))):
        seen.clear()
        run(x)
        assert seen == [(np.ndarray, False)]


def test_callback_runs_once_per_jitted_call():
    calls = []

    def host(x):
        calls.append(1)
        return x

    f = jax.jit(lambda x: jax.pure_callback(host, jax.ShapeDtypeStruct(x.shape, x.dtype), x))
    for _ in range(3):
        f(X)
    assert len(calls) == 3


def test_float64_result_counts_as_float32_without_x64(real_jax):
    # NumPy's float64 default is canonicalized, as JAX does
    spec = jax.ShapeDtypeStruct((3,), np.float32)
    out = jax.pure_callback(lambda: np.ones(3), spec)
    ref = real_jax.pure_callback(lambda: np.ones(3), real_jax.ShapeDtypeStruct((3,), np.float32))
    assert out.dtype == ref.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(out), np.asarray(ref))


def test_float64_result_with_x64():
    with jax.enable_x64(True):
        spec = jax.ShapeDtypeStruct((2,), np.float64)
        out = jax.jit(lambda x: jax.pure_callback(np.cumsum, spec, x))(np.array([1.0, 2.0]))
        assert out.dtype == np.float64
        np.testing.assert_array_equal(np.asarray(out), [1.0, 3.0])


# -- mismatched results ---------------------------------------------------------------------------


def _declared(result):
    return lambda x: jax.pure_callback(lambda x: result, jax.ShapeDtypeStruct((3,), np.float32), x)


@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
def test_wrong_shape(jitted):
    f = _declared(np.ones(2, np.float32))
    with pytest.raises(ValueError, match=r"callback <lambda> returned float32\[2\] .*float32\[3\]"):
        (jax.jit(f) if jitted else f)(X)


@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
def test_wrong_dtype(jitted):
    f = _declared(np.ones(3, np.int32))
    with pytest.raises(TypeError, match=r"returned int32\[3\] .*declares float32\[3\]"):
        (jax.jit(f) if jitted else f)(X)


def test_wrong_leaf_is_named_by_its_path():
    def host(m, b, *, scale):
        return {"sol": np.ones(2, np.float32), "norm": np.ones(2, np.float32)}

    spec = {
        "sol": jax.ShapeDtypeStruct((2,), np.float32),
        "norm": jax.ShapeDtypeStruct((), np.float32),
    }
    with pytest.raises(ValueError, match=r"host returned float32\[2\] at result\['norm'\]"):
        jax.pure_callback(host, spec, M, X[:2], scale=1.0)


def test_wrong_number_of_leaves():
    with pytest.raises(TypeError, match="2 leaves, but result_shape_dtypes has structure"):
        _declared((np.ones(3, np.float32), np.ones(3, np.float32)))(X)


def test_result_that_is_not_an_array():
    with pytest.raises(TypeError, match="returned 'oops' of type <class 'str'> at result"):
        _declared("oops")(X)


def test_bad_result_shape_dtypes():
    with pytest.raises(TypeError, match=r"result_shape_dtypes\[1\] is 3 .*ShapeDtypeStruct"):
        jax.pure_callback(host_sin, (jax.ShapeDtypeStruct((3,), np.float32), 3), X)


def test_64_bit_result_without_x64(real_jax):
    spec = jax.ShapeDtypeStruct((), np.float64)
    with pytest.raises(ValueError, match="float64.*jax_enable_x64 is disabled"):
        jax.pure_callback(lambda: np.float64(1), spec)
    with pytest.raises(ValueError, match="64-bit types when `jax_enable_x64` is disabled"):
        real_jax.pure_callback(lambda: np.float64(1), real_jax.ShapeDtypeStruct((), np.float64))


def test_unknown_vmap_method():
    with pytest.raises(ValueError, match="vmap_method must be one of"):
        jax.pure_callback(host_sin, jax.ShapeDtypeStruct((3,), np.float32), X, vmap_method="loop")


# -- differentiation ------------------------------------------------------------------------------

_WRAP = "Wrap the function that calls pure_callback in pullback.custom_vjp"


@pytest.mark.parametrize(
    "transform",
    [
        lambda f: jax.grad(f),
        lambda f: jax.grad(jax.jit(f)),
        lambda f: jax.jit(jax.grad(f)),
        lambda f: jax.vjp(f, X)[1](np.float32(1.0)),
    ],
    ids=["grad", "grad_of_jit", "jit_of_grad", "vjp"],
)
def test_differentiating_a_callback_is_an_error(transform, real_jax):
    def loss(x):
        return jnp.sum(sin_cb(x))

    with pytest.raises(ValueError, match=f"cannot differentiate the callback host_sin.*{_WRAP}"):
        out = transform(loss)
        if callable(out):
            out(X)
    with pytest.raises(ValueError, match="Pure callbacks do not support JVP"):
        real_jax.grad(_with_jax(loss))(X)


def test_callback_on_non_differentiated_values_under_grad(real_jax):
    def loss(x):
        return jnp.sum(x * sin_cb(jax.lax.stop_gradient(x)) + sin_cb(jnp.asarray(X)))

    got = jax.grad(loss)(X)
    ref = real_jax.grad(_with_jax(loss))(X)
    np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(jax.jit(jax.grad(loss))(X)), np.asarray(ref), rtol=1e-6)


@jax.custom_vjp
def sin_with_rule(x):
    return sin_cb(x)


def _sin_fwd(x):
    return sin_with_rule(x), x


def _sin_bwd(x, g):
    cos = jax.pure_callback(np.cos, jax.ShapeDtypeStruct(x.shape, x.dtype), x)
    return (g * cos,)


sin_with_rule.defvjp(_sin_fwd, _sin_bwd)


@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
def test_custom_vjp_gives_a_callback_a_derivative(jitted):
    grad = jax.grad(lambda x: jnp.sum(sin_with_rule(x)))
    got = (jax.jit(grad) if jitted else grad)(X)
    np.testing.assert_allclose(np.asarray(got), np.cos(X), rtol=1e-6)
    # against float64 central differences of the callback itself
    eps = 1e-6
    x64 = X.astype(np.float64)
    fd = (np.sin(x64 + eps) - np.sin(x64 - eps)) / (2 * eps)
    np.testing.assert_allclose(np.asarray(got), fd, rtol=1e-5)
