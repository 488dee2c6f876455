"""The gradient-checkpointing benchmark (``benchmarks/remat.py``) at tiny sizes, in pullback:
every variant's gradient equals the uncheckpointed one, and the residuals it reports are what
the script says.

Not a timing test: each measurement runs once. It needs ``pullback.checkpoint``; without it
these tests fail (they skip nothing).
"""

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import pullback as jax
import pullback.numpy as jnp

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "remat.py"
_spec = importlib.util.spec_from_file_location("benchmark_remat", _PATH)
remat = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = remat
_spec.loader.exec_module(remat)

CHECKPOINTED = [v for v in remat.VARIANTS if v != "none"]


def _inputs(program):
    data = remat.make_data(program, "tiny")
    return (data["spec"], *remat.to_arrays(jnp, data))


def _grad(f, params, x, jit=False):
    g = jax.grad(f)
    if jit:
        g = jax.jit(g)
    return remat.grad_leaves(jax, g(params, x))


def _residuals(f, params, x):
    return remat.summarize_residuals(remat.saved_residuals_of(jax)(f, params, x))


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("variant", CHECKPOINTED)
@pytest.mark.parametrize("program", remat.PROGRAMS)
def test_checkpointed_gradient_equals_uncheckpointed(program, variant, jit):
    spec, params, x = _inputs(program)
    want = _grad(remat.build(jax, jnp, program, "none", spec), params, x)
    got = _grad(remat.build(jax, jnp, program, variant, spec), params, x, jit=jit)
    assert remat.compare_grads(got, want, rtol=1e-5) is None, remat.compare_grads(got, want, 1e-5)
    assert [g.shape for g in got] == [np.shape(p) for p in jax.tree_util.tree_leaves(params)]
    assert all(g.dtype == np.float32 for g in got)


@pytest.mark.parametrize("variant", CHECKPOINTED)
@pytest.mark.parametrize("program", remat.PROGRAMS)
def test_residual_counts_are_what_the_script_says(program, variant):
    spec, params, x = _inputs(program)
    res = _residuals(remat.build(jax, jnp, program, variant, spec), params, x)
    expected = remat.expected_residual_counts(program, variant, spec)
    if expected is None:
        # The count depends on the derivative rules: everything_saveable keeps exactly what
        # no checkpoint keeps.
        assert variant == "everything_saveable"
        plain = _residuals(remat.build(jax, jnp, program, "none", spec), params, x)
        assert remat.residual_signature(res) == remat.residual_signature(plain)
    else:
        assert (res["count"], res["count_no_args"]) == expected, res["list"]
    n_args = sum(r["where"].startswith("from the argument") for r in res["list"])
    assert res["count"] - res["count_no_args"] == n_args


def test_nested_keeps_fewer_values_than_one_checkpoint_per_layer():
    spec, params, x = _inputs("mlp")
    per_layer = _residuals(remat.build(jax, jnp, "mlp", "default", spec), params, x)
    nested = _residuals(remat.build(jax, jnp, "mlp", "nested", spec), params, x)
    plain = _residuals(remat.build(jax, jnp, "mlp", "none", spec), params, x)
    assert nested["bytes_no_args"] < per_layer["bytes_no_args"] < plain["bytes_no_args"]
    # the group inputs and the loss's value, each a [batch, width] float32 array
    batch_width = spec["batch"] * spec["width"] * 4
    assert nested["bytes_no_args"] == spec["groups"] * batch_width


@pytest.mark.parametrize("program", remat.PROGRAMS)
def test_measure_runs_every_variant_once(program):
    # The script's own measurement path (residuals, tracemalloc, eager and jit, checks), once.
    fw = remat.Framework("pullback")
    opts = {"rtol": 1e-5, "warmup": 0, "calls": 1}
    for variant in remat.VARIANTS:
        cell = fw.measure(program, variant, "tiny", opts)
        assert cell["notes"] == [], (variant, cell["notes"], cell.get("traceback"))
        if variant != "none":
            assert cell["checks"] == {"eager": "ok", "jit": "ok"}, (variant, cell["checks"])
        for mode in ("eager", "jit"):
            assert cell[f"{mode}_s"] > 0
            mem = cell[f"{mode}_memory"]
            assert mem["peak_bytes"] >= mem["held_bytes"] > 0
        expected = remat.expected_residual_counts(program, variant, remat.SIZES["tiny"][program])
        if expected is not None:
            res = cell["residuals"]
            assert (res["count"], res["count_no_args"]) == expected


def test_summarize_residuals_counts_and_bytes():
    def aval(shape, dtype):
        return SimpleNamespace(shape=shape, dtype=np.dtype(dtype))

    listed = [
        (aval((3, 4), "float32"), "from the argument params[0][0]"),
        (aval((5,), "float64"), "output of tanh from x.py:3 (f)"),
        (aval((), "int32"), "named 'h' from x.py:4 (f)"),
    ]
    s = remat.summarize_residuals(listed)
    assert (s["count"], s["bytes"]) == (3, 48 + 40 + 4)
    assert (s["count_no_args"], s["bytes_no_args"]) == (2, 44)
    assert remat.residual_signature(s) == [((), "int32"), ((3, 4), "float32"), ((5,), "float64")]
    assert remat.residual_kinds(s) == (
        "1x f32[3,4] argument, 1x f64[5] output of tanh, 1x i32[] named 'h'"
    )
    other = remat.summarize_residuals(listed[:2] + [(aval((5,), "float64"), "output of sub")])
    assert remat.residual_difference(s, s) is None
    assert remat.residual_difference(s, other) == (
        "only pullback keeps 1x int32[]; only JAX keeps 1x float64[5]"
    )
