"""``lax`` reductions, arg-reductions, cumulative operations and ``iota``."""

from __future__ import annotations

import operator

from pullback import _dtypes, _ops
from pullback.lax._common import _arr, _axes

__all__ = [
    "argmax",
    "argmin",
    "cumprod",
    "cumsum",
    "iota",
    "reduce_and",
    "reduce_max",
    "reduce_min",
    "reduce_or",
    "reduce_prod",
    "reduce_sum",
]


def _reduction(name, fn, doc):
    def op(operand, axes):
        x = _arr(operand)
        return fn(x, tuple(sorted(set(_axes(axes, x.ndim, name)))))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


reduce_sum = _reduction(
    "reduce_sum",
    _ops.reduce_sum,
    """Sum over ``axes``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reduce_sum(jnp.ones((2, 3)), (1,))
    Array([3., 3.], dtype=float32)
    """,
)
reduce_max = _reduction(
    "reduce_max",
    _ops.reduce_max,
    """Maximum over ``axes``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reduce_max(jnp.array([[1.0, 5.0], [3.0, 2.0]]), (0,))
    Array([3., 5.], dtype=float32)
    """,
)
reduce_min = _reduction(
    "reduce_min",
    _ops.reduce_min,
    """Minimum over ``axes``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reduce_min(jnp.array([[1.0, 5.0], [3.0, 2.0]]), (0,))
    Array([1., 2.], dtype=float32)
    """,
)
reduce_prod = _reduction(
    "reduce_prod",
    _ops.reduce_prod,
    """Product over ``axes``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reduce_prod(jnp.array([2.0, 3.0]), (0,))
    Array(6., dtype=float32)
    """,
)
reduce_and = _reduction(
    "reduce_and",
    _ops.reduce_and,
    """Logical AND over ``axes`` of a boolean array.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reduce_and(jnp.array([True, False]), (0,))
    Array(False, dtype=bool)
    """,
)
reduce_or = _reduction(
    "reduce_or",
    _ops.reduce_or,
    """Logical OR over ``axes`` of a boolean array.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.reduce_or(jnp.array([True, False]), (0,))
    Array(True, dtype=bool)
    """,
)


def argmax(operand, axis, index_dtype):
    """Index of the first maximum along ``axis``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.argmax(jnp.array([1.0, 3.0, 2.0]), 0, jnp.int32)
    Array(1, dtype=int32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "argmax")
    return _ops.argmax(x, axis, _dtypes.canonicalize_dtype(index_dtype))


def argmin(operand, axis, index_dtype):
    """Index of the first minimum along ``axis``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.argmin(jnp.array([1.0, 3.0, 0.0]), 0, jnp.int32)
    Array(2, dtype=int32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "argmin")
    return _ops.argmin(x, axis, _dtypes.canonicalize_dtype(index_dtype))


def cumsum(operand, axis=0, reverse=False):
    """Running sum along ``axis`` (from the end when ``reverse``).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.cumsum(jnp.arange(4.0), reverse=True)
    Array([6., 6., 5., 3.], dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "cumsum")
    return _ops.cumsum(x, axis, reverse)


def cumprod(operand, axis=0, reverse=False):
    """Running product along ``axis`` (from the end when ``reverse``).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.cumprod(jnp.array([1.0, 2.0, 3.0]))
    Array([1., 2., 6.], dtype=float32)
    """
    x = _arr(operand)
    (axis,) = _axes((axis,), x.ndim, "cumprod")
    return _ops.cumprod(x, axis, reverse)


def iota(dtype, size):
    """``[0, 1, ..., size - 1]`` with ``dtype``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.iota(jnp.int32, 3)
    Array([0, 1, 2], dtype=int32)
    """
    return _ops.arange(0, operator.index(size), 1, _dtypes.canonicalize_dtype(dtype))
