"""Solves and inverses: ``solve``, ``inv``, ``matrix_power``, ``tensorinv`` and ``tensorsolve``."""

from __future__ import annotations

import math
import operator

from pullback import _ops
from pullback._ops import decompositions as _dec
from pullback.numpy import _linalg, _shape
from pullback.numpy._creation import eye
from pullback.numpy.linalg._common import (
    _array,
    _broadcast_batch,
    _core_dims,
    _inexact,
)


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
