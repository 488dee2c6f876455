"""``jit``, ``make_jaxpr`` and ``eval_shape``, against eager pullback and against JAX 0.10.2.

A jitted program must give what the eager program gives (values, dtypes, weak types, printed
repr) and what JAX gives; it is traced once per abstract signature; misuse raises JAX's errors
with messages that name the function and say how to fix it.
"""

import collections
import functools
import re

import numpy as np
import pytest

import pullback as jax
import pullback.numpy as jnp
from pullback.errors import (
    ConcretizationTypeError,
    TracerBoolConversionError,
    UnexpectedTracerError,
)
from pullback.test_util import check_grads

CONST = np.arange(3, dtype=np.float32)
X23 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -3.0]], np.float32)
Y32 = np.array([[1.0, 2.0], [-0.5, 0.5], [3.0, -1.0]], np.float32)
I5 = np.arange(5, dtype=np.int32)
IDX = np.array([1, 0, 1], np.int32)
B4 = np.array([True, False, True, True])

Point = collections.namedtuple("Point", "x y")


@pytest.fixture(scope="module")
def real_jax():
    return pytest.importorskip("jax")


@pytest.fixture(params=[False, True], ids=["x32", "x64"])
def x64(request, real_jax):
    with jax.enable_x64(request.param), real_jax.enable_x64(request.param):
        yield request.param


def _leaves(lib, tree):
    return lib.tree_util.tree_leaves(tree)


def _as_arrays(args):
    """Arguments as pullback Arrays (from Python scalars: weakly typed), for eager calls."""
    return [jnp.asarray(a) for a in args]


# -- jit equals eager equals JAX -------------------------------------------------------------

# (id, build(numpy module) -> function, NumPy arguments)
PROGRAMS = [
    (
        "elementwise",
        lambda np_: lambda x: np_.exp(np_.sin(x)) * 2.0 - np_.sqrt(np_.abs(x)) / 3,
        (X23,),
    ),
    (
        "where_log_tanh",
        lambda np_: lambda x: np_.where(x > 0, np_.log1p(np_.abs(x)), np_.tanh(x)),
        (X23,),
    ),
    (
        "binary_broadcast",
        lambda np_: lambda x, y: np_.maximum(x, y) ** 2 + np_.minimum(x, 0.5) - x / y,
        (X23, X23[:1] + 4.0),
    ),
    ("weak_float", lambda np_: lambda x: x * 2 + 1, (3.0,)),
    ("weak_int", lambda np_: lambda i: (i * 2 + 1, i / 2), (3,)),
    ("int_times_python_float", lambda np_: lambda i: i * 1.5, (I5,)),
    (
        "reductions",
        lambda np_: (
            lambda x: (
                x.sum(),
                x.mean(axis=0),
                x.max(axis=1, keepdims=True),
                np_.argmax(x, axis=1),
                x.std(),
                np_.prod(x, axis=-1),
            )
        ),
        (X23,),
    ),
    ("int_reductions", lambda np_: lambda i: (i.sum(), i.prod(), i.mean(), i.max()), (I5,)),
    (
        "matmul_einsum",
        lambda np_: lambda a, b: (a @ b, np_.einsum("ij,jk->ik", a, b), np_.dot(a[0], b[:, 0])),
        (X23, Y32),
    ),
    (
        "indexing_gather",
        lambda np_: lambda x, i: (x[1], x[:, ::-1], x[i], x[:, i], x[-1, 1:]),
        (X23, IDX),
    ),
    (
        "scatter_at",
        lambda np_: (
            lambda x, i: (
                x.at[0, 1].set(5.0),
                x.at[i].add(1.0),
                x.at[:, 0].multiply(2.0),
                x.at[i, i].max(0.75),
            )
        ),
        (X23, IDX),
    ),
    (
        "creation",
        lambda np_: (
            lambda x: (
                np_.zeros_like(x),
                np_.ones((2, 2)),
                np_.arange(4),
                np_.eye(2, 3),
                np_.full((2,), 3),
                np_.linspace(0, 1, 5) * x[0, 0],
                np_.zeros(3, np_.int32),
            )
        ),
        (X23,),
    ),
    (
        "integer_ops",
        lambda np_: (
            lambda i: (
                i // 3,
                i % 3,
                i << 1,
                i >> 1,
                i & 6,
                i | 1,
                i ^ 5,
                -i,
                abs(i - 3),
                i == 2,
                i * 7,
            )
        ),
        (I5,),
    ),
    (
        "bool_ops",
        lambda np_: (
            lambda b: (
                ~b,
                b & True,
                b | False,
                np_.logical_xor(b, True),
                b.any(),
                b.all(),
                b.sum(),
            )
        ),
        (B4,),
    ),
    (
        "shape_ops",
        lambda np_: (
            lambda x: (
                x.T,
                x.reshape(3, 2),
                np_.concatenate([x, x]),
                np_.stack([x[0], x[1]], 1),
                np_.expand_dims(x, 0),
            )
        ),
        (X23,),
    ),
    (
        "conversions",
        lambda np_: lambda x: (x.astype(np_.int8), x.astype(np_.float16), x.astype(bool)),
        (X23,),
    ),
    ("uint8_wraps", lambda np_: lambda u: u + np_.uint8(250), (np.arange(4, dtype=np.uint8),)),
]


