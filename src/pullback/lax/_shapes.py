"""``lax`` shape operations: reshape, broadcast, transpose, squeeze, concatenate, pad, ..."""

from __future__ import annotations

import operator

import numpy as np

from pullback import _ops
from pullback.lax._common import _arr, _axes, _same_dtypes

__all__ = [
    "broadcast",
    "broadcast_in_dim",
    "concatenate",
    "expand_dims",
    "pad",
    "reshape",
    "rev",
    "squeeze",
    "transpose",
]


def reshape(operand, new_sizes, dimensions=None):
    """``operand`` (transposed by ``dimensions`` first, if given) with shape ``new_sizes``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reshape(jnp.arange(6.0).reshape(2, 3), (3, 2), dimensions=(1, 0))
    Array([[0., 3.],
           [1., 4.],
           [2., 5.]], dtype=float32)
    """
    x = _arr(operand)
    new_sizes = tuple(operator.index(n) for n in new_sizes)
    size = int(np.prod(new_sizes, dtype=np.int64))
    if size != x.size:
        raise TypeError(
            f"reshape total size must be unchanged, got new_sizes {new_sizes} (of total size "
            f"{size}) for shape {tuple(x.shape)} (of total size {x.size})."
        )
    if dimensions is not None:
        x = _ops.transpose(x, _axes(dimensions, x.ndim, "reshape"))
    return _ops.reshape(x, new_sizes)


def broadcast_in_dim(operand, shape, broadcast_dimensions):
    """``operand`` broadcast to ``shape``; its axis ``i`` becomes ``broadcast_dimensions[i]``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.broadcast_in_dim(jnp.array([1.0, 2.0]), (2, 3), (0,))
    Array([[1., 1., 1.],
           [2., 2., 2.]], dtype=float32)
    """
    x = _arr(operand)
    shape = tuple(operator.index(n) for n in shape)
    dims = tuple(operator.index(d) for d in broadcast_dimensions)
    if len(dims) != x.ndim or list(dims) != sorted(set(dims)) or any(d >= len(shape) for d in dims):
        raise TypeError(
            f"broadcast_in_dim broadcast_dimensions must have length equal to operand ndim and "
            f"be strictly increasing and in range, got broadcast_dimensions {dims} for operand "
            f"ndim {x.ndim} and shape {shape}."
        )
    expanded = [1] * len(shape)
    for i, d in enumerate(dims):
        n = x.shape[i]
        if n not in (1, shape[d]):
            raise TypeError(
                f"broadcast_in_dim operand dimension sizes must either be 1, or be equal to "
                f"their corresponding dimensions in the target broadcast shape; got operand of "
                f"shape {tuple(x.shape)}, target broadcast shape {shape}, broadcast_dimensions "
                f"{dims}."
            )
        expanded[d] = n
    return _ops.broadcast_to(_ops.reshape(x, tuple(expanded)), shape)


def broadcast(operand, sizes):
    """``operand`` with new leading dimensions ``sizes``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.broadcast(jnp.array([1.0, 2.0]), (2,))
    Array([[1., 2.],
           [1., 2.]], dtype=float32)
    """
    x = _arr(operand)
    sizes = tuple(sizes)
    dims = tuple(range(len(sizes), len(sizes) + x.ndim))
    return broadcast_in_dim(x, sizes + tuple(x.shape), dims)


def transpose(operand, permutation):
    """Permute the axes of ``operand``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.transpose(jnp.zeros((2, 3)), (1, 0)).shape
    (3, 2)
    """
    x = _arr(operand)
    perm = tuple(operator.index(p) for p in permutation)
    if sorted(perm) != list(range(x.ndim)):
        raise TypeError(
            f"transpose permutation isn't a permutation of operand dimensions, got permutation "
            f"{perm} for operand shape {tuple(x.shape)}."
        )
    return _ops.transpose(x, perm)


def squeeze(array, dimensions):
    """``array`` without its size-1 axes ``dimensions``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.squeeze(jnp.ones((1, 3, 1)), (0, 2)).shape
    (3,)
    """
    x = _arr(array)
    dims = tuple(sorted(set(_axes(dimensions, x.ndim, "squeeze"))))
    if any(x.shape[d] != 1 for d in dims):
        raise ValueError(
            f"cannot select an axis to squeeze out which has size not equal to one, got "
            f"shape={tuple(x.shape)} and dimensions={tuple(dimensions)}"
        )
    return _ops.squeeze(x, dims)


def expand_dims(array, dimensions):
    """``array`` with size-1 axes inserted at ``dimensions`` (of the result).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.expand_dims(jnp.ones(3), (0, 2)).shape
    (1, 3, 1)
    """
    x = _arr(array)
    ndim = x.ndim + len(dimensions)
    return _ops.expand_dims(x, tuple(sorted(_axes(dimensions, ndim, "expand_dims"))))


def rev(operand, dimensions):
    """``operand`` reversed along ``dimensions``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.rev(jnp.array([1.0, 2.0, 3.0]), (0,))
    Array([3., 2., 1.], dtype=float32)
    """
    x = _arr(operand)
    return _ops.rev(x, tuple(sorted(set(_axes(dimensions, x.ndim, "rev")))))


def concatenate(operands, dimension):
    """Join arrays of one dtype along ``dimension``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.concatenate([jnp.ones(2), jnp.zeros(1)], 0)
    Array([1., 1., 0.], dtype=float32)
    """
    operands = [_arr(x) for x in operands]
    if not operands:
        raise TypeError("concatenate requires a non-empty sequence of operands")
    _same_dtypes("concatenate", operands, "concatenate")
    (dimension,) = _axes((dimension,), operands[0].ndim, "concatenate")
    return _ops.concatenate(operands, dimension)


def pad(operand, padding_value, padding_config):
    """Pad ``operand`` with the scalar ``padding_value``; ``padding_config`` holds
    ``(low, high, interior)`` per dimension (negative ``low``/``high`` crop).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.pad(jnp.array([1.0, 2.0]), 0.0, [(1, 2, 1)])
    Array([0., 1., 0., 2., 0., 0.], dtype=float32)
    """
    x = _arr(operand)
    _same_dtypes("pad", (x, padding_value))
    config = [tuple(operator.index(v) for v in c) for c in padding_config]
    grown = _ops.pad(
        x,
        _arr(padding_value),
        tuple((lo if lo > 0 else 0, hi if hi > 0 else 0, i) for lo, hi, i in config),
    )
    if all(lo >= 0 and hi >= 0 for lo, hi, _ in config):
        return grown
    starts = [-lo if lo < 0 else 0 for lo, _, _ in config]
    limits = [n + hi if hi < 0 else n for n, (_, hi, _) in zip(grown.shape, config, strict=True)]
    return _ops.static_slice(grown, starts, limits)
