"""``linear_transpose``: every primitive declared linear transposes correctly (the adjoint identity
``<ct, f(t)> == <f_t(ct), t>`` on random float64 data, from the sample rows of
``tests/samples_*.py``); results match JAX 0.10.2's ``linear_transpose`` (values and dtypes);
non-linear functions and mismatched cotangents are clear errors."""

import numpy as np
import pytest
from test_primitives import SAMPLES

import pullback as jax
import pullback.numpy as jnp
from pullback._config import enable_x64
from pullback._core import registry


@pytest.fixture(scope="module")
def real_jax():
    return pytest.importorskip("jax")


@pytest.fixture
def x64():
    with enable_x64(True):
        yield


# -- the adjoint identity, primitive by primitive --------------------------------------------------


def _is_float_array(x):
    return isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind == "f"


def _linear_sets(prim, args):
    """The sets of operand positions to vary together: all linear float operands at once, or
    (for a primitive linear in one operand at a time) each alone."""
    linear = prim.transpose
    candidates = [
        k
        for k, a in enumerate(args)
        if _is_float_array(a) and (linear.positions is None or k in linear.positions)
    ]
    if not candidates:
        return []
    return [(k,) for k in candidates] if linear.separately else [tuple(candidates)]


def _float_outputs(prim, row):
    out = prim.impl(*row["args"], **row.get("params", {}))
    return all(np.asarray(o).dtype.kind == "f" for o in (out if prim.multiple_results else [out]))


def _identity_cases():
    cases = []
    for name in sorted(SAMPLES):
        prim = registry.get(name)
        if prim is None or prim.transpose is None:
            continue
        for k, (_, row) in enumerate(SAMPLES[name]):
            if "skip" in row or not _float_outputs(prim, row):
                continue
            for positions in _linear_sets(prim, row["args"]):
                label = f"{name}-{row.get('id', k)}-{'.'.join(map(str, positions))}"
                cases.append(pytest.param(name, row, positions, id=label))
    return cases


IDENTITY_CASES = _identity_cases()


def test_every_linear_primitive_is_checked():
    declared = {name for name, prim in registry.items() if prim.transpose is not None}
    checked = {case.values[0] for case in IDENTITY_CASES}
    assert declared <= checked, f"linear primitives without an identity case: {declared - checked}"


@pytest.mark.parametrize("name,row,positions", IDENTITY_CASES)
def test_adjoint_identity(name, row, positions, x64):
    prim = registry[name]
    args, params = row["args"], row.get("params", {})
    rng = np.random.default_rng(0)

    def f(*ts):
        full = list(args)
        for k, t in zip(positions, ts, strict=True):
            full[k] = t
        return prim.bind(*full, **params)

    ts = [rng.standard_normal(np.shape(args[k])) for k in positions]
    outs = f(*ts)
    outs = list(outs) if prim.multiple_results else [outs]
    cts = [rng.standard_normal(o.shape).astype(o.dtype) for o in outs]
    f_t = jax.linear_transpose(f, *ts)
    in_cts = f_t(list(cts) if prim.multiple_results else cts[0])
    assert len(in_cts) == len(ts)
    for c, t in zip(in_cts, ts, strict=True):
        assert c.shape == t.shape and c.dtype == t.dtype
    # an offset that does not depend on t (a fill value, a constant operand) is no part of the
    # linear map: measure f(t) - f(0), and skip positions filled with NaN
    zeros = f(*[np.zeros_like(t) for t in ts])
    zeros = list(zeros) if prim.multiple_results else [zeros]
    lhs = sum(
        np.nansum(c * (np.asarray(o) - np.asarray(z)))
        for c, o, z in zip(cts, outs, zeros, strict=True)
    )
    rhs = sum(np.vdot(np.asarray(c), t) for c, t in zip(in_cts, ts, strict=True))
    tol = 1e-5 if any(o.dtype == np.float32 for o in outs) else 1e-10
    np.testing.assert_allclose(lhs, rhs, rtol=tol, atol=tol)


# -- against JAX --------------------------------------------------------------------------------

A23 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -3.0]], np.float32)
V3 = np.array([1.0, -2.0, 0.5], np.float32)
IDX = np.array([2, 0, 2, 1], np.int32)


