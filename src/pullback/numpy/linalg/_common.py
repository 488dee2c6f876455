"""What the modules of ``pullback.numpy.linalg`` share: promotion to an inexact dtype,
transposes, JAX's shape checks and error messages, broadcasting of batch dimensions."""

from __future__ import annotations

import operator

import numpy as np

from pullback import _dtypes, _ops
from pullback._core import Array
from pullback.numpy import _reductions
from pullback.numpy._creation import asarray


def _array(a):
    return a if isinstance(a, Array) else asarray(a)


def _inexact(*arrays, who=None):
    """The arrays as ``Array``s promoted together to an inexact dtype (JAX's
    ``promote_dtypes_inexact``); complex ones are not supported yet."""
    arrays = [_array(a) for a in arrays]
    dtype = _dtypes.to_inexact_dtype(_dtypes.result_type(*arrays))
    if dtype.kind == "c":
        raise NotImplementedError(
            f"{who or 'jnp.linalg'}: complex matrices are not supported yet; pullback's linear "
            f"algebra is real."
        )
    return [
        a if a.dtype == dtype else _ops.convert_element_type(a, dtype, a.weak_type) for a in arrays
    ]


def _H(x):
    return _T(x)


def _T(x):
    n = x.ndim
    return _ops.transpose(x, (*range(n - 2), n - 1, n - 2))


def _symmetrize(x):
    return (x + _H(x)) / 2


def _check_symmetrizable(a):
    """The errors JAX's ``(a + a^T) / 2`` raises for what is not a stack of square matrices."""
    if a.ndim < 2:
        perm = (*range(a.ndim - 2), a.ndim - 1, a.ndim - 2)
        raise TypeError(
            f"transpose permutation isn't a permutation of operand dimensions, got permutation "
            f"{perm} for operand shape {a.shape}."
        )
    if a.shape[-1] != a.shape[-2]:
        raise TypeError(
            f"add got incompatible shapes for broadcasting: {a.shape}, {_T_shape(a.shape)}."
        )


def _T_shape(shape):
    return (*shape[:-2], shape[-1], shape[-2])


def _check_square(a, message):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(message.format(shape=a.shape))


def _check_rank2(a, who):
    if a.ndim < 2:
        raise TypeError(f"Input 0 to {who} must have rank at least 2, but got shape={a.shape}")


def _canonical_axis(axis, ndim):
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _count_nonzero(x, axis):
    return _reductions.sum(x, axis=axis)


def _core_dims(signature, *arrays):
    """JAX's ``vectorize`` check of the core dimensions: sizes of one name must agree."""
    ins = signature.split("->")[0]
    specs = [s.strip("()").split(",") if s != "()" else [] for s in ins.split("),(")]
    sizes = {}
    for spec, a in zip(specs, arrays, strict=True):
        spec = [d for d in spec if d]
        if a.ndim < len(spec):
            raise ValueError(
                f"input with shape {a.shape!r} does not have enough dimensions for all core "
                f"dimensions {tuple(spec)!r} on vectorized function with excluded=frozenset() "
                f"and signature={signature!r}"
            )
        for name, n in zip(spec, a.shape[a.ndim - len(spec) :]):
            if sizes.setdefault(name, n) != n:
                raise ValueError(
                    f"inconsistent size for core dimension {name!r}: {n} vs {sizes[name]} on "
                    f"vectorized function with excluded=frozenset() and signature={signature!r}"
                )


def _broadcast_batch(a, core_a, b, core_b):
    """``a`` and ``b`` broadcast to common leading (batch) dimensions; their last ``core_a`` and
    ``core_b`` dimensions are kept."""
    shapes = [a.shape[: a.ndim - core_a], b.shape[: b.ndim - core_b]]
    try:
        batch = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: shapes={shapes}") from None
    a = _ops.broadcast_to(a, (*batch, *a.shape[a.ndim - core_a :]))
    b = _ops.broadcast_to(b, (*batch, *b.shape[b.ndim - core_b :]))
    return a, b


def _sort_descending(s):
    """A one-hot matrix ``P`` (last axes) with ``P @ s`` the entries of ``s`` in descending order:
    a stable ascending sort, reversed (as ``lax.sort`` then ``lax.rev`` in JAX)."""
    n = s.shape[-1]
    si = s[..., :, None]
    sj = s[..., None, :]
    before = _ops.reshape(_ops.arange(0, n, 1, np.int32), (1, n)) < _ops.reshape(
        _ops.arange(0, n, 1, np.int32), (n, 1)
    )
    ties = _ops.logical_and(_ops.equal(sj, si), before)
    rank = _reductions.sum(_ops.logical_or(_ops.less(sj, si), ties), axis=-1)
    position = (n - 1) - rank  # (..., n): where entry i goes
    rows = _ops.reshape(_ops.arange(0, n, 1, position.dtype), (n, 1))
    return _ops.convert_element_type(_ops.equal(position[..., None, :], rows), s.dtype)
