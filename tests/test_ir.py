"""The IR: jaxprs printed as JAX prints them, ``check_jaxpr`` and ``eval_jaxpr``.

Expected texts are written for pullback; where pullback's primitives have JAX's names the same
program is also printed by JAX 0.10.2 and the texts must be identical.
"""

import re

import numpy as np
import pytest

import pullback as jax
import pullback.numpy as jnp
from pullback._core import ShapedArray
from pullback._hop.jit import jit_p
from pullback._ir import (
    ClosedJaxpr,
    Eqn,
    Jaxpr,
    JaxprTypeError,
    Var,
    check_jaxpr,
    eval_closed,
    eval_jaxpr,
)
from pullback._ops.elementwise import add_p, sin_p
from pullback.test_util import check_grads

CONST = np.arange(3, dtype=np.float32)
F32_3 = np.ones(3, np.float32)


def _sin_chain(np_, n):
    def chain(x):
        for _ in range(n):
            x = np_.sin(x)
        return x

    return chain


def _names(n):
    """JAX's variable names in order: a..z, then ba, bb, ..."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [letters[k] if k < 26 else "b" + letters[k - 26] for k in range(n)]


def _chain_text(n):
    names = _names(n + 1)
    body = "".join(f"\n    {names[k + 1]}:f32[] = sin {names[k]}" for k in range(n))
    return f"{{ lambda ; a:f32[]. let{body}\n  in ({names[n]},) }}"


# (id, build(lib, numpy module) -> function, args, expected text, JAX prints the same text)
PRINTED = [
    (
        "one_line",
        lambda lib, np_: lambda x: np_.sin(x) * 2.0,
        (1.0,),
        "{ lambda ; a:f32[]. let b:f32[] = sin a; c:f32[] = mul b 2.0:f32[] in (c,) }",
        True,
    ),
    (
        "bool_output",
        lambda lib, np_: lambda x: x > 0,
        (F32_3,),
        "{ lambda ; a:f32[3]. let b:bool[3] = gt a 0.0:f32[] in (b,) }",
        True,
    ),
    (
        "int_literal",
        lambda lib, np_: lambda x: x * 2,
        (np.arange(3, dtype=np.int32),),
        "{ lambda ; a:i32[3]. let b:i32[3] = mul a 2:i32[] in (b,) }",
        True,
    ),
    (
        "weak_int_input",
        lambda lib, np_: lambda x: (x, x * 2),
        (3,),
        "{ lambda ; a:i32[]. let b:i32[] = mul a 2:i32[] in (a, b) }",
        True,
    ),
    (
        "python_int_on_float",
        lambda lib, np_: lambda x: x * 3,
        (F32_3,),
        "{ lambda ; a:f32[3]. let b:f32[3] = mul a 3.0:f32[] in (b,) }",
        True,
    ),
    (
        "weak_input_beside_strong",
        lambda lib, np_: lambda x, y: x + y,
        (F32_3, 1.0),
        "{ lambda ; a:f32[3] b:f32[]. let\n"
        "    c:f32[] = convert_element_type[new_dtype=float32 weak_type=False] b\n"
        "    d:f32[3] = add a c\n"
        "  in (d,) }",
        True,
    ),
    (
        "bool_literal",
        lambda lib, np_: lambda x: x & True,
        (np.bool_(True),),
        "{ lambda ; a:bool[]. let b:bool[] = and a True:bool[] in (b,) }",
        True,
    ),
    (
        "small_types",
        lambda lib, np_: lambda x, y, z: (x * 2, y * 2, z * 2j),
        (np.uint8(1), np.float16(1), np.complex64(1)),
        "{ lambda ; a:u8[] b:f16[] c:c64[]. let\n"
        "    d:u8[] = mul a 2:u8[]\n"
        "    e:f16[] = mul b 2.0:f16[]\n"
        "    f:c64[] = mul c 2j:c64[]\n"
        "  in (d, e, f) }",
        True,
    ),
    (
        "weak_literal_kept",
        lambda lib, np_: lambda x, y: (x * 0.1, y * 0.1),
        (1.0, np.float32(1)),
        "{ lambda ; a:f32[] b:f32[]. let\n"
        "    c:f32[] = mul a 0.1:f32[]\n"
        "    d:f32[] = mul b 0.10000000149011612:f32[]\n"
        "  in (c, d) }",
        True,
    ),
    (
        "multi_line_params",
        lambda lib, np_: lambda x: x.astype(np_.int32) + 1,
        (F32_3,),
        "{ lambda ; a:f32[3]. let\n"
        "    b:i32[3] = convert_element_type[new_dtype=int32 weak_type=False] a\n"
        "    c:i32[3] = add b 1:i32[]\n"
        "  in (c,) }",
        True,
    ),
    (
        "int_to_weak_float",
        lambda lib, np_: lambda x: x * 1.5,
        (np.arange(3, dtype=np.int32),),
        "{ lambda ; a:i32[3]. let\n"
        "    b:f32[3] = convert_element_type[new_dtype=float32 weak_type=True] a\n"
        "    c:f32[3] = mul b 1.5:f32[]\n"
        "  in (c,) }",
        True,
    ),
    (
        "broadcast_2d",
        lambda lib, np_: lambda x, y: x + y,
        (np.zeros((2, 3), np.int32), np.zeros((2, 1), np.int32)),
        "{ lambda ; a:i32[2,3] b:i32[2,1]. let c:i32[2,3] = add a b in (c,) }",
        True,
    ),
    (
        "constvar",
        lambda lib, np_: lambda x: x + CONST,
        (np.float32(1),),
        "{ lambda a:f32[3]; b:f32[]. let c:f32[3] = add b a in (c,) }",
        True,
    ),
    (
        "no_inputs",
        lambda lib, np_: lambda: np_.sin(CONST),
        (),
        "{ lambda a:f32[3]; . let b:f32[3] = sin a in (b,) }",
        True,
    ),
    (
        "no_equations",
        lambda lib, np_: lambda x: x,
        (1.0,),
        "{ lambda ; a:f32[]. let  in (a,) }",
        True,
    ),
    (
        "literal_and_const_outputs",
        lambda lib, np_: lambda x: (x, 1.0, CONST),
        (1.0,),
        "{ lambda a:f32[3]; b:f32[]. let  in (b, 1.0:f32[], a) }",
        True,
    ),
    (
        "names_after_z",
        lambda lib, np_: _sin_chain(np_, 30),
        (1.0,),
        _chain_text(30),
        True,
    ),
    (
        "matmul_and_reduction",
        lambda lib, np_: lambda x, y: (x @ y).sum(),
        (np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)),
        "{ lambda ; a:f32[2,3] b:f32[3,4]. let\n"
        "    c:f32[2,4] = matmul a b\n"
        "    d:f32[] = reduce_sum[axes=(0, 1)] c\n"
        "  in (d,) }",
        False,  # JAX: dot_general and reduce_sum[... out_sharding=None]
    ),
    (
        "nested_jit",
        lambda lib, np_: lambda x, y: lib.jit(lambda a, b: np_.sin(a) * b + 1.0)(x, y) * x,
        (1.0, 2.0),
        "{ lambda ; a:f32[] b:f32[]. let\n"
        "    c:f32[] = jit[\n"
        "      name=<lambda>\n"
        "      jaxpr={ lambda ; a:f32[] b:f32[]. let\n"
        "          d:f32[] = sin a\n"
        "          e:f32[] = mul d b\n"
        "          c:f32[] = add e 1.0:f32[]\n"
        "        in (c,) }\n"
        "    ] a b\n"
        "    f:f32[] = mul c a\n"
        "  in (f,) }",
        True,
    ),
    (
        "jit_in_jit",
        lambda lib, np_: lambda x: lib.jit(lambda y: lib.jit(np_.cos)(y) + 1.0)(x),
        (1.0,),
        "{ lambda ; a:f32[]. let\n"
        "    b:f32[] = jit[\n"
        "      name=<lambda>\n"
        "      jaxpr={ lambda ; a:f32[]. let\n"
        "          c:f32[] = jit[\n"
        "            name=cos\n"
        "            jaxpr={ lambda ; a:f32[]. let c:f32[] = cos a in (c,) }\n"
        "          ] a\n"
        "          b:f32[] = add c 1.0:f32[]\n"
        "        in (b,) }\n"
        "    ] a\n"
        "  in (b,) }",
        True,
    ),
]

PRINTED_IDS = [case[0] for case in PRINTED]


@pytest.fixture(scope="module")
def real_jax():
    return pytest.importorskip("jax")


@pytest.mark.parametrize("name, build, args, expected, same_as_jax", PRINTED, ids=PRINTED_IDS)
def test_printed_jaxpr(name, build, args, expected, same_as_jax):
    assert str(jax.make_jaxpr(build(jax, jnp))(*args)) == expected


@pytest.mark.parametrize(
    "name, build, args, expected, same_as_jax",
    [case for case in PRINTED if case[4]],
    ids=[case[0] for case in PRINTED if case[4]],
)
def test_printed_jaxpr_is_jax_text(real_jax, name, build, args, expected, same_as_jax):
    assert str(real_jax.make_jaxpr(build(real_jax, real_jax.numpy))(*args)) == expected


@pytest.mark.parametrize("shape, lines", [((3,), 1), ((10,), 4)])
def test_one_line_form_up_to_80_columns(real_jax, shape, lines):
    x = np.ones(shape, np.float32)
    text = str(jax.make_jaxpr(lambda x: jnp.tanh(x) * 2.0)(x))
    assert text == str(real_jax.make_jaxpr(lambda x: real_jax.numpy.tanh(x) * 2.0)(x))
    assert len(text.splitlines()) == lines
    if lines == 1:
        assert len(text) == 80


def test_x64_literals_and_types(real_jax):
    def f(x, i):
        return x * 2 + 1.5, i * 2

    with jax.enable_x64(), real_jax.enable_x64(True):
        closed = jax.make_jaxpr(f)(1.0, np.int64(1))
        check_jaxpr(closed)
        text = str(closed)
        assert text == str(real_jax.make_jaxpr(f)(1.0, np.int64(1)))
    assert text == (
        "{ lambda ; a:f64[] b:i64[]. let\n"
        "    c:f64[] = mul a 2.0:f64[]\n"
        "    d:f64[] = add c 1.5:f64[]\n"
        "    e:i64[] = mul b 2:i64[]\n"
        "  in (d, e) }"
    )


def test_nested_jit_prints_name_first():
    lines = str(jax.make_jaxpr(lambda x: jax.jit(jnp.sin)(x) * 2.0)(1.0)).splitlines()
    assert lines[1] == "    b:f32[] = jit["
    assert lines[2] == "      name=sin"
    assert lines[3].startswith("      jaxpr={ lambda ; ")
    assert lines[4] == "    ] a"


def test_pretty_print_and_avals():
    closed = jax.make_jaxpr(lambda x, i: (x > 0, i + 1))(F32_3, 2)
    check_jaxpr(closed)
    assert closed.pretty_print() == str(closed) == str(closed.jaxpr) == repr(closed)
    assert [a.str_short() for a in closed.in_avals] == ["float32[3]", "int32[]"]
    assert [(a.shape, a.dtype, a.weak_type) for a in closed.out_avals] == [
        ((3,), np.dtype(bool), False),
        ((), np.dtype(np.int32), True),
    ]


# -- check_jaxpr and eval_jaxpr on every staged program ---------------------------------------


@pytest.mark.parametrize("name, build, args, expected, same_as_jax", PRINTED, ids=PRINTED_IDS)
def test_staged_program_checks_and_evaluates_to_the_function(
    name, build, args, expected, same_as_jax
):
    fun = build(jax, jnp)
    closed = jax.make_jaxpr(fun)(*args)
    check_jaxpr(closed)
    check_jaxpr(closed.jaxpr)
    got = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    want = fun(*[jnp.asarray(a) for a in args])  # eagerly, on pullback's arrays
    want = list(want) if isinstance(want, tuple) else [want]
    assert [repr(jnp.asarray(g)) for g in got] == [repr(jnp.asarray(w)) for w in want]


def test_eval_jaxpr_under_grad_differentiates_the_staged_program(real_jax):
    def f(x):
        return jnp.sum(jnp.sin(x) * x**2)

    x = np.array([0.5, -1.0, 2.0], np.float32)
    closed = jax.make_jaxpr(f)(x)

    def replay(x):
        return eval_closed(closed, x)[0]

    want = real_jax.grad(lambda x: real_jax.numpy.sum(real_jax.numpy.sin(x) * x**2))(x)
    np.testing.assert_allclose(jax.grad(replay)(x), want, rtol=1e-6)
    check_grads(replay, (x,), order=2)


def test_eval_jaxpr_under_staging_restages_the_same_program():
    closed = jax.make_jaxpr(lambda x: jnp.sin(x) * 2.0 + CONST)(1.0)
    again = jax.make_jaxpr(lambda x: eval_closed(closed, x)[0])(1.0)
    assert str(again) == str(closed)


# -- check_jaxpr rejects broken jaxprs --------------------------------------------------------

F32 = ShapedArray((), np.float32)


def _vars(n, aval=F32):
    return [Var(aval) for _ in range(n)]


def test_check_jaxpr_rejects_use_before_definition():
    a, b, c = _vars(3)
    jaxpr = Jaxpr([], [a], [c], [Eqn(sin_p, [b], [c], {}), Eqn(sin_p, [a], [b], {})])
    with pytest.raises(JaxprTypeError, match="equation 0 .sin.*used before it is defined"):
        check_jaxpr(jaxpr)


def test_check_jaxpr_rejects_an_undefined_output():
    a, b = _vars(2)
    with pytest.raises(JaxprTypeError, match="outvars.*used before it is defined"):
        check_jaxpr(Jaxpr([], [a], [b], []))


def test_check_jaxpr_rejects_a_variable_defined_twice():
    a, b = _vars(2)
    jaxpr = Jaxpr([], [a], [b], [Eqn(sin_p, [a], [b], {}), Eqn(sin_p, [a], [b], {})])
    with pytest.raises(JaxprTypeError, match="equation 1 .sin.*defined twice"):
        check_jaxpr(jaxpr)
    with pytest.raises(JaxprTypeError, match="defined twice"):
        check_jaxpr(Jaxpr([], [a, a], [a], []))


@pytest.mark.parametrize(
    "out_aval, shown",
    [(ShapedArray((3,), np.float32), "float32[3]"), (ShapedArray((), np.int32), "int32[]")],
    ids=["shape", "dtype"],
)
def test_check_jaxpr_rejects_a_wrong_output_type(out_aval, shown):
    (a,) = _vars(1)
    (b,) = _vars(1, out_aval)
    jaxpr = Jaxpr([], [a], [b], [Eqn(sin_p, [a], [b], {})])
    message = f"output typed {shown}, the primitive gives float32[]"
    with pytest.raises(JaxprTypeError, match=re.escape(message)):
        check_jaxpr(jaxpr)


def test_check_jaxpr_rejects_consts_that_do_not_match_constvars():
    c, x, y = _vars(3)
    jaxpr = Jaxpr([c], [x], [y], [Eqn(add_p, [x, c], [y], {})])
    check_jaxpr(ClosedJaxpr(jaxpr, [np.float32(1)]))
    with pytest.raises(JaxprTypeError, match="number of consts"):
        check_jaxpr(ClosedJaxpr(jaxpr, []))
    with pytest.raises(JaxprTypeError, match=r"const of shape \(3,\)"):
        check_jaxpr(ClosedJaxpr(jaxpr, [CONST]))


def test_check_jaxpr_checks_sub_jaxprs():
    (a,) = _vars(1)
    (wrong,) = _vars(1, ShapedArray((3,), np.float32))
    body = ClosedJaxpr(Jaxpr([], [a], [wrong], [Eqn(sin_p, [a], [wrong], {})]), [])
    x, y = _vars(2, ShapedArray((3,), np.float32))
    outer = Jaxpr([], [x], [y], [Eqn(jit_p, [x], [y], {"jaxpr": body, "name": "f"})])
    with pytest.raises(JaxprTypeError, match="output typed float32"):
        check_jaxpr(outer)


@pytest.mark.parametrize(
    "operands", [lambda x3, x: [x3], lambda x3, x: [x, x]], ids=["type", "count"]
)
def test_check_jaxpr_rejects_a_call_whose_operands_do_not_match_its_body(operands):
    a, b = _vars(2)
    body = ClosedJaxpr(Jaxpr([], [a], [b], [Eqn(sin_p, [a], [b], {})]), [])
    (x3,) = _vars(1, ShapedArray((3,), np.float32))
    x, y = _vars(2)
    eqn = Eqn(jit_p, operands(x3, x), [y], {"jaxpr": body, "name": "f"})
    with pytest.raises(JaxprTypeError, match="equation 0 .jit"):
        check_jaxpr(Jaxpr([], [x3, x], [y], [eqn]))


def test_an_unused_output_prints_as_underscore(real_jax):
    expected = "{ lambda ; a:f32[]. let _:f32[] = sin a; b:f32[] = mul a 2.0:f32[] in (b,) }"
    assert str(jax.make_jaxpr(lambda x: (jnp.sin(x), x * 2.0)[1])(1.0)) == expected
    assert str(real_jax.make_jaxpr(lambda x: (real_jax.numpy.sin(x), x * 2.0)[1])(1.0)) == expected
