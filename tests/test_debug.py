"""``pullback.debug.print`` and ``pullback.debug.callback``: what is printed and what the callback
receives, eagerly and under ``vmap``, ``grad``, ``jvp``, ``jit`` and control flow, against JAX's
``jax.debug`` (run in the same way, output captured) and against expected text (without JAX).

Under ``jit`` the call must happen when the compiled program runs, with that call's values, and
never while tracing. That needs the compiler to keep equations that have no outputs but an
effect (``debug_callback``'s ``rules["effect"]``); the tests that need it are marked with
``needs_effects`` and expected to fail until ``_ir.dce`` keeps such equations.
"""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback import debug, lax


def _jit_keeps_effects():
    calls = []
    pb.jit(lambda x: (debug.callback(lambda v: calls.append(v), x), x * 2)[1])(1.0)
    return bool(calls)


needs_effects = pytest.mark.xfail(
    not _jit_keeps_effects(),
    reason="the compiler drops equations without outputs: _ir.dce must keep debug_callback",
    strict=False,  # some cases pass already (a scan body is not pruned)
)


@pytest.fixture
def jx():
    jax = pytest.importorskip("jax")
    return jax


def _namespace(jax_module):
    if jax_module is pb:
        return pb, pnp, lax, debug
    return jax_module, jax_module.numpy, jax_module.lax, jax_module.debug


def _f(ns):
    jax, jnp, lax_, dbg = ns

    def f(x):
        dbg.print("x={x} sum={s:.3f}", x=x, s=x.sum())
        dbg.print("pos {} {}", x, 3)
        dbg.print("no placeholders")
        return x * 2

    return f


PROGRAMS = {
    "eager": lambda ns: _f(ns)(ns[1].arange(3.0)),
    "vmap": lambda ns: ns[0].vmap(_f(ns))(ns[1].arange(3.0)),
    "vmap-in-axes": lambda ns: ns[0].vmap(_f(ns), in_axes=1)(ns[1].arange(6.0).reshape(2, 3)),
    "vmap-vmap": lambda ns: ns[0].vmap(ns[0].vmap(lambda x: ns[3].print("vv {}", x)))(
        ns[1].arange(4.0).reshape(2, 2)
    ),
    "grad": lambda ns: ns[0].grad(lambda x: _f(ns)(x).sum())(ns[1].arange(3.0)),
    "jvp": lambda ns: ns[0].jvp(_f(ns), (ns[1].arange(3.0),), (ns[1].ones(3),)),
    "format-specs": lambda ns: ns[3].print(
        "{a:>8.2f}|{b!r}|{c}|{0}", 7, a=ns[1].float32(3.14159), b=ns[1].int32(2), c="text"
    ),
    "python-values": lambda ns: ns[3].print("{} {} {}", 1.5, 2, True),
    "pytree": lambda ns: ns[3].print("{x}", x={"a": ns[1].ones(2), "b": [1, 2.0]}),
    "two-call": lambda ns: ns[3].print(ordered=True)("two {}", ns[1].ones(2)),
    "printoptions": lambda ns: _with_printoptions(ns),
    "callback": lambda ns: ns[3].callback(
        lambda a, s, k=None: print("cb", repr(a), s, repr(k)), ns[1].arange(2.0), "static", k=1
    ),
    "callback-vmap": lambda ns: ns[0].vmap(
        lambda x, y: ns[3].callback(lambda a, b: print("cbv", repr(a), repr(b)), x, y),
        in_axes=(0, None),
    )(ns[1].arange(2.0), ns[1].ones(3)),
    "callback-grad": lambda ns: ns[0].grad(
        lambda x: (ns[3].callback(lambda a: print("cbg", repr(a)), x), x**2)[1]
    )(3.0),
    "callback-two-call": lambda ns: ns[3].callback(ordered=True)(print, "two-call callback"),
    "scan-eager": lambda ns: ns[2].scan(
        lambda c, x: (ns[3].print("scan {} {}", c, x), (c + x, None))[1], 0.0, ns[1].arange(3.0)
    ),
}


