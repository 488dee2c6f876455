"""The custom_vjp contract (custom-vjp-spec §1, §2, §4.1, §4.7, §4.8, §5, §6), eagerly.

Values in the asserts come from the spec's scenarios, re-run on JAX 0.10.2; rules deliberately
differ from the true derivative (``S``'s bwd doubles it) so that using the rule is observable.
"""

import collections
import functools
import math
import warnings

import numpy as np
import pytest

import pullback as jax
import pullback.numpy as jnp
from pullback.custom_derivatives import (
    CustomVJPException,
    CustomVJPPrimal,
    SymbolicZero,
    custom_vjp_primal_tree_values,
)

calls = []


@jax.custom_vjp
def S(x):
    calls.append("f")
    return jnp.sin(x)


def S_fwd(x):
    calls.append("fwd")
    return S(x), jnp.cos(x)


def S_bwd(c, g):
    calls.append("bwd")
    return (2 * c * g,)


S.defvjp(S_fwd, S_bwd)


@jax.custom_vjp
def M(x, y):
    return jnp.sin(x) * y


M.defvjp(
    lambda x, y: (M(x, y), (jnp.cos(x), jnp.sin(x), y)),
    lambda r, g: (r[0] * g * r[2], r[1] * g),
)


@pytest.fixture(autouse=True)
def _clear_calls():
    calls.clear()


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def is_f32(x, weak=None):
    assert isinstance(x, jax.Array), type(x)
    assert x.dtype == np.float32, x.dtype
    if weak is not None:
        assert x.weak_type is weak


# -- basics ---------------------------------------------------------------------------------------


def test_seed_example_prints_exactly():
    x = jnp.float32(1.0)
    y = jnp.float32(2.0)
    with jnp.printoptions(precision=2):
        assert str(jax.value_and_grad(M)(x, y)) == (
            "(Array(1.68, dtype=float32), Array(1.08, dtype=float32))"
        )


def test_plain_call_runs_fun_only():
    out = S(3.0)
    close(out, math.sin(3.0))
    is_f32(out, weak=True)
    assert calls == ["f"]


def test_grad_uses_rule():
    g = jax.grad(S)(3.0)
    close(g, 2 * math.cos(3.0))
    is_f32(g, weak=True)
    assert calls == ["fwd", "f", "bwd"]


def test_value_and_grad():
    v, g = jax.value_and_grad(S)(3.0)
    close(v, 0.14112)
    close(g, -1.979985)


def test_vjp_callable_repeatedly():
    y, p = jax.vjp(S, 3.0)
    close(p(1.0)[0], -1.979985)
    close(p(2.0)[0], -3.95997)
    assert calls.count("fwd") == 1 and calls.count("bwd") == 2


def test_two_arguments():
    gx, gy = jax.grad(M, (0, 1))(2.0, 3.0)
    close(gx, -1.2484405)
    close(gy, 0.9092974)
    v, g = jax.value_and_grad(M)(jnp.float32(1.0), jnp.float32(2.0))
    close(v, 1.6829419)
    close(g, 1.0806046)
    is_f32(g, weak=False)


def test_defvjp_returns_none_and_replaces_rule():
    @jax.custom_vjp
    def f(x):
        return x

    assert f.defvjp(lambda x: (x, None), lambda r, g: (2 * g,)) is None
    close(jax.grad(f)(1.0), 2.0)
    f.defvjp(lambda x: (x, None), lambda r, g: (3 * g,))
    close(jax.grad(f)(1.0), 3.0)
    assert f.symbolic_zeros is False and f.optimize_remat is False


def test_attributes_and_metadata():
    def fun(x):
        """Doc."""
        return x

    f = jax.custom_vjp(fun, nondiff_argnums=())
    assert f.__name__ == "fun" and f.__doc__ == "Doc." and f.fun is fun
    assert f.fwd is None and f.bwd is None and f.nondiff_argnums == ()
    fun.extra = 5
    assert f.extra == 5


def test_missing_defvjp():
    @jax.custom_vjp
    def foo(x):
        return x**2

    with pytest.raises(AttributeError, match="No VJP defined for custom_vjp function foo"):
        foo(2.0)
    with pytest.raises(AttributeError, match="using defvjp"):
        jax.grad(foo)(2.0)
    lam = jax.custom_vjp(lambda x: x)
    with pytest.raises(AttributeError, match="<lambda>"):
        lam(1.0)


def test_optimize_remat_stored():
    f = jax.custom_vjp(lambda x: jnp.sin(x))
    f.defvjp(lambda x: (f(x), jnp.cos(x)), lambda c, g: (c * g,), optimize_remat=True)
    assert f.optimize_remat is True
    close(jax.grad(f)(1.0), math.cos(1.0))


