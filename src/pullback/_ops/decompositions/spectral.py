"""The orthogonal decompositions: ``qr``, ``svd`` (and ``singular_values``), ``eigh`` (and
``eigvalsh``), with JAX's JVP rules beside their transposes (see the package docstring)."""

from __future__ import annotations

import numpy as np

from pullback._core import ShapedArray
from pullback._ops._base import primitive
from pullback._ops.creation import full
from pullback._ops.decompositions._common import (
    _T,
    _col,
    _columns,
    _each_matrix,
    _eye,
    _leading_batch,
    _nan,
    _quiet,
    _row,
    _rows,
    _swap,
    _sym,
    _unless_zero,
    diag_embed,
    diagonal,
    tril,
    triu,
)
from pullback._ops.decompositions.triangular import solve, triangular_solve
from pullback._ops.linalg import matmul
from pullback._ops.shape import concatenate

# -- qr ---------------------------------------------------------------------------------------


def _qr_impl(a, *, full_matrices):
    q, r = np.linalg.qr(a, mode="complete" if full_matrices else "reduced")
    return [q, r]


def _thin_qr_jvp(q, r, dx):
    dx_rinv = triangular_solve(r, dx)  # dx @ r^-1
    qt_dx_rinv = matmul(_T(q), dx_rinv)
    lower = tril(qt_dx_rinv, -1)
    do = lower - _T(lower)
    dq = matmul(q, do - qt_dx_rinv) + dx_rinv
    dr = matmul(qt_dx_rinv - do, r)
    return dq, dr


def _qr_complement(q, n):
    """What the derivative of the last ``m - n`` columns of a complete ``q`` needs (JAX's)."""
    q_mn, q_mp = _columns(q, 0, n), _columns(q, n, q.shape[-1])
    q_nn, q_pn = _rows(q_mn, 0, n), _rows(q_mn, n, q.shape[-2])
    z_pn_h = solve(_T(q_nn - _eye(n, q.dtype)), _T(q_pn))  # (q_nn - I)^-T q_pn^T
    return q_mn, q_mp, z_pn_h, _T(z_pn_h)


@_quiet
def _qr_jvp(tangents, ans, x, *, full_matrices):
    (dx,) = tangents
    q, r = ans
    m, n = x.shape[-2:]
    if m < n:
        dq, dr1 = _thin_qr_jvp(q, _columns(r, 0, m), _columns(dx, 0, m))
        dr2 = matmul(_T(dq), _columns(x, m, n)) + matmul(_T(q), _columns(dx, m, n))
        return [dq, concatenate([dr1, dr2], len(dr1.shape) - 1)]
    if not full_matrices or m == n:
        return list(_thin_qr_jvp(q, r, dx))
    q_mn, q_mp, z_pn_h, z_pn = _qr_complement(q, n)
    dq_mn, dr_nn = _thin_qr_jvp(q_mn, _rows(r, 0, n), dx)
    dq_nn, dq_pn = _rows(dq_mn, 0, n), _rows(dq_mn, n, m)
    w = q_mn + matmul(q_mp, z_pn)
    dq_mp = matmul(dq_mn, z_pn_h) - matmul(w, _T(dq_pn - matmul(z_pn, dq_nn)))
    nd = len(dq_mn.shape)
    zeros = full((*dr_nn.shape[:-2], m - n, n), 0, dr_nn.dtype)
    return [concatenate([dq_mn, dq_mp], nd - 1), concatenate([dr_nn, zeros], nd - 2)]


def _thin_qr_vjp(q, r, qbar, rbar):
    # the transpose of _thin_qr_jvp: (qbar + q copyltu(M)) r^-T, M = r rbar^T - qbar^T q
    mt = matmul(rbar, _T(r)) - matmul(_T(q), qbar)  # M^T
    c = triu(mt) + _T(triu(mt, 1))
    return triangular_solve(r, qbar + matmul(q, c), left_side=False, lower=False, transpose_a=True)


