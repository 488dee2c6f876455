"""Scalar types as callables and dtypes (``jnp.float32(1.0)``), dtype utilities, constants, and
the elementwise functions of ``pullback.numpy._math``."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback._config import enable_x64

SCALAR_TYPES = [
    "bool_",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]


def test_printing():
    assert repr(pnp.float32(1.0)) == "Array(1., dtype=float32)"
    assert repr(pnp.int32(3)) == "Array(3, dtype=int32)"
    assert repr(pnp.int32(3.7)) == "Array(3, dtype=int32)"
    assert repr(pnp.float16(1.0)) == "Array(1., dtype=float16)"
    assert repr(pnp.float64(1.0)) == "Array(1., dtype=float32)"
    assert repr(pnp.int64(2)) == "Array(2, dtype=int32)"
    assert repr(pnp.bool_(1)) == "Array(True, dtype=bool)"
    assert repr(pnp.uint8(3)) == "Array(3, dtype=uint8)"
    assert repr(pnp.complex64(1j)) == "Array(0.+1.j, dtype=complex64)"
    assert repr(pnp.float32([1, 2])) == "Array([1., 2.], dtype=float32)"
    assert repr(pnp.float32) == "<class 'pullback.numpy.float32'>"
    assert repr(pnp.bool_) == "<class 'pullback.numpy.bool'>"


def test_x64_keeps_64_bit_types():
    with enable_x64(True):
        assert repr(pnp.float64(1.0)) == "Array(1., dtype=float64)"
        assert pnp.int_(2).dtype == np.int64
    assert pnp.float64(1.0).dtype == np.float32


@pytest.mark.parametrize("name", SCALAR_TYPES)
def test_scalar_type_is_a_dtype(name):
    t = getattr(pnp, name)
    np_type = getattr(np, name)
    assert t.dtype == np.dtype(np_type)
    assert np.dtype(t) == np.dtype(np_type)
    assert t == np_type
    assert not t != np_type  # noqa: SIM202 - __ne__ is tested too
    assert hash(t) == hash(np_type)
    assert isinstance(np_type(0), t)
    assert not isinstance(pnp.zeros(()), t)
    assert pnp.dtype(t) == np.dtype(np_type)
    out = t(1)
    assert not out.weak_type
    assert out.dtype == pb.dtypes.canonicalize_dtype(np_type)
    assert pnp.zeros(2, t).dtype == pb.dtypes.canonicalize_dtype(np_type)
    assert pnp.ones(2).astype(t).dtype == pb.dtypes.canonicalize_dtype(np_type)


def test_aliases():
    assert pnp.bool is pnp.bool_
    assert pnp.int_ is pnp.int64 and pnp.uint is pnp.uint64
    assert pnp.float_ is pnp.float64 and pnp.complex_ is pnp.complex128
    assert pnp.single is pnp.float32 and pnp.double is pnp.float64
    assert pnp.csingle is pnp.complex64 and pnp.cdouble is pnp.complex128
    assert pnp.dtype is np.dtype


def test_scalar_type_of_traced_value():
    g = pb.grad(lambda x: pnp.sum(pnp.float32(x) * 2.0))(pnp.array([1.0, 2.0]))
    assert g.tolist() == [2.0, 2.0]


def test_dtype_utilities():
    assert pnp.issubdtype(pnp.float32, pnp.floating)
    assert pnp.issubdtype(np.float32, pnp.float32)
    assert not pnp.issubdtype(pnp.int32, pnp.inexact)
    assert pnp.issubdtype(pnp.uint8, pnp.unsignedinteger)
    assert pnp.issubdtype(pnp.complex64, pnp.complexfloating)
    assert pnp.result_type(pnp.int8, pnp.uint8) == np.int16
    assert pnp.result_type(pnp.float16, 1.0) == np.float16
    assert pnp.result_type(1, 1.0) == np.float32
    assert pnp.result_type("float64") == np.float32
    assert pnp.promote_types("float64", "int32") == np.float64
    assert pnp.promote_types(pnp.int8, pnp.uint8) == np.int16
    assert pnp.can_cast(pnp.int8, pnp.float32)
    assert not pnp.can_cast(pnp.float32, pnp.int8)
    assert repr(pnp.finfo(pnp.float32)) == (
        "finfo(resolution=1e-06, min=-3.4028235e+38, max=3.4028235e+38, dtype=float32)"
    )
    assert pnp.finfo(pnp.float16).bits == 16
    assert pnp.iinfo(pnp.uint8).max == 255
    assert repr(pnp.iinfo(pnp.int8)) == "iinfo(min=-128, max=127, dtype=int8)"


def test_constants():
    assert pnp.pi == math.pi and pnp.e == math.e
    assert pnp.inf == math.inf and math.isnan(pnp.nan)
    assert pnp.newaxis is None
    assert pnp.euler_gamma == pytest.approx(0.5772156649015329)
    assert pnp.inexact is np.inexact and pnp.integer is np.integer


# -- against JAX ---------------------------------------------------------------------------------


def _jnp():
    return pytest.importorskip("jax").numpy


@pytest.mark.parametrize("name", SCALAR_TYPES)
@pytest.mark.parametrize("value", [1, 2.5, True, [1, 0]])
def test_scalar_types_match_jax(name, value):
    jnp = _jnp()
    if name.startswith("uint") and isinstance(value, float):
        value = 2  # float -> unsigned conversion is platform-defined for NumPy casts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = getattr(jnp, name)(value)
    got = getattr(pnp, name)(value)
    assert repr(got) == repr(expected)


@pytest.mark.parametrize(
    "args",
    [
        ("int8", "uint8"),
        ("float16", 1.0),
        (1, 1.0),
        ("int32", "float16"),
        ("uint32", "int32"),
        ("bool_", 1),
        ("complex64", "float16"),
    ],
)
def test_result_type_matches_jax(args):
    jnp = _jnp()

    def conv(m, a):
        return getattr(m, a) if isinstance(a, str) else a

    assert pnp.result_type(*[conv(pnp, a) for a in args]) == jnp.result_type(
        *[conv(jnp, a) for a in args]
    )


# -- elementwise functions of pullback.numpy._math -------------------------------------------------

_I = [-3, 0, 2, 5]
_F = [-1.5, 0.5, 2.5, 3.49]

MATH_CASES = [
    ("power", lambda m: m.power(m.array(_I), 2)),
    ("power-int-array", lambda m: m.power(2, m.array(_I))),
    ("power-negative", lambda m: m.power(m.array([1, -1, 2, -2]), m.array([-3, -3, -2, 5]))),
    ("power-scalars", lambda m: m.power(2, 3)),
    ("power-float-int", lambda m: m.power(2.0, 3)),
    ("power-f16-0d", lambda m: m.power(m.asarray(np.float16(2)), m.array(3))),
    ("power-int8-0d", lambda m: m.power(m.asarray(np.int8(2)), m.array(3))),
    ("power-sqrt", lambda m: m.power(m.array(_F), 0.5)),
    ("float_power", lambda m: m.float_power(m.array([2, 3]), 2)),
    ("float_power-scalars", lambda m: m.float_power(2, 3)),
    ("mod", lambda m: m.mod(m.array(_I), -3)),
    ("remainder", lambda m: m.remainder(m.array(_F), 2)),
    ("fmod-int", lambda m: m.fmod(m.array(_I), 3)),
    ("fmod", lambda m: m.fmod(m.array(_F), -2)),
    ("divmod", lambda m: m.divmod(m.array(_I), 3)[0]),
    ("clip", lambda m: m.clip(m.array(_F), 0, 1)),
    ("clip-int-float", lambda m: m.clip(m.array(_I), 0, 1.5)),
    ("clip-min", lambda m: m.clip(m.array(_I), 0)),
    ("clip-max", lambda m: m.clip(m.array(_I), max=1)),
    ("clip-scalar", lambda m: m.clip(3.0, 0, 1)),
    ("clip-int8", lambda m: m.clip(m.asarray(np.array(_I, np.int8)), 0, 3)),
    ("round-int", lambda m: m.round(m.array(_I))),
    ("round", lambda m: m.round(m.array(_F))),
    ("round-decimals", lambda m: m.round(m.array(_F), 1)),
    ("round-f16", lambda m: m.round(m.asarray(np.float16(2.345)), 2)),
    ("round-scalar", lambda m: m.round(2.5)),
    ("around", lambda m: m.around(m.array([1.25, 1.35]), 1)),
    ("floor-int", lambda m: m.floor(m.array(_I))),
    ("floor", lambda m: m.floor(m.array(_F))),
    ("floor-scalar", lambda m: m.floor(2.5)),
    ("floor-bool", lambda m: m.floor(True)),
    ("floor-int-scalar", lambda m: m.floor(2)),
    ("ceil", lambda m: m.ceil(m.array(_F))),
    ("trunc", lambda m: m.trunc(m.array(_F))),
    ("sign", lambda m: m.sign(m.array(_F))),
    ("reciprocal-int", lambda m: m.reciprocal(m.array(_I))),
    ("logaddexp2", lambda m: m.logaddexp2(1.0, 2.0)),
    ("logaddexp2-int", lambda m: m.logaddexp2(m.array(_I), m.array(_I))),
    ("deg2rad", lambda m: m.deg2rad(180)),
    ("rad2deg", lambda m: m.rad2deg(m.array(_I))),
    ("radians", lambda m: m.radians(90.0)),
    ("degrees", lambda m: m.degrees(m.array(_F))),
    ("hypot", lambda m: m.hypot(3, 4)),
    ("hypot-array", lambda m: m.hypot(m.array(_F + [0.0]), 1.0)),
    ("hypot-extreme", lambda m: m.hypot(m.array([3e30, 0.0, np.inf]), m.array([4e30, 0, 1.0]))),
    ("sinc", lambda m: m.sinc(m.array(_F + [0.0]))),
    ("sinc-scalar", lambda m: m.sinc(0)),
    ("nan_to_num", lambda m: m.nan_to_num(m.array([np.nan, np.inf, -np.inf, 1.0]))),
    ("nan_to_num-int", lambda m: m.nan_to_num(m.array(_I))),
    ("nan_to_num-values", lambda m: m.nan_to_num(m.array([np.nan, np.inf]), nan=1, posinf=2)),
    ("logical_and", lambda m: m.logical_and(m.array(_I), m.array(_F))),
    ("logical_not", lambda m: m.logical_not(m.array(_I))),
    ("logical_or", lambda m: m.logical_or(m.array([0, 0]), m.array([True, False]))),
    ("logical_xor", lambda m: m.logical_xor(m.array([1, 0]), m.array([1, 1]))),
    ("positive", lambda m: m.positive(m.array(_I))),
    ("isnan", lambda m: m.isnan(m.array(_F))),
    ("equal", lambda m: m.equal(m.array(_I), 2)),
    ("invert", lambda m: m.invert(m.array(_I))),
]


@pytest.mark.parametrize("name,fn", MATH_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_math_matches_jax(name, fn):
    jnp = _jnp()
    got, expected = fn(pnp), fn(jnp)
    assert tuple(got.shape) == tuple(expected.shape)
    assert got.dtype == expected.dtype
    assert got.weak_type == expected.weak_type
    np.testing.assert_allclose(
        np.asarray(got).astype(np.float64),
        np.asarray(expected).astype(np.float64),
        rtol=2e-6,
        equal_nan=True,
    )


def test_power_errors():
    with pytest.raises(TypeError, match="negative powers"):
        pnp.power(pnp.array([1, 2]), -1)


def test_clip_deprecated_keywords():
    with pytest.warns(DeprecationWarning):
        out = pnp.clip(pnp.array([-1.0, 2.0]), a_min=0.0, a_max=1.0)
    assert out.tolist() == [0.0, 1.0]


def _numeric_derivative(f, x, eps=1e-6):
    return (float(f(x + eps)) - float(f(x - eps))) / (2 * eps)


GRAD_CASES = {
    "clip": (lambda x: pnp.clip(x, -1.0, 1.0), [0.3, -2.0, 1.5]),
    "hypot": (lambda x: pnp.hypot(x, 2.0 * x + 1.0), [0.3, -2.0, 1.5]),
    "sinc": (pnp.sinc, [0.3, -2.2, 1.5]),
    "logaddexp2": (lambda x: pnp.logaddexp2(x, 0.5), [0.3, -2.0, 1.5]),
    "power": (lambda x: pnp.power(x, 3), [0.3, -2.0, 1.5]),
    "power-array": (lambda x: pnp.power(pnp.abs(x) + 0.5, x), [0.3, -2.0, 1.5]),
    "float_power": (lambda x: pnp.float_power(x, 2), [0.3, -2.0, 1.5]),
    "fmod": (lambda x: pnp.fmod(x, 0.7), [0.3, -2.0, 1.5]),
    "fmod-divisor": (lambda x: pnp.fmod(2.3, x), [0.3, -2.0, 1.5]),
    "nan_to_num": (lambda x: pnp.nan_to_num(x * 2.0), [0.3, -2.0, 1.5]),
    "deg2rad": (pnp.deg2rad, [0.3, -2.0, 1.5]),
    "rad2deg": (pnp.rad2deg, [0.3, -2.0, 1.5]),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_math_gradients(name):
    f, points = GRAD_CASES[name]
    with enable_x64(True):
        for p in points:
            got = float(pb.grad(f)(np.float64(p)))
            assert got == pytest.approx(_numeric_derivative(f, np.float64(p)), rel=1e-6, abs=1e-8)


def test_sinc_is_smooth_at_zero():
    with enable_x64(True):
        assert float(pb.grad(pnp.sinc)(0.0)) == 0.0
        second = float(pb.grad(pb.grad(pnp.sinc))(0.0))
        assert second == pytest.approx(-(math.pi**2) / 3, rel=1e-12)
