"""custom_vmap and sequential_vmap (``pullback.custom_batching``): eager, vmap (in_axes, out_axes,
pytrees, unbatched outputs), nested vmap, jit, forward mode, composition with custom_jvp and
custom_vjp, and every error.

Programs are JAX source run once on pullback and once on JAX 0.10.2: values, dtypes, weak types
and what each rule received (``axis_size``, ``in_batched``) must agree. Where JAX gives a wrong
result or fails (forward mode under vmap with tangents batched differently from their primals,
``sequential_vmap`` there, rules returning wrong types), the values are checked against the same
program without the custom rule.
"""

import textwrap

import numpy as np
import pytest

import pullback as jax
import pullback.numpy as jnp
from pullback._ir import check_jaxpr
from pullback.errors import UnexpectedTracerError

X3 = np.array([0.5, -1.0, 2.0], np.float32)
Y3 = np.array([1.0, 2.0, 3.0], np.float32)

PRELUDE = """
import numpy as np
cb = jax.custom_batching
log = []

def check_batched(axis_size, in_batched, args):
    for b, a in zip(jax.tree_util.tree_leaves(in_batched), jax.tree_util.tree_leaves(args)):
        assert not b or jnp.shape(a)[0] == axis_size, (b, jnp.shape(a), axis_size)

# the rule computes something else than the function, so that the tests see which one ran
@cb.custom_vmap
def f(x, y):
    return jnp.sin(x) * y

@f.def_vmap
def f_rule(axis_size, in_batched, xs, ys):
    log.append(("f_rule", axis_size, in_batched))
    check_batched(axis_size, in_batched, (xs, ys))
    return jnp.sin(xs) * ys + 100.0, in_batched[0] or in_batched[1]

# outputs: a batched one and one the rule leaves unbatched
@cb.custom_vmap
def stats(x):
    return {"total": jnp.sum(x), "scale": jnp.float32(2.0)}

@stats.def_vmap
def stats_rule(axis_size, in_batched, xs):
    log.append(("stats_rule", axis_size, in_batched))
    out = {"total": jnp.sum(xs, axis=1), "scale": jnp.float32(2.0)}
    return out, {"total": True, "scale": False}

# pytree arguments
@cb.custom_vmap
def tree_fn(d, t):
    return {"a": d["p"] * t[0], "b": t[1] * 2}

@tree_fn.def_vmap
def tree_rule(axis_size, in_batched, d, t):
    log.append(("tree_rule", axis_size, in_batched))
    check_batched(axis_size, in_batched, (d, t))
    return ({"a": d["p"] * t[0], "b": t[1] * 2},
            {"a": in_batched[0]["p"] or in_batched[1][0], "b": in_batched[1][1]})

# a rule that calls the function again: it runs once per vmap level
@cb.custom_vmap
def g(x):
    return jnp.cos(x)

@g.def_vmap
def g_rule(axis_size, in_batched, xs):
    log.append(("g_rule", axis_size, in_batched, jnp.shape(xs)))
    return g(xs) * 2.0, in_batched[0]

@cb.custom_vmap
def ints(i, x):
    return i * 2, x + 1.0

@ints.def_vmap
def ints_rule(axis_size, in_batched, i, x):
    log.append(("ints_rule", axis_size, in_batched))
    return (i * 3, x + 1.0), (in_batched[0], in_batched[1])

@cb.sequential_vmap
def seq(x, y):
    return jnp.sin(x) * y

@cb.sequential_vmap
def seq_tree(d):
    return {"a": d["x"] * 2, "b": d["y"] + d["x"][0]}

def host_norm(v):
    assert v.ndim == 1, v.shape
    return np.linalg.norm(v).astype(v.dtype)

@cb.sequential_vmap
def norm(v):
    return jax.pure_callback(host_norm, jax.ShapeDtypeStruct((), v.dtype), v)

# the JAX documentation's example: custom_vjp around custom_vmap
@jax.custom_vjp
@cb.custom_vmap
def vjp_of_vmap(x, y):
    return jnp.sin(x) * y

@vjp_of_vmap.def_vmap
def vjp_of_vmap_rule(axis_size, in_batched, xs, ys):
    log.append(("vjp_of_vmap_rule", axis_size, in_batched))
    return jnp.cos(xs) * ys, True

def vjp_of_vmap_fwd(x, y):
    return vjp_of_vmap(x, y), (jnp.cos(x), jnp.sin(x), y)

def vjp_of_vmap_bwd(res, g):
    log.append("vjp_of_vmap_bwd")
    cos_x, sin_x, y = res
    return (cos_x * g * y, sin_x * g)

vjp_of_vmap.defvjp(vjp_of_vmap_fwd, vjp_of_vmap_bwd)

# custom_jvp around custom_vmap, and custom_vmap around custom_jvp
@jax.custom_jvp
@cb.custom_vmap
def jvp_of_vmap(x):
    return jnp.sin(x)

@jvp_of_vmap.def_vmap
def jvp_of_vmap_rule(axis_size, in_batched, xs):
    log.append(("jvp_of_vmap_rule", axis_size, in_batched))
    return jnp.sin(xs) + 100.0, in_batched[0]

@jvp_of_vmap.defjvp
def jvp_of_vmap_jvp(primals, tangents):
    log.append("jvp_of_vmap_jvp")
    return jvp_of_vmap(primals[0]), 10.0 * tangents[0]

@cb.custom_vmap
@jax.custom_jvp
def vmap_of_jvp(x):
    return jnp.sin(x)

@vmap_of_jvp.defjvp
def vmap_of_jvp_jvp(primals, tangents):
    log.append("vmap_of_jvp_jvp")
    return jnp.sin(primals[0]), 10.0 * tangents[0]

@vmap_of_jvp.def_vmap
def vmap_of_jvp_rule(axis_size, in_batched, xs):
    log.append(("vmap_of_jvp_rule", axis_size, in_batched))
    return jnp.sin(xs) + 100.0, in_batched[0]

x3 = jnp.array([0.5, -1.0, 2.0], jnp.float32)
y3 = jnp.array([1.0, 2.0, 3.0], jnp.float32)
x23 = jnp.arange(6, dtype=jnp.float32).reshape(2, 3) / 4
"""

