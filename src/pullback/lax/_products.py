"""``lax`` tensor products: ``dot_general`` and ``dot``."""

from __future__ import annotations

import string

from pullback import _dtypes, _ops
from pullback.lax._common import _arr, _axes

__all__ = [
    "dot",
    "dot_general",
]


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """General tensor contraction: ``dimension_numbers = ((lhs_contract, rhs_contract),
    (lhs_batch, rhs_batch))``. The result has the batch axes, then the free axes of ``lhs``,
    then those of ``rhs``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> x = jnp.ones((2, 3, 4))
    >>> lax.dot_general(x, x, (((2,), (2,)), ((0,), (0,)))).shape
    (2, 3, 3)
    """
    lhs, rhs = _promoted_pair(lhs, rhs)
    (lc, rc), (lb, rb) = dimension_numbers
    lc, rc = _axes(lc, lhs.ndim, "dot_general"), _axes(rc, rhs.ndim, "dot_general")
    lb, rb = _axes(lb, lhs.ndim, "dot_general"), _axes(rb, rhs.ndim, "dot_general")
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise TypeError(
            f"dot_general requires equal numbers of lhs and rhs contracting and batch "
            f"dimensions, got {dimension_numbers}."
        )
    for a, b in list(zip(lc, rc)) + list(zip(lb, rb)):
        if lhs.shape[a] != rhs.shape[b]:
            raise TypeError(
                f"dot_general requires contracting and batch dimensions to have the same "
                f"sizes, got lhs shape {tuple(lhs.shape)}, rhs shape {tuple(rhs.shape)} and "
                f"dimension_numbers {dimension_numbers}."
            )
    letters = iter(string.ascii_letters)
    lsub = [next(letters) for _ in range(lhs.ndim)]
    rsub = [next(letters) for _ in range(rhs.ndim)]
    for a, b in list(zip(lc, rc)) + list(zip(lb, rb)):
        rsub[b] = lsub[a]
    out = [lsub[a] for a in lb]
    out += [lsub[i] for i in range(lhs.ndim) if i not in lc and i not in lb]
    out += [rsub[i] for i in range(rhs.ndim) if i not in rc and i not in rb]
    subscripts = f"{''.join(lsub)},{''.join(rsub)}->{''.join(out)}"
    result = _ops.einsum((lhs, rhs), subscripts)
    if preferred_element_type is not None:
        result = _ops.convert_element_type(
            result, _dtypes.canonicalize_dtype(preferred_element_type)
        )
    return result


def _promoted_pair(x, y):
    x, y = _arr(x), _arr(y)
    dtype = _dtypes.result_type(x, y)
    return _ops.convert_element_type(x, dtype), _ops.convert_element_type(y, dtype)


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """Vector/matrix product: contracts the last axis of ``lhs`` with the first of ``rhs``.

    >>> from pullback import lax
    >>> import pullback.numpy as jnp
    >>> lax.dot(jnp.ones(3), jnp.ones(3))
    Array(3., dtype=float32)
    """
    lhs, rhs = _arr(lhs), _arr(rhs)
    if not (1 <= lhs.ndim <= 2 and 1 <= rhs.ndim <= 2):
        raise TypeError(
            f"dot only supports rank 1 or 2 operands, got shapes {tuple(lhs.shape)} and "
            f"{tuple(rhs.shape)}; use dot_general for higher ranks."
        )
    dims = (((lhs.ndim - 1,), (0,)), ((), ()))
    return dot_general(lhs, rhs, dims, precision, preferred_element_type)
