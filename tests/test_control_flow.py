"""Control flow (``lax.cond``, ``switch``, ``while_loop``, ``fori_loop``, ``scan``, ``map``):
values, dtypes and weak types against JAX, eagerly and under ``jit``; gradients against float64
central differences and JAX, to second order; staged programs type-checked and printed as JAX
prints them; custom_vjp inside bodies (custom-vjp-spec scenarios 39-41); JAX's errors."""

import functools

import numpy as np
import pytest

import pullback as jax
import pullback.numpy as jnp
from pullback import lax
from pullback._ir import check_jaxpr
from pullback.test_util import check_grads


@pytest.fixture(scope="module")
def real():
    return pytest.importorskip("jax")


XS = np.arange(1.0, 4.0, dtype=np.float32) * 0.3
W = np.array([[0.5, -0.3], [0.2, 0.8]], np.float32)
V = np.array([1.0, -2.0], np.float32)
ROWS = np.arange(14.0, dtype=np.float32).reshape(7, 2) * 0.1  # 7 = 2 batches of 3 and 1 more

# -- programs run on pullback and on JAX -------------------------------------------------------


def _batched_map(xs, size):
    return lambda jax, lax, jnp: (
        lambda w: lax.map(lambda x: jnp.tanh(x @ W) * w, xs, batch_size=size),
        (1.3,),
    )