PROGRAMS = {
    "eager": "out = f(jnp.float32(1.0), jnp.float32(2.0))",
    "eager_python_scalars": "out = f(1.0, 2.0)",
    "eager_arrays_in_and_out": "out = (ints(2, 1.0), ints(np.int64(2), np.ones(2)))",
    "vmap": "out = jax.vmap(f)(x3, y3)",
    "vmap_in_axes_none": "out = jax.vmap(f, in_axes=(0, None))(x3, 2.0)",
    "vmap_in_axes_1": "out = jax.vmap(f, in_axes=(1, None))(x23, jnp.float32(3.0))",
    "vmap_out_axes_1": "out = jax.vmap(lambda x: f(x, x), in_axes=1, out_axes=1)(x23)",
    "vmap_nothing_batched": "out = jax.vmap(f, in_axes=(None, None), axis_size=3)(1.0, 2.0)",
    "unbatched_output_broadcast": "out = jax.vmap(stats)(x23)",
    "unbatched_output_out_axes_none": """
        out = jax.vmap(stats, out_axes={"total": 0, "scale": None})(x23)""",
    "pytree_arguments": """
        out = (jax.vmap(tree_fn, in_axes=({"p": 0}, (None, 0)))({"p": x3}, (2.0, y3)),
               jax.vmap(tree_fn, in_axes=({"p": 0}, (0, None)))({"p": x3}, (y3, 2.0)))""",
    "integers": "out = jax.vmap(ints)(jnp.arange(3), x3)",
    "integers_unbatched": "out = jax.vmap(ints, in_axes=(None, 0))(jnp.int32(4), x3)",
    "jit": "out = jax.jit(f)(x3, y3)",
    "jit_of_vmap": "out = jax.jit(jax.vmap(f))(x3, y3)",
    "vmap_of_jit": "out = jax.vmap(jax.jit(f))(x3, y3)",
    "vmap_of_jit_in_axes_none": "out = jax.vmap(jax.jit(f), in_axes=(None, 0))(2.0, y3)",
    "nested_vmap": "out = jax.vmap(jax.vmap(f))(x23, x23 + 1)",
    "nested_vmap_different_axes": """
        out = jax.vmap(jax.vmap(f, in_axes=(0, None)), in_axes=(None, 0))(x3, y3)""",
    "rule_per_level": "out = jax.vmap(jax.vmap(g))(x23)",
    "rule_per_level_jit": "out = jax.jit(jax.vmap(jax.vmap(g)))(x23)",
    "jvp": "out = jax.jvp(f, (1.0, 2.0), (1.0, 0.5))",
    "jvp_of_vmap": "out = jax.jvp(jax.vmap(f), (x3, y3), (jnp.ones(3), jnp.zeros(3)))",
    "vmap_of_jvp_all_batched": """
        out = jax.vmap(lambda x, y, tx, ty: jax.jvp(f, (x, y), (tx, ty)))(x3, y3, y3, x3)""",
    "jit_of_vmap_of_jvp": """
        out = jax.jit(jax.vmap(lambda x, t: jax.jvp(g, (x,), (t,))))(x3, y3)""",
    "jvp_of_jvp": """
        out = jax.jvp(lambda x: jax.jvp(f, (x, 2.0), (1.0, 0.0))[1], (1.0,), (1.0,))""",
    "jit_of_jvp": "out = jax.jit(lambda x: jax.jvp(f, (x, 2.0), (1.0, 0.0)))(1.0)",
    "grad_of_vmap": "out = jax.grad(lambda x: jnp.sum(jax.vmap(f)(x, y3)))(x3)",
    "jvp_of_vmap_of_integers": """
        out = jax.jvp(lambda x: jax.vmap(ints)(jnp.arange(3), x), (x3,), (y3,))""",
    "jacfwd_of_jacfwd": "out = jax.jacfwd(jax.jacfwd(lambda x: f(x, 2.0)))(1.0)",
    "vmap_of_vmap_of_jvp": """
        out = jax.vmap(jax.vmap(lambda x: jax.jvp(f, (x, 2.0), (1.0, 0.0))))(x23)""",
    "in_scan": """
        out = jax.vmap(lambda x: jax.lax.scan(
            lambda c, _: (f(c, 2.0), None), x, None, length=2)[0])(x3)""",
    "in_cond_batched_predicate": """
        out = jax.vmap(lambda x: jax.lax.cond(x > 0, lambda x: f(x, 2.0), jnp.cos, x))(x3)""",
    "in_cond": """
        out = jax.vmap(lambda x: jax.lax.cond(True, lambda x: f(x, 2.0), jnp.cos, x))(x3)""",
    "in_while": """
        out = jax.vmap(lambda x: jax.lax.while_loop(
            lambda c: c[1] < 2, lambda c: (f(c[0], 2.0), c[1] + 1), (x, 0))[0])(x3)""",
    "in_checkpoint": "out = jax.vmap(jax.checkpoint(f))(x3, y3)",
    "sequential": "out = jax.vmap(seq)(x3, y3)",
    "sequential_in_axes_none": "out = jax.vmap(seq, in_axes=(0, None))(x3, 2.0)",
    "sequential_jit": "out = jax.jit(jax.vmap(seq))(x3, y3)",
    "sequential_nested": "out = jax.vmap(jax.vmap(seq))(x23, x23 * 2)",
    "sequential_pytree": """
        out = jax.vmap(seq_tree, in_axes=({"x": 0, "y": None},))({"x": x23, "y": 1.0})""",
    "sequential_integers": "out = jax.vmap(cb.sequential_vmap(lambda i: i * 2))(jnp.arange(3))",
    "sequential_callback": "out = jax.vmap(norm)(x23)",
    "sequential_jvp": "out = jax.jvp(seq, (1.0, 2.0), (1.0, 0.0))",
    "sequential_jvp_of_vmap": """
        out = jax.jvp(jax.vmap(seq), (x3, y3), (jnp.ones(3), jnp.zeros(3)))""",
    "custom_vjp_of_vmap": """
        out = (jax.vmap(vjp_of_vmap)(jnp.zeros(3), jnp.ones(3)),
               jax.grad(vjp_of_vmap)(jnp.zeros(()), jnp.ones(())),
               jax.vmap(jax.grad(vjp_of_vmap))(x3, y3),
               jax.grad(lambda x: jnp.sum(jax.vmap(vjp_of_vmap)(x, y3)))(x3))""",
    "custom_jvp_of_vmap": """
        out = (jvp_of_vmap(1.0), jax.vmap(jvp_of_vmap)(x3), jax.grad(jvp_of_vmap)(1.0),
               jax.vmap(jax.grad(jvp_of_vmap))(x3),
               jax.grad(lambda x: jnp.sum(jax.vmap(jvp_of_vmap)(x)))(x3),
               jax.jit(jax.vmap(jax.grad(jvp_of_vmap)))(x3))""",
    "custom_vmap_of_jvp": """
        out = (vmap_of_jvp(1.0), jax.vmap(vmap_of_jvp)(x3),
               jax.jvp(vmap_of_jvp, (1.0,), (1.0,)),
               jax.jvp(jax.vmap(vmap_of_jvp), (x3,), (y3,)))""",
}


