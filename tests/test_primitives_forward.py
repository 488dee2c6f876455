"""Forward mode over the primitive registry, from the sample rows of ``tests/samples_*.py``
(format at the top of ``test_primitives.py``).

For every row: the JVP against float64 central differences, the JVP against the VJP
(``<g, J t> == <J^T g, t>``), and the JVP staged (``make_jaxpr``, ``jit``) against eager. A
primitive without VJP rules must give zero tangents.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_primitives import (
    _bind,
    _cases,
    _order,
    _outputs,
    _random_cotangents,
    _raw,
    _with,
    _wrt,
)

import pullback
from pullback._config import enable_x64
from pullback._core import registry
from pullback._ir import check_jaxpr


@pytest.fixture(autouse=True)
def _x64():
    with enable_x64(True):
        yield


def _differentiable(prim, r):
    return _order(prim, r) >= 1 and bool(_wrt(r))


def _tangents(args, wrt, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(np.shape(args[i])) for i in wrt]


def _fun(prim, args, params, wrt):
    def f(*values):
        return _bind(prim, _with(args, wrt, values), params)

    return f


def _impl_outputs(prim, args, params):
    out = prim.impl(*[a if isinstance(a, (int, float)) else np.asarray(a) for a in args], **params)
    return [np.asarray(o) for o in (out if prim.multiple_results else [out])]


@pytest.mark.parametrize("name,r", _cases(_differentiable))
def test_jvp_against_central_differences(name, r):
    prim = registry[name]
    params, args, wrt = r.get("params", {}), r["args"], _wrt(r)
    ts = _tangents(args, wrt, 3)
    primals = [np.asarray(args[i], np.float64) for i in wrt]
    out, t_out = pullback.jvp(_fun(prim, args, params, wrt), primals, ts)
    eps = r.get("eps", 1e-6)
    up = _impl_outputs(prim, _with(args, wrt, [p + eps * t for p, t in zip(primals, ts)]), params)
    down = _impl_outputs(prim, _with(args, wrt, [p - eps * t for p, t in zip(primals, ts)]), params)
    for k, (t, u, d) in enumerate(zip(_outputs(prim, t_out), up, down, strict=True)):
        if u.dtype.kind not in "fc":  # an integer or boolean output: a float0 zero tangent
            assert t.dtype == pullback.dtypes.float0 and t.shape == u.shape, name
            continue
        expected = (u - d) / (2 * eps)
        got = _raw(t)
        assert got.shape == expected.shape, f"{name}: tangent {k} has shape {got.shape}"
        finite = np.isfinite(expected)  # take's NaN fill values do not depend on the input
        np.testing.assert_allclose(
            got[finite],
            expected[finite],
            rtol=r.get("grad_rtol", 1e-6),
            atol=r.get("grad_atol", 1e-8),
            err_msg=f"{name}: output tangent {k}",
        )


@pytest.mark.parametrize("name,r", _cases(_differentiable))
def test_jvp_agrees_with_vjp(name, r):
    """``<g, J t> == <J^T g, t>``: the forward rule is the transpose of the reverse rule."""
    prim = registry[name]
    params, args, wrt = r.get("params", {}), r["args"], _wrt(r)
    ts = _tangents(args, wrt, 4)
    cts = _random_cotangents(prim, args, params, np.random.default_rng(5))
    f = _fun(prim, args, params, wrt)
    primals = [np.asarray(args[i], np.float64) for i in wrt]
    _, t_out = pullback.jvp(f, primals, ts)
    _, f_vjp = pullback.vjp(f, *primals)
    ct_in = f_vjp(list(cts) if prim.multiple_results else cts[0])
    forward = sum(
        float(np.nansum(_raw(t) * c))
        for t, c in zip(_outputs(prim, t_out), cts, strict=True)
        if c.dtype.kind in "fc"
    )
    reverse = sum(float(np.sum(_raw(g) * t)) for g, t in zip(ct_in, ts, strict=True))
    np.testing.assert_allclose(
        forward, reverse, rtol=r.get("grad_rtol", 1e-9), atol=1e-10, err_msg=name
    )


@pytest.mark.parametrize("name,r", _cases(_differentiable))
def test_staged_jvp_matches_eager(name, r):
    prim = registry[name]
    if "stage_error" in r:
        return
    params, args, wrt = r.get("params", {}), r["args"], _wrt(r)
    ts = _tangents(args, wrt, 6)
    f = _fun(prim, args, params, wrt)

    def pushed(*primals):
        return pullback.jvp(f, primals, ts)

    primals = [np.asarray(args[i], np.float64) for i in wrt]
    check_jaxpr(pullback.make_jaxpr(pushed)(*primals))
    staged, eager = pullback.jit(pushed)(*primals), pushed(*primals)
    for s, e in zip(pullback.tree_util.tree_leaves(staged), pullback.tree_util.tree_leaves(eager)):
        assert (s.shape, s.dtype, s.weak_type) == (e.shape, e.dtype, e.weak_type), name
        if e.dtype == pullback.dtypes.float0:
            continue
        np.testing.assert_allclose(_raw(s), _raw(e), rtol=1e-12, atol=1e-14, equal_nan=True)


def _float_operands(r):
    return tuple(
        i
        for i, a in enumerate(r["args"])
        if isinstance(a, (np.ndarray, np.generic)) and np.asarray(a).dtype.kind == "f"
    )


@pytest.mark.parametrize(
    "name,r", _cases(lambda prim, r: prim.vjp is None and bool(_float_operands(r)))
)
def test_non_differentiable_primitives_give_zero_tangents(name, r):
    prim = registry[name]
    params, args = r.get("params", {}), r["args"]
    wrt = _float_operands(r)
    ts = _tangents(args, wrt, 7)
    primals = [np.asarray(args[i]) for i in wrt]
    out, t_out = pullback.jvp(_fun(prim, args, params, wrt), primals, ts)
    for o, t in zip(_outputs(prim, out), _outputs(prim, t_out), strict=True):
        assert t.shape == o.shape
        assert t.dtype == (pullback.dtypes.float0 if o.dtype.kind not in "fc" else o.dtype)
        if o.dtype.kind in "fc":
            assert not np.any(_raw(t)), name