# name -> build(jax, lax, jnp) -> (function, arguments). Arguments are NumPy values or Python
# scalars, so both libraries see the same types.
PROGRAMS = {
    "cond": lambda jax, lax, jnp: (lambda x: lax.cond(x > 0, jnp.sin, lambda y: 3 * y, x), (0.7,)),
    "cond_false": lambda jax, lax, jnp: (
        lambda x: lax.cond(x > 0, jnp.sin, lambda y: 3 * y, x),
        (np.float32(-0.7),),
    ),
    "cond_pytree": lambda jax, lax, jnp: (
        lambda x, v: lax.cond(
            x < 1,
            lambda a, b: {"s": a * jnp.sum(b), "v": b * a, "n": jnp.int32(1)},
            lambda a, b: {"s": a - 1.0, "v": jnp.cos(b), "n": jnp.int32(2)},
            x,
            v,
        ),
        (0.5, V),
    ),
    "cond_closure": lambda jax, lax, jnp: (
        lambda x, w: lax.cond(x > 0, lambda y: jnp.sin(y * w) * V, lambda y: y + V, x),
        (np.float32(0.4), 1.3),
    ),
    "cond_number_pred": lambda jax, lax, jnp: (
        lambda x: lax.cond(x, lambda: x * 2.0, lambda: x - 1.0),
        (np.float32(1.5),),
    ),
    "cond_weak_outputs": lambda jax, lax, jnp: (
        lambda x: (
            lax.cond(x > 1, lambda: 1.0, lambda: jnp.float32(2)),
            lax.cond(x > 1, lambda: jnp.float32(2), lambda: 1.0),
        ),
        (0.5,),
    ),
    "cond_forwarded": lambda jax, lax, jnp: (
        lambda x: lax.cond(x > 1, lambda a, b: (a, b * 2), lambda a, b: (a, b), x, 2.0),
        (0.5,),
    ),
    "switch": lambda jax, lax, jnp: (
        lambda x: [lax.switch(i, [jnp.sin, jnp.cos, lambda y: y * 3], x) for i in (-1, 1, 2, 7)],
        (0.7,),
    ),
    "switch_traced_index": lambda jax, lax, jnp: (
        lambda i, x: lax.switch(i, [jnp.sin, jnp.cos, lambda y: y * 3], x),
        (np.int32(5), np.float32(0.7)),
    ),
    "scan": lambda jax, lax, jnp: (
        lambda c, w: lax.scan(lambda c, x: (jnp.sin(c * w) + x, c * x), c, XS),
        (0.5, np.float32(1.3)),
    ),
    "scan_pytree": lambda jax, lax, jnp: (
        lambda h: lax.scan(
            lambda c, x: (
                {"h": jnp.tanh(c["h"] @ W + x[0]), "n": c["n"] + 1},
                (c["h"] * x[1], c["n"]),
            ),
            {"h": h, "n": 0},
            (np.ones((3, 2), np.float32), XS),
        ),
        (V,),
    ),
    "scan_reverse_unroll": lambda jax, lax, jnp: (
        lambda c: lax.scan(lambda c, x: (c * x + 1, c), c, XS, reverse=True, unroll=2),
        (0.5,),
    ),
    "scan_length": lambda jax, lax, jnp: (
        lambda c: lax.scan(lambda c, _: (c * 0.5, c + 1.0), c, None, length=3),
        (np.float32(2.0),),
    ),
    "scan_length_zero": lambda jax, lax, jnp: (
        lambda c: lax.scan(lambda c, x: (c * x, c), c, np.zeros((0,), np.float32)),
        (0.5,),
    ),
    "scan_weak_promotion": lambda jax, lax, jnp: (
        lambda c: lax.scan(lambda c, x: (c + x, None), c, XS),
        (1,),
    ),
    "scan_forwarded": lambda jax, lax, jnp: (
        lambda c: lax.scan(lambda c, x: ((c[0], c[1] + x * c[0]), x), (c, 0.0), XS),
        (0.5,),
    ),
    "scan_nested": lambda jax, lax, jnp: (
        lambda c: lax.scan(
            lambda c, x: (lax.scan(lambda d, y: (jnp.sin(d * y) + c, d), c, x)[0], c),
            c,
            np.arange(6.0, dtype=np.float32).reshape(3, 2) * 0.2,
        ),
        (0.5,),
    ),
    "cond_in_scan": lambda jax, lax, jnp: (
        lambda c: lax.scan(lambda c, x: (lax.cond(x > 0.5, jnp.sin, jnp.cos, c * x), c), c, XS),
        (0.5,),
    ),
    "scan_in_cond": lambda jax, lax, jnp: (
        lambda c: lax.cond(
            c > 0,
            lambda y: lax.scan(lambda d, x: (d * x + y, d), y, XS)[0],
            lambda y: y * 2,
            c,
        ),
        (0.5,),
    ),
    "while": lambda jax, lax, jnp: (
        lambda x: lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * x), (0, 1.0)),
        (0.9,),
    ),
    "while_forwarded": lambda jax, lax, jnp: (
        lambda x: lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1]), (0, x)),
        (0.9,),
    ),
    "while_weak_promotion": lambda jax, lax, jnp: (
        lambda x: lax.while_loop(lambda c: c < x, lambda c: c + 1.5, 1),
        (np.float32(3.0),),
    ),
    "fori": lambda jax, lax, jnp: (
        lambda x: lax.fori_loop(0, 4, lambda i, c: c * x + i, 1.0),
        (0.9,),
    ),
    "fori_traced_bounds": lambda jax, lax, jnp: (
        lambda x, n: lax.fori_loop(1, n, lambda i, c: c * x + i, 1.0),
        (0.9, np.int32(4)),
    ),
    "fori_empty": lambda jax, lax, jnp: (
        lambda x: lax.fori_loop(5, 3, lambda i, c: c + i, x),
        (np.float32(0.9),),
    ),
    "map": lambda jax, lax, jnp: (lambda w: lax.map(lambda x: jnp.sin(x * w), XS), (1.3,)),
    "map_pytree": lambda jax, lax, jnp: (
        lambda w: lax.map(lambda x: (x[0] * 2, x[1] + w), (np.arange(3), XS)),
        (1.3,),
    ),
    "map_batch_divides": _batched_map(ROWS[:6], 3),
    "map_batch_remainder": _batched_map(ROWS, 3),
    "map_batch_larger": _batched_map(ROWS, 10),
    "map_batch_one": _batched_map(ROWS, 1),
    "map_batch_zero": _batched_map(ROWS, 0),  # one vmap of the whole axis
    "map_batch_pytree": lambda jax, lax, jnp: (
        lambda w: lax.map(
            lambda x: {"h": jnp.sin(x["r"] * w) + x["i"], "n": (x["i"] * 2, None, jnp.sum(x["r"]))},
            {"r": ROWS, "i": np.arange(7)},
            batch_size=2,
        ),
        (1.3,),
    ),
    "map_batch_under_vmap": lambda jax, lax, jnp: (
        lambda w: jax.vmap(
            lambda col, v: lax.map(lambda x: jnp.sin(x * w) * v, col, batch_size=3),
            in_axes=(1, 0),
        )(ROWS, V),
        (1.3,),
    ),
}