def test_deepcopy():
    import copy

    f = copy.deepcopy(S)
    close(jax.grad(f)(3.0), -1.979985)


# -- bwd output -----------------------------------------------------------------------------------


def test_bwd_may_return_list():
    g = jax.custom_vjp(lambda x, y: x * y)
    g.defvjp(lambda x, y: (x * y, (x, y)), lambda r, ct: [ct * r[1], ct * r[0]])
    gx, gy = jax.grad(g, (0, 1))(1.0, 2.0)
    close(gx, 2.0)
    close(gy, 1.0)


def test_bwd_bare_value_is_structure_error():
    h = jax.custom_vjp(lambda x: 2 * x)
    h.defvjp(lambda x: (2 * x, None), lambda r, ct: 2.0 * ct)
    with pytest.raises(TypeError, match=r"must produce a tuple with one cotangent per.*\(1: x"):
        jax.grad(h)(2.0)


def test_bwd_tuple_too_long():
    h = jax.custom_vjp(lambda x: 2 * x)
    h.defvjp(lambda x: (2 * x, None), lambda r, ct: (ct, ct))
    with pytest.raises(TypeError, match="a tuple of length 2"):
        jax.grad(h)(2.0)
    close(h(2.0), 4.0)


def test_none_entry_is_zero():
    k = jax.custom_vjp(lambda x, y: x * jnp.sin(y))
    k.defvjp(lambda x, y: (k(x, y), y), lambda y, g: (None, 2 * jnp.cos(y) * g))
    close(jax.grad(lambda x: k(x, x))(3.0), -1.979985)
    gx, gy = jax.grad(k, (0, 1))(3.0, 3.0)
    close(gx, 0.0)
    close(gy, -1.979985)


def test_none_for_whole_pytree_argument():
    k2 = jax.custom_vjp(lambda xs, y: xs[0] * jnp.sin(y))
    k2.defvjp(lambda xs, y: (k2(xs, y), y), lambda y, g: (None, 2 * jnp.cos(y) * g))
    (g1, g2), gy = jax.grad(k2, (0, 1))((3.0, 4.0), 3.0)
    close(g1, 0.0)
    close(g2, 0.0)
    close(gy, -1.979985)


def test_none_inside_subtree():
    f = jax.custom_vjp(lambda x: x[0])
    f.defvjp(lambda x: (x[0], None), lambda r, g: ((g, (None, None)),))
    g = jax.grad(f)((1.0, (2.0, 3.0)))
    close(g[0], 1.0)
    close(g[1][0], 0.0)
    close(g[1][1], 0.0)
    g = jax.grad(f)((1.0, (2.0, None)))
    assert g[1][1] is None
    close(g[1][0], 0.0)
    f.defvjp(lambda x: (x[0], None), lambda r, g: ((g, None),))
    g = jax.grad(f)((1.0, (2.0, 3.0)))
    close(g[1][1], 0.0)


def test_wrong_subtree_names_argument_and_path():
    f = jax.custom_vjp(lambda x: x[0])
    f.defvjp(lambda x: (x[0], None), lambda r, g: ((g, (g,)),))
    with pytest.raises(TypeError, match=r"argument 'x' at \[1\] must have the argument's pytree"):
        jax.grad(f)((1.0, (2.0, 3.0)))


def test_shape_mismatch_names_leaf():
    f = jax.custom_vjp(lambda x: x)
    f.defvjp(lambda x: (x, None), lambda r, g: (jnp.ones(10),))
    with pytest.raises(ValueError, match=r"got float32\[10\], expected float32\[\]"):
        jax.grad(f)(3.0)


def test_no_broadcasting_of_bwd_output():
    f = jax.custom_vjp(lambda x: x.sum())
    f.defvjp(lambda x: (x.sum(), None), lambda r, g: (g,))
    with pytest.raises(ValueError, match=r"got float32\[\], expected float32\[3\].*never broadc"):
        jax.grad(f)(jnp.ones(3))


def test_bwd_error_names_dict_leaf_path():
    f = jax.custom_vjp(lambda p: p["w"][0].sum())
    f.defvjp(lambda p: (f(p), None), lambda r, g: ({"w": [jnp.ones(3)]},))
    with pytest.raises(ValueError, match=r"argument 'p', leaf \['w'\]\[0\]: got float32\[3\], exp"):
        jax.grad(f)({"w": [jnp.ones(2)]})


def _cast_fn(ret):
    f = jax.custom_vjp(lambda x: x)
    f.defvjp(lambda x: (x, None), lambda r, g: (ret(g),))
    return f


