"""Norms: ``norm``, ``matrix_norm``, ``vector_norm``, the condition number ``cond`` and
``matrix_rank``."""

from __future__ import annotations

import numpy as np

from pullback import _ops
from pullback.numpy import _reductions, _shape
from pullback.numpy._creation import asarray
from pullback.numpy._dtypes_api import finfo
from pullback.numpy.linalg._common import (
    _array,
    _canonical_axis,
    _inexact,
)
from pullback.numpy.linalg._decompositions import svd, svdvals
from pullback.numpy.linalg._solve import inv


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
