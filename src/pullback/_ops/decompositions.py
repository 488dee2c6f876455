"""Matrix decompositions and solves: ``cholesky``, ``triangular_solve``, ``solve``, ``lu``,
``qr``, ``svd``, ``eigh`` and ``expm``.

Every impl runs NumPy's LAPACK-backed routines (or a short NumPy loop where NumPy has none: LU
with partial pivoting, triangular substitution) over any leading batch dimensions, and gives
NaNs or infinities where LAPACK reports a failure, as JAX does, instead of raising. The rules
are written in pullback's own operations, so they are differentiable again:

* ``cholesky``: Murray (2016), ``Sigma_bar = L^-T Phi(L^T L_bar) L^-1`` (``Phi`` keeps the lower
  triangle and halves the diagonal). ``triangular_solve`` and ``solve`` are linear in their
  right-hand side, and their forward mode is derived from the VJP rules by transposition.
* ``lu``, ``qr``, ``svd`` and ``eigh`` have several results, so their JVP rules are written out
  (JAX's) beside the VJP rules (their transposes). The terms ``1 / (w_j - w_i)`` of ``eigh`` and
  ``1 / (s_j^2 - s_i^2)`` of ``svd`` are infinite for repeated values, as in JAX; a result whose
  cotangent is zero throughout (an unused result) contributes zero, not ``0 * inf``.
* ``expm``: the Padé scaling-and-squaring of JAX (and SciPy); its derivative is the Fréchet
  derivative, read from the exponential of the block matrix ``[[A, E], [0, A]]``.

Parameters are canonical booleans and strings; ``pullback.numpy.linalg`` and
``pullback.scipy.linalg`` check shapes and normalise what users pass.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from pullback._core import ShapedArray
from pullback._ops._base import Linear, batch_at, batch_size, convert_element_type, primitive
from pullback._ops.creation import arange, eye, full
from pullback._ops.elementwise import absolute, equal, less_equal, where
from pullback._ops.linalg import einsum, matmul
from pullback._ops.reductions import reduce_and, reduce_max
from pullback._ops.shape import concatenate, pad, static_slice
from pullback._ops.structural import reduce_sum, reshape, stop_gradient, transpose

__all__ = [
    "cholesky",
    "eigh",
    "expm",
    "lu",
    "qr",
    "solve",
    "svd",
    "triangular_solve",
]

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


# -- NumPy helpers (impls only) ------------------------------------------------------------------


def _swap(x):
    return np.swapaxes(x, -1, -2)


def _each_matrix(fn, x, outs):
    """``fn`` on each matrix of the stack ``x``; ``outs`` are the result arrays to fill (their
    leading dimensions are ``x``'s), preset to what a failure leaves (NaN)."""
    batch = x.shape[:-2]
    for idx in np.ndindex(*batch):
        try:
            results = fn(x[idx])
        except np.linalg.LinAlgError:
            continue
        if not isinstance(results, tuple):
            results = (results,)
        for out, r in zip(outs, results, strict=True):
            out[idx] = r
    return outs


def _nan(shape, dtype):
    return np.full(shape, np.nan, dtype)


def _substitute(t, b, lower, unit=False):
    """``t^-1 b`` by substitution for triangular ``t`` (only its triangle is read), as LAPACK's
    ``trsm``: a zero on the diagonal gives infinities and NaNs, not an error."""
    m = t.shape[-1]
    x = np.zeros(np.broadcast_shapes(t.shape[:-2], b.shape[:-2]) + b.shape[-2:], b.dtype)
    rows = range(m) if lower else range(m - 1, -1, -1)
    with np.errstate(all="ignore"):
        for i in rows:
            known = slice(0, i) if lower else slice(i + 1, m)
            s = b[..., i, :] - np.einsum("...j,...jn->...n", t[..., i, known], x[..., known, :])
            x[..., i, :] = s if unit else s / t[..., i, i][..., None]
    return x


def _solve_triangular_raw(t, b, lower):
    """Solve with the triangle of ``t`` that ``lower`` names (the other triangle is zero)."""
    try:
        with np.errstate(all="ignore"):
            return np.linalg.solve(t, b)
    except np.linalg.LinAlgError:
        return _substitute(t, b, lower)


def _lu_raw(a):
    """LU with partial pivoting (LAPACK's ``getrf``: the first largest pivot): ``(lu, pivots,
    permutation)`` with ``a[permutation] = L @ U``; a zero pivot leaves its column unscaled."""
    *batch, m, n = a.shape
    k = min(m, n)
    count = math.prod(batch)
    flat = np.array(a, dtype=a.dtype).reshape(count, m, n)
    pivots = np.zeros((count, k), np.int32)
    perm = np.tile(np.arange(m, dtype=np.int32), (count, 1))
    rows = np.arange(count)
    with np.errstate(all="ignore"):
        for j in range(k):
            p = j + np.argmax(np.abs(flat[:, j:, j]), axis=1)
            pivots[:, j] = p
            top = flat[rows, j, :].copy()
            flat[rows, j, :] = flat[rows, p, :]
            flat[rows, p, :] = top
            pj = perm[rows, j].copy()
            perm[rows, j] = perm[rows, p]
            perm[rows, p] = pj
            d = flat[:, j, j]
            below = flat[:, j + 1 :, j]
            flat[:, j + 1 :, j] = np.where((d != 0)[:, None], below / d[:, None], below)
            flat[:, j + 1 :, j + 1 :] -= flat[:, j + 1 :, j, None] * flat[:, j, None, j + 1 :]
    return (
        flat.reshape(a.shape),
        pivots.reshape((*batch, k)),
        perm.reshape((*batch, m)),
    )


def _lu_solve_raw(lu, perm, b):
    pb = np.take_along_axis(b, perm[..., None].astype(np.intp), axis=-2)
    y = _substitute(lu, pb, lower=True, unit=True)
    return _substitute(lu, y, lower=False)


# -- operations on pullback values (rules) -------------------------------------------------------


def _T(x):
    n = len(x.shape)
    return transpose(x, (*range(n - 2), n - 1, n - 2))


def _tri_mask(n, m, k):
    """``True`` on and below diagonal ``k`` of an ``n`` by ``m`` matrix."""
    i = reshape(arange(0, n, 1, np.int32), (n, 1))
    j = reshape(arange(0, m, 1, np.int32), (1, m))
    return less_equal(j - i, k)


def tril(x, k=0):
    """``x`` with the entries above diagonal ``k`` of its last two axes set to zero."""
    n, m = x.shape[-2:]
    return where(_tri_mask(n, m, k), x, 0)


def triu(x, k=0):
    """``x`` with the entries below diagonal ``k`` of its last two axes set to zero."""
    n, m = x.shape[-2:]
    return where(_tri_mask(n, m, k - 1), 0, x)


def _sym(x):
    return (x + _T(x)) * 0.5


def _eye(n, dtype):
    return eye(n, n, 0, dtype)


def diagonal(x):
    """The main diagonals of the matrices in the last two axes of ``x``."""
    lead = _LETTERS[: len(x.shape) - 2]
    return einsum([x], f"{lead}yy->{lead}y")


def diag_embed(s):
    """Diagonal matrices with the vectors in the last axis of ``s`` on their diagonals."""
    n = s.shape[-1]
    return reshape(s, (*s.shape, 1)) * _eye(n, s.dtype)


def _col(s):
    return reshape(s, (*s.shape, 1))


def _row(s):
    return reshape(s, (*s.shape[:-1], 1, s.shape[-1]))


def _columns(x, start, stop):
    starts = [0] * len(x.shape)
    starts[-1] = start
    return static_slice(x, starts, (*x.shape[:-1], stop))


def _rows(x, start, stop):
    starts = [0] * len(x.shape)
    starts[-2] = start
    return static_slice(x, starts, (*x.shape[:-2], stop, x.shape[-1]))


def _unless_zero(ct, f, x):
    """``f * x``, or zero for a matrix whose cotangent ``ct`` is zero throughout: an output that
    received no cotangent contributes nothing, not ``inf * 0`` (JAX skips such symbolic zeros;
    pullback's tape hands multi-result rules zeros for them)."""
    nd = len(ct.shape)
    zero = reduce_and(equal(ct, 0), (nd - 2, nd - 1))
    return where(reshape(zero, (*zero.shape, 1, 1)), 0, f * x)


def _quiet(rule):
    """``rule`` without NumPy's warnings for the infinities JAX's formulas produce by design
    (repeated eigenvalues or singular values, zero singular values)."""

    @functools.wraps(rule)
    def quiet(*args, **params):
        with np.errstate(divide="ignore", invalid="ignore"):
            return rule(*args, **params)

    return quiet


def _permutation_matrix(perm, dtype):
    """One-hot rows: ``P @ a`` is ``a[perm]`` (``perm`` along the last axis, any batch)."""
    m = perm.shape[-1]
    cols = arange(0, m, 1, perm.dtype)
    return convert_element_type(equal(_col(perm), cols), dtype)


# -- batching: every primitive here works on stacks of matrices --------------------------------


def _leading_batch(prim):
    """The batch rule of a primitive whose operands share their leading (batch) dimensions:
    every operand gets the batch axis in front (broadcast when it has none)."""

    def rule(values, bdims, **params):
        size = batch_size(values, bdims)
        args = [batch_at(v, d, size) for v, d in zip(values, bdims, strict=True)]
        out = prim.bind(*args, **params)
        return out, ([0] * len(out) if prim.multiple_results else 0)

    return rule


def _square_shape(x, who):
    shape = x.shape
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"The input to {who} must be a square matrix. Got shape {shape}.")
    return shape


