"""``pullback.flatten_util.ravel_pytree``: values, dtypes (promotion as JAX's) and round trips,
under ``jit``, ``grad`` and ``vmap``, against JAX's ``jax.flatten_util`` and without it."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.flatten_util import ravel_pytree


@pytest.fixture
def jx():
    jax = pytest.importorskip("jax")
    from jax.flatten_util import ravel_pytree as jax_ravel

    return jax, jax_ravel


def _trees(jnp):
    return {
        "dict": {"a": jnp.ones(2), "b": (jnp.zeros((2, 2)), 3.0)},
        "scalar": 1.0,
        "empty": [],
        "none-leaf": {"a": None, "b": jnp.arange(3.0)},
        "int-and-half": (jnp.int32(1), jnp.ones(2, jnp.float16)),
        "numpy": (np.ones(2), np.int32(3)),
        "bool-and-int8": [jnp.ones(2, bool), jnp.int8(2)],
        "python-ints": {"x": 1, "y": 2},
        "nested": [[jnp.arange(4.0).reshape(2, 2)], {"k": (jnp.ones(()), jnp.full(3, 2.0))}],
        "int-and-float": {"i": jnp.arange(3), "f": jnp.ones(2)},
    }


def _same(got, expected, rtol=0.0):
    got_leaves, got_tree = pb.tree_util.tree_flatten(got)
    want_leaves = pb.tree_util.tree_leaves(expected)
    assert len(got_leaves) == len(want_leaves)
    for g, e in zip(got_leaves, want_leaves):
        assert tuple(np.shape(g)) == tuple(np.shape(e))
        assert np.dtype(g.dtype) == np.dtype(e.dtype)
        assert getattr(g, "weak_type", False) == getattr(e, "weak_type", False)
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=rtol)


@pytest.mark.parametrize("name", list(_trees(np)))
def test_ravel_against_jax(jx, name):
    jax, jax_ravel = jx
    tree = _trees(pnp)[name]
    jtree = _trees(jax.numpy)[name]
    flat, unravel = ravel_pytree(tree)
    jflat, junravel = jax_ravel(jtree)
    _same(flat, jflat)
    _same(unravel(flat), junravel(jflat))
    # under jit, both ways
    _same(pb.jit(lambda t: ravel_pytree(t)[0])(tree), jax.jit(lambda t: jax_ravel(t)[0])(jtree))
    _same(pb.jit(unravel)(flat), jax.jit(junravel)(jflat))


@pytest.mark.parametrize("name", list(_trees(np)))
def test_round_trip(name):
    tree = _trees(pnp)[name]
    flat, unravel = ravel_pytree(tree)
    assert flat.ndim == 1
    assert flat.size == sum(np.size(x) for x in pb.tree_util.tree_leaves(tree))
    back = unravel(flat)
    assert pb.tree_util.tree_structure(back) == pb.tree_util.tree_structure(tree)
    for b, t in zip(pb.tree_util.tree_leaves(back), pb.tree_util.tree_leaves(tree)):
        np.testing.assert_array_equal(np.asarray(b), np.asarray(t))


def test_values_and_dtypes_without_jax():
    flat, unravel = ravel_pytree({"a": pnp.ones(2), "b": (pnp.zeros((2, 2)), 3.0)})
    assert flat.dtype == np.float32 and not flat.weak_type
    np.testing.assert_array_equal(np.asarray(flat), [1, 1, 0, 0, 0, 0, 3])
    flat, unravel = ravel_pytree((pnp.int32(1), pnp.ones(2, pnp.float16)))
    assert flat.dtype == np.float16
    a, b = unravel(flat)
    assert a.dtype == np.int32 and b.dtype == np.float16
    flat, _ = ravel_pytree([])
    assert flat.shape == (0,) and flat.dtype == np.float32
    flat, _ = ravel_pytree(1.0)
    assert flat.weak_type and flat.shape == (1,)


def test_unravel_errors():
    _, unravel = ravel_pytree({"a": pnp.ones(2), "b": pnp.int32(1)})
    with pytest.raises(TypeError, match="unravel function given array of dtype int32, but "):
        unravel(pnp.ones(3, pnp.int32))
    _, unravel = ravel_pytree({"a": pnp.ones(2)})
    with pytest.raises(ValueError, match="Sum of sizes 2 must be equal to dimension 0"):
        unravel(pnp.ones(3))
    # one dtype: the unravel function is dtype-polymorphic, as in JAX
    assert unravel(pnp.ones(2, pnp.int32))["a"].dtype == np.int32


def test_unravel_errors_as_jax(jx):
    jax, jax_ravel = jx
    for ravel, jnp in ((ravel_pytree, pnp), (jax_ravel, jax.numpy)):
        _, unravel = ravel({"a": jnp.ones(2), "b": jnp.int32(1)})
        with pytest.raises(TypeError) as e:
            unravel(jnp.ones(3, jnp.int32))
        assert (
            str(e.value)
            == "unravel function given array of dtype int32, but expected dtype float32"
        )


def test_unravel_functions_are_hashable_and_equal():
    _, u1 = ravel_pytree({"a": pnp.ones(2), "b": pnp.zeros(3)})
    _, u2 = ravel_pytree({"a": pnp.zeros(2), "b": pnp.ones(3)})
    assert u1 == u2 and hash(u1) == hash(u2)
    _, u3 = ravel_pytree({"a": pnp.zeros(3), "b": pnp.ones(3)})
    assert u1 != u3
    # a static argument of jit
    f = pb.jit(lambda flat, unravel: unravel(flat)["a"] * 2, static_argnums=1)
    np.testing.assert_array_equal(np.asarray(f(pnp.arange(5.0), u1)), [0.0, 2.0])


def test_transformations_against_jax(jx):
    jax, jax_ravel = jx
    params = {"w": np.arange(6.0, dtype=np.float32).reshape(2, 3), "b": np.float32(0.5)}

    def loss(ravel, jnp):
        def f(p):
            flat, unravel = ravel(p)
            q = unravel(flat * 2.0)
            return jnp.sum(jnp.sin(flat) ** 2) + jnp.sum(q["w"]) * q["b"]

        return f

    _same(
        pb.grad(loss(ravel_pytree, pnp))(params),
        jax.grad(loss(jax_ravel, jax.numpy))(params),
        rtol=1e-6,
    )
    _same(
        pb.jit(pb.grad(loss(ravel_pytree, pnp)))(params),
        jax.jit(jax.grad(loss(jax_ravel, jax.numpy)))(params),
        rtol=1e-6,
    )
    batch = {"w": np.ones((4, 2, 3), np.float32), "b": np.arange(4.0, dtype=np.float32)}
    _same(
        pb.vmap(lambda p: ravel_pytree(p)[0])(batch),
        jax.vmap(lambda p: jax_ravel(p)[0])(batch),
    )
    flat, unravel = ravel_pytree(params)
    jflat, junravel = jax_ravel(params)
    _same(
        pb.vmap(unravel)(pnp.stack([flat, flat * 2])),
        jax.vmap(junravel)(jax.numpy.stack([jflat, jflat * 2])),
    )
    # the Jacobian of unravel: a one-hot basis per leaf
    _same(pb.jacfwd(lambda v: unravel(v)["w"])(flat), jax.jacfwd(lambda v: junravel(v)["w"])(jflat))


def test_transformations_without_jax():
    params = {"w": np.arange(6.0, dtype=np.float32).reshape(2, 3), "b": np.float32(0.5)}
    g = pb.grad(lambda p: pnp.sum(ravel_pytree(p)[0] ** 2))(params)
    np.testing.assert_allclose(np.asarray(g["w"]), 2 * params["w"])
    np.testing.assert_allclose(float(g["b"]), 1.0)
    batch = {"w": np.ones((4, 2, 3), np.float32), "b": np.arange(4.0, dtype=np.float32)}
    out = pb.vmap(lambda p: ravel_pytree(p)[0])(batch)
    assert out.shape == (4, 7)
    np.testing.assert_array_equal(np.asarray(out[:, 0]), np.arange(4.0))  # keys sorted: b, w