def _build(name, lib, lax_module):
    return PROGRAMS[name](lib, lax_module, lib.numpy)


def _assert_same(ours, theirs, real, rtol=1e-5):
    """Same pytree, and leaves of the same type, shape, dtype, weak type and value."""
    got, want = jax.tree_util.tree_leaves(ours), real.tree_util.tree_leaves(theirs)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        if not isinstance(b, real.Array):  # JAX returns a forwarded Python scalar as it is
            assert type(a) is type(b) and a == b, (a, b)
            continue
        assert isinstance(a, jax.Array), (a, b)
        assert (a.shape, a.dtype, a.weak_type) == (b.shape, b.dtype, b.weak_type), (a, b)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-6)


@functools.cache
def _jax_values(name, jitted):
    """JAX's results. Its eager and jit results agree, except that eagerly a forwarded Python
    scalar comes back as it is (so jit runs only then: JAX's compilations dominate this file)."""
    real = pytest.importorskip("jax")
    g, args = _build(name, real, real.lax)
    if not jitted:
        return g(*args)
    eager = _jax_values(name, False)
    if all(isinstance(x, real.Array) for x in real.tree_util.tree_leaves(eager)):
        return eager
    return real.jit(g)(*args)


@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_values_match_jax(name, jitted, real):
    f, args = _build(name, jax, lax)
    if jitted:
        f = jax.jit(f)
    _assert_same(f(*args), _jax_values(name, jitted), real)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_staged_programs_type_check(name):
    f, args = _build(name, jax, lax)
    check_jaxpr(jax.make_jaxpr(f)(*args))


# -- gradients -------------------------------------------------------------------------------

DIFFERENTIABLE = [
    "cond",
    "cond_false",
    "cond_pytree",
    "cond_closure",
    "switch_traced_index",
    "scan",
    "scan_pytree",
    "scan_reverse_unroll",
    "scan_length",
    "scan_forwarded",
    "scan_nested",
    "cond_in_scan",
    "scan_in_cond",
    "fori",
    "map",
    "map_batch_remainder",
    "map_batch_zero",
    "map_batch_pytree",
    "map_batch_under_vmap",
]
# JAX's derivatives take about 0.15 s a program (first order) and 0.25 s (second order) to
# compute; the central differences check every program to second order.
AGAINST_JAX = {
    "cond": 2,
    "cond_pytree": 1,
    "switch_traced_index": 1,
    "scan": 2,
    "scan_pytree": 1,
    "scan_reverse_unroll": 1,
    "scan_nested": 2,
    "cond_in_scan": 1,
    "fori": 2,
    "map": 1,
    "map_batch_remainder": 2,
    "map_batch_pytree": 1,
    "map_batch_under_vmap": 1,
}


def _loss(lib, f):
    """A scalar of every inexact output leaf, each weighted differently."""

    def loss(*args):
        leaves = lib.tree_util.tree_leaves(f(*args))
        terms = [
            lib.numpy.sum(leaf * (k + 1.0))
            for k, leaf in enumerate(leaves)
            if lib.numpy.issubdtype(lib.numpy.result_type(leaf), lib.numpy.inexact)
        ]
        return sum(terms[1:], terms[0])

    return loss


def _wrt(args):
    return tuple(k for k, a in enumerate(args) if np.asarray(a).dtype.kind == "f")


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradients_against_central_differences(name):
    f, args = _build(name, jax, lax)
    wrt = _wrt(args)

    def g(*diff):
        full = list(args)
        for k, a in zip(wrt, diff, strict=True):
            full[k] = a
        return _loss(jax, f)(*full)

    check_grads(g, tuple(args[k] for k in wrt), order=2)