def _run(source, jax_mod):
    scope = {"jax": jax_mod, "jnp": jax_mod.numpy}
    exec(textwrap.dedent(PRELUDE) + textwrap.dedent(source), scope)
    return scope["out"], scope["log"]


def _real_jax():
    real = pytest.importorskip("jax")
    pytest.importorskip("jax.custom_batching")
    return real


def _assert_same(name, ours, theirs, real):
    ours_leaves = jax.tree_util.tree_leaves(ours)
    their_leaves = real.tree_util.tree_leaves(theirs)
    assert jax.tree_util.tree_structure(ours).num_leaves == len(their_leaves), name
    for a, b in zip(ours_leaves, their_leaves, strict=True):
        assert isinstance(a, jax.Array), (name, a, b)
        assert (a.dtype, a.shape) == (b.dtype, b.shape), (name, a, b)
        assert a.weak_type == b.weak_type, (name, a, b)
        if a.dtype == jax.dtypes.float0:
            continue
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-6, atol=1e-6)


# JAX batches these bodies twice (a fixed point over which outputs are batched), so its rule
# runs twice with the same arguments; pullback's runs once
RULE_RUN_TWICE_BY_JAX = {"in_cond", "in_while"}
# forward mode under vmap with unbatched tangents: pullback's rule sees the batched primals as
# batched, JAX's sees nothing batched (test_forward_mode_under_vmap below)
FORWARD_UNDER_VMAP_IN_BATCHED = {"jacfwd_of_jacfwd", "vmap_of_vmap_of_jvp"}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_same_as_jax(name):
    real = _real_jax()
    ours, our_log = _run(PROGRAMS[name], jax)
    theirs, their_log = _run(PROGRAMS[name], real)
    _assert_same(name, ours, theirs, real)
    if name in RULE_RUN_TWICE_BY_JAX:
        assert their_log == our_log * 2, name
    elif name in FORWARD_UNDER_VMAP_IN_BATCHED:
        assert [entry[:2] for entry in our_log] == [entry[:2] for entry in their_log], name
    else:
        assert our_log == their_log, name


