"""Forward mode: ``jvp`` and ``linearize`` against JAX (values, dtypes, weak types), through
``jit`` and control flow, nested with reverse mode, ``custom_vjp`` under forward mode (which JAX
refuses), the interpreter's interface for higher-order rules, and errors."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import pullback
import pullback.numpy as pnp
from pullback import lax
from pullback._core import EVAL, Array, state
from pullback._interp.jvp import JVPInterp, zeros_like_tangent
from pullback.custom_derivatives import CustomVJPException
from pullback.tree_util import tree_leaves

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import fixed_point  # noqa: E402

F0 = np.zeros((), jax.dtypes.float0)


def _check(got, expected, rtol=1e-5, atol=1e-5):
    """Same pytree, values, dtypes and weak types."""
    g_leaves, e_leaves = tree_leaves(got), jax.tree_util.tree_leaves(expected)
    assert len(g_leaves) == len(e_leaves)
    for g, e in zip(g_leaves, e_leaves):
        assert isinstance(g, Array)
        e_dtype = np.asarray(e).dtype
        assert g.shape == np.shape(e)
        if e_dtype == jax.dtypes.float0:
            assert g.dtype == pullback.dtypes.float0
            continue
        assert g.dtype == e_dtype, (g.dtype, e_dtype)
        assert g.weak_type == getattr(e, "weak_type", False), (g, e)
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=rtol, atol=atol)


def _to_pullback(tree):
    return jax.tree_util.tree_map(
        lambda x: (
            Array(np.zeros(np.shape(x), pullback.dtypes.float0), False)
            if np.asarray(x).dtype == jax.dtypes.float0
            else x
        ),
        tree,
    )


def _both(make):
    """``make(jax, jnp)`` for both libraries."""
    return make(pullback, pnp), make(jax, jnp)


def _arange(n):
    return np.arange(1.0, n + 1, dtype=np.float32)


# (name, make(jax, jnp) -> function, primals, tangents)
PROGRAMS = [
    ("sin-weak", lambda j, n: n.sin, (1.0,), (1.0,)),
    ("sin-f32", lambda j, n: n.sin, (np.float32(1.0),), (np.float32(2.0),)),
    ("poly", lambda j, n: lambda x: n.sum(n.sin(x) * x**2 + 3 * x), (_arange(3),), (_arange(3),)),
    ("add-const", lambda j, n: lambda x: x + n.ones(()), (1.0,), (1.0,)),
    (
        "broadcast",
        lambda j, n: lambda x, y: x * y + y,
        (_arange(3), np.float32(2.0)),
        (
            np.ones(3, np.float32),
            np.float32(1.0),
        ),
    ),
    ("int-arg", lambda j, n: lambda x, k: x * k, (np.float32(2.0), 3), (np.float32(1.0), F0)),
    (
        "int-out",
        lambda j, n: lambda x: (x * 2, n.argmax(x)),
        (_arange(3),),
        (np.ones(3, np.float32),),
    ),
    ("max-ties", lambda j, n: n.max, (np.array([1.0, 3.0, 3.0], np.float32),), (_arange(3),)),
    ("prod-zero", lambda j, n: n.prod, (np.array([1.0, 0.0, 3.0], np.float32),), (_arange(3),)),
    ("cumprod", lambda j, n: n.cumprod, (_arange(4),), (_arange(4)[::-1].copy(),)),
    ("where", lambda j, n: lambda x: n.where(x > 1.5, x**2, 0.0), (_arange(3),), (_arange(3),)),
    ("clip", lambda j, n: lambda x: n.clip(x, 1.5, 2.5), (_arange(3),), (_arange(3),)),
    ("pow", lambda j, n: lambda x, y: x**y, (np.float32(2.0), np.float32(3.0)), (1.0, 1.0)),
    (
        "matmul",
        lambda j, n: lambda a, b: n.tanh(a @ b),
        (
            np.ones((2, 3), np.float32),
            _arange(3).reshape(3, 1) / 3,
        ),
        (np.ones((2, 3), np.float32), np.ones((3, 1), np.float32)),
    ),
    (
        "index",
        lambda j, n: lambda x: x[1:] * x[0] + x.at[0].set(5.0)[:2],
        (_arange(3),),
        (_arange(3),),
    ),
    (
        "dict",
        lambda j, n: lambda d: {"a": d["x"] * d["y"], "b": n.sum(d["x"])},
        ({"x": np.ones(2, np.float32), "y": np.float32(3)},),
        ({"x": np.ones(2, np.float32), "y": np.float32(1)},),
    ),
    (
        "float64-off",
        lambda j, n: lambda x: x * np.float64(2.0),
        (np.float32(1.0),),
        (np.float32(1.0),),
    ),
    ("logsumexp", lambda j, n: lambda x: n.log(n.sum(n.exp(x))), (_arange(3),), (_arange(3),)),
    (
        # a value without a tangent keeps its weak type through the parent level
        "stop-gradient-weak",
        lambda j, n: lambda k: j.lax.stop_gradient(k) * 3.0 + (k > 1.0) * k,
        (2.0,),
        (1.0,),
    ),
    ("jit", lambda j, n: j.jit(lambda x: n.sin(x) * x), (_arange(2),), (_arange(2),)),
    (
        "cond",
        lambda j, n: lambda x: j.lax.cond(x.sum() > 0, n.sin, lambda y: y * 3.0, x),
        (_arange(2),),
        (_arange(2),),
    ),
    (
        "switch-const-operand",
        lambda j, n: lambda x, y: j.lax.switch(1, [lambda a, b: a * b, lambda a, b: a + b], x, y),
        (_arange(2), np.float32(2.0)),
        (_arange(2), np.float32(0.0)),
    ),
    (
        "scan",
        lambda j, n: lambda c, xs: j.lax.scan(lambda c, x: (c * n.sin(x) + x, c * x), c, xs),
        (np.float32(1.0), _arange(3)),
        (np.float32(1.0), np.ones(3, np.float32)),
    ),
    (
        "scan-carry-gets-tangent",
        lambda j, n: lambda a, c: j.lax.scan(lambda k, _: (k * a, k), c, None, length=3),
        (np.float32(2.0), np.float32(1.0)),
        (np.float32(1.0), np.float32(0.0)),
    ),
    (
        "fori-static",
        lambda j, n: lambda x: j.lax.fori_loop(0, 3, lambda i, c: c * 2.0 + n.sin(c), x),
        (np.float32(0.5),),
        (np.float32(1.0),),
    ),
    (
        "while",
        lambda j, n: (
            lambda x: j.lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * x), (0, x))
        ),
        (np.float32(1.1),),
        (np.float32(1.0),),
    ),
]


@pytest.mark.parametrize("name,make,primals,tangents", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_jvp_matches_jax(name, make, primals, tangents):
    ours, theirs = _both(make)
    expected = jax.jvp(theirs, primals, tangents)
    _check(pullback.jvp(ours, primals, _to_pullback(tangents)), expected)
    # staged: jit of jvp gives the same
    if not any(np.asarray(t).dtype == jax.dtypes.float0 for t in tangents):
        jitted = pullback.jit(lambda p, t: pullback.jvp(ours, p, t))(primals, tangents)
        _check(jitted, expected)


@pytest.mark.parametrize(
    "name,make,primals,tangents",
    [p for p in PROGRAMS if p[0] in ("sin-weak", "poly", "broadcast", "int-arg", "matmul", "cond")],
    ids=lambda p: p if isinstance(p, str) else "",
)
def test_linearize_matches_jax(name, make, primals, tangents):
    ours, theirs = _both(make)
    y, f_jvp = pullback.linearize(ours, *primals)
    y_expected, f_expected = jax.linearize(theirs, *primals)
    _check(y, y_expected)
    _check(f_jvp(*_to_pullback(tangents)), f_expected(*tangents))


def test_linearize_stages_only_the_linear_part():
    y, f_jvp = pullback.linearize(lambda x: pnp.sum(pnp.sin(x) * x**2), _arange(3))
    jaxpr = pullback.make_jaxpr(f_jvp)(_arange(3))
    prims = [e.prim.name for e in jaxpr.jaxpr.eqns]
    assert prims == ["mul", "mul", "mul", "mul", "add", "reduce_sum"], prims
    assert "sin" not in str(jaxpr) and "cos" not in str(jaxpr)
    # the primal was computed eagerly, with Python control flow on its values allowed
    y, f_jvp = pullback.linearize(lambda x: x * 2.0 if float(x) > 0 else -x, 1.0)
    _check((y, f_jvp(1.0)), jax.jvp(lambda x: x * 2.0, (1.0,), (1.0,)))


def test_jvp_of_jit_stays_compiled():
    f = pullback.jit(lambda x: pnp.sin(x) * x)
    jaxpr = pullback.make_jaxpr(lambda x, t: pullback.jvp(f, (x,), (t,)))(_arange(2), _arange(2))
    assert [e.prim.name for e in jaxpr.jaxpr.eqns] == ["jit"]
    inner = jaxpr.jaxpr.eqns[0].params["jaxpr"]
    assert {e.prim.name for e in inner.jaxpr.eqns} == {"sin", "cos", "mul", "add"}
    # jvp of a jit called again reuses its JVP jaxpr
    a = pullback.make_jaxpr(lambda x, t: pullback.jvp(f, (x,), (t,)))(_arange(2), _arange(2))
    assert a.jaxpr.eqns[0].params["jaxpr"] is inner


def test_symbolic_zero_tangents_skip_work():
    seen = []

    def f(x, y):
        seen.append(type(y).__name__)
        return pnp.sin(x) + y

    pullback.jvp(f, (1.0, 2.0), (1.0, 0.0))
    assert seen == ["JVPTracer"]  # a tangent given is a tracer even when zero
    # a constant never becomes a tracer and its operations go to the parent
    out, t = pullback.jvp(lambda x: x * pnp.cos(pnp.float32(1.0)), (1.0,), (1.0,))
    _check((out, t), jax.jvp(lambda x: x * jnp.cos(jnp.float32(1.0)), (1.0,), (1.0,)))


def test_nested_forward_and_reverse():
    def f(x):
        return jnp_sin_cube(x)

    def jnp_sin_cube(x):
        return pnp.sin(x) ** 3

    x = np.float32(0.7)
    expected_second = jax.grad(jax.grad(lambda x: jnp.sin(x) ** 3))(x)
    # forward over reverse, reverse over forward, forward over forward
    fr = pullback.jvp(pullback.grad(f), (x,), (np.float32(1.0),))[1]
    rf = pullback.grad(lambda x: pullback.jvp(f, (x,), (np.float32(1.0),))[1])(x)
    ff = pullback.jvp(lambda x: pullback.jvp(f, (x,), (np.float32(1.0),))[1], (x,), (1.0,))[1]
    for got in (fr, rf, ff):
        _check(got, expected_second)


def test_check_grads_forward_over_programs():
    from pullback.test_util import check_grads

    check_grads(
        lambda x: lax.scan(lambda c, x: (c * pnp.sin(x), c), 1.0, x)[0],
        (_arange(3),),
        2,
        modes=("fwd", "rev"),
    )
    check_grads(lambda x: lax.cond(x > 0, pnp.sin, pnp.cos, x), (0.5,), 2, modes=("fwd", "rev"))


# -- custom_vjp under forward mode (JAX: "can't apply forward-mode autodiff (jvp) to a custom_vjp
# function") ----------------------------------------------------------------------------------


@pullback.custom_vjp
def sin_times(x, y):
    return pnp.sin(x) * y


def _sin_times_fwd(x, y):
    return sin_times(x, y), (pnp.cos(x), pnp.sin(x), y)


def _sin_times_bwd(res, g):
    cos_x, sin_x, y = res
    return (cos_x * g * y, sin_x * g)


sin_times.defvjp(_sin_times_fwd, _sin_times_bwd)


@partial(pullback.custom_vjp, nondiff_argnums=(0, 1))
def clip_gradient(lo, hi, x):
    return x


def _clip_fwd(lo, hi, x):
    return x, None


def _clip_bwd(lo, hi, _, g):
    return (pnp.clip(g, lo, hi),)


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


def _against_double_jacrev(f, *args, argnums=0):
    _check(pullback.jacfwd(f, argnums)(*args), pullback.jacrev(f, argnums)(*args))
    _check(
        pullback.hessian(f, argnums)(*args),
        pullback.jacrev(pullback.jacrev(f, argnums), argnums)(*args),
    )


def test_custom_vjp_docs_example_under_forward_mode():
    x, y = np.float32(1.0), np.float32(2.0)
    out, t = pullback.jvp(sin_times, (x, y), (np.float32(1.0), np.float32(0.5)))
    _check((out, t), (jnp.sin(x) * y, jnp.cos(x) * y + jnp.sin(x) * 0.5))
    _against_double_jacrev(sin_times, x, y, argnums=(0, 1))
    _against_double_jacrev(lambda x: pnp.sum(sin_times(x, x * 2.0)), _arange(3))


def test_forward_over_forward_over_custom_vjp():
    x, y = np.float32(1.0), np.float32(2.0)
    for argnums in (0, 1):
        expected = pullback.jacrev(pullback.jacrev(sin_times, argnums))(x, y)
        _check(pullback.jacfwd(pullback.jacfwd(sin_times, argnums))(x, y), expected)
        _check(pullback.jit(pullback.jacfwd(pullback.jacfwd(sin_times, argnums)))(x, y), expected)


def test_clip_gradient_under_forward_mode():
    def f(x):
        return clip_gradient(-1.0, 1.0, pnp.sin(x) * 3.0)

    _check(pullback.jvp(f, (0.5,), (1.0,)), jax.jvp(lambda x: jnp.sin(x) * 3.0, (0.5,), (1.0,)))
    _against_double_jacrev(f, np.float32(0.5))
    # cotangents inside the clipping range: bwd is linear there, and forward mode agrees
    _against_double_jacrev(lambda x: pnp.sum(f(x) ** 2) * 0.1, _arange(3) / 4)


def test_fixed_point_example_under_forward_mode():
    a = np.float32(2.0)
    _check(pullback.jvp(fixed_point.newton_sqrt, (a,), (1.0,))[1], jnp.float32(0.5 / 2**0.5))
    _against_double_jacrev(fixed_point.newton_sqrt, a)
    a = np.array([1.0, 4.0, 9.0], np.float32)
    _against_double_jacrev(lambda a: pnp.sum(fixed_point.newton_sqrt(a)), a)
    np.testing.assert_allclose(
        np.diag(np.asarray(pullback.hessian(lambda a: pnp.sum(fixed_point.newton_sqrt(a)))(a))),
        -0.25 * a**-1.5,
        rtol=1e-4,
    )


def test_custom_vjp_inside_jit_scan_cond_under_forward_mode():
    def in_jit(x):
        return pullback.jit(sin_times)(x, x)

    def in_scan(x):
        return lax.scan(lambda c, _: (sin_times(c, 1.5), c), x, None, length=3)[0]

    def in_cond(x):
        return lax.cond(x > 0, lambda x: sin_times(x, x), pnp.cos, x)

    for f in (in_jit, in_scan, in_cond):
        x = np.float32(0.8)
        t = pullback.jvp(f, (x,), (np.float32(1.0),))[1]
        _check(t, pullback.grad(f)(x))
        _check(pullback.jit(lambda x: pullback.jvp(f, (x,), (1.0,))[1])(x), t)
        _against_double_jacrev(f, x)


def test_custom_vjp_symbolic_zeros_under_forward_mode():
    @pullback.custom_vjp
    def f(x, y):
        return x * y

    def fwd(x, y):
        assert x.perturbed and not y.perturbed
        return f(x.value, y.value), (x.value, y.value)

    def bwd(res, g):
        x, y = res
        return g * y, g * x

    f.defvjp(fwd, bwd, symbolic_zeros=True)
    _check(
        pullback.jvp(lambda x: f(x, 3.0), (2.0,), (1.0,)),
        jax.jvp(lambda x: x * 3.0, (2.0,), (1.0,)),
    )


def test_custom_vjp_without_tangents_runs_fun_only():
    calls = []

    @pullback.custom_vjp
    def f(x):
        calls.append("fun")
        return x * 2.0

    f.defvjp(lambda x: (calls.append("fwd") or f(x), None), lambda r, g: (g * 2.0,))
    _check(pullback.jvp(lambda y: f(np.float32(1.0)) * y, (1.0,), (1.0,)), (jnp.float32(2.0),) * 2)
    assert calls == ["fun"]


def test_custom_vjp_whose_bwd_calls_foreign_code_is_an_error():
    @pullback.custom_vjp
    def f(x):
        return x

    def bwd_with_callback(res, g):
        shape = pullback.ShapeDtypeStruct((), np.float32)
        return (pullback.pure_callback(lambda c: np.asarray(c) * 2, shape, g),)

    f.defvjp(lambda x: (x, None), bwd_with_callback)
    with pytest.raises(
        TypeError, match="custom_vjp function f.*bwd rule bwd_with_callback.*foreign"
    ):
        pullback.jvp(f, (np.float32(1.0),), (np.float32(1.0),))
    # under jit nothing is concrete: a bwd that needs the cotangent's value is refused too
    g = pullback.custom_vjp(lambda x: x)
    g.defvjp(lambda x: (x, None), lambda r, ct: (ct * 2.0 if float(ct) > 0 else ct,))
    _check(
        pullback.jvp(g, (np.float32(1.0),), (np.float32(1.0),)), (jnp.float32(1), jnp.float32(2))
    )
    with pytest.raises(TypeError, match="needs the concrete value of the cotangent"):
        pullback.jit(lambda x: pullback.jvp(g, (x,), (x,)))(np.float32(1.0))


def test_custom_vjp_traced_nondiff_argument_is_an_error():
    @partial(pullback.custom_vjp, nondiff_argnums=(0,))
    def f(k, x):
        return k * x

    f.defvjp(lambda k, x: (f(k, x), None), lambda k, r, g: (g * k,))
    with pytest.raises(CustomVJPException, match="nondiff_argnums.*has a tangent"):
        pullback.jvp(lambda k: f(k, 2.0), (1.0,), (1.0,))


def test_pure_callback_under_forward_mode_names_the_callback():
    def host_sin(x):
        return np.sin(x)

    def f(x):
        return pullback.pure_callback(host_sin, pullback.ShapeDtypeStruct((), np.float32), x)

    with pytest.raises(ValueError, match="host_sin.*custom_jvp"):
        pullback.jvp(f, (np.float32(1.0),), (np.float32(1.0),))
    # without a tangent it just runs
    _check(
        pullback.jvp(lambda y: f(np.float32(1.0)) + y, (1.0,), (1.0,))[0],
        jnp.float32(np.sin(1) + 1),
    )


# -- the interface of the interpreter ------------------------------------------------------------


def test_interpreter_interface():
    interp = JVPInterp(EVAL)
    x = Array(np.float32(2.0))
    t = interp.lift(x, Array(np.float32(3.0)))
    assert interp.own(t) and not interp.own(x)
    assert interp.lift(x, None) is x
    p, tan = interp.primal(t), interp.tangent(t)
    assert type(p) is Array and type(tan) is Array
    assert (float(p), float(tan)) == (2.0, 3.0)
    assert interp.tangent(x) is None and interp.primal(x) is x
    i = Array(np.int32(1))
    assert interp.lift(i, Array(np.float32(1.0))) is i  # integers carry no tangent
    assert state.interp is EVAL
    z = zeros_like_tangent(i)
    assert z.dtype == pullback.dtypes.float0 and z.shape == ()
    z = zeros_like_tangent(np.ones(2, np.float32))
    assert z.dtype == np.float32 and not np.any(np.asarray(z))


# -- errors ---------------------------------------------------------------------------------------


def test_argument_errors():
    with pytest.raises(TypeError, match="must be tuples or lists"):
        pullback.jvp(pnp.sin, 1.0, (1.0,))
    with pytest.raises(TypeError, match="same tree structure"):
        pullback.jvp(lambda a, b: a, (1.0, 2.0), (1.0,))
    shapes = r"different primal and tangent shapes;Got .*at primals\[0\]"
    with pytest.raises(ValueError, match=shapes):
        pullback.jvp(pnp.sin, (np.ones(3, np.float32),), (np.ones(2, np.float32),))
    with pytest.raises(
        TypeError, match="expected tangent dtype float32, but got tangent dtype int32"
    ):
        pullback.jvp(pnp.sin, (np.ones(2, np.float32),), (np.ones(2, np.int32),))
    with pytest.raises(TypeError, match="expected tangent dtype float0"):
        pullback.jvp(lambda k: k, (1,), (1.0,))
    with pytest.raises(TypeError, match="must return a pair"):
        pullback.jvp(pnp.sin, (1.0,), (1.0,), has_aux=True)


def test_has_aux():
    out, t, aux = pullback.jvp(lambda x: (pnp.sin(x), {"x": x * 2}), (1.0,), (1.0,), has_aux=True)
    expected = jax.jvp(lambda x: (jnp.sin(x), {"x": x * 2}), (1.0,), (1.0,), has_aux=True)
    _check((out, t, aux), expected)


def test_linearize_through_higher_order_primitives():
    def f(x):
        y = pullback.jit(lambda x: pnp.sin(x) * x)(x)
        y = lax.scan(lambda c, v: (c * v, c), 1.0, y)[0]
        return lax.cond(y > 0, lambda y: sin_times(y, y), pnp.cos, y)

    x = _arange(3) / 4
    y, f_jvp = pullback.linearize(f, x)
    expected_y, expected_t = pullback.jvp(f, (x,), (np.ones(3, np.float32),))
    _check((y, f_jvp(np.ones(3, np.float32))), (np.asarray(expected_y), np.asarray(expected_t)))
    # the linear function can be staged and compiled
    _check(pullback.jit(f_jvp)(np.ones(3, np.float32)), np.asarray(expected_t))


def test_while_loop_with_traced_bounds_under_jit_of_jvp():
    def f(x, n):
        return lax.fori_loop(0, n, lambda i, c: c * x + 1.0, x)

    def g(x, n):
        return jax.lax.fori_loop(0, n, lambda i, c: c * x + 1.0, x)

    got = pullback.jit(lambda x, n: pullback.jvp(lambda x: f(x, n), (x,), (1.0,)))(
        np.float32(1.5), np.int32(3)
    )
    expected = jax.jit(lambda x, n: jax.jvp(lambda x: g(x, n), (x,), (1.0,)))(
        np.float32(1.5), np.int32(3)
    )
    _check(got, expected)
    jaxpr = pullback.make_jaxpr(lambda x, n: pullback.jvp(lambda x: f(x, n), (x,), (1.0,)))(
        np.float32(1.5), np.int32(3)
    )
    assert "while" in str(jaxpr)


def test_iterative_bwd_under_forward_mode_with_batched_tangents():
    # bwd runs Python on its cotangent (an iterative solver): its Jacobian rows are computed from
    # concrete one-hot cotangents, then applied to the tangents, which may be batched (vmap)
    a = np.float32(2.0)
    ts = pnp.array([1.0, 2.0, -0.5])
    got = pullback.vmap(lambda t: pullback.jvp(fixed_point.newton_sqrt, (a,), (t,))[1])(ts)
    np.testing.assert_allclose(np.asarray(got), 0.5 / np.sqrt(2.0) * np.asarray(ts), rtol=1e-5)
