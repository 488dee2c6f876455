"""custom_jvp (custom-vjp-spec §4.10) without forward mode or vmap: eager, staged, jit, control
flow, reverse mode through the rule (linearize + transpose), higher order, nesting with
custom_vjp, and every error.

Programs are JAX source run once on pullback and once on JAX 0.10.2: values, dtypes and weak
types must agree. Where JAX cannot run a program (jax-ml/jax#19087), the values are checked
against the mathematics.
"""

import functools
import textwrap

import numpy as np
import pytest

import pullback as jax
import pullback.numpy as jnp
from pullback import lax
from pullback._ir import check_jaxpr
from pullback.custom_derivatives import SymbolicZero
from pullback.errors import UnexpectedTracerError

PRELUDE = """
import functools
from functools import partial
import numpy as np

@jax.custom_jvp
def f(x, y):
    return jnp.sin(x) * y

@f.defjvp
def f_jvp(primals, tangents):
    x, y = primals
    x_dot, y_dot = tangents
    return f(x, y), jnp.cos(x) * x_dot * y + jnp.sin(x) * y_dot

@jax.custom_jvp
def log1pexp(x):
    return jnp.log(1. + jnp.exp(x))

@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    x, = primals
    x_dot, = tangents
    return log1pexp(x), (1 - 1 / (1 + jnp.exp(x))) * x_dot

@jax.custom_jvp
def log1pexp2(x):
    return jnp.log(1. + jnp.exp(x))

log1pexp2.defjvps(lambda t, ans, x: (1 - 1 / (1 + jnp.exp(x))) * t)

@jax.custom_jvp
def fs(x, y):
    return jnp.sin(x) * y

fs.defjvps(lambda x_dot, primal_out, x, y: jnp.cos(x) * x_dot * y,
           lambda y_dot, primal_out, x, y: jnp.sin(x) * y_dot)

@jax.custom_jvp
def safe(x):
    # x / (1 + sqrt(x)), with the derivative at 0 defined by its limit
    return x / (1 + jnp.sqrt(x))

@safe.defjvp
def safe_jvp(primals, tangents):
    x, = primals
    x_dot, = tangents
    return safe(x), ((jnp.sqrt(x) + 2) / (2 * (jnp.sqrt(x) + 1) ** 2)) * x_dot

@jax.custom_jvp
def branchy(x):
    if x > 0:
        return jnp.sin(x)
    return jnp.cos(x)

@branchy.defjvp
def branchy_jvp(primals, tangents):
    x, = primals
    x_dot, = tangents
    ans = branchy(x)
    if x > 0:  # Python control flow on a primal: primals are concrete under grad
        return ans, 2 * x_dot
    return ans, 3 * x_dot

@partial(jax.custom_jvp, nondiff_argnums=(0,))
def app(g, x):
    return g(x)

@app.defjvp
def app_jvp(g, primals, tangents):
    x, = primals
    x_dot, = tangents
    return g(x), 2. * x_dot

@partial(jax.custom_jvp, nondiff_argnums=(0, 2))
def app2(g, x, h):
    return g(h(x))

@app2.defjvp
def app2_jvp(g, h, primals, tangents):
    x, = primals
    x_dot, = tangents
    return g(h(x)), 3. * x_dot

@partial(jax.custom_jvp, nondiff_argnums=(0,))
def scale(k, x):
    return k * x

@scale.defjvp
def scale_jvp(k, primals, tangents):
    return scale(k, primals[0]), 10. * tangents[0]

@jax.custom_jvp
def newton_sqrt(a):
    # sqrt by Newton's method in a while_loop; differentiated implicitly, not through the loop
    def cond(state):
        x, x_prev = state
        return jnp.abs(x - x_prev) > 1e-6
    def body(state):
        x, _ = state
        return 0.5 * (x + a / x), x
    return jax.lax.while_loop(cond, body, (a, a + 1.))[0]

@newton_sqrt.defjvp
def newton_sqrt_jvp(primals, tangents):
    a, = primals
    a_dot, = tangents
    x = newton_sqrt(a)
    return x, a_dot / (2 * x)

@jax.custom_jvp
def sz(x, y):
    return x * y

@partial(sz.defjvp, symbolic_zeros=True)
def sz_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    kinds = tuple(type(t).__name__ == "SymbolicZero" for t in tangents)
    seen.append(kinds)
    out = jnp.zeros_like(x * y)
    if not kinds[0]:
        out = out + tx * y
    if not kinds[1]:
        out = out + x * ty
    return sz(x, y), out

seen = []
"""

