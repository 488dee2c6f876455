"""``checkpoint``/``remat``, its policies, ``checkpoint_name``, ``saved_residuals`` and
custom_vjp's ``optimize_remat`` (custom-vjp-spec §3, §4.5, scenarios 42-45, E16-E18).

A checkpointed function must give what the plain function gives (values, first and second
derivatives, under every transformation and policy), what JAX 0.10.2's ``jax.checkpoint`` gives
(values, dtypes, weak types), and float64 central differences; what its forward pass keeps must
be what JAX's ``print_saved_residuals`` lists (``matmul`` for JAX's ``dot_general``: pullback's
product primitive); its programs print as JAX's and type-check, and it keeps less memory.
"""

import collections
import contextlib
import functools
import gc
import io
import math
import tracemalloc

import numpy as np
import pytest
from test_control_flow import _loss

import pullback as jax
import pullback.ad_checkpoint
import pullback.numpy as jnp
from pullback._hop.checkpoint import saveable_by
from pullback._hop.partial_eval import dependent_outputs, vjp_split
from pullback._ir import check_jaxpr, eval_closed
from pullback.ad_checkpoint import checkpoint_name, print_saved_residuals, saved_residuals
from pullback.custom_derivatives import CustomVJPPrimal
from pullback.errors import TracerBoolConversionError
from pullback.test_util import check_grads


@pytest.fixture(scope="module")
def real():
    real_jax = pytest.importorskip("jax")
    pytest.importorskip("jax.ad_checkpoint")
    return real_jax


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def _assert_tree_close(got, want, tol=1e-5):
    """Same pytree (as pullback flattens it), same shapes and dtypes, values to rounding."""
    g_leaves, g_tree = jax.tree_util.tree_flatten(got)
    w_leaves, w_tree = jax.tree_util.tree_flatten(want)
    assert g_tree == w_tree, (g_tree, w_tree)
    for a, b in zip(g_leaves, w_leaves, strict=True):
        assert np.shape(a) == np.shape(b), (a, b)
        assert np.asarray(a).dtype == np.asarray(b).dtype, (a, b)
        close(a, b, tol)


def _assert_same_as_jax(ours, theirs, real, tol=1e-5, weak_types=True):
    """Leaves of the same shape, dtype, weak type (unless ``weak_types`` is false) and value as
    JAX's."""
    got, want = jax.tree_util.tree_leaves(ours), real.tree_util.tree_leaves(theirs)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert isinstance(a, jax.Array), (a, b)
        assert isinstance(b, real.Array), (a, b)
        assert (a.shape, a.dtype) == (b.shape, b.dtype), (a, b)
        if weak_types:
            assert a.weak_type == b.weak_type, (a, b)
        close(a, b, tol)


# -- programs run on pullback and on JAX ----------------------------------------------------------

RNG = np.random.default_rng(0)
X3 = np.array([0.3, -0.7, 1.1], np.float32)
C3 = np.array([0.5, -1.0, 2.0], np.float32)
I3 = np.array([1, 2, 3], np.int32)
XB = RNG.standard_normal((5, 3)).astype(np.float32)
PARAMS = [
    (RNG.standard_normal((3, 4)).astype(np.float32), RNG.standard_normal(4).astype(np.float32)),
    (RNG.standard_normal((4, 2)).astype(np.float32), RNG.standard_normal(2).astype(np.float32)),
]


def _cn(lib):
    return lib.ad_checkpoint.checkpoint_name


def _sin_cos(lib):
    np_, cn = lib.numpy, _cn(lib)

    def f(x):
        y = cn(np_.sin(np_.cos(np_.sin(x)) * x), "act")
        return y * np_.cos(x)

    return f, (X3,)


def _mlp_fn(lib):
    np_, cn = lib.numpy, _cn(lib)

    def mlp(params, x):
        for W, b in params:
            x = cn(np_.tanh(cn(x @ W, "dot") + b), "act")
        return x

    return mlp


def _mlp(lib):
    return _mlp_fn(lib), (PARAMS, XB)


def _pytree(lib):
    np_ = lib.numpy

    def f(d):
        a, (s, v) = d["a"], d["b"]
        return {"u": np_.sin(a) * s, "v": np_.cos(v * a).sum() + s**2}

    return f, ({"a": X3, "b": (1.5, X3 * 2)},)


def _multi_out(lib):
    np_ = lib.numpy

    def f(x, y):
        return np_.sin(x) * y, np_.cos(x * y), np_.exp(-x) + y

    return f, (X3, 0.7)


def _int_arg(lib):
    np_ = lib.numpy

    def f(x, n):  # n is an integer array, used and passed through
        return np_.sin(x) ** 2 * n, n + 1, np_.tanh(x * n)

    return f, (X3, I3)


def _closure(lib):
    np_ = lib.numpy
    c = np_.asarray(C3)  # a concrete array of the library

    def f(x):
        return np_.sin(x * c) + c * np_.cos(x)

    return f, (X3,)


PROGRAMS = {
    "sin_cos": _sin_cos,
    "mlp": _mlp,
    "pytree": _pytree,
    "multi_out": _multi_out,
    "int_arg": _int_arg,
    "closure": _closure,
}


def _big_operands(prim, *avals, **params):
    """A user's policy: keep what operations on more than 8 numbers compute."""
    return sum(int(np.prod(a.shape)) for a in avals) > 8


POLICIES = {
    "none": lambda cp: None,
    "everything": lambda cp: cp.everything_saveable,
    "nothing": lambda cp: cp.nothing_saveable,
    "dots": lambda cp: cp.dots_saveable,
    "dots_no_batch": lambda cp: cp.dots_with_no_batch_dims_saveable,
    "only_names": lambda cp: cp.save_only_these_names("act"),
    "but_names": lambda cp: cp.save_any_names_but_these("act"),
    "both": lambda cp: cp.save_from_both_policies(
        cp.dots_saveable, cp.save_only_these_names("act")
    ),
    "user": lambda cp: _big_operands,
}


def _policy(lib, name):
    return POLICIES[name](lib.checkpoint_policies)


def _wrt(args):
    return tuple(
        k
        for k, a in enumerate(args)
        if all(np.asarray(x).dtype.kind == "f" for x in jax.tree_util.tree_leaves(a))
    )


def _build(name, lib, policy=None, checkpointed=True):
    """(checkpointed function, arguments, differentiated positions)."""
    f, args = PROGRAMS[name](lib)
    if checkpointed:
        f = lib.checkpoint(f, policy=None if policy is None else _policy(lib, policy))
    return f, args, _wrt(args)


def _second_order(lib, f, wrt):
    """The gradient of a scalar of the gradient: second derivatives of ``f``."""
    return lib.grad(lambda *a: _loss(lib, lib.grad(_loss(lib, f), wrt[0]))(*a), wrt)


def _value_and_grad(lib, f, wrt, mode):
    loss = _loss(lib, f)
    if mode == "eager":
        return lib.value_and_grad(loss, wrt)
    if mode == "jit_grad":
        return lib.jit(lib.value_and_grad(loss, wrt))
    assert mode == "grad_jit"
    return lib.value_and_grad(lib.jit(loss), wrt)


@functools.cache
def _plain(name):
    """pullback's value, gradient and second derivatives without checkpoint."""
    f, args, wrt = _build(name, jax, checkpointed=False)
    return (
        f(*args),
        jax.value_and_grad(_loss(jax, f), wrt)(*args),
        _second_order(jax, f, wrt)(*args),
    )


@functools.cache
def _jax_first(name, policy):
    """JAX's value and (value, gradient) of the loss under ``jax.checkpoint``, eagerly."""
    real = pytest.importorskip("jax")
    pytest.importorskip("jax.ad_checkpoint")
    f, args, wrt = _build(name, real, policy)
    return f(*args), real.value_and_grad(_loss(real, f), wrt)(*args)


