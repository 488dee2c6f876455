"""``jacfwd``, ``jacrev``, ``jacobian`` and ``hessian`` against JAX: values, dtypes, weak types
and the layout of pytree inputs and outputs (the output tree outside, the input tree inside)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import pullback
import pullback.numpy as pnp
from pullback._core import Array
from pullback.tree_util import tree_leaves

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import external_solver  # noqa: E402
import fixed_point  # noqa: E402

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")


def _check(got, expected, rtol=1e-5, atol=1e-5):
    shape = pullback.tree_util.tree_map(lambda _: 0, got)
    assert shape == jax.tree_util.tree_map(lambda _: 0, expected), (got, expected)
    for g, e in zip(tree_leaves(got), jax.tree_util.tree_leaves(expected), strict=True):
        assert isinstance(g, Array)
        assert (g.shape, g.dtype) == (np.shape(e), np.asarray(e).dtype), (g, e)
        assert g.weak_type == getattr(e, "weak_type", False), (g, e)
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=rtol, atol=atol)


def _x(*shape):
    return (np.arange(np.prod(shape), dtype=np.float32).reshape(shape) + 1) / 4


# (name, make(jax, jnp) -> f, args, options)
PROGRAMS = [
    ("scalar-weak", lambda j, n: n.sin, (1.0,), {}),
    ("vector", lambda j, n: lambda x: n.tanh(x) * x[::-1], (_x(3),), {}),
    ("matrix-out", lambda j, n: lambda x: n.outer(x, x), (_x(2),), {}),
    ("matrix-in", lambda j, n: lambda w: n.sum(n.sin(w), axis=0), (_x(2, 3),), {}),
    ("scalar-out", lambda j, n: lambda x: n.sum(x**3), (_x(3),), {}),
    (
        "pytrees",
        lambda j, n: lambda p: {"a": p["w"] * p["b"], "b": (n.sum(p["w"]),)},
        ({"w": _x(2), "b": np.float32(0.5)},),
        {},
    ),
    (
        "argnums",
        lambda j, n: lambda x, y, z: x * y + z,
        (_x(2), _x(2), np.float32(1.0)),
        {"argnums": (0, 2)},
    ),
    ("argnums-neg", lambda j, n: lambda x, y: n.sin(x) * y, (_x(2), _x(2)), {"argnums": -1}),
    (
        "has-aux",
        lambda j, n: lambda x: (n.sum(n.exp(x)), {"aux": x * 2}),
        (_x(3),),
        {"has_aux": True},
    ),
    ("float64-in-x64-off", lambda j, n: lambda x: x**2, (np.arange(2.0),), {}),
    (
        "control-flow",
        lambda j, n: lambda x: j.lax.scan(lambda c, y: (c * y, c), 1.0, x)[0],
        (_x(3),),
        {},
    ),
]

IDS = [p[0] for p in PROGRAMS]


def test_jacfwd_of_an_integer_output_is_zeros_of_its_dtype():
    ours = pullback.jacfwd(lambda x: (x * 2, pnp.argmax(x)))(_x(2))
    _check(ours, jax.jacfwd(lambda x: (x * 2, jnp.argmax(x)))(_x(2)))


@pytest.mark.parametrize("name,make,args,opts", PROGRAMS, ids=IDS)
@pytest.mark.parametrize("which", ["jacfwd", "jacrev", "jacobian"])
def test_jacobians_match_jax(which, name, make, args, opts):
    ours = getattr(pullback, which)(make(pullback, pnp), **opts)(*args)
    expected = getattr(jax, which)(make(jax, jnp), **opts)(*args)
    _check(ours, expected)


@pytest.mark.parametrize(
    "name,make,args,opts",
    [
        p
        for p in PROGRAMS
        if p[0] in ("scalar-weak", "scalar-out", "matrix-in", "argnums", "has-aux", "control-flow")
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_hessian_matches_jax(name, make, args, opts):
    if name in ("argnums", "matrix-in"):
        f = make(pullback, pnp)
        g = make(jax, jnp)
        ours = pullback.hessian(lambda *a: pnp.sum(f(*a)), **opts)(*args)
        expected = jax.hessian(lambda *a: jnp.sum(g(*a)), **opts)(*args)
    else:
        ours = pullback.hessian(make(pullback, pnp), **opts)(*args)
        expected = jax.hessian(make(jax, jnp), **opts)(*args)
    _check(ours, expected)


def test_hessian_under_jit():
    f = lambda x: pnp.sum(pnp.sin(x) * x**2)  # noqa: E731
    h = pullback.hessian(f)
    _check(pullback.jit(h)(_x(3)), jax.hessian(lambda x: jnp.sum(jnp.sin(x) * x**2))(_x(3)))


def test_errors():
    with pytest.raises(TypeError, match="jacfwd requires real-valued inputs.*int32"):
        pullback.jacfwd(lambda x: x * 2)(np.arange(3))
    with pytest.raises(TypeError, match="jacrev requires real-valued inputs"):
        pullback.jacrev(lambda x: x * 2)(np.arange(3))
    with pytest.raises(TypeError, match="jacrev requires real-valued outputs"):
        pullback.jacrev(lambda x: pnp.argmax(x))(_x(3))
    with pytest.raises(TypeError, match="argnums"):
        pullback.jacfwd(lambda x: x, argnums=2)(1.0)
    with pytest.raises(NotImplementedError, match="holomorphic"):
        pullback.jacfwd(pnp.sin, holomorphic=True)


def test_jacobians_are_one_batched_pass():
    # as JAX: the basis is pushed through once under vmap, not one element at a time
    calls = []
    w = pnp.asarray(np.arange(12.0, dtype=np.float32).reshape(4, 3) / 10)

    def f(x):
        calls.append(1)
        return pnp.tanh(w @ x)

    x = pnp.asarray(np.array([0.5, -1.0, 2.0], np.float32))
    expected = (1 - np.tanh(np.asarray(w) @ np.asarray(x)) ** 2)[:, None] * np.asarray(w)
    for jac in (pullback.jacfwd, pullback.jacrev):
        calls.clear()
        np.testing.assert_allclose(np.asarray(jac(f)(x)), expected, rtol=1e-6)
        assert len(calls) == 1, jac.__name__
    jaxpr = pullback.make_jaxpr(pullback.jacrev(f))(x)
    assert [e.prim.name for e in jaxpr.jaxpr.eqns].count("tanh") == 1


def test_jacobians_of_a_rule_that_needs_concrete_cotangents_run_row_by_row():
    # the fixed-point example's bwd iterates in Python on its cotangent: JAX cannot vmap it;
    # pullback pushes the basis one element at a time there
    a = np.array([1.0, 4.0, 9.0], np.float32)
    jac = np.asarray(pullback.jacrev(fixed_point.newton_sqrt)(a))
    np.testing.assert_allclose(jac, np.diag(0.5 / np.sqrt(a)), rtol=1e-5, atol=1e-7)


def test_jacobian_of_a_rule_calling_foreign_code_runs_row_by_row():
    # the external-solver example's bwd calls scipy through a pure_callback without a
    # vmap_method, which cannot be batched: jacrev pushes one cotangent at a time
    a = np.array([[3.0, 1.0], [1.0, 2.0]], np.float32)
    b = np.array([1.0, 2.0], np.float32)
    jac = pullback.jacrev(external_solver.solve, argnums=1)(pnp.asarray(a), pnp.asarray(b))
    np.testing.assert_allclose(np.asarray(jac), np.linalg.inv(a), rtol=1e-5)
