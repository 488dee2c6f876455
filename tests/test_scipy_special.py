"""``pullback.scipy.special``: values against SciPy (float64), values, dtypes and weak types
against JAX, and derivatives (grad, jvp, vmap, jit) against JAX and central differences."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import scipy.special as sc

import pullback as pb
import pullback.numpy as pnp
from pullback._config import enable_x64
from pullback.scipy import special

_rng = np.random.default_rng(7)


@pytest.fixture
def jax():
    return pytest.importorskip("jax")


@contextlib.contextmanager
def x64(jax=None):
    """64-bit mode in pullback (and in JAX when given)."""
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
    try:
        with enable_x64(True):
            yield
    finally:
        if jax is not None:
            jax.config.update("jax_enable_x64", False)


def _raw(x):
    return np.asarray(x)


# -- values against SciPy, in float64 -------------------------------------------------------------

X = np.concatenate([_rng.uniform(-6, 6, 40), [-30.0, -8.5, -0.5, 0.0, 0.25, 7.5, 12.0, 40.0]])
POS = np.concatenate([_rng.uniform(0.01, 12, 40), [1e-8, 0.5, 1.0, 2.0, 30.0, 170.5, 1e4]])
PROB = np.concatenate([_rng.uniform(0, 1, 40), [1e-300, 1e-20, 1e-3, 0.5, 0.999, 1 - 1e-12]])
A = _rng.uniform(0.1, 20, 40)
B = _rng.uniform(0.1, 20, 40)
U = _rng.uniform(0, 1, 40)
N = _rng.integers(0, 8, 40)
NEG = -_rng.uniform(0.05, 7, 20) + 0.0  # non-integer negatives
NEG = np.where(np.round(NEG) == NEG, NEG + 0.5, NEG)

SCIPY_CASES = {
    "erf": (special.erf, sc.erf, (X,), {}),
    "erfc": (special.erfc, sc.erfc, (X,), {}),
    "erfinv": (special.erfinv, sc.erfinv, (2 * U - 1,), {}),
    "gammaln": (special.gammaln, sc.gammaln, (np.concatenate([POS, NEG]),), {}),
    "gammaln-huge": (special.gammaln, sc.gammaln, (np.array([1e10, 3e300]),), {}),
    "gamma": (special.gamma, sc.gamma, (np.concatenate([POS[POS < 170], NEG]),), {}),
    "gammasgn": (special.gammasgn, sc.gammasgn, (np.concatenate([POS, NEG]),), {}),
    "digamma": (special.digamma, sc.digamma, (np.concatenate([POS, NEG]),), {}),
    "betaln": (special.betaln, sc.betaln, (A, B), {}),
    "betaln-large": (special.betaln, sc.betaln, (A * 1e5, B * 1e6), {}),
    "beta": (special.beta, sc.beta, (A, B), {}),
    "betainc": (special.betainc, sc.betainc, (A, B, U), {}),
    "gammainc": (special.gammainc, sc.gammainc, (A, 2 * B), {}),
    "gammaincc": (special.gammaincc, sc.gammaincc, (A, 2 * B), {}),
    "xlogy": (special.xlogy, sc.xlogy, (np.concatenate([X, [0.0]]), np.abs(np.r_[X, 0.0])), {}),
    "xlog1py": (special.xlog1py, sc.xlog1py, (X, np.abs(X)), {}),
    "expit": (special.expit, sc.expit, (X,), {}),
    "logit": (special.logit, sc.logit, (PROB,), {}),
    "ndtr": (special.ndtr, sc.ndtr, (X,), {}),
    "ndtri": (special.ndtri, sc.ndtri, (PROB,), {}),
    "log_ndtr": (special.log_ndtr, sc.log_ndtr, (X,), {"rtol": 1e-9}),
    "i0e": (special.i0e, sc.i0e, (X,), {}),
    "i1e": (special.i1e, sc.i1e, (X,), {}),
    "i0": (special.i0, sc.i0, (X,), {}),
    "i1": (special.i1, sc.i1, (X,), {}),
    "entr": (special.entr, sc.entr, (np.concatenate([POS, [0.0, -1.0]]),), {}),
    "rel_entr": (special.rel_entr, sc.rel_entr, (np.r_[U, 0.0, -1.0], np.r_[A, 1.0, 1.0]), {}),
    "kl_div": (special.kl_div, sc.kl_div, (np.r_[U, 0.0, -1.0], np.r_[A, 1.0, 1.0]), {}),
    "zeta": (special.zeta, sc.zeta, (1.5 + A, POS[: len(A)]), {}),
    "polygamma": (special.polygamma, sc.polygamma, (N, np.r_[POS[:30], NEG[:10]]), {}),
    "factorial": (special.factorial, sc.factorial, (np.arange(-2, 25),), {}),
    "multigammaln": (
        lambda a: special.multigammaln(a, 3),
        lambda a: sc.multigammaln(a, 3),
        (POS[POS > 1.1],),
        {},
    ),
    "logsumexp": (
        lambda a: special.logsumexp(a, axis=1),
        lambda a: sc.logsumexp(a, axis=1),
        (X[:40].reshape(4, 10),),
        {},
    ),
}


@pytest.mark.parametrize("name", sorted(SCIPY_CASES))
def test_values_against_scipy(name):
    fn, ref, args, opts = SCIPY_CASES[name]
    with enable_x64(True), np.errstate(all="ignore"):
        got = fn(*args)
        expected = ref(*args)
    assert isinstance(got, pb.Array)
    np.testing.assert_allclose(
        _raw(got), expected, rtol=opts.get("rtol", 1e-10), atol=1e-13, equal_nan=True
    )


def test_edge_values():
    with np.errstate(all="ignore"):
        inf, nan = np.inf, np.nan
        np.testing.assert_array_equal(_raw(special.erf(pnp.array([inf, -inf, 0.0]))), [1, -1, 0])
        np.testing.assert_array_equal(_raw(special.erfc(pnp.array([inf, -inf]))), [0, 2])
        np.testing.assert_array_equal(
            _raw(special.erfinv(pnp.array([1.0, -1.0, 2.0]))), [inf, -inf, nan]
        )
        # JAX's values at the poles: lgamma +inf, digamma NaN
        np.testing.assert_array_equal(
            _raw(special.gammaln(pnp.array([0.0, -1.0, -inf, inf]))), [inf, inf, inf, inf]
        )
        np.testing.assert_array_equal(
            _raw(special.digamma(pnp.array([0.0, -2.0, -inf]))), [nan, nan, nan]
        )
        np.testing.assert_array_equal(
            _raw(special.gamma(pnp.array([0.0, -0.0, -1.0]))), [inf, -inf, nan]
        )
        np.testing.assert_array_equal(
            _raw(special.ndtri(pnp.array([0.0, 1.0, 2.0]))), [-inf, inf, nan]
        )
        np.testing.assert_array_equal(
            _raw(special.zeta(pnp.array([1.0, 0.5, 2.0, 3.0]), pnp.array([1.0, 1.0, 0.0, 0.0]))),
            [inf, nan, inf, nan],
        )
        np.testing.assert_array_equal(
            _raw(special.gammainc(pnp.array([1.0, 1.0, 0.0]), pnp.array([0.0, inf, 0.0]))),
            [0.0, 1.0, nan],
        )


def test_logsumexp_options():
    a = np.array([[1.0, 2.0, -3.0], [0.5, 0.0, 4.0]])
    b = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]])
    with enable_x64(True):
        for axis in (None, 0, 1, -1, (0, 1)):
            for keepdims in (False, True):
                got = special.logsumexp(a, axis=axis, keepdims=keepdims)
                np.testing.assert_allclose(_raw(got), sc.logsumexp(a, axis=axis, keepdims=keepdims))
                out, sign = special.logsumexp(
                    a, axis=axis, b=b, keepdims=keepdims, return_sign=True
                )
                e_out, e_sign = sc.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)
                np.testing.assert_allclose(_raw(out), e_out)
                np.testing.assert_array_equal(_raw(sign), e_sign)
        # negative sums are NaN without return_sign; where= selects the terms
        assert np.isnan(_raw(special.logsumexp(a[0], b=b[0])))
        mask = np.array([True, False, True])
        np.testing.assert_allclose(
            _raw(special.logsumexp(a[0], where=mask)), sc.logsumexp(a[0][mask])
        )
        # stable for large inputs; -inf everywhere gives -inf
        np.testing.assert_allclose(_raw(special.logsumexp(np.array([1000.0, 1000.0]))), 1000.6931)
        assert _raw(special.logsumexp(np.array([-np.inf, -np.inf]))) == -np.inf


def test_logsumexp_gradient_is_softmax():
    a = np.array([0.5, -1.0, 3.0])
    with enable_x64(True):
        g = pb.grad(special.logsumexp)(a)
        e = np.exp(a - sc.logsumexp(a))
        np.testing.assert_allclose(_raw(g), e, rtol=1e-12)
        # at inputs where exp overflows, the gradient is still the softmax
        g = pb.grad(special.logsumexp)(np.array([1000.0, 1000.0]))
        np.testing.assert_allclose(_raw(g), [0.5, 0.5])


def test_xlogy_at_zero():
    assert float(special.xlogy(0.0, 0.0)) == 0.0
    assert float(special.xlog1py(0.0, -1.0)) == 0.0
    # JAX's rule: d/dx = log(y), d/dy = x / y
    gx, gy = pb.grad(special.xlogy, argnums=(0, 1))(0.0, 0.0)
    assert float(gx) == -np.inf and np.isnan(float(gy))
    gx, gy = pb.grad(special.xlogy, argnums=(0, 1))(2.0, 4.0)
    np.testing.assert_allclose([float(gx), float(gy)], [np.log(4.0), 0.5], rtol=1e-6)
    assert float(pb.grad(special.entr)(1.0)) == -1.0


def test_errors():
    with pytest.raises(ValueError, match="integer type"):
        special.polygamma(1.0, 2.0)
    with pytest.raises(NotImplementedError, match="Riemann zeta"):
        special.zeta(2.0)
    with pytest.raises(TypeError, match="not supported"):
        special.ndtr(pnp.array([1, 2]))
    with pytest.raises(TypeError, match="series_order"):
        special.log_ndtr(1.0, series_order=2.0)
    with pytest.raises(ValueError, match="Betainc gradient"):
        pb.grad(special.betainc)(2.0, 3.0, 0.5)
    with pytest.raises(NotImplementedError, match="exact=True"):
        special.factorial(3, exact=True)
    with pytest.raises(TypeError, match="concrete"):
        pb.jit(special.multigammaln)(2.0, 2)


# -- derivatives against central differences (float64) ------------------------------------------

GRAD_CASES = {
    "erf": (lambda S, x: S.erf(x), [-1.5, 0.3, 2.5]),
    "erfc": (lambda S, x: S.erfc(x), [-1.5, 0.3, 2.5]),
    "erfinv": (lambda S, x: S.erfinv(x), [-0.9, 0.1, 0.7]),
    "gammaln": (lambda S, x: S.gammaln(x), [0.3, 2.5, -1.5]),
    "gamma": (lambda S, x: S.gamma(x), [0.3, 2.5, -1.5]),
    "digamma": (lambda S, x: S.digamma(x), [0.3, 2.5, -1.5]),
    "betaln-a": (lambda S, x: S.betaln(x, 2.5), [0.7, 3.0, 12.0]),
    "betaln-b": (lambda S, x: S.betaln(1.5, x), [0.7, 9.0, 30.0]),
    "beta": (lambda S, x: S.beta(x, 2.5), [0.7, 3.0]),
    "betainc-x": (lambda S, x: S.betainc(2.0, 3.0, x), [0.2, 0.6]),
    "gammainc-a": (lambda S, x: S.gammainc(x, 2.0), [0.5, 1.5, 4.0]),
    "gammainc-x": (lambda S, x: S.gammainc(1.5, x), [0.5, 1.5, 4.0]),
    "gammaincc-a": (lambda S, x: S.gammaincc(x, 2.0), [0.5, 1.5, 4.0]),
    "xlogy-x": (lambda S, x: S.xlogy(x, 3.0), [-1.0, 2.0]),
    "xlogy-y": (lambda S, x: S.xlogy(2.0, x), [0.5, 2.0]),
    "xlog1py-y": (lambda S, x: S.xlog1py(2.0, x), [-0.5, 2.0]),
    "logit": (lambda S, x: S.logit(x), [0.2, 0.7]),
    "expit": (lambda S, x: S.expit(x), [-2.0, 1.0]),
    "entr": (lambda S, x: S.entr(x), [0.3, 2.0]),
    "rel_entr": (lambda S, x: S.rel_entr(x, 0.5), [0.3, 2.0]),
    "kl_div": (lambda S, x: S.kl_div(0.4, x), [0.3, 2.0]),
    "ndtr": (lambda S, x: S.ndtr(x), [-3.0, 0.2, 1.0]),
    "ndtri": (lambda S, x: S.ndtri(x), [0.01, 0.3, 0.9]),
    "log_ndtr": (lambda S, x: S.log_ndtr(x), [-25.0, -3.0, 0.5, 9.0]),
    "i0e": (lambda S, x: S.i0e(x), [-3.0, 0.5, 25.0]),
    "i1e": (lambda S, x: S.i1e(x), [-3.0, 0.5, 25.0]),
    "i0": (lambda S, x: S.i0(x), [-3.0, 0.5]),
    "i1": (lambda S, x: S.i1(x), [-3.0, 0.5]),
    "zeta-x": (lambda S, x: S.zeta(x, 1.5), [2.0, 3.5]),
    "zeta-q": (lambda S, x: S.zeta(3.0, x), [0.5, 2.0]),
    "polygamma": (lambda S, x: S.polygamma(2, x), [0.5, 3.0]),
    "multigammaln": (lambda S, x: S.multigammaln(x, 3), [1.5, 4.0]),
    "logsumexp": (lambda S, x: S.logsumexp(S_arr(S, [x, 1.0, -x]) * x), [0.5, 2.0]),
    "logsumexp-b": (lambda S, x: S.logsumexp(S_arr(S, [x, 1.0]), b=S_arr(S, [2.0, x])), [0.5]),
}


def S_arr(S, values):  # noqa: N802 - the module under test decides the array type
    """An array of ``values`` (Python floats or scalars of either library) for module ``S``."""
    np_mod = pnp if S is special else __import__("jax").numpy
    return np_mod.stack([np_mod.asarray(v) for v in values])


def _central(f, x, eps=1e-6):
    return (float(f(x + eps)) - float(f(x - eps))) / (2 * eps)


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_grad_against_central_differences(name):
    build, points = GRAD_CASES[name]
    f = lambda x: build(special, x)
    with enable_x64(True):
        for x in points:
            got = float(pb.grad(f)(x))
            np.testing.assert_allclose(got, _central(f, x), rtol=1e-6, atol=1e-8, err_msg=str(x))
            # second derivative of what has one (zeta-x's rule is a series, not twice exact)
            if name.startswith(("gammainc", "gammaincc", "betainc")):
                continue
            gg = float(pb.grad(pb.grad(f))(x))
            np.testing.assert_allclose(
                gg, _central(pb.grad(f), x, 1e-5), rtol=1e-5, atol=1e-6, err_msg=str(x)
            )


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


_F = np.array([-2.5, -0.7, 0.3, 1.0, 2.0, 4.5])
_F_POS = np.array([0.3, 1.0, 2.5, 7.0])
_F_UNIT = np.array([0.05, 0.3, 0.5, 0.9])
I32 = np.array([0, 1, 3, 5], np.int32)
# the float operands of JAX_CASES, in the dtype of the run (float32, then float64 under x64)
ARR = {}


def _set_dtype(dtype):
    ARR.update(f=_F.astype(dtype), pos=_F_POS.astype(dtype), unit=_F_UNIT.astype(dtype))


# name -> call(S, m) with S the special module and m the numpy module of one library
JAX_CASES = {
    "erf": lambda S, m: S.erf(m.asarray(ARR["f"])),
    "erf-scalar": lambda S, m: S.erf(0.5),
    "erf-int": lambda S, m: S.erf(m.asarray(I32)),
    "erfc": lambda S, m: S.erfc(m.asarray(ARR["f"])),
    "erfinv": lambda S, m: S.erfinv(m.asarray(ARR["unit"])),
    "erfinv-scalar": lambda S, m: S.erfinv(0.5),
    "gammaln": lambda S, m: S.gammaln(m.asarray(ARR["f"])),
    "gammaln-int": lambda S, m: S.gammaln(m.asarray(I32 + 1)),
    "gammaln-scalar": lambda S, m: S.gammaln(3.5),
    "gamma": lambda S, m: S.gamma(m.asarray(ARR["f"])),
    "gamma-scalar": lambda S, m: S.gamma(3.5),
    "gammasgn": lambda S, m: S.gammasgn(m.asarray(ARR["f"])),
    "digamma": lambda S, m: S.digamma(m.asarray(ARR["f"])),
    "digamma-scalar": lambda S, m: S.digamma(2.0),
    "betaln": lambda S, m: S.betaln(m.asarray(ARR["pos"]), 2.5),
    "betaln-scalars": lambda S, m: S.betaln(2.0, 3.0),
    "betaln-large": lambda S, m: S.betaln(m.asarray(ARR["pos"] * 100), m.asarray(ARR["pos"] * 50)),
    "beta": lambda S, m: S.beta(m.asarray(ARR["pos"]), 2.5),
    "beta-scalars": lambda S, m: S.beta(2.0, 3.0),
    "betainc": lambda S, m: S.betainc(m.asarray(ARR["pos"]), 2.0, m.asarray(ARR["unit"])),
    "gammainc": lambda S, m: S.gammainc(m.asarray(ARR["pos"]), m.asarray(ARR["pos"][::-1])),
    "gammainc-scalars": lambda S, m: S.gammainc(2.0, 1.0),
    "gammaincc": lambda S, m: S.gammaincc(m.asarray(ARR["pos"]), 2.0),
    "factorial": lambda S, m: S.factorial(m.asarray(I32)),
    "multigammaln": lambda S, m: S.multigammaln(m.asarray(ARR["pos"] + 1), 2),
    "multigammaln-scalar": lambda S, m: S.multigammaln(2.5, 2),
    "xlogy": lambda S, m: S.xlogy(m.asarray(ARR["f"]), m.asarray(np.abs(ARR["f"]))),
    "xlogy-scalars": lambda S, m: S.xlogy(0.0, 0.0),
    "xlog1py": lambda S, m: S.xlog1py(m.asarray(ARR["f"]), m.asarray(np.abs(ARR["f"]))),
    "logit": lambda S, m: S.logit(m.asarray(ARR["unit"])),
    "logit-scalar": lambda S, m: S.logit(0.25),
    "expit": lambda S, m: S.expit(m.asarray(ARR["f"])),
    "expit-int": lambda S, m: S.expit(m.asarray(I32)),
    "entr": lambda S, m: S.entr(m.asarray(ARR["f"])),
    "entr-scalar": lambda S, m: S.entr(0.5),
    "rel_entr": lambda S, m: S.rel_entr(m.asarray(ARR["unit"]), m.asarray(ARR["pos"])),
    "rel_entr-scalars": lambda S, m: S.rel_entr(0.5, 2.0),
    "kl_div": lambda S, m: S.kl_div(m.asarray(ARR["unit"]), m.asarray(ARR["pos"])),
    "zeta": lambda S, m: S.zeta(m.asarray(ARR["pos"] + 1.5), m.asarray(ARR["pos"])),
    "zeta-scalars": lambda S, m: S.zeta(3.0, 2.0),
    "polygamma": lambda S, m: S.polygamma(m.asarray(I32), m.asarray(ARR["pos"])),
    "polygamma-scalars": lambda S, m: S.polygamma(2, 1.5),
    "ndtr": lambda S, m: S.ndtr(m.asarray(ARR["f"])),
    "ndtr-scalar": lambda S, m: S.ndtr(0.5),
    "ndtri": lambda S, m: S.ndtri(m.asarray(ARR["unit"])),
    "ndtri-scalar": lambda S, m: S.ndtri(0.25),
    "log_ndtr": lambda S, m: S.log_ndtr(
        m.asarray(np.r_[ARR["f"], [-12.0, 6.0]].astype(ARR["f"].dtype))
    ),
    "log_ndtr-scalar": lambda S, m: S.log_ndtr(-3.0),
    "i0e": lambda S, m: S.i0e(m.asarray(ARR["f"])),
    "i0e-scalar": lambda S, m: S.i0e(1.5),
    "i1e": lambda S, m: S.i1e(m.asarray(ARR["f"])),
    "i0": lambda S, m: S.i0(m.asarray(ARR["f"])),
    "i1": lambda S, m: S.i1(m.asarray(ARR["f"])),
    "logsumexp": lambda S, m: S.logsumexp(m.asarray(ARR["f"])),
    "logsumexp-axis": lambda S, m: S.logsumexp(m.asarray(ARR["f"].reshape(2, 3)), axis=1),
    "logsumexp-keepdims": lambda S, m: S.logsumexp(
        m.asarray(ARR["f"].reshape(2, 3)), axis=0, keepdims=True
    ),
    "logsumexp-b": lambda S, m: S.logsumexp(m.asarray(ARR["f"]), b=m.asarray(ARR["pos"][0]) * 2),
    "logsumexp-sign": lambda S, m: S.logsumexp(
        m.asarray(ARR["f"][:4]), b=m.asarray(ARR["f"][:4]), return_sign=True
    ),
    "logsumexp-where": lambda S, m: S.logsumexp(m.asarray(ARR["f"]), where=m.asarray(ARR["f"] > 0)),
    "logsumexp-scalar": lambda S, m: S.logsumexp(2.0),
    "logsumexp-int": lambda S, m: S.logsumexp(m.asarray(I32)),
}


def _outs(x):
    return list(x) if isinstance(x, tuple) else [x]


@pytest.mark.parametrize("name", sorted(JAX_CASES))
def test_against_jax(jax, name):
    import jax.scipy.special as jsp  # noqa: PLC0415 - only with JAX present

    call = JAX_CASES[name]
    for dtype, ctx in ((np.float32, contextlib.nullcontext), (np.float64, lambda: x64(jax))):
        _set_dtype(dtype)
        with ctx(), np.errstate(all="ignore"):
            got, expected = call(special, pnp), call(jsp, jax.numpy)
            for g, e in zip(_outs(got), _outs(expected), strict=True):
                if np.dtype(e.dtype) == np.float64:
                    # JAX's float64 algorithms agree to about 1e-11 (igamma for large a)
                    _same(g, e, rtol=1e-9, atol=1e-12)
                else:
                    _same(g, e, rtol=3e-5, atol=2e-6)


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_derivatives_against_jax(jax, name):
    import jax.scipy.special as jsp  # noqa: PLC0415 - only with JAX present

    build, points = GRAD_CASES[name]
    f = lambda x: build(special, x)
    fj = lambda x: build(jsp, x)
    xs = np.array(points, np.float32)
    # betaln for max(a, b) >= 8: JAX's correction polynomial (cdflib's algdiv) is not exact in a;
    # pullback's Stirling series is (see test_grad_against_central_differences)
    loose = 1e-5 if name.startswith("betaln") else 0
    for dtype, rtol, ctx in (
        (np.float32, 2e-4, contextlib.nullcontext),
        (np.float64, max(1e-8, loose), lambda: x64(jax)),
    ):
        with ctx(), np.errstate(all="ignore"):
            # JAX's side compiled once per dtype (op-by-op it compiles every operation)
            j_grad = jax.jit(jax.grad(fj))
            j_jvp = jax.jit(lambda x, t: jax.jvp(fj, (x,), (t,)))
            xs_d = xs.astype(dtype)
            t = dtype(1.5)
            for x in xs_d:
                _same(pb.grad(f)(x), j_grad(x), rtol=rtol, atol=rtol * 1e-2)
                (p, tp), (pj, tj) = pb.jvp(f, (x,), (t,)), j_jvp(x, t)
                _same(p, pj, rtol=rtol, atol=rtol * 1e-2)
                _same(tp, tj, rtol=rtol, atol=rtol * 1e-2)
            expected = jax.jit(jax.vmap(jax.grad(fj)))(xs_d)
            _same(pb.vmap(pb.grad(f))(xs_d), expected, rtol=rtol, atol=rtol * 1e-2)
            _same(pb.jit(pb.grad(f))(xs_d[0]), j_grad(xs_d[0]), rtol=rtol, atol=rtol * 1e-2)


def test_grad_at_kinks_against_jax(jax):
    import jax.scipy.special as jsp  # noqa: PLC0415 - only with JAX present

    cases = [
        (lambda S: lambda x, y: S.xlogy(x, y), (0.0, 0.0)),
        (lambda S: lambda x, y: S.xlogy(x, y), (0.0, 1.0)),
        (lambda S: lambda x, y: S.xlog1py(x, y), (0.0, -1.0)),
        (lambda S: lambda x, y: S.rel_entr(x, y), (0.0, 1.0)),
    ]
    for build, args in cases:
        with np.errstate(all="ignore"):
            got = pb.grad(build(special), argnums=(0, 1))(*args)
            expected = jax.grad(build(jsp), argnums=(0, 1))(*args)
        for g, e in zip(got, expected):
            _same(g, e, rtol=1e-6, atol=0)
    with np.errstate(all="ignore"):
        _same(pb.grad(special.entr)(0.0), jax.grad(jsp.entr)(0.0), rtol=0, atol=0)