MODES = ["eager", "jit_grad", "grad_jit"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("policy", ["none", "nothing", "dots"])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_values_and_gradients_match_plain_and_jax(name, policy, mode, real):
    f, args, wrt = _build(name, jax, policy)
    want_out, want_vg, _ = _plain(name)
    _assert_tree_close(f(*args), want_out)
    got = _value_and_grad(jax, f, wrt, mode)(*args)
    _assert_tree_close(got, want_vg)
    jax_out, jax_vg = _jax_first(name, policy)
    _assert_same_as_jax(f(*args), jax_out, real)
    # under jit(grad) the gradient of a Python scalar argument comes back strongly typed, with
    # or without checkpoint: test_jit_of_grad_keeps_the_weak_type_of_a_python_scalar
    _assert_same_as_jax(got, jax_vg, real, weak_types=mode != "jit_grad")


def test_jit_of_grad_keeps_the_weak_type_of_a_python_scalar(real):
    """JAX gives the gradient of a weakly typed argument its weak type under jit(grad) too (its
    program ends in convert_element_type[weak_type=True]); pullback does so eagerly and under
    grad(jit), but not under jit(grad), with or without checkpoint."""
    x = np.ones(3, np.float32)
    for lib in (real, jax):
        for f in (lambda x, y: x[0] * y, lib.checkpoint(lambda x, y: x[0] * y)):
            eager = lib.grad(f, 1)(x, 0.7)
            assert (eager.dtype, eager.weak_type) == (np.float32, True)
            jitted = lib.jit(lib.grad(f, 1))(x, 0.7)
            assert (jitted.dtype, jitted.weak_type) == (np.float32, True), lib.__name__


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("name", ["mlp", "sin_cos"])
def test_every_policy_gives_the_plain_gradient(name, policy, mode, real):
    f, args, wrt = _build(name, jax, policy)
    got = _value_and_grad(jax, f, wrt, mode)(*args)
    _assert_tree_close(got, _plain(name)[1])
    _assert_same_as_jax(got, _jax_first(name, policy)[1], real)


@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_second_order_matches_plain(name, policy, jitted):
    f, args, wrt = _build(name, jax, policy)
    second = _second_order(jax, f, wrt)
    if jitted:
        second = jax.jit(second)
    _assert_tree_close(second(*args), _plain(name)[2], tol=1e-4)


@functools.cache
def _jax_second(name, policy):
    real = pytest.importorskip("jax")
    f, args, wrt = _build(name, real, policy)
    return _second_order(real, f, wrt)(*args)


@pytest.mark.parametrize(("name", "policy"), [("sin_cos", "none"), ("mlp", "dots")])
def test_second_order_matches_jax(name, policy, real):
    f, args, wrt = _build(name, jax, policy)
    got = _second_order(jax, f, wrt)(*args)
    want = _jax_second(name, policy)
    for a, b in zip(jax.tree_util.tree_leaves(got), real.tree_util.tree_leaves(want), strict=True):
        assert a.dtype == b.dtype
        close(a, b, 1e-4)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_central_differences(name):
    f, args, wrt = _build(name, jax)

    def g(*diff):
        full = list(args)
        for k, a in zip(wrt, diff, strict=True):
            full[k] = a
        return _loss(jax, f)(*full)

    check_grads(g, tuple(args[k] for k in wrt), order=2)


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_central_differences_every_policy(policy):
    f, args, wrt = _build("mlp", jax, policy)
    check_grads(lambda p, x: _loss(jax, f)(p, x), args, order=2, modes=("rev",))


@pytest.fixture(params=[False, True], ids=["x32", "x64"])
def x64(request, real):
    with jax.enable_x64(request.param), real.enable_x64(request.param):
        yield request.param


@pytest.mark.parametrize("name", ["sin_cos", "multi_out", "int_arg"])
def test_dtypes_match_jax_with_and_without_x64(name, x64, real):
    f, args, wrt = _build(name, jax)
    rf, rargs, _ = _build(name, real)
    got = jax.value_and_grad(_loss(jax, f), wrt)(*args)
    want = real.value_and_grad(_loss(real, rf), wrt)(*rargs)
    _assert_same_as_jax(got, want, real)
    _assert_same_as_jax(f(*args), rf(*rargs), real)
    # the int argument passed through keeps its dtype
    if name == "int_arg":
        assert f(*args)[1].dtype == np.int32
        np.testing.assert_array_equal(f(*args)[1], I3 + 1)


# -- other transformations ---------------------------------------------------------------------


def _mlp_per_example(lib, policy=None):
    mlp = _mlp_fn(lib)
    ck = lib.checkpoint(mlp, policy=policy)
    return lambda params, row: lib.numpy.sum(ck(params, row) ** 2)


def _plain_per_example(params, row):
    return jnp.sum(_mlp_fn(jax)(params, row) ** 2)


@pytest.mark.parametrize("policy", ["none", "dots", "everything"])
def test_vmap_of_grad(policy, real):
    loss = _mlp_per_example(jax, _policy(jax, policy))
    got = jax.vmap(jax.grad(loss), in_axes=(None, 0))(PARAMS, XB)
    rows = [jax.grad(_plain_per_example)(PARAMS, XB[k]) for k in range(XB.shape[0])]
    want = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *rows)
    _assert_tree_close(got, want)
    rloss = _mlp_per_example(real, _policy(real, policy))
    theirs = real.vmap(real.grad(rloss), in_axes=(None, 0))(PARAMS, XB)
    _assert_same_as_jax(got, theirs, real)
    jitted = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0)))(PARAMS, XB)
    _assert_tree_close(jitted, want)


@pytest.mark.parametrize("policy", ["none", "dots"])
def test_grad_of_vmap(policy, real):
    ck = jax.checkpoint(_mlp_fn(jax), policy=_policy(jax, policy))
    batched = jax.vmap(ck, in_axes=(None, 0))

    def loss(params, x):
        return jnp.sum(batched(params, x) ** 2)

    got = jax.grad(loss, (0, 1))(PARAMS, XB)
    want = jax.grad(lambda p, x: jnp.sum(_mlp_fn(jax)(p, x) ** 2), (0, 1))(PARAMS, XB)
    _assert_tree_close(got, want)
    _assert_tree_close(jax.jit(jax.grad(loss, (0, 1)))(PARAMS, XB), want)
    rck = real.vmap(real.checkpoint(_mlp_fn(real), policy=_policy(real, policy)), in_axes=(None, 0))
    theirs = real.grad(lambda p, x: real.numpy.sum(rck(p, x) ** 2), (0, 1))(PARAMS, XB)
    _assert_same_as_jax(got, theirs, real)
    # the batched checkpointed function's value
    _assert_tree_close(batched(PARAMS, XB), _mlp_fn(jax)(PARAMS, XB))


def _chain(lib):
    np_ = lib.numpy
    return lambda x: np_.sin(np_.cos(x) * x) * np_.exp(-x * x)


@pytest.mark.parametrize("policy", ["none", "dots", "everything"])
def test_forward_mode_and_hessian(policy, real):
    f = jax.checkpoint(_chain(jax), policy=_policy(jax, policy))
    plain = _chain(jax)
    t = np.array([1.0, -0.5, 2.0], np.float32)
    out, tan = jax.jvp(f, (X3,), (t,))
    want_out, want_tan = jax.jvp(plain, (X3,), (t,))
    close(out, want_out)
    close(tan, want_tan)
    close(jax.jacfwd(f)(X3), jax.jacfwd(plain)(X3))
    close(jax.jacrev(f)(X3), jax.jacfwd(plain)(X3))
    scalar = lambda x: jnp.sum(f(x))  # noqa: E731
    want_h = jax.hessian(lambda x: jnp.sum(plain(x)))(X3)
    close(jax.hessian(scalar)(X3), want_h, 1e-4)
    close(jax.jit(jax.hessian(scalar))(X3), want_h, 1e-4)
    close(jax.jacrev(jax.jacrev(scalar))(X3), want_h, 1e-4)
    # forward over reverse of a jvp: the checkpoint under jvp under grad
    g = jax.grad(lambda x: jnp.sum(jax.jvp(f, (x,), (t,))[1]))(X3)
    close(g, jax.grad(lambda x: jnp.sum(jax.jvp(plain, (x,), (t,))[1]))(X3), 1e-4)
    rf = real.checkpoint(_chain(real), policy=_policy(real, policy))
    theirs = real.jvp(rf, (X3,), (t,))
    _assert_same_as_jax((out, tan), theirs, real)


def test_hessian_against_jax(real):
    f = jax.checkpoint(_chain(jax))
    rf = real.checkpoint(_chain(real))
    got = jax.hessian(lambda x: jnp.sum(f(x)))(X3)
    want = real.hessian(lambda x: real.numpy.sum(rf(x)))(X3)
    _assert_same_as_jax(got, want, real, 1e-4)
    check_grads(lambda x: jnp.sum(f(x)), (X3,), order=2, modes=("fwd", "rev"))


# -- control flow -------------------------------------------------------------------------------

