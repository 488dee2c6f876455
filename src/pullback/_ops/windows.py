"""Windowed reductions: ``reduce_window_sum``, ``reduce_window_max``, ``reduce_window_min`` and
the two primitives their derivatives need, ``select_and_scatter_add`` and
``select_and_gather_add`` (JAX's names and parameters).

Every primitive here takes, per dimension of its operand, a window size
(``window_dimensions``), a step between windows (``window_strides``), ``padding`` as
``(low, high)`` pairs (negative values crop), ``base_dilation`` (holes between the operand's
elements, holding the reduction's identity) and ``window_dilation`` (holes between a window's
elements). The NumPy implementations walk the window's offsets: one vectorised operation per
offset over every window at once (for a 2x2 pool, four ``np.maximum`` calls), which adds in the
order XLA does (so sums agree to the bit) and keeps the operand's dtype; windows of more than
64 elements are reduced over a strided view of all windows instead (one call).

* ``reduce_window_sum`` is linear: its VJP is a ``pad`` of the cotangent (zeros between the
  strided positions) and a ``reduce_window_sum`` over it, as JAX transposes it.
* ``reduce_window_max``/``min``: the cotangent of each window goes to one position, the first
  (in the window's row-major order) that attains the extremum, as XLA's select-and-scatter with
  ``ge``/``le`` chooses it: ``select_and_scatter_add(ct, x)``. That primitive is linear in its
  first operand; its VJP is ``select_and_gather_add(ct, x)`` (the value at the chosen position
  of every window), whose VJP is ``select_and_scatter_add`` again, so every order of derivative
  needs nothing else. Forward mode: ``reduce_window_max``'s JVP is derived by transposing its
  VJP rule (a ``select_and_gather_add`` of the tangent); the two select primitives declare
  theirs (linear in the first operand, constant in the second). Unlike JAX, the pair also takes
  ``base_dilation`` and ``window_dilation``, so max pooling with dilated windows is
  differentiable (JAX raises ``NotImplementedError``). The chosen position is found with
  ufuncs only (the first element equal to the window's extremum); a window holding NaN
  replays XLA's comparisons one offset at a time instead.

The NumPy helpers at the top (padding with dilation, window offsets, shape arithmetic) are
shared with ``convolution.py``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from pullback._core import ShapedArray
from pullback._ops._base import Linear, batch_at, batch_size, dtype_of, primitive
from pullback._ops.elementwise import ge_p, le_p
from pullback._ops.shape import pad, static_slice

__all__ = [
    "dilate_dim",
    "pad_dilate",
    "reduce_window_max",
    "reduce_window_min",
    "reduce_window_shape",
    "reduce_window_sum",
    "select_and_gather_add",
    "select_and_scatter_add",
    "signed_pad",
    "stride_dim",
    "vjp_lhs_padding",
]

# -- shape arithmetic (JAX's core.dilate_dim / stride_dim) ---------------------------------------


def dilate_dim(d, dilation):
    """The length of ``d`` elements with ``dilation - 1`` holes between neighbours."""
    return 0 if d == 0 else 1 + dilation * (d - 1)


def stride_dim(d, window, stride):
    """How many windows of length ``window`` fit in ``d`` at steps of ``stride``."""
    return max(0, (d - window) // stride + 1)


def reduce_window_shape(
    shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
):
    """The output shape of a windowed reduction (JAX's ``reduce_window_shape_tuple``)."""
    return tuple(
        stride_dim(dilate_dim(n, bd) + lo + hi, dilate_dim(k, wd), s)
        for n, k, s, (lo, hi), bd, wd in zip(
            shape,
            window_dimensions,
            window_strides,
            padding,
            base_dilation,
            window_dilation,
            strict=True,
        )
    )


def vjp_lhs_padding(
    in_shape, window_dimensions, window_strides, out_shape, padding, lhs_dilation, rhs_dilation
):
    """The padding that turns a cotangent into the operand of the transposed windowed operation
    (JAX's ``_conv_general_vjp_lhs_padding``); entries may be negative."""
    pads = []
    for n, k, s, m, (lo, _), ld, rd in zip(
        in_shape,
        window_dimensions,
        window_strides,
        out_shape,
        padding,
        lhs_dilation,
        rhs_dilation,
        strict=True,
    ):
        before = dilate_dim(k, rd) - lo - 1
        after = dilate_dim(n, ld) + dilate_dim(k, rd) - 1 - dilate_dim(m, s) - before
        pads.append((before, after))
    return tuple(pads)


# -- NumPy helpers (for impls only) --------------------------------------------------------------


def pad_dilate(x, padding, dilation, value, order=None):
    """``x`` with ``dilation - 1`` holes between neighbours and ``(low, high)`` padding per axis
    (negative values crop), holes and padding holding ``value``. ``order``: the axes from the
    outermost to the innermost in the memory of the new array (default: as they are)."""
    if all(d == 1 for d in dilation) and all(lo == 0 and hi == 0 for lo, hi in padding):
        return x
    shape = []
    place = []
    crop = []
    for n, (lo, hi), d in zip(x.shape, padding, dilation, strict=True):
        plo, phi = max(lo, 0), max(hi, 0)
        size = plo + dilate_dim(n, d) + phi
        shape.append(size)
        place.append(slice(plo, plo + dilate_dim(n, d), d))
        crop.append(slice(max(-lo, 0), size - max(-hi, 0)))
    if order is not None:
        shape = [shape[i] for i in order]
    out = np.zeros(shape, x.dtype) if value == 0 else np.full(shape, value, x.dtype)
    if order is not None:
        out = out.transpose(np.argsort(order))
    out[tuple(place)] = x
    if any(lo < 0 or hi < 0 for lo, hi in padding):
        out = out[tuple(crop)]
    return out


def unpad_dilate(y, shape, padding, dilation):
    """The adjoint of ``pad_dilate`` for an array ``y`` of the padded shape: the elements at the
    positions of the original ``shape`` (those cropped by negative padding get nothing)."""
    if all(d == 1 for d in dilation) and all(lo == 0 and hi == 0 for lo, hi in padding):
        return y
    if any(lo < 0 or hi < 0 for lo, hi in padding):
        # put y back into the uncropped buffer first
        full = []
        inner = []
        for n, (lo, hi), d in zip(shape, padding, dilation, strict=True):
            plo, phi = max(lo, 0), max(hi, 0)
            size = plo + dilate_dim(n, d) + phi
            full.append(size)
            inner.append(slice(max(-lo, 0), size - max(-hi, 0)))
        buf = np.zeros(full, y.dtype)
        buf[tuple(inner)] = y
        y = buf
        padding = tuple((max(lo, 0), max(hi, 0)) for lo, hi in padding)
    index = tuple(
        slice(lo, lo + dilate_dim(n, d), d) for n, (lo, _), d in zip(shape, padding, dilation)
    )
    return y[index]


def window_offsets(window_dimensions, window_dilation):
    """The offsets of a window's elements from its corner, in row-major order."""
    return itertools.product(
        *(range(0, k * d, d) for k, d in zip(window_dimensions, window_dilation))
    )


def window_slice(start, out_shape, window_strides):
    """The index of the elements at offset ``start`` of every window."""
    return tuple(
        slice(o, o + (n - 1) * s + 1, s) for o, n, s in zip(start, out_shape, window_strides)
    )


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


def _sum_identity(dtype):
    return 0


# -- reduce_window_sum / max / min ---------------------------------------------------------------

# Above this many elements per window, reducing over a strided view of all windows beats one
# NumPy call per offset.
_VIEW_REDUCE = 64


def _reducer_impl(np_fn, identity):
    def impl(x, *, window_dimensions, window_strides, padding, base_dilation, window_dilation):
        init = identity(x.dtype)
        xp = pad_dilate(x, padding, base_dilation, init)
        out_shape = reduce_window_shape(
            x.shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
        )
        if 0 in out_shape:
            return np.full(out_shape, init, x.dtype)
        if math.prod(window_dimensions) > _VIEW_REDUCE:
            view = window_view(xp, out_shape, window_dimensions, window_strides, window_dilation)
            axes = tuple(range(x.ndim, 2 * x.ndim))
            return np_fn.reduce(view, axis=axes, dtype=x.dtype)
        out = None
        for start in window_offsets(window_dimensions, window_dilation):
            s = xp[window_slice(start, out_shape, window_strides)]
            if out is None:
                out = np.array(s)
            else:
                np_fn(out, s, out=out)
        return out

    return impl


def window_view(xp, out_shape, window_dimensions, window_strides, window_dilation):
    """A strided view of every window of ``xp``: shape ``out_shape + window_dimensions``."""
    st = xp.strides
    strides = tuple(s * t for s, t in zip(st, window_strides)) + tuple(
        s * d for s, d in zip(st, window_dilation)
    )
    return np.lib.stride_tricks.as_strided(
        xp, tuple(out_shape) + tuple(window_dimensions), strides, writeable=False
    )


def _window_abstract(
    x, *, window_dimensions, window_strides, padding, base_dilation, window_dilation
):
    shape = reduce_window_shape(
        x.shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
    )
    return ShapedArray(shape, x.dtype, x.weak_type)


def _window_params(window_dimensions, window_strides, padding, base_dilation, window_dilation):
    n = len(window_dimensions)
    return {
        "window_dimensions": tuple(int(k) for k in window_dimensions),
        "window_strides": tuple(int(s) for s in window_strides),
        "padding": tuple((int(lo), int(hi)) for lo, hi in padding),
        "base_dilation": tuple(int(d) for d in base_dilation) if base_dilation else (1,) * n,
        "window_dilation": (
            tuple(int(d) for d in window_dilation) if window_dilation else (1,) * n
        ),
    }


def signed_pad(x, value, config):
    """``pad`` whose ``(low, high, interior)`` may have negative ``low``/``high`` (cropping)."""
    grown = pad(x, value, tuple((max(lo, 0), max(hi, 0), i) for lo, hi, i in config))
    if all(lo >= 0 and hi >= 0 for lo, hi, _ in config):
        return grown
    starts = [max(-lo, 0) for lo, _, _ in config]
    limits = [n - max(-hi, 0) for n, (_, hi, _) in zip(grown.shape, config, strict=True)]
    return static_slice(grown, starts, limits)


def _reduce_window_sum_vjp(
    ct, ans, x, *, window_dimensions, window_strides, padding, base_dilation, window_dilation
):
    pads = vjp_lhs_padding(
        x.shape,
        window_dimensions,
        window_strides,
        ct.shape,
        padding,
        base_dilation,
        window_dilation,
    )
    config = tuple((lo, hi, s - 1) for (lo, hi), s in zip(pads, window_strides))
    padded = signed_pad(ct, dtype_of(ct).type(0), config)
    return reduce_window_sum(
        padded,
        window_dimensions,
        base_dilation,
        ((0, 0),) * len(x.shape),
        None,
        window_dilation,
    )


def _chooser_vjp(select_prim):
    def rule(ct, ans, x, **params):
        return select_and_scatter_add(ct, x, select_prim, **params)

    return rule


reduce_window_sum_p, _reduce_window_sum = primitive(
    "reduce_window_sum", _reducer_impl(np.add, _sum_identity), vjp=(_reduce_window_sum_vjp,)
)
reduce_window_max_p, _reduce_window_max = primitive(
    "reduce_window_max", _reducer_impl(np.maximum, _max_identity), vjp=(_chooser_vjp(ge_p),)
)
reduce_window_min_p, _reduce_window_min = primitive(
    "reduce_window_min", _reducer_impl(np.minimum, _min_identity), vjp=(_chooser_vjp(le_p),)
)


def reduce_window_sum(
    x, window_dimensions, window_strides, padding, base_dilation=None, window_dilation=None
):
    """Sum over windows (parameters as JAX's ``reduce_window_sum``; ``None`` dilations are
    ones)."""
    params = _window_params(
        window_dimensions, window_strides, padding, base_dilation, window_dilation
    )
    return _reduce_window_sum(x, **params)


def reduce_window_max(
    x, window_dimensions, window_strides, padding, base_dilation=None, window_dilation=None
):
    """Maximum over windows; the cotangent of a window goes to its first maximum."""
    params = _window_params(
        window_dimensions, window_strides, padding, base_dilation, window_dilation
    )
    return _reduce_window_max(x, **params)


def reduce_window_min(
    x, window_dimensions, window_strides, padding, base_dilation=None, window_dilation=None
):
    """Minimum over windows; the cotangent of a window goes to its first minimum."""
    params = _window_params(
        window_dimensions, window_strides, padding, base_dilation, window_dilation
    )
    return _reduce_window_min(x, **params)


# -- select_and_scatter_add / select_and_gather_add ----------------------------------------------


def _chooser(select_prim):
    """``(compare, identity)``: ``compare(best, candidate)`` keeps ``best`` (XLA's ``select``)."""
    if select_prim is ge_p:
        return np.greater_equal, _max_identity
    return np.less_equal, _min_identity


def _selections(xp, out_shape, select_prim, window_dimensions, window_strides, window_dilation):
    """For every offset of the windows of ``xp``: its index and the mask of the windows that
    select the element there. As XLA's select-and-scatter chooses: a window's first element,
    replaced by every later element for which ``select(chosen, element)`` fails, which is the
    first maximum for ``ge`` (the first minimum for ``le``). Without NaNs that is the first
    element equal to the window's extremum (fast ufuncs only); with NaNs the comparisons are
    replayed one offset at a time."""
    compare, _ = _chooser(select_prim)
    indices = [
        window_slice(start, out_shape, window_strides)
        for start in window_offsets(window_dimensions, window_dilation)
    ]
    slices = [xp[index] for index in indices]
    if len(slices) == 1:
        return [(indices[0], None)]
    extremum = np.maximum if select_prim is ge_p else np.minimum
    best = np.array(slices[0])
    for s in slices[1:]:
        extremum(best, s, out=best)
    if best.dtype.kind in "fc" and np.isnan(best).any():
        best = np.array(slices[0])
        chosen = np.zeros(out_shape, np.intp)
        for k, s in enumerate(slices[1:], 1):
            take = np.logical_not(compare(best, s))
            np.copyto(best, s, where=take)
            np.copyto(chosen, k, where=take)
        return [(index, chosen == k) for k, index in enumerate(indices)]
    out = []
    found = None
    for index, s in zip(indices, slices):
        hit = s == best
        if found is None:
            found = hit.copy()
        else:
            hit &= ~found
            found |= hit
        out.append((index, hit))
    return out


def _select_and_gather_add_impl(
    t, x, *, select_prim, window_dimensions, window_strides, padding, base_dilation, window_dilation
):
    _, identity = _chooser(select_prim)
    xp = pad_dilate(x, padding, base_dilation, identity(x.dtype))
    tp = pad_dilate(t, padding, base_dilation, 0)
    out_shape = reduce_window_shape(
        x.shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
    )
    value = np.zeros(out_shape, t.dtype)
    if 0 in out_shape:
        return value
    for index, hit in _selections(
        xp, out_shape, select_prim, window_dimensions, window_strides, window_dilation
    ):
        if hit is None:
            return np.array(tp[index])
        value = np.where(hit, tp[index], value)
    return value


def _select_and_scatter_add_impl(
    source,
    x,
    *,
    select_prim,
    window_dimensions,
    window_strides,
    padding,
    base_dilation,
    window_dilation,
):
    _, identity = _chooser(select_prim)
    xp = pad_dilate(x, padding, base_dilation, identity(x.dtype))
    out_shape = source.shape
    if 0 in out_shape:
        return np.zeros(x.shape, source.dtype)
    outp = np.zeros(xp.shape, source.dtype)
    zero = np.zeros((), source.dtype)
    for index, hit in _selections(
        xp, out_shape, select_prim, window_dimensions, window_strides, window_dilation
    ):
        outp[index] += source if hit is None else np.where(hit, source, zero)
    return np.ascontiguousarray(unpad_dilate(outp, x.shape, padding, base_dilation))


def _select_abstract(t, x, *, select_prim, **params):
    shape = _window_abstract(x, **params).shape
    return ShapedArray(shape, t.dtype, t.weak_type and x.weak_type)


select_and_scatter_add_p, _select_and_scatter_add = primitive(
    "select_and_scatter_add",
    _select_and_scatter_add_impl,
    vjp=(
        lambda ct, ans, source, x, **params: _select_and_gather_add(ct, x, **params),
        None,
    ),
)
select_and_gather_add_p, _select_and_gather_add = primitive(
    "select_and_gather_add",
    _select_and_gather_add_impl,
    vjp=(
        lambda ct, ans, t, x, **params: _select_and_scatter_add(ct, x, **params),
        None,
    ),
)


def select_and_scatter_add(
    source,
    operand,
    select_prim,
    *,
    window_dimensions,
    window_strides,
    padding,
    base_dilation,
    window_dilation,
):
    """Add each element of ``source`` (one per window) into zeros of ``operand``'s shape, at the
    position its window of ``operand`` selects (``select_prim``: ``ge_p`` for the first
    maximum, ``le_p`` for the first minimum)."""
    return _select_and_scatter_add(
        source,
        operand,
        select_prim=select_prim,
        window_dimensions=window_dimensions,
        window_strides=window_strides,
        padding=padding,
        base_dilation=base_dilation,
        window_dilation=window_dilation,
    )


def select_and_gather_add(
    tangents,
    operand,
    select_prim,
    *,
    window_dimensions,
    window_strides,
    padding,
    base_dilation,
    window_dilation,
):
    """Per window of ``operand``, the element of ``tangents`` at the position it selects."""
    return _select_and_gather_add(
        tangents,
        operand,
        select_prim=select_prim,
        window_dimensions=window_dimensions,
        window_strides=window_strides,
        padding=padding,
        base_dilation=base_dilation,
        window_dilation=window_dilation,
    )


select_and_scatter_add_p.abstract = lambda source, x, **params: ShapedArray(
    x.shape, source.dtype, source.weak_type and x.weak_type
)
select_and_gather_add_p.abstract = _select_abstract
for _prim in (reduce_window_sum_p, reduce_window_max_p, reduce_window_min_p):
    _prim.abstract = _window_abstract


def _linear_in_source(bind):
    """The JVP of a primitive linear in its first operand and piecewise constant in the second
    (which only says where each window's element is)."""

    def jvp(tangents, ans, first, x, **params):
        t = tangents[0]
        return None if t is None else bind(t, x, **params)

    return jvp


select_and_scatter_add_p.jvp = _linear_in_source(_select_and_scatter_add)
select_and_gather_add_p.jvp = _linear_in_source(_select_and_gather_add)


# -- where these primitives are linear (for linear_transpose and forward mode) --------------------

reduce_window_sum_p.transpose = Linear(0)
select_and_scatter_add_p.transpose = Linear(0)
select_and_gather_add_p.transpose = Linear(0)


# -- batching rules (vmap) -------------------------------------------------------------------------


def _with_unit_window(params, at):
    """The parameters with a window of one element inserted at axis ``at``."""
    out = dict(params)
    for name, unit in (
        ("window_dimensions", 1),
        ("window_strides", 1),
        ("padding", (0, 0)),
        ("base_dilation", 1),
        ("window_dilation", 1),
    ):
        v = list(params[name])
        v.insert(at, unit)
        out[name] = tuple(v)
    return out


def _reducer_batch(bind):
    def rule(values, bdims, **params):
        (x,), (d,) = values, bdims
        return bind(x, **_with_unit_window(params, d)), d

    return rule


def _select_batch(bind):
    def rule(values, bdims, *, select_prim, **params):
        size = batch_size(values, bdims)
        a, x = (batch_at(v, d, size) for v, d in zip(values, bdims, strict=True))
        return bind(a, x, select_prim=select_prim, **_with_unit_window(params, 0)), 0

    return rule


reduce_window_sum_p.batch = _reducer_batch(_reduce_window_sum)
reduce_window_max_p.batch = _reducer_batch(_reduce_window_max)
reduce_window_min_p.batch = _reducer_batch(_reduce_window_min)
select_and_scatter_add_p.batch = _select_batch(_select_and_scatter_add)
select_and_gather_add_p.batch = _select_batch(_select_and_gather_add)
