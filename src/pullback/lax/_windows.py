"""``lax.reduce_window``: reductions over (strided, padded, dilated) windows.

As in JAX, ``lax.add`` with a zero ``init_value``, and ``lax.max``/``lax.min`` with their
identity (``-inf``/``inf``, or the integer extremes), are the monoid primitives
``reduce_window_sum``/``max``/``min`` (``pullback._ops.windows``), whose derivatives are exact
(the cotangent of a max/min window goes to its first extremum, as XLA's select-and-scatter
does). Any other ``computation`` (or ``init_value``, or a pytree of operands) is folded over
the window offsets with ``computation`` itself: the operands are padded with ``init_value``,
and the result starts from ``init_value`` and combines the elements at each offset of every
window at once (strided slices), so it is differentiable, batchable and staged like any
composition of primitives.
"""

from __future__ import annotations

import itertools
import operator

import numpy as np

from pullback import _dtypes, _ops
from pullback._core import Array
from pullback._ops.windows import (
    dilate_dim,
    reduce_window_max,
    reduce_window_min,
    reduce_window_shape,
    reduce_window_sum,
    signed_pad,
)
from pullback.lax import _elementwise
from pullback.lax._common import _arr, _dtype
from pullback.lax._convolution import padtype_to_pads
from pullback.tree_util import tree_flatten, tree_unflatten

__all__ = ["reduce_window", "reduce_window_shape_tuple"]


def _check_shapelike(arg_name, obj, non_zero_shape=False):
    """JAX's ``_check_shapelike`` for ``reduce_window``."""
    if not isinstance(obj, (tuple, list, np.ndarray)):
        raise TypeError(
            f"reduce_window {arg_name} must be of type tuple/list/ndarray, got {type(obj)}."
        )
    try:
        values = tuple(operator.index(v) for v in obj)
    except TypeError as err:
        raise TypeError(
            f"reduce_window {arg_name} must have every element be an integer type, got "
            f"{tuple(map(type, obj))}."
        ) from err
    lower, what = (1, "strictly positive") if non_zero_shape else (0, "nonnegative")
    if not all(v >= lower for v in values):
        raise TypeError(f"reduce_window {arg_name} must have every element be {what}, got {obj}.")
    return values


def _check_windows(
    shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
):
    """JAX's ``_common_reduce_window_shape_rule``, in its order."""
    wd = _check_shapelike("window_dimensions", window_dimensions, non_zero_shape=True)
    ws = _check_shapelike("window_strides", window_strides, non_zero_shape=True)
    bd = _check_shapelike("base_dilation", base_dilation)
    wdl = _check_shapelike("window_dilation", window_dilation)
    if len(shape) != len(wd):
        raise TypeError(
            f"reduce_window got the wrong number of window_dimensions for operand: got operand "
            f"shape {tuple(shape)} with window_dimensions {tuple(window_dimensions)}."
        )
    for name, v in (
        ("window_strides", ws),
        ("base_dilation", bd),
        ("window_dilation", wdl),
    ):
        if len(v) != len(wd):
            raise TypeError(
                f"reduce_window got inconsistent {name} and window_dimensions: got {name} "
                f"{tuple(v)} and window_dimensions {tuple(window_dimensions)}."
            )
    if len(padding) != len(wd):
        raise ValueError(
            f"reduce_window got {len(padding)} padding pairs for an operand of rank {len(wd)}."
        )
    return wd, ws, bd, wdl


def _max_identity(dtype):
    if dtype.kind in "fc":
        return -np.inf
    if dtype.kind in "iu":
        return np.iinfo(dtype).min
    return False


def _min_identity(dtype):
    if dtype.kind in "fc":
        return np.inf
    if dtype.kind in "iu":
        return np.iinfo(dtype).max
    return True


def _concrete_scalar(x):
    """The value of ``x`` when it is a concrete scalar (not traced), else ``None``."""
    if type(x) in (bool, int, float):
        return x, _dtypes.canonicalize_dtype(type(x))
    if type(x) is Array or isinstance(x, (np.ndarray, np.generic)):
        v = np.asarray(x._value if type(x) is Array else x)
        if v.shape == ():
            return v[()], _dtypes.canonicalize_dtype(v.dtype)
    return None