XS = np.array([0.2, -0.4, 0.9, 0.1], np.float32)


def _scan_program(lib, checkpointed=True, policy=None):
    np_ = lib.numpy

    def loss(c0, w):
        def step(c, x):  # closes over w, a traced value under grad
            c = np_.tanh(c * w + x)
            return c, np_.sin(c) * x

        body = lib.checkpoint(step, policy=policy) if checkpointed else step
        c, ys = lib.lax.scan(body, c0, XS)
        return c * 2.0 + np_.sum(ys**2)

    return loss


def _fori_program(lib, checkpointed=True, policy=None):
    np_ = lib.numpy

    def loss(x, w):
        def body(i, c):
            return np_.sin(c) * w + np_.cos(c * i)

        body = lib.checkpoint(body, policy=policy) if checkpointed else body
        return np_.sum(lib.lax.fori_loop(0, 3, body, x) ** 2)

    return loss


def _cond_program(lib, checkpointed=True, policy=None):
    np_ = lib.numpy

    def loss(x, w):
        def yes(y):
            return np_.sin(y * w) ** 2 * np_.cos(y)

        yes = lib.checkpoint(yes, policy=policy) if checkpointed else yes
        return np_.sum(lib.lax.cond(np_.sum(x) > 0, yes, lambda y: np_.cos(y) * w, x))

    return loss


CONTROL_FLOW = {
    "scan": (_scan_program, (np.float32(0.3), np.float32(0.8))),
    "fori": (_fori_program, (X3, np.float32(0.6))),
    "cond_true": (_cond_program, (X3, np.float32(1.3))),
    "cond_false": (_cond_program, (-X3 - 1, np.float32(1.3))),
}


@pytest.mark.parametrize("policy", ["none", "dots", "everything"])
@pytest.mark.parametrize("name", sorted(CONTROL_FLOW))
def test_checkpoint_inside_control_flow(name, policy, real):
    build, args = CONTROL_FLOW[name]
    loss = build(jax, policy=_policy(jax, policy))
    plain = build(jax, checkpointed=False)
    want = jax.value_and_grad(plain, (0, 1))(*args)
    _assert_tree_close(jax.value_and_grad(loss, (0, 1))(*args), want)
    _assert_tree_close(jax.jit(jax.value_and_grad(loss, (0, 1)))(*args), want)
    _assert_tree_close(jax.value_and_grad(jax.jit(loss), (0, 1))(*args), want)
    second = jax.grad(lambda x, w: jnp.sum(jax.grad(loss)(x, w)), (0, 1))(*args)
    want2 = jax.grad(lambda x, w: jnp.sum(jax.grad(plain)(x, w)), (0, 1))(*args)
    _assert_tree_close(second, want2, 1e-4)
    rloss = build(real, policy=_policy(real, policy))
    _assert_same_as_jax(
        jax.value_and_grad(loss, (0, 1))(*args), real.value_and_grad(rloss, (0, 1))(*args), real
    )


@pytest.mark.parametrize("name", sorted(CONTROL_FLOW))
def test_control_flow_central_differences(name):
    build, args = CONTROL_FLOW[name]
    check_grads(build(jax), args, order=2, modes=("rev",))


def test_scan_of_checkpointed_steps_stacks_only_the_carries(real):
    """The forward pass of a scan over a checkpointed step stacks the carry per step and nothing
    the step computes inside: one stacked residual, where the plain scan stacks three."""
    args = CONTROL_FLOW["scan"][1]

    def kept(loss, residuals=saved_residuals):
        return [(a.shape, w.split(" from ")[0]) for a, w in residuals(loss, *args)]

    stacked = ((4,), "output of scan")
    tail = [((), "from the argument w"), ((4,), "output of mul")]  # w, and the loss's 2 ys
    assert sorted(kept(_scan_program(jax))) == sorted([*tail, stacked])
    assert sorted(kept(_scan_program(jax, checkpointed=False))) == sorted([*tail, *[stacked] * 3])
    # JAX stacks two per step (and lists a literal, which pullback never keeps)
    theirs = kept(_scan_program(real), real_saved_residuals(real))
    assert sorted(theirs) == sorted([((), "from a literal"), *tail, *[stacked] * 2])


# -- nested checkpoints (sqrt(N) scheme) ----------------------------------------------------------

WS9 = [RNG.standard_normal((4, 4)).astype(np.float32) * 0.6 for _ in range(9)]
H0 = RNG.standard_normal((2, 4)).astype(np.float32)


def _nested(lib, nested=True):
    np_ = lib.numpy

    def layer(h, W):
        return np_.tanh(h @ W)

    def group(h, Ws):
        for W in Ws:
            h = lib.checkpoint(layer)(h, W) if nested else layer(h, W)
        return h

    def loss(h, Ws):
        for k in range(0, len(Ws), 3):
            h = lib.checkpoint(group)(h, Ws[k : k + 3]) if nested else group(h, Ws[k : k + 3])
        return np_.sum(h**2)

    return loss


def test_nested_checkpoints(real):
    loss, plain = _nested(jax), _nested(jax, nested=False)
    want = jax.value_and_grad(plain, (0, 1))(H0, WS9)
    for g in (
        jax.value_and_grad(loss, (0, 1)),
        jax.jit(jax.value_and_grad(loss, (0, 1))),
        jax.value_and_grad(jax.jit(loss), (0, 1)),
    ):
        _assert_tree_close(g(H0, WS9), want)
    second = jax.grad(lambda h, Ws: jnp.sum(jax.grad(loss)(h, Ws)), (0, 1))(H0, WS9)
    want2 = jax.grad(lambda h, Ws: jnp.sum(jax.grad(plain)(h, Ws)), (0, 1))(H0, WS9)
    _assert_tree_close(second, want2, 1e-4)
    theirs = real.value_and_grad(_nested(real), (0, 1))(H0, WS9)
    _assert_same_as_jax(jax.value_and_grad(loss, (0, 1))(H0, WS9), theirs, real)
    # the outer forward pass keeps the arguments, two group outputs and the loss's 2h
    kept = saved_residuals(loss, H0, WS9)
    computed = [(a.shape, w.split(" from ")[0]) for a, w in kept if "argument" not in w]
    assert len(computed) == 3 and all(s == (2, 4) for s, _ in computed)
    rkept = real_saved_residuals(real)(_nested(real), H0, WS9)
    assert sorted(a.shape for a, w in rkept if "argument" not in w) == [(2, 4)] * 3
    plain_kept = [a for a, w in saved_residuals(plain, H0, WS9) if "argument" not in w]
    assert len(plain_kept) == 9 + 8 + 1  # 1 - tanh^2 per layer, 8 inner activations, 2h


def test_nested_checkpoint_central_differences():
    check_grads(_nested(jax), (H0, WS9[:6]), order=2, modes=("rev",))


# -- static_argnums -------------------------------------------------------------------------------


def _static_program(lib):
    np_ = lib.numpy

    def f(x, n, kind):  # n and kind steer Python control flow
        for _ in range(n):
            x = np_.sin(x) if kind == "sin" else np_.cos(x) * x
        return np_.sum(x)

    return f


@pytest.mark.parametrize(("n", "kind"), [(1, "sin"), (3, "sin"), (2, "cos")])
def test_static_argnums(n, kind, real):
    f = jax.checkpoint(_static_program(jax), static_argnums=(1, 2))
    plain = _static_program(jax)
    want = jax.value_and_grad(plain)(X3, n, kind)
    _assert_tree_close(jax.value_and_grad(f)(X3, n, kind), want)
    _assert_tree_close(jax.jit(jax.value_and_grad(f), static_argnums=(1, 2))(X3, n, kind), want)
    close(
        jax.grad(lambda x: jnp.sum(jax.grad(f)(x, n, kind)))(X3),
        jax.hessian(plain)(X3, n, kind).sum(0),
        1e-4,
    )
    rf = real.checkpoint(_static_program(real), static_argnums=(1, 2))
    _assert_same_as_jax(
        jax.value_and_grad(f)(X3, n, kind), real.value_and_grad(rf)(X3, n, kind), real
    )


def test_static_argnums_program_has_the_static_value_as_constant():
    f = jax.checkpoint(_static_program(jax), static_argnums=(1, 2))
    jaxpr = jax.make_jaxpr(f, static_argnums=(1, 2))(X3, 3, "sin")
    (eqn,) = jaxpr.jaxpr.eqns
    body = eqn.params["jaxpr"].jaxpr
    assert [e.prim.name for e in body.eqns] == ["sin", "sin", "sin", "reduce_sum"]
    assert len(eqn.invars) == 1


