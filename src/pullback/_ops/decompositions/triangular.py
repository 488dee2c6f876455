"""The triangular factorisations and solves: ``cholesky``, ``triangular_solve``, ``solve`` and
``lu`` (see the package docstring for their rules)."""

from __future__ import annotations

import numpy as np

from pullback._core import ShapedArray
from pullback._ops._base import Linear, primitive
from pullback._ops.decompositions._common import (
    _T,
    _columns,
    _each_matrix,
    _eye,
    _leading_batch,
    _lu_raw,
    _lu_solve_raw,
    _nan,
    _permutation_matrix,
    _quiet,
    _rows,
    _solve_triangular_raw,
    _square_shape,
    _swap,
    _sym,
    tril,
    triu,
)
from pullback._ops.linalg import matmul
from pullback._ops.shape import pad

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
