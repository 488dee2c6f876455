"""``lax`` array creation from an example array: ``full_like``."""

from __future__ import annotations

import numpy as np

from pullback import _dtypes, _ops
from pullback.lax._common import _arr
from pullback.numpy._creation import full

__all__ = ["full_like"]


def full_like(x, fill_value, dtype=None, shape=None, sharding=None):
    """The scalar ``fill_value`` with the shape and dtype of ``x`` (or ``shape``/``dtype``).

    ``x`` may be an array, a Python scalar or anything with ``shape`` and ``dtype``; the result
    is weakly typed when ``x`` is and no ``dtype`` is given. Only ``fill_value`` is
    differentiated. ``sharding`` is accepted and ignored (NumPy arrays live on one device).

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.full_like(jnp.zeros(2), 2)
    Array([2., 2.], dtype=float32)
    >>> lax.full_like(1.0, 2)
    Array(2., dtype=float32, weak_type=True)
    >>> lax.full_like(jnp.zeros(2), 7.9, jnp.int32, shape=(2, 2))
    Array([[7, 7],
           [7, 7]], dtype=int32)
    """
    if np.shape(fill_value):
        raise TypeError(
            f"full must be called with scalar fill_value, got fill_value.shape "
            f"{np.shape(fill_value)}."
        )
    x = _arr(x)
    weak = dtype is None and _dtypes.is_weakly_typed(x)
    dtype = _dtypes.canonicalize_dtype(x.dtype if dtype is None else dtype)
    # the fill is converted before it is broadcast so that, as in JAX, the result's weak type
    # comes from ``x``, never from ``fill_value``
    fill = _ops.convert_element_type(fill_value, dtype, weak)
    return full(tuple(x.shape) if shape is None else shape, fill)