@pytest.mark.parametrize("build, args", [p[1:] for p in PROGRAMS], ids=[p[0] for p in PROGRAMS])
def test_jit_equals_eager_and_jax(x64, real_jax, build, args):
    fun = build(jnp)
    eager = _leaves(jax, fun(*_as_arrays(args)))
    jitted = _leaves(jax, jax.jit(fun)(*args))
    assert [repr(j) for j in jitted] == [repr(e) for e in eager]
    want = _leaves(real_jax, real_jax.jit(build(real_jax.numpy))(*args))
    assert [(j.shape, j.dtype, j.weak_type) for j in jitted] == [
        (w.shape, w.dtype, w.weak_type) for w in want
    ]
    for j, w in zip(jitted, want, strict=True):
        np.testing.assert_allclose(np.asarray(j), np.asarray(w), rtol=2e-6, atol=1e-7)


def test_jit_returns_closed_over_constants_and_literals_with_jax_types(real_jax):
    def build(np_):
        return lambda x: (x, 1.0, 2, np.arange(2), CONST)

    got = _leaves(jax, jax.jit(build(jnp))(np.float32(1)))
    want = _leaves(real_jax, real_jax.jit(build(real_jax.numpy))(np.float32(1)))
    assert [repr(g) for g in got] == [repr(w) for w in want]


def test_jit_output_does_not_alias_a_numpy_argument():
    x = np.ones(3, np.float32)
    same, reshaped = jax.jit(lambda x: (x, x.reshape(3)))(x)
    x[0] = 5.0
    np.testing.assert_array_equal(same, np.ones(3, np.float32))
    np.testing.assert_array_equal(reshaped, np.ones(3, np.float32))


def test_jit_keyword_and_default_arguments():
    def f(x, y, scale=3):
        return (x - y) * scale

    np.testing.assert_array_equal(jax.jit(f)(X23, y=Y32.T), (X23 - Y32.T) * 3)
    np.testing.assert_array_equal(jax.jit(f)(X23, Y32.T, scale=np.float32(2)), (X23 - Y32.T) * 2)


def test_jit_with_empty_arrays():
    got = jax.jit(lambda x: (x.sum(), x * 2))(np.zeros((0, 3), np.float32))
    assert repr(got[0]) == "Array(0., dtype=float32)"
    assert got[1].shape == (0, 3)


def test_python_integer_overflow_is_an_error_as_in_jax():
    with pytest.raises(OverflowError):
        jax.jit(lambda x: x)(2**40)


# -- caching ----------------------------------------------------------------------------------


def _trace_counts(lib, calls, **jit_kwargs):
    """Number of traces after each call of ``lib.jit(f, **jit_kwargs)``."""
    traces = []

    def f(x, n=1):
        traces.append(None)  # a Python side effect: runs only while tracing
        return x

    jitted = lib.jit(f, **jit_kwargs)
    counts = []
    for args, kwargs in calls:
        jitted(*args, **kwargs)
        counts.append(len(traces))
    return counts