PROGRAMS = {
    "doc_f": """
        x, y = jnp.float32(1.0), jnp.float32(2.0)
        out = (f(x, y), jax.value_and_grad(f)(x, y), jax.grad(f, (0, 1))(x, y),
               jax.grad(jax.grad(f))(x, y), jax.jit(jax.grad(f))(x, y), f(1.0, 2.0))
    """,
    "doc_f_weak": """
        out = (jax.grad(f)(1.0, 2.0), jax.grad(f, 1)(1.0, 2.0), jax.grad(jax.grad(f))(1.0, 2.0))
    """,
    "doc_defjvps": """
        x, y = jnp.float32(1.0), jnp.float32(2.0)
        out = (jax.value_and_grad(fs)(x, y), jax.grad(fs, (0, 1))(3.0, 4.0),
               jax.grad(jax.grad(fs, 1), 0)(x, y))
    """,
    "log1pexp_stable": """
        out = (log1pexp(3.), jax.grad(log1pexp)(3.), jax.jit(log1pexp)(3.),
               jax.jit(jax.grad(log1pexp))(3.), jax.grad(log1pexp)(100.),
               jax.grad(log1pexp2)(100.), jax.grad(jax.grad(log1pexp))(1.),
               jax.grad(lambda x: jnp.sum(log1pexp(x)))(jnp.array([-100., 0., 100.])))
    """,
    "safe_at_zero": """
        out = (safe(0.), jax.grad(safe)(0.), jax.grad(safe)(4.), jax.jit(jax.grad(safe))(0.))
    """,
    "python_control_flow": """
        out = (jax.grad(branchy)(1.), jax.grad(branchy)(-1.), branchy(1.), branchy(-1.))
    """,
    "nondiff_function": """
        out = (app(lambda x: x ** 3, 3.), jax.grad(app, 1)(lambda x: x ** 3, 3.),
               jax.jit(jax.grad(lambda x: app(lambda y: y ** 3, x)))(3.),
               app2(lambda x: x ** 3, 3., lambda y: 5 * y),
               jax.grad(lambda x: app2(lambda x: x ** 3, x, lambda y: 5 * y))(3.))
    """,
    "nondiff_traced_array": """
        # a traced nondiff value is stop_gradient-ed: no derivative flows through it
        out = (jax.grad(lambda k, x: scale(k, x) + k * x, (0, 1))(2., 3.),
               jax.jit(jax.grad(lambda k, x: scale(k, x), (0, 1)))(2., 3.))
    """,
    "newton_fixed_point": """
        out = (newton_sqrt(2.), jax.grad(newton_sqrt)(2.), jax.grad(jax.grad(newton_sqrt))(2.),
               jax.jit(jax.grad(newton_sqrt))(4.), jax.value_and_grad(newton_sqrt)(9.))
    """,
    "symbolic_zeros": """
        out = (jax.grad(sz)(2., 3.), jax.grad(sz, 1)(2., 3.), jax.grad(sz, (0, 1))(2., 3.),
               tuple(seen))
    """,
    "vectors_and_vjp": """
        x = jnp.array([0., 1., 4.])
        y, pull = jax.vjp(safe, x)
        out = (y, pull(jnp.ones(3)), jax.grad(lambda x: jnp.sum(f(x, x)))(x),
               jax.vjp(lambda a, b: f(a, b), x, x)[1](jnp.array([1., 2., 3.])))
    """,
    "integer_argument": """
        @jax.custom_jvp
        def mul(x, n):
            return x * n
        @mul.defjvp
        def mul_jvp(primals, tangents):
            (x, n), (x_dot, n_dot) = primals, tangents
            assert n_dot.dtype == jax.dtypes.float0 and n_dot.shape == ()
            return mul(x, n), x_dot * n
        out = (jax.grad(mul)(2., 3), jax.jit(jax.grad(mul))(2., 3))
    """,
    "pytree_arguments": """
        @jax.custom_jvp
        def tree_fun(d):
            return {"s": d["a"] * d["b"], "t": jnp.sin(d["a"])}
        @tree_fun.defjvp
        def tree_fun_jvp(primals, tangents):
            d, = primals
            t, = tangents
            out = tree_fun(d)
            return out, {"s": t["a"] * d["b"] + d["a"] * t["b"], "t": jnp.cos(d["a"]) * t["a"]}
        d = {"a": jnp.float32(0.5), "b": jnp.float32(3.0)}
        out = jax.grad(lambda d: tree_fun(d)["s"] + 2 * tree_fun(d)["t"])(d)
    """,
    "keyword_call": """
        out = jax.grad(lambda x: f(x=x, y=2.))(1.)
    """,
    "control_flow": """
        lax = jax.lax
        out = (
            jax.grad(lambda x: lax.cond(x > 0, lambda x: f(x, x) * safe(x), lambda x: x, x))(2.),
            jax.jit(jax.grad(lambda x: lax.cond(x > 0, log1pexp, jnp.sin, x)))(jnp.float32(2.)),
            jax.grad(lambda x: lax.scan(lambda c, _: (safe(c) + c, None), x, None, length=3)[0])(
                2.),
            jax.jit(jax.grad(
                lambda x: lax.scan(lambda c, a: (f(c, a), c), x, jnp.arange(1., 4.))[0]))(
                jnp.float32(2.)),
            jax.grad(lambda x: lax.fori_loop(0, 3, lambda i, c: safe(c), x))(2.),
            jax.jit(lambda x: lax.while_loop(lambda c: c < 10, lambda c: safe(c) + c, x))(2.),
            jax.grad(lambda x: jax.jit(lambda y: lax.cond(y > 0, log1pexp, log1pexp, y))(x))(1.),
        )
    """,
    "closure_not_differentiated": """
        def g(x, y):
            @jax.custom_jvp
            def h(z):
                return z * y
            h.defjvp(lambda p, t: (h(*p), t[0] * y))
            return h(x)
        out = (jax.grad(g)(3., 2.), jax.jit(jax.grad(g))(3., 2.))
    """,
    "nested_in_custom_vjp": """
        # custom_jvp inside custom_vjp's fun, fwd and bwd
        @jax.custom_vjp
        def outer(x):
            return log1pexp(x) * 2
        def outer_fwd(x):
            return outer(x), safe(x)
        def outer_bwd(r, g):
            return (safe(r) * g + log1pexp(r) * g,)
        outer.defvjp(outer_fwd, outer_bwd)
        out = (outer(2.), jax.grad(outer)(2.), jax.grad(jax.grad(outer))(2.),
               jax.jit(jax.grad(outer))(2.))
    """,
    "custom_vjp_in_custom_jvp": """
        # custom_vjp inside custom_jvp's fun and in the primal part of its rule
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
        out = (wrap(2.), jax.grad(wrap)(2.), jax.grad(jax.grad(wrap))(2.),
               jax.jit(jax.grad(jax.grad(wrap)))(2.))
    """,
    "float32_inputs_weak_scalars": """
        x = jnp.float32(0.5)
        out = (jax.grad(lambda x: f(x, 2.0) * 1.5)(x), jax.grad(lambda x: log1pexp(x) + x)(x),
               jax.grad(lambda x: jnp.sum(safe(x * jnp.ones(2))))(x))
    """,
}


