"""Determinants: ``slogdet`` (by LU, or QR) and ``det``, with JAX's derivatives
(``custom_jvp``): ``det``'s JVP solves with cofactors, finite for singular matrices."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pullback import _ops
from pullback._core import Array
from pullback._hop.custom_jvp import custom_jvp
from pullback._ops import decompositions as _dec
from pullback.numpy import _linalg, _reductions, _shape
from pullback.numpy._creation import ones
from pullback.numpy.linalg._common import (
    _count_nonzero,
    _inexact,
)
from pullback.numpy.linalg._solve import solve


class SlogdetResult(NamedTuple):
    sign: Array
    logabsdet: Array


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