def _signatures(np_):
    return [
        ((np.float32(1),), {}),  # trace 1
        ((np.float32(2),), {}),  # new value only
        ((np_.float32(3),), {}),  # an Array of the same type
        ((1.0,), {}),  # weak type: trace 2
        ((2.0,), {}),
        ((np.ones(2, np.float32),), {}),  # shape: trace 3
        ((np.full(2, 7, np.float32),), {}),
        ((np.ones(2, np.float16),), {}),  # dtype: trace 4
        ((np.ones(2, np.int32),), {}),  # trace 5
        ((np.ones(2, np.float64),), {}),  # float64 is float32 without x64: cached
        (((1.0, 2.0),), {}),  # pytree structure: trace 6
        (((3.0, 4.0),), {}),
        (([1.0, 2.0],), {}),  # a list is another structure: trace 7
        (({"a": 1.0},), {}),  # trace 8
        (({"a": 5.0},), {}),
    ]


def test_one_trace_per_abstract_signature(real_jax):
    counts = _trace_counts(jax, _signatures(jnp))
    assert counts == [1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 8, 8]
    assert counts == _trace_counts(real_jax, _signatures(real_jax.numpy))


def test_static_values_retrace_dynamic_values_do_not(real_jax):
    calls = [
        ((1.0, 2), {}),
        ((5.0, 2), {}),  # new dynamic value
        ((1.0, 3), {}),  # new static value
        ((1.0, 2), {}),  # cached
        ((np.ones(2), 3), {}),  # new shape
    ]
    for kwargs in ({"static_argnums": 1}, {"static_argnums": -1}, {"static_argnames": "n"}):
        counts = _trace_counts(jax, calls, **kwargs)
        assert counts == [1, 1, 2, 2, 3], kwargs
        assert counts == _trace_counts(real_jax, calls, **kwargs), kwargs


def test_keyword_and_positional_calls_match_jax_cache(real_jax):
    calls = [((1.0,), {"n": 2}), ((1.0, 2), {}), ((2.0,), {"n": 2}), ((2.0,), {"n": 4})]
    for kwargs in ({"static_argnums": 1}, {"static_argnames": "n"}):
        assert _trace_counts(jax, calls, **kwargs) == _trace_counts(real_jax, calls, **kwargs)


def test_x64_mode_is_part_of_the_signature(real_jax):
    def run(lib):
        traces = []
        f = lib.jit(lambda x: traces.append(None) or x * 2)
        out = [f(1.0)]
        with lib.enable_x64(True):
            out.append(f(1.0))
        out.append(f(1.0))
        return len(traces), [(o.dtype, o.weak_type) for o in out]

    traces, types = run(jax)
    assert (traces, types) == run(real_jax)
    assert traces == 2


def test_rewrapping_the_same_function_reuses_its_trace(real_jax):
    def run(lib):
        traces = []

        def f(x):
            traces.append(None)
            return x * 2

        for i in range(3):
            lib.jit(f)(float(i))
        return len(traces)

    assert run(jax) == run(real_jax) == 1


def test_clear_cache_retraces():
    traces = []
    f = jax.jit(lambda x: traces.append(None) or x)
    f(1.0)
    f.clear_cache()
    f(1.0)
    assert len(traces) == 2


# -- static arguments ---------------------------------------------------------------------------


def _tile(x, n):
    return jnp.ones(n) * x  # the shape needs a concrete n


@pytest.mark.parametrize(
    "jit_kwargs, args, kwargs",
    [
        ({"static_argnums": 1}, (2.0, 3), {}),
        ({"static_argnums": -1}, (2.0, 3), {}),
        ({"static_argnums": (1,)}, (2.0,), {"n": 3}),  # a number given by name
        ({"static_argnames": "n"}, (2.0, 3), {}),  # a name given by position
        ({"static_argnames": ("n",)}, (2.0,), {"n": 3}),
        ({"static_argnums": 1, "static_argnames": "n"}, (2.0,), {"n": 3}),
    ],
    ids=["num", "negative", "num_as_kw", "name_as_pos", "name", "both"],
)
def test_static_arguments(jit_kwargs, args, kwargs):
    got = jax.jit(_tile, **jit_kwargs)(*args, **kwargs)
    assert repr(got) == repr(_tile(*args, **kwargs))
    assert repr(got) == "Array([2., 2., 2.], dtype=float32)"