# -- scenarios 42-45 (custom_vjp under checkpoint, optimize_remat) ------------------------------


@jax.custom_vjp
def S(x):
    return jnp.sin(x)


S.defvjp(lambda x: (S(x), jnp.cos(x)), lambda c, g: (2 * c * g,))


@jax.custom_vjp
def Fxy(d):
    return d["a"] * d["b"]


Fxy.defvjp(lambda d: (Fxy(d), d), lambda d, g: ({"a": d["b"] * g, "b": d["a"] * g},))


def test_scenario_42_custom_vjp_under_remat():
    g = jax.remat(lambda x: S(S(x)))
    close(g(2.0), 0.78907233)
    close(jax.grad(g)(2.0), -1.0225565)
    close(jax.jit(jax.grad(g))(2.0), -1.0225565)
    close(jax.grad(jax.jit(g))(2.0), -1.0225565)
    close(jax.grad(jax.grad(g))(2.0), -3.3275275)
    close(jax.grad(jax.grad(lambda x: S(S(x))))(2.0), -3.3275275)
    close(jax.jit(jax.grad(jax.grad(g)))(2.0), -3.3275275)
    close(jax.vmap(jax.grad(g))(jnp.array([2.0, 2.0])), [-1.0225565, -1.0225565])
    got = jax.grad(jax.remat(lambda d: jnp.sin(Fxy(d))))({"a": 2.0, "b": 3.0})
    assert sorted(got) == ["a", "b"]
    close(got["a"], 2.8805108)
    close(got["b"], 1.9203405)


def test_scenario_42_policies_apply_inside_fwd():
    """§4.5: a policy sees the operations of ``fwd``; every one gives the rule's gradient."""
    for name in sorted(POLICIES):
        g = jax.checkpoint(lambda x: S(S(x)), policy=_policy(jax, name))
        close(jax.grad(g)(2.0), -1.0225565)
        close(jax.grad(jax.grad(g))(2.0), -3.3275275)


def _tan_with_sin_rule(optimize_remat):
    @jax.custom_vjp
    def ft(x):
        return jnp.tan(x)

    ft.defvjp(
        lambda x: (jnp.sin(x), (x,)),
        lambda r, g: (jnp.cos(r[0]) * g,),
        optimize_remat=optimize_remat,
    )
    return ft


@pytest.mark.parametrize("mode", MODES)
def test_scenario_43_optimize_remat_runs_fun_in_the_forward_pass(mode):
    with_flag, without = _tan_with_sin_rule(True), _tan_with_sin_rule(False)

    def vg(ft):
        loss = lambda x: jax.remat(ft)(x) ** 2  # noqa: E731
        if mode == "eager":
            return jax.value_and_grad(loss)
        if mode == "jit_grad":
            return jax.jit(jax.value_and_grad(loss))
        return jax.value_and_grad(jax.jit(loss))

    v, g = vg(with_flag)(3.2)
    close(v, 0.0034191974)
    close(g, -0.11674839)
    v, g = vg(without)(3.2)
    close(v, 0.0034075463)
    close(g, 0.11654931)


def test_scenario_43_against_jax(real):
    rjnp = real.numpy

    def make(lib, np_, flag):
        @lib.custom_vjp
        def ft(x):
            return np_.tan(x)

        ft.defvjp(
            lambda x: (np_.sin(x), (x,)),
            lambda r, g: (np_.cos(r[0]) * g,),
            optimize_remat=flag,
        )
        return ft

    for flag in (True, False):
        ours = jax.value_and_grad(lambda x: jax.remat(make(jax, jnp, flag))(x) ** 2)(3.2)
        ft = make(real, rjnp, flag)
        theirs = real.value_and_grad(lambda x: real.remat(ft)(x) ** 2)(3.2)  # noqa: B023
        _assert_same_as_jax(ours, theirs, real)


def test_scenario_43_consistent_rule_agrees():
    for flag in (True, False):

        @jax.custom_vjp
        def f(x):
            return jnp.sin(x)

        f.defvjp(lambda x: (f(x), (x,)), lambda r, g: (jnp.cos(r[0]) * g,), optimize_remat=flag)
        close(jax.grad(lambda x: jax.remat(f)(x) ** 2)(3.2), 0.116549306)  # noqa: B023


# call counts (scenario 44): an opaque fwd, a pure_callback that returns the output and the
# residual and counts its executions

kernel_calls = []


def _sin_and_cos(x):
    kernel_calls.append("fwd")
    return np.sin(x).astype(x.dtype), np.cos(x).astype(x.dtype)


def _sin_only(x):
    kernel_calls.append("fun")
    return np.sin(x).astype(x.dtype)


def _opaque(optimize_remat, symbolic_zeros=False, seen=None):
    @jax.custom_vjp
    def f(x):
        spec = jax.ShapeDtypeStruct(x.shape, x.dtype)
        return jax.pure_callback(_sin_only, spec, x, vmap_method="sequential")

    def f_fwd(x):
        if symbolic_zeros:
            assert isinstance(x, CustomVJPPrimal)
            seen.append(x.perturbed)
            x = x.value
        spec = jax.ShapeDtypeStruct(x.shape, x.dtype)
        return jax.pure_callback(_sin_and_cos, (spec, spec), x, vmap_method="sequential")

    def f_bwd(cos_x, g):
        return (cos_x * g,)

    f.defvjp(f_fwd, f_bwd, optimize_remat=optimize_remat, symbolic_zeros=symbolic_zeros)
    return f


CALL_MODES = ["eager", "jit_grad", "grad_jit", "vmap_grad"]


def _run_counted(f, mode):
    loss = lambda x: jax.checkpoint(f)(x) ** 2  # noqa: E731
    x = jnp.float32(1.0)
    if mode == "eager":
        return jax.grad(loss)(x), 1
    if mode == "jit_grad":
        return jax.jit(jax.grad(loss))(x), 1
    if mode == "grad_jit":
        return jax.grad(jax.jit(loss))(x), 1
    return jax.vmap(jax.grad(loss))(jnp.ones(3, jnp.float32)), 3


@pytest.mark.parametrize("symbolic_zeros", [False, True], ids=["plain", "symbolic"])
@pytest.mark.parametrize("mode", CALL_MODES)
def test_scenario_44_call_counts(mode, symbolic_zeros):
    # without the flag fwd runs twice: for the output, and again for the residual
    kernel_calls.clear()
    seen = []
    g, n = _run_counted(_opaque(False, symbolic_zeros, seen), mode)
    close(g, np.full(np.shape(g), 2 * np.sin(1.0) * np.cos(1.0)))
    assert kernel_calls == ["fwd"] * (2 * n)
    # with it the forward pass runs fun, and fwd runs once, in the backward pass
    kernel_calls.clear()
    g2, n = _run_counted(_opaque(True, symbolic_zeros, seen), mode)
    close(g2, g)
    assert sorted(kernel_calls) == ["fun"] * n + ["fwd"] * n
    assert kernel_calls[:n] == ["fun"] * n  # fun in the forward pass, before any fwd
    if symbolic_zeros:
        assert seen and all(p is True for p in seen)


def test_scenario_44_without_checkpoint_the_flag_changes_nothing():
    for flag in (False, True):
        kernel_calls.clear()
        f = _opaque(flag)
        close(jax.grad(lambda x: f(x) ** 2)(jnp.float32(1.0)), 2 * np.sin(1.0) * np.cos(1.0))  # noqa: B023
        assert kernel_calls == ["fwd"]
        kernel_calls.clear()
        close(f(jnp.float32(1.0)), np.sin(1.0))
        assert kernel_calls == ["fun"]


@pytest.mark.parametrize("optimize_remat", [False, True])
def test_scenario_44_forwarded_residual_needs_no_recomputation(optimize_remat):
    """§3's table: with ``(x,)`` as the residual the input is forwarded, so the backward pass
    needs nothing of fwd and the kernel in fun runs once, in the forward pass. (JAX's table shows
    fwd twice without the flag because its fwd prints, an effect its DCE keeps; a pure_callback
    is pruned, as here.) fwd is traced once, for both passes."""
    trace = []

    @jax.custom_vjp
    def f(x):
        return jax.pure_callback(_sin_only, jax.ShapeDtypeStruct((), jnp.float32), x)

    def f_fwd(x):
        trace.append("fwd traced")
        return f(x), (x,)

    f.defvjp(f_fwd, lambda r, g: (jnp.cos(r[0]) * g,), optimize_remat=optimize_remat)
    kernel_calls.clear()
    close(
        jax.grad(lambda x: jax.checkpoint(f)(x) ** 2)(jnp.float32(1.0)),
        2 * np.sin(1.0) * np.cos(1.0),
    )
    assert kernel_calls == ["fun"]
    assert trace == ["fwd traced"]


