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

import functools
import itertools
import math
import operator
from typing import NamedTuple

import numpy as np

from pullback import _dtypes, _ops
from pullback._core import Array
from pullback._hop.custom_jvp import custom_jvp
from pullback._ops import decompositions as _dec
from pullback.numpy import _linalg, _reductions, _shape
from pullback.numpy._creation import asarray, eye, ones, zeros
from pullback.numpy._dtypes_api import finfo

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


class EighResult(NamedTuple):
    eigenvalues: Array
    eigenvectors: Array


class QRResult(NamedTuple):
    Q: Array
    R: Array


class SlogdetResult(NamedTuple):
    sign: Array
    logabsdet: Array


class SVDResult(NamedTuple):
    U: Array
    S: Array
    Vh: Array


# -- helpers -----------------------------------------------------------------------------------


def _array(a):
    return a if isinstance(a, Array) else asarray(a)


def _inexact(*arrays, who=None):
    """The arrays as ``Array``s promoted together to an inexact dtype (JAX's
    ``promote_dtypes_inexact``); complex ones are not supported yet."""
    arrays = [_array(a) for a in arrays]
    dtype = _dtypes.to_inexact_dtype(_dtypes.result_type(*arrays))
    if dtype.kind == "c":
        raise NotImplementedError(
            f"{who or 'jnp.linalg'}: complex matrices are not supported yet; pullback's linear "
            f"algebra is real."
        )
    return [
        a if a.dtype == dtype else _ops.convert_element_type(a, dtype, a.weak_type) for a in arrays
    ]


def _H(x):
    return _T(x)


def _T(x):
    n = x.ndim
    return _ops.transpose(x, (*range(n - 2), n - 1, n - 2))


def _symmetrize(x):
    return (x + _H(x)) / 2


def _check_symmetrizable(a):
    """The errors JAX's ``(a + a^T) / 2`` raises for what is not a stack of square matrices."""
    if a.ndim < 2:
        perm = (*range(a.ndim - 2), a.ndim - 1, a.ndim - 2)
        raise TypeError(
            f"transpose permutation isn't a permutation of operand dimensions, got permutation "
            f"{perm} for operand shape {a.shape}."
        )
    if a.shape[-1] != a.shape[-2]:
        raise TypeError(
            f"add got incompatible shapes for broadcasting: {a.shape}, {_T_shape(a.shape)}."
        )


def _T_shape(shape):
    return (*shape[:-2], shape[-1], shape[-2])


def _check_square(a, message):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(message.format(shape=a.shape))


def _check_rank2(a, who):
    if a.ndim < 2:
        raise TypeError(f"Input 0 to {who} must have rank at least 2, but got shape={a.shape}")


def _canonical_axis(axis, ndim):
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _count_nonzero(x, axis):
    return _reductions.sum(x, axis=axis)


def _core_dims(signature, *arrays):
    """JAX's ``vectorize`` check of the core dimensions: sizes of one name must agree."""
    ins = signature.split("->")[0]
    specs = [s.strip("()").split(",") if s != "()" else [] for s in ins.split("),(")]
    sizes = {}
    for spec, a in zip(specs, arrays, strict=True):
        spec = [d for d in spec if d]
        if a.ndim < len(spec):
            raise ValueError(
                f"input with shape {a.shape!r} does not have enough dimensions for all core "
                f"dimensions {tuple(spec)!r} on vectorized function with excluded=frozenset() "
                f"and signature={signature!r}"
            )
        for name, n in zip(spec, a.shape[a.ndim - len(spec) :]):
            if sizes.setdefault(name, n) != n:
                raise ValueError(
                    f"inconsistent size for core dimension {name!r}: {n} vs {sizes[name]} on "
                    f"vectorized function with excluded=frozenset() and signature={signature!r}"
                )


def _broadcast_batch(a, core_a, b, core_b):
    """``a`` and ``b`` broadcast to common leading (batch) dimensions; their last ``core_a`` and
    ``core_b`` dimensions are kept."""
    shapes = [a.shape[: a.ndim - core_a], b.shape[: b.ndim - core_b]]
    try:
        batch = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: shapes={shapes}") from None
    a = _ops.broadcast_to(a, (*batch, *a.shape[a.ndim - core_a :]))
    b = _ops.broadcast_to(b, (*batch, *b.shape[b.ndim - core_b :]))
    return a, b


