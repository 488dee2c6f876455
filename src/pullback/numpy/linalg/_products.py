"""Products and shapes: ``cross``, ``outer``, ``matrix_transpose``, ``vecdot``, ``matmul``,
``tensordot``, ``multi_dot``, ``diagonal`` and ``trace``."""

from __future__ import annotations

import itertools
import operator

from pullback import _ops
from pullback._ops import decompositions as _dec
from pullback.numpy import _linalg, _shape
from pullback.numpy.linalg._common import (
    _T,
    _array,
    _broadcast_batch,
)


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