def _two_args(optimize_remat, symbolic_zeros, seen):
    @jax.custom_vjp
    def f(x, y):
        return jnp.sin(x) * y

    def fwd(x, y):
        if symbolic_zeros:
            assert isinstance(x, CustomVJPPrimal) and isinstance(y, CustomVJPPrimal)
            seen.append((x.perturbed, y.perturbed))
            x, y = x.value, y.value
        return f(x, y), (jnp.cos(x), jnp.sin(x), y)

    def bwd(r, g):
        return (r[0] * g * r[2], r[1] * g)

    f.defvjp(fwd, bwd, optimize_remat=optimize_remat, symbolic_zeros=symbolic_zeros)
    return f


@pytest.mark.parametrize(
    ("argnums", "perturbed"), [(0, (True, False)), (1, (False, True)), ((0, 1), (True, True))]
)
def test_scenario_45_symbolic_zeros_with_optimize_remat(argnums, perturbed, real):
    # JAX refuses the pair in defvjp; pullback supports it
    rf = real.custom_vjp(lambda x, y: real.numpy.sin(x) * y)
    with pytest.raises(NotImplementedError, match="does not support symbolic zeros"):
        rf.defvjp(
            lambda x, y: (x, x), lambda r, g: (g, g), symbolic_zeros=True, optimize_remat=True
        )
    seen = []
    f = _two_args(True, True, seen)
    loss = lambda x, y: jax.checkpoint(f)(x, y) ** 2  # noqa: E731
    got = jax.grad(loss, argnums)(1.0, 2.0)
    want = jax.grad(lambda x, y: (jnp.sin(x) * y) ** 2, argnums)(1.0, 2.0)
    _assert_tree_close(got, want)
    assert seen and all(s == perturbed for s in seen), seen
    seen.clear()
    f = _two_args(True, True, seen)
    _assert_tree_close(
        jax.jit(jax.grad(lambda x, y: jax.checkpoint(f)(x, y) ** 2, argnums))(1.0, 2.0), want
    )
    assert seen and all(s == perturbed for s in seen), seen


def test_scenario_45_higher_order_with_optimize_remat(real):
    """JAX raises for grad(grad) of a checkpointed optimize_remat rule (E17); pullback gives the
    value the rule gives without the flag."""
    for sym in (False, True):
        seen = []
        with_flag, without = _two_args(True, sym, seen), _two_args(False, sym, seen)

        def gg(f):
            return jax.grad(jax.grad(lambda x: jax.checkpoint(f)(x, 2.0) ** 2))(1.0)  # noqa: B023

        close(gg(with_flag), gg(without))
        close(gg(with_flag), jax.grad(jax.grad(lambda x: (jnp.sin(x) * 2.0) ** 2))(1.0), 1e-4)
    rjnp = real.numpy

    @real.custom_vjp
    def rf(x, y):
        return rjnp.sin(x) * y

    rf.defvjp(
        lambda x, y: (rf(x, y), (rjnp.cos(x), rjnp.sin(x), y)),
        lambda r, g: (r[0] * g * r[2], r[1] * g),
        optimize_remat=True,
    )
    with pytest.raises(ValueError, match="Linearization failed"):
        real.grad(real.grad(lambda x: real.checkpoint(rf)(x, 2.0) ** 2))(1.0)


def test_scenario_45_vmap_of_grad_with_optimize_remat():
    @jax.custom_vjp
    def f(x):
        return jnp.sin(x)

    f.defvjp(lambda x: (f(x), jnp.cos(x)), lambda c, g: (c * g,), optimize_remat=True)
    close(jax.vmap(jax.grad(jax.checkpoint(f)))(jnp.array([1.0, 1.0])), [0.5403023, 0.5403023])
    close(jax.vmap(jax.grad(f))(jnp.array([1.0, 1.0])), [0.5403023, 0.5403023])


def _positive_branching(optimize_remat):
    @jax.custom_vjp
    def fpos(x):
        return jnp.sin(x)

    def fpos_fwd(x):
        if x > 0:
            return fpos(x), jnp.cos(x)
        return fpos(x), -jnp.cos(x)

    fpos.defvjp(fpos_fwd, lambda c, g: (c * g,), optimize_remat=optimize_remat)
    return fpos


def test_e18_python_control_flow_in_fwd_under_checkpoint():
    f = _positive_branching(True)
    with pytest.raises(
        TracerBoolConversionError, match=r"fwd rule fpos_fwd of custom_vjp function fpos"
    ):
        jax.grad(jax.checkpoint(f))(1.0)
    # without checkpoint it runs eagerly, as without the flag (JAX raises here too)
    close(jax.grad(f)(1.0), np.cos(1.0))
    close(jax.grad(f)(-1.0), -np.cos(-1.0))
    close(jax.grad(_positive_branching(False))(1.0), np.cos(1.0))


def test_e18_jax_raises_even_without_checkpoint(real):
    rjnp = real.numpy

    @real.custom_vjp
    def fpos(x):
        return rjnp.sin(x)

    def fpos_fwd(x):
        if x > 0:
            return fpos(x), rjnp.cos(x)
        return fpos(x), -rjnp.cos(x)

    fpos.defvjp(fpos_fwd, lambda c, g: (c * g,), optimize_remat=True)
    with pytest.raises(real.errors.TracerBoolConversionError, match="fpos_fwd"):
        real.grad(fpos)(1.0)


# -- print_saved_residuals against JAX ----------------------------------------------------------

# The guide's programs, at module level so that both libraries see the same functions (file,
# line, column and function name). ``_LIB`` says which library they run on.
_LIB = {}


@contextlib.contextmanager
def _using(lib):
    _LIB["lib"] = lib
    try:
        yield lib
    finally:
        _LIB.clear()


def g(W, x):
    np_ = _LIB["lib"].numpy
    y = np_.dot(W, x)
    return np_.sin(y)


def f(W1, W2, W3, x):
    x = g(W1, x)
    x = g(W2, x)
    x = g(W3, x)
    return x


def f_checkpointed_layers(W1, W2, W3, x):
    lib = _LIB["lib"]
    x = lib.checkpoint(g)(W1, x)
    x = lib.checkpoint(g)(W2, x)
    x = lib.checkpoint(g)(W3, x)
    return x


def g_named(W, x):
    lib = _LIB["lib"]
    cn = lib.ad_checkpoint.checkpoint_name
    y = cn(lib.numpy.dot(W, x), "dot")
    return cn(lib.numpy.sin(y), "sin")


def f_named(W1, W2, W3, x):
    x = g_named(W1, x)
    x = g_named(W2, x)
    x = g_named(W3, x)
    return x


W1 = RNG.standard_normal((5, 4)).astype(np.float32)
W2 = RNG.standard_normal((6, 5)).astype(np.float32)
W3 = RNG.standard_normal((7, 6)).astype(np.float32)
X4 = RNG.standard_normal(4).astype(np.float32)

GUIDE = {
    "plain": lambda lib: f,
    "checkpoint": lambda lib: lib.checkpoint(f),
    "dots_saveable": lambda lib: lib.checkpoint(f, policy=lib.checkpoint_policies.dots_saveable),
    "everything": lambda lib: lib.checkpoint(f, policy=lib.checkpoint_policies.everything_saveable),
    "checkpoint_g": lambda lib: f_checkpointed_layers,
    "named_plain": lambda lib: f_named,
    "only_these_names": lambda lib: lib.checkpoint(
        f_named, policy=lib.checkpoint_policies.save_only_these_names("dot")
    ),
    "any_names_but_these": lambda lib: lib.checkpoint(
        f_named, policy=lib.checkpoint_policies.save_any_names_but_these("dot")
    ),
    "both": lambda lib: lib.checkpoint(
        f_named,
        policy=lib.checkpoint_policies.save_from_both_policies(
            lib.checkpoint_policies.dots_saveable,
            lib.checkpoint_policies.save_only_these_names("sin"),
        ),
    ),
}