def _monoid_reducer(computation, inits):
    """JAX's ``_get_monoid_window_reducer``: the primitive for ``computation`` and its identity,
    or ``None``."""
    if len(inits) != 1:
        return None
    known = _concrete_scalar(inits[0])
    if known is None:
        return None
    value, dtype = known
    if computation is _elementwise.add:
        return reduce_window_sum if value == 0 else None
    if computation is _elementwise.max:
        return reduce_window_max if value == _max_identity(dtype) else None
    if computation is _elementwise.min:
        return reduce_window_min if value == _min_identity(dtype) else None
    return None


def reduce_window(
    operand,
    init_value,
    computation,
    window_dimensions,
    window_strides=None,
    padding="VALID",
    base_dilation=None,
    window_dilation=None,
):
    """Reduction over padded windows.

    ``operand`` is an array or a pytree of arrays, ``init_value`` a scalar (or a pytree of
    scalars) of the same structure, ``computation(x, y)`` the combining function (on pytrees of
    that structure). ``padding`` is ``'VALID'`` (default), ``'SAME'``, ``'SAME_LOWER'`` or
    ``(low, high)`` pairs; ``base_dilation`` and ``window_dilation`` default to ones.

    >>> import pullback.numpy as jnp
    >>> from pullback import lax
    >>> x = jnp.arange(10, dtype='float32')
    >>> lax.reduce_window(x, 1.0, lax.mul, window_dimensions=(2,))
    Array([ 0.,  2.,  6., 12., 20., 30., 42., 56., 72.], dtype=float32)
    >>> y = jnp.arange(16.0).reshape(4, 4)
    >>> lax.reduce_window(y, -jnp.inf, lax.max, (2, 2), (2, 2), "VALID")
    Array([[ 5.,  7.],
           [13., 15.]], dtype=float32)
    >>> lax.reduce_window(y, 0.0, lax.add, (2, 2), (1, 1), "SAME")
    Array([[10., 14., 18., 10.],
           [26., 30., 34., 18.],
           [42., 46., 50., 26.],
           [25., 27., 29., 15.]], dtype=float32)
    """
    flat_operands, operand_tree = tree_flatten(operand)
    flat_inits, init_tree = tree_flatten(init_value)
    if operand_tree != init_tree:
        raise ValueError(
            f"Operands must have the same tree structure as init_values: {operand_tree} vs. "
            f"{init_tree}"
        )
    if len(flat_operands) != len(flat_inits):
        raise ValueError(
            f"Must have same total number of operands as init_values:  {len(flat_operands)} "
            f"vs. {len(flat_inits)}"
        )
    if not flat_operands:
        raise ValueError("reduce_window must have at least one operand.")
    flat_operands = [_arr(x) for x in flat_operands]
    shape = tuple(flat_operands[0].shape)
    window_dimensions = tuple(window_dimensions)
    if window_strides is None:
        window_strides = (1,) * len(window_dimensions)
    if isinstance(padding, str):
        dilated = (
            window_dimensions
            if window_dilation is None
            else tuple(dilate_dim(k, d) for k, d in zip(window_dimensions, window_dilation))
        )
        padding = tuple(padtype_to_pads(shape, dilated, window_strides, padding))
    else:
        padding = tuple((operator.index(lo), operator.index(hi)) for lo, hi in padding)
    if base_dilation is None:
        base_dilation = (1,) * len(window_dimensions)
    if window_dilation is None:
        window_dilation = (1,) * len(window_dimensions)
    wd, ws, bd, wdl = _check_windows(
        shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
    )
    monoid = _monoid_reducer(computation, flat_inits)
    if monoid is not None:
        (x,) = flat_operands
        if monoid is reduce_window_sum and x.dtype.kind not in "iufc":
            raise TypeError(
                f"operand to reduce_window_sum must have a number dtype, got {x.dtype.name}"
            )
        out = monoid(x, wd, ws, padding, bd, wdl)
        return tree_unflatten(operand_tree, [out])
    return _generic(flat_operands, flat_inits, operand_tree, computation, wd, ws, padding, bd, wdl)