def _second_order(lib, f, wrt):
    """The gradient of a scalar of the gradient: second derivatives of ``f``."""
    return lib.grad(lambda *a: _loss(lib, lib.grad(_loss(lib, f), wrt[0]))(*a), wrt)


@functools.cache
def _jax_derivatives(name):
    """JAX's first (and, for some programs, second) derivatives, computed once for the eager and
    the jit test."""
    real = pytest.importorskip("jax")
    g, args = _build(name, real, real.lax)
    wrt = _wrt(args)
    first = real.grad(_loss(real, g), wrt)(*args)
    return first, _second_order(real, g, wrt)(*args) if AGAINST_JAX[name] == 2 else None


@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", sorted(AGAINST_JAX))
def test_gradients_match_jax(name, jitted, real):
    f, args = _build(name, jax, lax)
    wrt = _wrt(args)
    first, second = jax.grad(_loss(jax, f), wrt), _second_order(jax, f, wrt)
    if jitted:
        first, second = jax.jit(first), jax.jit(second)
    want_first, want_second = _jax_derivatives(name)
    for a, b in zip(first(*args), want_first, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=1e-6)
    if want_second is not None:
        for a, b in zip(second(*args), want_second, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["cond_pytree", "scan", "scan_nested", "fori"])
def test_staged_gradients_type_check(name):
    f, args = _build(name, jax, lax)
    wrt = _wrt(args)
    check_jaxpr(jax.make_jaxpr(jax.grad(_loss(jax, f), wrt))(*args))
    check_jaxpr(jax.make_jaxpr(_second_order(jax, f, wrt))(*args))


def test_vjp_of_a_scan_with_array_outputs(real):
    def build(lib, lax_module):
        def f(h, w):
            return lax_module.scan(lambda c, x: (lib.numpy.tanh(c @ w + x), c * x), h, XS)

        return f

    args = (V, W)
    ct = (np.array([1.0, 2.0], np.float32), np.ones((3, 2), np.float32))
    ours = jax.vjp(build(jax, lax), *args)[1](ct)
    theirs = real.vjp(build(real, real.lax), *args)[1](ct)
    _assert_same(ours, theirs, real)


def test_loop_invariant_residuals_are_not_stacked():
    """A value computed from the loop's constants alone (here ``w.T`` for the backward pass of
    ``c @ w``) is computed once, outside both loops."""

    def loss(h, w):
        return jnp.sum(lax.scan(lambda c, x: (jnp.tanh(c @ w + x), None), h, XS)[0])

    closed = jax.make_jaxpr(jax.grad(loss, 1))(V, W)
    forward, backward = [e for e in closed.jaxpr.eqns if e.prim.name == "scan"]
    assert (3, 2, 2) not in [v.aval.shape for v in forward.outvars]  # no stack of w.T
    assert backward.params["num_consts"] >= 1 and backward.params["reverse"]


def test_while_loop_under_grad_is_an_error_only_when_differentiated():
    def f(x):
        return lax.while_loop(lambda c: c < 10.0, lambda c: c * 2.0, x)

    message = "Reverse-mode differentiation does not work for lax.while_loop"
    with pytest.raises(ValueError, match=message):
        jax.grad(f)(1.0)
    with pytest.raises(ValueError, match=message):
        jax.jit(jax.grad(lambda x, n: lax.fori_loop(0, n, lambda i, c: c * 2.0, x)))(1.0, 3)
    out, f_vjp = jax.vjp(f, 1.0)  # the forward pass runs, as in JAX
    assert float(out) == 16.0
    with pytest.raises(ValueError, match=message):
        f_vjp(1.0)
    # nothing differentiated flows through the loop: the parent runs it
    assert float(jax.grad(lambda x: x + jax.lax.stop_gradient(f(x)))(1.0)) == 1.0
    bound = jax.grad(lambda x: x + lax.while_loop(lambda c: c < x, lambda c: c * 2.0, 1.0))
    assert float(bound(10.0)) == 1.0
    with pytest.raises(ValueError, match=message):
        jax.jit(jax.grad(f))(1.0)


