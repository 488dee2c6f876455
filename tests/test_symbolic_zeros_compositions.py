"""Symbolic zeros in every composition (issue 11, item 3): under ``vmap`` and ``jit`` a
``symbolic_zeros=True`` rule still sees ``SymbolicZero`` for a cotangent (``custom_vjp``) or
tangent (``custom_jvp``) that is zero, and ``fwd`` sees which inputs are perturbed; primal
``CustomVJPPrimal`` leaves inside custom pytree nodes; ``zero_from_primal``. Each program runs on
pullback and, where installed, on JAX, and the kinds the rules saw are compared."""

import numpy as np
import pytest

import pullback
import pullback.numpy as pnp

LIBS = ["pullback", "jax"]
XS = np.arange(3.0, dtype=np.float32)


def _lib(name):
    if name == "jax":
        jax = pytest.importorskip("jax")
        return jax, jax.numpy
    return pullback, pnp


def _kind(jax, x):
    return "zero" if isinstance(x, jax.custom_derivatives.SymbolicZero) else "value"


def _two_outputs(jax, jnp, seen):
    """``(2x, 3y)`` whose ``bwd`` records which cotangents are symbolic zeros and whose ``fwd``
    records which inputs are perturbed."""

    @jax.custom_vjp
    def f(x, y):
        return x * 2, y * 3

    def fwd(x, y):
        seen.append(("perturbed", x.perturbed, y.perturbed))
        return f(x.value, y.value), None

    def bwd(_, ct):
        a, b = ct
        seen.append(("cotangents", _kind(jax, a), _kind(jax, b)))
        da = jnp.zeros(a.shape, a.dtype) if _kind(jax, a) == "zero" else a * 2
        db = jnp.zeros(b.shape, b.dtype) if _kind(jax, b) == "zero" else b * 3
        return da, db

    f.defvjp(fwd, bwd, symbolic_zeros=True)
    return f


def _first(f):
    return lambda x, y: f(x, y)[0]


VJP_PROGRAMS = {
    "grad": lambda jax, loss: jax.grad(loss)(1.0, 2.0),
    "jit_grad": lambda jax, loss: jax.jit(jax.grad(loss))(1.0, 2.0),
    "vmap_grad": lambda jax, loss: jax.vmap(jax.grad(loss))(XS, XS),
    "grad_vmap": lambda jax, loss: jax.grad(lambda x: jax.vmap(loss)(x, XS).sum())(XS),
    "grad_jit": lambda jax, loss: jax.grad(jax.jit(loss))(1.0, 2.0),
    # (an Array constant: JAX 0.10 asserts on a closed-over ndarray here)
    "jit_grad_vmap": lambda jax, loss: jax.jit(
        jax.grad(lambda x: jax.vmap(loss)(x, jax.numpy.asarray(XS)).sum())
    )(XS),
    "grad_vmap_unbatched_y": lambda jax, loss: jax.grad(
        lambda x: jax.vmap(loss, in_axes=(0, None))(x, 2.0).sum()
    )(XS),
}


@pytest.mark.parametrize("program", VJP_PROGRAMS)
def test_bwd_sees_symbolic_zeros_and_fwd_sees_perturbed(program):
    results = {}
    for lib in LIBS:
        if lib == "jax":
            pytest.importorskip("jax")
        jax, jnp = _lib(lib)
        seen = []
        value = VJP_PROGRAMS[program](jax, _first(_two_outputs(jax, jnp, seen)))
        results[lib] = (np.asarray(value), seen)
    got, seen = results["pullback"]
    np.testing.assert_allclose(got, np.full(got.shape, 2.0))
    assert ("cotangents", "value", "zero") in seen
    assert ("perturbed", True, False) in seen
    if "jax" in results:
        want, jax_seen = results["jax"]
        np.testing.assert_allclose(got, want)
        assert sorted(set(seen)) == sorted(set(jax_seen))


def _scaled(jax, jnp, seen):
    @jax.custom_jvp
    def g(x, y):
        return x * y

    def g_jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        seen.append((_kind(jax, tx), _kind(jax, ty)))
        out = x * y
        tangent = jnp.zeros_like(out)
        if _kind(jax, tx) == "value":
            tangent = tangent + tx * y
        if _kind(jax, ty) == "value":
            tangent = tangent + x * ty
        return out, tangent

    g.defjvp(g_jvp, symbolic_zeros=True)
    return g


