"""The decompositions: ``cholesky``, ``svd`` (and ``svdvals``), ``eigh``, ``eigvalsh``, ``qr``,
and ``eig``/``eigvals`` (not supported: their results are complex), on the primitives of
``pullback._ops.decompositions``."""

from __future__ import annotations

from typing import NamedTuple

from pullback import _ops
from pullback._core import Array
from pullback._ops import decompositions as _dec
from pullback.numpy import _linalg
from pullback.numpy.linalg._common import (
    _H,
    _T,
    _check_rank2,
    _check_square,
    _check_symmetrizable,
    _inexact,
    _sort_descending,
)


class EighResult(NamedTuple):
    eigenvalues: Array
    eigenvectors: Array


class QRResult(NamedTuple):
    Q: Array
    R: Array


class SVDResult(NamedTuple):
    U: Array
    S: Array
    Vh: Array


def cholesky(a, *, upper=False, symmetrize_input=True):
    """The Cholesky factor of each positive definite matrix in ``a`` (lower, or upper with
    ``upper=True``); NaNs where a matrix is not positive definite, as in JAX.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.cholesky(jnp.array([[4.0, 2.0], [2.0, 5.0]]))
    Array([[2., 0.],
           [1., 2.]], dtype=float32)
    """
    (a,) = _inexact(a, who="jnp.linalg.cholesky")
    if symmetrize_input:
        _check_symmetrizable(a)
    else:
        _check_square(a, "The input to cholesky must be a square matrix. Got shape {shape}.")
    factor = _dec.cholesky(a, symmetrize_input)
    return _T(factor) if upper else factor


def svd(a, full_matrices=True, compute_uv=True, hermitian=False, subset_by_index=None):
    """Singular value decomposition ``a = U @ diag(S) @ Vh``: an ``SVDResult``, or ``S`` alone
    without ``compute_uv``. ``hermitian``: from the eigendecomposition of the symmetric ``a``.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.svd(jnp.array([[3.0, 0.0], [0.0, -2.0]]), compute_uv=False)
    Array([3., 2.], dtype=float32)
    """
    (a,) = _inexact(a, who="jnp.linalg.svd")
    _check_rank2(a, "svd")
    if subset_by_index is not None and tuple(subset_by_index) != (0, min(a.shape[-2:])):
        raise NotImplementedError("svd: subset_by_index is not supported yet.")
    if hermitian:
        w, v = _dec.eigh(a)
        s = _ops.absolute(w)
        perm = _sort_descending(s)
        s_sorted = _linalg.matmul(perm, s[..., None])[..., 0]
        if not compute_uv:
            return s_sorted
        sign = _linalg.matmul(perm, _ops.sign(w)[..., None])[..., 0]
        u = _linalg.matmul(v, _T(perm))
        return SVDResult(u, s_sorted, _H(u * sign[..., None, :]))
    if not compute_uv:
        return _dec.svd(a, compute_uv=False)
    u, s, vh = _dec.svd(a, full_matrices=full_matrices)
    return SVDResult(u, s, vh)


def eig(a):
    """Not supported: the eigenvalues of a general real matrix are complex, and pullback's
    linear algebra is real. Use ``eigh`` for symmetric matrices."""
    raise NotImplementedError(
        "jnp.linalg.eig is not supported yet (complex results); use jnp.linalg.eigh for "
        "symmetric matrices."
    )


def eigvals(a):
    """Not supported (complex results); see ``eig``."""
    raise NotImplementedError(
        "jnp.linalg.eigvals is not supported yet (complex results); use jnp.linalg.eigvalsh "
        "for symmetric matrices."
    )


def _lower(uplo, default="L"):
    uplo = default if uplo is None else uplo
    if uplo == "L":
        return True
    if uplo == "U":
        return False
    raise ValueError(f"UPLO must be one of None, 'L', or 'U', got {uplo}")


def eigh(a, UPLO=None, symmetrize_input=True):  # noqa: N803 - NumPy's name
    """Eigenvalues (ascending) and eigenvectors of each symmetric matrix in ``a``, as an
    ``EighResult``. The gradient through the eigenvectors has JAX's ``1 / (w_j - w_i)`` terms:
    infinite or NaN where eigenvalues repeat.

    >>> import pullback.numpy as jnp
    >>> w, v = jnp.linalg.eigh(jnp.array([[2.0, 0.0], [0.0, 1.0]]))
    >>> w
    Array([1., 2.], dtype=float32)
    >>> v
    Array([[0., 1.],
           [1., 0.]], dtype=float32)
    """
    lower = _lower(UPLO)
    (a,) = _inexact(a, who="jnp.linalg.eigh")
    if symmetrize_input:
        _check_symmetrizable(a)
    w, v = _dec.eigh(a, lower, symmetrize_input)
    return EighResult(w, v)


def eigvalsh(a, UPLO="L", *, symmetrize_input=True):  # noqa: N803 - NumPy's name
    """Eigenvalues (ascending) of each symmetric matrix in ``a``; their gradient is finite even
    where they repeat.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.eigvalsh(jnp.array([[2.0, 1.0], [1.0, 2.0]]))
    Array([1., 3.], dtype=float32)
    """
    lower = _lower(UPLO)
    (a,) = _inexact(a, who="jnp.linalg.eigvalsh")
    if symmetrize_input:
        _check_symmetrizable(a)
    return _dec.eigh(a, lower, symmetrize_input, eigvals_only=True)


def qr(a, mode="reduced"):
    """QR decomposition of each matrix in ``a``: a ``QRResult`` for ``mode`` ``"reduced"`` (or
    ``"full"``) and ``"complete"``, ``R`` alone for ``"r"``.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.qr(jnp.array([[2.0, 1.0], [0.0, 3.0]]), mode="r")
    Array([[2., 1.],
           [0., 3.]], dtype=float32)
    """
    (a,) = _inexact(a, who="jnp.linalg.qr")
    if mode == "raw":
        raise NotImplementedError("jnp.linalg.qr: mode='raw' (Householder form) is not supported.")
    if mode in ("reduced", "r", "full"):
        full_matrices = False
    elif mode == "complete":
        full_matrices = True
    else:
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    _check_rank2(a, "qr")
    q, r = _dec.qr(a, full_matrices)
    return r if mode == "r" else QRResult(q, r)


def svdvals(x, /):
    """The singular values of each matrix, in descending order.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.svdvals(jnp.array([[0.0, 2.0], [1.0, 0.0]]))
    Array([2., 1.], dtype=float32)
    """
    return svd(x, compute_uv=False, hermitian=False)