@pytest.mark.parametrize(
    "name", ["eager_arrays_in_and_out", "vmap", "integers", "vmap_of_jvp_all_batched"]
)
def test_same_as_jax_with_x64(name):
    real = _real_jax()
    with jax.enable_x64(), real.enable_x64():
        ours, our_log = _run(PROGRAMS[name], jax)
        theirs, their_log = _run(PROGRAMS[name], real)
    _assert_same(name, ours, theirs, real)
    assert our_log == their_log, name


def test_the_rule_runs_under_vmap_only():
    out, log = _run("out = (f(1.0, 2.0), jax.vmap(f)(x3, y3))", jax)
    np.testing.assert_allclose(out[0], np.sin(1.0) * 2.0, rtol=1e-6)
    np.testing.assert_allclose(out[1], np.sin(X3) * Y3 + 100.0, rtol=1e-6)
    assert log == [("f_rule", 3, [True, True])]


def test_rule_receives_the_batch_axis_at_front():
    seen = []

    @jax.custom_batching.custom_vmap
    def h(x, y):
        return x * y

    @h.def_vmap
    def h_rule(axis_size, in_batched, xs, ys):
        seen.append((axis_size, in_batched, type(xs), np.shape(xs), ys))
        return xs * ys, True

    out = jax.vmap(h, in_axes=(1, None))(np.ones((2, 4), np.float32), 3.0)
    assert out.shape == (4, 2) and out.dtype == np.float32
    # an unbatched argument arrives as it was given
    assert seen == [(4, [True, False], jax.Array, (4, 2), 3.0)]


