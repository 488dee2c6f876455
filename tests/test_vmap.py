"""``vmap``: the API (in_axes, out_axes, axis_size, names, errors), composition with ``grad`` and
``jit``, control flow, ``custom_vjp``, ``pure_callback``, collectives; differential tests
against JAX (values, dtypes, weak types, printed output)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pullback as jax
import pullback.numpy as jnp
from pullback import _ops, lax
from pullback._core import ConcretizationTypeError
from pullback._interp.batch import BatchInterp, batch_fun
from pullback._ir import check_jaxpr

jax_real = pytest.importorskip("jax")
jnp_real = pytest.importorskip("jax.numpy")


def _close(a, b, rtol=1e-6, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


# -- the API ----------------------------------------------------------------------------------


def test_in_axes_prefixes_and_kwargs():
    x = jnp.arange(6.0).reshape(2, 3)
    y = {"a": jnp.arange(3.0), "b": jnp.ones((3, 2))}

    def f(x, y, *, k):
        return jnp.sum(x) * y["a"] + jnp.sum(y["b"]) + k

    got = jax.vmap(f, in_axes=(1, {"a": 0, "b": 0}))(x, y, k=jnp.arange(3.0))
    expected = [f(x[:, i], {"a": y["a"][i], "b": y["b"][i]}, k=float(i)) for i in range(3)]
    _close(got, np.stack(expected))
    # None leaves inside the prefix, negative axes
    got = jax.vmap(f, in_axes=(-1, {"a": None, "b": 0}))(x, y, k=jnp.arange(3.0))
    expected = [f(x[:, i], {"a": y["a"], "b": y["b"][i]}, k=float(i)) for i in range(3)]
    _close(got, np.stack(expected))
    assert jax.vmap(lambda a: a, in_axes=[0])(jnp.arange(2.0)).shape == (2,)


def test_out_axes_and_axis_size():
    x = jnp.arange(6.0).reshape(2, 3)
    out = jax.vmap(lambda r: (r * 2, jnp.sum(r)), out_axes=(1, 0))(x)
    _close(out[0], (x * 2).T)
    _close(out[1], x.sum(1))
    assert jax.vmap(lambda r: r, out_axes=-1)(x).shape == (3, 2)
    same = jax.vmap(lambda r, c: (r + 1, c), in_axes=(0, None), out_axes=(0, None))(x, 5.0)
    assert same[1].shape == ()
    bcast = jax.vmap(lambda c: c * 2, in_axes=None, axis_size=4)(jnp.float32(1.5))
    _close(bcast, np.full(4, 3.0))
    assert bcast.dtype == np.float32


def test_nested_vmaps():
    x = jnp.arange(12.0).reshape(3, 4)
    y = jnp.arange(4.0)
    outer = jax.vmap(jax.vmap(lambda a, b: a * b + 1, in_axes=(0, 0)), in_axes=(0, None))(x, y)
    _close(outer, x * y + 1)
    pairwise = jax.vmap(jax.vmap(lambda a, b: a - b, (None, 0)), (0, None))(y, y)
    _close(pairwise, y[:, None] - y[None, :])


def test_batched_value_prints_and_refuses_python_control_flow():
    seen = []
    jax.vmap(lambda a: seen.append(repr(a)) or a)(jnp.ones(2))
    assert seen == ["VmapTracer(aval=float32[], batched=float32[2])"]
    with pytest.raises(ConcretizationTypeError, match="vmap"):
        jax.vmap(lambda a: a if a > 0 else -a)(jnp.ones(2))


def test_batch_fun_interface():
    f = batch_fun(lambda x, y: [x * y, y], [1, None], 3)
    out = f(jnp.arange(6.0).reshape(2, 3), jnp.float32(2.0))
    _close(out[0], (np.arange(6.0).reshape(2, 3) * 2).T)
    _close(out[1], np.full(3, 2.0))
    interp = BatchInterp(None, 3, "i")
    assert (interp.axis_size, interp.axis_name, interp.lift(1.0, None)) == (3, "i", 1.0)


# -- errors -----------------------------------------------------------------------------------


def test_inconsistent_sizes_name_the_arguments():
    def f(a, b):
        return a

    with pytest.raises(ValueError) as e:
        jax.vmap(f)({"a": jnp.ones(2)}, (jnp.ones(3), jnp.ones((3, 4))))
    assert str(e.value) == (
        "vmap got inconsistent sizes for array axes to be mapped:\n"
        "  * most axes (2 of them) had size 3, e.g. axis 0 of argument b[0] of type float32[3];\n"
        "  * one axis had size 2: axis 0 of argument a['a'] of type float32[2]"
    )
    with pytest.raises(ValueError, match=r"the `axis_size` argument was 3;\n  \* one axis"):
        jax.vmap(lambda a: a, axis_size=3)(jnp.ones(2))
    with pytest.raises(ValueError, match=r"axis 0 of kwargs\['k'\] of type float32\[3\]"):
        jax.vmap(lambda a, k: a * k)(jnp.ones(2), k=jnp.ones(3))


@pytest.mark.parametrize(
    "call,error,match",
    [
        (
            lambda: jax.vmap(lambda a: a, in_axes=1)(jnp.ones(2)),
            ValueError,
            "rank should be at least 2",
        ),
        (lambda: jax.vmap(lambda a: a, in_axes=-2)(jnp.ones(2)), ValueError, "along axis -2"),
        (lambda: jax.vmap(lambda a: a)(1.0), ValueError, "but is only 0"),
        (
            lambda: jax.vmap(lambda a: a, in_axes=(0, 0))(jnp.ones(2)),
            ValueError,
            "len\\(in_axes\\)=2",
        ),
        (lambda: jax.vmap(lambda a: a, in_axes=None)(jnp.ones(2)), ValueError, "axis_size must be"),
        (
            lambda: jax.vmap(lambda a: a, in_axes="a")(jnp.ones(2)),
            TypeError,
            "must be an int, None",
        ),
        (
            lambda: jax.vmap(lambda a: a, in_axes={"a": 0})({"a": jnp.ones(2)}),
            TypeError,
            "must be an int, None",
        ),
        (
            lambda: jax.vmap(lambda a: a, in_axes=({"b": 0},))({"a": jnp.ones(2)}),
            ValueError,
            "tree prefix",
        ),
        (
            lambda: jax.vmap(lambda a: a, out_axes=None)(jnp.ones(2)),
            ValueError,
            "batched on axis 0",
        ),
        (lambda: jax.vmap(lambda a: a, out_axes=1)(jnp.ones(2)), ValueError, "out of bounds"),
        (lambda: jax.vmap(lambda a: a)("s"), TypeError, "not a valid JAX type"),
        (
            lambda: jax.vmap(lambda a: lax.psum(a, "j"), axis_name="i")(jnp.ones(2)),
            NameError,
            "unbound axis name: j",
        ),
        (lambda: jax.jit(lambda a: lax.axis_index("i"))(1.0), NameError, "unbound axis name: i"),
        (
            lambda: jax.vmap(lambda a: _ops.nonzero(a, np.int32))(jnp.ones((2, 3))),
            ConcretizationTypeError,
            "size=",
        ),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- composition with grad and jit ---------------------------------------------------------------


def _loss(w, x, y):
    return jnp.mean((jnp.tanh(x @ w) - y) ** 2)


def _data():
    rng = np.random.default_rng(0)
    w = jnp.asarray(rng.standard_normal((4, 3)).astype(np.float32))
    xs = jnp.asarray(rng.standard_normal((5, 4)).astype(np.float32))
    ys = jnp.asarray(rng.standard_normal((5, 3)).astype(np.float32))
    return w, xs, ys


def test_vmap_of_grad_jit_of_vmap_of_grad_and_grad_of_vmap():
    w, xs, ys = _data()
    per_example = jax.vmap(jax.grad(_loss), in_axes=(None, 0, 0))
    loop = np.stack([jax.grad(_loss)(w, xs[i], ys[i]) for i in range(5)])
    _close(per_example(w, xs, ys), loop)
    _close(jax.jit(per_example)(w, xs, ys), loop)
    check_jaxpr(jax.make_jaxpr(per_example)(w, xs, ys))
    total = jax.grad(lambda w: jnp.sum(jax.vmap(_loss, (None, 0, 0))(w, xs, ys)))(w)
    _close(total, loop.sum(0), rtol=1e-5)
    hess_diag = jax.vmap(jax.grad(jax.grad(lambda a: jnp.sin(a) * a)))(jnp.arange(3.0))
    a = np.arange(3.0)
    _close(hess_diag, 2 * np.cos(a) - a * np.sin(a))


def test_jacobian_by_vmap_of_vjp():
    x = jnp.arange(1.0, 4.0)
    f = lambda v: jnp.sin(v) * jnp.sum(v)  # noqa: E731
    _, pull = jax.vjp(f, x)
    jac = jax.vmap(pull)(jnp.eye(3))[0]
    xs = np.arange(1.0, 4.0)
    expected = np.diag(np.cos(xs) * xs.sum()) + np.sin(xs)[:, None]
    _close(jac, expected, rtol=1e-5)


def test_vmap_of_a_pullback_keeps_the_input_weak_type():
    # the backward pass runs lifted onto the tape's raw values, which carry no weak flags
    ct = jnp.broadcast_to(1.0, (3,))
    got = jax.vmap(jax.vjp(jnp.sin, 1.0)[1])(ct)[0]
    want = jax_real.vmap(jax_real.vjp(jnp_real.sin, 1.0)[1])(jnp_real.broadcast_to(1.0, (3,)))[0]
    assert (got.dtype, got.weak_type) == (want.dtype, want.weak_type) == (np.float32, True)
    _close(got, np.asarray(want), rtol=1e-6)


def test_vmap_of_jit_is_one_batched_program():
    f = jax.jit(lambda a: jnp.sum(jnp.sin(a)))
    x = jnp.arange(6.0).reshape(2, 3)
    jaxpr = jax.make_jaxpr(jax.vmap(f))(x)
    check_jaxpr(jaxpr)
    assert "reduce_sum[axes=(1,)]" in str(jaxpr)
    _close(jax.vmap(f)(x), np.sin(np.arange(6.0).reshape(2, 3)).sum(1))


# -- control flow -------------------------------------------------------------------------------


def test_cond_with_batched_and_unbatched_predicates():
    x = jnp.array([-1.0, 2.0, 3.0])
    xn = np.asarray(x)
    got = jax.vmap(lambda a: lax.cond(a > 0, jnp.sin, jnp.cos, a))(x)
    _close(got, np.where(xn > 0, np.sin(xn), np.cos(xn)))
    got = jax.vmap(lambda a, p: lax.cond(p, jnp.sin, jnp.cos, a), (0, None))(x, True)
    _close(got, np.sin(xn))
    got = jax.vmap(lambda i, a: lax.switch(i, [jnp.sin, jnp.cos, jnp.exp], a))(
        jnp.array([2, 0, 7]), x
    )
    _close(got, [np.exp(-1.0), np.sin(2.0), np.exp(3.0)])
    g = jax.grad(lambda a: jnp.sum(jax.vmap(lambda b: lax.cond(b > 0, jnp.sin, jnp.cos, b))(a)))(x)
    _close(g, np.where(xn > 0, np.cos(xn), -np.sin(xn)))


def test_while_with_batched_predicate_freezes_finished_members():
    x = jnp.array([1.0, 2.0, 3.0, 20.0])
    f = jax.vmap(lambda a: lax.while_loop(lambda c: c < 10, lambda c: c * 2, a))
    _close(f(x), [16.0, 16.0, 12.0, 20.0])
    _close(jax.jit(f)(x), [16.0, 16.0, 12.0, 20.0])
    counts = jax.vmap(lambda n: lax.fori_loop(0, n, lambda i, c: c + i, 0))(jnp.array([1, 3, 5]))
    assert counts.dtype == np.int32
    _close(counts, [0, 3, 10])
    # an unbatched predicate with a batched carry
    got = jax.vmap(lambda a: lax.fori_loop(0, 3, lambda i, c: c * a, 1.0))(jnp.arange(3.0))
    _close(got, np.arange(3.0) ** 3)


def test_scan_batches_body_carries_and_xs():
    xs = jnp.arange(6.0).reshape(2, 3)
    carry, ys = jax.vmap(lambda r: lax.scan(lambda c, y: (c + y, c * 2), 0.0, r))(xs)
    _close(carry, xs.sum(1))
    _close(ys, 2 * (np.cumsum(xs, 1) - xs))
    # xs batched at axis 1, a constant batched, an unbatched carry that becomes batched
    c2, ys2 = jax.vmap(lambda a, r: lax.scan(lambda c, y: (c * a + y, c), 1.0, r), in_axes=(0, 1))(
        jnp.array([1.0, 2.0, 3.0]), jnp.ones((2, 3))
    )
    _close(c2, [3.0, 7.0, 13.0])
    g = jax.vmap(jax.grad(lambda a: lax.scan(lambda c, y: (c * a + y, c), 1.0, jnp.arange(3.0))[0]))
    a = np.array([1.0, 2.0, 3.0])
    _close(g(jnp.asarray(a, np.float32)), 3 * a**2 + 1)


# -- custom_vjp -----------------------------------------------------------------------------------


def _custom():
    calls = []

    @jax.custom_vjp
    def f(x, c):
        return jnp.sin(x) * c

    def fwd(x, c):
        calls.append(("fwd", x.shape))
        return f(x, c), (jnp.cos(x), jnp.sin(x), c)

    def bwd(res, g):
        calls.append(("bwd", g.shape))
        cos_x, sin_x, c = res
        return 2 * cos_x * g * c, sin_x * g  # twice the true derivative for x: bwd is visible

    f.defvjp(fwd, bwd)
    return f, calls


def test_custom_vjp_under_vmap_uses_bwd_and_sums_unbatched_cotangents():
    f, calls = _custom()
    x, c = jnp.arange(3.0), jnp.float32(1.5)
    _close(jax.vmap(f, (0, None))(x, c), np.sin(np.arange(3.0)) * 1.5)
    assert calls == []  # only fun runs
    gx, gc = jax.grad(lambda x, c: jnp.sum(jax.vmap(f, (0, None))(x, c)), argnums=(0, 1))(x, c)
    _close(gx, 2 * np.cos(np.arange(3.0)) * 1.5)
    _close(gc, np.sin(np.arange(3.0)).sum())  # summed over the batch
    assert gc.shape == () and calls == [("fwd", ()), ("bwd", ())]  # once, per-example shapes
    calls.clear()
    per_example = jax.vmap(jax.grad(f, argnums=(0, 1)), (0, None))
    for run in (per_example, jax.jit(per_example)):
        gx, gc = run(x, c)
        _close(gx, 2 * np.cos(np.arange(3.0)) * 1.5)
        _close(gc, np.sin(np.arange(3.0)))  # vmap of grad: one cotangent per example
    assert calls == [("fwd", ()), ("bwd", ())] * 2


def test_custom_vjp_jit_of_grad_of_vmap():
    f, calls = _custom()
    x, c = jnp.arange(3.0), jnp.float32(1.5)
    g = jax.jit(jax.grad(lambda x, c: jnp.sum(jax.vmap(f, (0, None))(x, c)), argnums=(0, 1)))
    gx, gc = g(x, c)
    _close(gx, 2 * np.cos(np.arange(3.0)) * 1.5)
    _close(gc, np.sin(np.arange(3.0)).sum())
    assert ("bwd", ()) in calls


# -- pure_callback --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,shapes",
    [
        ("sequential", [(2,), (2,), (2,)]),
        ("sequential_unrolled", [(2,), (2,), (2,)]),
        ("expand_dims", [(3, 2)]),
        ("broadcast_all", [(3, 2)]),
        ("legacy_vectorized", [(3, 2)]),
    ],
)
def test_pure_callback_vmap_methods(method, shapes):
    seen = []

    def host(a, b):
        seen.append(a.shape)
        return np.sin(a) * (b[..., None] if np.ndim(b) == 1 else b)

    def f(x, y):
        return jax.pure_callback(
            host, jax.ShapeDtypeStruct(x.shape, x.dtype), x, y, vmap_method=method
        )

    x, y = jnp.arange(6.0).reshape(3, 2), jnp.float32(2.0)
    got = jax.vmap(f, (0, None))(x, y)
    _close(got, np.sin(np.arange(6.0).reshape(3, 2)) * 2)
    assert seen == shapes


def test_pure_callback_without_vmap_method_is_jaxs_error():
    f = lambda x: jax.pure_callback(np.sin, jax.ShapeDtypeStruct((), np.float32), x)  # noqa: E731
    with pytest.raises(NotImplementedError, match="vmap_method=None"):
        jax.vmap(f)(jnp.ones(3))


# -- collectives --------------------------------------------------------------------------------


def test_collectives():
    x = jnp.arange(4.0)
    _close(jax.vmap(lambda a: lax.psum(a, "i"), axis_name="i")(x), np.full(4, 6.0))
    _close(jax.vmap(lambda a: a - lax.pmean(a, "i"), axis_name="i")(x), np.arange(4.0) - 1.5)
    _close(
        jax.vmap(lambda a: lax.pmax(a, "i") + lax.pmin(a, "i"), axis_name="i")(x), np.full(4, 3.0)
    )
    idx = jax.vmap(lambda a: lax.axis_index("i"), axis_name="i")(x)
    assert idx.dtype == np.int32 and list(np.asarray(idx)) == [0, 1, 2, 3]
    # nested: each name is its own axis
    m = jnp.arange(6.0).reshape(2, 3)
    inner = jax.vmap(jax.vmap(lambda a: lax.psum(a, "j"), axis_name="j"), axis_name="i")(m)
    _close(inner, np.repeat(m.sum(1, keepdims=True), 3, 1))
    both = jax.vmap(jax.vmap(lambda a: lax.psum(a, ("i", "j")), axis_name="j"), axis_name="i")(m)
    _close(both, np.full((2, 3), 15.0))
    outer = jax.vmap(jax.vmap(lambda a: lax.psum(a, "i"), axis_name="j"), axis_name="i")(m)
    _close(outer, np.repeat(m.sum(0, keepdims=True), 2, 0))
    # under jit and scan, and the psum transpose (per-example gradient of a psum)
    _close(jax.jit(jax.vmap(lambda a: a / lax.psum(a, "i"), axis_name="i"))(x), np.arange(4.0) / 6)
    steps = jax.vmap(
        lambda a: lax.scan(lambda c, _: (c + lax.axis_index("i"), c), 0, None, length=3)[0],
        axis_name="i",
    )(x)
    _close(steps, 3 * np.arange(4))
    _close(jax.vmap(jax.grad(lambda a: lax.psum(a, "i")), axis_name="i")(x), np.full(4, 4.0))
    with pytest.raises(NotImplementedError, match="pmax"):
        jax.vmap(jax.grad(lambda a: lax.pmax(a, "i")), axis_name="i")(x)


# -- differential tests against JAX ------------------------------------------------------------

PROGRAMS = {
    "elementwise_weak": """
        x = jnp.arange(3.0)
        out = (jax.vmap(lambda a: a / 3)(x), jax.vmap(lambda a: 3 * a)(jnp.arange(3)),
               jax.vmap(lambda a: 1.0)(x), jax.vmap(lambda a, b: a * b, (0, None))(x, 2.0),
               jax.vmap(lambda a: a + 1, in_axes=None, axis_size=2)(1.0))
    """,
    "shapes_and_reductions": """
        m = jnp.arange(24.0).reshape(2, 3, 4)
        out = (jax.vmap(jnp.sum, in_axes=1)(m), jax.vmap(lambda a: a.T @ a, in_axes=2)(m),
               jax.vmap(lambda a: jnp.concatenate([a, a[:1]]))(m),
               jax.vmap(lambda a: jnp.max(a, axis=-1), in_axes=-1, out_axes=1)(m),
               jax.vmap(jnp.argmax, in_axes=(0, None))(m, 1), jax.vmap(jnp.cumsum)(m[0]),
               jax.vmap(jnp.ravel)(m))
    """,
    "indexing": """
        a = jnp.arange(12.0).reshape(3, 4)
        i = jnp.array([3, 0, 1])
        out = (jax.vmap(lambda r, k: r[k])(a, i), jax.vmap(lambda r, k: r.at[k].add(1.0))(a, i),
               jax.vmap(lambda k: a[:, k])(i), jax.vmap(lambda r: r[1:3])(a),
               jax.vmap(lambda r, k: jax.lax.dynamic_slice(r, (k,), (2,)))(a, i),
               jax.vmap(lambda r, k: jnp.take(r, jnp.array([k, 0])))(a, i))
    """,
    "grads_and_control_flow": """
        x = jnp.array([0.5, 1.5, -2.0])
        out = (jax.vmap(jax.grad(lambda a: jnp.sin(a) ** 2))(x),
               jax.vmap(lambda a: jax.lax.cond(a > 0, lambda b: b * 2, lambda b: -b, a))(x),
               jax.vmap(lambda a: jax.lax.fori_loop(0, 3, lambda i, c: c * a, 1.0))(x),
               jax.jit(jax.vmap(jax.grad(lambda a: jnp.sum(jnp.tanh(a) * a))))(x),
               jax.vmap(lambda a: jax.lax.psum(a, 'i') / jax.lax.psum(1, 'i'), axis_name='i')(x),
               jax.vmap(lambda a: jax.lax.psum(1, 'i'), axis_name='i')(x))
    """,
    "elementwise_alignment": """
        # operands already paired example with example (the interpreter's direct path) and
        # operands that must be moved first, with weak and integer operands
        a = jnp.arange(6.0).reshape(2, 3)
        b = jnp.arange(6.0, 12.0).reshape(2, 3)
        v = jnp.array([1.0, -2.0, 0.5])
        n = jnp.arange(6).reshape(2, 3)
        out = (jax.vmap(jnp.multiply)(a, b), jax.vmap(jnp.subtract, (1, 1))(a, b),
               jax.vmap(jnp.add, (0, 1))(a, b.T), jax.vmap(jnp.divide, (0, None))(a, v),
               jax.vmap(jnp.maximum, (None, 0))(v, a), jax.vmap(lambda x: x * v, 1)(a.T),
               jax.vmap(lambda x: 2.0 - x, 1)(a), jax.vmap(lambda x: x ** 3)(a),
               jax.vmap(lambda x, y: x * y, (0, None))(n, 2), jax.vmap(lambda x: x / 2)(n),
               jax.vmap(lambda x, y: jnp.where(x > 2, x, y))(a, b),
               jax.vmap(lambda x: jnp.clip(x, 1.0, 4.0), 1)(a),
               jax.vmap(lambda x, y: x * y, (0, None))(jnp.arange(3.0), 1.5),
               jax.vmap(lambda x: jnp.sin(x) * 0.5)(jnp.float32(2.0) * jnp.ones(2)))
    """,
    "vector_products": """
        # NumPy's matmul of vectors under vmap and its gradients: per-example vectors against
        # one matrix, one matrix against per-example vectors, vectors against vectors, vectors
        # against stacks of matrices
        w = jnp.arange(12.0).reshape(3, 4) / 10
        xs = jnp.arange(6.0).reshape(2, 3) / 5
        zs = jnp.arange(8.0).reshape(2, 4) / 7
        stack = jnp.arange(48.0).reshape(2, 2, 3, 4) / 20
        loss = lambda w, x, z: jnp.sum(jnp.tanh(x @ w) * z) + jnp.sum((w @ z) ** 2)
        out = (jax.vmap(lambda x: x @ w)(xs), jax.vmap(lambda z: w @ z)(zs),
               jax.vmap(jnp.matmul)(xs, xs), jax.vmap(jnp.matmul, (0, None))(xs, stack[0]),
               jax.vmap(jnp.matmul, (None, 0))(xs[0], stack), jax.vmap(jnp.matmul)(stack, zs),
               jax.vmap(jnp.matmul, (0, 1))(xs, w.T.reshape(4, 3).T @ jnp.ones((4, 2))),
               jax.vmap(jax.grad(loss), (None, 0, 0))(w, xs, zs),
               jax.vmap(jax.grad(loss, argnums=(1, 2)), (None, 0, 0))(w, xs, zs),
               jax.grad(lambda w: jnp.sum(jax.vmap(loss, (None, 0, 0))(w, xs, zs)))(w),
               jax.jit(jax.vmap(jax.grad(loss), (None, 0, 0)))(w, xs, zs),
               jax.grad(lambda x: jnp.sum(jnp.matmul(x, stack)))(xs[0]),
               jax.grad(lambda z: jnp.sum(jnp.matmul(stack, z)))(zs[0]),
               jax.jacfwd(lambda x: x @ w)(xs[0]), jax.jacrev(lambda x: x @ x)(xs[0]))
    """,
    "pullback_under_transformations": """
        # vmap of a pullback whose tape holds another transformation's values
        x = jnp.arange(1.0, 4.0)
        def rows(x):
            _, pull = jax.vjp(lambda v: jnp.sin(v) * v, x)
            return jax.vmap(pull)(jnp.eye(3))[0]
        out = (jax.jvp(rows, (x,), (jnp.ones(3),)), jax.jacfwd(rows)(x), jax.jit(rows)(x),
               jax.grad(lambda x: jnp.sum(rows(x) ** 2))(x))
    """,
    "custom_vjp_spec_36": """
        @jax.custom_vjp
        def f(x, c):
            return c * x ** 2
        def f_fwd(x, c):
            return f(x, c), (x, c)
        def f_bwd(res, g):
            x, c = res
            return 2 * c * x * g, x ** 2 * g
        f.defvjp(f_fwd, f_bwd)
        xs = jnp.array([1.0, 2.0, 3.0])
        out = jax.grad(lambda c: jnp.sum(jax.vmap(f, (0, None))(xs, c)))(jnp.float32(1.0))
    """,
}


def _run(source, jax_mod, jnp_mod):
    scope = {"jax": jax_mod, "jnp": jnp_mod}
    exec(textwrap.dedent(source), scope)
    return scope["out"]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_same_as_jax(name):
    ours = _run(PROGRAMS[name], jax, jnp)
    theirs = _run(PROGRAMS[name], jax_real, jnp_real)
    ours_leaves = jax.tree_util.tree_leaves(ours)
    their_leaves = jax_real.tree_util.tree_leaves(theirs)
    assert len(ours_leaves) == len(their_leaves)
    for a, b in zip(ours_leaves, their_leaves, strict=True):
        assert (a.shape, a.dtype, a.weak_type) == (b.shape, b.dtype, b.weak_type), (name, a, b)
        _close(a, b, rtol=2e-5)
    with np.printoptions(precision=4):
        assert repr(ours) == repr(theirs)


def test_vector_products_are_one_equation_each_batched_or_not():
    # NumPy's matmul takes vectors directly: no reshapes around a vector-matrix product, and a
    # per-example gradient of one is a matrix product and a batched outer product
    w, x = jnp.ones((3, 4)), jnp.ones(3)
    jaxpr = jax.make_jaxpr(lambda x, w: x @ w)(x, w)
    assert [e.prim.name for e in jaxpr.jaxpr.eqns] == ["matmul"]
    per_example = jax.vmap(jax.grad(lambda w, x: jnp.sum(x @ w), argnums=(0, 1)), (None, 0))
    jaxpr = jax.make_jaxpr(per_example)(w, jnp.ones((5, 3)))
    check_jaxpr(jaxpr)
    names = [e.prim.name for e in jaxpr.jaxpr.eqns]
    assert "reshape" not in names and names.count("einsum") == 1, names
    gw, gx = per_example(w, jnp.arange(15.0).reshape(5, 3))
    _close(gw, np.broadcast_to(np.arange(15.0).reshape(5, 3, 1), (5, 3, 4)))
    _close(gx, np.full((5, 3), 4.0))


def test_an_escaped_tracer_beside_a_batched_value_is_named():
    leaked = []
    jax.grad(lambda x: leaked.append(x) or x)(1.0)
    for f in (lambda a: a * leaked[0], lambda a: leaked[0] - a, lambda a: jnp.sum(a) + leaked[0]):
        with pytest.raises(jax.errors.UnexpectedTracerError, match="outside the transformation"):
            jax.vmap(f)(jnp.arange(3.0))


_EXAMPLE = (2, 3)  # one example's shape in the property test below
_SHAPES = [(), (3,), (1, 3), (2, 1), (2, 3)]  # unbatched operands that broadcast against it


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["add", "subtract", "multiply", "maximum"]),
            st.sampled_from(["batched", "unbatched", "scalar"]),
            st.integers(0, 2),  # the batched operand's batch axis
            st.integers(0, len(_SHAPES) - 1),  # the unbatched operand's shape
            st.booleans(),  # which side the current value is on
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(0, 2),
)
def test_elementwise_chains_under_vmap_match_a_loop(steps, in_axis):
    # whether operands line up (the interpreter's direct path) or must be moved (the rule),
    # every chain of elementwise operations gives the loop's values
    rng = np.random.default_rng(len(steps) * 7 + in_axis)
    n = 4
    x = rng.standard_normal((n, *_EXAMPLE)).astype(np.float32)
    operands = []
    for _, kind, axis, shape, _ in steps:
        if kind == "batched":
            operands.append((np.moveaxis(rng.standard_normal((n, *_EXAMPLE)), 0, axis), axis))
        elif kind == "unbatched":
            operands.append((rng.standard_normal(_SHAPES[shape]), None))
        else:
            operands.append((float(rng.standard_normal()), None))
    operands = [(v.astype(np.float32) if isinstance(v, np.ndarray) else v, a) for v, a in operands]

    def chain(x, *batched):
        it = iter(batched)
        for (op, kind, _, _, left), (value, _) in zip(steps, operands, strict=True):
            other = next(it) if kind == "batched" else value
            x = getattr(jnp, op)(x, other) if left else getattr(jnp, op)(other, x)
        return x

    batched = [v for (v, a), s in zip(operands, steps, strict=True) if s[1] == "batched"]
    axes = [a for (v, a), s in zip(operands, steps, strict=True) if s[1] == "batched"]
    got = jax.vmap(chain, in_axes=(in_axis, *axes))(np.moveaxis(x, 0, in_axis), *batched)
    want = [
        chain(x[i], *[np.take(b, i, axis=a) for b, a in zip(batched, axes, strict=True)])
        for i in range(n)
    ]
    np.testing.assert_allclose(np.asarray(got), np.stack([np.asarray(w) for w in want]))
    assert got.dtype == np.float32
