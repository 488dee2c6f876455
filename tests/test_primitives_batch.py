"""Every registered primitive's batch rule against a Python loop, from the sample rows of
``tests/samples_*.py`` (format at the top of ``test_primitives.py``).

For each row, the operands that are NumPy values get three examples each (floats scaled by
``1 + k / 100``, integers and booleans rolled by ``k``, so index operands stay valid), and the
primitive is run under ``vmap`` for each choice of ``in_axes``: every such operand batched at 0,
every one batched at its last axis, and each one alone batched (the others fixed). The result
must equal the loop of the primitive over the examples, stacked, in values, dtypes and weak types;
``jit`` of the ``vmap`` must equal the eager ``vmap`` and its jaxpr must type-check.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_primitives import _cases

import pullback
from pullback._config import enable_x64
from pullback._core import Array, ConcretizationTypeError, registry
from pullback._ir import check_jaxpr
from pullback.tree_util import tree_flatten

N = 3  # examples per batch


@pytest.fixture(autouse=True)
def _x64():
    with enable_x64(True):
        yield


def test_every_primitive_has_a_batch_rule():
    missing = sorted(
        name for name, p in registry.items() if p.batch is None and "batch" not in p.rules
    )
    assert not missing, f"primitives without a batch rule: {missing}"


def _example(a, k):
    a = np.asarray(a) if isinstance(a, np.ndarray) else a
    if np.asarray(a).dtype.kind in "fc":
        return a * (1 + k / 100)
    if isinstance(a, np.ndarray) and a.ndim:
        return np.roll(a, k)
    return a


def _positions(args):
    return [i for i, a in enumerate(args) if isinstance(a, (np.ndarray, np.generic))]


def _stack(values, axis):
    return np.stack([np.asarray(v) for v in values], axis)


def _loop(prim, args, params, batched):
    """The primitive over the examples, stacked along 0 (one list entry per output)."""
    per_example = []
    for k in range(N):
        example = [_example(a, k) if i in batched else a for i, a in enumerate(args)]
        out = prim.bind(*example, **params)
        per_example.append(list(out) if prim.multiple_results else [out])
    return [list(outs) for outs in zip(*per_example, strict=True)]


def _check(got, expected, what):
    got = tree_flatten(got)[0]
    assert len(got) == len(expected), what
    for g, outs in zip(got, expected, strict=True):
        e = _stack([o._value for o in outs], 0)
        assert isinstance(g, Array), what
        assert g.shape == e.shape, f"{what}: shape {g.shape}, loop {e.shape}"
        assert g.dtype == outs[0].dtype, f"{what}: dtype {g.dtype}, loop {outs[0].dtype}"
        assert g.weak_type == outs[0].weak_type, f"{what}: weak type"
        np.testing.assert_allclose(
            np.asarray(g._value), e, rtol=1e-12, atol=1e-14, equal_nan=True, err_msg=what
        )


def _choices(positions, args):
    yield "all at 0", {i: 0 for i in positions}
    yield "all at the last axis", {i: np.ndim(args[i]) for i in positions}
    if len(positions) > 1:
        for i in positions:
            yield f"only operand {i}", {i: 0}


@pytest.mark.parametrize("name,r", _cases(lambda prim, r: bool(_positions(r["args"]))))
def test_batch_rule_matches_loop(name, r):
    prim = registry[name]
    args, params = r["args"], r.get("params", {})
    positions = _positions(args)
    for label, axes in _choices(positions, args):
        batched = sorted(axes)

        def f(*values, axes=axes):
            full = list(args)
            for i, v in zip(sorted(axes), values, strict=True):
                full[i] = v
            return prim.bind(*full, **params)

        inputs = [_stack([_example(args[i], k) for k in range(N)], axes[i]) for i in batched]
        vf = pullback.vmap(f, in_axes=tuple(axes[i] for i in batched))
        if "stage_error" in r:  # a value-dependent output shape cannot be batched either
            with pytest.raises(ConcretizationTypeError):
                vf(*inputs)
            return
        what = f"{name} batched ({label})"
        got = vf(*inputs)
        _check(got, _loop(prim, args, params, batched), what)
        check_jaxpr(pullback.make_jaxpr(vf)(*inputs))
        staged = pullback.jit(vf)(*inputs)
        for s, g in zip(tree_flatten(staged)[0], tree_flatten(got)[0], strict=True):
            assert (s.shape, s.dtype, s.weak_type) == (g.shape, g.dtype, g.weak_type), what
            np.testing.assert_allclose(
                np.asarray(s._value),
                np.asarray(g._value),
                rtol=1e-12,
                atol=1e-14,
                equal_nan=True,
                err_msg=f"{what} under jit",
            )
