"""The benchmark workloads, at tiny sizes: pullback's gradients agree with hand-written NumPy.

Not a timing test: each implementation runs once.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "workloads.py"
_spec = importlib.util.spec_from_file_location("benchmark_workloads", _PATH)
workloads = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = workloads  # dataclasses look their module up there
_spec.loader.exec_module(workloads)


@pytest.mark.parametrize("name", workloads.WORKLOADS)
@pytest.mark.parametrize("framework", ["pullback", "pullback.jit", "pullback.loop"])
def test_pullback_matches_hand_numpy(framework, name):
    data = workloads.make_data(name, "tiny")
    hand = workloads.build("numpy", name, data)
    try:
        pb = workloads.build(framework, name, data)
    except workloads.Unavailable:
        assert framework == "pullback.loop" and name != "per_example_grads"
        return
    expected = hand.to_numpy(hand.run())
    got = pb.to_numpy(pb.run())
    assert workloads.compare(got, expected) is None, workloads.compare(got, expected)
    for g in got[1]:
        assert g.dtype == np.float32


def test_custom_chain_rule_clips():
    # At the tiny size the loss is scaled by 3, so the custom rule's clipping changes the result:
    # the gradient is not the plain derivative of the chain.
    data = workloads.make_data("custom_chain", "tiny")
    steps, scale = data["spec"]["steps"], data["spec"]["scale"]
    _, clipped = workloads.hand_custom_chain(data["x"], steps, scale)
    plain = np.full_like(data["x"], scale)
    x, xs = data["x"], []
    for _ in range(steps):
        xs.append(x)
        x = np.sin(x)
    for xk in reversed(xs):
        plain = plain * np.cos(xk)
    assert not np.allclose(clipped, plain)


def test_compare_reports_mismatch():
    ref = (np.float32(1.0), [np.array([1.0, 2.0], np.float32)])
    assert workloads.compare(ref, ref) is None
    bad = (np.float32(1.0), [np.array([1.0, 2.1], np.float32)])
    assert "gradient leaf 0" in workloads.compare(bad, ref)