def _sort_descending(s):
    """A one-hot matrix ``P`` (last axes) with ``P @ s`` the entries of ``s`` in descending order:
    a stable ascending sort, reversed (as ``lax.sort`` then ``lax.rev`` in JAX)."""
    n = s.shape[-1]
    si = s[..., :, None]
    sj = s[..., None, :]
    before = _ops.reshape(_ops.arange(0, n, 1, np.int32), (1, n)) < _ops.reshape(
        _ops.arange(0, n, 1, np.int32), (n, 1)
    )
    ties = _ops.logical_and(_ops.equal(sj, si), before)
    rank = _reductions.sum(_ops.logical_or(_ops.less(sj, si), ties), axis=-1)
    position = (n - 1) - rank  # (..., n): where entry i goes
    rows = _ops.reshape(_ops.arange(0, n, 1, position.dtype), (n, 1))
    return _ops.convert_element_type(_ops.equal(position[..., None, :], rows), s.dtype)


# -- decompositions ----------------------------------------------------------------------------


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


# -- solves and inverses -------------------------------------------------------------------------


def solve(a, b):
    """Solve ``a @ x = b`` for ``x``: ``b`` a vector, or matrices with broadcast leading
    dimensions. Singular matrices give infinities and NaNs, as in JAX.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.solve(jnp.array([[2.0, 0.0], [0.0, 4.0]]), jnp.array([2.0, 2.0]))
    Array([1. , 0.5], dtype=float32)
    """
    a, b = _inexact(a, b, who="jnp.linalg.solve")
    if a.ndim < 2:
        raise ValueError(
            f"left hand array must be at least two dimensional; got a.shape={a.shape!r}"
        )
    if (
        b.ndim > 1
        and a.ndim == b.ndim + 1
        and a.shape[-1] == b.shape[-1]
        and a.shape[-1] != b.shape[-2]
    ):
        raise ValueError(
            f"Invalid shapes for solve: {a.shape}, {b.shape}. Prior to JAX v0.5.0, this would "
            f"have been treated as a batched 1-dimensional solve. To recover this behavior, use "
            f"solve(a, b[..., None]).squeeze(-1)."
        )
    if b.ndim == 1:
        _core_dims("(m,m),(m)->(m)", a, b)
        a, b = _broadcast_batch(a, 2, b, 1)
        return _dec.solve(a, b[..., None])[..., 0]
    _core_dims("(m,m),(m,n)->(m,n)", a, b)
    a, b = _broadcast_batch(a, 2, b, 2)
    return _dec.solve(a, b)


def inv(a):
    """The inverse of each square matrix in ``a`` (a solve against the identity).

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.inv(jnp.array([[2.0, 0.0], [0.0, 4.0]]))
    Array([[0.5 , 0.  ],
           [0.  , 0.25]], dtype=float32)
    """
    a = _array(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"Argument to inv must have shape [..., n, n], got {a.shape}.")
    (a,) = _inexact(a, who="jnp.linalg.inv")
    identity = _ops.broadcast_to(eye(a.shape[-1], dtype=a.dtype), a.shape)
    return solve(a, identity)


@functools.partial(custom_jvp, nondiff_argnums=(1, 2))
def _pinv(a, rtol, hermitian):
    (arr,) = _inexact(a, who="jnp.linalg.pinv")
    m, n = arr.shape[-2:]
    if m == 0 or n == 0:
        return zeros(arr.shape[:-2] + (n, m), arr.dtype)
    if rtol is None:
        rtol = 10.0 * max(m, n) * asarray(finfo(arr.dtype).eps)
    rtol = asarray(rtol)
    u, s, vh = svd(arr, full_matrices=False, hermitian=hermitian)
    rtol = _ops.reshape(rtol, rtol.shape + (1,) * (s.ndim - rtol.ndim))
    cutoff = rtol * s[..., 0:1]
    s = _ops.where(s > cutoff, s, np.inf)
    s = _ops.convert_element_type(s, u.dtype)
    res = _linalg.matmul(_T(vh), _ops.true_divide(_T(u), s[..., None]))
    return _ops.convert_element_type(res, arr.dtype)


@_pinv.defjvp
def _pinv_jvp(rtol, hermitian, primals, tangents):
    # Golub & Pereyra (1973), as JAX: valid where the rank does not change
    (a,) = primals
    (a_dot,) = tangents
    p = _pinv(a, rtol, hermitian)
    if hermitian:
        a = _symmetrize(a)
        a_dot = _symmetrize(a_dot)
    m, n = a.shape[-2:]
    mm = _linalg.matmul
    if m >= n:
        s = mm(mm(p, _H(p)), _H(a_dot))
        t = mm(mm(_H(a_dot), _H(p)), p)
        p_dot = -mm(mm(p, a_dot), p) + s - mm(mm(s, a), p) + t - mm(mm(p, a), t)
    else:
        s = mm(p, mm(_H(p), _H(a_dot)))
        t = mm(_H(a_dot), mm(_H(p), p))
        p_dot = -mm(p, mm(a_dot, p)) + s - mm(s, mm(a, p)) + t - mm(p, mm(a, t))
    return p, p_dot