def test_static_keyword_only_argument_with_dynamic_keyword():
    def f(x, *, scale, n=2):
        return jnp.ones(n) * x * scale

    got = jax.jit(f, static_argnames="n")(np.float32(2), scale=np.float32(3), n=4)
    np.testing.assert_array_equal(got, np.full(4, 6, np.float32))


def test_static_argument_used_as_python_value_under_jit():
    def f(x, mode):
        return jnp.sin(x) if mode == "sin" else jnp.cos(x)

    g = jax.jit(f, static_argnums=1)
    np.testing.assert_allclose(g(X23, "sin"), np.sin(X23), rtol=1e-6)
    np.testing.assert_allclose(g(X23, "cos"), np.cos(X23), rtol=1e-6)


def test_unhashable_static_argument_is_a_value_error(real_jax):
    def scaled(x, factors):
        return x * factors[0]

    with pytest.raises(ValueError, match="Non-hashable static arguments are not supported"):
        real_jax.jit(scaled, static_argnums=1)(1.0, [2.0])
    message = "(?s)^Non-hashable static arguments are not supported.*scaled"
    with pytest.raises(ValueError, match=message) as info:
        jax.jit(scaled, static_argnums=1)(1.0, [2.0])
    assert "tuple" in str(info.value)


def test_donate_argnums_is_accepted():
    x = np.ones(3, np.float32)
    got = jax.jit(lambda x: x * 2, donate_argnums=0)(x)
    np.testing.assert_array_equal(got, np.full(3, 2, np.float32))
    np.testing.assert_array_equal(x, np.ones(3, np.float32))  # NumPy arrays are never donated


# -- composition with grad ---------------------------------------------------------------------


def _loss(np_):
    def loss(w, x):
        return np_.sum(np_.tanh(x @ w) ** 2) + 0.1 * np_.sum(w * w)

    return loss


def test_nested_jit(real_jax):
    def build(lib, np_):
        inner = lib.jit(lambda a, b: np_.sin(a) * b)
        return lib.jit(lambda x: inner(x, 2.0) + lib.jit(np_.cos)(x))

    got = build(jax, jnp)(X23)
    eager = jnp.sin(X23) * 2.0 + jnp.cos(X23)
    assert repr(got) == repr(eager)
    np.testing.assert_allclose(got, build(real_jax, real_jax.numpy)(X23), rtol=1e-6)


@pytest.mark.parametrize(
    "compose",
    [
        lambda lib, f: lib.jit(lib.grad(f)),
        lambda lib, f: lib.grad(lib.jit(f)),
        lambda lib, f: lib.jit(lib.grad(lib.jit(f))),
    ],
    ids=["jit_grad", "grad_jit", "jit_grad_jit"],
)
def test_jit_and_grad_compose(real_jax, compose):
    w = Y32[:, :1]
    got = compose(jax, _loss(jnp))(w, X23)
    want = compose(real_jax, _loss(real_jax.numpy))(w, X23)
    assert (got.shape, got.dtype, got.weak_type) == (want.shape, want.dtype, want.weak_type)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(got, jax.grad(_loss(jnp))(w, X23), rtol=1e-6)


def test_grad_of_jit_against_central_differences():
    f = jax.jit(_loss(jnp))
    check_grads(f, (Y32[:, :1], X23), order=2)
    check_grads(jax.jit(jax.grad(jnp.sin)), (0.7,), order=1)