def _with_printoptions(ns):
    with np.printoptions(precision=2):
        ns[3].print("{}", ns[1].array([1.23456, 2.5]))


JIT_PROGRAMS = {
    "jit": lambda ns: ns[0].jit(_f(ns))(ns[1].arange(3.0)),
    "jit-called-twice": lambda ns: [ns[0].jit(_f(ns))(ns[1].arange(3.0) + k) for k in range(2)],
    "jit-grad": lambda ns: ns[0].jit(ns[0].grad(lambda x: _f(ns)(x).sum()))(ns[1].arange(3.0)),
    "grad-jit": lambda ns: ns[0].grad(lambda x: ns[0].jit(_f(ns))(x).sum())(ns[1].arange(3.0)),
    "jit-vmap": lambda ns: ns[0].jit(ns[0].vmap(_f(ns)))(ns[1].arange(3.0)),
    "vmap-jit": lambda ns: ns[0].vmap(ns[0].jit(_f(ns)))(ns[1].arange(2.0)),
    "jit-scan": lambda ns: ns[0].jit(
        lambda xs: ns[2].scan(
            lambda c, x: (ns[3].print("scan {} {}", c, x), (c + x, None))[1], 0.0, xs
        )
    )(ns[1].arange(3.0)),
    "jit-cond": lambda ns: ns[0].jit(
        lambda x: ns[2].cond(
            x > 0, lambda: ns[3].print("pos {}", x), lambda: ns[3].print("neg {}", x)
        )
    )(1.0),
    "jit-fori": lambda ns: ns[0].jit(
        lambda x: ns[2].fori_loop(
            0, 2, lambda i, c: (ns[3].print("i={} c={}", i, c), c + 1.0)[1], x
        )
    )(0.0),
    "jit-while": lambda ns: ns[0].jit(
        lambda x: ns[2].while_loop(
            lambda c: c < 2, lambda c: (ns[3].print("w {}", c), c + 1.0)[1], x
        )
    )(0.0),
    "jit-twice-same": lambda ns: ns[0].jit(
        lambda x: (ns[3].print("once {}", x), ns[3].print("once {}", x), x)[2]
    )(1.0),
    "jit-constant": lambda ns: ns[0].jit(lambda x: (ns[3].print("const {}", 3.0), x)[1])(1.0),
    "jit-callback": lambda ns: ns[0].jit(
        lambda x: ns[3].callback(lambda a: print("cbj", repr(a)), x)
    )(ns[1].arange(2.0)),
}


def _output(capsys, program, ns):
    capsys.readouterr()
    program(ns)
    return capsys.readouterr().out


@pytest.mark.parametrize("name", PROGRAMS)
def test_debug_against_jax(jx, capsys, name):
    expected = _output(capsys, PROGRAMS[name], _namespace(jx))
    got = _output(capsys, PROGRAMS[name], _namespace(pb))
    assert got == expected


@needs_effects
@pytest.mark.parametrize("name", JIT_PROGRAMS)
def test_debug_under_jit_against_jax(jx, capsys, name):
    expected = _output(capsys, JIT_PROGRAMS[name], _namespace(jx))
    got = _output(capsys, JIT_PROGRAMS[name], _namespace(pb))
    # XLA does not keep unordered prints in program order (pullback does: see the next test)
    assert sorted(got.splitlines()) == sorted(expected.splitlines())


@needs_effects
def test_debug_under_jit_in_program_order(capsys):
    ns = _namespace(pb)
    assert _output(capsys, JIT_PROGRAMS["jit-called-twice"], ns) == (
        "x=[0. 1. 2.] sum=3.000\npos [0. 1. 2.] 3\nno placeholders\n"
        "x=[1. 2. 3.] sum=6.000\npos [1. 2. 3.] 3\nno placeholders\n"
    )
    assert _output(capsys, JIT_PROGRAMS["jit-vmap"], ns).splitlines()[:3] == [
        "x=0.0 sum=0.000",
        "x=1.0 sum=1.000",
        "x=2.0 sum=2.000",
    ]
    assert _output(capsys, JIT_PROGRAMS["jit-while"], ns) == "w 0.0\nw 1.0\n"