@_quiet
def _qr_vjp(cts, ans, x, *, full_matrices):
    qbar, rbar = cts
    q, r = ans
    m, n = x.shape[-2:]
    nd = len(x.shape)
    if m < n:
        rbar1, rbar2 = _columns(rbar, 0, m), _columns(rbar, m, n)
        qbar = qbar + matmul(_columns(x, m, n), _T(rbar2))
        g1 = _thin_qr_vjp(q, _columns(r, 0, m), qbar, rbar1)
        return concatenate([g1, matmul(q, rbar2)], nd - 1)
    if not full_matrices or m == n:
        return _thin_qr_vjp(q, r, qbar, rbar)
    q_mn, q_mp, z_pn_h, z_pn = _qr_complement(q, n)
    qbar_mn, qbar_mp = _columns(qbar, 0, n), _columns(qbar, n, m)
    w = q_mn + matmul(q_mp, z_pn)
    g = matmul(_T(qbar_mp), w)  # (m - n) x n
    et_g = concatenate([-matmul(z_pn_h, g), g], nd - 2)
    qbar_mn = qbar_mn + matmul(qbar_mp, z_pn) - et_g
    return _thin_qr_vjp(q_mn, _rows(r, 0, n), qbar_mn, _rows(rbar, 0, n))


def _qr_abstract(x, *, full_matrices):
    if len(x.shape) < 2:
        raise TypeError(f"Input 0 to qr must have rank at least 2, but got shape={x.shape}")
    *batch, m, n = x.shape
    k = m if full_matrices else min(m, n)
    return [
        ShapedArray((*batch, m, k), x.dtype, x.weak_type),
        ShapedArray((*batch, k, n), x.dtype, x.weak_type),
    ]


qr_p, _qr = primitive("qr", _qr_impl, vjp=(_qr_vjp,), multiple_results=True)
qr_p.abstract = _qr_abstract
qr_p.jvp = _qr_jvp
qr_p.batch = _leading_batch(qr_p)


def qr(x, full_matrices=False):
    """QR decomposition of each matrix in ``x``: ``[q, r]``, reduced (``q`` m x k, ``r`` k x n
    with k = min(m, n)) or complete (``q`` m x m)."""
    return _qr(x, full_matrices=bool(full_matrices))


# -- svd ----------------------------------------------------------------------------------------
# ``svd`` gives ``[u, s, vh]``; ``singular_values`` is the primitive without ``u`` and ``vh``
# (JAX's ``compute_uv=False``), whose derivative never meets the 1 / (s_j^2 - s_i^2) terms.


def _svd_impl(a, *, full_matrices):
    *batch, m, n = a.shape
    k = min(m, n)
    try:
        with np.errstate(all="ignore"):
            u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    except np.linalg.LinAlgError:  # no convergence: NaNs, as JAX gives
        ku, kv = (m, n) if full_matrices else (k, k)
        return [
            _nan((*batch, m, ku), a.dtype),
            _nan((*batch, k), a.dtype),
            _nan((*batch, kv, n), a.dtype),
        ]
    return [u, s, vh]


def _singular_values_impl(a):
    try:
        with np.errstate(all="ignore"):
            return np.linalg.svd(a, compute_uv=False)
    except np.linalg.LinAlgError:
        return _nan((*a.shape[:-2], min(a.shape[-2:])), a.dtype)


def _check_svd_derivative(x, full_matrices):
    m, n = x.shape[-2:]
    if full_matrices and m != n:
        raise NotImplementedError(
            "Singular value decomposition JVP not implemented for full matrices"
        )


def _svd_f(s):
    """``1 / (s_j^2 - s_i^2)`` off the diagonal, zero on it (infinite for repeated values)."""
    s_row, s_col = _row(s), _col(s)
    eye_k = _eye(s.shape[-1], s.dtype)
    return 1 / ((s_row + s_col) * (s_row - s_col) + eye_k) - eye_k


