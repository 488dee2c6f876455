"""The functions ``vjp`` and ``linearize`` return are pytrees whose leaves are their residuals
(issue 11, item 2): they cross ``jit``, ``vmap`` and ``scan`` boundaries and serve as
``custom_vjp`` residuals (``fwd = lambda x: vjp(f, x)``). Each program runs on pullback and, where
installed, on JAX; gradients are also checked against float64 central differences."""

import numpy as np
import pytest

import pullback
import pullback.numpy as pnp
from pullback.test_util import check_grads

LIBS = ["pullback", "jax"]


def _lib(name):
    if name == "jax":
        jax = pytest.importorskip("jax")
        return jax, jax.numpy
    return pullback, pnp


def _f(jnp, x):
    return jnp.sin(x) * x


def _vjp_residual_g(jax, jnp):
    """A custom_vjp whose residual is the pullback of its own function: a common idiom."""

    @jax.custom_vjp
    def g(x):
        return _f(jnp, x)

    g.defvjp(lambda x: jax.vjp(lambda v: _f(jnp, v), x), lambda pull, ct: pull(ct))
    return g


def _dg(x):
    return np.sin(x) + x * np.cos(x)


XS = np.array([0.0, 1.0, 2.5], np.float32)

PROGRAMS = {
    "grad": lambda jax, jnp, g: jax.grad(g)(1.0),
    "jit_grad": lambda jax, jnp, g: jax.jit(jax.grad(g))(1.0),
    "vmap_grad": lambda jax, jnp, g: jax.vmap(jax.grad(g))(XS),
    "grad_of_vmap": lambda jax, jnp, g: jax.grad(lambda x: jax.vmap(g)(x).sum())(XS),
    "grad_of_jit": lambda jax, jnp, g: jax.grad(jax.jit(g))(1.0),
    "jit_grad_of_vmap": lambda jax, jnp, g: jax.jit(jax.grad(lambda x: jax.vmap(g)(x).sum()))(XS),
    "grad_of_scan": lambda jax, jnp, g: jax.grad(
        lambda x: jax.lax.scan(lambda c, _: (g(c), None), x, None, length=3)[0]
    )(1.0),
    "jacrev": lambda jax, jnp, g: jax.jacrev(lambda x: g(x) * 2.0)(XS),
}


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize("lib", LIBS)
def test_vjp_function_as_custom_vjp_residual(program, lib):
    jax, jnp = _lib(lib)
    got = np.asarray(PROGRAMS[program](jax, jnp, _vjp_residual_g(jax, jnp)))
    ref = np.asarray(PROGRAMS[program](pullback, pnp, _vjp_residual_g(pullback, pnp)))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    if program in ("grad", "jit_grad", "grad_of_jit"):
        np.testing.assert_allclose(got, _dg(np.float32(1.0)), rtol=1e-6)
    if program in ("vmap_grad", "grad_of_vmap", "jit_grad_of_vmap"):
        np.testing.assert_allclose(got, _dg(XS), rtol=1e-5)


def test_vjp_residual_idiom_against_central_differences():
    g = _vjp_residual_g(pullback, pnp)
    check_grads(g, (np.float64(0.7),), order=1, modes=["rev"])
    check_grads(lambda x: pullback.vmap(g)(x).sum(), (XS.astype(np.float64),), 1, modes=["rev"])


@pytest.mark.parametrize("lib", LIBS)
def test_jit_returns_a_pullback(lib):
    jax, jnp = _lib(lib)
    y, pull = jax.jit(lambda x: jax.vjp(lambda v: _f(jnp, v), x))(XS)
    # the residuals came out of jit as arrays: the pullback runs eagerly afterwards
    assert len(jax.tree_util.tree_leaves(pull)) > 0
    assert all(isinstance(r, jax.Array) for r in jax.tree_util.tree_leaves(pull))
    (ct,) = pull(jnp.ones(3, jnp.float32))
    assert ct.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(ct), _dg(XS), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(y), XS * np.sin(XS), rtol=1e-6)


