"""Convolution: the ``conv_general_dilated`` primitive (JAX's name and parameters).

Parameters are canonical: ``window_strides``, ``lhs_dilation``, ``rhs_dilation`` are tuples of
ints per spatial dimension, ``padding`` a tuple of ``(low, high)`` pairs (negative values crop),
``dimension_numbers`` a ``ConvDimensionNumbers`` of axis positions, ``feature_group_count`` and
``batch_group_count`` ints (at most one above 1), ``preferred_element_type`` a dtype or ``None``.

**Implementation.** The operand is laid out with its features last (``N, spatial..., C``: a
transposed view), dilated and padded into one new array, and viewed as its patches
``N, out spatial..., kernel..., C`` (``as_strided``: window steps and kernel dilation are
strides of the view); the patches are copied once into a matrix (im2col) and multiplied with the
kernel laid out as ``(kernel... C) x O`` in one BLAS product (one batched product per group with
groups). The result ``N, out spatial..., O`` is returned as a view in the layout the output
dimension numbers ask for, so an ``NCHW`` convolution's output is an ``NHWC`` array in memory
and the next convolution's im2col reads it contiguously. When the batch axis is the innermost
in memory (the kernel gradient's convolution, whose batch is the input's features), the padded
copy keeps that memory order and the patch matrix is built transposed, copying runs along it
(BLAS takes the transposed matrix as it is): 25% faster for that convolution. Measured against
the alternatives on a CNN layer (64 x 16 x 8 x 8, 32 3x3 kernels): im2col over channels-first
patches (a ``tensordot`` of the window view) is 3.3x slower, one product per kernel offset 5.8x,
and ``einsum`` of the view 1.8x.

**Derivatives.** ``conv_general_dilated`` is bilinear. The cotangent of ``lhs`` is a
convolution of the cotangent with the spatially reversed kernel (strides become ``lhs``
dilation, padding from ``windows.vjp_lhs_padding``); that of ``rhs`` is a convolution of
``lhs`` with the cotangent as the kernel (batch and feature roles swapped, feature groups
becoming batch groups). Both are written with this primitive, as JAX's transpose rules are, so
they are differentiable, batchable and staged again; forward mode applies the primitive to the
tangents (``Linear(0, 1, separately=True)``).

**Batching** folds the mapped axis into the operand's batch dimension (``lhs`` mapped), into
the kernel's output features (``rhs`` mapped), or into feature groups (both mapped: one group
per example), as JAX's rule does: one convolution for the whole batch.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from pullback._core import ShapedArray
from pullback._ops._base import Linear, convert_element_type, dtype_of, primitive
from pullback._ops.creation import full
from pullback._ops.shape import rev
from pullback._ops.structural import reshape, transpose
from pullback._ops.windows import dilate_dim, pad_dilate, stride_dim, vjp_lhs_padding

__all__ = [
    "ConvDimensionNumbers",
    "conv_general_dilated",
    "conv_shape",
]


class ConvDimensionNumbers(NamedTuple):
    """Describes batch, spatial, and feature dimensions of a convolution.

    Args:
      lhs_spec: a tuple of nonnegative integer dimension numbers containing
        `(batch dimension, feature dimension, spatial dimensions...)`.
      rhs_spec: a tuple of nonnegative integer dimension numbers containing
        `(out feature dimension, in feature dimension, spatial dimensions...)`.
      out_spec: a tuple of nonnegative integer dimension numbers containing
        `(batch dimension, feature dimension, spatial dimensions...)`.
    """

    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


def conv_shape(
    lhs_shape,
    rhs_shape,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    batch_group_count,
):
    """The output shape of ``conv_general_dilated`` (canonical parameters)."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    lt = [lhs_shape[i] for i in lhs_spec]
    rt = [rhs_shape[i] for i in rhs_spec]
    spatial = tuple(
        stride_dim(dilate_dim(n, ld) + lo + hi, dilate_dim(k, rd), s)
        for n, k, s, (lo, hi), ld, rd in zip(
            lt[2:], rt[2:], window_strides, padding, lhs_dilation, rhs_dilation, strict=True
        )
    )
    canonical = (lt[0] // batch_group_count, rt[0], *spatial)
    out = [0] * len(canonical)
    for role, axis in enumerate(out_spec):
        out[axis] = canonical[role]
    return tuple(out)


# -- impl --------------------------------------------------------------------------------------


def _patches(xp, kernel, strides, dilation):
    """The view ``N, out spatial..., kernel..., C`` of the padded operand ``xp`` (``N,
    spatial..., C``)."""
    n = len(kernel)
    out = tuple(
        stride_dim(xp.shape[1 + i], dilate_dim(kernel[i], dilation[i]), strides[i])
        for i in range(n)
    )
    st = xp.strides
    shape = (xp.shape[0], *out, *kernel, xp.shape[-1])
    view_strides = (
        st[0],
        *(st[1 + i] * strides[i] for i in range(n)),
        *(st[1 + i] * dilation[i] for i in range(n)),
        st[-1],
    )
    return np.lib.stride_tricks.as_strided(xp, shape, view_strides, writeable=False)


def _conv_impl(
    lhs,
    rhs,
    *,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    feature_group_count,
    batch_group_count,
    preferred_element_type,
    precision=None,
    out_sharding=None,
):
    if preferred_element_type is not None:
        lhs = lhs.astype(preferred_element_type, copy=False)
        rhs = rhs.astype(preferred_element_type, copy=False)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    n = len(lhs_spec) - 2
    x = lhs.transpose((lhs_spec[0], *lhs_spec[2:], lhs_spec[1]))  # N, spatial..., C
    w = rhs.transpose((*rhs_spec[2:], rhs_spec[1], rhs_spec[0]))  # kernel..., I, O
    groups = feature_group_count * batch_group_count
    # When the batch axis is innermost in memory (the kernel gradient's convolution, whose
    # "batch" is the input's features), the padded copy keeps that memory order and im2col
    # copies runs along it: the patch matrix is built transposed.
    batch_inner = groups == 1 and _batch_innermost(x)
    order = (n + 1, *range(1, n + 1), 0) if batch_inner else None
    xp = pad_dilate(x, ((0, 0), *padding, (0, 0)), (1, *lhs_dilation, 1), 0, order)
    kernel = w.shape[:n]
    p = _patches(xp, kernel, window_strides, rhs_dilation)  # N, out spatial..., kernel..., C
    batch, features = p.shape[0], p.shape[-1]
    spatial = p.shape[1 : 1 + n]
    npos = math.prod(spatial)
    nk = math.prod(kernel)
    out_features = w.shape[-1]
    if batch_inner:
        # columns (C, kernel...), rows (out spatial..., N): the transposed patch matrix
        perm = (2 * n + 1, *range(n + 1, 2 * n + 1), *range(1, n + 1), 0)
        at = p.transpose(perm).reshape(features * nk, npos * batch)
        wm = w.transpose((n, *range(n), n + 1)).reshape(features * nk, out_features)
        out = np.matmul(at.T, wm).reshape(*spatial, batch, out_features)
        out = out.transpose((n, *range(n), n + 1))
    elif groups == 1:
        a = p.reshape(batch * npos, nk * features)
        out = np.matmul(a, w.reshape(nk * features, out_features))
        out = out.reshape(batch, *spatial, out_features)
    else:
        og = out_features // groups
        b = np.moveaxis(w.reshape(*kernel, w.shape[-2], groups, og), -2, 0)
        b = b.reshape(groups, nk * w.shape[-2], og)
        if feature_group_count > 1:
            cg = features // groups
            a = np.moveaxis(p.reshape(batch, *spatial, *kernel, groups, cg), -2, 0)
            a = a.reshape(groups, batch * npos, nk * cg)
            rows = batch
        else:  # batch groups: the group is the major part of the batch dimension
            rows = batch // groups
            a = p.reshape(groups, rows * npos, nk * features)
        out = np.matmul(a, b).reshape(groups, rows, *spatial, og)
        out = np.moveaxis(out, 0, -2).reshape(rows, *spatial, out_features)
    # ``out`` has axes (batch, spatial..., feature): view it in the layout of out_spec
    position = {out_spec[0]: 0, out_spec[1]: n + 1}
    for i in range(n):
        position[out_spec[2 + i]] = 1 + i
    return out.transpose(tuple(position[j] for j in range(n + 2)))


def _batch_innermost(x):
    """Whether the batch axis (0) of ``x`` has the smallest stride of its axes longer than 1,
    and a shorter one than the feature axis (last)."""
    strides = [abs(s) for s, d in zip(x.strides, x.shape) if d > 1]
    return (
        x.shape[0] > 1
        and abs(x.strides[0]) == min(strides)
        and (x.shape[-1] == 1 or abs(x.strides[0]) < abs(x.strides[-1]))
    )


def _conv_abstract(
    lhs,
    rhs,
    *,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    feature_group_count,
    batch_group_count,
    preferred_element_type,
    precision=None,
    out_sharding=None,
):
    shape = conv_shape(
        lhs.shape,
        rhs.shape,
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        dimension_numbers,
        batch_group_count,
    )
    dtype = lhs.dtype if preferred_element_type is None else preferred_element_type
    return ShapedArray(shape, dtype, lhs.weak_type and rhs.weak_type)


# -- axis helpers (JAX's _reshape_axis_into / _reshape_axis_out_of) ------------------------------


def _reshape_axis_into(src, dst, x):
    """Merge axis ``src`` of ``x`` into axis ``dst`` (numbered without ``src``) as its major
    part."""
    ndim = len(x.shape)
    perm = [i for i in range(ndim) if i != src]
    perm.insert(dst, src)
    shape = [x.shape[i] for i in range(ndim) if i != src]
    shape[dst] *= x.shape[src]
    return reshape(transpose(x, tuple(perm)), tuple(shape))


def _reshape_axis_out_of(src, size, x):
    """Split axis ``src`` of ``x`` into ``(size, rest)``."""
    shape = list(x.shape)
    shape[src : src + 1] = [size, shape[src] // size]
    return reshape(x, tuple(shape))


def _spec_transpose(spec):
    return (spec[1], spec[0], *spec[2:])


# -- VJP rules (convolutions themselves) ---------------------------------------------------------


def _conv_vjp_lhs(
    ct,
    ans,
    lhs,
    rhs,
    *,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    feature_group_count,
    batch_group_count,
    preferred_element_type,
    precision=None,
    out_sharding=None,
):
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    rhs_shape = rhs.shape
    groups = feature_group_count
    if feature_group_count > 1 or batch_group_count > 1:
        # move the group out of the kernel's output features into its input features
        g = max(feature_group_count, batch_group_count)
        rhs = _reshape_axis_out_of(rhs_spec[0], g, rhs)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
        groups = g
    trans = ConvDimensionNumbers(out_spec, _spec_transpose(rhs_spec), lhs_spec)
    pads = vjp_lhs_padding(
        [lhs.shape[i] for i in lhs_spec[2:]],
        [rhs_shape[i] for i in rhs_spec[2:]],
        window_strides,
        [ct.shape[i] for i in out_spec[2:]],
        padding,
        lhs_dilation,
        rhs_dilation,
    )
    kernel = rev(rhs, rhs_spec[2:])
    if dtype_of(kernel) != dtype_of(ct):
        kernel = convert_element_type(kernel, dtype_of(ct))
    out = conv_general_dilated(
        ct,
        kernel,
        lhs_dilation,
        pads,
        window_strides,
        rhs_dilation,
        trans,
        groups,
        1,
        preferred_element_type,
        precision,
    )
    if dtype_of(out) != lhs.dtype:
        out = convert_element_type(out, lhs.dtype)
    if batch_group_count > 1:
        out = _reshape_axis_out_of(lhs_spec[1], batch_group_count, out)
        out = _reshape_axis_into(lhs_spec[1], lhs_spec[0], out)
    return out


def _vjp_rhs_padding(
    in_shape, window_dimensions, window_strides, out_shape, padding, lhs_dilation, rhs_dilation
):
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
        hi = dilate_dim(m, s) - dilate_dim(n, ld) + dilate_dim(k, rd) - lo - 1
        pads.append((lo, hi))
    return tuple(pads)


def _conv_vjp_rhs(
    ct,
    ans,
    lhs,
    rhs,
    *,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    feature_group_count,
    batch_group_count,
    preferred_element_type,
    precision=None,
    out_sharding=None,
):
    if math.prod(ct.shape) == 0:
        return full(rhs.shape, 0, rhs.dtype)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    fgc, bgc = feature_group_count, batch_group_count
    if bgc > 1:
        fgc, bgc = bgc, 1
    elif fgc > 1:
        fgc, bgc = 1, fgc
    trans = ConvDimensionNumbers(
        _spec_transpose(lhs_spec), _spec_transpose(out_spec), _spec_transpose(rhs_spec)
    )
    pads = _vjp_rhs_padding(
        [lhs.shape[i] for i in lhs_spec[2:]],
        [rhs.shape[i] for i in rhs_spec[2:]],
        window_strides,
        [ct.shape[i] for i in out_spec[2:]],
        padding,
        lhs_dilation,
        rhs_dilation,
    )
    if dtype_of(lhs) != dtype_of(ct):
        lhs = convert_element_type(lhs, dtype_of(ct))
    out = conv_general_dilated(
        lhs,
        ct,
        rhs_dilation,
        pads,
        lhs_dilation,
        window_strides,
        trans,
        fgc,
        bgc,
        preferred_element_type,
        precision,
    )
    if dtype_of(out) != rhs.dtype:
        out = convert_element_type(out, rhs.dtype)
    return out


conv_general_dilated_p, _conv = primitive(
    "conv_general_dilated", _conv_impl, vjp=(_conv_vjp_lhs, _conv_vjp_rhs)
)
conv_general_dilated_p.abstract = _conv_abstract
conv_general_dilated_p.transpose = Linear(0, 1, separately=True)


def conv_general_dilated(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    feature_group_count=1,
    batch_group_count=1,
    preferred_element_type=None,
    precision=None,
):
    """Bind ``conv_general_dilated`` with canonical parameters (``pullback.lax`` checks and
    normalises what users pass)."""
    return _conv(
        lhs,
        rhs,
        window_strides=tuple(window_strides),
        padding=tuple((int(lo), int(hi)) for lo, hi in padding),
        lhs_dilation=tuple(lhs_dilation),
        rhs_dilation=tuple(rhs_dilation),
        dimension_numbers=ConvDimensionNumbers(*(tuple(s) for s in dimension_numbers)),
        feature_group_count=int(feature_group_count),
        batch_group_count=int(batch_group_count),
        out_sharding=None,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


# -- batching rule (vmap) ----------------------------------------------------------------------


def _conv_batch(values, bdims, **params):
    (lhs, rhs), (ld, rd) = values, bdims
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    fgc, bgc = params["feature_group_count"], params["batch_group_count"]
    size = lhs.shape[ld] if ld is not None else rhs.shape[rd]

    def conv(x, y, fgc=fgc, bgc=bgc):
        return _conv(x, y, **{**params, "feature_group_count": fgc, "batch_group_count": bgc})

    if size == 0:
        lshape = [n for i, n in enumerate(lhs.shape) if i != ld]
        rshape = [n for i, n in enumerate(rhs.shape) if i != rd]
        shape = conv_shape(
            lshape,
            rshape,
            params["window_strides"],
            params["padding"],
            params["lhs_dilation"],
            params["rhs_dilation"],
            params["dimension_numbers"],
            bgc,
        )
        dtype = params["preferred_element_type"] or dtype_of(lhs)
        return full((0, *shape), 0, dtype), 0
    if ld is not None and rd is not None:
        if bgc > 1:
            new_lhs = _reshape_axis_into(ld, lhs_spec[0], lhs)
            bgc *= size
        else:
            new_lhs = _reshape_axis_into(ld, lhs_spec[1], lhs)
            fgc *= size
        out = conv(new_lhs, _reshape_axis_into(rd, rhs_spec[0], rhs), fgc, bgc)
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    if ld is not None:
        if bgc == 1:
            out = conv(_reshape_axis_into(ld, lhs_spec[0], lhs), rhs)
        else:
            # every example's batch groups stay the groups: the mapped axis goes inside them
            new = _reshape_axis_out_of(lhs_spec[0] + int(ld <= lhs_spec[0]), bgc, lhs)
            new = _reshape_axis_into(ld + int(lhs_spec[0] < ld), lhs_spec[0] + 1, new)
            out = conv(_reshape_axis_into(lhs_spec[0], lhs_spec[0], new), rhs)
        return _reshape_axis_out_of(out_spec[0], size, out), out_spec[0]
    if fgc == 1 and bgc == 1:
        out = conv(lhs, _reshape_axis_into(rd, rhs_spec[0], rhs))
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    # groups must stay outermost in the kernel's output features: the mapped axis goes inside
    groups = max(fgc, bgc)
    new = _reshape_axis_out_of(rhs_spec[0] + int(rd <= rhs_spec[0]), groups, rhs)
    new = _reshape_axis_into(rd + int(rhs_spec[0] < rd), rhs_spec[0] + 1, new)
    out = conv(lhs, _reshape_axis_into(rhs_spec[0], rhs_spec[0], new))
    out = _reshape_axis_out_of(out_spec[1], groups, out)
    out = _reshape_axis_out_of(out_spec[1] + 1, size, out)
    return _reshape_axis_into(out_spec[1], out_spec[1] + 1, out), out_spec[1]


conv_general_dilated_p.batch = _conv_batch