def pinv(a, rtol=None, hermitian=False, *, rcond=None):
    """The Moore-Penrose pseudo-inverse of each matrix in ``a``, through the SVD; singular values
    below ``rtol`` times the largest count as zero. Its derivative is JAX's (Golub-Pereyra).

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.pinv(jnp.array([[2.0, 0.0], [0.0, 0.0]]))
    Array([[0.5, 0. ],
           [0. , 0. ]], dtype=float32)
    """
    if rcond is not None:
        if rtol is not None:
            raise ValueError("pinv: only one of rtol and rcond may be specified.")
        rtol = rcond
    a = _array(a)
    if a.ndim < 2:
        raise ValueError("not enough values to unpack (expected 2, got 1)")
    return _pinv(a, rtol, bool(hermitian))


def lstsq(a, b, rcond=None, *, numpy_resid=False):
    """Least-squares solution of ``a @ x = b`` through the SVD: ``(x, residuals, rank, s)``.

    >>> import pullback.numpy as jnp
    >>> x, resid, rank, s = jnp.linalg.lstsq(jnp.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]),
    ...                                      jnp.array([1.0, 4.0, 1.0]))
    >>> x, resid, rank
    (Array([1., 2.], dtype=float32), Array([1.], dtype=float32), Array(2, dtype=int32))
    """
    a, b = _inexact(a, b, who="jnp.linalg.lstsq")
    if a.shape[0] != b.shape[0]:
        raise ValueError("Leading dimensions of input arrays must match")
    b_orig_ndim = b.ndim
    if b_orig_ndim == 1:
        b = b[:, None]
    if a.ndim != 2:
        raise TypeError(f"{a.ndim}-dimensional array given. Array must be two-dimensional")
    if b.ndim != 2:
        raise TypeError(f"{b.ndim}-dimensional array given. Array must be one or two-dimensional")
    m, n = a.shape
    dtype = a.dtype
    if a.size == 0:
        s = zeros((0,), dtype)
        rank = asarray(0, dtype=np.int32)
        x = zeros((n, *b.shape[1:]), dtype)
    else:
        eps = float(finfo(dtype).eps)
        rcond = eps * max(n, m) if rcond is None else _ops.where(asarray(rcond) < 0, eps, rcond)
        u, s, vt = svd(a, full_matrices=False)
        mask = _ops.logical_and(s > 0, s >= _ops.convert_element_type(rcond, s.dtype) * s[0])
        rank = _reductions.sum(mask)
        safe_s = _ops.where(mask, s, 1)
        s_inv = _ops.where(mask, 1 / safe_s, 0)[:, None]
        utb = _linalg.matmul(_T(u), b)
        x = _linalg.matmul(_T(vt), s_inv * utb)
    if numpy_resid and (int(rank) < n or m <= n):
        resid = zeros((0,), dtype)
    else:
        b_estimate = _linalg.matmul(a, x)
        resid = norm(b - b_estimate, axis=0) ** 2
    if b_orig_ndim == 1:
        x = _ops.reshape(x, (x.size,))
    return x, resid, rank, s