@pytest.mark.parametrize("lib", LIBS)
def test_jit_returns_a_pullback_with_aux_and_integer_input(lib):
    jax, jnp = _lib(lib)

    def f(x, n):
        return x * n, {"n": n + 1}

    y, pull, aux = jax.jit(lambda x, n: jax.vjp(f, x, n, has_aux=True))(XS, 3)
    dx, dn = pull(jnp.ones(3, jnp.float32))
    np.testing.assert_allclose(np.asarray(dx), np.full(3, 3.0))
    assert dn.dtype == jax.dtypes.float0 and dn.shape == ()
    assert int(aux["n"]) == 4


@pytest.mark.parametrize("lib", LIBS)
def test_a_pullback_crosses_jit_in_and_out(lib):
    jax, jnp = _lib(lib)

    def make(x):
        return jax.vjp(lambda v: jnp.tanh(v) * x, x)[1]

    pull = jax.jit(make)(XS)
    got = jax.jit(lambda p, c: p(c)[0])(pull, jnp.full(3, 2.0, jnp.float32))
    t = np.tanh(XS)
    np.testing.assert_allclose(np.asarray(got), 2 * (1 - t**2) * XS, rtol=1e-5)


@pytest.mark.parametrize("lib", LIBS)
def test_vmap_returns_pullbacks_used_under_vmap(lib):
    jax, jnp = _lib(lib)
    pulls = jax.vmap(lambda x: jax.vjp(lambda v: _f(jnp, v), x)[1])(XS)
    got = jax.vmap(lambda p, c: p(c)[0])(pulls, jnp.ones(3, jnp.float32))
    np.testing.assert_allclose(np.asarray(got), _dg(XS), rtol=1e-5)


@pytest.mark.parametrize("lib", LIBS)
def test_pullback_as_scan_output(lib):
    jax, jnp = _lib(lib)

    def body(c, x):
        y, pull = jax.vjp(lambda v: _f(jnp, v) * c, x)
        return c + 1.0, pull(jnp.float32(1.0))[0]

    _, ys = jax.lax.scan(body, jnp.float32(1.0), XS)
    np.testing.assert_allclose(np.asarray(ys), _dg(XS) * np.array([1, 2, 3]), rtol=1e-5)


@pytest.mark.parametrize("lib", LIBS)
def test_jit_returns_a_linearized_function(lib):
    jax, jnp = _lib(lib)
    y, lin = jax.jit(lambda x: jax.linearize(lambda v: _f(jnp, v), x))(XS)
    t = lin(jnp.ones(3, jnp.float32))
    assert t.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(t), _dg(XS), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(y), XS * np.sin(XS), rtol=1e-6)


@pytest.mark.parametrize("lib", LIBS)
def test_linearize_under_vmap_and_grad(lib):
    jax, jnp = _lib(lib)

    def slope(x):
        return jax.linearize(lambda v: _f(jnp, v), x)[1](1.0)

    np.testing.assert_allclose(np.asarray(jax.vmap(slope)(XS)), _dg(XS), rtol=1e-5)
    # the derivative of the slope: sin(x) + x cos(x) differentiated once more
    curvature = jax.grad(slope)(1.0)
    np.testing.assert_allclose(float(curvature), 2 * np.cos(1.0) - np.sin(1.0), rtol=1e-5)


def test_linearize_under_grad_against_central_differences():
    def slope(x):
        return pullback.linearize(lambda v: pnp.sin(v) * v, x)[1](1.0)

    check_grads(slope, (np.float64(0.3),), order=1, modes=["rev"])


def test_an_eager_pullback_has_no_leaves_and_is_unchanged_by_tree_map():
    _, pull = pullback.vjp(lambda v: pnp.sin(v) * v, XS)
    assert pullback.tree_util.tree_leaves(pull) == []
    same = pullback.tree_util.tree_map(lambda r: r, pull)
    np.testing.assert_allclose(np.asarray(same(pnp.ones(3))[0]), _dg(XS), rtol=1e-5)


def test_a_pullback_checks_its_cotangent_after_crossing_jit():
    pull = pullback.jit(lambda x: pullback.vjp(lambda v: pnp.sin(v) * v, x)[1])(XS)
    with pytest.raises(ValueError, match="unexpected JAX type"):
        pull(pnp.ones(2))
    with pytest.raises(ValueError, match="^unexpected tree structure"):
        pull((pnp.ones(3),))