# -- cholesky ----------------------------------------------------------------------------------


def _cholesky_impl(x, *, symmetrize_input):
    if symmetrize_input:
        x = (x + _swap(x)) / x.dtype.type(2)
    try:
        return np.linalg.cholesky(x)
    except np.linalg.LinAlgError:
        n = x.shape[-1]
        (out,) = _each_matrix(np.linalg.cholesky, x, [_nan(x.shape, x.dtype)])
        return np.where(np.tri(n, dtype=bool), out, x.dtype.type(0))


def _phi(x):
    """The lower triangle of ``x`` with its diagonal halved."""
    n = x.shape[-1]
    return tril(x) * (1 - 0.5 * _eye(n, x.dtype))


@_quiet
def _cholesky_vjp(ct, ans, x, *, symmetrize_input):
    # Murray (2016): only the lower triangle of L varies; Sigma_bar = L^-T Phi(L^T L_bar) L^-1
    p = _phi(matmul(_T(ans), tril(ct)))
    s = triangular_solve(ans, p, left_side=True, lower=True, transpose_a=True)
    s = triangular_solve(ans, s, left_side=False, lower=True)
    return _sym(s) if symmetrize_input else s


cholesky_p, _cholesky = primitive("cholesky", _cholesky_impl, vjp=(_cholesky_vjp,))
cholesky_p.abstract = lambda x, *, symmetrize_input: ShapedArray(
    _square_shape(x, "cholesky"), x.dtype, x.weak_type
)
cholesky_p.batch = _leading_batch(cholesky_p)