def test_debug_print_without_jax(capsys):
    ns = _namespace(pb)
    assert _output(capsys, PROGRAMS["eager"], ns) == (
        "x=[0. 1. 2.] sum=3.000\npos [0. 1. 2.] 3\nno placeholders\n"
    )
    assert _output(capsys, PROGRAMS["vmap-vmap"], ns) == "vv 0.0\nvv 2.0\nvv 1.0\nvv 3.0\n"
    assert _output(capsys, PROGRAMS["grad"], ns).splitlines()[0] == "x=[0. 1. 2.] sum=3.000"
    assert (
        _output(capsys, PROGRAMS["callback-grad"], ns)
        == "cbg Array(3., dtype=float32, weak_type=True)\n"
    )


@needs_effects
def test_jit_runs_callbacks_at_call_time_not_trace_time():
    calls = []

    @pb.jit
    def f(x):
        debug.callback(lambda v: calls.append(float(v)), x)
        return x + 1

    f.lower(1.0)  # tracing and lowering call nothing
    assert calls == []
    f(1.0)
    f(2.0)
    f(3.0)
    assert calls == [1.0, 2.0, 3.0]


def test_callback_receives_arrays_and_static_values():
    got = []
    debug.callback(lambda *a, **k: got.append((a, k)), "s", 2, np.ones(2), key=None, other="t")
    ((args, kwargs),) = got
    assert args[0] == "s"
    assert isinstance(args[1], pb.Array) and args[1].weak_type and args[1].dtype == np.int32
    assert isinstance(args[2], pb.Array) and args[2].dtype == np.float32
    assert kwargs == {"key": None, "other": "t"}


def test_vmap_calls_once_per_example_with_unbatched_values_as_they_are():
    got = []
    pb.vmap(
        lambda x, y: debug.callback(lambda a, b: got.append((float(a), b.shape)), x, y),
        in_axes=(0, None),
    )(pnp.arange(3.0), pnp.ones(2))
    assert got == [(0.0, (2,)), (1.0, (2,)), (2.0, (2,))]


def test_grad_is_unchanged_by_debug_calls():
    def f(x):
        debug.print("{}", x)
        y = pnp.sin(x)
        debug.callback(lambda v: None, y)
        return y * x

    g = pb.grad(f)(0.5)
    np.testing.assert_allclose(float(g), np.cos(0.5) * 0.5 + np.sin(0.5), rtol=1e-6)
    np.testing.assert_allclose(float(pb.jvp(f, (0.5,), (1.0,))[1]), float(g), rtol=1e-6)


def test_errors_as_jax(jx):
    cases = [
        lambda d: d.print("{}"),
        lambda d: d.print("{}", 1, 2),
        lambda d: d.print("{x}", x=1, y=2),
        lambda d: d.print("{x}", 1),
        lambda d: d.callback(3, 1),
        lambda d: d.print(ordered=True)("{}", 1, 2),
        lambda d: d.print("{}", 1)("extra"),
    ]
    for case in cases:
        with pytest.raises(Exception) as expected:
            case(jx.debug)
        with pytest.raises(Exception) as got:
            case(debug)
        assert got.type is expected.type
        assert str(got.value) == str(expected.value)


def test_errors_without_jax():
    with pytest.raises(ValueError, match="Unused positional arguments to `jax.debug.print`"):
        debug.print("{}", 1, 2)
    with pytest.raises(ValueError, match="You may be passing an f-string"):
        debug.print("{x}", x=1, y=2)
    with pytest.raises(TypeError, match="first argument to jax.debug.callback must be callable"):
        debug.callback(3)
    with pytest.raises(TypeError, match="received unexpected arguments in the two-call form"):
        debug.print(None, 1)
    # skip_format_check lets unused arguments through
    debug.print("x", 1, skip_format_check=True)


def test_jaxpr_has_the_equation():
    jaxpr = pb.make_jaxpr(lambda x: (debug.print("{}", x), x * 2)[1])(1.0)
    text = str(jaxpr)
    assert "debug_callback[" in text and "effect=Debug" in text