def test_fori_loop_with_static_bounds_is_a_scan():
    closed = jax.make_jaxpr(lambda x: lax.fori_loop(0, 3, lambda i, c: c * 2.0, x))(1.0)
    assert [e.prim.name for e in closed.jaxpr.eqns] == ["scan"]
    closed = jax.make_jaxpr(lambda x, n: lax.fori_loop(0, n, lambda i, c: c * 2.0, x))(1.0, 3)
    assert [e.prim.name for e in closed.jaxpr.eqns] == ["while"]


# -- printed programs ------------------------------------------------------------------------

PRINTED = {
    "cond": (
        lambda x: lax.cond(x > 0, lambda y: y * V, lambda y: y + V, x),
        (np.float32(1.0),),
        """\
{ lambda a:f32[2]; b:f32[]. let
    c:bool[] = gt b 0.0:f32[]
    d:i32[] = convert_element_type[new_dtype=int32 weak_type=False] c
    e:f32[2] = cond[
      branches=(
        { lambda ; f:f32[2] g:f32[]. let h:f32[2] = add g f in (h,) }
        { lambda ; i:f32[2] j:f32[]. let k:f32[2] = mul j i in (k,) }
      )
    ] d a b
  in (e,) }""",
    ),
    "switch": (
        lambda i, x: lax.switch(i, [jnp.sin, jnp.cos, lambda y: -y], x),
        (1, np.float32(1.0)),
        """\
{ lambda ; a:i32[] b:f32[]. let
    c:i32[] = convert_element_type[new_dtype=int32 weak_type=False] a
    d:i32[] = clamp 0:i32[] c 2:i32[]
    e:f32[] = cond[
      branches=(
        { lambda ; f:f32[]. let g:f32[] = sin f in (g,) }
        { lambda ; h:f32[]. let i:f32[] = cos h in (i,) }
        { lambda ; j:f32[]. let k:f32[] = neg j in (k,) }
      )
    ] d b
  in (e,) }""",
    ),
    "scan": (
        lambda c, xs: lax.scan(lambda c, x: (c * x, jnp.sin(c) + x), c, xs),
        (np.float32(1.0), XS),
        """\
{ lambda ; a:f32[] b:f32[3]. let
    c:f32[] d:f32[3] = scan[
      jaxpr={ lambda ; e:f32[] f:f32[]. let
          g:f32[] = mul e f
          h:f32[] = sin e
          i:f32[] = add h f
        in (g, i) }
      length=3
      num_carry=1
      num_consts=0
      reverse=False
      unroll=1
    ] a b
  in (c, d) }""",
    ),
    "while": (
        lambda x: lax.while_loop(lambda c: c < 10.0, lambda c: c * 2.0, x),
        (np.float32(1.0),),
        """\
{ lambda ; a:f32[]. let
    b:f32[] = while[
      body_jaxpr={ lambda ; c:f32[]. let d:f32[] = mul c 2.0:f32[] in (d,) }
      body_nconsts=0
      cond_jaxpr={ lambda ; e:f32[]. let f:bool[] = lt e 10.0:f32[] in (f,) }
      cond_nconsts=0
    ] a
  in (b,) }""",
    ),
}


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_printed_as_jax_prints(name):
    f, args, expected = PRINTED[name]
    assert str(jax.make_jaxpr(f)(*args)) == expected


# -- custom_vjp in bodies (custom-vjp-spec §6, scenarios 39-41) -------------------------------


@jax.custom_vjp
def S(x):
    return jnp.sin(x)


S.defvjp(lambda x: (S(x), jnp.cos(x)), lambda c, g: (2 * c * g,))


def _close(got, want):
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)