def cholesky(x, symmetrize_input=True):
    """The lower Cholesky factor of each matrix in ``x`` (of ``(x + x^T) / 2`` when
    ``symmetrize_input``, else of the matrix its lower triangle describes); NaNs where a matrix is
    not positive definite. The derivative is taken along symmetric perturbations, as JAX's."""
    return _cholesky(x, symmetrize_input=bool(symmetrize_input))


# -- triangular_solve ------------------------------------------------------------------------------


def _triangle(a, lower, unit_diagonal):
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        i = np.arange(a.shape[-1])
        t[..., i, i] = 1
    return t


def _triangular_solve_impl(a, b, *, left_side, lower, transpose_a, unit_diagonal):
    t = _triangle(a, lower, unit_diagonal)
    if transpose_a:
        t, lower = _swap(t), not lower
    if left_side:
        return _solve_triangular_raw(t, b, lower)
    return _swap(_solve_triangular_raw(_swap(t), _swap(b), not lower))


@_quiet
def _triangular_solve_vjp_a(ct, ans, a, b, *, left_side, lower, transpose_a, unit_diagonal):
    g = triangular_solve(a, ct, left_side, lower, not transpose_a, unit_diagonal)
    if left_side:
        g = matmul(ans, _T(g)) if transpose_a else matmul(g, _T(ans))
    else:
        g = matmul(_T(g), ans) if transpose_a else matmul(_T(ans), g)
    k = 1 if unit_diagonal else 0
    return -(tril(g, -k) if lower else triu(g, k))


@_quiet
def _triangular_solve_vjp_b(ct, ans, a, b, *, left_side, lower, transpose_a, unit_diagonal):
    return triangular_solve(a, ct, left_side, lower, not transpose_a, unit_diagonal)