def matrix_power(a, n):
    """``a`` multiplied by itself ``n`` times (``n < 0``: powers of the inverse), by repeated
    squaring.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.matrix_power(jnp.array([[1, 1], [0, 1]]), 3)
    Array([[1, 3],
           [0, 1]], dtype=int32)
    """
    arr = _array(a)
    if arr.ndim < 2:
        raise TypeError(
            f"{arr.ndim}-dimensional array given. Array must be at least two-dimensional"
        )
    if arr.shape[-2] != arr.shape[-1]:
        raise TypeError("Last 2 dimensions of the array must be square")
    try:
        n = operator.index(n)
    except TypeError as err:
        raise TypeError(f"exponent must be an integer, got {n}") from err
    if n == 0:
        return _ops.broadcast_to(eye(arr.shape[-2], dtype=arr.dtype), arr.shape)
    if n < 0:
        arr = inv(arr)
        n = abs(n)
    mm = _linalg.matmul
    if n == 1:
        return arr
    if n == 2:
        return mm(arr, arr)
    if n == 3:
        return mm(mm(arr, arr), arr)
    z = result = None
    while n > 0:
        z = arr if z is None else mm(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else mm(result, z)
    return result


def matrix_rank(M, rtol=None, *, hermitian=False, tol=None):  # noqa: N803 - NumPy's name
    """The number of singular values of each matrix above ``rtol`` times the largest (default:
    ``max(m, n) * eps``).

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.matrix_rank(jnp.array([[1.0, 2.0], [2.0, 4.0]]))
    Array(1, dtype=int32)
    """
    if tol is not None:
        if rtol is not None:
            raise ValueError("matrix_rank: only one of tol or rtol may be specified.")
        rtol = tol
    (M,) = _inexact(M, who="jnp.linalg.matrix_rank")
    if M.ndim < 2:
        return _ops.convert_element_type(_reductions.any(M != 0), np.int32)
    S = svd(M, full_matrices=False, compute_uv=False, hermitian=hermitian)
    if rtol is None:
        scale = S.dtype.type(max(M.shape[-2:]))
        rtol = _reductions.max(S, axis=-1) * scale * finfo(S.dtype).eps
    rtol = asarray(rtol)
    rtol = _ops.reshape(rtol, rtol.shape + (1,))
    return _reductions.sum(rtol < S, axis=-1)


# -- determinants ------------------------------------------------------------------------------


def _slogdet_1x1(a):
    d = a[..., 0, 0]
    return _ops.sign(d), _ops.log(_ops.absolute(d))


def _slogdet_2x2(a):
    d = a[..., 0, 0] * a[..., 1, 1] - a[..., 0, 1] * a[..., 1, 0]
    return _ops.sign(d), _ops.log(_ops.absolute(d))


@custom_jvp
def _slogdet_small(a):
    return _slogdet_1x1(a) if a.shape[-1] == 1 else _slogdet_2x2(a)


@_slogdet_small.defjvp
def _slogdet_small_jvp(primals, tangents):
    (x,), (g,) = primals, tangents
    sign, ans = _slogdet_small(x)
    if x.shape[-1] == 1:
        ans_dot = g[..., 0, 0] / x[..., 0, 0]
    else:
        x00, x01, x10, x11 = x[..., 0, 0], x[..., 0, 1], x[..., 1, 0], x[..., 1, 1]
        det = x00 * x11 - x01 * x10
        ans_dot = (
            g[..., 0, 0] * x11 - g[..., 0, 1] * x10 - g[..., 1, 0] * x01 + g[..., 1, 1] * x00
        ) / det
    return (sign, ans), (_ops.full(sign.shape, 0, sign.dtype), ans_dot)


def _parity(pivots):
    n = pivots.shape[-1]
    iota = _ops.arange(0, n, 1, pivots.dtype)
    return _count_nonzero(pivots != iota, axis=-1)


@custom_jvp
def _slogdet_lu(a):
    dtype = a.dtype
    lu_, pivots, _ = _dec.lu(a)
    diag = _dec.diagonal(lu_)
    is_zero = _reductions.any(diag == 0, axis=-1)
    parity = _parity(pivots) + _count_nonzero(diag < 0, axis=-1)
    sign = _ops.convert_element_type(-2 * (parity % 2) + 1, dtype)
    sign = _ops.where(is_zero, _ops.full((), 0, dtype), sign)
    logdet = _ops.where(
        is_zero,
        _ops.full((), -np.inf, dtype),
        _reductions.sum(_ops.log(_ops.absolute(diag)), axis=-1),
    )
    return sign, logdet


@custom_jvp
def _slogdet_qr(a):
    q, r = _dec.qr(a)
    diag = _dec.diagonal(r)
    log_abs_det = _reductions.sum(_ops.log(_ops.absolute(diag)), axis=-1)
    sign_q, _ = _slogdet_lu(_ops.stop_gradient(q))  # +1 or -1: Q is orthogonal
    return _reductions.prod(_ops.sign(diag), axis=-1) * sign_q, log_abs_det


def _slogdet_jvp(primals, tangents):
    (x,), (g,) = primals, tangents
    sign, ans = slogdet(x)
    ans_dot = _linalg.trace(solve(x, g), axis1=-1, axis2=-2)
    return (sign, ans), (_ops.full(sign.shape, 0, sign.dtype), ans_dot)


_slogdet_lu.defjvp(_slogdet_jvp)
_slogdet_qr.defjvp(_slogdet_jvp)


def slogdet(a, *, method=None):
    """The sign and the log of the absolute value of each determinant (``method`` ``"lu"``, the
    default, or ``"qr"``), as a ``SlogdetResult``.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.slogdet(jnp.array([[-2.0, 0.0], [0.0, 1.0]]))
    SlogdetResult(sign=Array(-1., dtype=float32), logabsdet=Array(0.6931472, dtype=float32))
    """
    (a,) = _inexact(a, who="jnp.linalg.slogdet")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"Argument to slogdet() must have shape [..., n, n], got {a.shape}")
    if method is None or method == "lu":
        if a.shape[-1] in (1, 2):
            return SlogdetResult(*_slogdet_small(a))
        return SlogdetResult(*_slogdet_lu(a))
    if method == "qr":
        return SlogdetResult(*_slogdet_qr(a))
    raise ValueError(
        f"Unknown slogdet method '{method}'. Supported methods are 'lu' (`None`), and 'qr'."
    )