def test_custom_vjp_in_scan():
    def foo(x, length=1):
        return lax.scan(lambda c, _: (S(c), None), x, None, length=length)[0]

    _close(jax.grad(foo)(3.0), -1.979985)
    _close(jax.grad(jax.grad(foo))(3.0), -0.28224)
    _close(jax.grad(functools.partial(foo, length=2))(3.0), -3.9206042)
    _close(jax.jit(jax.grad(foo))(3.0), -1.979985)
    _close(jax.jit(jax.grad(jax.grad(foo)))(3.0), -0.28224)


def test_custom_vjp_in_cond_and_loops():
    f = jax.grad(lambda x: lax.cond(x > 0, S, lambda y: 3 * y, x))
    _close(f(3.0), -1.979985)
    _close(f(-3.0), 3.0)
    _close(jax.jit(f)(3.0), -1.979985)
    _close(jax.grad(lambda x: lax.fori_loop(0, 2, lambda i, c: S(c), x))(3.0), -3.9206042)
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work"):
        jax.grad(lambda x: lax.while_loop(lambda c: c < 10.0, lambda c: S(c) + 20.0, x))(3.0)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def fixed_point(f, a, x_guess):
    def cond_fun(carry):
        x_prev, x = carry
        return jnp.abs(x_prev - x) > 1e-6

    def body_fun(carry):
        _, x = carry
        return x, f(a, x)

    _, x_star = lax.while_loop(cond_fun, body_fun, (x_guess, f(a, x_guess)))
    return x_star


def _fixed_point_fwd(f, a, x_init):
    x_star = fixed_point(f, a, x_init)
    return x_star, (a, x_star)


def _fixed_point_rev(f, res, x_star_bar):
    a, x_star = res
    _, vjp_a = jax.vjp(lambda a: f(a, x_star), a)
    (a_bar,) = vjp_a(
        fixed_point(functools.partial(_rev_iter, f), (a, x_star, x_star_bar), x_star_bar)
    )
    return a_bar, jnp.zeros_like(x_star)


def _rev_iter(f, packed, u):
    a, x_star, x_star_bar = packed
    _, vjp_x = jax.vjp(lambda x: f(a, x), x_star)
    return x_star_bar + vjp_x(u)[0]


fixed_point.defvjp(_fixed_point_fwd, _fixed_point_rev)


def newton_sqrt(a):
    return fixed_point(lambda a, x: 0.5 * (x + a / x), a, a)


def test_fixed_point_through_while_loop():
    _close(newton_sqrt(2.0), 1.4142135)
    _close(jax.grad(newton_sqrt)(2.0), 0.35355338)
    _close(jax.grad(jax.grad(newton_sqrt))(2.0), -0.08838835)
    _close(jax.jit(newton_sqrt)(2.0), 1.4142135)
    _close(jax.jit(jax.grad(newton_sqrt))(2.0), 0.35355338)


# -- closures over values being differentiated --------------------------------------------------


def test_bodies_closing_over_traced_values(real):
    def build(lib, lax_module):
        np_ = lib.numpy

        def f(x, w):
            ys = lax_module.map(lambda v: np_.sin(v * w), XS)
            c = lax_module.cond(x > 0, lambda: x * w, lambda: x - w)
            return lax_module.fori_loop(0, 3, lambda i, c: c * w + np_.sum(ys), c)

        return f

    args = (0.5, 1.3)
    ours = jax.grad(build(jax, lax), (0, 1))(*args)
    theirs = real.grad(build(real, real.lax), (0, 1))(*args)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5)
    check_grads(build(jax, lax), args, order=2)


# -- disable_jit: the Python semantics ---------------------------------------------------------


def test_disable_jit_runs_python():
    calls = []

    def true_fun(x):
        calls.append("true")
        return x

    with jax.disable_jit():
        assert float(lax.cond(True, true_fun, lambda x: x / 0, 1.0)) == 1.0
        assert calls == ["true"]
        carry, ys = lax.scan(lambda c, x: (c + x, c), 0.0, XS, reverse=True)
        np.testing.assert_allclose(float(carry), XS.sum(), rtol=1e-6)
        np.testing.assert_allclose(np.asarray(ys), [XS[1] + XS[2], XS[2], 0.0], rtol=1e-6)
        assert int(lax.while_loop(lambda c: c < 10, lambda c: c * 2, 1)) == 16
        assert float(lax.fori_loop(0, 3, lambda i, c: c + i, 0.0)) == 3.0
        with pytest.raises(ValueError, match="zero-length scan"):
            lax.scan(lambda c, x: (c, x), 0.0, np.zeros((0,)))


