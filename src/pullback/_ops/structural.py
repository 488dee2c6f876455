"""Structural primitives every other rule needs: reshape, broadcast, transpose, reduce_sum."""

from __future__ import annotations

import functools
import math

import numpy as np

from pullback._core import EVAL, RAW, Array, state
from pullback._ops import _base
from pullback._ops._base import Linear, _is_raw, primitive, unbroadcast

# In a first-order backward pass (interpreter RAW) the operations below are called on bare
# ndarrays: they then run their impl directly, as ``unary``/``binary`` do.


def _reduce_sum_impl(x, *, axes):
    return np.add.reduce(x, axis=axes, dtype=x.dtype)


def _reduce_sum_vjp(ct, ans, x, *, axes):
    if len(axes) == len(x.shape):  # a full reduction: the scalar cotangent broadcasts as it is
        return broadcast_to(ct, x.shape)
    shape = list(x.shape)
    for a in axes:
        shape[a] = 1
    return broadcast_to(reshape(ct, tuple(shape)), x.shape)


reduce_sum_p, _reduce_sum = primitive("reduce_sum", _reduce_sum_impl, vjp=(_reduce_sum_vjp,))


def reduce_sum(x, axes):
    """Sum over ``axes`` (a tuple of non-negative ints)."""
    interp = state.interp
    if interp is RAW and _is_raw(x):
        return _reduce_sum_impl(x, axes=tuple(axes))
    if interp is EVAL and type(x) is Array:
        return Array(_reduce_sum_impl(x._value, axes=tuple(axes)), x._weak)
    return _reduce_sum(x, axes=tuple(axes))


reshape_p, _reshape = primitive(
    "reshape",
    lambda x, *, shape: x.reshape(shape),
    vjp=(lambda ct, ans, x, *, shape: reshape(ct, x.shape),),
)


def reshape(x, shape):
    """Reshape to ``shape`` (a tuple of ints, no -1)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    if state.interp is RAW and _is_raw(x):
        return reshape_p.impl(x, shape=shape)
    return _reshape(x, shape=shape)


def _broadcast_impl(x, *, shape):
    # np.broadcast_to costs ~3 µs of Python; for small results a filled copy is cheaper
    if math.prod(shape) > 4096:
        return np.broadcast_to(x, shape)
    out = np.empty(shape, x.dtype)
    np.copyto(out, x)
    return out


broadcast_to_p, _broadcast_to = primitive(
    "broadcast_in_dim",
    _broadcast_impl,
    vjp=(lambda ct, ans, x, *, shape: unbroadcast(ct, x),),
)


def broadcast_to(x, shape):
    """Broadcast with NumPy's rules to ``shape``."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    if state.interp is RAW and _is_raw(x):
        return broadcast_to_p.impl(x, shape=shape)
    return _broadcast_to(x, shape=shape)


transpose_p, _transpose = primitive(
    "transpose",
    lambda x, *, permutation: x.transpose(permutation),
    vjp=(
        lambda ct, ans, x, *, permutation: transpose(ct, tuple(np.argsort(permutation).tolist())),
    ),
)


def transpose(x, permutation):
    """Permute axes."""
    permutation = tuple(permutation)
    if permutation == _identity_permutation(len(permutation)):
        return x
    if state.interp is RAW and _is_raw(x):
        return x.transpose(permutation)
    return _transpose(x, permutation=permutation)


@functools.cache
def _identity_permutation(n):
    return tuple(range(n))


_base.set_unbroadcast_ops(reduce_sum, reshape)
_base.set_structural_ops(transpose=transpose, reshape=reshape, broadcast_to=broadcast_to)


stop_gradient_p, _stop_gradient = primitive("stop_gradient", lambda x: x)


def stop_gradient(x):
    """``x`` as a constant: no derivative flows through it."""
    return _stop_gradient(x)


# Views of their operand: recomputing one costs nothing, so reverse mode keeps the operand
# rather than the view (``partial_eval``).
VIEWS = frozenset({reshape_p, broadcast_to_p, transpose_p})


name_p, _name = primitive("name", lambda x, *, name: x, vjp=(lambda ct, ans, x, *, name: ct,))


def checkpoint_name(x, name):
    """``x``, named ``name`` for checkpoint policies (``save_only_these_names``...)."""
    return _name(x, name=name)


# -- where these primitives are linear (for linear_transpose) --------------------------------------

for _prim in (reduce_sum_p, reshape_p, broadcast_to_p, transpose_p, name_p):
    _prim.transpose = Linear(0)


# -- batching rules (vmap) -------------------------------------------------------------------------


def _reshape_batch(values, bdims, *, shape):
    x = _base.batch_at(values[0], bdims[0], None)
    return reshape(x, x.shape[:1] + shape), 0


def _broadcast_batch(values, bdims, *, shape):
    # the example's axes are right-aligned against ``shape``: size-1 axes go after the batch axis
    x = _base.batch_at(values[0], bdims[0], None)
    n = x.shape[0]
    x = reshape(x, (n,) + (1,) * (len(shape) + 1 - x.ndim) + x.shape[1:])
    return broadcast_to(x, (n,) + shape), 0


def _transpose_batch(values, bdims, *, permutation):
    d = bdims[0]
    return transpose(values[0], (d, *(_base.batched_axis(p, d) for p in permutation))), 0


reduce_sum_p.batch = _base.reduction(reduce_sum_p)
reshape_p.batch = _reshape_batch
broadcast_to_p.batch = _broadcast_batch
transpose_p.batch = _transpose_batch
stop_gradient_p.batch = _base.SameBdim(stop_gradient_p)
name_p.batch = lambda values, bdims, *, name: (checkpoint_name(values[0], name), bdims[0])