def test_bwd_float_of_other_precision_is_cast():
    # JAX passes float16 through; pullback casts to the input's dtype (docs/differences.md).
    g = jax.grad(_cast_fn(lambda g: g.astype(jnp.float16)))(3.0)
    is_f32(g)
    close(g, 1.0)
    g = jax.grad(_cast_fn(lambda g: 2.0))(3.0)
    is_f32(g)
    close(g, 2.0)
    g = jax.grad(_cast_fn(lambda g: np.float64(2.0)))(3.0)
    is_f32(g)
    close(g, 2.0)


def test_bwd_integer_cotangent_for_float_input_is_error():
    with pytest.raises(TypeError, match=r"got int32\[\], expected float32\[\]"):
        jax.grad(_cast_fn(lambda g: jnp.int32(1)))(3.0)


def test_integer_input_none():
    f = jax.custom_vjp(lambda i, x: jnp.sin(x) * i)
    f.defvjp(lambda i, x: (f(i, x), (i, x)), lambda r, g: (None, r[0] * jnp.cos(r[1]) * g))
    close(jax.grad(f, 1)(jnp.int32(2), 3.0), -1.979985)
    gi, gx = jax.grad(f, (0, 1), allow_int=True)(jnp.int32(2), 3.0)
    assert gi.dtype == jax.dtypes.float0 and gi.shape == ()
    close(gx, -1.979985)
    with pytest.raises(TypeError, match="grad requires real- or complex-valued inputs"):
        jax.grad(f, 0)(jnp.int32(2), 3.0)


def test_integer_input_nonzero_cotangent_dropped_with_warning():
    f = jax.custom_vjp(lambda i, x: x * i)
    f.defvjp(lambda i, x: (f(i, x), i), lambda i, g: (jnp.float32(7.0), i * g))
    with pytest.warns(UserWarning, match="integer/boolean dtype int32"):
        gi, gx = jax.grad(f, (0, 1), allow_int=True)(jnp.int32(2), 3.0)
    assert gi.dtype == jax.dtypes.float0
    close(gx, 2.0)


def test_integer_output_gets_float0_cotangent():
    seen = []
    f = jax.custom_vjp(lambda x: (2 * x, jnp.int32(3)))

    def bwd(r, g):
        seen.append(g)
        return (2 * g[0],)

    f.defvjp(lambda x: (f(x), None), bwd)
    close(jax.grad(lambda x: f(x)[0])(1.0), 2.0)
    assert seen[0][1].dtype == jax.dtypes.float0


# -- fwd output -----------------------------------------------------------------------------------


def test_fwd_non_pair():
    f = jax.custom_vjp(lambda x: x)
    f.defvjp(lambda x: x, lambda r, g: (g,))
    with pytest.raises(TypeError, match=r"must produce a pair.*produced Array\(3\."):
        jax.grad(f)(3.0)
    f.defvjp(lambda x: (x, x, x), lambda r, g: (g,))
    with pytest.raises(TypeError, match="instead of a pair the fwd rule <lambda>"):
        jax.grad(f)(3.0)


def test_fwd_primal_structure_not_checked_eagerly():
    f = jax.custom_vjp(lambda x: x)
    f.defvjp(lambda x: ((x, x), None), lambda r, g: (g[0],))
    with pytest.raises(TypeError, match="Gradient only defined for scalar-output functions"):
        jax.grad(f)(jnp.float32(1.0))


# -- residuals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["hello", print, object()])
def test_invalid_residual(bad):
    f = jax.custom_vjp(lambda x: jnp.sin(x))
    f.defvjp(lambda x: (f(x), bad), lambda r, g: (g,))
    with pytest.raises(TypeError, match="is not a valid JAX type. It is the residual"):
        jax.grad(f)(1.0)


@pytest.mark.parametrize("res", [None, (), {}, 1, 2.5, True, np.ones(3), [1.0, 2.0], {"a": (1, 2)}])
def test_permitted_residuals_reach_bwd_unchanged(res):
    seen = []
    f = jax.custom_vjp(lambda x: jnp.sin(x))

    def bwd(r, g):
        seen.append(r)
        return (2 * g,)

    f.defvjp(lambda x: (f(x), res), bwd)
    close(jax.grad(f)(1.0), 2.0)
    assert type(seen[0]) is type(res)


def test_python_scalar_residual_stays_static():
    f = jax.custom_vjp(lambda x: jnp.sin(x))
    f.defvjp(lambda x: (f(x), (True, 1, 2.5)), lambda r, g: ((2.0 if r[0] else 3.0) * g,))
    close(jax.grad(f)(1.0), 2.0)


def test_vjp_closure_as_residual():
    f0 = lambda x: x**2
    g = jax.custom_vjp(f0)
    g.defvjp(lambda x: jax.vjp(f0, x), lambda f_vjp, yb: f_vjp(yb))
    close(jax.vjp(g, 1.0)[1](1.0)[0], 2.0)


