"""``pullback.scipy.stats``: values against SciPy (float64), values, dtypes and weak types
against JAX, and derivatives in every argument against JAX and central differences."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import scipy.stats as ss

import pullback as pb
import pullback.numpy as pnp
from pullback._config import enable_x64
from pullback.scipy import stats

_rng = np.random.default_rng(11)


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


X = np.concatenate([_rng.uniform(-4, 4, 12), [-30.0, 0.0, 9.0]])
XP = np.concatenate([_rng.uniform(0.01, 8, 12), [0.0, -1.0, 25.0]])
U = np.concatenate([_rng.uniform(0.01, 0.99, 12), [0.0, 1.0, 1e-6]])
K = np.array([0, 1, 2, 3, 5, 8, 13, -1, 2.5])
LOC, SCALE = 0.7, 1.8

# name -> (pullback function, SciPy reference, arguments)
SCIPY_CASES = {
    "norm.logpdf": (stats.norm.logpdf, ss.norm.logpdf, (X, LOC, SCALE)),
    "norm.pdf": (stats.norm.pdf, ss.norm.pdf, (X, LOC, SCALE)),
    "norm.cdf": (stats.norm.cdf, ss.norm.cdf, (X, LOC, SCALE)),
    "norm.logcdf": (stats.norm.logcdf, ss.norm.logcdf, (X, LOC, SCALE)),
    "norm.sf": (stats.norm.sf, ss.norm.sf, (X, LOC, SCALE)),
    "norm.logsf": (stats.norm.logsf, ss.norm.logsf, (X, LOC, SCALE)),
    "norm.ppf": (stats.norm.ppf, ss.norm.ppf, (U, LOC, SCALE)),
    "norm.isf": (stats.norm.isf, ss.norm.isf, (U, LOC, SCALE)),
    "uniform.logpdf": (stats.uniform.logpdf, ss.uniform.logpdf, (X, LOC, SCALE)),
    "uniform.pdf": (stats.uniform.pdf, ss.uniform.pdf, (X, LOC, SCALE)),
    "uniform.cdf": (stats.uniform.cdf, ss.uniform.cdf, (X, LOC, SCALE)),
    "uniform.ppf": (stats.uniform.ppf, ss.uniform.ppf, (np.r_[U, 1.5], LOC, SCALE)),
    "laplace.logpdf": (stats.laplace.logpdf, ss.laplace.logpdf, (X, LOC, SCALE)),
    "laplace.pdf": (stats.laplace.pdf, ss.laplace.pdf, (X, LOC, SCALE)),
    "laplace.cdf": (stats.laplace.cdf, ss.laplace.cdf, (X, LOC, SCALE)),
    "cauchy.logpdf": (stats.cauchy.logpdf, ss.cauchy.logpdf, (X, LOC, SCALE)),
    "cauchy.pdf": (stats.cauchy.pdf, ss.cauchy.pdf, (X, LOC, SCALE)),
    "cauchy.cdf": (stats.cauchy.cdf, ss.cauchy.cdf, (X, LOC, SCALE)),
    "cauchy.logcdf": (stats.cauchy.logcdf, ss.cauchy.logcdf, (X[:-2], LOC, SCALE)),
    "cauchy.sf": (stats.cauchy.sf, ss.cauchy.sf, (X, LOC, SCALE)),
    "cauchy.logsf": (stats.cauchy.logsf, ss.cauchy.logsf, (X[:-3], LOC, SCALE)),
    "cauchy.ppf": (stats.cauchy.ppf, ss.cauchy.ppf, (U[:-3], LOC, SCALE)),
    "cauchy.isf": (stats.cauchy.isf, ss.cauchy.isf, (U[:-3], LOC, SCALE)),
    "logistic.logpdf": (stats.logistic.logpdf, ss.logistic.logpdf, (X, LOC, SCALE)),
    "logistic.pdf": (stats.logistic.pdf, ss.logistic.pdf, (X, LOC, SCALE)),
    "logistic.cdf": (stats.logistic.cdf, ss.logistic.cdf, (X, LOC, SCALE)),
    "logistic.sf": (stats.logistic.sf, ss.logistic.sf, (X, LOC, SCALE)),
    "logistic.ppf": (stats.logistic.ppf, ss.logistic.ppf, (U, LOC, SCALE)),
    "logistic.isf": (stats.logistic.isf, ss.logistic.isf, (U, LOC, SCALE)),
    "t.logpdf": (stats.t.logpdf, ss.t.logpdf, (X, 3.5, LOC, SCALE)),
    "t.pdf": (stats.t.pdf, ss.t.pdf, (X, 3.5, LOC, SCALE)),
    "gamma.logpdf": (stats.gamma.logpdf, ss.gamma.logpdf, (XP, 2.5, LOC / 2, SCALE)),
    "gamma.pdf": (stats.gamma.pdf, ss.gamma.pdf, (XP, 2.5, LOC / 2, SCALE)),
    "gamma.cdf": (stats.gamma.cdf, ss.gamma.cdf, (XP, 2.5, LOC / 2, SCALE)),
    "gamma.logcdf": (stats.gamma.logcdf, ss.gamma.logcdf, (XP, 2.5, LOC / 2, SCALE)),
    "gamma.sf": (stats.gamma.sf, ss.gamma.sf, (XP, 2.5, LOC / 2, SCALE)),
    "gamma.logsf": (stats.gamma.logsf, ss.gamma.logsf, (XP, 2.5, LOC / 2, SCALE)),
    "beta.logpdf": (stats.beta.logpdf, ss.beta.logpdf, (U, 2.5, 1.5)),
    "beta.pdf": (stats.beta.pdf, ss.beta.pdf, (U, 2.5, 1.5)),
    "beta.logpdf-loc": (stats.beta.logpdf, ss.beta.logpdf, (X, 2.5, 1.5, -1.0, 4.0)),
    "beta.cdf": (stats.beta.cdf, ss.beta.cdf, (U, 2.5, 1.5)),
    "beta.logcdf": (stats.beta.logcdf, ss.beta.logcdf, (U, 2.5, 1.5)),
    "beta.sf": (stats.beta.sf, ss.beta.sf, (U, 2.5, 1.5)),
    "beta.logsf": (stats.beta.logsf, ss.beta.logsf, (U, 2.5, 1.5)),
    "bernoulli.logpmf": (stats.bernoulli.logpmf, ss.bernoulli.logpmf, (K, 0.3)),
    "bernoulli.pmf": (stats.bernoulli.pmf, ss.bernoulli.pmf, (K, 0.3)),
    "bernoulli.cdf": (stats.bernoulli.cdf, ss.bernoulli.cdf, (K, 0.3)),
    # (SciPy's ppf(0) is -1; JAX's is 0)
    "bernoulli.ppf": (stats.bernoulli.ppf, ss.bernoulli.ppf, (U[U > 0], 0.3)),
    "poisson.logpmf": (stats.poisson.logpmf, ss.poisson.logpmf, (K, 3.5)),
    "poisson.pmf": (stats.poisson.pmf, ss.poisson.pmf, (K, 3.5)),
    "poisson.pmf-loc": (stats.poisson.pmf, ss.poisson.pmf, (K, 3.5, 1)),
    "poisson.cdf": (stats.poisson.cdf, ss.poisson.cdf, (K, 3.5)),
    "poisson.entropy": (
        stats.poisson.entropy,
        lambda mu: ss.poisson(mu).entropy(),
        (np.array([0.5, 3.0, 20.0, 150.0]),),
    ),
}


@pytest.mark.parametrize("name", sorted(SCIPY_CASES))
def test_values_against_scipy(name):
    fn, ref, args = SCIPY_CASES[name]
    with enable_x64(True), np.errstate(all="ignore"):
        got = fn(*args)
        expected = ref(*args)
    assert isinstance(got, pb.Array) and got.dtype == np.float64
    # poisson.entropy's large-mu expansion is JAX's (two terms)
    rtol = 1e-5 if name == "poisson.entropy" else 1e-9
    np.testing.assert_allclose(np.asarray(got), expected, rtol=rtol, atol=1e-12, equal_nan=True)


def test_multivariate_normal_against_scipy():
    n = 3
    a = _rng.standard_normal((n, n))
    cov = a @ a.T + n * np.eye(n)
    mean = _rng.standard_normal(n)
    x = _rng.standard_normal((5, n))
    with enable_x64(True):
        got = stats.multivariate_normal.logpdf(x, mean, cov)
        np.testing.assert_allclose(np.asarray(got), ss.multivariate_normal.logpdf(x, mean, cov))
        got = stats.multivariate_normal.pdf(x, mean, cov)
        np.testing.assert_allclose(np.asarray(got), ss.multivariate_normal.pdf(x, mean, cov))
        # a batch of covariances, broadcast against the points
        covs = np.stack([cov, 2 * cov])
        got = stats.multivariate_normal.logpdf(x[:2], mean, covs)
        expected = [ss.multivariate_normal.logpdf(x[i], mean, covs[i]) for i in range(2)]
        np.testing.assert_allclose(np.asarray(got), expected)
        # scalar variance, and a univariate normal
        got = stats.multivariate_normal.logpdf(x, mean, 2.0)
        np.testing.assert_allclose(
            np.asarray(got), ss.multivariate_normal.logpdf(x, mean, 2.0 * np.eye(n))
        )
        got = stats.multivariate_normal.logpdf(x[:, 0], 0.5, 2.0)
        np.testing.assert_allclose(np.asarray(got), ss.norm.logpdf(x[:, 0], 0.5, np.sqrt(2.0)))
    with pytest.raises(ValueError, match="incompatible shapes"):
        stats.multivariate_normal.logpdf(x, mean, np.eye(2))
    with pytest.raises(NotImplementedError, match="allow_singular"):
        stats.multivariate_normal.logpdf(x, mean, cov, allow_singular=True)


def test_dirichlet_against_scipy():
    alpha = np.array([1.5, 2.0, 0.7])
    x = np.array([0.2, 0.5, 0.3])
    with enable_x64(True):
        np.testing.assert_allclose(
            float(stats.dirichlet.logpdf(x, alpha)), ss.dirichlet.logpdf(x, alpha)
        )
        np.testing.assert_allclose(float(stats.dirichlet.pdf(x, alpha)), ss.dirichlet.pdf(x, alpha))
        # the last category may be left out; several points along the trailing axis
        np.testing.assert_allclose(
            float(stats.dirichlet.logpdf(x[:2], alpha)), ss.dirichlet.logpdf(x, alpha)
        )
        xs = np.array([[0.2, 0.6], [0.5, 0.1], [0.3, 0.3]])
        np.testing.assert_allclose(
            np.asarray(stats.dirichlet.logpdf(xs, alpha)), ss.dirichlet.logpdf(xs, alpha)
        )
        assert float(stats.dirichlet.logpdf(np.array([0.5, 0.6, 0.1]), alpha)) == -np.inf
    with pytest.raises(ValueError, match="one-dimensional"):
        stats.dirichlet.logpdf(x, alpha[None])
    with pytest.raises(ValueError, match="one entry fewer"):
        stats.dirichlet.logpdf(x[:1], alpha)


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


def _tolerance(e):
    return (1e-9, 1e-12) if np.dtype(e.dtype) == np.float64 else (3e-5, 3e-6)


_X = np.array([-2.0, -0.5, 0.3, 1.2, 4.0])
_XP = np.array([0.2, 0.9, 1.5, 3.0, 7.5])
_U = np.array([0.05, 0.3, 0.5, 0.8, 0.99])
_K = np.array([0.0, 1.0, 2.0, 4.0, 7.0])
ARR = {}


def _set_dtype(dtype):
    ARR.update(x=_X.astype(dtype), xp=_XP.astype(dtype), u=_U.astype(dtype), k=_K.astype(dtype))


# name -> call(stats module, numpy module)
JAX_CASES = {}
for _name in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"):
    JAX_CASES[f"norm.{_name}"] = lambda S, m, f=_name: getattr(S.norm, f)(m.asarray(ARR["x"]))
    JAX_CASES[f"norm.{_name}-loc"] = lambda S, m, f=_name: getattr(S.norm, f)(
        m.asarray(ARR["x"]), 1.0, m.asarray(ARR["xp"])
    )
    JAX_CASES[f"norm.{_name}-scalar"] = lambda S, m, f=_name: getattr(S.norm, f)(0.5, 1.0, 2.0)
    JAX_CASES[f"cauchy.{_name}"] = lambda S, m, f=_name: getattr(S.cauchy, f)(
        m.asarray(ARR["x"]), 0.5, 2.0
    )
    JAX_CASES[f"gamma.{_name}"] = lambda S, m, f=_name: getattr(S.gamma, f)(
        m.asarray(ARR["xp"]), 2.5, 0.1, 1.5
    )
    JAX_CASES[f"beta.{_name}"] = lambda S, m, f=_name: getattr(S.beta, f)(
        m.asarray(ARR["u"]), 2.5, m.asarray(ARR["xp"])
    )
for _name in ("ppf", "isf"):
    JAX_CASES[f"norm.{_name}"] = lambda S, m, f=_name: getattr(S.norm, f)(m.asarray(ARR["u"]))
    JAX_CASES[f"norm.{_name}-scalar"] = lambda S, m, f=_name: getattr(S.norm, f)(0.3, 1.0, 2.0)
    JAX_CASES[f"cauchy.{_name}"] = lambda S, m, f=_name: getattr(S.cauchy, f)(
        m.asarray(ARR["u"]), 0.5, 2.0
    )
    JAX_CASES[f"logistic.{_name}"] = lambda S, m, f=_name: getattr(S.logistic, f)(
        m.asarray(ARR["u"]), 0.5, 2.0
    )
for _name in ("logpdf", "pdf", "cdf", "sf"):
    JAX_CASES[f"logistic.{_name}"] = lambda S, m, f=_name: getattr(S.logistic, f)(
        m.asarray(ARR["x"]), 0.5, 2.0
    )
    JAX_CASES[f"logistic.{_name}-scalar"] = lambda S, m, f=_name: getattr(S.logistic, f)(0.5)
for _name in ("logpdf", "pdf", "cdf"):
    JAX_CASES[f"laplace.{_name}"] = lambda S, m, f=_name: getattr(S.laplace, f)(
        m.asarray(ARR["x"]), 0.5, 2.0
    )
    JAX_CASES[f"laplace.{_name}-scalar"] = lambda S, m, f=_name: getattr(S.laplace, f)(0.5)
    JAX_CASES[f"uniform.{_name}"] = lambda S, m, f=_name: getattr(S.uniform, f)(
        m.asarray(ARR["x"]), -1.0, 3.0
    )
    JAX_CASES[f"uniform.{_name}-scalar"] = lambda S, m, f=_name: getattr(S.uniform, f)(0.5)
for _name in ("logpdf", "pdf"):
    JAX_CASES[f"t.{_name}"] = lambda S, m, f=_name: getattr(S.t, f)(
        m.asarray(ARR["x"]), m.asarray(ARR["xp"]), 0.5, 2.0
    )
    JAX_CASES[f"t.{_name}-scalar"] = lambda S, m, f=_name: getattr(S.t, f)(0.5, 3.0)
    JAX_CASES[f"dirichlet.{_name}"] = lambda S, m, f=_name: getattr(S.dirichlet, f)(
        m.asarray(ARR["u"][:3] / ARR["u"][:3].sum()), m.asarray(ARR["xp"][:3])
    )
    JAX_CASES[f"multivariate_normal.{_name}"] = lambda S, m, f=_name: getattr(
        S.multivariate_normal, f
    )(
        m.asarray(ARR["x"][:3]),
        m.asarray(ARR["u"][:3]),
        m.asarray(np.diag(ARR["xp"][:3]) + 0.1),
    )
    JAX_CASES[f"multivariate_normal.{_name}-scalar-cov"] = lambda S, m, f=_name: getattr(
        S.multivariate_normal, f
    )(m.asarray(ARR["x"][:3]), m.asarray(ARR["u"][:3]), 2.0)
for _name in ("logpmf", "pmf", "cdf"):
    JAX_CASES[f"poisson.{_name}"] = lambda S, m, f=_name: getattr(S.poisson, f)(
        m.asarray(ARR["k"]), 2.5
    )
    JAX_CASES[f"poisson.{_name}-int"] = lambda S, m, f=_name: getattr(S.poisson, f)(
        m.asarray(np.array([0, 1, 3], np.int32)), 2.5
    )
    JAX_CASES[f"bernoulli.{_name}"] = lambda S, m, f=_name: getattr(S.bernoulli, f)(
        m.asarray(ARR["k"]), 0.3
    )
JAX_CASES["bernoulli.ppf"] = lambda S, m: S.bernoulli.ppf(m.asarray(ARR["u"]), 0.3)
JAX_CASES["poisson.entropy"] = lambda S, m: S.poisson.entropy(m.asarray(ARR["xp"] * 20))
JAX_CASES["poisson.entropy-scalar"] = lambda S, m: S.poisson.entropy(3.0)


def _outs(x):
    return list(x) if isinstance(x, tuple) else [x]


@pytest.mark.parametrize("name", sorted(JAX_CASES))
def test_against_jax(jax, name):
    import jax.scipy.stats as jst  # noqa: PLC0415 - only with JAX present

    call = JAX_CASES[name]
    for dtype, ctx in ((np.float32, contextlib.nullcontext), (np.float64, lambda: x64(jax))):
        _set_dtype(dtype)
        with ctx(), np.errstate(all="ignore"):
            got, expected = call(stats, pnp), call(jst, jax.numpy)
            _same(got, expected, *_tolerance(expected))


# name -> (f(S, v), points): v is the argument differentiated
GRAD_CASES = {
    "norm.logpdf-x": (lambda S, v: S.norm.logpdf(v, 0.5, 2.0), [-1.0, 3.0]),
    "norm.logpdf-loc": (lambda S, v: S.norm.logpdf(1.0, v, 2.0), [-1.0, 3.0]),
    "norm.logpdf-scale": (lambda S, v: S.norm.logpdf(1.0, 0.5, v), [0.5, 3.0]),
    "norm.cdf-x": (lambda S, v: S.norm.cdf(v, 0.5, 2.0), [-1.0, 3.0]),
    "norm.logcdf-x": (lambda S, v: S.norm.logcdf(v), [-25.0, -1.0, 3.0]),
    "norm.logsf-x": (lambda S, v: S.norm.logsf(v), [-3.0, 1.0, 25.0]),
    "norm.ppf-q": (lambda S, v: S.norm.ppf(v, 0.5, 2.0), [0.05, 0.6]),
    "norm.isf-q": (lambda S, v: S.norm.isf(v), [0.05, 0.6]),
    "cauchy.logpdf-x": (lambda S, v: S.cauchy.logpdf(v, 0.5, 2.0), [-1.0, 3.0]),
    "cauchy.cdf-scale": (lambda S, v: S.cauchy.cdf(1.0, 0.5, v), [0.5, 3.0]),
    "cauchy.ppf-q": (lambda S, v: S.cauchy.ppf(v), [0.1, 0.7]),
    "logistic.logpdf-x": (lambda S, v: S.logistic.logpdf(v, 0.5, 2.0), [-1.0, 3.0]),
    "logistic.ppf-q": (lambda S, v: S.logistic.ppf(v), [0.1, 0.7]),
    "laplace.logpdf-scale": (lambda S, v: S.laplace.logpdf(1.0, 0.5, v), [0.5, 3.0]),
    "laplace.cdf-x": (lambda S, v: S.laplace.cdf(v, 0.5, 2.0), [-1.0, 3.0]),
    "t.logpdf-x": (lambda S, v: S.t.logpdf(v, 3.0), [-1.0, 2.0]),
    "t.logpdf-df": (lambda S, v: S.t.logpdf(1.5, v), [0.8, 5.0]),
    "gamma.logpdf-a": (lambda S, v: S.gamma.logpdf(1.5, v), [0.8, 5.0]),
    "gamma.logpdf-x": (lambda S, v: S.gamma.logpdf(v, 2.5, 0.0, 2.0), [0.5, 4.0]),
    "gamma.cdf-x": (lambda S, v: S.gamma.cdf(v, 2.5), [0.5, 4.0]),
    "gamma.cdf-a": (lambda S, v: S.gamma.cdf(2.0, v), [0.8, 5.0]),
    "gamma.sf-a": (lambda S, v: S.gamma.sf(2.0, v), [0.8, 5.0]),
    "beta.logpdf-a": (lambda S, v: S.beta.logpdf(0.3, v, 2.0), [0.8, 5.0]),
    "beta.logpdf-x": (lambda S, v: S.beta.logpdf(v, 2.5, 1.5), [0.2, 0.7]),
    "beta.cdf-x": (lambda S, v: S.beta.cdf(v, 2.5, 1.5), [0.2, 0.7]),
    "beta.sf-x": (lambda S, v: S.beta.sf(v, 2.5, 1.5), [0.2, 0.7]),
    "bernoulli.logpmf-p": (lambda S, v: S.bernoulli.logpmf(1.0, v), [0.2, 0.7]),
    "bernoulli.cdf-p": (lambda S, v: S.bernoulli.cdf(0.0, v), [0.2, 0.7]),
    "poisson.logpmf-mu": (lambda S, v: S.poisson.logpmf(3.0, v), [0.5, 4.0]),
    "poisson.cdf-mu": (lambda S, v: S.poisson.cdf(3.0, v), [0.5, 4.0]),
    "dirichlet.logpdf-alpha": (
        lambda S, v: S.dirichlet.logpdf(_np_of(S).array([0.2, 0.3, 0.5]), v * _ALPHA),
        [0.5, 2.0],
    ),
    "multivariate_normal.logpdf-cov": (
        lambda S, v: S.multivariate_normal.logpdf(
            _np_of(S).array([0.5, -1.0]), _np_of(S).zeros(2), v * _COV
        ),
        [0.5, 2.0],
    ),
    "multivariate_normal.logpdf-x": (
        lambda S, v: S.multivariate_normal.logpdf(
            v * _np_of(S).array([0.5, -1.0]), _np_of(S).zeros(2), _COV
        ),
        [0.5, 2.0],
    ),
}
_ALPHA = np.array([1.0, 2.0, 3.0])
_COV = np.array([[2.0, 0.5], [0.5, 1.0]])


def _np_of(S):  # noqa: N803 - the module under test
    return pnp if S is stats else __import__("jax").numpy


def _central(f, x, eps=1e-6):
    return (float(f(x + eps)) - float(f(x - eps))) / (2 * eps)


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_grad_against_central_differences(name):
    build, points = GRAD_CASES[name]
    f = lambda v: build(stats, v)
    with enable_x64(True):
        for v in points:
            np.testing.assert_allclose(
                float(pb.grad(f)(v)), _central(f, v), rtol=1e-6, atol=1e-8, err_msg=str(v)
            )


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_derivatives_against_jax(jax, name):
    import jax.scipy.stats as jst  # noqa: PLC0415 - only with JAX present

    build, points = GRAD_CASES[name]
    f = lambda v: build(stats, v)
    fj = lambda v: build(jst, v)
    for dtype, rtol, ctx in (
        (np.float32, 2e-4, contextlib.nullcontext),
        (np.float64, 1e-8, lambda: x64(jax)),
    ):
        with ctx(), np.errstate(all="ignore"):
            vs = np.array(points, dtype)
            j_grad = jax.jit(jax.grad(fj))
            for v in vs:
                _same(pb.grad(f)(v), j_grad(v), rtol=rtol, atol=rtol * 1e-2)
            expected = jax.jit(jax.vmap(jax.grad(fj)))(vs)
            _same(pb.vmap(pb.grad(f))(vs), expected, rtol=rtol, atol=rtol * 1e-2)
            _same(pb.jit(pb.grad(f))(vs[0]), j_grad(vs[0]), rtol=rtol, atol=rtol * 1e-2)
            t = np.full_like(vs, 0.5)
            (p, tp), (pj, tj) = pb.jvp(pb.vmap(f), (vs,), (t,)), jax.jvp(jax.vmap(fj), (vs,), (t,))
            _same(p, pj, rtol=rtol, atol=rtol * 1e-2)
            _same(tp, tj, rtol=rtol, atol=rtol * 1e-2)
