"""The compiler behind ``jit``: each simplification, checked on the program it leaves and on the
values it computes (against the same function run eagerly)."""

import numpy as np
import pytest

import pullback as jax
import pullback.numpy as jnp
from pullback._compile import as_closed, compile_jaxpr
from pullback._ir import check_jaxpr


def _program(fun, *args):
    """The simplified program's equations as ``(primitive name, params)`` pairs."""
    closed = jax.make_jaxpr(fun)(*args)
    check_jaxpr(closed)
    compiled = compile_jaxpr(closed)
    return [e.prim.name for e in compiled.program.eqns], compiled


def _same_as_eager(fun, *args):
    got = jax.jit(fun)(*args)
    want = fun(*args)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        assert (g.shape, g.dtype, g.weak_type) == (w.shape, w.dtype, w.weak_type)
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


X = jnp.array([[1.0, -2.0], [3.0, 0.5]])


def test_a_transpose_of_a_square_matrix_is_kept():
    # regression: a transpose keeps a square matrix's shape but is no identity
    names, _ = _program(lambda w: w.T @ w, X)
    assert names == ["transpose", "matmul"]
    _same_as_eager(lambda w: w.T @ w, X)


@pytest.mark.parametrize(
    "fun",
    [
        lambda x: x * 1.0,
        lambda x: 1.0 * x,
        lambda x: x + 0.0,
        lambda x: x - 0.0,
        lambda x: x / 1.0,
        lambda x: jnp.reshape(x, (2, 2)),
        lambda x: jnp.asarray(x, jnp.float32),
        lambda x: jax.lax.stop_gradient(x),
        lambda x: x + np.zeros((2, 2), np.float32),
        lambda x: np.zeros((2, 2), np.float32) + x - np.zeros((2, 2), np.float32),
    ],
    ids=[
        "mul_one",
        "one_mul",
        "add_zero",
        "sub_zero",
        "div_one",
        "reshape",
        "convert",
        "stop",
        "add_zeros_array",
        "zeros_array_add_sub",
    ],
)
def test_identities_are_removed(fun):
    names, compiled = _program(fun, X)
    assert names == []
    assert compiled(np.asarray(X))[0] is not None
    _same_as_eager(fun, X)


def test_a_zero_cotangent_from_a_rule_is_not_added():
    @jax.custom_vjp
    def g(x, y):
        return x * y

    g.defvjp(lambda x, y: (x * y, y), lambda y, ct: (ct * y, jnp.zeros_like(y)))
    f = lambda x: jnp.sum(jnp.sin(g(x, x)))  # noqa: E731
    names, _ = _program(jax.grad(f), X)
    assert names == ["mul", "cos", "mul"]
    _same_as_eager(jax.grad(f), X)


def test_constant_folding_evaluates_what_does_not_depend_on_inputs():
    def f(x):
        c = jnp.sin(jnp.arange(4.0).reshape(2, 2)) * 2.0  # all known while compiling
        return x * c

    names, _ = _program(f, X)
    assert names == ["mul"]
    _same_as_eager(f, X)


def test_common_subexpressions_are_computed_once():
    def f(x):
        return jnp.sin(x) * jnp.sin(x) + jnp.sin(x)

    names, _ = _program(f, X)
    assert names.count("sin") == 1
    _same_as_eager(f, X)


def test_dead_code_is_removed():
    def f(x):
        jnp.exp(x)  # unused
        return jnp.cos(x)

    names, _ = _program(f, X)
    assert names == ["cos"]


def _body_names(eqn):
    bodies = eqn.params["branches"] if "branches" in eqn.params else (eqn.params["jaxpr"],)
    return [[e.prim.name for e in b.jaxpr.eqns] for b in bodies]


def test_unused_outputs_of_a_scan_leave_its_body():
    def f(x):
        # the ys are unused: sin leaves the body, and the operand only they read leaves the scan
        c, ys = jax.lax.scan(lambda c, xs: (c * xs[0], jnp.sin(xs[1])), 1.0, (x, 2.0 * x))
        # a carry whose final value is unused and that nothing else reads goes too
        c2, ys2 = jax.lax.scan(lambda c, x: ((c[0] + x, jnp.exp(c[1])), x * c[0]), (1.0, 0.0), x)
        return c, ys2

    names, compiled = _program(f, X[0])
    assert names == ["scan", "scan"]
    first, second = compiled.program.eqns
    assert "sin" not in _body_names(first)[0] and len(first.invars) == 2
    assert "exp" not in _body_names(second)[0] and second.params["num_carry"] == 1
    check_jaxpr(as_closed(compiled.program))
    _same_as_eager(f, X[0])