def test_dict_pytree():
    f = jax.custom_vjp(lambda d: {"b": jnp.sin(d["a"])})
    f.defvjp(lambda d: (f(d), {"r": jnp.cos(d["a"])}), lambda r, g: ({"a": 2 * r["r"] * g["b"]},))
    g = jax.grad(lambda x: f(x)["b"])({"a": 3.0})
    assert list(g) == ["a"]
    close(g["a"], -1.979985)


Point = collections.namedtuple("Point", ["x", "y"])


def test_namedtuple_argument():
    @jax.custom_vjp
    def f(pt):
        return jnp.sin(pt.x) * pt.y

    f.defvjp(
        lambda pt: (f(pt), (jnp.cos(pt.x), jnp.sin(pt.x), pt.y)),
        lambda r, g: (Point(r[0] * r[2] * g, r[1] * g),),
    )
    g = jax.grad(lambda pt: f(pt))(Point(1.0, 2.0))
    assert isinstance(g, Point)
    close(g.x, 2 * math.cos(1.0))
    close(g.y, math.sin(1.0))
    f.defvjp(lambda pt: (f(pt), None), lambda r, g: ((g, g),))
    with pytest.raises(TypeError, match="pytree structure"):
        jax.grad(f)(Point(1.0, 2.0))


# -- arguments ------------------------------------------------------------------------------------


def test_kwargs_and_defaults():
    seen = []

    @jax.custom_vjp
    def kw(x, y, c=1.0):
        return c * (x + y)

    def fwd(x, y, c):
        seen.append(c)
        return kw(x, y, c), c

    kw.defvjp(fwd, lambda c, g: (c * g, c * g, None))
    close(kw(1.0, y=2.0, c=3.0), 9.0)
    close(jax.grad(lambda x: kw(x, 2.0, c=3.0))(1.0), 3.0)
    assert seen[-1] == 3.0
    close(jax.grad(lambda x: kw(x, 2.0))(1.0), 1.0)
    assert seen[-1] == 1.0
    close(jax.grad(kw, argnums=2)(1.0, 2.0, 3.0), 0.0)


def test_keyword_only_parameters_work():
    # JAX refuses a passed keyword-only argument (E2); pullback passes it by keyword.
    @jax.custom_vjp
    def f(x, y, *, z=None):
        return x * y * (1.0 if z is None else z)

    f.defvjp(lambda x, y, *, z=None: (f(x, y, z=z), (x, y, z)), lambda r, g: (r[1] * g, r[0] * g))
    with pytest.raises(TypeError, match="missing a required argument: 'y'"):
        f(0.5)
    close(f(0.5, 0.1, z=2.0), 0.1)
    close(f(0.5, 0.1), 0.05)
    close(jax.grad(lambda x: f(x, 0.1, z=1.0))(0.5), 0.1)


def test_keyword_only_argument_being_differentiated_is_clear_error():
    f = jax.custom_vjp(lambda x, *, z: x * z)
    f.defvjp(lambda x, *, z: (x * z, z), lambda z, g: (g * z,))
    with pytest.raises(CustomVJPException, match="keyword-only argument 'z' is being diff"):
        jax.grad(lambda z: f(1.0, z=z))(2.0)


def test_varargs():
    @jax.custom_vjp
    def va(*xs):
        return sum(xs)

    va.defvjp(lambda *xs: (va(*xs), len(xs)), lambda n, g: (g,) * n)
    gs = jax.grad(va, (0, 1, 2))(1.0, 2.0, 3.0)
    for g in gs:
        close(g, 1.0)


def test_untangented_call_runs_fun():
    h = jax.custom_vjp(lambda x: 2 * x)
    h.defvjp(lambda x: (calls.append("fwd"), None), lambda r, g: (g,))
    close(jax.grad(lambda x: x * h(2.0))(1.0), 4.0)
    assert "fwd" not in calls


def test_nondiff_argnums_function():
    @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
    def app(f, x):
        return f(x)

    app.defvjp(lambda f, x: (f(x), x), lambda f, x, g: (5 * g,))
    close(app(lambda x: x**2, 4.0), 16.0)
    close(jax.grad(app, 1)(lambda x: x**2, 4.0), 5.0)
    with pytest.raises(TypeError, match="is not a valid JAX type"):
        jax.grad(app, 0)(lambda x: x**2, 4.0)


def test_nondiff_args_come_first_in_bwd():
    @functools.partial(jax.custom_vjp, nondiff_argnums=(0, 2))
    def app2(f, x, g):
        return f(g(x))

    seen = []

    def bwd(f, g, res, ct):
        seen.append((f, g))
        return (3 * ct,)

    app2.defvjp(lambda f, x, g: (app2(f, x, g), x), bwd)
    f3, g5 = (lambda x: x**3), (lambda y: 5 * y)
    close(jax.grad(app2, 1)(f3, 3.0, g5), 3.0)
    assert seen == [(f3, g5)]
    app2.defvjp(lambda f, x, g: (app2(f, x, g), x), lambda f, g, r, ct: (None, 3 * ct))
    with pytest.raises(TypeError, match="one cotangent per differentiable argument"):
        jax.grad(app2, 1)(f3, 3.0, g5)


