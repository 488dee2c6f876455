"""Primitives that create arrays from parameters alone (a backend supplies their impls)."""

from __future__ import annotations

import numpy as np

from pullback._ops._base import primitive

full_p, _full = primitive(
    "full", lambda *, shape, fill_value, dtype: np.full(shape, fill_value, dtype), weak="never"
)


def full(shape, fill_value, dtype):
    """``fill_value`` (a Python scalar) broadcast to ``shape`` with ``dtype``."""
    return _full(shape=tuple(shape), fill_value=fill_value, dtype=np.dtype(dtype))