# -- forward mode under vmap: every batched argument reaches the rule ----------------------------

# With a tangent batched and its primal not (or the reverse), JAX hands the rule only the
# arguments whose primal and tangent are both batched and batches the rest around it, which
# gives outputs with two batch axes or fails (sequential_vmap's lax.map of nothing). pullback
# broadcasts the unbatched half of the pair instead: the rule sees every batched argument.
FORWARD_UNDER_VMAP = {
    "tangents_unbatched": (
        lambda f: jax.vmap(lambda x, y: jax.jvp(f, (x, y), (1.0, 0.5)))(X3, Y3),
        [True, True],
    ),
    "primal_unbatched": (
        lambda f: jax.vmap(lambda t: jax.jvp(f, (1.0, 2.0), (t, 0.0)))(X3),
        [True, False],
    ),
    "mixed": (
        lambda f: jax.vmap(lambda x, y, t: jax.jvp(f, (x, y), (t, 0.0)))(X3, Y3, Y3 * 10),
        [True, True],
    ),
    "jacfwd": (lambda f: jax.jacfwd(f)(X3, Y3), [True, False]),
    "jacfwd_both": (lambda f: jax.jacfwd(f, argnums=(0, 1))(X3, Y3), [True, True]),
}


@pytest.mark.parametrize("name", sorted(FORWARD_UNDER_VMAP))
@pytest.mark.parametrize("kind", ["rule", "sequential"])
def test_forward_mode_under_vmap(name, kind):
    program, in_batched = FORWARD_UNDER_VMAP[name]
    log = []

    def plain(x, y):
        return jnp.sin(x) * y

    if kind == "sequential":
        custom = jax.custom_batching.sequential_vmap(plain)
    else:
        custom = jax.custom_batching.custom_vmap(plain)

        @custom.def_vmap
        def rule(axis_size, batched, xs, ys):
            log.append(batched)
            return plain(xs, ys), any(batched)

    ours, expected = program(custom), program(plain)
    for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(expected)):
        assert (a.shape, a.dtype) == (b.shape, b.dtype), name
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    if kind == "rule":
        assert log == [in_batched]


def test_forward_mode_differentiates_the_rule():
    # under vmap, the tangent comes from the rule (as in JAX), not from the function
    out, _ = _run("out = jax.jvp(jax.vmap(g), (x3,), (y3,))", jax)
    np.testing.assert_allclose(out[0], 2 * np.cos(X3), rtol=1e-6)
    np.testing.assert_allclose(out[1], -2 * np.sin(X3) * Y3, rtol=1e-6)


# -- staging ------------------------------------------------------------------------------------


def test_staged_as_one_equation():
    f = _prelude()["f"]
    text = str(jax.make_jaxpr(f)(X3, Y3))
    assert text == (
        "{ lambda ; a:f32[3] b:f32[3]. let\n"
        "    c:f32[3] = custom_vmap_call[\n"
        "      call={ lambda ; d:f32[3] e:f32[3]. let\n"
        "          f:f32[3] = sin d\n"
        "          g:f32[3] = mul f e\n"
        "        in (g,) }\n"
        "      rule=f_rule\n"
        "    ] a b\n"
        "  in (c,) }"
    )
    # batched, the rule's operations are what is staged
    assert "custom_vmap_call" not in str(jax.make_jaxpr(jax.vmap(f))(X3, Y3))