def _run(source, jax_mod):
    scope = {"jax": jax_mod, "jnp": jax_mod.numpy}
    exec(textwrap.dedent(PRELUDE) + textwrap.dedent(source), scope)
    return scope["out"]


@pytest.mark.filterwarnings("ignore:overflow encountered in exp")  # log1pexp's fun at 100
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
        else:
            assert type(a) is type(b) and a == b, (name, a, b)


# -- staging: make_jaxpr prints what JAX prints ---------------------------------------------------

JAXPRS = {
    "custom_jvp_call": "lambda: jax.make_jaxpr(f)(1.0, 2.0)",
    "same_argument": "lambda: jax.make_jaxpr(lambda x: f(x, x) * 2)(jnp.ones(3))",
    "constant_argument": "lambda: jax.make_jaxpr(lambda x: f(x, np.ones(3, np.float32)))(x3)",
    "defjvps": "lambda: jax.make_jaxpr(log1pexp2)(3.0)",
    "in_jit": "lambda: jax.make_jaxpr(jax.jit(log1pexp))(3.0)",
    "nondiff_traced": "lambda: jax.make_jaxpr(lambda x, k: scale(k, x))(1.0, -1.0)",
    "nondiff_static": "lambda: jax.make_jaxpr(lambda x: app(jnp.sin, x))(1.0)",
    "closure_num_consts": """lambda: jax.make_jaxpr(closing)(1.0, 2.0)""",
    "in_cond": """lambda: jax.make_jaxpr(
        lambda p, x: jax.lax.cond(p, lambda x: safe(x), lambda x: x, x))(True, 1.0)""",
}

