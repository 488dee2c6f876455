"""custom_jvp under forward mode and vmap (the ``jvp`` and ``batch`` rules of custom_jvp_call),
against JAX 0.10.2: values, dtypes and weak types. Needs ``jax.jvp``/``jacfwd``/``hessian`` and
``jax.vmap``, which come with the forward-mode and vmap work of issue 4."""

import textwrap

import numpy as np
import pytest
from test_custom_jvp import PRELUDE

import pullback as jax

PROGRAMS = {
    "jvp_doc_f": """
        out = (jax.jvp(f, (1.0, 2.0), (1.0, 0.0)), jax.jvp(f, (1.0, 2.0), (0.5, 2.0)),
               jax.jvp(fs, (1.0, 2.0), (1.0, 1.0)))
    """,
    "jvp_log1pexp": """
        out = (jax.jvp(log1pexp, (100.,), (1.,)), jax.jvp(log1pexp2, (3.,), (2.,)),
               jax.jacfwd(log1pexp)(1.), jax.hessian(log1pexp)(1.),
               jax.jacfwd(jax.jacrev(log1pexp))(1.), jax.jacrev(jax.jacfwd(log1pexp))(1.))
    """,
    "jvp_python_control_flow_and_safe": """
        out = (jax.jvp(branchy, (1.,), (1.,)), jax.jvp(branchy, (-1.,), (1.,)),
               jax.jvp(safe, (0.,), (1.,)), jax.jit(lambda x: jax.jvp(safe, (x,), (1.,)))(4.))
    """,
    "jvp_clip_gradient": """
        @partial(jax.custom_jvp, nondiff_argnums=(0, 1))
        def clip_gradient(lo, hi, x):
            return x
        @clip_gradient.defjvp
        def clip_gradient_jvp(lo, hi, primals, tangents):
            return primals[0], jnp.clip(tangents[0], lo, hi)
        out = (jax.jvp(lambda x: clip_gradient(-1., 1., x), (2.,), (5.,)),
               jax.jvp(lambda x: clip_gradient(-1., 1., x), (2.,), (0.25,)))
    """,
    "jvp_symbolic_zeros": """
        seen.clear()
        out = (jax.jvp(lambda x: sz(x, 3.), (2.,), (1.,)), tuple(seen))
    """,
    "jvp_nondiff": """
        out = (jax.jvp(lambda x: app(lambda y: y ** 3, x), (3.,), (1.,)),
               jax.jvp(lambda k, x: scale(k, x), (2., 3.), (1., 1.)),
               jax.jvp(newton_sqrt, (2.,), (1.,)))
    """,
    "vmap": """
        xs = jnp.array([0.5, 1.0, 1.5])
        ys = jnp.array([2.0, 3.0, 4.0])
        out = (jax.vmap(f)(xs, ys), jax.vmap(f, (0, None))(xs, 2.0), jax.vmap(log1pexp)(xs),
               jax.vmap(jax.grad(f))(xs, ys), jax.grad(lambda x: jnp.sum(jax.vmap(f)(x, ys)))(xs),
               jax.jit(jax.vmap(jax.grad(log1pexp)))(xs))
    """,
    "jvp_of_vmap_keeps_the_rule": """
        xs = jnp.array([0.5, 1.0, 1.5])
        # the rule (2 x_dot) is not the true derivative: its use is observable
        out = (jax.jvp(jax.vmap(lambda x: app(jnp.sin, x)), (xs,), (jnp.ones(3),)),
               jax.vmap(lambda x, t: jax.jvp(lambda y: app(jnp.sin, y), (x,), (t,)))(xs, xs),
               jax.jacfwd(jax.vmap(log1pexp))(xs), jax.vmap(jax.jacfwd(safe))(xs))
    """,
    "vmap_symbolic_zeros": """
        seen.clear()
        xs = jnp.array([1.0, 2.0])
        out = (jax.vmap(lambda x: jax.jvp(lambda a: sz(a, 3.), (x,), (1.,)))(xs),
               jax.jvp(jax.vmap(lambda a: sz(a, 3.)), (xs,), (jnp.ones(2),)))
    """,
    "vmap_traced_nondiff": """
        ks = jnp.array([1.0, 2.0, 3.0])
        xs = jnp.array([0.5, 1.0, 1.5])
        out = (jax.vmap(scale)(ks, xs), jax.vmap(jax.grad(scale, 1))(ks, xs),
               jax.jvp(jax.vmap(scale), (ks, xs), (jnp.ones(3), jnp.ones(3))))
    """,
    "hessian_of_nested": """
        @jax.custom_vjp
        def cube(x):
            return x ** 3
        cube.defvjp(lambda x: (cube(x), x), lambda x, g: (3 * x ** 2 * g,))
        @jax.custom_jvp
        def wrap(x):
            return cube(x) + 1.
        @wrap.defjvp
        def wrap_jvp(primals, tangents):
            x, = primals
            return wrap(x), cube(x) * tangents[0]
        out = (jax.jvp(wrap, (2.,), (1.,)), jax.hessian(log1pexp)(jnp.array([0.5, 1.0])))
    """,
}