def _cofactor_solve(a, b):
    """``(det(a), adj(a) @ b)`` from the LU decomposition (JAX's), finite for singular ``a``."""
    m = a.shape[-1]
    if m == 0:
        return ones(a.shape[:-2], a.dtype), b
    if m == 1:
        return a[..., 0, 0], b
    lu_, pivots, permutation = _dec.lu(a)
    dtype = a.dtype
    batch = np.broadcast_shapes(lu_.shape[:-2], b.shape[:-2])
    x = _ops.broadcast_to(b, batch + b.shape[-2:])
    lu_ = _ops.broadcast_to(lu_, batch + lu_.shape[-2:])
    diag = _dec.diagonal(lu_)
    sign = _ops.convert_element_type(-2 * (_parity(pivots) % 2) + 1, dtype)
    partial_det = _reductions.cumprod(diag, axis=-1) * sign[..., None]
    lu_ = lu_.at[..., -1, -1].set(1.0 / partial_det[..., -2])
    permutation = _ops.broadcast_to(permutation, (*batch, m))
    d = ones(x.shape[:-1], x.dtype)[..., None]
    d = _dec.triangular_solve(lu_, d, left_side=True, lower=False)[..., 0]
    d = _reductions.any(_ops.logical_or(_ops.isnan(d), _ops.isinf(d)), axis=-1)
    d = _ops.broadcast_to(d[..., None, None], x.shape)
    x = _ops.where(d, 0, x)
    x = _linalg.matmul(_dec._permutation_matrix(permutation, dtype), x)
    x = _dec.triangular_solve(lu_, x, left_side=True, lower=True, unit_diagonal=True)
    x = _shape.concatenate(
        (x[..., :-1, :] * partial_det[..., -1, None, None], x[..., -1:, :]), axis=-2
    )
    x = _dec.triangular_solve(lu_, x, left_side=True, lower=False)
    x = _ops.where(d, 0, x)
    return partial_det[..., -1], x


def _det_2x2(a):
    return a[..., 0, 0] * a[..., 1, 1] - a[..., 0, 1] * a[..., 1, 0]


def _det_3x3(a):
    return (
        a[..., 0, 0] * a[..., 1, 1] * a[..., 2, 2]
        + a[..., 0, 1] * a[..., 1, 2] * a[..., 2, 0]
        + a[..., 0, 2] * a[..., 1, 0] * a[..., 2, 1]
        - a[..., 0, 2] * a[..., 1, 1] * a[..., 2, 0]
        - a[..., 0, 0] * a[..., 1, 2] * a[..., 2, 1]
        - a[..., 0, 1] * a[..., 1, 0] * a[..., 2, 2]
    )


@custom_jvp
def _det(a):
    sign, logdet = slogdet(a)
    return sign * _ops.exp(logdet)


@_det.defjvp
def _det_jvp(primals, tangents):
    (x,), (g,) = primals, tangents
    y, z = _cofactor_solve(x, g)
    return y, _linalg.trace(z, axis1=-1, axis2=-2)


def det(a):
    """The determinant of each square matrix in ``a``. Its derivative (the cofactor matrix) is
    finite for singular matrices, as in JAX.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.det(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    Array(-2., dtype=float32)
    """
    (a,) = _inexact(a, who="jnp.linalg.det")
    shape = a.shape
    if len(shape) >= 2 and shape[-1] == shape[-2] == 2:
        return _det_2x2(a)
    if len(shape) >= 2 and shape[-1] == shape[-2] == 3:
        return _det_3x3(a)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        return _det(a)
    raise ValueError(f"Argument to _det() must have shape [..., n, n], got {shape}")


# -- norms -------------------------------------------------------------------------------------