def _printed(printer, fun, *args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        printer(fun, *args)
    return buf.getvalue().splitlines()


@functools.cache
def _jax_printed(name):
    real = pytest.importorskip("jax")
    from jax.ad_checkpoint import print_saved_residuals as jax_print

    with _using(real):
        lines = _printed(jax_print, GUIDE[name](real), W1, W2, W3, X4)
    return [line.replace("dot_general", "matmul") for line in lines]


@pytest.mark.parametrize("name", list(GUIDE))
def test_print_saved_residuals_equals_jax(name, real):
    with _using(jax):
        ours = _printed(print_saved_residuals, GUIDE[name](jax), W1, W2, W3, X4)
    theirs = _jax_printed(name)
    assert ours == theirs
    assert ours[:4] == [
        "f32[5,4] from the argument W1",
        "f32[6,5] from the argument W2",
        "f32[7,6] from the argument W3",
        "f32[4] from the argument x",
    ]


def test_print_saved_residuals_guide_lines():
    """The lines themselves (they are also JAX's: the test above)."""
    with _using(jax):
        plain = _printed(print_saved_residuals, f, W1, W2, W3, X4)
        dots = _printed(print_saved_residuals, GUIDE["dots_saveable"](jax), W1, W2, W3, X4)
        layers = _printed(print_saved_residuals, f_checkpointed_layers, W1, W2, W3, X4)
    here = __file__
    sin_line = g.__code__.co_firstlineno + 3
    dot_line = g.__code__.co_firstlineno + 2
    assert plain[4:] == [
        f"f32[5] output of sin from {here}:{sin_line}:11 (g)",
        f"f32[5] output of cos from {here}:{sin_line}:11 (g)",
        f"f32[6] output of sin from {here}:{sin_line}:11 (g)",
        f"f32[6] output of cos from {here}:{sin_line}:11 (g)",
        f"f32[7] output of cos from {here}:{sin_line}:11 (g)",
    ]
    assert dots[4:] == [
        f"f32[{n}] output of matmul from {here}:{dot_line}:8 (g)" for n in (5, 6, 7)
    ]
    assert layers[4:] == [f"f32[{n}] output of sin from {here}:{sin_line}:11 (g)" for n in (5, 6)]


def test_print_saved_residuals_names_nested_functions_as_jax_does(real):
    """JAX names the function by its qualified name (``outer.<locals>.inner``, Python 3.11's
    ``co_qualname``)."""

    def build(lib):
        np_ = lib.numpy

        def layer(W, x):
            return np_.sin(np_.dot(W, x))

        return layer

    from jax.ad_checkpoint import print_saved_residuals as jax_print

    ours = _printed(print_saved_residuals, build(jax), W1, X4)
    theirs = _printed(jax_print, build(real), W1, X4)
    qualname = f"{test_print_saved_residuals_names_nested_functions_as_jax_does.__name__}"
    assert theirs[-1].endswith(f"({qualname}.<locals>.build.<locals>.layer)")
    assert ours == theirs


def real_saved_residuals(real):
    from jax._src.ad_checkpoint import saved_residuals as jax_saved_residuals

    return jax_saved_residuals


def _summary(residuals, rename=False):
    """Sorted (type, what) of a residual list, without source lines."""
    out = []
    for aval, where in residuals:
        what = where if "argument" in where else where.split(" from ")[0]
        if rename:
            what = what.replace("dot_general", "matmul")
        out.append((str(aval.shape), str(aval.dtype), what))
    return sorted(out)


def _mlp_loss(lib):
    mlp = _mlp_fn(lib)
    return lambda params, x: lib.numpy.sum(mlp(params, x) ** 2)


@pytest.mark.parametrize("policy", [*sorted(POLICIES), "plain"])
def test_saved_residuals_every_policy_against_jax(policy, real):
    def build(lib):
        loss = _mlp_loss(lib)
        if policy == "plain":
            return loss
        return lib.checkpoint(loss, policy=_policy(lib, policy))

    ours = _summary(saved_residuals(build(jax), PARAMS, XB))
    theirs = _summary(real_saved_residuals(real)(build(real), PARAMS, XB), rename=True)
    if policy in ("plain", "everything", "user"):  # the user's policy keeps everything here
        # tanh: pullback keeps 1 - tanh(x)^2 (one "output of sub" per layer); JAX keeps that and
        # tanh(x) as well (the "output of tanh" JAX lists for each layer and pullback does not)
        extra = [("(5, 2)", "float32", "output of tanh"), ("(5, 4)", "float32", "output of tanh")]
        assert sorted(ours + extra) == theirs
        assert ours == sorted(
            [
                ("(3, 4)", "float32", "from the argument params[0][0]"),
                ("(4, 2)", "float32", "from the argument params[1][0]"),
                ("(5, 3)", "float32", "from the argument x"),
                ("(5, 4)", "float32", "named 'act'"),
                ("(5, 4)", "float32", "output of sub"),
                ("(5, 2)", "float32", "output of sub"),
                ("(5, 2)", "float32", "output of mul"),
            ]
        )
    else:
        assert ours == theirs


def test_saved_residuals_under_restrictive_policies():
    loss = _mlp_loss(jax)
    args = [
        ("(2,)", "float32", "from the argument params[1][1]"),
        ("(3, 4)", "float32", "from the argument params[0][0]"),
        ("(4,)", "float32", "from the argument params[0][1]"),
        ("(4, 2)", "float32", "from the argument params[1][0]"),
        ("(5, 3)", "float32", "from the argument x"),
    ]
    for p in ("none", "nothing"):
        kept = saved_residuals(jax.checkpoint(loss, policy=_policy(jax, p)), PARAMS, XB)
        assert _summary(kept) == sorted(args)
    kept = saved_residuals(jax.checkpoint(loss, policy=_policy(jax, "dots")), PARAMS, XB)
    products = [
        ("(5, 4)", "float32", "output of matmul"),
        ("(5, 2)", "float32", "output of matmul"),
    ]
    assert _summary(kept) == sorted(args + products)
    kept = saved_residuals(jax.checkpoint(loss, policy=_policy(jax, "only_names")), PARAMS, XB)
    named = [("(5, 4)", "float32", "named 'act'"), ("(5, 2)", "float32", "named 'act'")]
    assert _summary(kept) == sorted(args + named)
    both = saved_residuals(jax.checkpoint(loss, policy=_policy(jax, "both")), PARAMS, XB)
    assert _summary(both) == sorted(args + products + named)


def test_saved_residuals_of_batched_products():
    """dots_with_no_batch_dims_saveable skips a product with a batch dimension."""
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    w = RNG.standard_normal((2, 4, 5)).astype(np.float32)
    v = RNG.standard_normal((4, 5)).astype(np.float32)

    def loss(x, w, v):
        return jnp.sum(jnp.sin(x @ w) + jnp.sin(x[0] @ v))

    cp = jax.checkpoint_policies
    everything_dots = saved_residuals(jax.checkpoint(loss, policy=cp.dots_saveable), x, w, v)
    no_batch = saved_residuals(
        jax.checkpoint(loss, policy=cp.dots_with_no_batch_dims_saveable), x, w, v
    )
    products = lambda kept: sorted(a.shape for a, w in kept if "matmul" in w)  # noqa: E731
    assert products(everything_dots) == [(2, 3, 5), (3, 5)]
    assert products(no_batch) == [(3, 5)]
    g1 = jax.grad(jax.checkpoint(loss, policy=cp.dots_with_no_batch_dims_saveable), (0, 1, 2))
    _assert_tree_close(g1(x, w, v), jax.grad(loss, (0, 1, 2))(x, w, v))


# -- printed programs -----------------------------------------------------------------------------


def _h(lib):
    np_, cn = lib.numpy, _cn(lib)

    def h(x):
        y = cn(np_.sin(x), "a")
        return np_.sin(y)

    return h


PRINTED = {
    "sin": lambda lib: (lib.checkpoint(lib.numpy.sin), (1.0,)),
    "dots_saveable": lambda lib: (
        lib.checkpoint(lib.numpy.sin, policy=lib.checkpoint_policies.dots_saveable),
        (1.0,),
    ),
    "nothing_saveable": lambda lib: (
        lib.checkpoint(lib.numpy.sin, policy=lib.checkpoint_policies.nothing_saveable),
        (1.0,),
    ),
    "grad": lambda lib: (lib.grad(lib.checkpoint(lib.numpy.sin)), (1.0,)),
    "named": lambda lib: (_h(lib), (np.ones(4, np.float32),)),
    "named_checkpointed": lambda lib: (
        lib.checkpoint(_h(lib), policy=lib.checkpoint_policies.save_only_these_names("a")),
        (np.ones(4, np.float32),),
    ),
    "sin_sin_vector": lambda lib: (
        lib.checkpoint(lambda x: lib.numpy.sin(lib.numpy.sin(x))),
        (np.ones(3, np.float32),),
    ),
}


@pytest.mark.parametrize("name", list(PRINTED))
def test_make_jaxpr_prints_as_jax(name, real):
    fun, args = PRINTED[name](jax)
    ours = jax.make_jaxpr(fun)(*args)
    check_jaxpr(ours)
    rfun, _ = PRINTED[name](real)
    assert str(ours) == str(real.make_jaxpr(rfun)(*args))


def test_make_jaxpr_texts():
    assert str(jax.make_jaxpr(jax.checkpoint(jnp.sin))(1.0)) == (
        "{ lambda ; a:f32[]. let\n"
        "    b:f32[] = remat2[\n"
        "      differentiated=False\n"
        "      jaxpr={ lambda ; c:f32[]. let d:f32[] = sin c in (d,) }\n"
        "      policy=None\n"
        "      prevent_cse=True\n"
        "    ] a\n"
        "  in (b,) }"
    )
    nothing = jax.checkpoint(jnp.sin, policy=jax.checkpoint_policies.nothing_saveable)
    assert "policy=<function nothing_saveable at 0xXXXXXXXXXXXX>" in str(
        jax.make_jaxpr(nothing)(1.0)
    )
    named = str(jax.make_jaxpr(_h(jax))(np.ones(4, np.float32)))
    assert "c:f32[4] = name[name=a] b" in named


# -- the IR checker on staged programs and on the split --------------------------------------


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_staged_programs_type_check(name, policy):
    f, args, wrt = _build(name, jax, policy)
    loss = _loss(jax, f)
    check_jaxpr(jax.make_jaxpr(f)(*args))
    check_jaxpr(jax.make_jaxpr(jax.grad(loss, wrt))(*args))
    check_jaxpr(jax.make_jaxpr(_second_order(jax, f, wrt))(*args))
    primals = [args[k] for k in wrt]

    def pushed(*diff):
        def partial(*d):
            full = list(args)
            for k, a in zip(wrt, d, strict=True):
                full[k] = a
            return loss(*full)

        return jax.jvp(partial, tuple(diff), tuple(jax.tree_util.tree_map(jnp.ones_like, diff)))

    check_jaxpr(jax.make_jaxpr(pushed)(*primals))


def test_batched_programs_type_check():
    loss = _mlp_per_example(jax, jax.checkpoint_policies.dots_saveable)
    check_jaxpr(jax.make_jaxpr(jax.vmap(jax.grad(loss), in_axes=(None, 0)))(PARAMS, XB))
    ck = jax.checkpoint(_mlp_fn(jax))
    check_jaxpr(jax.make_jaxpr(jax.vmap(ck, in_axes=(None, 0)))(PARAMS, XB))
    for name in CONTROL_FLOW:
        build, args = CONTROL_FLOW[name]
        check_jaxpr(jax.make_jaxpr(jax.grad(build(jax), (0, 1)))(*args))
    check_jaxpr(jax.make_jaxpr(jax.grad(_nested(jax), (0, 1)))(H0, WS9))
    check_jaxpr(jax.make_jaxpr(jax.grad(jax.grad(jax.checkpoint(lambda x: S(S(x))))))(2.0))
    check_jaxpr(
        jax.make_jaxpr(jax.grad(lambda x: jax.checkpoint(_tan_with_sin_rule(True))(x) ** 2))(3.2)
    )


def _split(name, policy):
    """The forward and backward programs of the checkpointed body of ``name``."""
    f, args, wrt = _build(name, jax, policy)
    leaves = jax.tree_util.tree_leaves(args)
    staged = jax.make_jaxpr(f)(*args)
    (eqn,) = staged.jaxpr.eqns
    assert eqn.prim.name == "remat2"
    body = eqn.params["jaxpr"]
    in_mask = [a.dtype.kind in "fc" for a in body.in_avals]
    out_mask = dependent_outputs(body.jaxpr, in_mask)
    n = len(in_mask)
    saveable = saveable_by(eqn.params["policy"])
    split = vjp_split(body, in_mask, out_mask, [True] * n, [False] * n, "a test", saveable)
    return split, leaves, in_mask, f, args


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_split_programs_type_check_and_compute_the_gradient(name, policy):
    split, leaves, in_mask, f, args = _split(name, policy)
    check_jaxpr(split.fwd)
    check_jaxpr(split.bwd)
    check_jaxpr(split.hoisted)
    outs = eval_closed(split.fwd, *leaves)
    plain_out = jax.tree_util.tree_leaves(f(*args))
    for a, b in zip(outs[: split.n_out], plain_out, strict=True):
        close(a, b)
    computed = outs[split.n_out :]
    sources = {"input": leaves, "computed": computed}
    residuals = [sources[kind][k] for kind, k in split.residuals]
    cts = [jnp.ones_like(o) for o, m in zip(outs[: split.n_out], split.out_mask, strict=True) if m]
    cts_in = eval_closed(split.bwd, *residuals, *cts)
    # the gradient of the sum of the differentiated outputs
    wrt_leaves = [k for k, m in enumerate(in_mask) if m]

    def total(*diff):
        full = list(leaves)
        for k, a in zip(wrt_leaves, diff, strict=True):
            full[k] = a
        tree = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(args), full)
        outs = jax.tree_util.tree_leaves(f(*tree))
        return sum(jnp.sum(o) for o, m in zip(outs, split.out_mask, strict=True) if m)

    want = jax.grad(total, tuple(range(len(wrt_leaves))))(*[leaves[k] for k in wrt_leaves])
    for a, b in zip(cts_in, want, strict=True):
        close(a, b)
    if policy in ("none", "nothing"):
        assert computed == []  # nothing but the inputs
        assert all(kind == "input" for kind, _ in split.residuals)