def _triangular_solve_abstract(a, b, *, left_side, lower, transpose_a, unit_diagonal):
    if len(a.shape) < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(
            f"The first input to triangular_solve must be a square matrix. Got shape {a.shape}."
        )
    common = -2 if left_side else -1
    if (
        len(b.shape) != len(a.shape)
        or a.shape[-1] != b.shape[common]
        or (a.shape[:-2] != b.shape[:-2])
    ):
        raise ValueError(
            f"Incompatible shapes for arguments to triangular_solve: {a.shape} and {b.shape}."
        )
    return ShapedArray(b.shape, b.dtype, a.weak_type and b.weak_type)


triangular_solve_p, _triangular_solve = primitive(
    "triangular_solve",
    _triangular_solve_impl,
    vjp=(_triangular_solve_vjp_a, _triangular_solve_vjp_b),
)
triangular_solve_p.abstract = _triangular_solve_abstract
triangular_solve_p.transpose = Linear(1)
triangular_solve_p.batch = _leading_batch(triangular_solve_p)


def triangular_solve(a, b, left_side=False, lower=False, transpose_a=False, unit_diagonal=False):
    """Solve ``op(a) @ x = b`` (``left_side``) or ``x @ op(a) = b`` for ``x``, where ``a`` is the
    lower or upper triangle of ``a`` (``lower``), with ones on its diagonal when
    ``unit_diagonal``, and ``op`` transposes when ``transpose_a``. Operands are stacks of matrices
    with equal leading dimensions (JAX's ``lax.linalg.triangular_solve``)."""
    return _triangular_solve(
        a,
        b,
        left_side=bool(left_side),
        lower=bool(lower),
        transpose_a=bool(transpose_a),
        unit_diagonal=bool(unit_diagonal),
    )


# -- solve ------------------------------------------------------------------------------------


def _solve_impl(a, b, *, assume, lower):
    if assume == "pos":
        # the Cholesky factor of the matrix that the lower (or upper) triangle describes
        factor = _cholesky_impl(a if lower else _swap(a), symmetrize_input=False)
        y = _solve_triangular_raw(factor, b, True)
        return _solve_triangular_raw(_swap(factor), y, False)
    try:
        with np.errstate(all="ignore"):
            return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:  # singular: infinities and NaNs, as LU with a zero pivot gives
        lu_, _, perm = _lu_raw(a)
        return _lu_solve_raw(lu_, perm, b)


@_quiet
def _solve_vjp_b(ct, ans, a, b, *, assume, lower):
    # JAX's custom_linear_solve: a positive definite system is solved again as it is
    return solve(a if assume == "pos" else _T(a), ct, assume, lower)


@_quiet
def _solve_vjp_a(ct, ans, a, b, *, assume, lower):
    return -matmul(_solve_vjp_b(ct, ans, a, b, assume=assume, lower=lower), _T(ans))


def _solve_abstract(a, b, *, assume, lower):
    if not (
        len(a.shape) >= 2
        and len(b.shape) == len(a.shape)
        and a.shape[-1] == a.shape[-2] == b.shape[-2]
        and a.shape[:-2] == b.shape[:-2]
    ):
        raise ValueError(
            f"The arguments to solve must have shapes a=[..., m, m] and b=[..., m, k]; got "
            f"a={a.shape} and b={b.shape}"
        )
    return ShapedArray(b.shape, b.dtype, a.weak_type and b.weak_type)


solve_p, _solve = primitive("solve", _solve_impl, vjp=(_solve_vjp_a, _solve_vjp_b))
solve_p.abstract = _solve_abstract
solve_p.transpose = Linear(1)
solve_p.batch = _leading_batch(solve_p)


def solve(a, b, assume="gen", lower=True):
    """``a^-1 @ b`` for stacks of square matrices ``a`` and matrices ``b`` with equal leading
    dimensions. ``assume="pos"``: ``a`` is positive definite and only its lower (``lower``) or
    upper triangle is read (a Cholesky solve; the derivative is still that of ``a^-1 b`` in the
    whole of ``a``, as JAX's ``custom_linear_solve`` gives)."""
    return _solve(a, b, assume=assume, lower=bool(lower))


# -- lu ---------------------------------------------------------------------------------------


def _lu_impl(a):
    return list(_lu_raw(a))