def test_nondiff_argnames():
    @functools.partial(jax.custom_vjp, nondiff_argnames=("f",))
    def app3(f, x):
        return f(x)

    assert app3.nondiff_argnums == (0,)
    app3.defvjp(lambda f, x: (app3(f, x), jnp.cos(x)), lambda f, c, g: (c * g,))
    v, g = jax.value_and_grad(lambda x: app3(lambda y: 2 * y, x))(1.0)
    close(v, 2.0)
    close(g, 0.5403023)
    v, g = jax.value_and_grad(lambda x: app3(f=lambda y: 2 * y, x=x))(1.0)
    close(g, 0.5403023)
    with pytest.raises(ValueError, match="nondiff_argnames entry 'q'"):
        jax.custom_vjp(lambda f, x: x, nondiff_argnames=("q",))


def test_unhashable_nondiff_value():
    @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
    def f(lst, x):
        return lst[0] * jnp.sin(x)

    f.defvjp(lambda lst, x: (f(lst, x), jnp.cos(x)), lambda lst, c, g: (lst[0] * c * g,))
    close(jax.grad(f, 1)([2.0], 3.0), -1.979985)


def test_array_in_nondiff_position_is_a_constant():
    @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
    def ft(x, y):
        return x * y

    ft.defvjp(lambda x, y: (ft(x, y), None), lambda x, r, g: (jnp.sin(x) * g,))
    close(ft(jnp.float32(2.0), 3.0), 6.0)
    close(jax.grad(ft, 1)(jnp.float32(2.0), 3.0), math.sin(2.0))


def test_differentiating_nondiff_argument_names_position():
    @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
    def ft(x, y):
        return x * y

    ft.defvjp(lambda x, y: (ft(x, y), None), lambda x, r, g: (x * g,))
    with pytest.raises(CustomVJPException, match=r"argument 'x' \(position 0\) is being diff"):
        jax.grad(ft, 0)(2.0, 3.0)
    with pytest.raises(CustomVJPException, match=r"at \[0\]"):
        jax.grad(lambda x: ft((x,), 3.0) if False else ft2((x,), 3.0))(2.0)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def ft2(xs, y):
    return xs[0] * y


ft2.defvjp(lambda xs, y: (ft2(xs, y), None), lambda xs, r, g: (g,))


def test_python_control_flow_eagerly():
    f = jax.custom_vjp(lambda x: jnp.sin(x) if x > 0 else jnp.cos(x))
    f.defvjp(lambda x: (f(x), x), lambda x, g: ((2.0 if x > 0 else 3.0) * g,))
    v, g = jax.value_and_grad(f)(2.0)
    close(v, 0.9092974)
    close(g, 2.0)
    v, g = jax.value_and_grad(f)(-2.0)
    close(v, -0.4161468)
    close(g, 3.0)


# -- higher order and closures --------------------------------------------------------------------


def test_second_order_through_residuals():
    close(jax.grad(jax.grad(S))(3.0), -0.28224)
    assert calls == ["fwd", "fwd", "f", "bwd"]


def test_second_order_fwd_not_calling_f():
    f = jax.custom_vjp(lambda x: jnp.sin(x))
    f.defvjp(lambda x: (jnp.sin(x), jnp.cos(x)), lambda c, g: (2 * c * g,))
    close(jax.grad(jax.grad(f))(3.0), -0.28224)


def test_invariance():
    f = jax.custom_vjp(lambda x: jnp.cos(2 * x) / 2)
    f.defvjp(lambda x: (f(x), x), lambda x, g: (3 * g,))
    close(jax.grad(f)(1.0), 3.0)
    f2 = lambda x: jax.value_and_grad(f)(x)[0]
    close(jax.grad(f2)(1.0), 3.0)
    close(jax.grad(jax.grad(f))(1.0), 0.0)


def test_bwd_closes_over_outer_tracer():
    def fo(y):
        ff = jax.custom_vjp(lambda x: 2 * jnp.sin(x))
        ff.defvjp(lambda x: (ff(x), None), lambda r, g: (2 * jnp.cos(y) * g,))
        return jax.grad(ff)(1.0)

    close(fo(2.0), -0.8322937)
    close(jax.grad(fo)(4.0), 1.513605)


def test_differentiating_closed_over_value_is_clear_error():
    def outer(x):
        g = jax.custom_vjp(lambda y: x * y)
        g.defvjp(lambda y: (g(y), y), lambda y, ct: (x * ct,))
        return g

    with pytest.raises(CustomVJPException, match="closed-over value.*as an argument"):
        jax.grad(lambda x: outer(x)(3.0))(2.0)
    with pytest.raises(CustomVJPException, match="closed-over value"):
        jax.grad(lambda x: outer(x)(x))(2.0)


