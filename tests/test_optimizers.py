"""``pullback.example_libraries.optimizers``: every optimizer and schedule a few steps on a
pytree of parameters, eagerly and under ``jit``, against JAX's ``jax.example_libraries`` (the
same float32 arithmetic, so to a few ulps) and against NumPy transcriptions of the update
rules (which run without JAX)."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.example_libraries import optimizers

_rng = np.random.default_rng(3)
PARAMS = {
    "w": _rng.standard_normal((3, 2)).astype(np.float32),
    "b": (_rng.standard_normal(2).astype(np.float32), np.float32(0.5)),
}
TARGET = _rng.standard_normal((3, 2)).astype(np.float32)


@pytest.fixture
def jx():
    jax = pytest.importorskip("jax")
    from jax.example_libraries import optimizers as jopt

    return jax, jopt


def _loss(np_):
    def loss(p):
        w, (b, c) = p["w"], p["b"]
        return np_.sum((np_.tanh(w) * b - TARGET) ** 2) + c**4

    return loss


OPTIMIZERS = {
    "sgd": lambda o: o.sgd(0.1),
    "sgd-schedule": lambda o: o.sgd(o.exponential_decay(0.1, 2, 0.5)),
    "momentum": lambda o: o.momentum(0.05, 0.9),
    "nesterov": lambda o: o.nesterov(0.05, 0.8),
    "adagrad": lambda o: o.adagrad(0.2),
    "adagrad-momentum": lambda o: o.adagrad(0.2, momentum=0.5),
    "rmsprop": lambda o: o.rmsprop(0.01),
    "rmsprop_momentum": lambda o: o.rmsprop_momentum(0.01, gamma=0.8, momentum=0.7),
    "adam": lambda o: o.adam(0.05),
    "adam-schedule": lambda o: o.adam(o.inverse_time_decay(0.05, 2, 0.5, staircase=True)),
    "adamax": lambda o: o.adamax(0.05),
    "sm3": lambda o: o.sm3(0.1),
    "polynomial": lambda o: o.sgd(o.polynomial_decay(0.1, 3, 0.01, power=2.0)),
    "piecewise": lambda o: o.momentum(o.piecewise_constant([1, 3], [0.1, 0.05, 0.01]), 0.5),
}

STEPS = 5


def _run(jax, jnp, opt, jit):
    init, update, get_params = opt
    state = init(PARAMS)
    loss = _loss(jnp)

    def step(i, state):
        g = jax.grad(loss)(get_params(state))
        return update(i, g, state)

    if jit:
        step = jax.jit(step)
    for i in range(STEPS):
        state = step(i, state)
    return get_params(state), state


def _assert_close(got, expected, rtol=2e-5, atol=2e-6):
    got_leaves = pb.tree_util.tree_leaves(got)
    expected_leaves = pb.tree_util.tree_leaves(expected)
    assert len(got_leaves) == len(expected_leaves)
    for g, e in zip(got_leaves, expected_leaves):
        assert np.dtype(getattr(g, "dtype", type(g))) == np.dtype(getattr(e, "dtype", type(e)))
        assert np.shape(g) == np.shape(e)
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=rtol, atol=atol)


# (sm3 keeps the parameters' shapes as state leaves, which jit traces, in JAX too: eager only)
@pytest.mark.parametrize(
    ("name", "jit"), [(n, j) for n in OPTIMIZERS for j in (False, True) if not (n == "sm3" and j)]
)
def test_optimizer_against_jax(jx, name, jit):
    jax, jopt = jx
    got_params, got_state = _run(pb, pnp, OPTIMIZERS[name](optimizers), jit)
    want_params, want_state = _run(jax, jax.numpy, OPTIMIZERS[name](jopt), jit)
    _assert_close(got_params, want_params)
    _assert_close(got_state.packed_state, want_state.packed_state)


# -- NumPy transcriptions of the update rules (run without JAX) ---------------------------------


def _numpy_grad(p):
    w, (b, c) = p["w"], p["b"]
    t = np.tanh(w)
    r = 2 * (t * b - TARGET)
    return {"w": r * b * (1 - t * t), "b": (np.sum(r * t, axis=0), 4 * c**3)}


def _numpy_run(init, update):
    leaves, tree = pb.tree_util.tree_flatten(PARAMS)
    states = [init(np.asarray(x)) for x in leaves]
    for i in range(STEPS):
        params = pb.tree_util.tree_unflatten(tree, [s[0] for s in states])
        grads = pb.tree_util.tree_leaves(_numpy_grad(params))
        states = [update(i, np.float32(g), s) for g, s in zip(grads, states)]
    return pb.tree_util.tree_unflatten(tree, [s[0] for s in states])


def _f(x):
    return np.float32(x)


NUMPY_RULES = {
    "sgd": (lambda x: (x,), lambda i, g, s: (s[0] - _f(0.1) * g,)),
    "momentum": (
        lambda x: (x, np.zeros_like(x)),
        lambda i, g, s: (
            s[0] - _f(0.05) * (_f(0.9) * s[1] + g),
            _f(0.9) * s[1] + g,
        ),
    ),
    "adam": (
        lambda x: (x, np.zeros_like(x), np.zeros_like(x)),
        lambda i, g, s: _numpy_adam(i, g, s),
    ),
    "rmsprop": (
        lambda x: (x, np.zeros_like(x)),
        lambda i, g, s: _numpy_rmsprop(i, g, s),
    ),
}


def _numpy_adam(i, g, s):
    x, m, v = s
    m = _f(1 - 0.9) * g + _f(0.9) * m
    v = _f(1 - 0.999) * g * g + _f(0.999) * v
    mhat = m / (1 - _f(0.9) ** (i + 1))
    vhat = v / (1 - _f(0.999) ** (i + 1))
    return x - _f(0.05) * mhat / (np.sqrt(vhat) + _f(1e-8)), m, v


def _numpy_rmsprop(i, g, s):
    x, a = s
    a = a * _f(0.9) + g * g * _f(1 - 0.9)
    return x - _f(0.01) * g / np.sqrt(a + _f(1e-8)), a


@pytest.mark.parametrize("name", NUMPY_RULES)
def test_optimizer_against_numpy(name):
    got, _ = _run(pb, pnp, OPTIMIZERS[name](optimizers), jit=True)
    expected = _numpy_run(*NUMPY_RULES[name])
    for g, e in zip(pb.tree_util.tree_leaves(got), pb.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(np.asarray(g), e, rtol=2e-5, atol=1e-6)


def test_schedules():
    s = optimizers.exponential_decay(0.5, 10, 0.1)
    np.testing.assert_allclose(float(s(5)), 0.5 * 0.1**0.5, rtol=1e-6)
    s = optimizers.inverse_time_decay(1.0, 2, 1.0, staircase=True)
    assert float(s(3)) == 0.5
    s = optimizers.polynomial_decay(1.0, 4, 0.0, power=1.0)
    assert [float(s(i)) for i in (0, 2, 4, 8)] == [1.0, 0.5, 0.0, 0.0]
    s = optimizers.piecewise_constant([2, 4], [1.0, 0.5, 0.25])
    assert [float(s(i)) for i in (0, 2, 3, 4, 5)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert optimizers.constant(0.3)(7) == 0.3
    assert optimizers.make_schedule(0.2)(1) == 0.2
    with pytest.raises(TypeError):
        optimizers.make_schedule(np.ones(2))
    with pytest.raises(ValueError, match="boundaries length must be one shorter"):
        optimizers.piecewise_constant([1, 2], [1.0])
    # schedules work on traced steps
    assert float(pb.jit(optimizers.piecewise_constant([2, 4], [1.0, 0.5, 0.25]))(3)) == 0.5


def test_schedules_against_jax(jx):
    jax, jopt = jx
    for make in (
        lambda o: o.exponential_decay(0.5, 10, 0.1),
        lambda o: o.inverse_time_decay(1.0, 3, 0.5),
        lambda o: o.inverse_time_decay(1.0, 3, 0.5, staircase=True),
        lambda o: o.polynomial_decay(1.0, 5, 0.1, power=0.5),
        lambda o: o.piecewise_constant([2, 4], [1.0, 0.5, 0.25]),
    ):
        for i in range(7):
            _assert_close(pnp.asarray(make(optimizers)(i)), jax.numpy.asarray(make(jopt)(i)))
            want = jax.jit(make(jopt))(i)
            if np.isnan(want):
                # XLA turns ``i / 5`` into ``i * 0.2``: 1 - 5 * 0.2 < 0, and its square root is
                # NaN there; NumPy divides (0.1 at the end of the decay, as eagerly in JAX)
                continue
            _assert_close(pb.jit(make(optimizers))(i), want)


def test_l2_norm_and_clip_grads(jx):
    jax, jopt = jx
    tree = {"a": np.array([3.0, 4.0], np.float32), "b": [np.array(12.0, np.float32)]}
    assert float(optimizers.l2_norm(tree)) == 13.0
    _assert_close(optimizers.clip_grads(tree, 6.5), jopt.clip_grads(tree, 6.5))
    _assert_close(optimizers.clip_grads(tree, 100.0), jopt.clip_grads(tree, 100.0))
    _assert_close(optimizers.l2_norm(tree), jopt.l2_norm(tree))


def test_clip_grads_without_jax():
    tree = {"a": np.array([3.0, 4.0], np.float32), "b": [np.array(12.0, np.float32)]}
    clipped = optimizers.clip_grads(tree, 6.5)
    np.testing.assert_allclose(np.asarray(clipped["a"]), [1.5, 2.0])
    np.testing.assert_allclose(float(clipped["b"][0]), 6.0)


def test_state_is_a_pytree_and_serializes():
    init, update, get_params = optimizers.momentum(0.1, 0.9)
    state = init(PARAMS)
    leaves = pb.tree_util.tree_leaves(state)
    assert len(leaves) == 2 * len(pb.tree_util.tree_leaves(PARAMS))
    marked = optimizers.unpack_optimizer_state(state)
    assert isinstance(marked["w"], optimizers.JoinPoint)
    back = optimizers.pack_optimizer_state(marked)
    assert back.tree_def == state.tree_def and back.subtree_defs == state.subtree_defs
    for a, b in zip(pb.tree_util.tree_leaves(back), leaves):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # the state crosses jit and vmap like any pytree
    doubled = pb.jit(lambda s: pb.tree_util.tree_map(lambda x: x * 2, s))(state)
    assert isinstance(doubled, optimizers.OptimizerState)
    np.testing.assert_allclose(np.asarray(get_params(doubled)["w"]), PARAMS["w"] * 2)


def test_update_checks_tree_structure():
    init, update, _ = optimizers.sgd(0.1)
    state = init(PARAMS)
    with pytest.raises(TypeError, match="did not match the parameter tree structure"):
        update(0, {"w": PARAMS["w"]}, state)


def test_optimizer_decorator_on_a_custom_rule():
    @optimizers.optimizer
    def signsgd(step_size):
        def init(x):
            return x

        def update(i, g, x):
            return x - step_size * pnp.sign(g)

        def get_params(x):
            return x

        return init, update, get_params

    init, update, get_params = signsgd(0.5)
    state = update(0, {"a": np.array([-2.0, 3.0])}, init({"a": np.zeros(2, np.float32)}))
    np.testing.assert_array_equal(np.asarray(get_params(state)["a"]), [0.5, -0.5])