@_quiet
def _svd_jvp(tangents, ans, x, *, full_matrices):
    (da,) = tangents
    _check_svd_derivative(x, full_matrices)
    u, s, vh = ans
    v = _T(vh)
    ds_mat = matmul(matmul(_T(u), da), v)
    s_row, s_col = _row(s), _col(s)
    f = _svd_f(s)
    dss = s_row * ds_mat
    sds = s_col * ds_mat
    du = matmul(u, f * (dss + _T(dss)))
    dv = matmul(v, f * (sds + _T(sds)))
    m, n = x.shape[-2:]
    if m > n:
        dav = matmul(da, v)
        du = du + (dav - matmul(u, matmul(_T(u), dav))) / s_row
    if n > m:
        dahu = matmul(_T(da), u)
        dv = dv + (dahu - matmul(v, matmul(vh, dahu))) / s_row
    return [du, diagonal(ds_mat), _T(dv)]


@_quiet
def _svd_vjp(cts, ans, x, *, full_matrices):
    _check_svd_derivative(x, full_matrices)
    ubar, sbar, vhbar = cts
    u, s, vh = ans
    v, vbar = _T(vh), _T(vhbar)
    f = _svd_f(s)
    s_row, s_col = _row(s), _col(s)
    j = _unless_zero(ubar, f, matmul(_T(u), ubar))
    k = _unless_zero(vhbar, f, matmul(vh, vbar))
    core = diag_embed(sbar) + (j + _T(j)) * s_row + s_col * (k + _T(k))
    g = matmul(matmul(u, core), vh)
    m, n = x.shape[-2:]
    if m > n:
        g = g + matmul((ubar - matmul(u, matmul(_T(u), ubar))) / s_row, vh)
    if n > m:
        g = g + matmul(u, (vhbar - matmul(matmul(vhbar, v), vh)) / s_col)
    return g


def _svd_abstract(x, *, full_matrices):
    if len(x.shape) < 2:
        raise TypeError(f"Input 0 to svd must have rank at least 2, but got shape={x.shape}")
    *batch, m, n = x.shape
    k = min(m, n)
    w = x.weak_type
    ku, kv = (m, n) if full_matrices else (k, k)
    return [
        ShapedArray((*batch, m, ku), x.dtype, w),
        ShapedArray((*batch, k), x.dtype, w),
        ShapedArray((*batch, kv, n), x.dtype, w),
    ]


svd_p, _svd = primitive("svd", _svd_impl, vjp=(_svd_vjp,), multiple_results=True)
svd_p.abstract = _svd_abstract
svd_p.jvp = _svd_jvp
svd_p.batch = _leading_batch(svd_p)


@_quiet
def _singular_values_vjp(ct, ans, x):
    u, _, vh = _svd(x, full_matrices=False)
    return matmul(u * _row(ct), vh)


def _singular_values_abstract(x):
    if len(x.shape) < 2:
        raise TypeError(f"Input 0 to svd must have rank at least 2, but got shape={x.shape}")
    return ShapedArray((*x.shape[:-2], min(x.shape[-2:])), x.dtype, x.weak_type)


singular_values_p, _singular_values = primitive(
    "singular_values", _singular_values_impl, vjp=(_singular_values_vjp,)
)
singular_values_p.abstract = _singular_values_abstract
singular_values_p.batch = _leading_batch(singular_values_p)


def svd(x, full_matrices=True, compute_uv=True):
    """Singular value decomposition of each matrix in ``x``: ``[u, s, vh]`` (NumPy's order), or
    the singular values ``s`` alone without ``compute_uv``. Derivatives follow JAX's: not for
    ``full_matrices`` of a non-square matrix, infinite where singular values repeat (the
    ``1 / (s_j^2 - s_i^2)`` terms) unless only ``s`` is differentiated."""
    if not compute_uv:
        return _singular_values(x)
    return _svd(x, full_matrices=bool(full_matrices))


# -- eigh -------------------------------------------------------------------------------------
# ``eigh`` gives ``[w, v]``; ``eigvalsh`` is the primitive without ``v``.


