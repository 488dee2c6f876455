"""``pullback.scipy.linalg``: JAX's ``jax.scipy.linalg`` (SciPy's signatures) on pullback arrays.

Built on the primitives of ``pullback._ops.decompositions`` (``triangular_solve``, ``lu``,
``cholesky``, ``solve``, ``qr``, ``svd``, ``eigh``, ``expm``) and on ``pullback.numpy.linalg``,
so every function is differentiable (to any order), batchable and stageable. SciPy itself is not
needed: the impls are NumPy's. Arguments SciPy has for its LAPACK calls (``overwrite_a``,
``check_finite``, ``lapack_driver``, ...) are accepted and ignored, as in JAX.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from pullback import _dtypes, _ops
from pullback._api.forward import jvp
from pullback._ops import decompositions as _dec
from pullback.numpy import _linalg, _shape
from pullback.numpy import linalg as _jnp_linalg
from pullback.numpy._creation import asarray, eye, zeros

__all__ = [
    "block_diag",
    "cho_factor",
    "cho_solve",
    "cholesky",
    "det",
    "eigh",
    "expm",
    "expm_frechet",
    "inv",
    "lu",
    "lu_factor",
    "lu_solve",
    "qr",
    "solve",
    "solve_triangular",
    "svd",
]

_inexact = _jnp_linalg._inexact
_SQUARE_CHOLESKY = "The input to cholesky must be a square matrix. Got shape {shape}."
_T = _jnp_linalg._T


def _vector_signature(who, a, b, square="n"):
    """JAX's choice between a vector and a matrix right-hand side (with its FutureWarning for
    batched vectors), as a flag: ``True`` when ``b`` holds vectors."""
    if b.ndim == 1:
        return True
    if a.ndim == b.ndim + 1 and a.shape[-1] == b.shape[-1]:
        warnings.warn(
            f"jax.scipy.linalg.{who}: batched 1D solves with b.ndim > 1 are deprecated, and in "
            f"the future will be treated as a batched 2D solve. Use {who}(..., b[..., None])"
            f".squeeze(-1) to avoid this warning.",
            category=FutureWarning,
            stacklevel=3,
        )
        return True
    return False


def _solve_with(fn, a, b, vector, n="n"):
    """``fn(a, b)`` over broadcast batch dimensions (a vector ``b`` as a one-column matrix)."""
    signature = f"({n},{n}),({n})->({n})" if vector else f"({n},{n}),({n},k)->({n},k)"
    _jnp_linalg._core_dims(signature, a, b)
    if vector:
        a, b = _jnp_linalg._broadcast_batch(a, 2, b, 1)
        return fn(a, b[..., None])[..., 0]
    a, b = _jnp_linalg._broadcast_batch(a, 2, b, 2)
    return fn(a, b)


# -- Cholesky ----------------------------------------------------------------------------------


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor of each positive definite matrix: upper (SciPy's default) or
    ``lower``; only that triangle of ``a`` is read.

    >>> import pullback.numpy as jnp
    >>> import pullback.scipy.linalg
    >>> pullback.scipy.linalg.cholesky(jnp.array([[4.0, 2.0], [2.0, 5.0]]))
    Array([[2., 1.],
           [0., 2.]], dtype=float32)
    """
    (a,) = _inexact(a, who="jax.scipy.linalg.cholesky")
    x = a if lower else _T(a)
    _jnp_linalg._check_square(
        x, "The input to cholesky must be a square matrix. Got shape {shape}."
    )
    factor = _dec.cholesky(x, symmetrize_input=False)
    return factor if lower else _T(factor)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``(c, lower)`` for ``cho_solve``: the Cholesky factor and which triangle it is.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import cho_factor
    >>> cho_factor(jnp.array([[4.0, 2.0], [2.0, 5.0]]), lower=True)
    (Array([[2., 0.],
           [1., 2.]], dtype=float32), True)
    """
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """Solve ``a @ x = b`` given ``cho_factor(a)``: two triangular solves.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import cho_factor, cho_solve
    >>> a = jnp.array([[4.0, 2.0], [2.0, 5.0]])
    >>> cho_solve(cho_factor(a), a @ jnp.array([1.0, -1.0]))
    Array([ 1., -1.], dtype=float32)
    """
    c, lower = c_and_lower
    c, b = _inexact(c, b, who="jax.scipy.linalg.cho_solve")
    vector = _vector_signature("cho_solve", c, b)

    def two_solves(c, b):
        b = _dec.triangular_solve(c, b, left_side=True, lower=lower, transpose_a=not lower)
        return _dec.triangular_solve(c, b, left_side=True, lower=lower, transpose_a=lower)

    return _solve_with(two_solves, c, b, vector)


# -- LU ----------------------------------------------------------------------------------------


def _pivots_to_permutation(pivots, m):
    """The row permutation that the LAPACK-style ``pivots`` (swap row k with row pivots[k], in
    order) describe, for any leading dimensions."""
    k = pivots.shape[-1]
    iota = _ops.arange(0, m, 1, np.int32)
    perm = _ops.broadcast_to(iota, (*pivots.shape[:-1], m))
    pivots = _ops.convert_element_type(pivots, np.int32)
    for j in range(k):
        p = pivots[..., j : j + 1]
        at_p = _ops.equal(iota, p)
        value_p = _ops.reduce_sum(_ops.where(at_p, perm, 0), (perm.ndim - 1,))[..., None]
        value_j = perm[..., j : j + 1]
        perm = _ops.where(iota == j, value_p, _ops.where(at_p, value_j, perm))
    return perm


def lu_factor(a, overwrite_a=False, check_finite=True):
    """``(lu, piv)``: the LU decomposition with partial pivoting packed in one matrix, and
    LAPACK's pivot indices (from 0).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import lu_factor
    >>> lu, piv = lu_factor(jnp.array([[1.0, 2.0], [4.0, 8.0]]))
    >>> lu, piv
    (Array([[4.  , 8.  ],
           [0.25, 0.  ]], dtype=float32), Array([1, 1], dtype=int32))
    """
    (a,) = _inexact(a, who="jax.scipy.linalg.lu_factor")
    _jnp_linalg._check_rank2(a, "lu")
    lu_, pivots, _ = _dec.lu(a)
    return lu_, pivots


def _lu_solve_matrix(lu_, perm, b, trans):
    pm = _dec._permutation_matrix(perm, b.dtype)
    if trans == 0:
        x = _linalg.matmul(pm, b)
        x = _dec.triangular_solve(lu_, x, left_side=True, lower=True, unit_diagonal=True)
        return _dec.triangular_solve(lu_, x, left_side=True, lower=False)
    x = _dec.triangular_solve(lu_, b, left_side=True, lower=False, transpose_a=True)
    x = _dec.triangular_solve(
        lu_, x, left_side=True, lower=True, unit_diagonal=True, transpose_a=True
    )
    return _linalg.matmul(_T(pm), x)


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """Solve ``a @ x = b`` (``trans=0``) or ``a.T @ x = b`` (1 or 2) given ``lu_factor(a)``.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import lu_factor, lu_solve
    >>> a = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    >>> lu_solve(lu_factor(a), jnp.array([5.0, 11.0]))
    Array([1., 2.], dtype=float32)
    """
    lu_, pivots = lu_and_piv
    lu_, b = _inexact(lu_, b, who="jax.scipy.linalg.lu_solve")
    pivots = asarray(pivots)
    if trans not in (0, 1, 2):
        raise ValueError(f"'trans' value must be 0, 1, or 2, got {trans}")
    if lu_.ndim < 2 or lu_.shape[-1] != lu_.shape[-2]:
        raise ValueError(
            f"last two dimensions of LU decomposition must be equal, got shape {lu_.shape}"
        )
    m = lu_.shape[-1]
    perm = _pivots_to_permutation(pivots, m)
    vector = _vector_signature("lu_solve", lu_, b)
    signature = "(n,n),(n),(n)->(n)" if vector else "(n,n),(n),(n,k)->(n,k)"
    _jnp_linalg._core_dims(signature, lu_, perm, b)
    if vector:
        b = b[..., None]
    batch = np.broadcast_shapes(lu_.shape[:-2], perm.shape[:-1], b.shape[:-2])
    lu_ = _ops.broadcast_to(lu_, (*batch, m, m))
    perm = _ops.broadcast_to(perm, (*batch, m))
    b = _ops.broadcast_to(b, (*batch, *b.shape[-2:]))
    x = _lu_solve_matrix(lu_, perm, b, trans)
    return x[..., 0] if vector else x


def lu(a, permute_l=False, overwrite_a=False, check_finite=True):
    """``(p, l, u)`` with ``a = p @ l @ u`` (``l`` unit lower, ``u`` upper), or ``(p @ l, u)``
    with ``permute_l``.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import lu
    >>> p, l, u = lu(jnp.array([[1.0, 2.0], [4.0, 8.0]]))
    >>> p
    Array([[0., 1.],
           [1., 0.]], dtype=float32)
    """
    (a,) = _inexact(a, who="jax.scipy.linalg.lu")
    _jnp_linalg._check_rank2(a, "lu")
    m, n = a.shape  # as JAX: one matrix
    lu_, _, permutation = _dec.lu(a)
    dtype = a.dtype
    p = _ops.convert_element_type(
        _ops.equal(permutation[None, :], _ops.arange(0, m, 1, permutation.dtype)[:, None]), dtype
    )
    k = min(m, n)
    l = _dec.tril(lu_, -1)[:, :k] + eye(m, k, dtype=dtype)
    u = _dec.triu(lu_)[:k, :]
    if permute_l:
        return _linalg.matmul(p, l), u
    return p, l, u


# -- QR, SVD, eigh -----------------------------------------------------------------------------


def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
    """QR decomposition: ``(q, r)`` for ``mode`` ``"full"`` (SciPy's default: complete ``q``) or
    ``"economic"``, ``(r,)`` for ``"r"``.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import qr
    >>> q, r = qr(jnp.array([[2.0, 1.0], [0.0, 3.0]]))
    >>> r
    Array([[2., 1.],
           [0., 3.]], dtype=float32)
    """
    if mode in ("full", "r"):
        full_matrices = True
    elif mode == "economic":
        full_matrices = False
    else:
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    if pivoting:
        raise NotImplementedError("jax.scipy.linalg.qr: pivoting=True is not supported yet.")
    (a,) = _inexact(a, who="jax.scipy.linalg.qr")
    _jnp_linalg._check_rank2(a, "qr")
    q, r = _dec.qr(a, full_matrices)
    return (r,) if mode == "r" else (q, r)


def svd(
    a,
    full_matrices=True,
    compute_uv=True,
    overwrite_a=False,
    check_finite=True,
    lapack_driver="gesdd",
):
    """Singular value decomposition: ``(u, s, vh)``, or ``s`` without ``compute_uv``.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import svd
    >>> svd(jnp.array([[0.0, 2.0], [1.0, 0.0]]), compute_uv=False)
    Array([2., 1.], dtype=float32)
    """
    (a,) = _inexact(a, who="jax.scipy.linalg.svd")
    _jnp_linalg._check_rank2(a, "svd")
    if not compute_uv:
        return _dec.svd(a, compute_uv=False)
    return tuple(_dec.svd(a, full_matrices=full_matrices))


def eigh(
    a,
    b=None,
    lower=True,
    eigvals_only=False,
    overwrite_a=False,
    overwrite_b=False,
    turbo=True,
    eigvals=None,
    type=1,  # noqa: A002 - SciPy's name
    check_finite=True,
):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix: ``(w, v)``, or ``w``
    with ``eigvals_only`` (the standard problem only: ``b=None``, ``type=1``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import eigh
    >>> eigh(jnp.array([[2.0, 1.0], [1.0, 2.0]]), eigvals_only=True)
    Array([1., 3.], dtype=float32)
    """
    if b is not None:
        raise NotImplementedError("Only the b=None case of eigh is implemented")
    if type != 1:
        raise NotImplementedError("Only the type=1 case of eigh is implemented.")
    if eigvals is not None:
        raise NotImplementedError("Only the eigvals=None case of eigh is implemented.")
    (a,) = _inexact(a, who="jax.scipy.linalg.eigh")
    _jnp_linalg._check_symmetrizable(a)
    if eigvals_only:
        return _dec.eigh(a, lower, eigvals_only=True)
    w, v = _dec.eigh(a, lower)
    return w, v


# -- solves ------------------------------------------------------------------------------------


def solve(
    a,
    b,
    lower=False,
    overwrite_a=False,
    overwrite_b=False,
    debug=False,
    check_finite=True,
    assume_a="gen",
):
    """Solve ``a @ x = b``; ``assume_a="pos"``: ``a`` is positive definite and only its
    ``lower`` (or upper) triangle is read (a Cholesky solve).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import solve
    >>> solve(jnp.array([[4.0, 2.0], [2.0, 5.0]]), jnp.array([6.0, 7.0]), assume_a="pos")
    Array([1., 1.], dtype=float32)
    """
    valid = ["gen", "sym", "her", "pos"]
    if assume_a not in valid:
        raise ValueError(f"Expected assume_a to be one of {valid}; got {assume_a!r}")
    if assume_a != "pos":
        return _jnp_linalg.solve(a, b)
    a, b = _inexact(a, b, who="jax.scipy.linalg.solve")
    if not (
        a.ndim >= 2
        and b.ndim in (a.ndim, a.ndim - 1)
        and a.shape[-1] == a.shape[-2] == b.shape[a.ndim - 2]
    ):
        raise ValueError(
            "The arguments to solve must have shapes a=[..., m, m] and b=[..., m, k] or "
            f"b=[..., m]; got a={a.shape} and b={b.shape}"
        )
    vector = a.ndim == b.ndim + 1
    if vector:
        b = b[..., None]
    a, b = _jnp_linalg._broadcast_batch(a, 2, b, 2)
    x = _dec.solve(a, b, "pos", lower)
    return x[..., 0] if vector else x


def solve_triangular(
    a,
    b,
    trans=0,
    lower=False,
    unit_diagonal=False,
    overwrite_b=False,
    debug=None,
    check_finite=True,
):
    """Solve ``op(a) @ x = b`` for triangular ``a`` (only the ``lower`` or upper triangle is
    read; ``op`` is the identity for ``trans`` 0 or ``"N"``, the transpose for 1, 2, ``"T"``,
    ``"C"``).

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import solve_triangular
    >>> solve_triangular(jnp.array([[2.0, 0.0], [1.0, 1.0]]), jnp.array([2.0, 3.0]), lower=True)
    Array([1., 2.], dtype=float32)
    """
    if trans in (0, "N"):
        transpose_a = False
    elif trans in (1, "T", 2, "C"):
        transpose_a = True
    else:
        raise ValueError(f"Invalid 'trans' value {trans}")
    a, b = _inexact(a, b, who="jax.scipy.linalg.solve_triangular")
    vector = _vector_signature("solve_triangular", a, b)
    fn = functools.partial(
        _dec.triangular_solve,
        left_side=True,
        lower=lower,
        transpose_a=transpose_a,
        unit_diagonal=unit_diagonal,
    )
    return _solve_with(fn, a, b, vector)


# -- matrix functions --------------------------------------------------------------------------


def expm(A, *, upper_triangular=False, max_squarings=16):  # noqa: N803 - SciPy's name
    """The matrix exponential, by JAX's Padé scaling and squaring (NaN beyond
    ``max_squarings``); its derivative is the Fréchet derivative.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import expm
    >>> expm(jnp.zeros((2, 2)))
    Array([[1., 0.],
           [0., 1.]], dtype=float32)
    """
    (A,) = _inexact(A, who="jax.scipy.linalg.expm")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"Expected A to be a (batched) square matrix, got A.shape={A.shape!r}.")
    return _dec.expm(A, upper_triangular, max_squarings)