def test_custom_gradient():
    @jax.custom_gradient
    def f(x):
        return x**2, lambda g: (g * x,)

    close(f(3.0), 9.0)
    close(jax.grad(f)(3.0), 3.0)
    close(jax.grad(jax.grad(f))(3.0), 1.0)

    @jax.custom_gradient
    def bare(x):
        return x**2, lambda g: g * x

    close(jax.grad(bare)(3.0), 3.0)

    @jax.custom_gradient
    def two(x, y):
        return x * y, lambda g: (y, x)

    gx, gy = jax.grad(two, (0, 1))(3.0, 4.0)
    close(gx, 4.0)
    close(gy, 3.0)

    @jax.custom_gradient
    def kw(x, scale=1.0):
        return x * scale, lambda g: (g * scale,)

    close(jax.grad(lambda x: kw(x, scale=2.0))(1.0), 2.0)


def test_partial_use_of_outputs():
    d = jax.custom_vjp(lambda x, y: (jnp.sin(x), x + jnp.cos(y)))
    d.defvjp(
        lambda x, y: (d(x, y), (x, y)),
        lambda r, g: (2 * jnp.cos(r[0]) * g[0] + 1.5 * g[1], -0.5 * jnp.sin(r[1]) * g[1]),
    )
    gx, gy = jax.grad(lambda x, y: d(x, y)[0], (0, 1))(0.1, -1.3)
    close(gx, 1.9900084)
    close(gy, 0.0)
    gx, gy = jax.grad(lambda x, y: d(x, y)[1], (0, 1))(0.1, -1.3)
    close(gx, 1.5)
    close(gy, 0.4817791)


def test_none_output():
    g = jax.custom_vjp(lambda x, y: None)
    g.defvjp(lambda x, y: (None, y), lambda r, ct: calls.append("bwd") or (None, None))
    out = jax.vjp(lambda x: g(x, 1.0), 1.0)[1](None)
    close(out[0], 0.0)
    assert calls == []


def test_bwd_calls_another_custom_vjp():
    @jax.custom_vjp
    def cube(x):
        return x**3

    @jax.custom_vjp
    def cube_bwd_core(x, dy):
        return 3 * x**2 * dy

    cube_bwd_core.defvjp(
        lambda x, dy: (cube_bwd_core(x, dy), (x, dy)),
        lambda r, ddx: (6 * r[0] * r[1] * ddx, 3 * r[0] ** 2 * ddx),
    )
    cube.defvjp(lambda x: (cube(x), x), lambda x, dy: (cube_bwd_core(x, dy),))
    close(jax.grad(cube)(2.0), 12.0)
    close(jax.grad(jax.grad(cube))(2.0), 12.0)


# -- zeros and cotangent delivery -----------------------------------------------------------------


def test_materialised_zero_cotangent():
    seen = []
    two = jax.custom_vjp(lambda x: (2 * x, 3 * x))

    def bwd(r, g):
        seen.append(g)
        return (2 * g[0] + 3 * g[1],)

    two.defvjp(lambda x: (two(x), None), bwd)
    close(jax.grad(lambda x: two(x)[0])(1.0), 2.0)
    close(seen[0][0], 1.0)
    assert isinstance(seen[0][1], jax.Array)
    close(seen[0][1], 0.0)


def test_bwd_skipped_when_output_unused():
    u = jax.custom_vjp(lambda x: x)
    u.defvjp(lambda x: (x, None), lambda r, g: calls.append("bwd") or (g,))
    close(jax.grad(lambda x: (u(x), 3 * x)[1])(1.0), 3.0)
    assert calls == []
    close(jax.grad(lambda x: u(x) * 0.0 + x)(1.0), 1.0)
    assert calls == ["bwd"]


def test_cotangent_dtype_follows_output():
    seen = []
    o = jax.custom_vjp(lambda x: x.astype(jnp.float16))

    def bwd(r, g):
        seen.append(g.dtype)
        return (g.astype(jnp.float32),)

    o.defvjp(lambda x: (o(x), None), bwd)
    g = jax.grad(lambda x: o(x).astype(jnp.float32))(jnp.float32(1.0))
    assert seen == [np.float16]
    is_f32(g)
    close(g, 1.0)


def test_vjp_cotangent_type_check():
    _, p = jax.vjp(S, jnp.float32(1.0))
    with pytest.raises(ValueError, match=r"got float16\[\], but expected float32\[\]"):
        p(jnp.float16(1.0))