def _eigh_impl(a, *, lower, symmetrize_input):
    if symmetrize_input:
        a = (a + _swap(a)) / a.dtype.type(2)
    uplo = "L" if lower else "U"
    try:
        with np.errstate(all="ignore"):
            w, v = np.linalg.eigh(a, UPLO=uplo)
    except np.linalg.LinAlgError:
        w, v = _each_matrix(
            lambda m: tuple(np.linalg.eigh(m, UPLO=uplo)),
            a,
            [_nan(a.shape[:-1], a.dtype), _nan(a.shape, a.dtype)],
        )
    return [w, v]


def _eigvalsh_impl(a, *, lower, symmetrize_input):
    # the eigenvalues computed with the eigenvectors, as JAX's eigvalsh (LAPACK's algorithm
    # without eigenvectors rounds differently)
    return _eigh_impl(a, lower=lower, symmetrize_input=symmetrize_input)[0]


def _eigh_f(w):
    """``1 / (w_j - w_i)`` off the diagonal, zero on it (infinite for repeated eigenvalues)."""
    eye_n = _eye(w.shape[-1], w.dtype)
    return 1 / (eye_n + _row(w) - _col(w)) - eye_n


@_quiet
def _eigh_jvp(tangents, ans, a, *, lower, symmetrize_input):
    (da,) = tangents
    if symmetrize_input:
        da = _sym(da)
    w, v = ans
    vt_da_v = matmul(matmul(_T(v), da), v)
    return [diagonal(vt_da_v), matmul(v, _eigh_f(w) * vt_da_v)]


@_quiet
def _eigh_vjp(cts, ans, a, *, lower, symmetrize_input):
    wbar, vbar = cts
    w, v = ans
    core = diag_embed(wbar) + _unless_zero(vbar, _eigh_f(w), matmul(_T(v), vbar))
    g = matmul(matmul(v, core), _T(v))
    return _sym(g) if symmetrize_input else g


def _check_eigh_shape(a):
    if len(a.shape) < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(
            "Argument to symmetric eigendecomposition must have shape [..., n, n], got shape "
            f"{a.shape}"
        )


def _eigh_abstract(a, *, lower, symmetrize_input):
    _check_eigh_shape(a)
    return [
        ShapedArray(a.shape[:-1], a.dtype, a.weak_type),
        ShapedArray(a.shape, a.dtype, a.weak_type),
    ]


eigh_p, _eigh = primitive("eigh", _eigh_impl, vjp=(_eigh_vjp,), multiple_results=True)
eigh_p.abstract = _eigh_abstract
eigh_p.jvp = _eigh_jvp
eigh_p.batch = _leading_batch(eigh_p)


@_quiet
def _eigvalsh_vjp(ct, ans, a, *, lower, symmetrize_input):
    _, v = _eigh(a, lower=lower, symmetrize_input=symmetrize_input)
    g = matmul(v * _row(ct), _T(v))
    return _sym(g) if symmetrize_input else g


def _eigvalsh_abstract(a, *, lower, symmetrize_input):
    _check_eigh_shape(a)
    return ShapedArray(a.shape[:-1], a.dtype, a.weak_type)


eigvalsh_p, _eigvalsh = primitive("eigvalsh", _eigvalsh_impl, vjp=(_eigvalsh_vjp,))
eigvalsh_p.abstract = _eigvalsh_abstract
eigvalsh_p.batch = _leading_batch(eigvalsh_p)


def eigh(a, lower=True, symmetrize_input=True, eigvals_only=False):
    """Eigenvalues (ascending) and eigenvectors of each symmetric matrix in ``a``: ``[w, v]``, or
    ``w`` alone with ``eigvals_only``. Only the ``lower`` (or upper) triangle is read, after
    ``(a + a^T) / 2`` when ``symmetrize_input``. The derivative of ``v`` has JAX's
    ``1 / (w_j - w_i)`` terms, infinite for repeated eigenvalues."""
    params = {"lower": bool(lower), "symmetrize_input": bool(symmetrize_input)}
    if eigvals_only:
        return _eigvalsh(a, **params)
    return _eigh(a, **params)
