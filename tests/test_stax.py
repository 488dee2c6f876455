"""``pullback.example_libraries.stax``: every layer and combinator against JAX's
``jax.example_libraries.stax`` — output shapes and initial parameters from the same key (the
random bits are JAX's), outputs for the same parameters and inputs, gradients of a small
network's loss under ``jit`` — and, without JAX, shapes, hand-computed values and a training
loop that learns."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback import random
from pullback.example_libraries import optimizers, stax

_rng = np.random.default_rng(11)


@pytest.fixture
def jx():
    jax = pytest.importorskip("jax")
    from jax.example_libraries import stax as jstax

    return jax, jstax


def _f32(*shape):
    return _rng.standard_normal(shape).astype(np.float32)


def _numpy(tree):
    return pb.tree_util.tree_map(lambda x: np.asarray(x), tree)


def _close(got, expected, rtol=2e-5, atol=2e-6):
    got_leaves = pb.tree_util.tree_leaves(got)
    want_leaves = pb.tree_util.tree_leaves(expected)
    assert len(got_leaves) == len(want_leaves)
    for g, e in zip(got_leaves, want_leaves):
        assert tuple(np.shape(g)) == tuple(np.shape(e))
        assert np.dtype(g.dtype) == np.dtype(e.dtype)
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=rtol, atol=atol)


LAYERS = {
    "Dense": (lambda s: s.Dense(5), (3, 4)),
    "Dense-inits": (lambda s: s.Dense(3, W_init=s.randn(0.5), b_init=s.zeros), (2, 6)),
    "Conv": (lambda s: s.Conv(4, (3, 3)), (2, 6, 6, 3)),
    "Conv-same-strides": (
        lambda s: s.Conv(3, (3, 2), strides=(2, 1), padding="SAME"),
        (2, 7, 6, 2),
    ),
    "GeneralConv-nchw": (
        lambda s: s.GeneralConv(("NCHW", "OIHW", "NCHW"), 4, (2, 3), padding="SAME"),
        (2, 3, 5, 6),
    ),
    "ConvTranspose": (
        lambda s: s.ConvTranspose(3, (3, 3), strides=(2, 2), padding="SAME"),
        (2, 4, 4, 2),
    ),
    "Conv1DTranspose": (lambda s: s.Conv1DTranspose(2, (3,), strides=(2,)), (2, 5, 3)),
    "BatchNorm": (lambda s: s.BatchNorm(), (4, 3, 3, 2)),
    "BatchNorm-axis": (lambda s: s.BatchNorm(axis=0, center=False), (5, 3)),
    "BatchNorm-no-scale": (lambda s: s.BatchNorm(axis=(0, 1), scale=False), (4, 3, 2)),
    "Tanh": (lambda s: s.Tanh, (3, 4)),
    "Relu": (lambda s: s.Relu, (3, 4)),
    "Exp": (lambda s: s.Exp, (3, 4)),
    "LogSoftmax": (lambda s: s.LogSoftmax, (3, 4)),
    "Softmax": (lambda s: s.Softmax, (3, 4)),
    "Softplus": (lambda s: s.Softplus, (3, 4)),
    "Sigmoid": (lambda s: s.Sigmoid, (3, 4)),
    "Elu": (lambda s: s.Elu, (3, 4)),
    "LeakyRelu": (lambda s: s.LeakyRelu, (3, 4)),
    "Selu": (lambda s: s.Selu, (3, 4)),
    "Gelu": (lambda s: s.Gelu, (3, 4)),
    "MaxPool": (lambda s: s.MaxPool((2, 2)), (2, 5, 5, 3)),
    "MaxPool-strides-same": (lambda s: s.MaxPool((3, 3), (2, 2), "SAME"), (2, 5, 6, 3)),
    "SumPool": (lambda s: s.SumPool((2, 2), (2, 2)), (2, 4, 4, 3)),
    "AvgPool": (lambda s: s.AvgPool((2, 2), (1, 1), "SAME"), (2, 4, 5, 3)),
    "AvgPool-spec": (lambda s: s.AvgPool((3, 2), (2, 1), "SAME", spec="NCHW"), (2, 3, 5, 4)),
    "Flatten": (lambda s: s.Flatten, (2, 3, 4)),
    "Identity": (lambda s: s.Identity, (2, 3)),
    "serial": (
        lambda s: s.serial(
            s.Conv(4, (3, 3), padding="SAME"),
            s.Relu,
            s.MaxPool((2, 2), (2, 2)),
            s.Flatten,
            s.Dense(5),
            s.LogSoftmax,
        ),
        (3, 6, 6, 2),
    ),
    "residual": (
        lambda s: s.serial(s.FanOut(2), s.parallel(s.Dense(4), s.Identity), s.FanInSum, s.Tanh),
        (3, 4),
    ),
    "concat": (
        lambda s: s.serial(
            s.FanOut(3), s.parallel(s.Dense(2), s.Dense(3), s.Tanh), s.FanInConcat()
        ),
        (3, 4),
    ),
    "shape_dependent": (lambda s: s.shape_dependent(lambda shape: s.Dense(shape[-1])), (2, 3)),
}


def _apply(layer, params, x, **kw):
    return layer[1](params, x, **kw)


@pytest.mark.parametrize("name", LAYERS)
def test_layer_against_jax(jx, name):
    jax, jstax = jx
    make, shape = LAYERS[name]
    x = _f32(*shape)
    mine, theirs = make(stax), make(jstax)
    in_shape = (-1, *shape[1:]) if name not in ("Identity",) else shape
    out_shape, params = mine[0](random.PRNGKey(0), in_shape)
    want_shape, want_params = theirs[0](jax.random.PRNGKey(0), in_shape)
    assert tuple(map(int, out_shape)) == tuple(map(int, want_shape))
    _close(params, want_params, rtol=1e-6, atol=1e-7)  # the same random bits as JAX
    want_params = _numpy(want_params)
    expected = _apply(theirs, want_params, x)
    _close(_apply(mine, want_params, x), expected)
    _close(pb.jit(mine[1])(want_params, x), expected)


def test_dropout_against_jax(jx):
    jax, jstax = jx
    x = _f32(4, 5)
    for mode in ("train", "test"):
        mine, theirs = stax.Dropout(0.7, mode=mode), jstax.Dropout(0.7, mode=mode)
        assert mine[0](None, (4, 5)) == theirs[0](None, (4, 5))
        got = mine[1]((), x, rng=random.PRNGKey(3))
        expected = theirs[1]((), x, rng=jax.random.PRNGKey(3))
        _close(got, expected)
    with pytest.raises(ValueError) as expected:
        jstax.Dropout(0.5)[1]((), x)
    with pytest.raises(ValueError) as got:
        stax.Dropout(0.5)[1]((), x)
    assert str(got.value) == str(expected.value)


def _mlp(s):
    return s.serial(
        s.Conv(4, (3, 3), padding="SAME"),
        s.BatchNorm(),
        s.Relu,
        s.AvgPool((2, 2), (2, 2)),
        s.Flatten,
        s.Dense(8),
        s.Gelu,
        s.Dropout(0.8),
        s.Dense(3),
        s.LogSoftmax,
    )


def test_training_gradients_against_jax(jx):
    jax, jstax = jx
    x, y = _f32(6, 6, 6, 2), np.eye(3, dtype=np.float32)[_rng.integers(0, 3, 6)]
    _, params = _mlp(jstax)[0](jax.random.PRNGKey(1), (-1, 6, 6, 2))
    params = _numpy(params)

    def loss(s, rnd, jnp):
        apply_fun = _mlp(s)[1]
        return lambda p, k: -jnp.mean(jnp.sum(apply_fun(p, x, rng=k) * y, axis=1))

    got = pb.jit(pb.value_and_grad(loss(stax, random, pnp)))(params, random.PRNGKey(5))
    expected = jax.jit(jax.value_and_grad(loss(jstax, jax.random, jax.numpy)))(
        params, jax.random.PRNGKey(5)
    )
    _close(got, expected, rtol=1e-4, atol=1e-5)


def test_layers_without_jax():
    out_shape, (w, b) = stax.Dense(5)[0](random.PRNGKey(0), (-1, 4))
    assert out_shape == (-1, 5) and w.shape == (4, 5) and b.shape == (5,)
    x = _f32(3, 4)
    np.testing.assert_allclose(
        np.asarray(stax.Dense(5)[1]((w, b), x)), x @ np.asarray(w) + np.asarray(b), rtol=1e-6
    )
    out_shape, (k, bias) = stax.Conv(4, (3, 3), padding="SAME")[0](random.PRNGKey(0), (2, 6, 6, 3))
    assert tuple(map(int, out_shape)) == (2, 6, 6, 4) and k.shape == (3, 3, 3, 4)
    assert bias.shape == (1, 1, 1, 4)
    x = _f32(2, 4, 4, 3)
    pooled = np.asarray(stax.AvgPool((2, 2), (2, 2))[1]((), x))
    np.testing.assert_allclose(pooled, x.reshape(2, 2, 2, 2, 2, 3).mean(axis=(2, 4)), rtol=1e-6)
    pooled = np.asarray(stax.MaxPool((2, 2), (2, 2))[1]((), x))
    np.testing.assert_allclose(pooled, x.reshape(2, 2, 2, 2, 2, 3).max(axis=(2, 4)))
    assert stax.Flatten[0](None, (-1, 2, 3)) == ((-1, 6), ())
    np.testing.assert_allclose(
        np.asarray(stax.BatchNorm(axis=0)[1]((pnp.zeros(3), pnp.ones(3)), x[:, 0, 0])),
        (x[:, 0, 0] - x[:, 0, 0].mean(0)) / np.sqrt(x[:, 0, 0].var(0) + 1e-5),
        rtol=1e-4,
        atol=1e-5,
    )
    kept = np.asarray(stax.Dropout(0.5)[1]((), pnp.ones((100,)), rng=random.PRNGKey(0)))
    assert set(np.unique(kept)) <= {0.0, 2.0} and 20 < (kept > 0).sum() < 80
    assert np.array_equal(
        np.asarray(stax.Dropout(0.5, mode="test")[1]((), x, rng=random.PRNGKey(0))), x
    )


def test_training_loop_learns_without_jax():
    init_fun, apply_fun = stax.serial(stax.Dense(16), stax.Tanh, stax.Dense(1))
    _, params = init_fun(random.PRNGKey(0), (-1, 2))
    x = _f32(64, 2)
    y = np.sin(x[:, :1] * 2) * np.cos(x[:, 1:])
    loss = lambda p: pnp.mean((apply_fun(p, x) - y) ** 2)
    opt_init, opt_update, get_params = optimizers.adam(0.05)

    @pb.jit
    def step(i, state):
        value, grads = pb.value_and_grad(loss)(get_params(state))
        return value, opt_update(i, grads, state)

    state = opt_init(params)
    first = None
    for i in range(100):
        value, state = step(i, state)
        first = float(value) if first is None else first
    assert float(value) < 0.1 * first