def _lu_factors(lu_):
    """The unit lower ``l`` (m x m) and upper ``u`` (n x n) factors packed in ``lu_`` (m x n), as
    JAX's JVP pads them."""
    m, n = lu_.shape[-2:]
    k = min(m, n)
    nb = len(lu_.shape) - 2
    dtype = lu_.dtype
    l = tril(_columns(lu_, 0, k), -1)
    if m > k:
        l = pad(l, dtype.type(0), [(0, 0, 0)] * nb + [(0, 0, 0), (0, m - k, 0)])
    l = l + _eye(m, dtype)
    u = triu(_rows(lu_, 0, k))
    if n > k:
        u = pad(u, dtype.type(0), [(0, 0, 0)] * nb + [(0, n - k, 0), (0, 0, 0)])
        corner = pad(_eye(n - k, dtype), dtype.type(0), [(k, 0, 0), (k, 0, 0)])
        u = u + corner
    return l, u


@_quiet
def _lu_jvp(tangents, ans, a):
    (t,) = tangents
    lu_, _, perm = ans
    l, u = _lu_factors(lu_)
    pa = matmul(_permutation_matrix(perm, t.dtype), t)
    la = triangular_solve(l, pa, left_side=True, lower=True, unit_diagonal=True)
    lau = triangular_solve(u, la, left_side=False, lower=False)
    return [matmul(l, tril(lau, -1)) + matmul(triu(lau), u), None, None]


@_quiet
def _lu_vjp(cts, ans, a):
    ct = cts[0]
    lu_, _, perm = ans
    l, u = _lu_factors(lu_)
    x = tril(matmul(_T(l), ct), -1) + triu(matmul(ct, _T(u)))
    y = triangular_solve(l, x, left_side=True, lower=True, transpose_a=True, unit_diagonal=True)
    y = triangular_solve(u, y, left_side=False, lower=False, transpose_a=True)
    return matmul(_T(_permutation_matrix(perm, ct.dtype)), y)


def _lu_abstract(a):
    if len(a.shape) < 2:
        raise TypeError(f"Input 0 to lu must have rank at least 2, but got shape={a.shape}")
    *batch, m, n = a.shape
    return [
        ShapedArray(a.shape, a.dtype, False),
        ShapedArray((*batch, min(m, n)), np.dtype(np.int32), False),
        ShapedArray((*batch, m), np.dtype(np.int32), False),
    ]


lu_p, _lu = primitive("lu", _lu_impl, vjp=(_lu_vjp,), multiple_results=True, weak="never")
lu_p.abstract = _lu_abstract
lu_p.jvp = _lu_jvp
lu_p.batch = _leading_batch(lu_p)


def lu(a):
    """LU decomposition with partial pivoting of each matrix in ``a``: ``[lu, pivots,
    permutation]`` as JAX's ``lax.linalg.lu`` (``a[..., permutation, :] == L @ U``, ``L`` unit
    lower and ``U`` upper, both packed in ``lu``; ``pivots`` are LAPACK's, from 0)."""
    return _lu(a)


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


# -- expm -------------------------------------------------------------------------------------

_PADE_B = {
    3: (120.0, 60.0, 12.0, 1.0),
    5: (30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0),
    7: (17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0),
    9: (
        17643225600.0,
        8821612800.0,
        2075673600.0,
        302702400.0,
        30270240.0,
        2162160.0,
        110880.0,
        3960.0,
        90.0,
        1.0,
    ),
    13: (
        6.476475253248e16,
        3.238237626624e16,
        7771770303897600.0,
        1187353796428800.0,
        129060195264000.0,
        10559470521600.0,
        670442572800.0,
        33522128640.0,
        1323241920.0,
        40840800.0,
        960960.0,
        16380.0,
        182.0,
        1.0,
    ),
}

# (largest 1-norm before scaling, the 1-norm bounds between Padé degrees, the degrees): JAX's
_PADE_PLAN = {
    4: (3.92572478313866, (0.4258730016922831, 1.880152677804762), (3, 5, 7)),
    8: (
        5.371920351148152,
        (0.01495585217958292, 0.253939833006323, 0.9504178996162932, 2.097847961257068),
        (3, 5, 7, 9, 13),
    ),
}