CLOSING = """
def closing(x, y):
    @jax.custom_jvp
    def h(z):
        return z * y
    h.defjvp(lambda p, t: (h(*p), t[0] * y))
    return h(x)

x3 = np.ones(3, np.float32)
"""


@pytest.mark.parametrize("name", sorted(JAXPRS))
def test_jaxpr_text_is_jax(name):
    jax_real = pytest.importorskip("jax")
    source = f"{CLOSING}\nout = ({textwrap.dedent(JAXPRS[name])})()"
    ours = str(_run(source, jax))
    theirs = str(_run(source, jax_real))
    assert ours == theirs


def test_staged_call_checks_and_compiles():
    f, log1pexp = _run("out = f, log1pexp", jax)
    check_jaxpr(jax.make_jaxpr(lambda x: f(x, x) * 2)(jnp.ones(3)))
    check_jaxpr(jax.make_jaxpr(jax.grad(lambda x: f(x, jnp.sin(x))))(1.0))
    from_jit = jax.jit(log1pexp).lower(3.0).as_text()
    # the compiler inlines fun: no custom_jvp_call is left in the program
    assert "custom_jvp_call" not in from_jit and "log" in from_jit


# -- float64 central differences ------------------------------------------------------------------


def _central(fn, x, eps=1e-6):
    return (fn(x + eps) - fn(x - eps)) / (2 * eps)


def test_float64_central_differences():
    ns = {"jax": jax, "jnp": jnp}
    exec(textwrap.dedent(PRELUDE), ns)
    with jax.enable_x64():
        for fn in (
            lambda x: ns["f"](x, x * 2.0),
            lambda x: ns["fs"](jnp.sin(x), x),
            ns["log1pexp"],
            ns["log1pexp2"],
            ns["safe"],
            ns["newton_sqrt"],
            lambda x: jax.lax.cond(x > 0, ns["log1pexp"], jnp.sin, x),
        ):
            for x0 in (0.7, 2.5):
                x = jnp.float64(x0)
                g = jax.grad(fn)(x)
                assert g.dtype == np.float64
                np.testing.assert_allclose(g, _central(fn, x), rtol=1e-7)
                gg = jax.grad(jax.grad(fn))(x)
                np.testing.assert_allclose(gg, _central(jax.grad(fn), x), rtol=1e-6, atol=1e-9)


