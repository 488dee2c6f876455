"""``pullback.flatten_util``: ``ravel_pytree``, as ``jax.flatten_util``.

The leaves are reshaped to vectors and concatenated in pytree order, in the dtype that JAX's
promotion gives them together; ``unravel`` cuts a vector of that length back into the leaves'
shapes (and, when the leaves had several dtypes, their dtypes). Both are written with
``pullback.lax`` operations, so they work under ``jit``, ``grad`` and ``vmap``.
"""

from __future__ import annotations

import functools

import numpy as np

from pullback import _dtypes, _ops
from pullback.lax import _elementwise, _shapes
from pullback.lax._common import _arr
from pullback.tree_util import tree_flatten, tree_unflatten

__all__ = ["ravel_pytree"]


class _HashablePartial(functools.partial):
    """A ``functools.partial`` equal to (and hashing as) another with the same function and
    arguments, as JAX's ``HashablePartial``: ``unravel`` functions of equal structures are equal,
    so passing one as a static argument of ``jit`` does not retrace."""

    def __eq__(self, other):
        return (
            type(other) is _HashablePartial
            and self.func == other.func
            and self.args == other.args
            and self.keywords == other.keywords
        )

    def __hash__(self):
        return hash((self.func, self.args, tuple(sorted(self.keywords.items()))))


def ravel_pytree(pytree):
    """Ravel (flatten) a pytree of arrays down to a 1D array.

    Returns ``(flat, unravel)``: ``flat`` is the leaves' values concatenated into one vector,
    with the dtype that promoting the leaves' dtypes gives; ``unravel`` maps a vector of the
    same length back to a pytree of ``pytree``'s structure. A pytree without leaves gives an
    empty float32 vector.

    >>> import pullback.numpy as jnp
    >>> from pullback.flatten_util import ravel_pytree
    >>> flat, unravel = ravel_pytree({"a": jnp.ones(2), "b": (jnp.zeros((2, 2)), 3.0)})
    >>> flat
    Array([1., 1., 0., 0., 0., 0., 3.], dtype=float32)
    >>> unravel(flat)["b"][0]
    Array([[0., 0.],
           [0., 0.]], dtype=float32)
    >>> ravel_pytree((jnp.int32(1), jnp.ones(2, jnp.float16)))[0]
    Array([1., 1., 1.], dtype=float16)
    """
    leaves, treedef = tree_flatten(pytree)
    flat, unravel_list = _ravel_list(leaves)
    return flat, _HashablePartial(unravel_pytree, treedef, unravel_list)


def unravel_pytree(treedef, unravel_list, flat):
    return tree_unflatten(treedef, unravel_list(flat))


def _empty(flat):
    return []


def _leaf_dtype(x):
    """JAX's ``dtypes.dtype``: NumPy values keep their own dtype (not canonicalized)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype
    return _dtypes.dtype(x)


def _ravel_list(lst):
    if not lst:
        return _ops.full((0,), 0, np.float32), _empty
    from_dtypes = tuple(_leaf_dtype(x) for x in lst)
    to_dtype = _dtypes.result_type(*from_dtypes)
    sizes = tuple(int(np.size(x)) for x in lst)
    shapes = tuple(tuple(np.shape(x)) for x in lst)
    if all(dt == to_dtype for dt in from_dtypes):
        # no conversion: the unravel function is dtype-polymorphic (jax-ml/jax#7809)
        raveled = _shapes.concatenate([_ops.reshape(_arr(x), (n,)) for x, n in zip(lst, sizes)], 0)
        return raveled, _HashablePartial(_unravel_list_single_dtype, sizes, shapes)
    raveled = _shapes.concatenate(
        [
            _ops.reshape(_elementwise.convert_element_type(x, to_dtype), (n,))
            for x, n in zip(lst, sizes)
        ],
        0,
    )
    unravel = _HashablePartial(_unravel_list, sizes, shapes, from_dtypes, to_dtype)
    return raveled, unravel


def _split(arr, sizes):
    arr = _arr(arr)
    if arr.ndim != 1 or sum(sizes) != arr.shape[0]:
        raise ValueError(
            f"Sum of sizes {sum(sizes)} must be equal to dimension 0 of the operand shape "
            f"{list(arr.shape)}"
        )
    return _ops.split(arr, sizes, 0) if len(sizes) > 1 else [arr]


def _unravel_list_single_dtype(sizes, shapes, arr):
    chunks = _split(arr, sizes)
    return [_ops.reshape(chunk, shape) for chunk, shape in zip(chunks, shapes)]


def _unravel_list(sizes, shapes, from_dtypes, to_dtype, arr):
    arr_dtype = _dtypes.dtype(arr)
    if arr_dtype != to_dtype:
        raise TypeError(
            f"unravel function given array of dtype {arr_dtype}, but expected dtype {to_dtype}"
        )
    chunks = _split(arr, sizes)
    return [
        _elementwise.convert_element_type(_ops.reshape(chunk, shape), dtype)
        for chunk, shape, dtype in zip(chunks, shapes, from_dtypes)
    ]