def test_grad_of_jit_runs_compiled_forward_and_backward_programs():
    traces = []

    @jax.jit
    def f(w, x):
        traces.append(1)
        return jnp.sum(jnp.tanh(x @ w) ** 2), x * 2.0

    def loss(w):
        s, y = f(w, X23)
        return s + jnp.sum(y)

    w = Y32[:, :1]
    grads = [jax.grad(loss)(w) for _ in range(3)]
    assert len(traces) == 1  # the split of f's body is kept with it, f is not traced again
    for g in grads[1:]:
        np.testing.assert_array_equal(g, grads[0])
    # one forward and one backward program, each a jit equation, not f's body replayed
    top = jax.make_jaxpr(jax.grad(loss))(w).jaxpr.eqns
    assert [e.prim.name for e in top if e.prim.name == "jit"] == ["jit", "jit"]
    assert not any(e.prim.name == "tanh" for e in top)
    # only the derivative of the first output is needed: the second is not differentiated
    x_only = jax.make_jaxpr(jax.grad(lambda w: f(w, X23)[0]))(w).jaxpr
    fwd, bwd = (e for e in x_only.eqns if e.prim.name == "jit")
    assert len(bwd.outvars) == 1
    np.testing.assert_allclose(
        jax.grad(lambda w: f(w, X23)[0])(w), jax.grad(_loss(jnp))(w, X23) - 0.2 * w, rtol=1e-5
    )


def _same_as_jax(got, want, rtol=1e-6):
    """Same shape, dtype and weak type as JAX's result, and values equal to rounding."""
    assert (got.shape, got.dtype, got.weak_type) == (want.shape, want.dtype, want.weak_type)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol)


def test_grad_grad_jit(real_jax):
    got = jax.grad(jax.grad(jax.jit(jnp.sin)))(1.0)
    assert repr(got) == repr(jax.grad(jax.grad(jnp.sin))(1.0))
    _same_as_jax(got, real_jax.grad(real_jax.grad(real_jax.jit(real_jax.numpy.sin)))(1.0))


def test_value_and_grad_of_jit_keeps_weak_types(real_jax):
    def f(np_):
        return lambda x: np_.sin(x) * 2.0

    got = jax.value_and_grad(jax.jit(f(jnp)))(1.0)
    assert [repr(g) for g in got] == [repr(e) for e in jax.value_and_grad(f(jnp))(1.0)]
    want = real_jax.value_and_grad(real_jax.jit(f(real_jax.numpy)))(1.0)
    for g, w in zip(got, want, strict=True):
        _same_as_jax(g, w)