def test_staged_programs_check_and_compile():
    p = _prelude()
    f, g, seq = p["f"], p["g"], p["seq"]
    for fun, args in [
        (f, (X3, Y3)),
        (jax.vmap(f), (X3, Y3)),
        (jax.vmap(jax.vmap(g)), (X3.reshape(3, 1),)),
        (jax.vmap(seq), (X3, Y3)),
        (lambda x: jax.jvp(f, (x, 2.0), (1.0, 0.0)), (1.0,)),
        (jax.vmap(lambda x, t: jax.jvp(g, (x,), (t,))), (X3, Y3)),
        (jax.vmap(jax.jit(f), in_axes=(0, None)), (X3, 1.0)),
    ]:
        check_jaxpr(jax.make_jaxpr(fun)(*args))
    # jit runs the function as straight-line NumPy: the call is inlined
    assert "custom_vmap_call" not in jax.jit(f).lower(X3, Y3).as_text()
    text = str(jax.make_jaxpr(lambda x: jax.jvp(f, (x, 2.0), (1.0, 0.0)))(1.0))
    assert "rule=jvp(f_rule)" in text


def test_closed_over_value_becomes_an_operand():
    def outer(z, x):
        @jax.custom_batching.custom_vmap
        def h(x):
            return x * z

        h.def_vmap(lambda n, b, xs: (xs * z + 1.0, True))
        return h(x)

    text = str(jax.make_jaxpr(outer)(1.0, 2.0))
    assert "num_consts=1" in text
    # the closed-over value is not batched: the rule may close over it too
    np.testing.assert_allclose(jax.vmap(outer, in_axes=(None, 0))(2.0, X3), X3 * 2 + 1)
    # differentiated, with nothing batched: the function's JVP covers it
    out, t = jax.jvp(lambda z: outer(z, 3.0), (2.0,), (1.0,))
    assert (float(out), float(t)) == (6.0, 3.0)


def _prelude():
    scope = {"jax": jax, "jnp": jnp}
    exec(textwrap.dedent(PRELUDE), scope)
    return scope


# -- errors -------------------------------------------------------------------------------------