def test_split_of_everything_saveable_keeps_what_the_plain_split_keeps():
    a, *_ = _split("mlp", "everything")
    kept = sorted(str(v.aval.str_short()) for v in a.fwd.jaxpr.outvars[a.n_out :])
    f, args = PROGRAMS["mlp"](jax)
    body = jax.make_jaxpr(f)(*args)
    n = len(body.in_avals)
    in_mask = [x.dtype.kind == "f" for x in body.in_avals]
    out_mask = dependent_outputs(body.jaxpr, in_mask)
    plain = vjp_split(body, in_mask, out_mask, [True] * n, [False] * n, "a test")
    assert kept == sorted(str(v.aval.str_short()) for v in plain.fwd.jaxpr.outvars[plain.n_out :])
    assert kept  # something is kept


# -- memory ---------------------------------------------------------------------------------------

CHAIN = 16


def _chain_loss(checkpointed):
    def layer(h, W, b):
        return jnp.tanh(h @ W + b)

    if checkpointed:
        layer = jax.checkpoint(layer, policy=jax.checkpoint_policies.nothing_saveable)

    def loss(params, x):
        h = x
        for W, b in params:
            h = layer(h, W, b)
        return jnp.sum(h**2)

    return loss


def _chain_params(width, batch):
    rng = np.random.default_rng(1)
    params = [
        (
            jnp.asarray(rng.standard_normal((width, width)).astype(np.float32) * 0.2),
            jnp.asarray(rng.standard_normal(width).astype(np.float32)),
        )
        for _ in range(CHAIN)
    ]
    return params, jnp.asarray(rng.standard_normal((batch, width)).astype(np.float32))


def _residual_bytes(f, *args):
    kept = [a for a, w in saved_residuals(f, *args) if "argument" not in w]
    return sum(int(np.prod(a.shape)) * np.dtype(a.dtype).itemsize for a in kept), kept


def test_checkpointed_chain_keeps_one_activation_per_layer():
    params, x = _chain_params(4, 3)
    activation = 3 * 4 * 4
    plain_bytes, plain_kept = _residual_bytes(_chain_loss(False), params, x)
    ck_bytes, ck_kept = _residual_bytes(_chain_loss(True), params, x)
    # each layer's input (15 outputs of the layers before, the first is the argument x) and the
    # loss's 2h; without checkpoint also 1 - tanh^2 per layer
    assert ck_bytes == CHAIN * activation
    assert all(a.shape == (3, 4) for a in ck_kept) and len(ck_kept) == CHAIN
    assert plain_bytes == 2 * CHAIN * activation
    assert ck_bytes <= plain_bytes / 2
    want = jax.grad(_chain_loss(False), (0, 1))(params, x)
    _assert_tree_close(jax.grad(_chain_loss(True), (0, 1))(params, x), want, 1e-4)


