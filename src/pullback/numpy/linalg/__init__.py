"""``pullback.numpy.linalg``: JAX's ``jax.numpy.linalg`` on pullback arrays.

The decompositions are the primitives of ``pullback._ops.decompositions`` (``cholesky``,
``triangular_solve``, ``solve``, ``lu``, ``qr``, ``svd``, ``singular_values``, ``eigh``,
``eigvalsh``), each with its VJP, JVP, batching and staging rules; everything else is composed
of pullback operations as JAX composes it, so it inherits their rules: ``inv`` solves against
the identity, ``norm`` reduces or takes singular values, ``lstsq`` goes through the SVD.
Where JAX gives a composite its own derivative, so does this module, with ``custom_jvp``:
``det`` (its JVP solves with cofactors, finite for singular matrices), ``slogdet`` and ``pinv``.

Matrices are real (float32, float64, or integers promoted to the default float type); a
complex input raises ``NotImplementedError``. Leading dimensions are batch dimensions, as in
NumPy and JAX.
"""

from __future__ import annotations

from pullback.numpy.linalg._common import (
    _T,
    _broadcast_batch,
    _check_rank2,
    _check_square,
    _check_symmetrizable,
    _core_dims,
    _inexact,
)
from pullback.numpy.linalg._decompositions import (
    EighResult,
    QRResult,
    SVDResult,
    cholesky,
    eig,
    eigh,
    eigvals,
    eigvalsh,
    qr,
    svd,
    svdvals,
)
from pullback.numpy.linalg._determinants import SlogdetResult, det, slogdet
from pullback.numpy.linalg._lstsq import lstsq, pinv
from pullback.numpy.linalg._norms import cond, matrix_norm, matrix_rank, norm, vector_norm
from pullback.numpy.linalg._products import (
    cross,
    diagonal,
    matmul,
    matrix_transpose,
    multi_dot,
    outer,
    tensordot,
    trace,
    vecdot,
)
from pullback.numpy.linalg._solve import inv, matrix_power, solve, tensorinv, tensorsolve

__all__ = [
    "EighResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "multi_dot",
    "norm",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "tensorinv",
    "tensorsolve",
    "trace",
    "vecdot",
    "vector_norm",
]
