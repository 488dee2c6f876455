"""Differential tests: the same JAX program run on pullback and on JAX.

Each program is JAX source using the names ``jax`` and ``jnp`` and assigning ``out``. It runs
once with ``jax = pullback`` and once with the real JAX; values, dtypes, weak types and the
printed output must agree.
"""

import textwrap

import numpy as np
import pytest

import pullback

jax_real = pytest.importorskip("jax")
jnp_real = pytest.importorskip("jax.numpy")

PRELUDE = """
import functools
import collections
import numpy as np
"""

PROGRAMS = {
    # -- the seed and the spec's fixtures -----------------------------------------------------
    "seed": """
        @jax.custom_vjp
        def f(x, y):
            return jnp.sin(x) * y
        def f_fwd(x, y):
            return f(x, y), (jnp.cos(x), jnp.sin(x), y)
        def f_bwd(res, g):
            cos_x, sin_x, y = res
            return (cos_x * g * y, sin_x * g)
        f.defvjp(f_fwd, f_bwd)
        out = jax.value_and_grad(f)(jnp.float32(1.0), jnp.float32(2.0))
    """,
    "S_grad_weak": """
        @jax.custom_vjp
        def S(x):
            return jnp.sin(x)
        S.defvjp(lambda x: (S(x), jnp.cos(x)), lambda c, g: (2 * c * g,))
        out = (S(3.0), jax.grad(S)(3.0), jax.value_and_grad(S)(3.0), jax.grad(jax.grad(S))(3.0))
    """,
    "S_vjp_twice": """
        @jax.custom_vjp
        def S(x):
            return jnp.sin(x)
        S.defvjp(lambda x: (S(x), jnp.cos(x)), lambda c, g: (2 * c * g,))
        y, p = jax.vjp(S, 3.0)
        out = (y, p(1.0), p(2.0))
    """,
    "M_two_args": """
        @jax.custom_vjp
        def M(x, y):
            return jnp.sin(x) * y
        M.defvjp(lambda x, y: (M(x, y), (jnp.cos(x), jnp.sin(x), y)),
                 lambda r, g: (r[0] * g * r[2], r[1] * g))
        out = jax.grad(M, (0, 1))(2.0, 3.0)
    """,
    "none_entries": """
        k = jax.custom_vjp(lambda x, y: x * jnp.sin(y))
        k.defvjp(lambda x, y: (k(x, y), y), lambda y, g: (None, 2 * jnp.cos(y) * g))
        k2 = jax.custom_vjp(lambda xs, y: xs[0] * jnp.sin(y))
        k2.defvjp(lambda xs, y: (k2(xs, y), y), lambda y, g: (None, 2 * jnp.cos(y) * g))
        f = jax.custom_vjp(lambda x: x[0])
        f.defvjp(lambda x: (x[0], None), lambda r, g: ((g, (None, None)),))
        out = (jax.grad(lambda x: k(x, x))(3.0), jax.grad(k, (0, 1))(3.0, 3.0),
               jax.grad(k2, (0, 1))((3.0, 4.0), 3.0), jax.grad(f)((1.0, (2.0, 3.0))))
    """,
    "integer_input": """
        f = jax.custom_vjp(lambda i, x: jnp.sin(x) * i)
        f.defvjp(lambda i, x: (f(i, x), (i, x)), lambda r, g: (None, r[0] * jnp.cos(r[1]) * g))
        out = (jax.grad(f, 1)(jnp.int32(2), 3.0),
               jax.grad(f, (0, 1), allow_int=True)(jnp.int32(2), 3.0))
    """,
    "dict_and_namedtuple": """
        f = jax.custom_vjp(lambda d: {"b": jnp.sin(d["a"])})
        f.defvjp(lambda d: (f(d), {"r": jnp.cos(d["a"])}),
                 lambda r, g: ({"a": 2 * r["r"] * g["b"]},))
        Point = collections.namedtuple("Point", ["x", "y"])
        @jax.custom_vjp
        def h(pt):
            return jnp.sin(pt.x) * pt.y
        h.defvjp(lambda pt: (h(pt), (jnp.cos(pt.x), jnp.sin(pt.x), pt.y)),
                 lambda r, g: (Point(r[0] * r[2] * g, r[1] * g),))
        out = (jax.grad(lambda x: f(x)["b"])({"a": 3.0}), tuple(jax.grad(h)(Point(1.0, 2.0))))
    """,
    "kwargs_defaults": """
        @jax.custom_vjp
        def kw(x, y, c=1.0):
            return c * (x + y)
        kw.defvjp(lambda x, y, c: (kw(x, y, c), c), lambda c, g: (c * g, c * g, None))
        out = (kw(1.0, y=2.0, c=3.0), jax.grad(lambda x: kw(x, 2.0, c=3.0))(1.0),
               jax.grad(lambda x: kw(x, 2.0))(1.0), jax.grad(kw, argnums=2)(1.0, 2.0, 3.0))
    """,
    "nondiff_function": """
        @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
        def app(f, x):
            return f(x)
        app.defvjp(lambda f, x: (f(x), x), lambda f, x, g: (5 * g,))
        out = (app(lambda x: x ** 2, 4.0), jax.grad(app, 1)(lambda x: x ** 2, 4.0))
    """,
    "second_order_invariance": """
        f = jax.custom_vjp(lambda x: jnp.cos(2 * x) / 2)
        f.defvjp(lambda x: (f(x), x), lambda x, g: (3 * g,))
        out = (jax.grad(f)(1.0), jax.grad(jax.grad(f))(1.0))
    """,
    "bwd_closes_over_outer": """
        def fo(y):
            ff = jax.custom_vjp(lambda x: 2 * jnp.sin(x))
            ff.defvjp(lambda x: (ff(x), None), lambda r, g: (2 * jnp.cos(y) * g,))
            return jax.grad(ff)(1.0)
        out = (fo(2.0), jax.grad(fo)(4.0))
    """,
    "custom_gradient": """
        @jax.custom_gradient
        def f(x):
            return x ** 2, lambda g: (g * x,)
        @jax.custom_gradient
        def two(x, y):
            return x * y, lambda g: (g * y, g * x)
        out = (f(3.0), jax.grad(f)(3.0), jax.grad(jax.grad(f))(3.0),
               jax.grad(two, (0, 1))(3.0, 4.0))
    """,
    "partial_outputs": """
        d = jax.custom_vjp(lambda x, y: (jnp.sin(x), x + jnp.cos(y)))
        d.defvjp(lambda x, y: (d(x, y), (x, y)),
                 lambda r, g: (2 * jnp.cos(r[0]) * g[0] + 1.5 * g[1], -0.5 * jnp.sin(r[1]) * g[1]))
        out = (jax.grad(lambda x, y: d(x, y)[0], (0, 1))(0.1, -1.3),
               jax.grad(lambda x, y: d(x, y)[1], (0, 1))(0.1, -1.3))
    """,
    "bwd_calls_custom_vjp": """
        @jax.custom_vjp
        def cube(x):
            return x ** 3
        @jax.custom_vjp
        def core(x, dy):
            return 3 * x ** 2 * dy
        core.defvjp(lambda x, dy: (core(x, dy), (x, dy)),
                    lambda r, ddx: (6 * r[0] * r[1] * ddx, 3 * r[0] ** 2 * ddx))
        cube.defvjp(lambda x: (cube(x), x), lambda x, dy: (core(x, dy),))
        out = (jax.grad(cube)(2.0), jax.grad(jax.grad(cube))(2.0))
    """,
    "symbolic_zeros": """
        SZ = jax.custom_derivatives.SymbolicZero
        f = jax.custom_vjp(lambda x, y: x * y)
        f.defvjp(lambda x, y: (x.value * y.value, (x.value, y.value)),
                 lambda r, g: (g * r[1], SZ.from_primal_value(r[1])),
                 symbolic_zeros=True)
        out = jax.grad(f, (0, 1))(2.0, 3.0)
    """,
    "clip_gradient": """
        @jax.custom_vjp
        def clip_gradient(x):
            return x
        clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (jnp.clip(g, -1.0, 1.0),))
        def f(x):
            return jnp.sum(clip_gradient(x * 3.0) ** 2)
        out = jax.grad(f)(jnp.array([0.1, 0.5, 2.0]))
    """,
    # -- plain transformations -------------------------------------------------------------------
    "grad_basics": """
        out = (jax.grad(jnp.sin)(0.5), jax.grad(lambda x: x ** 3)(2.0),
               jax.grad(lambda x, y: x * y, (0, 1))(2.0, 3.0),
               jax.value_and_grad(lambda x: jnp.sum(x ** 2))(jnp.array([1.0, 2.0])))
    """,
    "grad_of_grad": """
        out = (jax.grad(jax.grad(jnp.tanh))(0.3), jax.grad(jax.grad(lambda x: jnp.exp(2 * x)))(0.5))
    """,
    "has_aux": """
        out = jax.grad(lambda x: (jnp.sum(x * x), {"n": x.shape[0]}), has_aux=True)(jnp.ones(3))
    """,
    "mlp": """
        rng = np.random.default_rng(0)
        # keys in sorted order: JAX rebuilds dicts sorted, pullback (optree) in insertion order
        params = {"b1": jnp.zeros(8), "w1": jnp.asarray(rng.standard_normal((4, 8)), jnp.float32),
                  "w2": jnp.asarray(rng.standard_normal((8, 1)), jnp.float32)}
        x = jnp.asarray(rng.standard_normal((5, 4)), jnp.float32)
        y = jnp.asarray(rng.standard_normal((5, 1)), jnp.float32)
        def loss(p):
            h = jnp.tanh(x @ p["w1"] + p["b1"])
            return jnp.mean((h @ p["w2"] - y) ** 2)
        out = jax.value_and_grad(loss)(params)
    """,
    "softmax_xent": """
        logits = jnp.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
        labels = jnp.array([1, 2])
        def loss(z):
            z = z - jnp.max(z, axis=1, keepdims=True)
            logp = z - jnp.log(jnp.sum(jnp.exp(z), axis=1, keepdims=True))
            return -jnp.mean(logp[jnp.arange(2), labels])
        out = jax.grad(loss)(logits)
    """,
    "stop_gradient": """
        out = jax.grad(lambda x: x * jax.lax.stop_gradient(x) + x)(3.0)
    """,
    "broadcasting_grads": """
        out = jax.grad(lambda a, b: jnp.sum(a * b + b), (0, 1))(jnp.ones((2, 3)), jnp.arange(3.0))
    """,
    "weak_types": """
        x = jnp.float32(2.0)
        out = (x * 1.01, 2.0 * 3, jnp.sin(3.0), jnp.asarray(1.0), jnp.array([1.0, 2.0]) + 1,
               jnp.int32(3) * 2, jnp.ones(2, jnp.float16) * 2.0, jax.grad(lambda x: x * 2.0)(1.0))
    """,
    "reductions_and_shapes": """
        a = jnp.arange(12.0).reshape(3, 4)
        out = (jnp.sum(a, axis=0), jnp.mean(a, axis=1, keepdims=True), a.T @ a, jnp.max(a),
               jax.grad(lambda a: jnp.sum(jnp.max(a, axis=1) * jnp.std(a, axis=1)))(a))
    """,
    "indexing_grads": """
        a = jnp.arange(6.0)
        out = (a[1:4], a[jnp.array([0, 2, 2])], a.at[2].set(10.0),
               jax.grad(lambda a: jnp.sum(a[jnp.array([0, 2, 2])] ** 2))(a),
               jax.grad(lambda a: jnp.sum(a.at[1].add(a[3]) ** 2))(a))
    """,
}