# -- jax-ml/jax#19087: custom_vjp applied to the tangents in a jvp rule ---------------------------


def _19087():
    @jax.custom_jvp
    def f(x, y):
        raise AssertionError("fun must not run under grad")

    @f.defjvp
    def f_jvp(primals, tangents):
        x, y = primals
        tx, ty = tangents
        return x * y, g(tx, ty) * x

    @jax.custom_vjp
    def g(tx, ty):
        return 2 * tx + ty

    def g_fwd(tx, ty):
        raise AssertionError("g's rule is for differentiating g, not for transposing it")

    g.defvjp(g_fwd, g_fwd)
    return f


def test_custom_vjp_on_tangents_is_transposed_through_its_function():
    # JAX raises "Transpose rule ... for 'custom_vjp_call' not implemented" (jax-ml/jax#19087);
    # the tangent part 2 tx x + ty x is linear and is transposed through g's function.
    f = _19087()
    assert jax.grad(f, (0, 1))(3.0, 5.0) == (6.0, 3.0)
    assert jax.jit(jax.grad(f, (0, 1)))(3.0, 5.0) == (6.0, 3.0)
    # second order: d/dx (2x) = 2, d/dy (x) = 0
    assert jax.grad(lambda x, y: jax.grad(f)(x, y))(3.0, 5.0) == 2.0


# -- reverse mode runs the rule once, its primal part one level down ------------------------------


def test_rule_runs_once_and_fun_not_at_all_under_grad():
    calls = []

    @jax.custom_jvp
    def h(x):
        calls.append("fun")
        return jnp.sin(x)

    @h.defjvp
    def h_jvp(primals, tangents):
        calls.append("jvp")
        (x,), (t,) = primals, tangents
        return jnp.sin(x), jnp.cos(x) * t

    assert float(jax.grad(h)(0.5)) == pytest.approx(np.cos(0.5), rel=1e-6)
    assert calls == ["jvp"]
    calls.clear()
    assert float(h(0.5)) == pytest.approx(np.sin(0.5), rel=1e-6)
    assert calls == ["fun"]


def test_primal_values_reach_the_rule_concrete_and_tangents_staged():
    seen = []

    @jax.custom_jvp
    def h(x):
        return x

    @h.defjvp
    def h_jvp(primals, tangents):
        seen.append((type(primals[0]).__name__, float(primals[0]), tangents[0].shape))
        return primals[0], tangents[0]

    jax.grad(h)(jnp.float32(2.0))
    assert seen == [("Array", 2.0, ())]


def test_symbolic_zeros_tangent_output():
    @jax.custom_jvp
    def h(x, y):
        return x * y, y

    @functools.partial(h.defjvp, symbolic_zeros=True)
    def h_jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        assert type(ty) is SymbolicZero and ty.shape == () and ty.dtype == np.float32
        return h(x, y), (tx * y, SymbolicZero.from_primal_value(y))

    assert jax.grad(lambda x: h(x, 4.0)[0] + h(x, 4.0)[1])(2.0) == 4.0


def test_integer_output_has_no_cotangent():
    @jax.custom_jvp
    def h(x):
        return x * 2, jnp.int32(3)

    @h.defjvp
    def h_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        zero = np.zeros((), jax.dtypes.float0)
        return h(x), (t * 2, zero)

    assert jax.value_and_grad(lambda x: h(x)[0])(1.5) == (3.0, 2.0)
    assert jax.grad(lambda x: h(x)[0] + h(x)[1])(1.5) == 2.0


# -- errors ---------------------------------------------------------------------------------------


def _fun(rule, **kw):
    @jax.custom_jvp
    def h(x):
        return x * 1.0

    h.defjvp(rule, **kw)
    return h