def _tape_bytes(loss, params, x):
    jax.vjp(loss, params, x)  # traced once, outside the measurement
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out, vjp_fn = jax.vjp(loss, params, x)
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    grads = vjp_fn(jnp.ones_like(out))  # the tape is alive until here
    return held, grads


def test_eager_tape_holds_less_with_checkpoint():
    params, x = _chain_params(64, 128)
    plain, want = _tape_bytes(_chain_loss(False), params, x)
    ck, got = _tape_bytes(_chain_loss(True), params, x)
    _assert_tree_close(got, want, 1e-4)
    activation = 128 * 64 * 4
    # measured: about 50 activations without checkpoint (every intermediate the tape holds),
    # 18 with it (one per layer and bookkeeping): a ratio of 0.36
    assert plain > 30 * activation
    assert ck < 24 * activation
    assert ck < 0.5 * plain


# -- API and errors --------------------------------------------------------------------------------


def test_aliases():
    assert jax.remat is jax.checkpoint
    assert pullback.ad_checkpoint.checkpoint is jax.checkpoint
    assert pullback.ad_checkpoint.remat is jax.checkpoint
    assert pullback.ad_checkpoint.checkpoint_policies is jax.checkpoint_policies
    cp = jax.checkpoint_policies
    assert cp.checkpoint_dots is cp.dots_saveable
    assert cp.checkpoint_dots_with_no_batch_dims is cp.dots_with_no_batch_dims_saveable
    # the decorator form with keyword arguments
    deco = jax.checkpoint(policy=cp.dots_saveable)(jnp.sin)
    close(jax.grad(deco)(1.0), np.cos(1.0))
    assert checkpoint_name(jnp.float32(2.0), "x") == 2.0


def test_checkpoint_of_a_non_callable_is_a_type_error():
    with pytest.raises(TypeError, match="expected a callable, got 3"):
        jax.checkpoint(3)
    with pytest.raises(TypeError, match="expected a callable"):
        jax.checkpoint("sin")


def test_unhashable_static_argument():
    f = jax.checkpoint(lambda x, n: x * len(n), static_argnums=(1,))
    with pytest.raises(ValueError, match="static argument 1 must be hashable"):
        f(1.0, [1, 2])
    with pytest.raises(ValueError, match="Use a tuple instead of a list"):
        jax.grad(f)(1.0, [1, 2])
    close(jax.grad(f)(1.0, (1, 2)), 2.0)


def test_policy_results_are_read_by_truthiness():
    loss = _mlp_loss(jax)

    def count(policy):
        return len(saved_residuals(jax.checkpoint(loss, policy=policy), PARAMS, XB))

    zero = lambda *a, **k: 0  # noqa: E731
    one = lambda *a, **k: np.int64(1)  # noqa: E731
    empty = lambda *a, **k: ""  # noqa: E731
    nonempty = lambda *a, **k: "yes"  # noqa: E731
    nothing = count(jax.checkpoint_policies.nothing_saveable)
    everything = count(jax.checkpoint_policies.everything_saveable)
    assert nothing < everything
    assert count(zero) == count(empty) == nothing
    assert count(one) == count(nonempty) == everything
    want = jax.grad(loss)(PARAMS, XB)
    for p in (zero, one, empty, nonempty):
        _assert_tree_close(jax.grad(jax.checkpoint(loss, policy=p))(PARAMS, XB), want)


def test_unhashable_policy_object():
    class Policy:  # a callable object that defines __eq__ and so is unhashable
        __hash__ = None

        def __eq__(self, other):
            return isinstance(other, Policy)

        def __call__(self, prim, *avals, **params):
            return prim.name == "sin"

    f = jax.checkpoint(lambda x: jnp.sin(jnp.cos(x)) * x, policy=Policy())
    close(jax.grad(f)(0.7), jax.grad(lambda x: jnp.sin(jnp.cos(x)) * x)(0.7))
    # sin(cos x), which the product needs, and sin x, which cos' needs; JAX refuses the policy
    # ("unhashable type: 'Policy'")
    kept = [w.split(" from ")[0] for _, w in saved_residuals(f, 0.7)]
    assert kept == ["from the argument x", "output of sin", "output of sin"]


def test_prevent_cse_false_gives_the_same_gradient():
    f = jax.checkpoint(_chain(jax), prevent_cse=False)
    want = jax.grad(lambda x: jnp.sum(_chain(jax)(x)))(X3)
    close(jax.grad(lambda x: jnp.sum(f(x)))(X3), want)
    close(jax.jit(jax.grad(lambda x: jnp.sum(f(x))))(X3), want)
    assert "prevent_cse=False" in str(jax.make_jaxpr(f)(X3))


def test_traced_once_per_signature():
    traces = collections.Counter()

    def fun(x):
        traces["fun"] += 1
        return jnp.sin(x) * 2

    f = jax.checkpoint(fun)
    for _ in range(3):
        close(f(X3), np.sin(X3) * 2)
        close(jax.grad(lambda x: jnp.sum(f(x)))(X3), np.cos(X3) * 2)
    assert traces["fun"] == 1
    f(np.ones(2, np.float32))
    assert traces["fun"] == 2


def test_compiled_recomputation_stays_apart_unless_prevent_cse_is_false():
    # jit's compiler inlines a checkpointed body for the primal, but keeps the backward pass's
    # recomputation as its own call: merged with the forward pass by CSE, it would keep alive
    # what checkpointing frees
    def f(x):
        return jnp.sum(jnp.sin(jnp.sin(x)))

    x = jnp.ones(3)
    kept = jax.jit(jax.grad(jax.checkpoint(f))).lower(x).as_text()
    assert "remat2" in kept and "differentiated=True" in kept
    inlined = jax.jit(jax.grad(jax.checkpoint(f, prevent_cse=False))).lower(x).as_text()
    assert "remat2" not in inlined
    assert "remat2" not in jax.jit(jax.checkpoint(f)).lower(x).as_text()
    want = jax.grad(f)(x)
    _assert_tree_close(jax.jit(jax.grad(jax.checkpoint(f)))(x), want, 1e-6)
    _assert_tree_close(jax.jit(jax.grad(jax.checkpoint(f, prevent_cse=False)))(x), want, 1e-6)


def test_static_argnames():
    def f(x, n):
        return jnp.sin(x) ** n

    ck = jax.checkpoint(f, static_argnames="n")
    close(jax.grad(ck)(1.0, n=3), 3 * math.sin(1.0) ** 2 * math.cos(1.0))
    close(jax.grad(ck)(1.0, n=2), 2 * math.sin(1.0) * math.cos(1.0))
    # static by name is static by position too, as with jit
    close(jax.grad(ck)(1.0, 2), 2 * math.sin(1.0) * math.cos(1.0))


@pytest.mark.parametrize("optimize_remat", [False, True])
def test_rules_closing_over_an_enclosing_trace(optimize_remat):
    # fwd and bwd close over c, a value of the enclosing jit/vmap: the split of the region then
    # closes over it too, and is bound with it as an operand (and not cached)
    def loss(c, x):
        @jax.custom_vjp
        def f(x):
            return jnp.sin(x) * c

        f.defvjp(
            lambda x: (jnp.sin(x) * c, (jnp.cos(x), c)),
            lambda r, g: (r[0] * r[1] * g,),
            optimize_remat=optimize_remat,
        )
        return jax.checkpoint(f)(x) ** 2

    grad = jax.grad(loss, argnums=1)
    want = lambda c, x: c**2 * math.sin(2 * x)  # noqa: E731
    close(grad(2.0, 1.0), want(2.0, 1.0))
    close(jax.jit(grad)(2.0, 1.0), want(2.0, 1.0))
    close(jax.jit(grad)(3.0, 0.5), want(3.0, 0.5))
    got = jax.vmap(grad)(jnp.array([1.0, 2.0]), jnp.array([1.0, 0.5]))
    _assert_tree_close(got, jnp.array([want(1.0, 1.0), want(2.0, 0.5)]), 1e-5)
    check_jaxpr(jax.make_jaxpr(grad)(2.0, 1.0))