def _abs_sum(x, axis, keepdims):
    return _reductions.sum(_ops.absolute(x), axis=axis, keepdims=keepdims)


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - NumPy's name
    """Vector or matrix norms: JAX's (and NumPy's) ``ord`` for one axis (``None``/2, ``inf``,
    ``-inf``, 0, 1, any other number) or two (``None``/``"fro"``, ``"nuc"``, 1, -1, 2, -2,
    ``inf``, ``-inf``).

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.norm(jnp.array([3.0, 4.0]))
    Array(5., dtype=float32)
    >>> jnp.linalg.norm(jnp.array([[1.0, -2.0], [3.0, 4.0]]), ord=1)
    Array(6., dtype=float32)
    """
    (x,) = _inexact(x, who="jnp.linalg.norm")
    ndim = x.ndim
    if axis is None:
        if ord is None:
            return _ops.sqrt(_reductions.sum(x * x, keepdims=keepdims))
        axis = tuple(range(ndim))
    elif isinstance(axis, tuple):
        axis = tuple(_canonical_axis(a, ndim) for a in axis)
    else:
        axis = (_canonical_axis(axis, ndim),)
    if len(axis) == 1:
        return vector_norm(x, ord=2 if ord is None else ord, axis=axis, keepdims=keepdims)
    if len(axis) != 2:
        raise ValueError(
            f"Improper number of axes for norm: axis={axis!r}. Pass one axis to compute a "
            f"vector-norm, or two axes to compute a matrix-norm."
        )
    row_axis, col_axis = axis
    if ord is None or ord in ("f", "fro"):
        return _ops.sqrt(_reductions.sum(x * x, axis=axis, keepdims=keepdims))
    if ord in (1, -1):
        if not keepdims and col_axis > row_axis:
            col_axis -= 1
        sums = _abs_sum(x, row_axis, keepdims)
        if ord == 1:
            return _reductions.max(sums, axis=col_axis, keepdims=keepdims, initial=0)
        return _reductions.min(sums, axis=col_axis, keepdims=keepdims)
    if ord in (np.inf, -np.inf):
        if not keepdims and row_axis > col_axis:
            row_axis -= 1
        sums = _abs_sum(x, col_axis, keepdims)
        if ord == np.inf:
            return _reductions.max(sums, axis=row_axis, keepdims=keepdims, initial=0)
        return _reductions.min(sums, axis=row_axis, keepdims=keepdims)
    if ord in ("nuc", 2, -2):
        x = _shape.moveaxis(x, axis, (-2, -1))
        s = svd(x, compute_uv=False)
        if ord == 2:
            y = _reductions.max(s, axis=-1, initial=0)
        elif ord == -2:
            y = _reductions.min(s, axis=-1)
        else:
            y = _reductions.sum(s, axis=-1)
        if keepdims:
            y = _shape.expand_dims(y, axis)
        return y
    raise ValueError(f"Invalid order '{ord}' for matrix norm.")