def _run(source, jax_mod):
    scope = {"jax": jax_mod, "jnp": jax_mod.numpy}
    exec(textwrap.dedent(PRELUDE) + textwrap.dedent(source), scope)
    return scope["out"]


@pytest.mark.filterwarnings("ignore:overflow encountered in exp")
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_same_as_jax(name):
    jax_real = pytest.importorskip("jax")
    ours = _run(PROGRAMS[name], jax)
    theirs = _run(PROGRAMS[name], jax_real)
    ours_leaves = jax.tree_util.tree_leaves(ours)
    their_leaves = jax_real.tree_util.tree_leaves(theirs)
    assert len(ours_leaves) == len(their_leaves)
    for a, b in zip(ours_leaves, their_leaves, strict=True):
        if hasattr(b, "dtype") and not isinstance(b, np.generic):
            assert isinstance(a, jax.Array), (name, a, b)
            assert (a.dtype, a.shape) == (b.dtype, b.shape), (name, a, b)
            assert a.weak_type == b.weak_type, (name, a, b)
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-6, atol=1e-6)
        elif type(b) in (int, float) and isinstance(a, jax.Array):
            # JAX's jvp hands Python scalars to a custom_jvp rule as they are, so a primal
            # computed in the rule can come back a Python scalar; pullback's jvp takes arrays
            # (weakly typed ones for Python scalars): docs/differences.md
            assert (a.shape, a.weak_type) == ((), True), (name, a, b)
            assert np.asarray(a).item() == pytest.approx(b, rel=2e-6), (name, a, b)
        else:
            assert type(a) is type(b) and a == b, (name, a, b)


def test_jvp_rule_errors_name_the_rule():
    @jax.custom_jvp
    def h(x):
        return x

    h.defjvp(lambda p, t: (p[0], jax.numpy.ones(3)))
    with pytest.raises(TypeError, match=r"Expected float32\[\] \(tangent type of float32\[\]\)"):
        jax.jvp(h, (1.0,), (1.0,))
    h.defjvp(lambda p, t: p[0])
    with pytest.raises(TypeError, match=r"Custom JVP rule <lambda> for function h must produce"):
        jax.jvp(h, (1.0,), (1.0,))


def test_forward_and_reverse_agree_in_float64():
    scope = {"jax": jax, "jnp": jax.numpy}
    exec(textwrap.dedent(PRELUDE), scope)
    with jax.enable_x64():
        for name in ("log1pexp", "safe", "newton_sqrt"):
            fn = scope[name]
            for x in (0.3, 2.0):
                _, t = jax.jvp(fn, (np.float64(x),), (np.float64(1.0),))
                np.testing.assert_allclose(t, jax.grad(fn)(np.float64(x)), rtol=1e-12)
                np.testing.assert_allclose(
                    jax.hessian(fn)(np.float64(x)), jax.grad(jax.grad(fn))(np.float64(x)), rtol=1e-9
                )