# -- errors ------------------------------------------------------------------------------------


def test_branch_output_errors():
    with pytest.raises(
        TypeError,
        match=r"(?s)cond branches must have equal output types.*"
        r"The output of true_fun has type int32\[\] but the corresponding output "
        r"of false_fun has type float32\[\], so the dtypes do not match",
    ):
        lax.cond(True, lambda: 1, lambda: 2.0)
    with pytest.raises(
        TypeError,
        match=r"output of true_fun at path \['a'\] has type "
        r"float32\[3\] .* float32\[2\], so the shapes do not match",
    ):
        lax.cond(True, lambda: {"a": jnp.ones(3)}, lambda: {"a": jnp.ones(2)})
    with pytest.raises(
        TypeError,
        match=r"(?s)same pytree structure.*true_fun output is a "
        r"<class 'tuple'> but false_fun output is a pytree leaf",
    ):
        lax.cond(True, lambda: (1.0, 2.0), lambda: 1.0)
    with pytest.raises(
        TypeError,
        match=r"output of branch 0 has type float32\[\] but the "
        r"corresponding output of branch 2 has type float32\[2\]",
    ):
        lax.switch(0, [lambda: 1.0, lambda: 2.0, lambda: jnp.ones(2)])


def test_predicate_and_index_errors():
    with pytest.raises(TypeError, match=r"lax.cond: Pred must be a scalar, got .* shape \(2,\)"):
        lax.cond(jnp.array([True, False]), lambda: 1.0, lambda: 2.0)
    with pytest.raises(TypeError, match="lax.cond: Pred type must be either boolean or number"):
        lax.cond(1j, lambda: 1.0, lambda: 2.0)
    with pytest.raises(TypeError, match="should be callable"):
        lax.cond(True, 1.0, lambda: 2.0)
    with pytest.raises(TypeError, match="Index type must be an integer, got 1.0 as float32"):
        lax.switch(1.0, [lambda: 1.0, lambda: 2.0])
    with pytest.raises(TypeError, match=r"Branch index must be scalar, .* shape \(2,\)"):
        lax.switch(jnp.array([1, 2]), [lambda: 1.0, lambda: 2.0])
    with pytest.raises(ValueError, match="lax.switch: empty branch sequence"):
        lax.switch(0, [])
    assert lax.switch(3, [lambda: 1.0]) == 1.0  # one branch: called as it is, as in JAX


def test_loop_carry_errors():
    with pytest.raises(
        TypeError,
        match=r"(?s)scan body function carry input and carry output "
        r"must have equal types.*The input carry c has type float32\[\] but the "
        r"corresponding output carry component has type float32\[3\], so the "
        r"shapes do not match",
    ):
        lax.scan(lambda c, x: (c * jnp.ones(3), None), 1.0, None, length=2)
    with pytest.raises(
        TypeError,
        match=r"The input carry component c\['b'\] has type "
        r"float32\[\] .* float16\[\], so the dtypes do not match",
    ):
        lax.scan(
            lambda c, x: ({"a": c["a"], "b": c["b"].astype(jnp.float16)}, None),
            {"a": 1.0, "b": jnp.float32(2)},
            None,
            length=2,
        )
    with pytest.raises(
        TypeError,
        match=r"(?s)must have the same pytree structure.*The input "
        r"carry c is a pytree leaf but the corresponding component of the carry "
        r"output is a <class 'tuple'>",
    ):
        lax.scan(lambda c, x: ((c, c), None), 1.0, None, length=2)
    with pytest.raises(
        TypeError,
        match=r"while_loop body function carry input and carry output "
        r"must have equal types",
    ):
        lax.while_loop(lambda c: c < 3, lambda c: c * jnp.ones(2), 1.0)
    with pytest.raises(
        TypeError,
        match=r"cond_fun must return a boolean scalar, but got output "
        r"type\(s\) \[ShapedArray\(float32\[\], weak_type=True\)\]",
    ):
        lax.while_loop(lambda c: c, lambda c: c * 2.0, 1.0)
    with pytest.raises(TypeError, match="cond_fun must return a boolean scalar, but got pytree"):
        lax.while_loop(lambda c: (c < 3, c < 3), lambda c: c * 2.0, 1.0)