def matrix_norm(x, /, *, keepdims=False, ord="fro"):  # noqa: A002
    """The norm of the matrices in the last two axes (``ord`` as in ``norm``).

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.matrix_norm(jnp.array([[3.0, 0.0], [0.0, 4.0]]))
    Array(5., dtype=float32)
    """
    return norm(x, ord=ord, keepdims=keepdims, axis=(-2, -1))


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):  # noqa: A002
    """The vector norm over ``axis`` (all axes when ``None``), of any order ``ord``.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.vector_norm(jnp.array([1.0, -2.0, 2.0]), ord=1)
    Array(5., dtype=float32)
    """
    (x,) = _inexact(x, who="jnp.linalg.vector_norm")
    if ord is None or ord == 2:
        return _ops.sqrt(_reductions.sum(x * x, axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return _reductions.max(_ops.absolute(x), axis=axis, keepdims=keepdims, initial=0)
    if ord == -np.inf:
        return _reductions.min(_ops.absolute(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return _reductions.sum(x != 0, dtype=x.dtype, axis=axis, keepdims=keepdims)
    if ord == 1:
        return _reductions.sum(_ops.absolute(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        msg = f"Invalid order '{ord}' for vector norm."
        if ord == "inf":
            msg += "Use 'jax.numpy.inf' instead."
        if ord == "-inf":
            msg += "Use '-jax.numpy.inf' instead."
        raise ValueError(msg)
    abs_x = _ops.absolute(x)
    ord_arr = x.dtype.type(ord)
    ord_inv = x.dtype.type(1.0 / ord_arr)
    out = _reductions.sum(abs_x**ord_arr, axis=axis, keepdims=keepdims)
    return out**ord_inv


def cond(x, p=None):
    """The condition number of each matrix: the ratio of its largest to its smallest singular
    value (``p`` None or 2), or ``norm(x, p) * norm(inv(x), p)``.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.cond(jnp.array([[2.0, 0.0], [0.0, 0.5]]))
    Array(4., dtype=float32)
    """
    arr = _array(x)
    if arr.ndim < 2:
        raise ValueError(f"jnp.linalg.cond: input array must be at least 2D; got {arr.shape=}")
    if arr.shape[-1] == 0 or arr.shape[-2] == 0:
        raise ValueError(f"jnp.linalg.cond: input array must not be empty; got {arr.shape=}")
    if p is None or p == 2:
        s = svdvals(arr)
        return s[..., 0] / s[..., -1]
    if p == -2:
        s = svdvals(arr)
        r = s[..., -1] / s[..., 0]
    else:
        if arr.shape[-2] != arr.shape[-1]:
            raise ValueError(f"jnp.linalg.cond: for {p=}, array must be square; got {arr.shape=}")
        r = norm(arr, ord=p, axis=(-2, -1)) * norm(inv(arr), ord=p, axis=(-2, -1))
    nan_in = _reductions.any(_ops.isnan(arr), axis=(-2, -1))
    return _ops.where(_ops.logical_and(_ops.isnan(r), _ops.logical_not(nan_in)), np.inf, r)


# -- products and shapes -----------------------------------------------------------------------


def cross(x1, x2, /, *, axis=-1):
    """Cross products of the 3-vectors along ``axis`` (broadcast against each other).

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.cross(jnp.array([1.0, 0.0, 0.0]), jnp.array([0.0, 1.0, 0.0]))
    Array([0., 0., 1.], dtype=float32)
    """
    x1, x2 = _array(x1), _array(x2)
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError(
            "Both input arrays must be (arrays of) 3-dimensional vectors, but they have "
            f"x1.shape[axis]={x1.shape[axis]!r} and x2.shape[axis]={x2.shape[axis]!r}"
        )
    a, b = _linalg._common(_shape.moveaxis(x1, axis, -1), _shape.moveaxis(x2, axis, -1))
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    c = _shape.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
    return _shape.moveaxis(c, -1, axis)


def outer(x1, x2, /):
    """The outer product of two vectors.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.outer(jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0]))
    Array([[3., 4.],
           [6., 8.]], dtype=float32)
    """
    x1, x2 = _array(x1), _array(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(
            f"Input arrays must be one-dimensional, but they are x1.ndim={x1.ndim!r} "
            f"x2.ndim={x2.ndim!r}"
        )
    return x1[:, None] * x2[None, :]


def matrix_transpose(x, /):
    """The matrices in the last two axes, transposed.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.matrix_transpose(jnp.ones((2, 3, 4))).shape
    (2, 4, 3)
    """
    x = _array(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose requires at least 2 dimensions; got ndim={x.ndim!r}")
    return _T(x)


def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    """Dot products of the vectors along ``axis`` (broadcast against each other).

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.vecdot(jnp.array([[1.0, 2.0], [3.0, 4.0]]), jnp.array([1.0, 1.0]))
    Array([3., 7.], dtype=float32)
    """
    x1, x2 = _array(x1), _array(x2)
    a = _shape.moveaxis(x1, axis, -1)
    b = _shape.moveaxis(x2, axis, -1)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"axes must match; got shapes {x1.shape} and {x2.shape} with axis={axis}")
    a, b = _broadcast_batch(a, 1, b, 1)
    out = _linalg.matmul(
        a[..., None, :], b[..., :, None], preferred_element_type=preferred_element_type
    )
    return out[..., 0, 0]


def matmul(x1, x2, /, *, precision=None, preferred_element_type=None):
    """``jnp.matmul``.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.matmul(jnp.eye(2), jnp.array([1.0, 2.0]))
    Array([1., 2.], dtype=float32)
    """
    return _linalg.matmul(x1, x2, preferred_element_type=preferred_element_type)


def tensordot(x1, x2, /, *, axes=2, precision=None, preferred_element_type=None):
    """``jnp.tensordot`` with keyword-only ``axes``.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.tensordot(jnp.ones((2, 3)), jnp.ones((3, 4)), axes=1).shape
    (2, 4)
    """
    return _linalg.tensordot(x1, x2, axes, preferred_element_type=preferred_element_type)


def svdvals(x, /):
    """The singular values of each matrix, in descending order.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.svdvals(jnp.array([[0.0, 2.0], [1.0, 0.0]]))
    Array([2., 1.], dtype=float32)
    """
    return svd(x, compute_uv=False, hermitian=False)


def diagonal(x, /, *, offset=0):
    """The diagonals ``offset`` of the matrices in the last two axes.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.diagonal(jnp.array([[1.0, 2.0], [3.0, 4.0]]), offset=1)
    Array([2.], dtype=float32)
    """
    x = _array(x)
    if x.ndim < 2:
        raise ValueError("diagonal requires an array of at least two dimensions.")
    offset = operator.index(offset)
    n, m = x.shape[-2:]
    if offset >= 0:
        size = max(0, min(n, m - offset))
        r0, c0 = 0, offset
    else:
        size = max(0, min(n + offset, m))
        r0, c0 = -offset, 0
    lead = (0,) * (x.ndim - 2)
    block = _ops.static_slice(x, (*lead, r0, c0), (*x.shape[:-2], r0 + size, c0 + size))
    return _dec.diagonal(block)


def trace(x, /, *, offset=0, dtype=None):
    """The sum of the diagonal ``offset`` of the matrices in the last two axes.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.trace(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    Array(5., dtype=float32)
    """
    return _linalg.trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


def tensorinv(a, ind=2):
    """The inverse of a tensor seen as a matrix (its first ``ind`` axes against the others).

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.tensorinv(jnp.eye(4).reshape(4, 2, 2), ind=1).shape
    (2, 2, 4)
    """
    arr = _array(a)
    ind = operator.index(ind)
    if ind <= 0:
        raise ValueError(f"ind must be a positive integer; got {ind=}")
    contracting_shape, batch_shape = arr.shape[:ind], arr.shape[ind:]
    flatshape = (math.prod(contracting_shape), math.prod(batch_shape))
    if flatshape[0] != flatshape[1]:
        raise ValueError(
            "tensorinv is only possible when the product of the first `ind` dimensions equals "
            f"that of the remaining dimensions. got arr.shape={arr.shape!r} with {ind=}."
        )
    return _ops.reshape(inv(_ops.reshape(arr, flatshape)), (*batch_shape, *contracting_shape))


def tensorsolve(a, b, axes=None):
    """Solve the tensor equation ``tensordot(a, x, x.ndim) = b`` for ``x``.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.tensorsolve(2 * jnp.eye(4).reshape(2, 2, 4), jnp.ones((2, 2))).shape
    (4,)
    """
    a_arr, b_arr = _array(a), _array(b)
    if axes is not None:
        a_arr = _shape.moveaxis(a_arr, axes, len(axes) * (a_arr.ndim - 1,))
    out_shape = a_arr.shape[b_arr.ndim :]
    if a_arr.shape[: b_arr.ndim] != b_arr.shape:
        raise ValueError(
            "After moving axes to end, leading shape of a must match shape of b. got "
            f"a.shape={a_arr.shape}, b.shape={b_arr.shape}"
        )
    if b_arr.size != math.prod(out_shape):
        raise ValueError(
            "Input arrays must have prod(a.shape[:b.ndim]) == prod(a.shape[b.ndim:]); got "
            f"a.shape={a_arr.shape}, b.ndim={b_arr.ndim}."
        )
    a_arr = _ops.reshape(a_arr, (b_arr.size, math.prod(out_shape)))
    return _ops.reshape(solve(a_arr, _ops.reshape(b_arr, (b_arr.size,))), out_shape)


def multi_dot(arrays, *, precision=None):
    """The product of a chain of matrices (the first and last may be vectors), in the order
    ``einsum``'s optimizer picks.

    >>> import pullback.numpy as jnp
    >>> jnp.linalg.multi_dot([jnp.ones(3), jnp.ones((3, 2)), jnp.ones(2)])
    Array(6., dtype=float32)
    """
    arrs = [_array(a) for a in arrays]
    if len(arrs) < 2:
        raise ValueError(f"multi_dot requires at least two arrays; got len(arrays)={len(arrs)}")
    if not (
        arrs[0].ndim in (1, 2) and arrs[-1].ndim in (1, 2) and all(a.ndim == 2 for a in arrs[1:-1])
    ):
        raise ValueError(
            "multi_dot: input arrays must all be two-dimensional, except for the first and last "
            f"array which may be 1 or 2 dimensional. Got array shapes {[a.shape for a in arrs]}"
        )
    if any(a.shape[-1] != b.shape[0] for a, b in zip(arrs[:-1], arrs[1:])):
        raise ValueError(
            "multi_dot: last dimension of each array must match first dimension of following "
            f"array. Got array shapes {[a.shape for a in arrs]}"
        )
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    specs = [letters[i : i + 2] for i in range(len(arrs))]
    if arrs[0].ndim == 1:
        specs[0] = specs[0][1:]
    if arrs[-1].ndim == 1:
        specs[-1] = specs[-1][:1]
    used = "".join(dict.fromkeys(itertools.chain(*specs)))
    counts = {c: sum(c in s for s in specs) for c in used}
    out = "".join(c for c in used if counts[c] == 1)
    return _linalg.einsum(",".join(specs) + "->" + out, *arrs)