def test_jit_of_value_and_grad_with_aux(real_jax):
    def build(lib, np_):
        def f(w):
            y = np_.tanh(w) * 3.0
            return np_.sum(y**2), {"y": y, "n": np_.sum(w > 0)}

        return lib.jit(lib.value_and_grad(f, has_aux=True))

    (value, aux), grad = build(jax, jnp)(X23)
    (value_j, aux_j), grad_j = build(real_jax, real_jax.numpy)(X23)
    np.testing.assert_allclose(value, value_j, rtol=1e-6)
    np.testing.assert_allclose(grad, grad_j, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(aux["y"], aux_j["y"], rtol=1e-6)
    assert repr(aux["n"]) == repr(aux_j["n"])
    assert sorted(aux) == ["n", "y"]


def test_jit_under_grad_closing_over_the_differentiated_value(real_jax):
    def build(lib, np_):
        return lambda x: lib.jit(lambda y: np_.sin(y * x))(2.0) * x

    got = jax.grad(build(jax, jnp))(3.0)
    _same_as_jax(got, real_jax.grad(build(real_jax, real_jax.numpy))(3.0))


def test_jit_under_grad_with_an_integer_argument():
    def f(x, i):
        return jax.jit(lambda a, b: a * b)(x, i)

    dx, di = jax.grad(f, argnums=(0, 1), allow_int=True)(2.0, 3)
    assert repr(dx) == "Array(3., dtype=float32, weak_type=True)"
    assert di.dtype == jax.dtypes.float0


# -- pytrees, disable_jit, decorators, methods -------------------------------------------------


def test_pytrees_in_and_out():
    def f(tree):
        p, (q, none) = tree["p"], tree["rest"]
        return {"sum": p.x + p.y, "parts": (q * 2, None), "point": Point(p.y, p.x), "none": none}

    arg = {"p": Point(1.0, X23), "rest": (np.float32(3), None)}
    got = jax.jit(f)(arg)
    eager = f(arg)
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(eager)
    assert isinstance(got["point"], Point)
    assert [repr(g) for g in jax.tree_util.tree_leaves(got)] == [
        repr(jnp.asarray(e)) for e in jax.tree_util.tree_leaves(eager)
    ]


def test_disable_jit_runs_the_python_function_every_call():
    traces = []

    def f(x):
        traces.append(float(x))  # needs a concrete value
        return x * 2

    g = jax.jit(f)
    with jax.disable_jit():
        assert g(2.0) == 4.0
        assert g(3.0) == 6.0
    assert traces == [2.0, 3.0]
    with pytest.raises(ConcretizationTypeError):
        g(2.0)


def test_decorator_forms(real_jax):
    @jax.jit
    def plain(x):
        return x + 1

    @functools.partial(jax.jit, static_argnums=0)
    def partial_static(n, x):
        return x * n

    @jax.jit(static_argnames="n")
    def keyword_static(x, n):
        return jnp.ones(n) * x

    @real_jax.jit(static_argnames="n")
    def keyword_static_jax(x, n):
        return real_jax.numpy.ones(n) * x

    assert repr(plain(1.0)) == "Array(2., dtype=float32, weak_type=True)"
    assert repr(partial_static(3, np.float32(2))) == "Array(6., dtype=float32)"
    assert repr(keyword_static(2.0, n=2)) == repr(keyword_static_jax(2.0, n=2))
    assert plain.__name__ == plain.__wrapped__.__name__ == "plain"


def test_jit_of_methods():
    class Model:
        def __init__(self, k):
            self.k = k

        @functools.partial(jax.jit, static_argnums=0)
        def apply(self, x):
            return x * self.k

    @jax.tree_util.register_pytree_node_class
    class Scale:
        def __init__(self, k):
            self.k = k

        def tree_flatten(self):
            return (self.k,), None

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(*children)

        @jax.jit
        def apply(self, x):
            return x * self.k

    np.testing.assert_array_equal(Model(3.0).apply(X23), X23 * 3)
    np.testing.assert_array_equal(Scale(np.float32(2)).apply(X23), X23 * 2)
    np.testing.assert_array_equal(Scale(np.float32(4)).apply(X23), X23 * 4)


# -- lower, compile, eval_shape, make_jaxpr ----------------------------------------------------


def test_lower_as_text_and_compile():
    def f(x):
        return jnp.sin(x) * 2.0

    lowered = jax.jit(f).lower(X23)
    assert lowered.as_text() == str(jax.make_jaxpr(f)(X23))
    assert lowered.as_text() == (
        "{ lambda ; a:f32[2,3]. let\n"
        "    b:f32[2,3] = sin a\n"
        "    c:f32[2,3] = mul b 2.0:f32[]\n"
        "  in (c,) }"
    )
    compiled = lowered.compile()
    source = compiled.as_text()
    compile(source, "<jit source>", "exec")
    assert source.startswith("def ")
    assert repr(compiled(X23)) == repr(jax.jit(f)(X23))


def test_lower_with_static_arguments():
    text = jax.jit(_tile, static_argnums=1).lower(2.0, 3).as_text()
    assert "f32[3]" in text
    assert jax.jit(_tile, static_argnums=1).lower(2.0, 3).compile()(2.0).shape == (3,)


def test_eval_shape_and_shape_dtype_struct(real_jax):
    def build(lib, np_):
        def f(x, t):
            return x.sum(0), {"mask": x > 0, "weak": t["s"] * 2}, np_.argmax(x)

        return functools.partial(lib.eval_shape, f)

    args = (X23, {"s": 1.0})
    got = build(jax, jnp)(*args)
    want = build(real_jax, real_jax.numpy)(*args)
    assert repr(got) == repr(want)
    spec = jax.ShapeDtypeStruct((2, 3), np.float32)
    spec_j = real_jax.ShapeDtypeStruct((2, 3), np.float32)
    assert repr(build(jax, jnp)(spec, {"s": 1.0})) == repr(
        build(real_jax, real_jax.numpy)(spec_j, {"s": 1.0})
    )
    assert repr(spec) == repr(spec_j) == "ShapeDtypeStruct(shape=(2, 3), dtype=float32)"
    assert (spec.ndim, spec.size) == (spec_j.ndim, spec_j.size) == (2, 6)
    assert spec == jax.ShapeDtypeStruct([2, 3], "float32")
    assert hash(spec) == hash(jax.ShapeDtypeStruct((2, 3), np.float32))
    assert spec != jax.ShapeDtypeStruct((2, 3), np.float32, weak_type=True)


def test_make_jaxpr_static_argnums(real_jax):
    def build(np_):
        return lambda x, n, y: np_.sin(x) * n + y

    args = (X23, 3, np.float32(1))
    got = str(jax.make_jaxpr(build(jnp), static_argnums=1)(*args))
    assert got == str(real_jax.make_jaxpr(build(real_jax.numpy), static_argnums=1)(*args))
    assert got == (
        "{ lambda ; a:f32[2,3] b:f32[]. let\n"
        "    c:f32[2,3] = sin a\n"
        "    d:f32[2,3] = mul c 3.0:f32[]\n"
        "    e:f32[2,3] = add d b\n"
        "  in (e,) }"
    )


def test_make_jaxpr_return_shape(real_jax):
    def f(x):
        return [x, {"total": (x.sum(), x > 0)}]

    closed, shapes = jax.make_jaxpr(f, return_shape=True)(X23)
    closed_j, shapes_j = real_jax.make_jaxpr(f, return_shape=True)(X23)
    assert repr(shapes) == repr(shapes_j)
    assert [a.str_short() for a in closed.out_avals] == ["float32[2,3]", "float32[]", "bool[2,3]"]


def test_dict_outputs_keep_insertion_order_with_jax_values(real_jax):
    # A documented difference (docs/differences.md, pytrees): optree rebuilds a dict in the
    # order its keys were inserted, JAX in sorted order; the entries are the same.
    def f(x):
        return {"b": x, "a": x * 2}

    got, want = jax.jit(f)(1.0), real_jax.jit(f)(1.0)
    assert list(got) == ["b", "a"] and list(want) == ["a", "b"]
    assert {k: float(v) for k, v in got.items()} == {k: float(v) for k, v in want.items()}
    shapes, jax_shapes = jax.eval_shape(f, 1.0), real_jax.eval_shape(f, 1.0)
    assert {k: repr(v) for k, v in shapes.items()} == {k: repr(v) for k, v in jax_shapes.items()}


# -- errors -------------------------------------------------------------------------------------


def test_python_if_on_traced_value_is_tracer_bool_conversion_error():
    def branchy(x):
        if x > 0:
            return x
        return -x

    assert branchy(2.0) == 2.0
    with pytest.raises(TracerBoolConversionError) as info:
        jax.jit(branchy)(2.0)
    message = str(info.value)
    assert "branchy" in message and "jit" in message
    assert "lax.cond" in message and "static_argnums" in message


@pytest.mark.parametrize(
    "concretize",
    [float, int, np.asarray, lambda x: x.item()],
    ids=["float", "int", "asarray", "item"],
)
def test_concrete_value_of_traced_value_is_concretization_error(concretize):
    def needs_value(x):
        return concretize(x)

    with pytest.raises(ConcretizationTypeError) as info:
        jax.jit(needs_value)(2.0)
    assert not isinstance(info.value, TracerBoolConversionError)
    message = str(info.value)
    assert "needs_value" in message and "static_argnames" in message


LEAKED = []


def test_escaped_tracer_is_unexpected_tracer_error():
    def leak(x):
        LEAKED.append(x)  # a traced value stored in a global
        return x * 2

    jax.jit(leak)(1.0)
    with pytest.raises(UnexpectedTracerError, match="leak"):
        LEAKED[-1] + 1
    with pytest.raises(UnexpectedTracerError, match="argument"):
        jax.jit(lambda y: y + LEAKED[-1])(1.0)


def test_invalid_argument_type_is_type_error_naming_the_argument(real_jax):
    def scale(values, factor):
        return values * factor

    with pytest.raises(TypeError, match="factor"):
        real_jax.jit(scale)(X23, "two")
    with pytest.raises(TypeError, match="scale") as info:
        jax.jit(scale)(X23, "two")
    assert "factor" in str(info.value) and "static_arg" in str(info.value)
    with pytest.raises(TypeError, match="factor"):
        jax.jit(scale)(X23, factor=object())


def test_jit_of_a_non_callable_is_type_error():
    with pytest.raises(TypeError, match="^Expected a callable value, got 3"):
        jax.jit(3)


def test_returning_a_non_jax_type_is_type_error():
    with pytest.raises(TypeError, match=re.escape("returned 'label'") + ".*not a valid JAX type"):
        jax.jit(lambda x: (x, "label"))(1.0)


# -- custom_vjp inside jit (custom-vjp-spec §4.3, §6 scenarios 1, 38, 53) --------------------


def _make_S(lib, np_, calls):
    """The spec's fixture S: a custom sine whose bwd returns twice the true derivative."""

    @lib.custom_vjp
    def S(x):
        calls.append("f")
        return np_.sin(x)

    def S_fwd(x):
        calls.append("fwd")
        return S(x), np_.cos(x)

    def S_bwd(c, g):
        calls.append("bwd")
        return (2 * c * g,)

    S.defvjp(S_fwd, S_bwd)
    return S


S_JAXPR = (
    "{ lambda ; a:f32[]. let\n"
    "    b:f32[] = custom_vjp_call[\n"
    "      name=S\n"
    "      bwd=S_bwd\n"
    "      call_jaxpr={ lambda ; c:f32[]. let d:f32[] = sin c in (d,) }\n"
    "      fwd=S_fwd\n"
    "      symbolic_zeros=False\n"
    "    ] a\n"
    "  in (b,) }"
)


def test_custom_vjp_primal_under_jit_traces_fun_once():
    calls = []
    f = jax.jit(_make_S(jax, jnp, calls))
    y = f(3.0)
    np.testing.assert_allclose(y, 0.14112, rtol=1e-5)
    assert (y.dtype, y.weak_type) == (np.float32, True)
    assert calls == ["f"]
    np.testing.assert_allclose(f(4.0), np.sin(np.float32(4)), rtol=1e-6)
    assert calls == ["f"]


@pytest.mark.parametrize(
    "compose",
    [lambda lib, S: lib.jit(lib.grad(S)), lambda lib, S: lib.grad(lib.jit(S))],
    ids=["jit_grad", "grad_jit"],
)
def test_custom_vjp_rule_is_used_under_jit(real_jax, compose):
    got = compose(jax, _make_S(jax, jnp, []))(3.0)
    want = compose(real_jax, _make_S(real_jax, real_jax.numpy, []))(3.0)
    np.testing.assert_allclose(got, -1.979985, rtol=1e-6)
    assert repr(got) == repr(want)


def test_make_jaxpr_of_custom_vjp(real_jax):
    text = str(jax.make_jaxpr(_make_S(jax, jnp, []))(3.0))
    assert text == S_JAXPR
    assert text == str(real_jax.make_jaxpr(_make_S(real_jax, real_jax.numpy, []))(3.0))


def test_make_jaxpr_of_jit_of_custom_vjp(real_jax):
    text = str(jax.make_jaxpr(jax.jit(_make_S(jax, jnp, [])))(3.0))
    want = str(real_jax.make_jaxpr(real_jax.jit(_make_S(real_jax, real_jax.numpy, [])))(3.0))
    assert text == want


def test_custom_vjp_with_python_control_flow_under_jit_grad():
    """Scenario 38: fine eagerly, TracerBoolConversionError under jit."""

    @jax.custom_vjp
    def f(x):
        return jnp.sin(x) if x > 0 else jnp.cos(x)

    f.defvjp(lambda x: (f(x), x), lambda x, g: (2 * g,) if x > 0 else (3 * g,))
    for x, want in ((2.0, (0.9092974, 2.0)), (-2.0, (-0.4161468, 3.0))):
        np.testing.assert_allclose(jax.value_and_grad(f)(x), want, rtol=1e-6)
    with pytest.raises(TracerBoolConversionError, match="function f"):
        jax.jit(jax.grad(f))(2.0)


def test_a_broadcast_constant_beside_matmul_stays_an_array():
    """matmul is a generalized ufunc: the compiler must not hand it a scalar for a splat."""
    x = jnp.ones((2, 2))
    got = jax.jit(jax.grad(lambda x: (x @ x).sum()))(x)
    np.testing.assert_array_equal(np.asarray(got), np.full((2, 2), 4.0))