def test_error_no_rule():
    @jax.custom_jvp
    def nodef(x):
        return x

    with pytest.raises(AttributeError, match=r"No JVP defined for custom_jvp function nodef "):
        nodef(1.0)
    with pytest.raises(AttributeError, match=r"Call nodef.defjvp\(jvp\)"):
        jax.grad(nodef)(1.0)


def test_error_defjvps_with_nondiff():
    h = jax.custom_jvp(lambda a, b: b, nondiff_argnums=(0,))
    with pytest.raises(TypeError, match=r"Can't use ``defjvps`` with ``nondiff_argnums``"):
        h.defjvps(None)


def test_error_not_a_pair():
    h = _fun(lambda p, t: p[0])
    with pytest.raises(
        TypeError, match=r"Custom JVP rule <lambda> for function h must produce a pair"
    ):
        jax.grad(h)(1.0)


def test_error_tangent_type():
    h = _fun(lambda p, t: (p[0], jnp.ones(3)))
    msg = r"Expected float32\[\] \(tangent type of float32\[\]\) but got float32\[3\]"
    with pytest.raises(TypeError, match=msg):
        jax.grad(h)(1.0)
    h16 = _fun(lambda p, t: (p[0], t[0].astype(jnp.float16)))
    with pytest.raises(TypeError, match=r"Expected float32\[\] .* but got float16\[\]"):
        jax.grad(h16)(1.0)


def test_error_tangent_type_names_output_path():
    @jax.custom_jvp
    def h(x):
        return {"a": x, "b": x}

    h.defjvp(lambda p, t: (h(p[0]), {"a": t[0], "b": jnp.zeros(2)}))
    with pytest.raises(TypeError, match=r"but got float32\[2\] at output\['b'\]"):
        jax.grad(lambda x: h(x)["a"])(1.0)


def test_error_tree_mismatch():
    h = _fun(lambda p, t: ((p[0], p[0]), t[0]))
    with pytest.raises(TypeError, match=r"equal container \(pytree\) structures"):
        jax.grad(lambda x: h(x)[0])(1.0)
    h_none = _fun(lambda p, t: (p[0], None))
    with pytest.raises(TypeError, match=r"None is not a tangent"):
        jax.grad(h_none)(1.0)


def test_error_primal_output_differs_from_fun_only_when_fun_is_traced():
    h = _fun(lambda p, t: ((p[0], p[0]), (t[0], t[0])))
    # eagerly fun never runs under grad, so nothing to compare with (as JAX)
    assert jax.grad(lambda x: h(x)[0])(1.0) == 1.0
    structure = r"container/pytree structure:\n    \(float32\[\], float32\[\]\)\nwhile"
    with pytest.raises(TypeError, match=structure):
        jax.grad(jax.jit(lambda x: jax.tree_util.tree_leaves(h(x))[0]))(1.0)
    h2 = _fun(lambda p, t: (jnp.ones(2), jnp.ones(2)))
    types = r"shapes/dtypes of:\n    float32\[2\]\nwhile .* of:\n    float32\[\]"
    with pytest.raises(TypeError, match=types):
        jax.grad(jax.jit(lambda x: jnp.sum(h2(x))))(1.0)


def test_error_invalid_primal_output():
    h = _fun(lambda p, t: ("text", t[0]))
    with pytest.raises(TypeError, match=r"jvp rule <lambda> of custom_jvp function h returned"):
        jax.grad(h)(1.0)


def test_error_primal_output_depends_on_tangent():
    h = _fun(lambda p, t: (p[0] + t[0], t[0]))
    with pytest.raises(TypeError, match=r"primal output depends on the tangents"):
        jax.grad(h)(1.0)