def _run(source, jax_mod, jnp_mod):
    scope = {"jax": jax_mod, "jnp": jnp_mod}
    exec(PRELUDE + textwrap.dedent(source), scope)
    return scope["out"]


def _leaves(tree, mod):
    return mod.tree_util.tree_leaves(tree)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_same_as_jax(name):
    source = PROGRAMS[name]
    ours = _run(source, pullback, pullback.numpy)
    theirs = _run(source, jax_real, jnp_real)
    ours_leaves = _leaves(ours, pullback)
    their_leaves = _leaves(theirs, jax_real)
    assert len(ours_leaves) == len(their_leaves)
    has_float0 = False
    for a, b in zip(ours_leaves, their_leaves):
        if hasattr(b, "dtype"):  # jax.Array, or JAX's TypedNdArray for float0 zeros
            assert isinstance(a, pullback.Array), (name, a, b)
            assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
            assert a.shape == b.shape
            if b.dtype == jax_real.dtypes.float0:
                has_float0 = True
                continue
            assert a.weak_type == getattr(b, "weak_type", False), (name, a, b)
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=1e-6)
        else:
            assert type(a) is type(b) and a == b
    if not has_float0:  # JAX prints float0 zeros as an internal TypedNdArray
        with np.printoptions(precision=4):
            assert repr(ours) == repr(theirs)
