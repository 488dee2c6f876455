"""``pullback.numpy.linalg`` and ``pullback.scipy.linalg`` (issue 12, item 3).

* values and dtypes against NumPy and SciPy (these run without JAX);
* values, dtypes and gradients against JAX, in float32 and float64 (``value_and_grad``);
* compositions against JAX: ``vmap(grad)``, ``jit(vmap(grad))``, ``grad(vmap)``, ``jvp``,
  ``hessian``, ``jacfwd(jacrev)``;
* derivatives against float64 central differences to second order in both modes
  (``pullback.test_util.check_grads``);
* leading batch dimensions against loops, staging (``make_jaxpr`` type-checks, ``jit``);
* the degenerate cases as JAX has them (NaN Cholesky factors, singular solves, repeated
  eigenvalues and singular values, the cofactor gradient of a singular determinant);
* errors: JAX's exception types and leading sentences.

The primitives themselves are also checked from ``tests/samples_linalg.py`` by
``test_primitives*.py``.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
import pullback.scipy.linalg as psl
from pullback._ir import check_jaxpr
from pullback.test_util import check_grads

_rng = np.random.default_rng(12)


def _spd(n, *batch):
    """Positive definite, with eigenvalues 1, 2, ..., n."""
    q, _ = np.linalg.qr(_rng.standard_normal((*batch, n, n)))
    return (q * (1.0 + np.arange(n))) @ np.swapaxes(q, -1, -2)


A = _rng.standard_normal((4, 4)) + 4 * np.eye(4)  # general, well conditioned
AB = _rng.standard_normal((3, 4, 4)) + 4 * np.eye(4)  # a batch of them
S = _spd(4) + 0.05 * _rng.standard_normal((4, 4))  # nearly symmetric positive definite
SB = _spd(4, 3)
T = _rng.standard_normal((5, 3))  # tall
W = _rng.standard_normal((3, 5))  # wide
RHS = _rng.standard_normal((4, 3))
VEC = _rng.standard_normal(4)
A5 = _rng.standard_normal((5, 5)) + 5 * np.eye(5)


@pytest.fixture
def real():
    return pytest.importorskip("jax")


@pytest.fixture(params=["float32", "float64"])
def dtype(request, real):
    x64 = request.param == "float64"
    with pb.enable_x64(x64), real.enable_x64(x64):
        yield np.dtype(request.param)


def _close(got, want, rtol, what=""):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, expected {want.dtype}"
    scale = max(1.0, float(np.nanmax(np.abs(want)))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=what)


def _tol(dtype):
    return 1e-9 if dtype == np.float64 else 3e-4


# -- values and dtypes against NumPy and SciPy (no JAX needed) ---------------------------------

NUMPY_CASES = [
    ("cholesky", lambda m: m.linalg.cholesky(SB)),
    ("inv", lambda m: m.linalg.inv(AB)),
    ("det", lambda m: m.linalg.det(AB)),
    ("det-3x3", lambda m: m.linalg.det(AB[:, :3, :3])),
    ("det-5x5", lambda m: m.linalg.det(A5)),
    ("slogdet", lambda m: tuple(m.linalg.slogdet(-AB))),
    ("solve-vector", lambda m: m.linalg.solve(AB, VEC)),
    ("solve-matrix", lambda m: m.linalg.solve(AB, RHS)),
    ("eigvalsh", lambda m: m.linalg.eigvalsh(SB)),
    ("eigh-upper", lambda m: tuple(m.linalg.eigh(SB, UPLO="U"))),
    ("qr-reduced", lambda m: tuple(m.linalg.qr(T))),
    ("qr-complete", lambda m: tuple(m.linalg.qr(T, mode="complete"))),
    ("qr-r", lambda m: m.linalg.qr(W, mode="r")),
    ("svd", lambda m: tuple(m.linalg.svd(T, full_matrices=False))),
    ("svd-full", lambda m: tuple(m.linalg.svd(W))),
    ("svd-values", lambda m: m.linalg.svd(AB, compute_uv=False)),
    ("pinv", lambda m: m.linalg.pinv(T)),
    ("matrix_rank", lambda m: m.linalg.matrix_rank(T @ T.T)),
    ("matrix_power", lambda m: m.linalg.matrix_power(AB / 4, 5)),
    ("matrix_power-neg", lambda m: m.linalg.matrix_power(AB, -2)),
    ("norm", lambda m: m.linalg.norm(T)),
    ("norm-nuc", lambda m: m.linalg.norm(T, "nuc")),
    ("norm-2", lambda m: m.linalg.norm(AB, 2, axis=(1, 2))),
    ("norm-minus-2", lambda m: m.linalg.norm(T, -2)),
    ("norm-1", lambda m: m.linalg.norm(T, 1)),
    ("norm-minus-1", lambda m: m.linalg.norm(T, -1)),
    ("norm-inf", lambda m: m.linalg.norm(T, np.inf)),
    ("norm-minus-inf", lambda m: m.linalg.norm(T, -np.inf)),
    ("norm-fro-keepdims", lambda m: m.linalg.norm(AB, "fro", axis=(0, 2), keepdims=True)),
    ("norm-vector-3", lambda m: m.linalg.norm(T, 3, axis=0)),
    ("norm-vector-0", lambda m: m.linalg.norm(T, 0, axis=1)),
    ("norm-vector-inf", lambda m: m.linalg.norm(T, np.inf, axis=-1, keepdims=True)),
    ("norm-vector-minus-inf", lambda m: m.linalg.norm(VEC, -np.inf)),
    ("norm-vector-half", lambda m: m.linalg.norm(VEC, 0.5)),
    ("cond", lambda m: m.linalg.cond(AB)),
    ("cond-1", lambda m: m.linalg.cond(A, 1)),
    ("cond-fro", lambda m: m.linalg.cond(A, "fro")),
    ("cross", lambda m: m.linalg.cross(T[:, :3], T[::-1, :3])),
    ("tensorinv", lambda m: m.linalg.tensorinv(A.reshape(4, 2, 2), ind=1)),
    ("tensorsolve", lambda m: m.linalg.tensorsolve(A.reshape(2, 2, 4), np.ones((2, 2)))),
    ("multi_dot", lambda m: m.linalg.multi_dot([VEC, A, A, RHS])),
    ("outer", lambda m: m.linalg.outer(VEC, VEC[:2])),
    ("trace", lambda m: m.linalg.trace(AB, offset=1)),
    ("diagonal", lambda m: m.linalg.diagonal(AB, offset=-1)),
    ("vecdot", lambda m: m.linalg.vecdot(AB, VEC)),
    ("svdvals", lambda m: m.linalg.svdvals(AB)),
    ("matrix_norm", lambda m: m.linalg.matrix_norm(AB, ord="nuc")),
    ("vector_norm", lambda m: m.linalg.vector_norm(AB, ord=3, axis=(0, 2))),
    ("lstsq", lambda m: m.linalg.lstsq(T, np.arange(5.0))[0]),
    ("lstsq-residuals", lambda m: m.linalg.lstsq(T, np.arange(5.0))[1]),
]


def _numpy_value(f):
    out = f(np)
    return tuple(np.asarray(o) for o in out) if isinstance(out, tuple) else np.asarray(out)


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize("name,f", NUMPY_CASES, ids=[c[0] for c in NUMPY_CASES])
def test_values_match_numpy(name, f, x64):
    with pb.enable_x64(x64):
        got = f(pnp)
    expected = _numpy_value(f)
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    dtype = np.float64 if x64 else np.float32
    for g, e in zip(got, expected, strict=True):
        assert isinstance(g, pb.Array)
        want_dtype = e.dtype if e.dtype.kind in "iub" else dtype
        if name == "matrix_rank":
            want_dtype = np.int64 if x64 else np.int32
        assert g.dtype == want_dtype, f"{name}: {g.dtype}"
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-9 if x64 else 2e-4, atol=1e-9)


def test_linalg_names_match_numpy_and_jax():
    names = {
        "cholesky", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh",
        "inv", "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_rank",
        "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "qr", "slogdet", "solve",
        "svd", "svdvals", "tensordot", "tensorinv", "tensorsolve", "trace", "vecdot",
        "vector_norm",
    }  # fmt: skip
    assert names <= set(dir(pnp.linalg))
    assert pnp.linalg is __import__("pullback.numpy.linalg").numpy.linalg


def test_results_are_named_tuples():
    w, v = pnp.linalg.eigh(S)
    assert pnp.linalg.eigh(S).eigenvectors is not None
    assert type(pnp.linalg.qr(T)).__name__ == "QRResult"
    u, s, vh = pnp.linalg.svd(T)
    assert pnp.linalg.svd(T).S.shape == (3,)
    assert pnp.linalg.slogdet(A).logabsdet.shape == ()
    assert (w.shape, v.shape, u.shape, vh.shape) == ((4,), (4, 4), (5, 5), (3, 3))


@pytest.fixture
def sla():
    return pytest.importorskip("scipy.linalg")


def test_scipy_values_match_scipy(sla):
    with pb.enable_x64(True):
        lu_p, piv_p = psl.lu_factor(A)
        lu_s, piv_s = sla.lu_factor(A)
        np.testing.assert_allclose(np.asarray(lu_p), lu_s, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(np.asarray(piv_p), piv_s)
        assert piv_p.dtype == np.int32
        for trans in (0, 1, 2):
            np.testing.assert_allclose(
                np.asarray(psl.lu_solve((lu_p, piv_p), RHS, trans=trans)),
                sla.lu_solve((lu_s, piv_s), RHS, trans=trans),
                rtol=1e-12,
            )
        for m in (A, T, W):
            for got, want in zip(psl.lu(m), sla.lu(m), strict=True):
                np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)
            for got, want in zip(psl.lu(m, permute_l=True), sla.lu(m, permute_l=True)):
                np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)
        for lower in (False, True):
            np.testing.assert_allclose(
                np.asarray(psl.cholesky(S, lower=lower)), sla.cholesky(S, lower=lower)
            )
            c = psl.cho_factor(S, lower=lower)
            np.testing.assert_allclose(
                np.asarray(psl.cho_solve(c, RHS)), sla.cho_solve(sla.cho_factor(S, lower), RHS)
            )
            for trans in (0, 1, "T", "C"):
                for unit in (False, True):
                    np.testing.assert_allclose(
                        np.asarray(psl.solve_triangular(A, RHS, trans, lower, unit)),
                        sla.solve_triangular(A, RHS, trans, lower, unit),
                        rtol=1e-11,
                    )
            np.testing.assert_allclose(
                np.asarray(psl.solve(S, RHS, lower=lower, assume_a="pos")),
                sla.solve(S, RHS, lower=lower, assume_a="pos"),
                rtol=1e-11,
            )
        np.testing.assert_allclose(np.asarray(psl.solve(A, VEC)), sla.solve(A, VEC), rtol=1e-11)
        for scale in (1e-3, 0.2, 1.0, 3.0, 30.0):
            np.testing.assert_allclose(
                np.asarray(psl.expm(A * scale)), sla.expm(A * scale), rtol=1e-11
            )
        e = _rng.standard_normal((4, 4))
        got_expm, got_frechet = psl.expm_frechet(A / 3, e)
        want_expm, want_frechet = sla.expm_frechet(A / 3, e)
        np.testing.assert_allclose(np.asarray(got_frechet), want_frechet, rtol=1e-10)
        np.testing.assert_allclose(np.asarray(got_expm), want_expm, rtol=1e-12)
        blocks = (np.ones((1, 2)), 3.0, np.arange(2.0), np.eye(2))
        np.testing.assert_array_equal(np.asarray(psl.block_diag(*blocks)), sla.block_diag(*blocks))
        np.testing.assert_allclose(np.asarray(psl.det(A)), sla.det(A), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(psl.inv(A)), sla.inv(A), rtol=1e-12)
        w, v = psl.eigh(S + S.T)
        np.testing.assert_allclose(np.asarray(w), sla.eigh(S + S.T)[0], rtol=1e-12)
        np.testing.assert_allclose(
            np.asarray(psl.svd(T, compute_uv=False)), sla.svd(T, compute_uv=False)
        )
        q, r = psl.qr(T)
        assert q.shape == (5, 5) and r.shape == (5, 3)
        (r_only,) = psl.qr(T, mode="r")
        np.testing.assert_allclose(np.asarray(r_only), sla.qr(T, mode="r")[0], rtol=1e-12)


def test_expm_float32_and_max_squarings():
    out = psl.expm(np.float32(3.0) * np.eye(2, dtype=np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.asarray(out), np.exp(3.0) * np.eye(2), rtol=1e-5)
    assert np.isnan(np.asarray(psl.expm(1e6 * np.eye(2), max_squarings=4))).all()


# -- against JAX: values, dtypes, gradients ------------------------------------------------------


def _sum_cubes(outs):
    return sum((o**3).sum() for o in outs)


JAX_CASES = [
    # (id, f(numpy module, scipy.linalg module, x) -> scalar, x)
    ("cholesky", lambda m, s, x: (m.linalg.cholesky(x) ** 2).sum(), S),
    (
        "cholesky-upper-lower-triangle",
        lambda m, s, x: (m.linalg.cholesky(x, upper=True, symmetrize_input=False) ** 2).sum(),
        S,
    ),
    ("inv", lambda m, s, x: (m.linalg.inv(x) ** 2).sum(), A),
    ("det-2x2", lambda m, s, x: m.linalg.det(x[:2, :2]), A),
    ("det-3x3", lambda m, s, x: m.linalg.det(x[:3, :3]), A),
    ("det-4x4", lambda m, s, x: m.linalg.det(x), A),
    ("det-1x1", lambda m, s, x: m.linalg.det(x[:1, :1]), A),
    ("slogdet", lambda m, s, x: m.linalg.slogdet(x)[1], -A),
    ("slogdet-2x2", lambda m, s, x: m.linalg.slogdet(x[:2, :2])[1], -A),
    ("slogdet-qr", lambda m, s, x: m.linalg.slogdet(x, method="qr")[1], A),
    ("solve", lambda m, s, x: (m.linalg.solve(x, RHS) ** 2).sum(), A),
    ("solve-vector", lambda m, s, x: (m.linalg.solve(x, VEC) ** 2).sum(), A),
    ("eigh", lambda m, s, x: _sum_cubes(m.linalg.eigh(x)), S),
    ("eigh-upper", lambda m, s, x: _sum_cubes(m.linalg.eigh(x, UPLO="U")), S),
    ("eigvalsh", lambda m, s, x: (m.linalg.eigvalsh(x) ** 2).sum(), S),
    ("qr-tall", lambda m, s, x: _sum_cubes(m.linalg.qr(x)), T),
    ("qr-complete", lambda m, s, x: _sum_cubes(m.linalg.qr(x, mode="complete")), T),
    ("qr-wide", lambda m, s, x: _sum_cubes(m.linalg.qr(x)), W),
    ("qr-r", lambda m, s, x: (m.linalg.qr(x, mode="r") ** 3).sum(), T),
    ("svd-tall", lambda m, s, x: _sum_cubes(m.linalg.svd(x, full_matrices=False)), T),
    ("svd-wide", lambda m, s, x: _sum_cubes(m.linalg.svd(x, full_matrices=False)), W),
    ("svd-square", lambda m, s, x: _sum_cubes(m.linalg.svd(x)), A),
    ("svd-hermitian", lambda m, s, x: _sum_cubes(m.linalg.svd(x + x.T, hermitian=True)), S),
    ("svdvals", lambda m, s, x: (m.linalg.svdvals(x) ** 2).sum(), T),
    ("pinv", lambda m, s, x: (m.linalg.pinv(x) ** 2).sum(), T),
    ("pinv-wide", lambda m, s, x: (m.linalg.pinv(x) ** 2).sum(), W),
    ("pinv-hermitian", lambda m, s, x: (m.linalg.pinv(x, hermitian=True) ** 2).sum(), S),
    ("lstsq", lambda m, s, x: (m.linalg.lstsq(x, np.arange(5.0))[0] ** 2).sum(), T),
    ("matrix_power", lambda m, s, x: m.linalg.matrix_power(x / 4, 6).sum(), A),
    ("matrix_power-neg", lambda m, s, x: m.linalg.matrix_power(x, -3).sum(), A),
    ("norm-nuc", lambda m, s, x: m.linalg.norm(x, "nuc"), T),
    ("norm-2", lambda m, s, x: m.linalg.norm(x, 2), T),
    ("norm-minus-2", lambda m, s, x: m.linalg.norm(x, -2), T),
    ("norm-1", lambda m, s, x: m.linalg.norm(x, 1), T),
    ("norm-inf", lambda m, s, x: m.linalg.norm(x, np.inf), T),
    ("norm-fro", lambda m, s, x: m.linalg.norm(x, "fro"), T),
    ("norm-vector-3", lambda m, s, x: m.linalg.norm(x, 3, axis=0).sum(), T),
    ("norm-vector-0", lambda m, s, x: m.linalg.norm(x, 0, axis=1).sum(), T),
    ("vector_norm", lambda m, s, x: m.linalg.vector_norm(x, ord=1.5), T),
    ("matrix_norm", lambda m, s, x: m.linalg.matrix_norm(x, ord=-np.inf), T),
    ("cond", lambda m, s, x: m.linalg.cond(x), A),
    ("cond-inf", lambda m, s, x: m.linalg.cond(x, np.inf), A),
    ("tensorinv", lambda m, s, x: m.linalg.tensorinv(x.reshape(4, 2, 2), ind=1).sum(), A),
    (
        "tensorsolve",
        lambda m, s, x: m.linalg.tensorsolve(x.reshape(2, 2, 4), x[0].reshape(2, 2)).sum(),
        A,
    ),  # noqa: E501
    ("multi_dot", lambda m, s, x: m.linalg.multi_dot([x[0], x, x, x[:, :2]]).sum(), A),
    ("cross", lambda m, s, x: m.linalg.cross(x[:, :3], x[:, 1:]).sum(), A),
    ("outer", lambda m, s, x: (m.linalg.outer(x[0], x[1]) ** 2).sum(), A),
    ("vecdot", lambda m, s, x: m.linalg.vecdot(x, x[0]).sum(), A),
    ("diagonal", lambda m, s, x: (m.linalg.diagonal(x, offset=-1) ** 2).sum(), A),
    ("trace", lambda m, s, x: m.linalg.trace(x, offset=1), A),
    ("sp-cholesky", lambda m, s, x: (s.cholesky(x) ** 2).sum(), S),
    ("sp-cholesky-lower", lambda m, s, x: (s.cholesky(x, lower=True) ** 2).sum(), S),
    ("sp-cho_solve", lambda m, s, x: (s.cho_solve(s.cho_factor(x), RHS) ** 2).sum(), S),
    (
        "sp-cho_solve-lower-vector",
        lambda m, s, x: (s.cho_solve(s.cho_factor(x, lower=True), VEC) ** 2).sum(),
        S,
    ),
    ("sp-lu_factor", lambda m, s, x: (s.lu_factor(x)[0] ** 2).sum(), A),
    ("sp-lu_solve", lambda m, s, x: (s.lu_solve(s.lu_factor(x), RHS) ** 2).sum(), A),
    ("sp-lu_solve-T", lambda m, s, x: (s.lu_solve(s.lu_factor(x), VEC, trans=1) ** 2).sum(), A),
    ("sp-lu_solve-batched", lambda m, s, x: (s.lu_solve(s.lu_factor(x), RHS) ** 2).sum(), AB),
    ("sp-lu-tall", lambda m, s, x: _sum_cubes(s.lu(x)), T),
    ("sp-lu-wide", lambda m, s, x: _sum_cubes(s.lu(x)), W),
    ("sp-lu-permute_l", lambda m, s, x: _sum_cubes(s.lu(x, permute_l=True)), A),
    ("sp-solve_triangular", lambda m, s, x: (s.solve_triangular(x, RHS) ** 2).sum(), A),
    (
        "sp-solve_triangular-lower-T-unit",
        lambda m, s, x: (
            s.solve_triangular(x, VEC, trans="T", lower=True, unit_diagonal=True) ** 2
        ).sum(),
        A,
    ),
    (
        "sp-solve_triangular-batched",
        lambda m, s, x: (s.solve_triangular(x, RHS, trans=1) ** 2).sum(),
        AB,
    ),
    ("sp-solve-pos", lambda m, s, x: (s.solve(x, RHS, assume_a="pos") ** 2).sum(), S),
    (
        "sp-solve-pos-lower-vector",
        lambda m, s, x: (s.solve(x, VEC, assume_a="pos", lower=True) ** 2).sum(),
        S,
    ),
    ("sp-solve-sym", lambda m, s, x: (s.solve(x, VEC, assume_a="sym") ** 2).sum(), A),
    ("sp-expm", lambda m, s, x: (s.expm(x / 3) ** 2).sum(), A),
    ("sp-expm-squarings", lambda m, s, x: s.expm(2 * x).sum(), A),
    ("sp-expm-tiny", lambda m, s, x: (s.expm(x / 300) ** 2).sum(), A),
    ("sp-expm-batched", lambda m, s, x: (s.expm(x / 4) ** 2).sum(), AB),
    (
        "sp-expm_frechet",
        lambda m, s, x: (s.expm_frechet(x / 3, RHS[:, :1] * VEC, compute_expm=False) ** 2).sum(),
        A,
    ),
    ("sp-block_diag", lambda m, s, x: (s.block_diag(x, x[:2, :3], 2.0, x[0]) ** 2).sum(), A),
    ("sp-eigh", lambda m, s, x: _sum_cubes(s.eigh(x)), S),
    ("sp-eigh-values", lambda m, s, x: (s.eigh(x, eigvals_only=True) ** 3).sum(), S),
    ("sp-svd", lambda m, s, x: _sum_cubes(s.svd(x, full_matrices=False)), T),
    ("sp-qr", lambda m, s, x: _sum_cubes(s.qr(x)), T),
    ("sp-qr-economic", lambda m, s, x: _sum_cubes(s.qr(x, mode="economic")), T),
    ("sp-qr-r", lambda m, s, x: _sum_cubes(s.qr(x, mode="r")), T),
    ("sp-det", lambda m, s, x: s.det(x), A),
    ("sp-inv", lambda m, s, x: s.inv(x).sum(), A),
]


@pytest.mark.parametrize("name,f,x", JAX_CASES, ids=[c[0] for c in JAX_CASES])
def test_value_and_grad_match_jax(name, f, x, dtype, real):
    import jax.scipy.linalg as jsl

    x = x.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        got = pb.value_and_grad(lambda x: f(pnp, psl, x))(x)
        want = real.value_and_grad(lambda x: f(real.numpy, jsl, x))(x)
    _close(got[0], want[0], _tol(dtype), f"{name} value")
    _close(got[1], want[1], _tol(dtype), f"{name} gradient")
    assert got[0].weak_type == want[0].weak_type


OUTPUT_CASES = [
    ("cholesky", lambda m, s: m.linalg.cholesky(SB)),
    ("inv", lambda m, s: m.linalg.inv(AB)),
    ("det", lambda m, s: m.linalg.det(AB)),
    ("det-int", lambda m, s: m.linalg.det(np.eye(3, dtype=np.int32))),
    ("slogdet", lambda m, s: m.linalg.slogdet(AB)),
    ("solve", lambda m, s: m.linalg.solve(AB, VEC)),
    ("solve-broadcast", lambda m, s: m.linalg.solve(A, np.stack([RHS, RHS]))),
    ("eigh", lambda m, s: m.linalg.eigh(SB)),
    ("eigvalsh", lambda m, s: m.linalg.eigvalsh(SB)),
    ("qr", lambda m, s: m.linalg.qr(T[None])),
    ("qr-complete", lambda m, s: m.linalg.qr(np.stack([T, T]), mode="complete")),
    ("svd", lambda m, s: m.linalg.svd(np.stack([W, W]), full_matrices=False)),
    ("svd-full", lambda m, s: m.linalg.svd(W)),
    (
        "svd-hermitian-values",
        lambda m, s: m.linalg.svd(SB + SB.mT, hermitian=True, compute_uv=False),
    ),  # noqa: E501
    ("pinv", lambda m, s: m.linalg.pinv(np.stack([T, T]), rtol=1e-3)),
    ("matrix_rank", lambda m, s: m.linalg.matrix_rank(np.stack([T @ T.T, np.eye(5)]))),
    ("matrix_rank-vector", lambda m, s: m.linalg.matrix_rank(VEC)),
    ("matrix_power-int", lambda m, s: m.linalg.matrix_power(np.array([[1, 1], [0, 1]]), 7)),
    ("matrix_power-zero", lambda m, s: m.linalg.matrix_power(AB, 0)),
    ("lstsq", lambda m, s: m.linalg.lstsq(T, np.stack([np.arange(5.0)] * 2, 1))),
    ("lstsq-rcond", lambda m, s: m.linalg.lstsq(T, np.arange(5.0), rcond=0.5)),
    ("lstsq-numpy-resid", lambda m, s: m.linalg.lstsq(W, np.arange(3.0), numpy_resid=True)),
    ("norm-int", lambda m, s: m.linalg.norm(np.arange(6).reshape(2, 3), axis=1)),
    ("norm-none-keepdims", lambda m, s: m.linalg.norm(AB, keepdims=True)),
    ("cross-int", lambda m, s: m.linalg.cross(np.arange(6).reshape(2, 3), np.ones(3, np.int32))),
    (
        "cross-axis",
        lambda m, s: m.linalg.cross(np.arange(6.0).reshape(3, 2), np.ones((3, 1)), axis=0),
    ),  # noqa: E501
    ("outer", lambda m, s: m.linalg.outer(np.arange(3), np.arange(2.0))),
    ("diagonal", lambda m, s: m.linalg.diagonal(AB, offset=2)),
    ("matrix_transpose", lambda m, s: m.linalg.matrix_transpose(AB)),
    ("tensordot", lambda m, s: m.linalg.tensordot(AB, A, axes=1)),
    ("sp-lu", lambda m, s: s.lu(A)),
    ("sp-lu_factor", lambda m, s: s.lu_factor(AB)),
    ("sp-cho_factor", lambda m, s: s.cho_factor(SB)),
    ("sp-block_diag-empty", lambda m, s: s.block_diag()),
    ("sp-block_diag-int", lambda m, s: s.block_diag(np.ones((2, 2), np.int32), 3)),
    ("sp-eigh-lower", lambda m, s: s.eigh(SB, lower=False)),
    ("sp-svd-values", lambda m, s: s.svd(W, compute_uv=False)),
    ("sp-expm-batched", lambda m, s: s.expm(AB / 4)),
]


@pytest.mark.parametrize("name,f", OUTPUT_CASES, ids=[c[0] for c in OUTPUT_CASES])
def test_outputs_match_jax(name, f, dtype, real):
    import jax.scipy.linalg as jsl

    got, want = f(pnp, psl), f(real.numpy, jsl)
    if isinstance(want, tuple):
        assert type(got).__name__ == type(want).__name__
    got_leaves = pb.tree_util.tree_leaves(got)
    want_leaves = real.tree_util.tree_leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves, strict=True):
        if isinstance(w, bool):
            assert g is w
            continue
        if "eigh" in name and np.ndim(w) >= 2:
            # eigenvectors: JAX's LAPACK may pick the other sign of a column
            g, w = _column_signs_fixed(g), _column_signs_fixed(w)
        _close(g, w, _tol(dtype), name)


def _column_signs_fixed(v):
    """``v`` with each column multiplied by the sign of its largest entry."""
    v = np.asarray(v)
    big = np.take_along_axis(v, np.argmax(np.abs(v), axis=-2)[..., None, :], axis=-2)
    return v * np.sign(big)


def test_printed_like_jax(real):
    import jax.scipy.linalg as jsl

    a = np.array([[4.0, 2.0], [2.0, 5.0]], np.float32)
    for got, want in [
        (pnp.linalg.slogdet(-a), real.numpy.linalg.slogdet(-a)),
        (pnp.linalg.cholesky(a), real.numpy.linalg.cholesky(a)),
        (pnp.linalg.det(a), real.numpy.linalg.det(a)),
        (psl.cho_factor(a), jsl.cho_factor(a)),
        (psl.lu_factor(a), jsl.lu_factor(a)),
        (pnp.linalg.eigvalsh(np.eye(2)), real.numpy.linalg.eigvalsh(np.eye(2))),
    ]:
        assert repr(got) == repr(want)


# -- against JAX: compositions ---------------------------------------------------------------------

F32 = np.float32
TRANSFORM_CASES = [
    ("det", lambda m, s, x: m.linalg.det(x), AB),
    ("slogdet", lambda m, s, x: m.linalg.slogdet(x)[1], AB),
    ("inv", lambda m, s, x: (m.linalg.inv(x) ** 2).sum(), AB),
    ("cholesky", lambda m, s, x: (m.linalg.cholesky(x) ** 2).sum(), SB),
    ("eigh", lambda m, s, x: (m.linalg.eigh(x)[1] ** 3).sum(), SB),
    ("eigvalsh", lambda m, s, x: (m.linalg.eigvalsh(x) ** 2).sum(), SB),
    ("svd", lambda m, s, x: _sum_cubes(m.linalg.svd(x, full_matrices=False)), np.stack([T] * 3)),
    ("qr", lambda m, s, x: _sum_cubes(m.linalg.qr(x)), np.stack([T, 2 * T, -T])),
    ("pinv", lambda m, s, x: (m.linalg.pinv(x) ** 2).sum(), np.stack([W] * 3)),
    ("norm-2", lambda m, s, x: m.linalg.norm(x, 2), np.stack([T] * 3)),
    ("solve", lambda m, s, x: (m.linalg.solve(x, x[0]) ** 2).sum(), AB),
    ("lu_solve", lambda m, s, x: (s.lu_solve(s.lu_factor(x), x[:, 0]) ** 2).sum(), AB),
    ("expm", lambda m, s, x: (s.expm(x / 4) ** 2).sum(), AB),
    ("cho_solve", lambda m, s, x: (s.cho_solve(s.cho_factor(x), x[:, 1]) ** 2).sum(), SB),
    (
        "solve_triangular",
        lambda m, s, x: (s.solve_triangular(x, x[1], lower=True) ** 2).sum(),
        AB,
    ),
]

_COMPOSITIONS = {
    "vmap_grad": (lambda j, f, x: j.vmap(j.grad(f))(x)),
    "jit_vmap_grad": (lambda j, f, x: j.jit(j.vmap(j.grad(f)))(x)),
    "grad_vmap": (lambda j, f, x: j.grad(lambda x: j.vmap(f)(x).sum())(x)),
    "jvp_vmap": (lambda j, f, x: j.jvp(j.vmap(f), (x,), (x * F32(0.1),))[1]),
    "hessian": (lambda j, f, x: j.hessian(f)(x[0])),
    "jacfwd_jacrev": (lambda j, f, x: j.jacfwd(j.jacrev(f))(x[0])),
}


@pytest.mark.parametrize("composition", sorted(_COMPOSITIONS))
@pytest.mark.parametrize("name,f,x", TRANSFORM_CASES, ids=[c[0] for c in TRANSFORM_CASES])
def test_compositions_match_jax(name, f, x, composition, real):
    import jax.scipy.linalg as jsl

    run = _COMPOSITIONS[composition]
    x = x.astype(F32)
    got = run(pb, lambda x: f(pnp, psl, x), x)
    want = run(real, lambda x: f(real.numpy, jsl, x), x)
    second = composition in ("hessian", "jacfwd_jacrev")
    _close(got, want, 3e-3 if second else 3e-4, f"{name} {composition}")


@pytest.mark.parametrize("name,f,x", TRANSFORM_CASES, ids=[c[0] for c in TRANSFORM_CASES])
def test_staged_programs_type_check(name, f, x):
    x = x.astype(F32)

    def loss(x):
        return f(pnp, psl, x)

    for fn, arg in ((loss, x[0]), (pb.grad(loss), x[0]), (pb.vmap(pb.grad(loss)), x)):
        check_jaxpr(pb.make_jaxpr(fn)(arg))
    _close(pb.jit(pb.grad(loss))(x[0]), pb.grad(loss)(x[0]), 1e-5, name)
    _close(pb.jit(pb.vmap(loss))(x), pb.vmap(loss)(x), 1e-5, name)


# -- central differences, both modes, to second order ----------------------------------------------


def _sym(x):
    return x + x.T


GRAD_CASES = [
    ("cholesky", lambda x: pnp.linalg.cholesky(x), S),
    ("cholesky-upper", lambda x: pnp.linalg.cholesky(x, upper=True), S),
    ("inv", lambda x: pnp.linalg.inv(x), A),
    ("det-4x4", lambda x: pnp.linalg.det(x), A),
    ("det-3x3", lambda x: pnp.linalg.det(x[:3, :3]), A),
    ("slogdet", lambda x: pnp.linalg.slogdet(x)[1], A),
    ("slogdet-qr", lambda x: pnp.linalg.slogdet(x, method="qr")[1], A),
    ("solve", lambda x: pnp.linalg.solve(x, RHS), A),
    ("solve-rhs", lambda x: pnp.linalg.solve(A, x), RHS),
    ("eigh", lambda x: tuple(pnp.linalg.eigh(x)), S),
    ("eigvalsh", lambda x: pnp.linalg.eigvalsh(x), S),
    ("qr", lambda x: tuple(pnp.linalg.qr(x)), T),
    ("qr-complete", lambda x: tuple(pnp.linalg.qr(x, mode="complete")), T),
    ("qr-wide", lambda x: tuple(pnp.linalg.qr(x)), W),
    ("svd", lambda x: tuple(pnp.linalg.svd(x, full_matrices=False)), T),
    ("svd-wide", lambda x: tuple(pnp.linalg.svd(x, full_matrices=False)), W),
    ("svdvals", lambda x: pnp.linalg.svdvals(x), W),
    ("pinv", lambda x: pnp.linalg.pinv(x), T),
    ("lstsq", lambda x: pnp.linalg.lstsq(x, np.arange(5.0))[0], T),
    ("matrix_power", lambda x: pnp.linalg.matrix_power(x, -2), A),
    ("norm-nuc", lambda x: pnp.linalg.norm(x, "nuc"), T),
    ("norm-2", lambda x: pnp.linalg.norm(x, 2), T),
    ("norm-vector-3", lambda x: pnp.linalg.norm(x, 3, axis=1), T),
    ("sp-cholesky", lambda x: psl.cholesky(_sym(x)), S),
    ("sp-cho_solve", lambda x: psl.cho_solve(psl.cho_factor(_sym(x)), RHS), S),
    ("sp-lu", lambda x: psl.lu(x), A),
    ("sp-lu-tall", lambda x: psl.lu(x), T),
    ("sp-lu_solve", lambda x: psl.lu_solve(psl.lu_factor(x), RHS, trans=1), A),
    ("sp-solve_triangular", lambda x: psl.solve_triangular(np.triu(A), x), RHS),
    ("sp-solve-pos", lambda x: psl.solve(_sym(x), RHS, assume_a="pos"), S),
    ("sp-expm", lambda x: psl.expm(x / 3), A),
    ("sp-expm-squarings", lambda x: psl.expm(2 * x), A),
]


@pytest.mark.parametrize("name,f,x", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_central_differences_to_second_order(name, f, x):
    check_grads(f, (x,), order=2, modes=("fwd", "rev"), atol=1e-5, rtol=1e-5, eps=1e-5)


# -- leading batch dimensions ------------------------------------------------------------------


BATCH_CASES = [
    ("cholesky", lambda x: pnp.linalg.cholesky(x), SB),
    ("inv", lambda x: pnp.linalg.inv(x), AB),
    ("det", lambda x: pnp.linalg.det(x), AB),
    ("slogdet", lambda x: pnp.linalg.slogdet(x), AB),
    ("eigh", lambda x: pnp.linalg.eigh(x), SB),
    ("qr", lambda x: pnp.linalg.qr(x), AB[:, :, :3]),
    ("svd", lambda x: pnp.linalg.svd(x, full_matrices=False), AB[:, :3]),
    ("pinv", lambda x: pnp.linalg.pinv(x), AB[:, :, :3]),
    ("norm-2", lambda x: pnp.linalg.norm(x, 2, axis=(-2, -1)), AB),
    ("matrix_power", lambda x: pnp.linalg.matrix_power(x, 5), AB / 4),
    ("sp-lu_factor", lambda x: psl.lu_factor(x), AB),
    ("sp-expm", lambda x: psl.expm(x / 4), AB),
    ("sp-solve_triangular", lambda x: psl.solve_triangular(x, RHS, lower=True), AB),
]


@pytest.mark.parametrize("name,f,x", BATCH_CASES, ids=[c[0] for c in BATCH_CASES])
def test_leading_batch_dimensions_are_a_loop_and_a_vmap(name, f, x):
    stacked = np.stack([x, x[::-1]])  # batch dimensions (2, 3)
    got = pb.tree_util.tree_leaves(f(stacked))
    loop = [pb.tree_util.tree_leaves(f(stacked[i, j])) for i in range(2) for j in range(3)]
    mapped = pb.tree_util.tree_leaves(pb.vmap(pb.vmap(f))(stacked))
    for k, g in enumerate(got):
        want = np.stack([np.asarray(leaves[k]) for leaves in loop]).reshape(g.shape)
        np.testing.assert_allclose(np.asarray(g), want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(mapped[k]), want, rtol=1e-5, atol=1e-5)


def test_vmap_with_unbatched_operands():
    b = np.stack([RHS, 2 * RHS]).astype(F32)
    got = pb.vmap(pnp.linalg.solve, in_axes=(None, 0))(A.astype(F32), b)
    np.testing.assert_allclose(np.asarray(got), np.linalg.solve(A, b), rtol=1e-5)
    got = pb.vmap(psl.solve_triangular, in_axes=(0, None))(AB.astype(F32), RHS.astype(F32))
    want = np.stack([np.linalg.solve(np.triu(m), RHS) for m in AB])
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4)
    got = pb.vmap(lambda v: pnp.linalg.solve(AB.astype(F32), v), in_axes=1)(RHS.astype(F32))
    np.testing.assert_allclose(
        np.asarray(got), np.linalg.solve(AB, RHS.T[:, None, :, None])[..., 0], rtol=1e-5
    )  # noqa: E501


# -- degenerate inputs, as JAX has them --------------------------------------------------------


DEGENERATE_CASES = [
    ("cholesky-not-pd", lambda m, j: m.linalg.cholesky(-np.eye(3, dtype=F32))),
    ("solve-singular", lambda m, j: m.linalg.solve(np.zeros((3, 3), F32), np.ones(3, F32))),
    ("inv-singular", lambda m, j: m.linalg.inv(np.zeros((4, 4), F32))),
    ("det-singular", lambda m, j: m.linalg.det(np.zeros((4, 4), F32))),
    ("slogdet-singular", lambda m, j: m.linalg.slogdet(np.zeros((4, 4), F32))),
    (
        "det-gradient-singular",
        lambda m, j: j.grad(m.linalg.det)(
            np.array([[1, 2, 3, 4], [2, 4, 6, 8], [1, 0, 1, 0], [0, 1, 0, 1]], F32)
        ),
    ),
    (
        "eigvalsh-gradient-repeated",
        lambda m, j: j.grad(lambda x: (m.linalg.eigvalsh(x) ** 2).sum())(np.eye(3, dtype=F32)),
    ),
    (
        "eigh-eigenvalues-only-repeated",
        lambda m, j: j.grad(lambda x: m.linalg.eigh(x)[0].sum())(np.eye(3, dtype=F32)),
    ),
    (
        "eigh-eigenvectors-repeated",
        lambda m, j: j.grad(lambda x: m.linalg.eigh(x)[1].sum())(np.eye(3, dtype=F32)),
    ),
    (
        "svd-values-only-repeated",
        lambda m, j: j.grad(lambda x: m.linalg.svd(x)[1].sum())(np.eye(3, dtype=F32)),
    ),
    (
        "svd-vectors-repeated",
        lambda m, j: j.grad(lambda x: m.linalg.svd(x)[0].sum())(np.eye(3, dtype=F32)),
    ),
    (
        "pinv-gradient-identity",
        lambda m, j: j.grad(lambda x: m.linalg.pinv(x).sum())(np.eye(3, dtype=F32)),
    ),
    (
        "lstsq-gradient-rank-deficient",
        lambda m, j: j.grad(lambda x: m.linalg.lstsq(x, np.ones(3, F32))[0].sum())(
            np.ones((3, 3), F32)
        ),
    ),
    ("norm-gradient-zero", lambda m, j: j.grad(m.linalg.norm)(np.zeros(3, F32))),
    (
        "norm-2-gradient-zero-matrix",
        lambda m, j: j.grad(lambda x: m.linalg.norm(x, 2))(np.zeros((2, 2), F32)),
    ),
]


@pytest.mark.parametrize("name,f", DEGENERATE_CASES, ids=[c[0] for c in DEGENERATE_CASES])
def test_degenerate_cases_match_jax(name, f, real):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = pb.tree_util.tree_leaves(f(pnp, pb))
    want = real.tree_util.tree_leaves(f(real.numpy, real))
    for g, w in zip(got, want, strict=True):
        g, w = np.asarray(g), np.asarray(w)
        np.testing.assert_array_equal(np.isfinite(g), np.isfinite(w), err_msg=name)
        if "singular" not in name or "gradient" in name:
            # (which non-finite value a singular solve gives depends on the order LAPACK and
            # XLA substitute in; both give non-finite values at the same places)
            np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg=name)
            np.testing.assert_array_equal(np.isposinf(g), np.isposinf(w), err_msg=name)
        finite = np.isfinite(w)
        np.testing.assert_allclose(g[finite], w[finite], rtol=1e-5, atol=1e-6, err_msg=name)


def test_degenerate_cases_without_jax():
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        factor = np.asarray(pnp.linalg.cholesky(-np.eye(3)))
        assert (
            np.isnan(factor[np.tril_indices(3)]).all()
            and (factor[np.triu_indices(3, 1)] == 0).all()
        )
        assert not np.isfinite(np.asarray(pnp.linalg.solve(np.zeros((3, 3)), np.ones(3)))).any()
        assert float(pnp.linalg.det(np.zeros((4, 4)))) == 0.0
        g = pb.grad(lambda x: pnp.linalg.eigvalsh(x).sum())(np.eye(3))
        np.testing.assert_allclose(np.asarray(g), np.eye(3), atol=1e-6)
        assert np.isnan(np.asarray(pb.grad(lambda x: pnp.linalg.eigh(x)[1].sum())(np.eye(3)))).any()


# -- errors ------------------------------------------------------------------------------------

_M23 = np.ones((2, 3), F32)
_V3 = np.ones(3, F32)
_I3 = np.eye(3, dtype=F32)

ERROR_CASES = [
    # (id, call(numpy module, scipy.linalg module), exception type, leading sentence)
    ("cholesky-non-square", lambda m, s: m.linalg.cholesky(_M23), TypeError,
     "add got incompatible shapes for broadcasting: (2, 3), (3, 2)."),
    ("cholesky-vector", lambda m, s: m.linalg.cholesky(_V3), TypeError,
     "transpose permutation isn't a permutation of operand dimensions"),
    ("eigh-non-square", lambda m, s: m.linalg.eigh(_M23), TypeError,
     "add got incompatible shapes for broadcasting"),
    ("eigvalsh-vector", lambda m, s: m.linalg.eigvalsh(_V3), TypeError,
     "transpose permutation isn't a permutation"),
    ("eigh-uplo", lambda m, s: m.linalg.eigh(_I3, UPLO="X"), ValueError,
     "UPLO must be one of None, 'L', or 'U', got X"),
    ("inv-non-square", lambda m, s: m.linalg.inv(_M23), ValueError,
     "Argument to inv must have shape [..., n, n], got (2, 3)."),
    ("det-vector", lambda m, s: m.linalg.det(_V3), ValueError,
     "Argument to _det() must have shape [..., n, n], got (3,)"),
    ("slogdet-non-square", lambda m, s: m.linalg.slogdet(_M23), ValueError,
     "Argument to slogdet() must have shape [..., n, n], got (2, 3)"),
    ("slogdet-method", lambda m, s: m.linalg.slogdet(_I3, method="x"), ValueError,
     "Unknown slogdet method 'x'."),
    ("qr-vector", lambda m, s: m.linalg.qr(_V3), TypeError,
     "Input 0 to qr must have rank at least 2, but got shape=(3,)"),
    ("qr-mode", lambda m, s: m.linalg.qr(_I3, mode="x"), ValueError,
     "Unsupported QR decomposition mode 'x'"),
    ("svd-vector", lambda m, s: m.linalg.svd(_V3), TypeError,
     "Input 0 to svd must have rank at least 2, but got shape=(3,)"),
    ("matrix_power-non-square", lambda m, s: m.linalg.matrix_power(_M23, 2), TypeError,
     "Last 2 dimensions of the array must be square"),
    ("matrix_power-vector", lambda m, s: m.linalg.matrix_power(_V3, 2), TypeError,
     "1-dimensional array given. Array must be at least two-dimensional"),
    ("matrix_power-exponent", lambda m, s: m.linalg.matrix_power(_I3, 1.5), TypeError,
     "exponent must be an integer, got 1.5"),
    ("solve-vector-a", lambda m, s: m.linalg.solve(_V3, _V3), ValueError,
     "left hand array must be at least two dimensional; got a.shape=(3,)"),
    ("solve-non-square", lambda m, s: m.linalg.solve(_M23, _V3[:2]), ValueError,
     "inconsistent size for core dimension 'm': 3 vs 2"),
    ("solve-mismatch", lambda m, s: m.linalg.solve(_I3, np.ones((2, 2), F32)), ValueError,
     "inconsistent size for core dimension 'm': 2 vs 3"),
    ("solve-batched-vectors", lambda m, s: m.linalg.solve(np.ones((2, 3, 3)), np.ones((2, 3))),
     ValueError, "Invalid shapes for solve: (2, 3, 3), (2, 3)."),
    ("solve-batch-broadcast", lambda m, s: m.linalg.solve(np.ones((2, 3, 3)), np.ones((4, 3, 1))),
     ValueError, "Incompatible shapes for broadcasting"),
    ("norm-matrix-ord", lambda m, s: m.linalg.norm(_I3, ord=3), ValueError,
     "Invalid order '3' for matrix norm."),
    ("norm-vector-ord", lambda m, s: m.linalg.norm(_V3, ord="fro"), ValueError,
     "Invalid order 'fro' for vector norm."),
    ("norm-axes", lambda m, s: m.linalg.norm(np.ones((2, 2, 2)), axis=(0, 1, 2)), ValueError,
     "Improper number of axes for norm: axis=(0, 1, 2)."),
    ("norm-axis", lambda m, s: m.linalg.norm(_I3, axis=(0, 2)), ValueError,
     "axis 2 is out of bounds for array of dimension 2"),
    ("cross", lambda m, s: m.linalg.cross(_V3[:2], _V3[:2]), ValueError,
     "Both input arrays must be (arrays of) 3-dimensional vectors"),
    ("outer", lambda m, s: m.linalg.outer(_I3, _V3), ValueError,
     "Input arrays must be one-dimensional, but they are x1.ndim=2 x2.ndim=1"),
    ("multi_dot-shapes", lambda m, s: m.linalg.multi_dot([_I3, np.ones((2, 3))]), ValueError,
     "multi_dot: last dimension of each array must match first dimension of following array."),
    ("multi_dot-ndim", lambda m, s: m.linalg.multi_dot([_I3, np.ones((3, 3, 3))]), ValueError,
     "multi_dot: input arrays must all be two-dimensional"),
    ("tensorinv", lambda m, s: m.linalg.tensorinv(np.ones((2, 3, 4))), ValueError,
     "tensorinv is only possible when the product of the first `ind` dimensions equals"),
    ("tensorsolve", lambda m, s: m.linalg.tensorsolve(np.ones((2, 3, 4)), np.ones(3)),
     ValueError, "After moving axes to end, leading shape of a must match shape of b."),
    ("lstsq-ndim", lambda m, s: m.linalg.lstsq(np.ones((2, 3, 3)), np.ones(2)), TypeError,
     "3-dimensional array given. Array must be two-dimensional"),
    ("lstsq-rows", lambda m, s: m.linalg.lstsq(_I3, np.ones(2)), ValueError,
     "Leading dimensions of input arrays must match"),
    ("matrix_transpose", lambda m, s: m.linalg.matrix_transpose(_V3), ValueError,
     "matrix_transpose requires at least 2 dimensions; got ndim=1"),
    ("cond-vector", lambda m, s: m.linalg.cond(_V3), ValueError,
     "jnp.linalg.cond: input array must be at least 2D"),
    ("pinv-rtol-rcond", lambda m, s: m.linalg.pinv(_I3, 1e-3, rcond=1e-3), ValueError,
     "pinv: only one of rtol and rcond may be specified."),
    ("matrix_rank-tol", lambda m, s: m.linalg.matrix_rank(_I3, 1e-3, tol=1e-3), ValueError,
     "matrix_rank: only one of tol or rtol may be specified."),
    ("diagonal-vector", lambda m, s: m.linalg.diagonal(_V3), ValueError,
     "diagonal requires an array of at least two dimensions."),
    ("sp-solve_triangular-shapes", lambda m, s: s.solve_triangular(_I3, np.ones(2)), ValueError,
     "inconsistent size for core dimension 'n': 2 vs 3"),
    ("sp-solve_triangular-trans", lambda m, s: s.solve_triangular(_I3, _V3, trans=3),
     ValueError, "Invalid 'trans' value 3"),
    ("sp-cho_solve-shapes", lambda m, s: s.cho_solve((_I3, True), np.ones(2)), ValueError,
     "inconsistent size for core dimension 'n': 2 vs 3"),
    ("sp-lu-vector", lambda m, s: s.lu(_V3), TypeError,
     "Input 0 to lu must have rank at least 2, but got shape=(3,)"),
    ("sp-lu_factor-vector", lambda m, s: s.lu_factor(_V3), TypeError,
     "Input 0 to lu must have rank at least 2"),
    ("sp-lu_solve-shapes", lambda m, s: s.lu_solve(s.lu_factor(_I3), np.ones(2)), ValueError,
     "inconsistent size for core dimension 'n': 2 vs 3"),
    ("sp-expm-non-square", lambda m, s: s.expm(_M23), ValueError,
     "Expected A to be a (batched) square matrix, got A.shape=(2, 3)."),
    ("sp-expm_frechet-shapes", lambda m, s: s.expm_frechet(_I3, np.eye(2)), ValueError,
     "expected A and E to be the same shape"),
    ("sp-cholesky-non-square", lambda m, s: s.cholesky(_M23), ValueError,
     "The input to cholesky must be a square matrix. Got shape (3, 2)."),
    ("sp-eigh-b", lambda m, s: s.eigh(_I3, _I3), NotImplementedError,
     "Only the b=None case of eigh is implemented"),
    ("sp-solve-assume_a", lambda m, s: s.solve(_I3, _V3, assume_a="x"), ValueError,
     "Expected assume_a to be one of ['gen', 'sym', 'her', 'pos']; got 'x'"),
    ("sp-solve-pos-shapes", lambda m, s: s.solve(_I3, np.ones(2), assume_a="pos"), ValueError,
     "The arguments to solve must have shapes a=[..., m, m] and b=[..., m, k] or b=[..., m]"),
    ("sp-qr-mode", lambda m, s: s.qr(_I3, mode="x"), ValueError,
     "Unsupported QR decomposition mode 'x'"),
    ("sp-block_diag-ndim", lambda m, s: s.block_diag(np.ones((1, 1, 1))), ValueError,
     "Arguments to jax.scipy.linalg.block_diag must have at most 2 dimensions"),
]  # fmt: skip


@pytest.mark.parametrize("name,call,exc,message", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors(name, call, exc, message):
    with pytest.raises(exc, match=re.escape(message)):
        call(pnp, psl)


@pytest.mark.parametrize("name,call,exc,message", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_are_jaxs(name, call, exc, message, real):
    import jax.scipy.linalg as jsl

    with pytest.raises(exc, match=re.escape(message)):
        call(real.numpy, jsl)


def test_unsupported_features_say_so():
    with pytest.raises(NotImplementedError, match="eig is not supported"):
        pnp.linalg.eig(_I3)
    with pytest.raises(NotImplementedError, match="complex matrices are not supported"):
        pnp.linalg.inv(_I3.astype(np.complex64))
    with pytest.raises(NotImplementedError, match="mode='raw'"):
        pnp.linalg.qr(_I3, mode="raw")
    with pytest.raises(NotImplementedError, match="pivoting"):
        psl.qr(_I3, pivoting=True)
    with pytest.raises(NotImplementedError, match="not implemented for full matrices"):
        pb.grad(lambda x: pnp.linalg.svd(x)[0].sum())(_M23)


def test_batched_vector_solves_warn_as_jax():
    with pytest.warns(FutureWarning, match="batched 1D solves with b.ndim > 1 are deprecated"):
        out = psl.solve_triangular(np.stack([_I3, 2 * _I3]), np.ones((2, 3), F32))
    np.testing.assert_allclose(np.asarray(out), [[1, 1, 1], [0.5, 0.5, 0.5]])
    with pytest.warns(FutureWarning):
        psl.cho_solve((np.stack([_I3, _I3]), True), np.ones((2, 3), F32))