def expm_frechet(A, E, *, method=None, compute_expm=True):  # noqa: N803 - SciPy's names
    """The Fréchet derivative of ``expm`` at ``A`` in direction ``E`` (the JVP of ``expm``):
    ``(expm(A), L)``, or ``L`` without ``compute_expm``.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import expm_frechet
    >>> expm_frechet(jnp.zeros((2, 2)), jnp.eye(2), compute_expm=False)
    Array([[1., 0.],
           [0., 1.]], dtype=float32)
    """
    A, E = asarray(A), asarray(E)
    if A.ndim < 2 or A.shape[-2] != A.shape[1]:
        raise ValueError(f"expected A to be a (batched) square matrix, got A.shape={A.shape}")
    if E.ndim < 2 or E.shape[-2] != E.shape[-1]:
        raise ValueError(f"expected E to be a (batched) square matrix, got E.shape={E.shape}")
    if A.shape != E.shape:
        raise ValueError(
            f"expected A and E to be the same shape, got A.shape={A.shape} E.shape={E.shape}"
        )
    expm_a, frechet = jvp(functools.partial(expm, max_squarings=16), (A,), (E,))
    return (expm_a, frechet) if compute_expm else frechet


def block_diag(*arrs):
    """The arrays (scalars, vectors as rows, matrices) along the diagonal of one matrix.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import block_diag
    >>> block_diag(jnp.ones((1, 2)), jnp.array(3.0))
    Array([[1., 1., 0.],
           [0., 0., 3.]], dtype=float32)
    """
    if len(arrs) == 0:
        arrs = (zeros((1, 0)),)
    dtype = _dtypes.result_type(*arrs)
    arrs = [_ops.convert_element_type(asarray(a), dtype) for a in arrs]
    bad = [i for i, a in enumerate(arrs) if a.ndim > 2]
    if bad:
        raise ValueError(
            "Arguments to jax.scipy.linalg.block_diag must have at most 2 dimensions, got "
            f"{arrs[bad[0]]} at argument {bad[0]}."
        )
    mats = [_shape.atleast_2d(a) for a in arrs]
    total = sum(m.shape[1] for m in mats)
    padded = []
    col = 0
    for m in mats:
        cols = m.shape[1]
        padded.append(_ops.pad(m, dtype.type(0), ((0, 0, 0), (col, total - cols - col, 0))))
        col += cols
    return _shape.concatenate(padded, axis=0)


def det(a, overwrite_a=False, check_finite=True):
    """``jnp.linalg.det``.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import det
    >>> det(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    Array(-2., dtype=float32)
    """
    return _jnp_linalg.det(a)


def inv(a, overwrite_a=False, check_finite=True):
    """``jnp.linalg.inv``.

    >>> import pullback.numpy as jnp
    >>> from pullback.scipy.linalg import inv
    >>> inv(jnp.array([[2.0, 0.0], [0.0, 4.0]]))
    Array([[0.5 , 0.  ],
           [0.  , 0.25]], dtype=float32)
    """
    return _jnp_linalg.inv(a)