JVP_PROGRAMS = {
    "jvp": lambda jax, g: jax.jvp(lambda x: g(x, 2.0), (1.0,), (1.0,))[1],
    "jit_jvp": lambda jax, g: jax.jit(lambda x: jax.jvp(lambda v: g(v, 2.0), (x,), (1.0,))[1])(1.0),
    "vmap_jvp": lambda jax, g: jax.vmap(lambda x: jax.jvp(lambda v: g(v, 2.0), (x,), (1.0,))[1])(
        XS
    ),
    "jvp_vmap": lambda jax, g: jax.jvp(lambda x: jax.vmap(lambda v: g(v, 2.0))(x), (XS,), (XS,))[1],
    "vmap_grad": lambda jax, g: jax.vmap(jax.grad(lambda x: g(x, 2.0)))(XS),
    "jit_vmap_grad": lambda jax, g: jax.jit(jax.vmap(jax.grad(lambda x: g(x, 2.0))))(XS),
}


@pytest.mark.parametrize("program", JVP_PROGRAMS)
@pytest.mark.parametrize("lib", LIBS)
def test_custom_jvp_rule_sees_symbolic_zero_tangents(lib, program):
    jax, jnp = _lib(lib)
    seen = []
    got = np.asarray(JVP_PROGRAMS[program](jax, _scaled(jax, jnp, seen)))
    expected = XS * 2 if program == "jvp_vmap" else np.full(got.shape, 2.0)
    np.testing.assert_allclose(got, expected)
    assert got.dtype == np.float32
    assert set(seen) == {("value", "zero")}


class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b


pullback.tree_util.register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c))


@pytest.fixture(scope="module")
def jax_pair():
    jax = pytest.importorskip("jax")
    jax.tree_util.register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c))
    return jax


def _pair_product(jax, seen):
    @jax.custom_vjp
    def f(p):
        return p.a * p.b

    def fwd(p):
        seen.append((type(p).__name__, type(p.a).__name__, p.a.perturbed, p.b.perturbed))
        values = jax.custom_derivatives.custom_vjp_primal_tree_values(p)
        return f(values), values

    f.defvjp(fwd, lambda v, ct: (Pair(ct * v.b, None),), symbolic_zeros=True)
    return f


PAIR_PROGRAMS = {
    "grad": lambda jax, f: jax.grad(lambda a: f(Pair(a, 3.0)))(2.0),
    "vmap_grad": lambda jax, f: jax.vmap(jax.grad(lambda a: f(Pair(a, 3.0))))(XS),
    "jit_grad": lambda jax, f: jax.jit(jax.grad(lambda a: f(Pair(a, 3.0))))(2.0),
    "grad_vmap": lambda jax, f: jax.grad(lambda a: jax.vmap(lambda x: f(Pair(x, 3.0)))(a).sum())(
        XS
    ),
}


@pytest.mark.parametrize("program", PAIR_PROGRAMS)
def test_custom_vjp_primal_leaves_in_custom_nodes_and_none_cotangents(program):
    seen = []
    got = np.asarray(PAIR_PROGRAMS[program](pullback, _pair_product(pullback, seen)))
    np.testing.assert_allclose(got, np.full(got.shape, 3.0))
    assert seen and set(seen) == {("Pair", "CustomVJPPrimal", True, False)}


@pytest.mark.parametrize("program", PAIR_PROGRAMS)
def test_custom_vjp_primal_leaves_in_custom_nodes_on_jax(program, jax_pair):
    seen = []
    got = np.asarray(PAIR_PROGRAMS[program](jax_pair, _pair_product(jax_pair, seen)))
    np.testing.assert_allclose(got, np.full(got.shape, 3.0))
    assert set(seen) == {("Pair", "CustomVJPPrimal", True, False)}


@pytest.mark.parametrize("lib", LIBS)
def test_zero_from_primal(lib):
    jax, jnp = _lib(lib)
    zero_from_primal = jax.custom_derivatives.zero_from_primal
    w, x = zero_from_primal((jnp.ones(2), 1.0))
    assert w.dtype == jnp.float32 and not w.weak_type
    np.testing.assert_array_equal(np.asarray(w), [0.0, 0.0])
    assert x.dtype == jnp.float32 and x.weak_type
    n = zero_from_primal(3)
    assert n.dtype == jax.dtypes.float0 and n.shape == ()
    z, none = zero_from_primal((jnp.ones((2, 3)), None), symbolic_zeros=True)
    assert isinstance(z, jax.custom_derivatives.SymbolicZero) and none is None
    assert (z.shape, z.dtype) == ((2, 3), jnp.float32)