def _functions(jnp, jax):
    """Linear functions written once for both libraries: name -> (fun, primals, cotangent)."""
    return {
        "affine_combination": (lambda x, y: 0.5 * x - 2.0 * y + 1.0, (V3, V3), V3),
        "matvec_sum": (lambda x: (A23 @ x, jnp.sum(x)), (V3,), (A23[:, 0], np.float32(2.0))),
        "pytree_out": (
            lambda x: {"a": x, "b": (x * 2, x.sum())},
            (V3,),
            {"a": V3, "b": (V3 * 3, np.float32(1.0))},
        ),
        "indexing": (
            lambda x: x[IDX][1:] + x[::-1].at[1].add(x[0]) + jax.lax.dynamic_slice(x, (1,), (3,)),
            (V3,),
            V3,
        ),
        "reshape_transpose_cumsum": (
            lambda x: jnp.cumsum(x.reshape(3, 2).T, axis=1),
            (A23.ravel(),),
            A23,
        ),
        "where_pad_concat": (
            lambda x, y: jnp.concatenate(
                [jnp.where(V3 > 0, x, -y), jax.lax.pad(x, jnp.zeros((), x.dtype), [(1, 1, 0)])]
            ),
            (V3, V3),
            np.arange(8, dtype=np.float32),
        ),
        "einsum_mean": (lambda x: jnp.einsum("ij,j->i", A23, x) / 3.0, (V3,), A23[:, 1]),
        "jit_inside": (
            lambda x: jax.jit(lambda y: (y * 3.0, jnp.cos(V3)))(x)[0] * jnp.sin(V3),
            (V3,),
            V3,
        ),
        "weak_scalar": (lambda x: x * 2.0, (2.0,), 3.0),
        "constant_output": (lambda x: jnp.ones(3), (V3,), np.ones(3)),
        "unused_input": (lambda x, y: x, (V3, A23), V3),
        "float64_to_float32": (lambda x: x.astype(jnp.float32) * 2, (V3.astype(np.float64),), V3),
        "integer": (
            lambda n: n * 3 + n[::-1],
            (np.arange(3, dtype=np.int32),),
            np.ones(3, np.int32),
        ),
    }


@pytest.mark.parametrize("name", list(_functions(jnp, jax)))
@pytest.mark.parametrize("x64_mode", [False, True], ids=["x32", "x64"])
def test_matches_jax(name, x64_mode, real_jax):
    import jax.numpy as real_jnp

    fun, primals, ct = _functions(jnp, jax)[name]
    real_fun, _, _ = _functions(real_jnp, real_jax)[name]
    real_jax.config.update("jax_enable_x64", x64_mode)
    try:
        expected = real_jax.linear_transpose(real_fun, *primals)(ct)
    finally:
        real_jax.config.update("jax_enable_x64", False)
    with enable_x64(x64_mode):
        got = jax.linear_transpose(fun, *primals)(ct)
    assert isinstance(got, tuple) and len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        # (JAX hands a cotangent that passes through unchanged back as it is: maybe a NumPy array)
        weak = getattr(e, "weak_type", False)
        assert (g.shape, g.dtype, g.weak_type) == (e.shape, e.dtype, weak), name
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-6, atol=1e-6)


def test_shape_dtype_structs_as_primals():
    scalar = jax.ShapeDtypeStruct((), np.float32)
    f_t = jax.linear_transpose(lambda x, y: 0.5 * x - 0.5 * y, scalar, scalar)
    got = f_t(1.0)
    assert [(g.dtype, float(g)) for g in got] == [(np.float32, 0.5), (np.float32, -0.5)]


# -- the transposed function under transformations ----------------------------------------------


def test_transposed_function_under_jit_and_grad(x64):
    a = np.arange(6.0).reshape(2, 3) - 2.0
    w = np.array([0.3, -1.2, 2.0])
    ct = np.array([1.5, -0.5])
    f_t = jax.linear_transpose(lambda x: a @ x, w)
    (eager,) = f_t(ct)
    np.testing.assert_allclose(np.asarray(eager), a.T @ ct)
    (jitted,) = jax.jit(f_t)(ct)
    np.testing.assert_allclose(np.asarray(jitted), a.T @ ct)
    # the transpose of the transpose is the function itself: d<f_t(ct), w>/d ct = f(w)
    grad = jax.grad(lambda c: jnp.vdot(f_t(c)[0], w))(ct)
    np.testing.assert_allclose(np.asarray(grad), a @ w)


def test_closed_over_values_are_differentiable(x64, real_jax):
    # d/da sum(transpose(x -> a * x)(ct)) = sum(ct), through the transposition
    ct = np.array([1.0, 2.0, -0.5])

    def g(jax, jnp, a):
        return jnp.sum(jax.linear_transpose(lambda x: a * jnp.sin(a) * x, ct)(ct)[0])

    got = jax.grad(lambda a: g(jax, jnp, a))(0.7)
    real_jax.config.update("jax_enable_x64", True)
    try:
        expected = real_jax.grad(lambda a: g(real_jax, real_jax.numpy, a))(0.7)
    finally:
        real_jax.config.update("jax_enable_x64", False)
    np.testing.assert_allclose(float(got), float(expected), rtol=1e-12)
    eps = 1e-6
    fd = (float(g(jax, jnp, 0.7 + eps)) - float(g(jax, jnp, 0.7 - eps))) / (2 * eps)
    np.testing.assert_allclose(float(got), fd, rtol=1e-7)