def test_error_nonlinear_rule_names_rule_and_operation():
    h = _fun(lambda p, t: (p[0] * p[0], t[0] * t[0]))
    with pytest.raises(
        TypeError, match=r"jvp rule <lambda> of custom_jvp function h.*primitive mul"
    ):
        jax.grad(h)(2.0)

    @functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
    def clip_gradient(lo, hi, x):
        return x

    @clip_gradient.defjvp
    def clip_gradient_jvp(lo, hi, primals, tangents):
        return primals[0], jnp.clip(tangents[0], lo, hi)

    with pytest.raises(TypeError, match=r"clip_gradient_jvp .*use custom_vjp.* primitive m"):
        jax.grad(lambda x: clip_gradient(-1.0, 1.0, x))(2.0)


def test_error_callback_on_tangent():
    def host(t):
        return np.asarray(t) * 2

    h = _fun(
        lambda p, t: (p[0], jax.pure_callback(host, jax.ShapeDtypeStruct((), np.float32), t[0]))
    )
    with pytest.raises(TypeError, match=r"primitive pure_callback is applied"):
        jax.grad(h)(2.0)


def test_error_python_control_flow_on_tangent():
    h = _fun(lambda p, t: (p[0], t[0] if t[0] > 0 else -t[0]))
    with pytest.raises(jax.errors.TracerBoolConversionError, match=r"jvp rule <lambda>"):
        jax.grad(h)(2.0)


def test_error_differentiating_closed_over_value():
    def g(x, y):
        @jax.custom_jvp
        def h(z):
            return z * y

        h.defjvp(lambda p, t: (h(*p), t[0] * y))
        return h(x)

    with pytest.raises(UnexpectedTracerError, match=r"closed-over value float32\[\]"):
        jax.grad(g, 1)(3.0, 2.0)
    with pytest.raises(UnexpectedTracerError, match=r"custom_jvp function h"):
        jax.grad(jax.jit(g), 1)(3.0, 2.0)


def test_error_arguments():
    @jax.custom_jvp
    def h(x, *, scale):
        return x * scale

    h.defjvp(lambda p, t, scale: (h(p[0], scale=scale), t[0] * scale))
    # keyword-only values are passed to the rule (an extension: JAX cannot take them)
    assert jax.grad(lambda x: h(x, scale=3.0))(1.0) == 3.0
    with pytest.raises(TypeError, match=r"custom_jvp-decorated function h could not be resolved"):
        h(1.0, 2.0)
    with pytest.raises(TypeError, match=r"custom_jvp function h: argument 'x' is 'a'"):
        jax.grad(lambda y: h("a", scale=y))(1.0)
    with pytest.raises(ValueError, match=r"nondiff_argnames entry 'z' is not a positional"):
        jax.custom_jvp(lambda x: x, nondiff_argnames=("z",))
    k = jax.custom_jvp(lambda a, b: a, nondiff_argnums=(3,))
    k.defjvp(lambda *a: a)
    with pytest.raises(ValueError, match=r"nondiff_argnums contains 3, but the call has only 2"):
        jax.jit(k)(1.0, 2.0)


def test_method_binds_self_as_nondiff():
    # JAX's custom_jvp does not bind self (jax-ml/jax#2483); pullback passes it first to the rule
    class Model:
        def __init__(self, w):
            self.w = w

        @jax.custom_jvp
        def apply(self, x):
            return self.w * x**2

        @apply.defjvp
        def apply_jvp(self, primals, tangents):
            (x,) = primals
            return self.apply(x), 5.0 * self.w * tangents[0]

    m = Model(2.0)
    assert m.apply(3.0) == 18.0
    assert jax.grad(m.apply)(3.0) == 10.0
    assert jax.jit(jax.grad(lambda x: m.apply(x)))(3.0) == 10.0


def test_defjvp_returns_rule_and_public_names():
    def rule(p, t):
        return p[0], t[0]

    h = jax.custom_jvp(lambda x: x)
    assert h.defjvp(rule) is rule
    assert jax.custom_derivatives.custom_jvp is jax.custom_jvp
    assert lax is jax.lax