def test_scan_argument_errors():
    with pytest.raises(ValueError, match="scan got no values to scan over and `length` not"):
        lax.scan(lambda c, x: (c, None), 1.0, None)
    with pytest.raises(
        ValueError,
        match=r"`length` argument of 4 which disagrees with leading "
        r"axis sizes \[3\]",
    ):
        lax.scan(lambda c, x: (c, None), 1.0, XS, length=4)
    with pytest.raises(ValueError, match="different leading axis sizes: 3, 4"):
        lax.scan(lambda c, x: (c, None), 1.0, (XS, np.ones(4)))
    with pytest.raises(ValueError, match="no leading axis to scan over"):
        lax.scan(lambda c, x: (c, None), 1.0, np.float32(1.0))
    with pytest.raises(TypeError, match=r"lax.scan: the body output must be a pair"):
        lax.scan(lambda c, x: c, 1.0, None, length=2)
    with pytest.raises(ValueError, match="`unroll` must be a `bool` or a non-negative `int`"):
        lax.scan(lambda c, x: (c, None), 1.0, XS, unroll=-1)
    with pytest.raises(TypeError, match="lax.scan: f argument should be a callable"):
        lax.scan(3, 1.0, XS)


def test_map_batches_in_one_scan_and_the_remainder_in_one_vmap():
    seen = []

    def f(x):
        seen.append(x.shape)
        return x * 2.0

    closed = jax.make_jaxpr(lambda xs: lax.map(f, xs, batch_size=3))(ROWS)
    assert seen == [(2,), (2,)]  # one example each time: traced for the scan, then the rest
    names = [e.prim.name for e in closed.jaxpr.eqns]
    assert names == ["slice", "reshape", "scan", "reshape", "slice", "mul", "concatenate"]
    scan_eqn = closed.jaxpr.eqns[2]
    assert scan_eqn.params["length"] == 2
    assert [a.str_short() for a in scan_eqn.params["jaxpr"].in_avals] == ["float32[3,2]"]


@pytest.mark.parametrize(
    "size, error, message",
    [
        (2.0, TypeError, "batch_size must be a non-negative int or None, got 2.0 of type float"),
        ("2", TypeError, "batch_size must be a non-negative int or None, got '2' of type str"),
        (-1, ValueError, r"batch_size must be a non-negative int \(0 maps the whole axis"),
    ],
)
def test_map_batch_size_errors(size, error, message):
    with pytest.raises(error, match="lax.map: " + message):
        lax.map(jnp.sin, XS, batch_size=size)


@pytest.mark.parametrize("size", [2.0, "2"])
def test_map_batch_size_of_another_type_is_a_type_error_in_jax_too(size, real):
    # JAX does not check batch_size: the error comes from its slicing, reshaping or divmod, and
    # its message and (for a negative size) its type depend on the length
    with pytest.raises(TypeError):
        real.lax.map(real.numpy.sin, XS, batch_size=size)


def test_fori_loop_argument_errors():
    with pytest.raises(TypeError, match="must have equal types, got int32 and int16"):
        lax.fori_loop(jnp.int32(0), jnp.int16(3), lambda i, c: c, 0.0)
    with pytest.raises(ValueError, match="can only use `unroll` if the loop bounds are"):
        jax.jit(lambda n: lax.fori_loop(0, n, lambda i, c: c + i, 0, unroll=2))(3)
    with pytest.raises(TypeError, match="lax.fori_loop: body_fun argument should be callable"):
        lax.fori_loop(0, 3, 5, 0)