# -- errors ---------------------------------------------------------------------------------------

_NOT_LINEAR = "linear_transpose of {}: {} is not linear in its inputs: primitive {}"


def square(x):
    return x * x


@pytest.mark.parametrize(
    "fun,prim",
    [
        (jnp.sin, "sin"),
        (jax.lax.stop_gradient, "stop_gradient"),
        (lambda x: 1.0 / x, "div"),
        (lambda x: jnp.where(x > 0, x, 0.0), "gt"),
    ],
    ids=["sin", "stop_gradient", "div_denominator", "where_on_condition"],
)
def test_non_linear_primitive(fun, prim):
    with pytest.raises(
        TypeError, match=f"is not linear in its inputs: primitive {prim} is applied"
    ):
        jax.linear_transpose(fun, V3)


@pytest.mark.parametrize("name", ["sin", "stop_gradient"])
def test_jax_cannot_transpose_these_either(name, real_jax):
    fun = {"sin": real_jax.numpy.sin, "stop_gradient": real_jax.lax.stop_gradient}[name]
    with pytest.raises(
        NotImplementedError, match=f"Transpose rule .* for '{name}' not implemented"
    ):
        real_jax.linear_transpose(fun, V3)(V3)


@pytest.mark.parametrize(
    "fun,args,prim",
    [
        (square, (V3,), "mul"),
        (lambda x, y: x @ y, (A23, V3), "matmul"),
        (lambda x, y: jnp.einsum("ij,j->i", x, y), (A23, V3), "einsum"),
    ],
    ids=["mul", "matmul", "einsum"],
)
def test_product_of_two_linear_values(fun, args, prim):
    name = fun.__name__
    message = _NOT_LINEAR.format(name, name, prim) + " is applied to 2 values that depend on them"
    with pytest.raises(TypeError, match=message.replace("<", r"\<").replace(">", r"\>")):
        jax.linear_transpose(fun, *args)


def test_dead_non_linear_code_is_ignored():
    (got,) = jax.linear_transpose(lambda x: (jnp.sin(x), 2 * x)[1], V3)(V3)
    np.testing.assert_allclose(np.asarray(got), 2 * V3)


def test_mixed_integer_and_float(real_jax):
    with pytest.raises(TypeError, match=r"only supports \[float or complex\] -> \[float or comp"):
        jax.linear_transpose(lambda x, n: x, V3, np.int32(2))
    with pytest.raises(TypeError, match=r"only supports \[float or complex\] -> \[float or comp"):
        real_jax.linear_transpose(lambda x, n: x, V3, np.int32(2))


def test_cotangent_of_the_wrong_type(real_jax):
    f_t = jax.linear_transpose(lambda x: x * 2.0, V3)
    with pytest.raises(
        TypeError, match=r"cotangent at output has type float32\[2\], but .*float32\[3\]"
    ):
        f_t(np.ones(2, np.float32))
    with pytest.raises(TypeError, match=r"cotangent at output has type int32\[3\]"):
        f_t(np.ones(3, np.int32))
    with pytest.raises(TypeError, match="cotangent type does not match function output"):
        real_jax.linear_transpose(lambda x: x * 2.0, V3)(np.ones(2, np.float32))


def test_cotangent_leaf_is_named_by_its_path():
    f_t = jax.linear_transpose(lambda x: {"a": x, "b": x[:2]}, V3)
    with pytest.raises(TypeError, match=r"cotangent at output\['b'\] has type float32\[3\]"):
        f_t({"a": V3, "b": V3})


def test_cotangent_of_the_wrong_structure(real_jax):
    f_t = jax.linear_transpose(lambda x: (x, x), V3)
    with pytest.raises(TypeError, match=r"pytree structure .* does not match that of <lambda>"):
        f_t(V3)
    with pytest.raises(TypeError, match="cotangent tree does not match function output"):
        real_jax.linear_transpose(lambda x: (x, x), V3)(V3)


def test_reduce_axes_is_deprecated():
    with pytest.raises(NotImplementedError, match="reduce_axes"):
        jax.linear_transpose(lambda x: x, V3, reduce_axes=("i",))