def _pade(a, degree):
    """JAX's ``_pade{degree}``: ``(U, V)`` with ``exp(A) ~ (V - U)^-1 (V + U)``."""
    b = _PADE_B[degree]
    ident = np.eye(a.shape[-1], dtype=a.dtype)
    a2 = a @ a
    if degree == 3:
        return a @ (b[3] * a2 + b[1] * ident), b[2] * a2 + b[0] * ident
    a4 = a2 @ a2
    if degree == 5:
        u = a @ (b[5] * a4 + b[3] * a2 + b[1] * ident)
        return u, b[4] * a4 + b[2] * a2 + b[0] * ident
    a6 = a4 @ a2
    if degree == 7:
        u = a @ (b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * ident)
        return u, b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * ident
    if degree == 9:
        a8 = a6 @ a2
        u = a @ (b[9] * a8 + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * ident)
        return u, b[8] * a8 + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * ident
    u = a @ (
        a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2)
        + b[7] * a6
        + b[5] * a4
        + b[3] * a2
        + b[1] * ident
    )
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2
    return u, v + b[0] * ident


def _expm_matrix(a, upper_triangular, max_squarings):
    maxnorm, bounds, degrees = _PADE_PLAN[8 if a.dtype == np.float64 else 4]
    with np.errstate(all="ignore"):
        norm = np.max(np.sum(np.abs(a), axis=0), initial=0).astype(a.dtype)
        squarings = np.maximum(0, np.floor(np.log2(norm / a.dtype.type(maxnorm))))
        if squarings > max_squarings:
            return np.full_like(a, np.nan)
        squarings = int(squarings) if np.isfinite(squarings) else 0  # NaN: a NaN result
        scaled = a / (a.dtype.type(2) ** a.dtype.type(squarings))
        u, v = _pade(scaled, degrees[int(np.digitize(norm, np.asarray(bounds, a.dtype)))])
        p, q = u + v, v - u
        if upper_triangular:
            r = _solve_triangular_raw(np.triu(q), p, False)
        else:
            try:
                r = np.linalg.solve(q, p)
            except np.linalg.LinAlgError:
                lu_, _, perm = _lu_raw(q)
                r = _lu_solve_raw(lu_, perm, p)
        for _ in range(squarings):
            r = r @ r
    return r


def _expm_impl(a, *, upper_triangular, max_squarings):
    out = np.empty(a.shape, a.dtype)
    for idx in np.ndindex(*a.shape[:-2]):
        out[idx] = _expm_matrix(a[idx], upper_triangular, max_squarings)
    return out


def expm_frechet(a, e, max_squarings=16):
    """The Fréchet derivative of ``expm`` at ``a`` in direction ``e``: the top right block of
    ``expm([[a, e], [0, a]])`` (Higham's block method), with ``e`` scaled to ``a``'s 1-norm
    first so that the block's norm (hence its Padé degree and squarings) follows ``a``'s."""
    nd = len(a.shape)
    n = a.shape[-1]
    axes = (nd - 2,)
    norm_a = reduce_max(reduce_sum(absolute(a), axes), (nd - 2,))
    norm_e = reduce_max(reduce_sum(absolute(e), axes), (nd - 2,))
    target = where(equal(norm_a, 0), 1, norm_a)
    scale = stop_gradient(where(equal(norm_e, 0), 1, target / where(equal(norm_e, 0), 1, norm_e)))
    scale = reshape(scale, (*scale.shape, 1, 1))
    zeros = full(a.shape, 0, a.dtype)
    block = concatenate(
        [concatenate([a, e * scale], nd - 1), concatenate([zeros, a], nd - 1)], nd - 2
    )
    big = expm(block, False, max_squarings + 1)
    starts = [0] * nd
    starts[-1] = n
    return static_slice(big, starts, (*a.shape[:-2], n, 2 * n)) / scale


@_quiet
def _expm_vjp(ct, ans, a, *, upper_triangular, max_squarings):
    return expm_frechet(_T(a), ct, max_squarings)


@_quiet
def _expm_jvp(tangents, ans, a, *, upper_triangular, max_squarings):
    return expm_frechet(a, tangents[0], max_squarings)


expm_p, _expm = primitive("expm", _expm_impl, vjp=(_expm_vjp,))
expm_p.abstract = lambda a, *, upper_triangular, max_squarings: ShapedArray(
    _square_shape(a, "expm"), a.dtype, a.weak_type
)
expm_p.jvp = _expm_jvp
expm_p.batch = _leading_batch(expm_p)


def expm(a, upper_triangular=False, max_squarings=16):
    """The matrix exponential of each matrix in ``a`` by JAX's Padé scaling and squaring (NaN
    when it needs more than ``max_squarings`` squarings); ``upper_triangular`` solves the Padé
    system by substitution."""
    return _expm(a, upper_triangular=bool(upper_triangular), max_squarings=int(max_squarings))