def _generic(operands, inits, tree, computation, wd, ws, padding, bd, wdl):
    inits = [_arr(v) for v in inits]
    op_dtypes = [_dtype(x) for x in operands]
    init_dtypes = [_dtype(v) for v in inits]
    if op_dtypes != init_dtypes:
        raise TypeError(
            f"reduce_window got inconsistent dtypes for operands and init_values: got operand "
            f"dtypes {op_dtypes} and init_value dtypes {init_dtypes}."
        )
    if any(v.shape != () for v in inits):
        raise TypeError(
            f"reduce_window expected init_values to be scalars but init_values have shapes "
            f"{[tuple(v.shape) for v in inits]}."
        )
    for x in operands[1:]:
        if tuple(x.shape) != tuple(operands[0].shape):
            raise ValueError(
                f"reduce_window operands must have the same shape, got "
                f"{[tuple(x.shape) for x in operands]}."
            )
    shape = tuple(operands[0].shape)
    out_shape = reduce_window_shape(shape, wd, ws, padding, bd, wdl)
    config = tuple((lo, hi, d - 1) for (lo, hi), d in zip(padding, bd))
    # the init values keep their types (a weak Python scalar stays weak beside the operand)
    padded = [
        signed_pad(x, _ops.convert_element_type(v, x.dtype), config)
        for x, v in zip(operands, inits)
    ]
    acc = [
        _ops.broadcast_to(_ops.convert_element_type(v, x.dtype), out_shape)
        for x, v in zip(operands, inits)
    ]
    if any(n == 0 for n in out_shape):
        return tree_unflatten(tree, acc)
    # As XLA, a window combines ``init_value`` with its elements inside the operand only:
    # padding and the holes of base dilation are skipped (they matter when ``init_value`` is
    # not the computation's identity).
    mask = None
    for start in itertools.product(*(range(0, k * d, d) for k, d in zip(wd, wdl))):
        limits = [o + (n - 1) * s + 1 for o, n, s in zip(start, out_shape, ws)]
        slices = [_ops.static_slice(p, start, limits, ws) for p in padded]
        out = computation(tree_unflatten(tree, acc), tree_unflatten(tree, slices))
        flat, out_tree = tree_flatten(out)
        if out_tree != tree:
            raise ValueError(
                f"reduce_window output must have the same tree structure as the operands "
                f"{tree} vs. {out_tree}"
            )
        if _all_inside(start, out_shape, ws, shape, padding, bd):
            acc = flat
            continue
        if mask is None:
            mask = signed_pad(_ops.full(shape, True, np.bool_), False, config)
        inside = _ops.static_slice(mask, start, limits, ws)
        acc = [_elementwise.select(inside, f, a) for f, a in zip(flat, acc)]
    return tree_unflatten(tree, acc)


def _all_inside(start, out_shape, window_strides, shape, padding, base_dilation):
    """Whether the element at offset ``start`` of every window is an operand element (not
    padding, not a hole of base dilation)."""
    for o, m, s, n, (lo, _), d in zip(
        start, out_shape, window_strides, shape, padding, base_dilation
    ):
        for i in range(m):
            j, r = divmod(o + i * s - lo, d)
            if r or not 0 <= j < n:
                return False
    return True


def reduce_window_shape_tuple(
    operand_shape,
    window_dimensions,
    window_strides,
    padding,
    base_dilation=None,
    window_dilation=None,
):
    """The output shape of a windowed reduction.

    >>> from pullback import lax
    >>> lax.reduce_window_shape_tuple((8, 8), (3, 3), (2, 2), ((1, 1), (1, 1)))
    (4, 4)
    """
    n = len(window_dimensions)
    return reduce_window_shape(
        tuple(operand_shape),
        tuple(window_dimensions),
        tuple(window_strides),
        tuple(tuple(p) for p in padding),
        tuple(base_dilation or (1,) * n),
        tuple(window_dilation or (1,) * n),
    )