def test_unused_outputs_of_a_cond_leave_every_branch():
    def f(x):
        a, b = jax.lax.cond(
            x.sum() > 0,
            lambda u, v: (jnp.sin(u), jnp.cos(v)),
            lambda u, v: (u, v * 2.0),
            x,
            x * 3.0,
        )
        return a

    names, compiled = _program(f, X)
    assert names == ["reduce_sum", "gt", "convert_element_type", "cond"]
    cond = compiled.program.eqns[-1]
    assert _body_names(cond) == [[], ["sin"]] and len(cond.invars) == 2
    _same_as_eager(f, X)
    _same_as_eager(f, -X)


def _scan_unused_ys(lib, np_):
    def f(x):
        c, ys = lib.lax.scan(lambda c, x: (c * x, np_.sin(x) * c), 1.0, x)
        return c

    return f


def _cond_unused_output(lib, np_):
    def f(x):
        a, b = lib.lax.cond(
            x.sum() > 0, lambda x: (np_.sin(x), np_.cos(x) * x), lambda x: (x, x * 2), x
        )
        return a.sum()

    return f


def _jit_unused_output(lib, np_):
    g = lib.jit(lambda x: (np_.sum(np_.sin(x)), np_.exp(x) * x))
    return lambda x: g(x)[0]


@pytest.mark.parametrize(
    "build, forward_prims",
    [
        (_scan_unused_ys, ["scan", "scan"]),
        (_cond_unused_output, ["reduce_sum", "gt", "convert_element_type", "cond", "cond"]),
        (_jit_unused_output, ["cos"]),
    ],
    ids=["scan", "cond", "jit"],
)
def test_the_cotangent_of_an_unused_output_is_a_symbolic_zero(build, forward_prims):
    # nothing is computed for the output nobody uses, in the forward or the backward program
    x = jnp.array([0.5, 1.5, -2.0, 3.0])
    names, compiled = _program(jax.grad(build(jax, jnp)), x)
    assert names == forward_prims
    bodies = [
        n
        for e in compiled.program.eqns
        if e.prim.name in ("scan", "cond")
        for n in sum(_body_names(e), [])
    ]
    assert not {"sin", "exp", "add"} & set(bodies)
    real = pytest.importorskip("jax")
    for g in (jax.grad(build(jax, jnp)), jax.jit(jax.grad(build(jax, jnp)))):
        got = g(x)
        want = real.grad(build(real, real.numpy))(np.asarray(x))
        assert (got.shape, got.dtype, got.weak_type) == (want.shape, want.dtype, want.weak_type)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)


def test_a_broadcast_scalar_beside_a_full_operand_becomes_the_scalar():
    def f(x):
        return x * jnp.broadcast_to(jnp.float32(3.0), x.shape)

    names, compiled = _program(f, X)
    assert names == ["mul"]
    assert "c" not in compiled.source.split("def")[1].split(":")[0]  # no constant argument
    _same_as_eager(f, X)


def test_scaled_products_are_reassociated():
    names, _ = _program(lambda x: (x * 2.0) * 0.25, X)
    assert names == ["mul"]
    _same_as_eager(lambda x: (x * 2.0) * 0.25, X)


def test_the_gradient_of_a_mean_squared_error_is_as_short_as_by_hand():
    def loss(w, x, y):
        return jnp.mean((x @ w - y) ** 2)

    w, x, y = X, jnp.ones((3, 2)), jnp.zeros((3, 2))
    names, _ = _program(jax.value_and_grad(loss), w, x, y)
    # forward: matmul, sub, square, sum, divide; backward: one scaling, transpose, matmul
    assert names == [
        "matmul",
        "sub",
        "integer_pow",
        "reduce_sum",
        "div",
        "mul",
        "transpose",
        "matmul",
    ]
    _same_as_eager(jax.value_and_grad(loss), w, x, y)


def test_intermediates_are_freed_after_their_last_use():
    _, compiled = _program(lambda x: jnp.cos(jnp.sin(x)) + 1.0, X)
    lines = compiled.source.splitlines()
    assert any(line.strip().startswith("del ") for line in lines)


def test_a_weak_python_literal_keeps_the_other_operand_dtype():
    x16 = jnp.array([1.0, 2.0], jnp.float16)
    _same_as_eager(lambda x: x * 0.1 + 3, x16)
    _same_as_eager(lambda x: x * 3, jnp.array([1, 2], jnp.uint8))


def test_literals_reach_non_ufunc_implementations_as_numpy_values():
    # an inner jit called with a Python scalar: the literal flows into a conversion
    f = jax.jit(lambda x: jax.jit(lambda a, b: a * b)(x, 2.0))
    assert f(jnp.float32(3.0)) == 6.0
