"""Through the SVD: the pseudo-inverse ``pinv`` (with JAX's Golub-Pereyra derivative) and
the least-squares solve ``lstsq``."""

from __future__ import annotations

import functools

import numpy as np

from pullback import _ops
from pullback._hop.custom_jvp import custom_jvp
from pullback.numpy import _linalg, _reductions
from pullback.numpy._creation import asarray, zeros
from pullback.numpy._dtypes_api import finfo
from pullback.numpy.linalg._common import (
    _H,
    _T,
    _array,
    _inexact,
    _symmetrize,
)
from pullback.numpy.linalg._decompositions import svd
from pullback.numpy.linalg._norms import norm


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