ERRORS = {
    "no_rule": (
        """
        @cb.custom_vmap
        def h(x):
            return x
        h(1.0)""",
        AttributeError,
        "No batching rule defined for custom_vmap function h using def_vmap.",
    ),
    "out_batched_structure": (
        """
        @cb.custom_vmap
        def h(x):
            return x * 2, x
        h.def_vmap(lambda n, b, xs: ((xs, xs), True))
        jax.vmap(h)(x3)""",
        ValueError,
        "structure of output value and output batching specification returned by custom vmap "
        "rule (<lambda>) do not match.",
    ),
    "output_structure": (
        """
        @cb.custom_vmap
        def h(x):
            return x * 2, x
        def h_rule(n, b, xs):
            return [xs, xs], [True, True]
        h.def_vmap(h_rule)
        jax.jit(jax.vmap(h))(x3)""",
        ValueError,
        "structure of output returned by custom vmap rule (h_rule) does not match that of "
        "original custom-vmapped function",
    ),
    "keyword_only": (
        """
        @cb.custom_vmap
        def h(x, *, k):
            return x * k
        h.def_vmap(lambda n, b, xs, k: (xs * k, True))
        jax.vmap(lambda x: h(x, k=2.0))(x3)""",
        TypeError,
        "The input arguments to the custom_vmap-decorated function h could not be resolved to "
        "positional-only arguments",
    ),
    "not_an_array": (
        """
        @cb.custom_vmap
        def h(x, mode):
            return x
        h.def_vmap(lambda n, b, xs, mode: (xs, True))
        h(x3, "fast")""",
        TypeError,
        "Argument 'fast' of type <class 'str'> is not a valid JAX type",
    ),
    "grad": ("jax.grad(f)(1.0, 2.0)", ValueError, ""),
    "vmap_of_grad": ("jax.vmap(jax.grad(f))(x3, y3)", ValueError, ""),
    "grad_of_jit": ("jax.grad(jax.jit(f))(1.0, 2.0)", ValueError, ""),
    "jacrev": ("jax.jacrev(f)(x3, y3)", ValueError, ""),
    "grad_of_sequential": ("jax.grad(lambda x: jnp.sum(jax.vmap(seq)(x, y3)))(x3)", ValueError, ""),
    "grad_of_custom_vmap_of_jvp": ("jax.grad(vmap_of_jvp)(1.0)", ValueError, ""),
    "hessian": ("jax.hessian(lambda x: f(x, 2.0))(1.0)", ValueError, ""),
    "closure_differentiated_under_vmap": (
        """
        def outer(z, x):
            @cb.custom_vmap
            def h(x):
                return x * z
            h.def_vmap(lambda n, b, xs: (xs * z + 1.0, True))
            return h(x)
        jax.vmap(lambda x: jax.jvp(lambda z: outer(z, x), (2.0,), (1.0,)))(x3)""",
        "UnexpectedTracerError",  # each library's own, from its errors module
        "",
    ),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_as_jax(name):
    real = _real_jax()
    source, error, start = ERRORS[name]
    for lib in (jax, real):
        expected = getattr(lib.errors, error) if isinstance(error, str) else error
        with pytest.raises(expected) as info:
            _run(textwrap.dedent(source) + "\nout = None", lib)
        assert str(info.value).startswith(start), (lib.__name__, str(info.value))


def test_reverse_mode_error_says_what_to_do():
    f = _prelude()["f"]
    with pytest.raises(ValueError, match=r"custom_vmap function f is not supported.*custom_vjp"):
        jax.grad(f)(1.0, 2.0)
    with pytest.raises(ValueError, match="custom_vmap function f"):
        jax.linearize(f, 1.0, 2.0)


def _bad_rule(result):
    @jax.custom_batching.custom_vmap
    def h(x):
        return x * 2

    @h.def_vmap
    def h_rule(axis_size, in_batched, xs):
        return result(xs)

    return h


# JAX checks none of these: it fails later (IndexError), broadcasts a batched value as if it
# were one example, or returns the rule's dtype
BAD_RULES = {
    "not_a_pair": (lambda xs: xs, ValueError, "must return a pair (out, out_batched)"),
    "batched_without_axis": (
        lambda xs: (xs[0], True),
        TypeError,
        "returned float32[] at output (the whole output), but declares it batched (out_batched "
        "True), so it must have the type of h's output there, float32[], with a leading batch "
        "axis of size 3: float32[3].",
    ),
    "unbatched_with_axis": (
        lambda xs: (xs, False),
        TypeError,
        "returned float32[3] at output (the whole output), but declares it unbatched "
        "(out_batched False), so it must have the type of h's output there: float32[].",
    ),
    "dtype": (lambda xs: (xs.astype(np.int32), True), TypeError, "returned int32[3]"),
    "not_an_array": (lambda xs: ("out", True), TypeError, "returned 'out' of type <class 'str'>"),
}


@pytest.mark.parametrize("name", sorted(BAD_RULES))
@pytest.mark.parametrize("transform", ["vmap", "jit_of_vmap", "vmap_of_jit"])
def test_rule_results_are_checked(name, transform):
    result, error, message = BAD_RULES[name]
    h = _bad_rule(result)
    fun = {
        "vmap": jax.vmap(h),
        "jit_of_vmap": jax.jit(jax.vmap(h)),
        "vmap_of_jit": jax.vmap(jax.jit(h)),
    }[transform]
    with pytest.raises(error, match="custom vmap rule \\(h_rule\\) of custom_vmap function h") as e:
        fun(X3)
    assert message in str(e.value)


def test_closing_over_a_batched_value_is_an_error():
    # JAX fails with an internal AssertionError
    def outer(z):
        @jax.custom_batching.custom_vmap
        def h(x):
            return x * z

        h.def_vmap(lambda n, b, xs: (xs * z, True))
        return h(1.0)

    for fun in (jax.vmap(outer), jax.jit(jax.vmap(outer))):
        with pytest.raises(UnexpectedTracerError, match="closes over a value batched by vmap"):
            fun(X3)


def test_def_attributes_reach_the_decorated_function():
    p = _prelude()
    # @custom_vmap over @custom_jvp takes defjvp; @custom_vjp over @custom_vmap takes def_vmap
    assert p["vmap_of_jvp"].defjvp.__self__ is p["vmap_of_jvp"].fun
    with pytest.raises(AttributeError):
        _ = p["f"].something
