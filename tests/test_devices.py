"""Devices (``pullback._devices``, re-exported by ``pullback``): one CPU device described as
JAX describes it; ``device_put``/``device_get``/``block_until_ready`` on pytrees, eagerly and
under transformations."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback import _devices as dev


@pytest.fixture
def jax():
    return pytest.importorskip("jax")


def test_the_device_without_jax():
    (d,) = dev.devices()
    assert repr(d) == "CpuDevice(id=0)" and str(d) == "cpu:0"
    assert (d.id, d.platform, d.device_kind, d.process_index) == (0, "cpu", "cpu", 0)
    assert dev.local_devices() == [d] and dev.devices("cpu") == [d]
    assert dev.default_backend() == "cpu"
    assert dev.device_count() == dev.local_device_count() == dev.process_count() == 1
    assert dev.process_index() == 0
    assert {d, dev.devices()[0]} == {d}
    assert pickle.loads(pickle.dumps(d)) == d
    with pytest.raises(RuntimeError, match="Unknown backend: 'gpu' requested"):
        dev.devices("gpu")


def test_the_device_as_jax(jax):
    mine, theirs = dev.devices()[0], jax.devices()[0]
    assert repr(mine) == repr(theirs) and str(mine) == str(theirs)
    for attr in ("id", "platform", "device_kind", "process_index", "host_id"):
        assert getattr(mine, attr) == getattr(theirs, attr)
    assert repr(dev.local_devices()) == repr(jax.local_devices())
    assert dev.default_backend() == jax.default_backend()
    assert dev.device_count() == jax.device_count()
    with pytest.raises(RuntimeError) as expected:
        jax.devices("gpu")
    with pytest.raises(RuntimeError) as got:
        dev.devices("gpu")
    assert str(got.value) == str(expected.value)


def _values(jnp):
    return [
        1.0,
        np.ones(2),
        {"a": 1, "b": np.int64(3)},
        (np.arange(3, dtype=np.int16), [True, 2.5]),
        jnp.ones((2, 2)),
    ]


def test_device_put_as_jax(jax):
    for mine, theirs in zip(_values(pnp), _values(jax.numpy)):
        got = dev.device_put(mine)
        want = jax.device_put(theirs)
        assert repr(got) == repr(want)
        got = dev.device_put(mine, dev.devices()[0])
        assert repr(got) == repr(want)
        assert repr(dev.device_get(got)) == repr(jax.device_get(want))
        assert repr(dev.block_until_ready(got)) == repr(jax.block_until_ready(want))


def test_device_put_without_jax():
    out = dev.device_put({"a": 1, "b": np.ones(2)})
    assert isinstance(out["a"], pb.Array) and out["a"].weak_type
    assert isinstance(out["b"], pb.Array) and out["b"].dtype == np.float32
    x = pnp.ones(3)
    assert dev.device_put(x) is x
    got = dev.device_get({"a": x, "b": 3})
    assert type(got["a"]) is np.ndarray and got["b"] == 3
    tree = {"a": x, "b": [1, "s"]}
    assert dev.block_until_ready(tree) is tree


def test_under_transformations():
    f = lambda x: dev.device_put(x) * 2
    assert float(pb.jit(f)(1.5)) == 3.0
    assert float(pb.grad(lambda x: dev.device_put(x) ** 2)(3.0)) == 6.0
    np.testing.assert_array_equal(np.asarray(pb.vmap(f)(pnp.arange(3.0))), [0.0, 2.0, 4.0])
    g = pb.jit(lambda x: dev.block_until_ready(x + 1))
    assert float(g(1.0)) == 2.0
