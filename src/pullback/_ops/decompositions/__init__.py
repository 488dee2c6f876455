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

from pullback._ops.decompositions._common import (
    _permutation_matrix,
    diag_embed,
    diagonal,
    tril,
    triu,
)
from pullback._ops.decompositions.expm import expm, expm_frechet, expm_p
from pullback._ops.decompositions.spectral import (
    eigh,
    eigh_p,
    eigvalsh_p,
    qr,
    qr_p,
    singular_values_p,
    svd,
    svd_p,
)
from pullback._ops.decompositions.triangular import (
    cholesky,
    cholesky_p,
    lu,
    lu_p,
    solve,
    solve_p,
    triangular_solve,
    triangular_solve_p,
)

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
