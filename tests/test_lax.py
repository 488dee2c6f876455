"""``pullback.lax``: values and dtypes against JAX, errors without implicit promotion, and
gradients against central differences."""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback import lax
from pullback._config import enable_x64

F = np.array([[-1.5, 0.5, 2.0], [3.0, -0.25, 1.0]], np.float32)
I = np.array([[7, -7, 6], [-6, 5, 0]], np.int32)


def _same(got, expected, rtol=2e-6):
    assert tuple(got.shape) == tuple(expected.shape)
    assert np.dtype(got.dtype) == np.dtype(expected.dtype)
    assert got.weak_type == expected.weak_type
    np.testing.assert_allclose(
        np.asarray(got).astype(np.float64),
        np.asarray(expected).astype(np.float64),
        rtol=rtol,
        equal_nan=True,
    )


CASES = {
    "add": lambda L, m: L.add(m.asarray(F), 2.0),
    "add-ints": lambda L, m: L.add(1, 2),
    "add-numpy-f64": lambda L, m: L.add(m.float32(1), np.float64(2)),
    "add-broadcast": lambda L, m: L.add(m.ones((3, 1)), m.ones((1, 3))),
    "sub": lambda L, m: L.sub(m.asarray(I), m.asarray(I[::-1])),
    "mul": lambda L, m: L.mul(2.0, 3.0),
    "div-int": lambda L, m: L.div(m.asarray(I), m.asarray(np.array([[2, 2, -4], [4, -3, 1]]))),
    "div-uint": lambda L, m: L.div(m.asarray(np.uint8(7)), m.asarray(np.uint8(2))),
    "div": lambda L, m: L.div(7.0, 2.0),
    "rem-int": lambda L, m: L.rem(m.asarray(I), 4),
    "rem": lambda L, m: L.rem(m.asarray(F), -1.25),
    "pow": lambda L, m: L.pow(m.asarray(F), 3),
    "pow-int-exponent": lambda L, m: L.pow(m.asarray(F), m.asarray(np.int32(2))),
    "pow-scalars": lambda L, m: L.pow(2.0, 3),
    "integer_pow": lambda L, m: L.integer_pow(m.asarray(I), 3),
    "integer_pow-negative": lambda L, m: L.integer_pow(m.asarray(F), -2),
    "max": lambda L, m: L.max(m.asarray(F), 0.5),
    "min": lambda L, m: L.min(m.asarray(F), 0.5),
    "atan2": lambda L, m: L.atan2(m.asarray(F), 2.0),
    "eq": lambda L, m: L.eq(m.asarray(F), 0.5),
    "ne": lambda L, m: L.ne(m.asarray(I), 5),
    "lt": lambda L, m: L.lt(m.asarray(F), 1.0),
    "le": lambda L, m: L.le(1.0, 2.0),
    "gt": lambda L, m: L.gt(m.asarray(I), 0),
    "ge": lambda L, m: L.ge(m.asarray(F), 1.0),
    "bitwise_and": lambda L, m: L.bitwise_and(m.asarray(I), 3),
    "bitwise_or": lambda L, m: L.bitwise_or(m.asarray(I), 1),
    "bitwise_xor": lambda L, m: L.bitwise_xor(m.asarray(I), 5),
    "bitwise_not": lambda L, m: L.bitwise_not(m.asarray(I)),
    "select": lambda L, m: L.select(m.asarray(F > 0), m.asarray(F), m.zeros((2, 3))),
    "select-int-pred": lambda L, m: L.select(m.array([1, 0]), m.ones(2), m.zeros(2)),
    "select-scalar-pred": lambda L, m: L.select(True, m.ones(2), m.zeros(2)),
    "sin": lambda L, m: L.sin(m.asarray(F)),
    "sin-scalar": lambda L, m: L.sin(1.0),
    "cos": lambda L, m: L.cos(m.asarray(F)),
    "tan": lambda L, m: L.tan(m.asarray(F) / 4),
    "tanh": lambda L, m: L.tanh(m.asarray(F)),
    "exp": lambda L, m: L.exp(m.asarray(np.float16(1))),
    "exp2": lambda L, m: L.exp2(1.0),
    "expm1": lambda L, m: L.expm1(m.asarray(F)),
    "log": lambda L, m: L.log(m.abs(m.asarray(F))),
    "log1p": lambda L, m: L.log1p(m.abs(m.asarray(F))),
    "sqrt": lambda L, m: L.sqrt(4.0),
    "rsqrt": lambda L, m: L.rsqrt(4.0),
    "cbrt": lambda L, m: L.cbrt(m.asarray(F)),
    "logistic": lambda L, m: L.logistic(m.asarray(F)),
    "neg": lambda L, m: L.neg(1),
    "neg-uint": lambda L, m: L.neg(m.asarray(np.uint8(3))),
    "abs": lambda L, m: L.abs(m.asarray(I)),
    "sign": lambda L, m: L.sign(-2),
    "sign-uint": lambda L, m: L.sign(m.asarray(np.uint8(3))),
    "square": lambda L, m: L.square(3),
    "square-uint": lambda L, m: L.square(m.asarray(np.uint8(3))),
    "reciprocal": lambda L, m: L.reciprocal(4.0),
    "floor": lambda L, m: L.floor(m.asarray(F)),
    "ceil": lambda L, m: L.ceil(m.asarray(F)),
    "round": lambda L, m: L.round(m.array([0.5, 1.5, -0.5, -2.5, 2.4999998, 0.49999997])),
    "round-even": lambda L, m: L.round(m.array([0.5, 1.5, -2.5]), L.RoundingMethod.TO_NEAREST_EVEN),
    "is_finite": lambda L, m: L.is_finite(m.array([1.0, np.inf, np.nan])),
    "convert": lambda L, m: L.convert_element_type(1.5, m.int32),
    "convert-python-type": lambda L, m: L.convert_element_type(m.arange(3), float),
    "clamp": lambda L, m: L.clamp(0.0, m.asarray(F), 1.0),
    "clamp-arrays": lambda L, m: L.clamp(0.0, m.array([-1.0, 2.0]), m.array([1.0, 1.5])),
    "reduce_sum": lambda L, m: L.reduce_sum(m.asarray(F), (1,)),
    "reduce_sum-scalar": lambda L, m: L.reduce_sum(2.0, ()),
    "reduce_max": lambda L, m: L.reduce_max(m.asarray(F), (0,)),
    "reduce_min": lambda L, m: L.reduce_min(m.asarray(F), (0, 1)),
    "reduce_prod": lambda L, m: L.reduce_prod(m.asarray(F), (1,)),
    "reduce_and": lambda L, m: L.reduce_and(m.asarray(F > 0), (1,)),
    "reduce_or": lambda L, m: L.reduce_or(m.asarray(F > 2), (1,)),
    "argmax": lambda L, m: L.argmax(m.asarray(F), 1, m.int32),
    "argmin": lambda L, m: L.argmin(m.asarray(F), 0, m.int32),
    "cumsum": lambda L, m: L.cumsum(m.asarray(F), axis=1, reverse=True),
    "cumprod": lambda L, m: L.cumprod(m.asarray(F), axis=0),
    "dot": lambda L, m: L.dot(m.asarray(F), m.asarray(F.T)),
    "dot-vector": lambda L, m: L.dot(m.ones(3), m.ones(3)),
    "dot-mixed": lambda L, m: L.dot(m.ones(3, m.int32), m.ones(3)),
    "dot_general-batch": lambda L, m: L.dot_general(
        m.arange(24.0).reshape(2, 3, 4),
        m.arange(24.0).reshape(2, 4, 3),
        (((2,), (1,)), ((0,), (0,))),
    ),
    "dot_general-matmul": lambda L, m: L.dot_general(
        m.asarray(F), m.asarray(F.T), (((1,), (0,)), ((), ())), preferred_element_type=m.float32
    ),
    "dot_general-batch-middle": lambda L, m: L.dot_general(
        m.arange(24.0).reshape(3, 2, 4),
        m.arange(12.0).reshape(4, 3),
        (((2,), (0,)), ((0,), (1,))),
    ),
    "stop_gradient": lambda L, m: L.stop_gradient(m.asarray(F)),
    "slice": lambda L, m: L.slice(m.arange(10), (1,), (8,), (3,)),
    "slice-2d": lambda L, m: L.slice(m.asarray(F), (0, 1), (2, 3)),
    "slice_in_dim": lambda L, m: L.slice_in_dim(m.arange(10), 2, -1, 2),
    "index_in_dim": lambda L, m: L.index_in_dim(m.asarray(F), 1, 1),
    "index_in_dim-squeezed": lambda L, m: L.index_in_dim(m.asarray(F), -1, 1, keepdims=False),
    "dynamic_slice": lambda L, m: L.dynamic_slice(m.arange(5), (3,), (3,)),
    "dynamic_slice-negative": lambda L, m: L.dynamic_slice(m.arange(5), (m.array(-1),), (2,)),
    "dynamic_slice-array-starts": lambda L, m: L.dynamic_slice(m.arange(5), m.array([1]), (2,)),
    "dynamic_slice-2d": lambda L, m: L.dynamic_slice(
        m.arange(12).reshape(3, 4), (m.array(1), 7), (2, 2)
    ),
    "dynamic_update_slice": lambda L, m: L.dynamic_update_slice(
        m.arange(12.0).reshape(3, 4), m.ones((2, 2)), (-1, 1)
    ),
    "dynamic_slice_in_dim": lambda L, m: L.dynamic_slice_in_dim(m.arange(5.0), 1, 2),
    "dynamic_index_in_dim": lambda L, m: L.dynamic_index_in_dim(m.arange(5.0), 9, keepdims=False),
    "dynamic_update_slice_in_dim": lambda L, m: L.dynamic_update_slice_in_dim(
        m.zeros((3, 4)), m.ones((3, 2)), 3, 1
    ),
    "squeeze": lambda L, m: L.squeeze(m.ones((1, 3, 1)), (0, 2)),
    "expand_dims": lambda L, m: L.expand_dims(m.ones(3), (0, 2)),
    "expand_dims-negative": lambda L, m: L.expand_dims(m.ones(3), (-1,)),
    "broadcast": lambda L, m: L.broadcast(m.asarray(F), (2,)),
    "broadcast_in_dim": lambda L, m: L.broadcast_in_dim(m.ones(3), (2, 3), (1,)),
    "broadcast_in_dim-ones": lambda L, m: L.broadcast_in_dim(m.ones((3, 1)), (3, 4), (0, 1)),
    "reshape": lambda L, m: L.reshape(m.arange(6), (2, 3), (0,)),
    "reshape-dimensions": lambda L, m: L.reshape(m.asarray(F), (3, 2), dimensions=(1, 0)),
    "transpose": lambda L, m: L.transpose(m.asarray(F), (1, 0)),
    "concatenate": lambda L, m: L.concatenate([m.ones(2), m.zeros(1)], 0),
    "pad": lambda L, m: L.pad(m.array([1.0, 2.0]), 0.0, [(1, 2, 1)]),
    "pad-negative": lambda L, m: L.pad(m.array([1.0, 2.0, 3.0]), 0.0, [(-1, 1, 0)]),
    "rev": lambda L, m: L.rev(m.asarray(F), (0, 1)),
    "iota": lambda L, m: L.iota(m.int32, 3),
    "full_like": lambda L, m: L.full_like(m.asarray(F), 2),
    "full_like-weak-float": lambda L, m: L.full_like(1.0, 2),
    "full_like-weak-int": lambda L, m: L.full_like(1, 2.5),
    "full_like-strong-scalar": lambda L, m: L.full_like(m.float32(1), 2.0),
    "full_like-bool": lambda L, m: L.full_like(True, 2),
    "full_like-numpy-f64": lambda L, m: L.full_like(np.zeros(2), 2),
    "full_like-dtype": lambda L, m: L.full_like(m.asarray(F), 2.5, m.int32),
    "full_like-dtype-weak-x": lambda L, m: L.full_like(1.0, 2, m.float32),
    "full_like-shape": lambda L, m: L.full_like(m.asarray(F), 2, shape=(3, 1)),
    "full_like-array-fill-weak-x": lambda L, m: L.full_like(1.0, m.array(3)),
    "full_like-numpy-fill": lambda L, m: L.full_like(m.asarray(I), np.array(3.7)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_jax(name):
    jax = pytest.importorskip("jax")
    fn = CASES[name]
    _same(fn(lax, pnp), fn(jax.lax, jax.numpy))


FULL_LIKE_TRANSFORMED = {
    "jit": lambda T, L, m: T.jit(lambda x: L.full_like(x, 2.0))(m.asarray(F)),
    "jit-traced-fill": lambda T, L, m: T.jit(L.full_like)(m.asarray(I), 3.0),
    "jit-weak-x": lambda T, L, m: T.jit(lambda x: L.full_like(x, 2))(1.0),
    "vmap": lambda T, L, m: T.vmap(lambda x: L.full_like(x, 1, shape=(3,)))(m.asarray(F)),
    "vmap-fill": lambda T, L, m: T.vmap(lambda v: L.full_like(m.ones(2), v))(m.arange(3.0)),
    "vmap-fill-weak-x": lambda T, L, m: T.vmap(lambda v: L.full_like(1.0, v))(m.arange(3.0)),
    "grad-x": lambda T, L, m: T.grad(lambda x: L.full_like(x, 2.0).sum())(m.asarray(F)),
    "grad-fill": lambda T, L, m: T.grad(lambda v: L.full_like(m.asarray(F), v).sum())(3.0),
    "grad-both": lambda T, L, m: T.grad(lambda x: (L.full_like(x, x[0]) * x).sum())(
        m.arange(1.0, 4.0)
    ),
    "jvp-fill": lambda T, L, m: T.jvp(lambda v: L.full_like(m.ones(2), v), (3.0,), (1.0,))[1],
}


@pytest.mark.parametrize("name", sorted(FULL_LIKE_TRANSFORMED))
def test_full_like_transformed_matches_jax(name):
    jax = pytest.importorskip("jax")
    fn = FULL_LIKE_TRANSFORMED[name]
    _same(fn(pb, lax, pnp), fn(jax, jax.lax, jax.numpy))


def test_full_like_follows_x64():
    with enable_x64(True):
        assert lax.full_like(np.zeros(2), 1).dtype == np.float64


ERRORS = {
    "add-dtypes": (
        lambda: lax.add(pnp.float32(1.0), pnp.int32(1)),
        "lax.add requires arguments to have the same dtypes, got float32, int32. (Tip: "
        "jnp.add is a similar function that does automatic type promotion on inputs).",
    ),
    "add-weak-scalar": (
        lambda: lax.add(pnp.float16(1.0), 2.0),
        "lax.add requires arguments to have the same dtypes, got float16, float32.",
    ),
    "max-int-scalar": (lambda: lax.max(pnp.float32(1.0), 2), "got float32, int32"),
    "eq-dtypes": (lambda: lax.eq(pnp.float32(1), pnp.int32(1)), "jnp.equal"),
    "mul-shapes": (
        lambda: lax.mul(pnp.ones(3), pnp.ones(2)),
        "mul got incompatible shapes for broadcasting: (3,), (2,).",
    ),
    "sin-int": (lambda: lax.sin(1), "sin does not accept dtype int32"),
    "abs-uint": (lambda: lax.abs(pnp.uint8(3)), "signedinteger"),
    "floor-int": (lambda: lax.floor(1), "Accepted dtypes are subtypes of floating."),
    "pow-int-base": (lambda: lax.pow(pnp.int32(2), pnp.int32(3)), "at position 0"),
    "pow-mismatch": (
        lambda: lax.pow(pnp.float16(2), pnp.float32(3)),
        "two inexact dtypes must match",
    ),
    "integer_pow-negative": (
        lambda: lax.integer_pow(pnp.int32(2), -1),
        "Integers cannot be raised to negative powers, got integer_pow(int32[], -1)",
    ),
    "select-dtypes": (
        lambda: lax.select(pnp.array([True, False]), pnp.ones(2), pnp.zeros(2, pnp.int32)),
        "got int32, float32",
    ),
    "select-shapes": (
        lambda: lax.select(pnp.array([True, False]), pnp.ones(2), 0.0),
        "select cases must have the same shapes, got [(), (2,)].",
    ),
    "clamp-dtypes": (
        lambda: lax.clamp(0, pnp.arange(5.0), 3),
        "lax.clamp requires arguments to have the same dtypes, got int32, float32, int32.",
    ),
    "clamp-shapes": (
        lambda: lax.clamp(pnp.zeros(3), pnp.ones(2), 1.0),
        "clamp requires min.shape == operand.shape or min.shape == ()",
    ),
    "concatenate-dtypes": (
        lambda: lax.concatenate([pnp.ones(2), pnp.zeros(1, pnp.int32)], 0),
        "jnp.concatenate",
    ),
    "dynamic_update_slice-dtypes": (
        lambda: lax.dynamic_update_slice(pnp.arange(5.0), pnp.array([9, 9]), (4,)),
        "got float32, int32",
    ),
    "slice-bounds": (
        lambda: lax.slice(pnp.arange(5), (1,), (7,)),
        "less than or equal to operand shape",
    ),
    "reshape-size": (lambda: lax.reshape(pnp.ones(6), (4,)), "total size must be unchanged"),
    "full_like-array-fill": (
        lambda: lax.full_like(pnp.ones(2), pnp.ones(2)),
        "full must be called with scalar fill_value, got fill_value.shape (2,).",
    ),
    "full_like-list": (lambda: lax.full_like([1.0], 2), "got a list"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors(name):
    fn, message = ERRORS[name]
    with pytest.raises(TypeError) as info:
        fn()
    assert message in str(info.value)


def test_index_in_dim_out_of_bounds():
    with pytest.raises(IndexError, match="out of bounds"):
        lax.index_in_dim(pnp.ones(3), 3)


def test_squeeze_non_unit_dimension():
    with pytest.raises(ValueError, match="size not equal to one"):
        lax.squeeze(pnp.ones((1, 3)), (1,))


# -- gradients -----------------------------------------------------------------------------------


def test_clamp_gradient_is_zero_at_the_bounds():
    g = pb.grad(lambda lo, x, hi: lax.clamp(lo, x, hi), argnums=(0, 1, 2))
    as_list = lambda gs: [float(v) for v in gs]
    assert as_list(g(0.0, 0.0, 1.0)) == [0.0, 0.0, 0.0]
    assert as_list(g(0.0, 1.0, 1.0)) == [0.0, 0.0, 0.0]
    assert as_list(g(0.0, 0.5, 1.0)) == [0.0, 1.0, 0.0]
    assert as_list(g(0.0, -1.0, 1.0)) == [1.0, 0.0, 0.0]
    assert as_list(g(0.0, 2.0, 1.0)) == [0.0, 0.0, 1.0]
    assert as_list(g(2.0, 1.0, 0.0)) == [0.0, 0.0, 1.0]


def _numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for pos in np.ndindex(*x.shape):
        plus, minus = x.copy(), x.copy()
        plus[pos] += eps
        minus[pos] -= eps
        g[pos] = (float(f(pnp.asarray(plus))) - float(f(pnp.asarray(minus)))) / (2 * eps)
    return g


_W = np.random.default_rng(5).standard_normal(64)


def _weighted(y):
    y = pnp.ravel(y)
    return pnp.sum(y * pnp.asarray(_W[: y.shape[0]]))


GRAD_CASES = {
    "dynamic_slice": lambda x: lax.dynamic_slice(x, (1, pnp.array(5)), (2, 2)),
    "dynamic_update_slice": lambda x: lax.dynamic_update_slice(x, x[:2, :2] ** 2, (2, 1)),
    "dynamic_index_in_dim": lambda x: lax.dynamic_index_in_dim(x, pnp.array(1), 1),
    "dot_general": lambda x: lax.dot_general(x, pnp.sin(x), (((1,), (1,)), ((), ()))),
    "dot": lambda x: lax.dot(x, x.T),
    "rem": lambda x: lax.rem(x, 0.7),
    "pad": lambda x: lax.pad(x, 0.5, [(-1, 2, 1), (1, 0, 0)]),
    "slice": lambda x: lax.slice(x, (0, 1), (3, 3), (2, 1)),
    "index_in_dim": lambda x: lax.index_in_dim(x, 1, 1, keepdims=False),
    "clamp": lambda x: lax.clamp(-0.5, x, 0.5),
    "select": lambda x: lax.select(x > 0, x**2, pnp.sin(x)),
    "broadcast_in_dim": lambda x: lax.broadcast_in_dim(x, (2, 3, 4), (1, 2)),
    "reshape": lambda x: lax.reshape(x, (4, 3), dimensions=(1, 0)),
    "integer_pow": lambda x: lax.integer_pow(x, 3),
    "pow": lambda x: lax.pow(pnp.abs(x) + 0.5, x),
    "logistic": lambda x: lax.logistic(x),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients(name):
    f = GRAD_CASES[name]
    x = np.random.default_rng(6).uniform(-1.2, 1.2, (3, 4))
    with enable_x64(True):
        loss = lambda v: _weighted(f(v))
        got = np.asarray(pb.grad(loss)(pnp.asarray(x)))
        np.testing.assert_allclose(got, _numeric_grad(loss, x), rtol=1e-6, atol=1e-8)


def test_second_order_dynamic_slice():
    with enable_x64(True):
        inner = lambda y: pnp.sum(lax.dynamic_update_slice(y, y[1:] ** 3, (0,)) ** 2)
        outer = lambda x: pnp.sum(pb.grad(inner)(x) ** 2)
        x = np.array([0.3, -0.8, 1.1])
        got = np.asarray(pb.grad(outer)(pnp.asarray(x)))
        np.testing.assert_allclose(got, _numeric_grad(outer, x), rtol=1e-6, atol=1e-8)


def test_stop_gradient_pytree():
    f = lambda x: pnp.sum(lax.stop_gradient({"a": x})["a"] * x)
    assert pb.grad(f)(pnp.array([2.0, 3.0])).tolist() == [2.0, 3.0]
