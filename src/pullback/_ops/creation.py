"""Primitives that create arrays from parameters alone (a backend supplies their impls)."""

from __future__ import annotations

import numpy as np

from pullback._ops._base import primitive, unbatched

full_p, _full = primitive(
    "full", lambda *, shape, fill_value, dtype: np.full(shape, fill_value, dtype), weak="never"
)


def full(shape, fill_value, dtype):
    """``fill_value`` (a Python scalar) broadcast to ``shape`` with ``dtype``."""
    return _full(shape=tuple(shape), fill_value=fill_value, dtype=np.dtype(dtype))


arange_p, _arange = primitive(
    "arange",
    lambda *, start, stop, step, dtype: np.arange(start, stop, step, dtype=dtype),
    weak="never",
)


def arange(start, stop, step, dtype):
    """``np.arange(start, stop, step)`` with ``dtype`` (static Python numbers)."""
    return _arange(start=start, stop=stop, step=step, dtype=np.dtype(dtype))


def _linspace_impl(*, start, stop, num, endpoint, dtype, computation_dtype):
    ct = computation_dtype
    start = np.asarray(start, ct)
    stop = np.asarray(stop, ct)
    div = num - 1 if endpoint else num
    if num == 0:
        out = np.zeros((0,), ct)
    elif div <= 0:
        out = start.reshape(1)
    else:
        t = np.arange(div, dtype=ct) / np.asarray(div, ct)
        out = start * (1 - t) + stop * t
        if endpoint:
            out = np.concatenate([out, stop.reshape(1)])
    if dtype.kind in "iub":
        out = np.floor(out)
    return out.astype(dtype)


linspace_p, _linspace = primitive("linspace", _linspace_impl, weak="never")


def linspace(start, stop, num, endpoint, dtype, computation_dtype):
    """``num`` evenly spaced points from ``start`` to ``stop`` (static Python numbers)."""
    return _linspace(
        start=start,
        stop=stop,
        num=int(num),
        endpoint=bool(endpoint),
        dtype=np.dtype(dtype),
        computation_dtype=np.dtype(computation_dtype),
    )


eye_p, _eye = primitive("eye", lambda *, N, M, k, dtype: np.eye(N, M, k, dtype=dtype), weak="never")


def eye(N, M, k, dtype):  # noqa: N803 - NumPy's names
    """An ``N x M`` array with ones on diagonal ``k`` and zeros elsewhere."""
    return _eye(N=int(N), M=int(M), k=int(k), dtype=np.dtype(dtype))


# -- batching rules (vmap): there are no operands, so nothing is ever batched ----------------------

for _prim in (full_p, arange_p, linspace_p, eye_p):
    _prim.batch = unbatched(_prim)