def test_methods_work():
    # JAX has no __get__ (scenario 70); pullback binds self as a nondiff argument.
    class C:
        scale = 3.0

        @jax.custom_vjp
        def m(self, x):
            return self.scale * jnp.sin(x)

        def m_fwd(self, x):
            return self.m(x), jnp.cos(x)

        def m_bwd(self, c, g):
            return (self.scale * c * g,)

        m.defvjp(m_fwd, m_bwd)

    c = C()
    close(c.m(1.0), 3 * math.sin(1.0))
    close(jax.grad(c.m)(1.0), 3 * math.cos(1.0))


# -- symbolic zeros -------------------------------------------------------------------------------


def _sym_f(log):
    @jax.custom_vjp
    def f(x, y, z):
        return x, x

    def fwd(x, y, z):
        log.append(("fwd", [type(a) for a in (x, y, z)], [a.perturbed for a in (x, y, z)]))
        return (x.value, x.value), None

    def bwd(_, g):
        log.append(("bwd", [type(t) for t in g]))
        g0 = g[0] if type(g[0]) is not SymbolicZero else jnp.zeros(g[0].shape, g[0].dtype)
        g1 = g[1] if type(g[1]) is not SymbolicZero else jnp.zeros(g[1].shape, g[1].dtype)
        return g0, g0, g1

    f.defvjp(fwd, bwd, symbolic_zeros=True)
    return f


def test_symbolic_zeros_flags():
    log = []
    f = _sym_f(log)
    close(jax.grad(lambda x: f(x, 5.0, 6.0)[0])(4.0), 1.0)
    assert log[0] == ("fwd", [CustomVJPPrimal] * 3, [True, False, False])
    assert log[1][1][1] is SymbolicZero
    assert log[1][1][0] is not SymbolicZero


def test_symbolic_zeros_output_cotangents():
    log = []
    f = _sym_f(log)
    out = jax.vjp(lambda *xs: f(*xs)[0], 4.0, 5.0, 6.0)[1](1.0)
    for a, b in zip(out, (1.0, 1.0, 0.0)):
        close(a, b)
    out = jax.vjp(lambda *xs: f(*xs)[1], 4.0, 5.0, 6.0)[1](1.0)
    for a, b in zip(out, (0.0, 0.0, 1.0)):
        close(a, b)


def test_symbolic_zeros_integer_input():
    log = []
    f = _sym_f(log)
    with pytest.warns(UserWarning, match="integer/boolean dtype int32"):
        out = jax.vjp(lambda x, i: f(x, i, 6.0)[1], 4.0, jnp.int32(7))[1](1.0)
    close(out[0], 0.0)
    assert out[1].dtype == jax.dtypes.float0
    assert log[0][2] == [True, False, False]


def test_symbolic_zero_api():
    seen = []
    f = jax.custom_vjp(lambda x: (x.sum(), x * 2))

    def bwd(r, g):
        seen.append(g[0])
        return (2 * g[1],)

    f.defvjp(lambda x: (f(x.value), None), bwd, symbolic_zeros=True)
    jax.grad(lambda x: f(x)[1].sum())(jnp.ones((2, 3)))
    z = seen[0]
    assert type(z) is SymbolicZero and repr(z) == "SymbolicZero"
    assert z.shape == () and z.dtype == np.float32 and z.ndim == 0 and z.size == 1
    assert bool(z) is True
    with pytest.raises(TypeError):
        jnp.add(z, 1.0)
    with pytest.raises(TypeError):
        z + 1.0
    close(jnp.zeros(z.shape, z.dtype), 0.0)
    close(jnp.zeros_like(z), 0.0)


def test_returning_symbolic_zero():
    f = jax.custom_vjp(lambda x, y: x * y)
    f.defvjp(
        lambda x, y: (x.value * y.value, (x.value, y.value)),
        lambda r, g: (g * r[1], SymbolicZero.from_primal_value(r[1])),
        symbolic_zeros=True,
    )
    gx, gy = jax.grad(f, (0, 1))(2.0, 3.0)
    close(gx, 3.0)
    close(gy, 0.0)
    f.defvjp(
        lambda x, y: (x.value * y.value, (x.value, y.value)),
        lambda r, g: (g * r[1], SymbolicZero.from_primal_value(jnp.ones(2))),
        symbolic_zeros=True,
    )
    with pytest.raises(ValueError, match="SymbolicZero.*Consider just returning a None"):
        jax.grad(f, (0, 1))(2.0, 3.0)


def test_fwd_leaking_custom_vjp_primal():
    f = jax.custom_vjp(lambda x: x)
    f.defvjp(lambda x: (x, None), lambda r, g: (g,), symbolic_zeros=True)
    with pytest.raises(TypeError, match="CustomVJPPrimal.*not a valid JAX type"):
        jax.grad(f)(1.0)
    f.defvjp(lambda x: (x.value, x), lambda r, g: (g,), symbolic_zeros=True)
    with pytest.raises(TypeError, match="residual .*CustomVJPPrimal"):
        jax.grad(f)(1.0)


