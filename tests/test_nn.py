"""``pullback.nn``: activations, softmax and friends, ``standardize`` and ``one_hot`` — values
against NumPy formulas, values/dtypes/weak types against JAX, and derivatives (grad at the kinks
included, jvp, vmap, jit) against JAX and central differences."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import scipy.special as sc

import pullback as pb
import pullback.numpy as pnp
from pullback import nn, random
from pullback._config import enable_x64
from pullback.nn import initializers


@pytest.fixture
def jax():
    return pytest.importorskip("jax")


@contextlib.contextmanager
def x64(jax=None):
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
    try:
        with enable_x64(True):
            yield
    finally:
        if jax is not None:
            jax.config.update("jax_enable_x64", False)


X = np.array([-7.5, -3.0, -1.0, -0.3, 0.0, 0.2, 1.0, 2.5, 6.0, 9.0])

_sigmoid = lambda x: 1 / (1 + np.exp(-x))
_erf_cdf = lambda x: 0.5 * (1 + sc.erf(x / np.sqrt(2)))
_SELU_A, _SELU_S = 1.6732632423543772, 1.0507009873554805

NUMPY_CASES = {
    "relu": (nn.relu, lambda x: np.maximum(x, 0)),
    "relu6": (nn.relu6, lambda x: np.clip(x, 0, 6)),
    "sigmoid": (nn.sigmoid, _sigmoid),
    "softplus": (nn.softplus, lambda x: np.log1p(np.exp(x))),
    "soft_sign": (nn.soft_sign, lambda x: x / (np.abs(x) + 1)),
    "silu": (nn.silu, lambda x: x * _sigmoid(x)),
    "swish": (nn.swish, lambda x: x * _sigmoid(x)),
    "mish": (nn.mish, lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    "log_sigmoid": (nn.log_sigmoid, lambda x: np.log(_sigmoid(x))),
    "elu": (nn.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
    "elu-alpha": (lambda x: nn.elu(x, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    "leaky_relu": (nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x)),
    "hard_tanh": (nn.hard_tanh, lambda x: np.clip(x, -1, 1)),
    "celu": (
        lambda x: nn.celu(x, 2.0),
        lambda x: np.maximum(x, 0) + 2 * np.expm1(np.minimum(x, 0) / 2),
    ),
    "selu": (nn.selu, lambda x: _SELU_S * np.where(x > 0, x, _SELU_A * np.expm1(x))),
    "gelu-exact": (lambda x: nn.gelu(x, approximate=False), lambda x: x * _erf_cdf(x)),
    "gelu-tanh": (
        nn.gelu,
        lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    ),
    "hard_sigmoid": (nn.hard_sigmoid, lambda x: np.clip(x + 3, 0, 6) / 6),
    "hard_silu": (nn.hard_silu, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    "hard_swish": (nn.hard_swish, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    "squareplus": (nn.squareplus, lambda x: (x + np.sqrt(x * x + 4)) / 2),
    "sparse_plus": (
        nn.sparse_plus,
        lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    ),
    "sparse_sigmoid": (nn.sparse_sigmoid, lambda x: np.clip((x + 1) / 2, 0, 1)),
    "identity": (nn.identity, lambda x: x),
    "tanh": (nn.tanh, np.tanh),
    "log1mexp": (
        lambda x: nn.log1mexp(pnp.abs(x) + 0.1),
        lambda x: np.log(-np.expm1(-(np.abs(x) + 0.1))),
    ),
    "softmax": (nn.softmax, lambda x: np.exp(x - sc.logsumexp(x))),
    "log_softmax": (nn.log_softmax, lambda x: x - sc.logsumexp(x)),
    "logsumexp": (nn.logsumexp, sc.logsumexp),
    "logmeanexp": (nn.logmeanexp, lambda x: sc.logsumexp(x) - np.log(x.size)),
    "standardize": (nn.standardize, lambda x: (x - x.mean()) / np.sqrt(x.var() + 1e-5)),
    "glu": (nn.glu, lambda x: x[:5] * _sigmoid(x[5:])),
}


@pytest.mark.parametrize("name", sorted(NUMPY_CASES))
def test_values_against_numpy(name):
    fn, ref = NUMPY_CASES[name]
    with enable_x64(True):
        got = fn(X)
        assert isinstance(got, pb.Array) and got.dtype == np.float64
        np.testing.assert_allclose(np.asarray(got), ref(X), rtol=1e-12, atol=1e-14)
    got32 = fn(X.astype(np.float32))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(np.asarray(got32), ref(X), rtol=2e-6, atol=1e-6)


def test_grad_at_kinks():
    # JAX's choices: relu and relu6 are flat at their kinks (custom rules); leaky_relu,
    # hard_tanh and elu take the branch their `where` selects
    g = lambda f, x: float(pb.grad(f)(x))
    assert g(nn.relu, 0.0) == 0.0 and g(nn.relu, 1.0) == 1.0 and g(nn.relu, -1.0) == 0.0
    assert g(nn.relu6, 0.0) == 0.0 and g(nn.relu6, 6.0) == 0.0 and g(nn.relu6, 3.0) == 1.0
    assert g(nn.leaky_relu, 0.0) == 1.0
    assert g(nn.hard_tanh, 1.0) == 1.0 and g(nn.hard_tanh, 1.5) == 0.0
    assert g(nn.elu, 0.0) == 1.0
    assert g(nn.hard_sigmoid, -3.0) == 0.0
    # second derivatives through the custom rules are zero
    assert g(pb.grad(nn.relu), 2.0) == 0.0


def _central(f, x, eps=1e-6):
    return (float(f(x + eps)) - float(f(x - eps))) / (2 * eps)


SMOOTH = [
    "sigmoid",
    "softplus",
    "silu",
    "mish",
    "log_sigmoid",
    "elu",
    "celu",
    "selu",
    "gelu-exact",
    "gelu-tanh",
    "squareplus",
    "soft_sign",
    "log1mexp",
    "tanh",
]


@pytest.mark.parametrize("name", SMOOTH)
def test_grad_against_central_differences(name):
    fn, _ = NUMPY_CASES[name]
    with enable_x64(True):
        for x in (-2.3, -0.4, 0.7, 3.1):
            np.testing.assert_allclose(
                float(pb.grad(fn)(x)), _central(fn, x), rtol=1e-7, atol=1e-9, err_msg=str(x)
            )
            np.testing.assert_allclose(
                float(pb.grad(pb.grad(fn))(x)),
                _central(pb.grad(fn), x, 1e-5),
                rtol=1e-5,
                atol=1e-7,
                err_msg=str(x),
            )


def test_softmax_family():
    x = np.array([[1.0, -2.0, 3.0, 0.5], [0.0, 0.0, 1000.0, -1000.0]])
    where = np.array([[True, False, True, True], [True, True, False, True]])
    with enable_x64(True):
        for axis in (-1, 0, (0, 1)):
            e = np.exp(x - sc.logsumexp(x, axis=axis, keepdims=True))
            np.testing.assert_allclose(np.asarray(nn.softmax(x, axis=axis)), e, atol=1e-15)
            np.testing.assert_allclose(
                np.asarray(nn.log_softmax(x, axis=axis)),
                x - sc.logsumexp(x, axis=axis, keepdims=True),
            )
        masked = np.where(where, x, -np.inf)
        e = np.exp(masked - sc.logsumexp(masked, axis=-1, keepdims=True))
        np.testing.assert_allclose(np.asarray(nn.softmax(x, where=where)), e, atol=1e-15)
        got = np.asarray(nn.log_softmax(x, where=where))
        assert np.all(got[~where] == -np.inf)
        np.testing.assert_allclose(
            got[where], (masked - sc.logsumexp(masked, -1, keepdims=True))[where]
        )
        # the gradient of sum(w * log_softmax) is finite for huge logits
        w = np.array([[0.1, 0.2, 0.3, 0.4], [1.0, -1.0, 0.5, 2.0]])
        g = pb.grad(lambda v: pnp.sum(w * nn.log_softmax(v)))(x)
        p = np.exp(x - sc.logsumexp(x, -1, keepdims=True))
        np.testing.assert_allclose(np.asarray(g), w - p * w.sum(-1, keepdims=True), atol=1e-12)
        g = pb.grad(lambda v: pnp.sum(w * nn.softmax(v)))(x)
        np.testing.assert_allclose(
            np.asarray(g), p * (w - (p * w).sum(-1, keepdims=True)), atol=1e-12
        )


def test_standardize_options():
    x = np.array([[1.0, 2.0, 4.0], [3.0, -1.0, 0.5]])
    with enable_x64(True):
        for algorithm in ("fast", "stable"):
            got = nn.standardize(x, axis=-1, algorithm=algorithm)
            e = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
            np.testing.assert_allclose(np.asarray(got), e, rtol=1e-12)
        got = nn.standardize(x, axis=0, mean=1.0, variance=4.0, epsilon=0.0)
        np.testing.assert_allclose(np.asarray(got), (x - 1.0) / 2.0)
        where = np.array([[True, True, False], [True, False, True]])
        got = np.asarray(nn.standardize(x, where=where))
        for r in range(2):
            v = x[r][where[r]]
            np.testing.assert_allclose(got[r][where[r]], (v - v.mean()) / np.sqrt(v.var() + 1e-5))
    with pytest.raises(ValueError, match="Unknown algorithm"):
        nn.standardize(x, algorithm="exact")


def test_one_hot():
    got = nn.one_hot(np.array([0, 2, -1, 3]), 3)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(got), np.eye(3)[[0, 2]].tolist() + [[0] * 3] * 2)
    got = nn.one_hot(np.array([[0, 1], [2, 0]]), 3, axis=1, dtype=pnp.int8)
    assert got.shape == (2, 3, 2) and got.dtype == np.int8
    np.testing.assert_array_equal(np.asarray(got), np.moveaxis(np.eye(3)[[[0, 1], [2, 0]]], 2, 1))
    got = pb.vmap(lambda i: nn.one_hot(i, 4))(np.array([3, 1]))
    np.testing.assert_array_equal(np.asarray(got), np.eye(4)[[3, 1]])
    got = pb.jit(nn.one_hot, static_argnums=1)(np.array([1]), 2)
    np.testing.assert_array_equal(np.asarray(got), [[0.0, 1.0]])
    with enable_x64(True):
        assert nn.one_hot(np.array([1]), 2).dtype == np.float64
    with pytest.warns(DeprecationWarning, match="integer-typed"):
        nn.one_hot(np.array([1.0]), 2)
    with pytest.raises(ValueError, match="out of bounds"):
        nn.one_hot(np.array([1]), 2, axis=3)


def test_glu_axis():
    x = np.arange(12.0).reshape(4, 3)
    with enable_x64(True):
        got = nn.glu(x, axis=0)
        np.testing.assert_allclose(np.asarray(got), x[:2] * _sigmoid(x[2:]))
    with pytest.raises(AssertionError, match="divisible by 2"):
        nn.glu(x, axis=1)


# -- against JAX ----------------------------------------------------------------------------------


def _same(got, expected, rtol, atol):
    assert tuple(got.shape) == tuple(expected.shape)
    assert np.dtype(got.dtype) == np.dtype(expected.dtype), (got.dtype, expected.dtype)
    assert got.weak_type == expected.weak_type, (got.weak_type, expected.weak_type)
    np.testing.assert_allclose(
        np.asarray(got).astype(np.float64),
        np.asarray(expected).astype(np.float64),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
    )


UNARY = [
    "relu",
    "relu6",
    "sigmoid",
    "softplus",
    "soft_sign",
    "silu",
    "swish",
    "mish",
    "log_sigmoid",
    "elu",
    "leaky_relu",
    "hard_tanh",
    "celu",
    "selu",
    "gelu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "squareplus",
    "sparse_plus",
    "sparse_sigmoid",
    "identity",
    "tanh",
    "softmax",
    "log_softmax",
    "logsumexp",
    "logmeanexp",
    "standardize",
    "glu",
]

# inputs: a float array, a Python scalar (weak), an int array
INPUTS = {
    "f": lambda m, d: m.asarray(np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 7.0], d)),
    "scalar": lambda m, d: 0.5,
    "int": lambda m, d: m.asarray(np.array([-2, 0, 1, 3, 5, 8], np.int32)),
}


@pytest.mark.parametrize("kind", sorted(INPUTS))
@pytest.mark.parametrize("name", UNARY)
def test_against_jax(jax, name, kind):
    jnn = jax.nn
    make = INPUTS[kind]
    for dtype, ctx in ((np.float32, contextlib.nullcontext), (np.float64, lambda: x64(jax))):
        with ctx(), np.errstate(all="ignore"):
            try:
                expected = getattr(jnn, name)(make(jax.numpy, dtype))
            except (TypeError, ValueError, IndexError):
                # JAX rejects the input (logistic of integers, softmax of a scalar): so do we
                with pytest.raises((TypeError, ValueError, IndexError)):
                    getattr(nn, name)(make(pnp, dtype))
                continue
            got = getattr(nn, name)(make(pnp, dtype))
            _same(got, expected, *_tolerance(expected))


def _tolerance(expected):
    return (1e-12, 1e-14) if np.dtype(expected.dtype) == np.float64 else (2e-6, 1e-6)


KW_CASES = {
    "elu-alpha": lambda n, m: n.elu(m.asarray(np.array([-1.0, 2.0], np.float32)), alpha=0.3),
    "celu-alpha": lambda n, m: n.celu(m.asarray(np.array([-1.0, 2.0], np.float32)), alpha=0.3),
    "leaky_relu-slope": lambda n, m: n.leaky_relu(m.asarray([-1.0, 2.0]), negative_slope=0.2),
    "gelu-exact": lambda n, m: n.gelu(m.asarray([-1.0, 0.5, 2.0]), approximate=False),
    "gelu-exact-scalar": lambda n, m: n.gelu(0.5, approximate=False),
    "gelu-exact-int": lambda n, m: n.gelu(m.asarray([-1, 2]), approximate=False),
    "squareplus-b": lambda n, m: n.squareplus(m.asarray([-1.0, 2.0]), b=1.5),
    "softmax-axis0": lambda n, m: n.softmax(m.asarray(np.arange(6.0).reshape(2, 3)), axis=0),
    "softmax-axes": lambda n, m: n.softmax(m.asarray(np.arange(6.0).reshape(2, 3)), axis=(0, 1)),
    "softmax-where": lambda n, m: n.softmax(
        m.asarray([1.0, 2.0, 3.0]), where=m.asarray([True, False, True])
    ),
    "log_softmax-where": lambda n, m: n.log_softmax(
        m.asarray([1.0, 2.0, 3.0]), where=m.asarray([True, False, True])
    ),
    "logsumexp-b": lambda n, m: n.logsumexp(m.asarray([1.0, 2.0]), b=m.asarray([0.5, 2.0])),
    "logmeanexp-axis": lambda n, m: n.logmeanexp(
        m.asarray(np.arange(6.0).reshape(2, 3)), axis=1, keepdims=True
    ),
    "logmeanexp-where": lambda n, m: n.logmeanexp(
        m.asarray([1.0, 2.0, 3.0]), where=m.asarray([True, False, True])
    ),
    "standardize-stable": lambda n, m: n.standardize(
        m.asarray(np.arange(6.0).reshape(2, 3)), axis=0, algorithm="stable"
    ),
    "standardize-given": lambda n, m: n.standardize(m.asarray([1.0, 2.0]), mean=0.5, variance=2.0),
    "one_hot": lambda n, m: n.one_hot(m.asarray([0, 2, 5, -1]), 4),
    "one_hot-dtype-axis": lambda n, m: n.one_hot(
        m.asarray([[0, 1], [1, 1]]), 3, dtype=m.int32, axis=0
    ),
    "one_hot-bool": lambda n, m: n.one_hot(m.asarray([0, 1]), 2, dtype=m.bool_),
    "glu-axis": lambda n, m: n.glu(m.asarray(np.arange(8.0).reshape(4, 2)), axis=0),
    "log1mexp": lambda n, m: n.log1mexp(m.asarray([0.1, 0.5, 3.0])),
    "relu-int-scalar": lambda n, m: n.relu(3),
    "relu6-scalar": lambda n, m: n.relu6(7.0),
}


@pytest.mark.parametrize("name", sorted(KW_CASES))
def test_options_against_jax(jax, name):
    call = KW_CASES[name]
    with np.errstate(all="ignore"):
        got, expected = call(nn, pnp), call(jax.nn, jax.numpy)
    _same(got, expected, rtol=2e-6, atol=1e-6)


GRAD = {
    "relu": [-1.0, 0.0, 2.0],
    "relu6": [-1.0, 0.0, 3.0, 6.0, 7.0],
    "sigmoid": [-2.0, 0.5],
    "softplus": [-2.0, 0.0, 30.0],
    "soft_sign": [-2.0, 0.0, 1.0],
    "silu": [-2.0, 0.5],
    "mish": [-2.0, 0.5],
    "log_sigmoid": [-30.0, 0.5],
    "elu": [-2.0, 0.0, 0.5],
    "leaky_relu": [-2.0, 0.0, 0.5],
    "hard_tanh": [-1.0, 0.0, 1.0, 2.0],
    "celu": [-2.0, 0.0, 0.5],
    "selu": [-2.0, 0.0, 0.5],
    "gelu": [-2.0, 0.0, 0.5],
    "hard_sigmoid": [-3.0, 0.0, 3.0],
    "hard_silu": [-3.0, 0.0, 3.0],
    "squareplus": [-2.0, 0.5],
    "sparse_plus": [-1.0, 0.0, 1.0],
    "sparse_sigmoid": [-1.0, 0.0, 1.0],
    "log1mexp": [0.1, 0.6931471805599453, 3.0],
}


@pytest.mark.parametrize("name", sorted(GRAD))
def test_derivatives_against_jax(jax, name):
    f, fj = getattr(nn, name), getattr(jax.nn, name)
    xs = np.array(GRAD[name])
    for dtype, rtol, ctx in (
        (np.float32, 2e-6, contextlib.nullcontext),
        (np.float64, 1e-12, lambda: x64(jax)),
    ):
        with ctx(), np.errstate(all="ignore"):
            xd = xs.astype(dtype)
            j_grad = jax.jit(jax.grad(fj))
            for x in xd:
                _same(pb.grad(f)(x), j_grad(x), rtol=rtol, atol=rtol)
                # Python scalars: weakly typed derivatives
                _same(pb.grad(f)(float(x)), jax.grad(fj)(float(x)), rtol=rtol, atol=rtol)
            t = np.full_like(xd, 0.5)
            (p, tp), (pj, tj) = pb.jvp(f, (xd,), (t,)), jax.jvp(fj, (xd,), (t,))
            _same(p, pj, rtol=rtol, atol=rtol)
            _same(tp, tj, rtol=rtol, atol=rtol)
            _same(pb.vmap(pb.grad(f))(xd), jax.vmap(jax.grad(fj))(xd), rtol=rtol, atol=rtol)
            _same(pb.jit(pb.grad(f))(xd[0]), j_grad(xd[0]), rtol=rtol, atol=rtol)
            second = pb.grad(pb.grad(f))(xd[-1])
            _same(second, jax.grad(jax.grad(fj))(xd[-1]), rtol=rtol * 10, atol=rtol * 10)


REDUCING = {
    "softmax": lambda n, w: lambda x: (w * n.softmax(x)).sum(),
    "softmax-where": lambda n, w: lambda x: (w * n.softmax(x, where=x > 0)).sum(),
    "log_softmax": lambda n, w: lambda x: (w * n.log_softmax(x)).sum(),
    "log_softmax-axis0": lambda n, w: (
        lambda x: (w.reshape(2, 3) * n.log_softmax(x.reshape(2, 3), 0)).sum()
    ),
    "logsumexp": lambda n, w: lambda x: n.logsumexp(x * w),
    "logmeanexp": lambda n, w: lambda x: n.logmeanexp(x * w),
    "standardize": lambda n, w: lambda x: (w * n.standardize(x)).sum(),
    "standardize-stable": lambda n, w: lambda x: (w * n.standardize(x, algorithm="stable")).sum(),
    "glu": lambda n, w: lambda x: (w[:3] * n.glu(x)).sum(),
}


@pytest.mark.parametrize("name", sorted(REDUCING))
def test_reducing_derivatives_against_jax(jax, name):
    x = np.array([0.5, -1.0, 2.0, 3.0, -0.2, 1.5], np.float32)
    w = np.array([0.3, -1.0, 0.5, 2.0, 1.0, -0.7], np.float32)
    f = REDUCING[name](nn, pnp.asarray(w))
    fj = REDUCING[name](jax.nn, jax.numpy.asarray(w))
    _same(pb.grad(f)(x), jax.grad(fj)(x), rtol=1e-5, atol=1e-6)
    _same(pb.jacfwd(pb.grad(f))(x), jax.jacfwd(jax.grad(fj))(x), rtol=1e-4, atol=1e-5)  # Hessians
    xs = np.stack([x, x[::-1]])
    _same(pb.vmap(pb.grad(f))(xs), jax.vmap(jax.grad(fj))(xs), rtol=1e-5, atol=1e-6)
    _same(pb.jit(pb.grad(f))(x), jax.jit(jax.grad(fj))(x), rtol=1e-5, atol=1e-6)


# -- initializers ---------------------------------------------------------------------------------

INIT_CASES = {
    "zeros": (lambda I: I.zeros, [(2, 3)]),
    "ones": (lambda I: I.ones, [(4,)]),
    "constant": (lambda I: I.constant(-0.5), [(2, 2)]),
    "uniform": (lambda I: I.uniform(3.0), [(5,), (2, 3)]),
    "normal": (lambda I: I.normal(2.0), [(5,), (2, 3)]),
    "truncated_normal": (lambda I: I.truncated_normal(2.0, lower=-1.0, upper=3.0), [(6,)]),
    "glorot_uniform": (lambda I: I.glorot_uniform(), [(3, 4), (2, 3, 4)]),
    "glorot_normal": (lambda I: I.glorot_normal(), [(3, 4), (2, 3, 4)]),
    "xavier_uniform": (lambda I: I.xavier_uniform(), [(3, 4)]),
    "xavier_normal": (lambda I: I.xavier_normal(), [(3, 4)]),
    "he_uniform": (lambda I: I.he_uniform(), [(3, 4)]),
    "he_normal": (lambda I: I.he_normal(), [(3, 4)]),
    "kaiming_uniform": (lambda I: I.kaiming_uniform(), [(3, 4)]),
    "kaiming_normal": (lambda I: I.kaiming_normal(), [(3, 4)]),
    "lecun_uniform": (lambda I: I.lecun_uniform(), [(3, 4)]),
    "lecun_normal": (lambda I: I.lecun_normal(), [(3, 4)]),
    "variance_scaling-fan_out": (
        lambda I: I.variance_scaling(0.5, "fan_out", "normal", in_axis=0, out_axis=(1, 2)),
        [(3, 4, 2)],
    ),
    "variance_scaling-geo": (
        lambda I: I.variance_scaling(2.0, "fan_geo_avg", "uniform", batch_axis=0),
        [(2, 3, 4)],
    ),
    "orthogonal": (lambda I: I.orthogonal(), [(3, 3), (5, 2), (2, 5)]),
    "orthogonal-axis": (lambda I: I.orthogonal(2.0, column_axis=0), [(3, 2, 4)]),
    "delta_orthogonal": (lambda I: I.delta_orthogonal(), [(3, 2, 2), (3, 3, 2, 3)]),
}


@pytest.mark.parametrize("name", sorted(INIT_CASES))
def test_initializers_against_jax(jax, name):
    build, shapes = INIT_CASES[name]
    init, init_j = build(initializers), build(jax.nn.initializers)
    for dtype, ctx in ((None, contextlib.nullcontext), (np.float64, lambda: x64(jax))):
        with ctx():
            for shape in shapes:
                got = init(random.PRNGKey(7), shape, dtype)
                expected = init_j(jax.random.PRNGKey(7), shape, dtype)
                _same(got, expected, rtol=1e-5, atol=1e-6)
    # a jitted initializer gives the same weights
    got = pb.jit(init, static_argnums=1)(random.PRNGKey(7), shapes[0])
    _same(got, init_j(jax.random.PRNGKey(7), shapes[0]), rtol=1e-5, atol=1e-6)


def test_initializer_statistics():
    key = random.PRNGKey(0)
    shape = (400, 300)
    fan_in, fan_out = 400, 300
    for init, variance in (
        (initializers.glorot_normal(), 2 / (fan_in + fan_out)),
        (initializers.glorot_uniform(), 2 / (fan_in + fan_out)),
        (initializers.he_normal(), 2 / fan_in),
        (initializers.he_uniform(), 2 / fan_in),
        (initializers.lecun_normal(), 1 / fan_in),
        (initializers.lecun_uniform(), 1 / fan_in),
        (initializers.variance_scaling(3.0, "fan_out", "normal"), 3 / fan_out),
    ):
        w = np.asarray(init(key, shape))
        assert w.shape == shape and w.dtype == np.float32
        np.testing.assert_allclose(w.var(), variance, rtol=0.03)
        assert abs(w.mean()) < 0.01 * np.sqrt(variance) * 10
    w = np.asarray(initializers.glorot_uniform()(key, shape))
    assert np.abs(w).max() <= np.sqrt(3 * 2 / (fan_in + fan_out))
    w = np.asarray(initializers.truncated_normal(2.0)(key, (10000,)))
    assert np.abs(w).max() <= 4.0
    q = np.asarray(initializers.orthogonal()(key, (6, 4)))
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)
    q = np.asarray(initializers.orthogonal(column_axis=0)(key, (4, 3, 2)))
    flat = np.moveaxis(q, 0, -1).reshape(6, 4)
    np.testing.assert_allclose(flat.T @ flat, np.eye(4), atol=1e-5)
    w = np.asarray(initializers.delta_orthogonal()(key, (3, 3, 2, 2)))
    centre = w[1, 1]
    np.testing.assert_allclose(centre.T @ centre, np.eye(2), atol=1e-5)
    assert np.abs(w).sum() == pytest.approx(np.abs(centre).sum())
    assert initializers.zeros(key, (0, 3)).shape == (0, 3)
    assert initializers.orthogonal()(key, (0, 3)).shape == (0, 3)


def test_initializer_errors():
    key = random.PRNGKey(0)
    with pytest.raises(ValueError, match="in_axis"):
        initializers.glorot_normal()(key, (3,))
    with pytest.raises(ValueError, match="invalid mode"):
        initializers.variance_scaling(1.0, "fan_max", "normal")(key, (2, 2))
    with pytest.raises(ValueError, match="invalid distribution"):
        initializers.variance_scaling(1.0, "fan_in", "cauchy")(key, (2, 2))
    with pytest.raises(ValueError, match="at least a 2D"):
        initializers.orthogonal()(key, (3,))
    with pytest.raises(ValueError, match="3D, 4D or 5D"):
        initializers.delta_orthogonal()(key, (3, 3))
    with pytest.raises(ValueError, match="fan_in"):
        initializers.delta_orthogonal()(key, (3, 3, 2))