def test_symbolic_zeros_with_nondiff():
    seen = []

    @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
    def fs(k, x):
        return k * x

    def fwd(k, x):
        seen.append((k, x))
        return k * x.value, None

    fs.defvjp(fwd, lambda k, r, g: (k * g,), symbolic_zeros=True)
    close(jax.grad(lambda x: fs(2.0, x))(3.0), 2.0)
    assert seen[0][0] == 2.0 and type(seen[0][1]) is CustomVJPPrimal and seen[0][1].perturbed


def test_primal_tree_values():
    assert custom_vjp_primal_tree_values((CustomVJPPrimal(1.0, True), [CustomVJPPrimal(2, False)]))
    with pytest.raises(TypeError, match="unexpected leaf type <class 'float'>"):
        custom_vjp_primal_tree_values((1.0, 2.0))


def test_symbolic_primal_call_never_calls_fwd():
    log = []
    f = _sym_f(log)
    f(1.0, 2.0, 3.0)
    assert log == []


def test_no_warnings_in_plain_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jax.grad(S)(1.0)


@jax.tree_util.register_pytree_node_class
class Box:
    """A custom pytree node with a static flag (spec scenario 78)."""

    def __init__(self, strict, x):
        if strict and not isinstance(x, (jax.Array, float)):
            raise TypeError(f"Box got {type(x)}")
        self.strict, self.x = strict, x

    def tree_flatten(self):
        return (self.x,), self.strict

    @classmethod
    def tree_unflatten(cls, strict, children):
        return cls(strict, *children)


def test_custom_pytree_node_argument_and_cotangent():
    f = jax.custom_vjp(lambda box, y: box.x * y)
    f.defvjp(lambda box, y: (f(box, y), (box.x, y)), lambda r, g: (Box(False, r[1] * g), r[0] * g))
    gbox, gy = jax.grad(f, (0, 1))(Box(False, 2.0), 3.0)
    assert isinstance(gbox, Box)
    close(gbox.x, 3.0)
    close(gy, 2.0)
    f.defvjp(lambda box, y: (f(box, y), (box.x, y)), lambda r, g: ((r[1] * g,), r[0] * g))
    with pytest.raises(TypeError, match="argument 'box' must have the argument's pytree"):
        jax.grad(f, (0, 1))(Box(False, 2.0), 3.0)


def test_symbolic_zeros_custom_pytree_node():
    seen = []
    f = jax.custom_vjp(lambda box, y: box.x * y)

    def fwd(box, y):
        seen.append((type(box.x), box.x.perturbed, y.perturbed))
        values = custom_vjp_primal_tree_values(box)
        return values.x * y.value, (values.x, y.value)

    f.defvjp(fwd, lambda r, g: (Box(False, r[1] * g), r[0] * g), symbolic_zeros=True)
    g = jax.grad(f)(Box(False, 2.0), 3.0)
    close(g.x, 3.0)
    assert seen == [(CustomVJPPrimal, True, False)]
    # an unflatten that validates its leaves sees CustomVJPPrimal and raises its own error
    with pytest.raises(TypeError, match="Box got <class '.*CustomVJPPrimal'>"):
        jax.grad(f)(Box(True, jnp.float32(2.0)), 3.0)


def test_validating_custom_node_works_without_symbolic_zeros():
    f = jax.custom_vjp(lambda box: box.x * 2.0)
    f.defvjp(lambda box: (f(box), None), lambda r, g: (Box(True, g * 2.0),))
    close(jax.grad(f)(Box(True, jnp.float32(2.0))).x, 2.0)


def test_each_rule_runs_once_whatever_the_output():
    log = []
    f = jax.custom_vjp(lambda x: (x * 2.0, x * 3.0))

    def fwd(x):
        log.append("fwd")
        return (x * 2.0, x * 3.0), None

    def bwd(_, g):
        log.append("bwd")
        return (2.0 * g[0] + 3.0 * g[1],)

    f.defvjp(fwd, bwd)
    close(jax.grad(lambda x: f(x)[0] + f(x)[1])(1.0), 5.0)
    assert log == ["fwd", "fwd", "bwd", "bwd"]


def test_non_array_differentiable_argument_under_transformation():
    app = jax.custom_vjp(lambda f, x: f(x))
    app.defvjp(lambda f, x: (f(x), None), lambda r, g: (None, g))
    close(app(lambda x: x * 2.0, 1.0), 2.0)  # an eager call just runs fun
    with pytest.raises(TypeError, match=r"argument 'f' is <function .*nondiff_argnums"):
        jax.grad(lambda x: app(lambda y: y * 2.0, x))(1.0)
