"""``lax`` convolutions: ``conv_general_dilated`` and its wrappers ``conv``,
``conv_with_general_padding`` and ``conv_transpose``; dimension numbers and padding helpers.

Arguments are checked here, in JAX's order and with its exception types and messages, then
bound as the primitive ``conv_general_dilated`` (``pullback._ops.convolution``) with canonical
parameters.
"""

from __future__ import annotations

import enum
import math
import operator

import numpy as np

from pullback import _dtypes, _ops
from pullback._ops.convolution import ConvDimensionNumbers
from pullback._ops.convolution import conv_general_dilated as _conv_general_dilated
from pullback._ops.shape import rev as _rev
from pullback._ops.structural import transpose as _transpose
from pullback._ops.windows import dilate_dim as _dilate_dim
from pullback.lax._common import _arr, _same_dtypes

__all__ = [
    "ConvDimensionNumbers",
    "ConvGeneralDilatedDimensionNumbers",
    "PaddingType",
    "conv",
    "conv_dimension_numbers",
    "conv_general_dilated",
    "conv_general_dilated_patches",
    "conv_general_permutations",
    "conv_general_shape_tuple",
    "conv_shape_tuple",
    "conv_transpose",
    "conv_transpose_shape_tuple",
    "conv_with_general_padding",
    "padtype_to_pads",
]

ConvGeneralDilatedDimensionNumbers = tuple | ConvDimensionNumbers | None


class PaddingType(enum.Enum):
    VALID = 1
    SAME = 2
    SAME_LOWER = 3


def padtype_to_pads(in_shape, window_shape, window_strides, padding):
    """Convert a padding specification (``'SAME'``, ``'SAME_LOWER'``, ``'VALID'``) to a list of
    ``(low, high)`` pairs, one per dimension. ``'SAME'`` puts an odd extra element at the end,
    ``'SAME_LOWER'`` at the start.

    >>> from pullback import lax
    >>> lax.padtype_to_pads((8, 7), (3, 2), (1, 2), "SAME")
    [(1, 1), (0, 1)]
    """
    if isinstance(padding, str):
        try:
            padding = PaddingType[padding.upper()]
        except KeyError as err:
            raise RuntimeError(
                f"Unrecognized padding type: expected 'VALID', 'SAME', or 'SAME_LOWER', got "
                f"{padding}."
            ) from err
    if padding in (PaddingType.SAME, PaddingType.SAME_LOWER):
        # NumPy broadcasting, as JAX computes it (shape errors are the convolution's to raise)
        in_shape = np.asarray(in_shape, np.int64)
        strides = np.asarray(window_strides, np.int64)
        out_shape = -np.floor_divide(-in_shape, strides)
        sizes = np.maximum((out_shape - 1) * strides + np.asarray(window_shape) - in_shape, 0)
        if padding == PaddingType.SAME:
            return [(int(s // 2), int(s - s // 2)) for s in sizes]
        return [(int(s - s // 2), int(s // 2)) for s in sizes]
    if padding == PaddingType.VALID:
        return [(0, 0)] * len(in_shape)
    raise TypeError(f"Unknown padding type: {padding}.")


def conv_general_permutations(dimension_numbers):
    """The axis permutations ``(lhs_perm, rhs_perm, out_perm)`` of string dimension numbers.

    >>> from pullback import lax
    >>> lax.conv_general_permutations(("NHWC", "HWIO", "NHWC"))
    ((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    """
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    charpairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for i, (a, b) in enumerate(charpairs):
        if not dimension_numbers[i].count(a) == dimension_numbers[i].count(b) == 1:
            raise TypeError(
                f"convolution dimension_numbers[{i}] must contain the characters '{a}' and "
                f"'{b}' exactly once, got {dimension_numbers[i]}."
            )
        if len(dimension_numbers[i]) != len(set(dimension_numbers[i])):
            raise TypeError(
                f"convolution dimension_numbers[{i}] cannot have duplicate characters, got "
                f"{dimension_numbers[i]}."
            )
    if not (
        set(lhs_spec) - set(charpairs[0])
        == set(rhs_spec) - set(charpairs[1])
        == set(out_spec) - set(charpairs[2])
    ):
        raise TypeError(
            f"convolution dimension_numbers elements must each have the same set of spatial "
            f"characters, got {dimension_numbers}."
        )

    def getperm(spec, charpair):
        spatial = [i for i, c in enumerate(spec) if c not in charpair]
        if spec is not rhs_spec:
            spatial = sorted(spatial, key=lambda i: rhs_spec.index(spec[i]))
        return (spec.index(charpair[0]), spec.index(charpair[1]), *spatial)

    return tuple(getperm(s, c) for s, c in zip(dimension_numbers, charpairs))


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers):
    """``dimension_numbers`` (``None``, three strings or a ``ConvDimensionNumbers``) as a
    ``ConvDimensionNumbers``.

    >>> from pullback import lax
    >>> lax.conv_dimension_numbers((1, 5, 5, 3), (3, 3, 3, 8), ("NHWC", "HWIO", "NHWC"))
    ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return dimension_numbers
    if len(lhs_shape) != len(rhs_shape):
        raise TypeError(
            f"convolution requires lhs and rhs ndim to be equal, got {len(lhs_shape)} and "
            f"{len(rhs_shape)}."
        )
    if dimension_numbers is None:
        iota = tuple(range(len(lhs_shape)))
        return ConvDimensionNumbers(iota, iota, iota)
    if isinstance(dimension_numbers, (list, tuple)):
        if len(dimension_numbers) != 3:
            raise TypeError(
                f"convolution dimension_numbers list/tuple must be length 3, got "
                f"{len(dimension_numbers)}."
            )
        if not all(isinstance(e, str) for e in dimension_numbers):
            raise TypeError(
                f"convolution dimension_numbers elements must be strings, got "
                f"{tuple(map(type, dimension_numbers))}."
            )
        for i, e in enumerate(dimension_numbers):
            if len(e) != len(lhs_shape):
                raise TypeError(
                    f"convolution dimension_numbers[{i}] must have len equal to the ndim of lhs "
                    f"and rhs, got {len(e)} for lhs and rhs shapes {tuple(lhs_shape)} and "
                    f"{tuple(rhs_shape)}."
                )
        return ConvDimensionNumbers(*conv_general_permutations(dimension_numbers))
    raise TypeError(
        f"convolution dimension_numbers must be tuple/list or None, got {type(dimension_numbers)}."
    )


def _ints(values, who, what):
    try:
        return tuple(operator.index(v) for v in values)
    except TypeError as e:
        raise TypeError(f"{who} {what} must be a sequence of integers, got {values}.") from e


def _check_preferred(input_dtype, preferred):
    """JAX's ``_validate_preferred_element_type``."""
    issub = np.issubdtype
    if issub(input_dtype, np.integer) and issub(preferred, np.floating):
        pass
    else:
        for t in (np.integer, np.floating, np.complexfloating):
            if issub(input_dtype, t) and not issub(preferred, t):
                raise TypeError(
                    "Input type is incompatible with `preferred_element_type`. The compatible "
                    "combinations of (input_type, preferred_element_type) are (integral, "
                    "integral), (integral, floating), (floating, floating), (complex, complex."
                )
        if issub(input_dtype, np.signedinteger) and not issub(preferred, np.signedinteger):
            raise TypeError(
                "`preferred_element_type` must have the same signedness as the original type."
            )
    if np.dtype(preferred).itemsize < np.dtype(input_dtype).itemsize:
        raise TypeError("`preferred_element_type` must not be narrower than the original type.")


def _check_shapes(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dnums,
    feature_group_count,
    batch_group_count,
):
    """JAX's ``_conv_general_dilated_shape_rule``, in its order."""
    lhs_spec, rhs_spec, _ = dnums
    if lhs.ndim != rhs.ndim:
        raise ValueError(
            f"conv_general_dilated lhs and rhs must have the same number of dimensions, but got "
            f"{tuple(lhs.shape)} and {tuple(rhs.shape)}."
        )
    if not feature_group_count > 0:
        raise ValueError(
            f"conv_general_dilated feature_group_count must be a positive integer, got "
            f"{feature_group_count}."
        )
    lhs_features = lhs.shape[lhs_spec[1]]
    quot, rem = divmod(lhs_features, feature_group_count)
    if rem:
        raise ValueError(
            f"conv_general_dilated feature_group_count must divide lhs feature dimension size, "
            f"but {feature_group_count} does not divide {lhs_features}."
        )
    if quot != rhs.shape[rhs_spec[1]]:
        raise ValueError(
            f"conv_general_dilated lhs feature dimension size divided by feature_group_count "
            f"must equal the rhs input feature dimension size, but {lhs_features} // "
            f"{feature_group_count} != {rhs.shape[rhs_spec[1]]}."
        )
    out_features = rhs.shape[rhs_spec[0]]
    if out_features % feature_group_count:
        raise ValueError(
            f"conv_general_dilated rhs output feature dimension size must be a multiple of "
            f"feature_group_count, but {out_features} is not a multiple of "
            f"{feature_group_count}."
        )
    if not batch_group_count > 0:
        raise ValueError(
            f"conv_general_dilated batch_group_count must be a positive integer, got "
            f"{batch_group_count}."
        )
    lhs_batch = lhs.shape[lhs_spec[0]]
    if batch_group_count > 1 and lhs_batch % batch_group_count != 0:
        raise ValueError(
            f"conv_general_dilated batch_group_count must divide lhs batch dimension size, but "
            f"{batch_group_count} does not divide {lhs_batch}."
        )
    if out_features % batch_group_count:
        raise ValueError(
            f"conv_general_dilated rhs output feature dimension size must be a multiple of "
            f"batch_group_count, but {out_features} is not a multiple of {batch_group_count}."
        )
    if batch_group_count > 1 and feature_group_count > 1:
        raise ValueError(
            f"At most one of batch_group_count and feature_group_count may be > 1, got "
            f"batch_group_count={batch_group_count} and "
            f"feature_group_count={feature_group_count}"
        )
    nspatial = len(rhs_spec) - 2
    if nspatial != len(window_strides):
        raise ValueError(
            f"conv_general_dilated window and window_strides must have the same number of "
            f"dimensions, but got {nspatial} and {len(window_strides)}"
        )
    for d in (lhs_dilation, rhs_dilation):
        if not all(v > 0 for v in d):
            raise TypeError(f"All dilations must be positive, got {tuple(d)}.")
    if len(padding) != nspatial:
        raise TypeError(
            f"Wrong number of explicit pads for convolution: expected {nspatial}, got "
            f"{len(padding)}."
        )
    if not all(s > 0 for s in window_strides):
        raise ValueError(
            f"conv_general_dilated window_strides must be positive, got {tuple(window_strides)}."
        )
    spatial = [_dilate_dim(lhs.shape[i], d) for i, d in zip(lhs_spec[2:], lhs_dilation)]
    if any(n + lo + hi < 0 for n, (lo, hi) in zip(spatial, padding)):
        raise ValueError(
            f"Negative padding is larger than the size of the corresponding dimension: got "
            f"padding={tuple(padding)} for lhs_shape[2:]={tuple(spatial)}"
        )


def conv_general_dilated(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    feature_group_count=1,
    batch_group_count=1,
    precision=None,
    preferred_element_type=None,
    out_sharding=None,
):
    """General n-dimensional convolution, with optional strides, padding, dilations and groups.

    ``lhs`` is a rank ``n+2`` input, ``rhs`` a rank ``n+2`` kernel. ``padding`` is ``'SAME'``,
    ``'SAME_LOWER'``, ``'VALID'`` or ``n`` ``(low, high)`` pairs; ``lhs_dilation`` (transposed
    convolution) and ``rhs_dilation`` (atrous convolution) are ``n`` ints. ``dimension_numbers``
    is ``None`` (``('NCHW', 'OIHW', 'NCHW')`` in 2-D), a ``ConvDimensionNumbers`` or three
    strings such as ``('NHWC', 'HWIO', 'NHWC')``; strides go with the spatial characters in the
    order of the kernel's string. ``precision`` is recorded as a parameter, as JAX records it,
    and otherwise ignored: NumPy computes in the operands' dtype (or ``preferred_element_type``).

    >>> import pullback.numpy as jnp
    >>> from pullback import lax
    >>> x = jnp.arange(16.0).reshape(1, 1, 4, 4)
    >>> k = jnp.ones((1, 1, 2, 2))
    >>> lax.conv_general_dilated(x, k, (2, 2), "VALID")
    Array([[[[10., 18.],
             [42., 50.]]]], dtype=float32)
    >>> y = jnp.ones((2, 5, 5, 3))
    >>> w = jnp.ones((3, 3, 3, 4))
    >>> lax.conv_general_dilated(y, w, (1, 1), "SAME",
    ...                          dimension_numbers=("NHWC", "HWIO", "NHWC")).shape
    (2, 5, 5, 4)
    """
    del out_sharding
    lhs, rhs = _arr(lhs), _arr(rhs)
    dnums = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    window_strides = _ints(window_strides, "conv_general_dilated", "window_strides")
    nspatial = lhs.ndim - 2
    if lhs_dilation is None:
        lhs_dilation = (1,) * nspatial
    else:
        lhs_dilation = _ints(lhs_dilation, "conv_general_dilated", "lhs_dilation")
        if isinstance(padding, str) and any(d != 1 for d in lhs_dilation):
            raise ValueError(
                "String padding is not implemented for transposed convolution using this op. "
                "Please either exactly specify the required padding or use conv_transpose."
            )
    if rhs_dilation is None:
        rhs_dilation = (1,) * (rhs.ndim - 2)
    else:
        rhs_dilation = _ints(rhs_dilation, "conv_general_dilated", "rhs_dilation")
    if isinstance(padding, str):
        lhs_perm, rhs_perm, _ = dnums
        kernel = [_dilate_dim(rhs.shape[i], d) for i, d in zip(rhs_perm[2:], rhs_dilation)]
        padding = padtype_to_pads(
            [lhs.shape[i] for i in lhs_perm[2:]], kernel, window_strides, padding
        )
    else:
        try:
            padding = tuple((operator.index(lo), operator.index(hi)) for lo, hi in padding)
        except (ValueError, TypeError) as e:
            raise ValueError(
                f"padding argument to conv_general_dilated should be a string or a sequence of "
                f"(low, high) pairs, got {padding}"
            ) from e
    if preferred_element_type is not None:
        preferred_element_type = _dtypes.canonicalize_dtype(preferred_element_type)
    _check_shapes(
        lhs,
        rhs,
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        dnums,
        operator.index(feature_group_count),
        operator.index(batch_group_count),
    )
    dtype = _same_dtypes("conv_general_dilated", (lhs, rhs))
    if preferred_element_type is not None:
        _check_preferred(dtype, preferred_element_type)
    return _conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        dnums,
        feature_group_count,
        batch_group_count,
        preferred_element_type,
        precision,
    )


def conv_general_dilated_patches(
    lhs,
    filter_shape,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    precision=None,
    preferred_element_type=None,
):
    """The patches that a convolution with a kernel of spatial shape ``filter_shape`` would
    see, flattened into the output's feature dimension (features major, then the patch's
    positions): a convolution with a one-hot kernel per patch position, as JAX computes it.

    >>> import pullback.numpy as jnp
    >>> from pullback import lax
    >>> x = jnp.arange(9.0).reshape(1, 1, 3, 3)
    >>> lax.conv_general_dilated_patches(x, (2, 2), (1, 1), "VALID")[0, :, 0, 0]
    Array([0., 1., 3., 4.], dtype=float32)
    """
    lhs = _arr(lhs)
    filter_shape = tuple(filter_shape)
    dnums = conv_dimension_numbers(lhs.shape, (1, 1, *filter_shape), dimension_numbers)
    _, rhs_spec, _ = dnums
    spatial_size = math.prod(filter_shape)
    n_channels = lhs.shape[dnums.lhs_spec[1]]
    # every position of a patch goes to its own output feature
    rhs = _ops.eye(spatial_size, spatial_size, 0, lhs.dtype)
    rhs = _ops.broadcast_to(
        _ops.reshape(rhs, (1, spatial_size, spatial_size)),
        (n_channels, spatial_size, spatial_size),
    )
    rhs = _ops.reshape(rhs, (n_channels * spatial_size, 1, *filter_shape))
    order = [i for i in range(rhs.ndim) if i not in (0, 1)]
    for dest, src in sorted(zip((rhs_spec[0], rhs_spec[1]), (0, 1))):
        order.insert(dest, src)
    rhs = _transpose(rhs, tuple(order))
    return conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        dnums,
        feature_group_count=n_channels,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """Convolution with ``('NCHW', 'OIHW', 'NCHW')``-style dimension numbers and ``'SAME'`` or
    ``'VALID'`` padding.

    >>> import pullback.numpy as jnp
    >>> from pullback import lax
    >>> lax.conv(jnp.ones((1, 1, 3, 3)), jnp.ones((1, 1, 2, 2)), (1, 1), "SAME")
    Array([[[[4., 4., 2.],
             [4., 4., 2.],
             [2., 2., 1.]]]], dtype=float32)
    """
    return conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_with_general_padding(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    precision=None,
    preferred_element_type=None,
):
    """Convolution with explicit padding and dilations, default dimension numbers.

    >>> import pullback.numpy as jnp
    >>> from pullback import lax
    >>> lax.conv_with_general_padding(jnp.ones((1, 1, 3)), jnp.ones((1, 1, 2)), (1,),
    ...                               [(1, 0)], None, (2,))
    Array([[[1., 2.]]], dtype=float32)
    """
    return conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def _conv_transpose_padding(k, s, padding):
    if padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else int(np.ceil(pad_len / 2))
    elif padding == "VALID":
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    elif isinstance(padding, tuple):
        pads = tuple(k - p - 1 for p in padding)
        pad_a = pads[0]
        pad_len = sum(pads)
    else:
        raise ValueError(f"Invalid padding mode: {padding}")
    return pad_a, pad_len - pad_a


def conv_transpose(
    lhs,
    rhs,
    strides,
    padding,
    rhs_dilation=None,
    dimension_numbers=None,
    transpose_kernel=False,
    precision=None,
    preferred_element_type=None,
    use_consistent_padding=False,
):
    """The N-d convolution "transpose": a fractionally strided convolution (``lhs`` dilated by
    ``strides``). Dimension numbers default to TensorFlow's (``('NHWC', 'HWIO', 'NHWC')`` in
    2-D); ``transpose_kernel=True`` flips the kernel's spatial axes and swaps its feature axes,
    giving the gradient of ``conv_general_dilated`` (Keras' ``Conv2DTranspose``).

    >>> import pullback.numpy as jnp
    >>> from pullback import lax
    >>> lax.conv_transpose(jnp.ones((1, 2, 1)), jnp.ones((2, 1, 1)), (2,), "SAME")
    Array([[[1.],
            [1.],
            [1.],
            [1.]]], dtype=float32)
    """
    lhs, rhs = _arr(lhs), _arr(rhs)
    assert lhs.ndim == rhs.ndim and lhs.ndim >= 2
    ndims = lhs.ndim
    one = (1,) * (ndims - 2)
    if dimension_numbers is None:
        defaults = {
            2: ("NC", "IO", "NC"),
            3: ("NHC", "HIO", "NHC"),
            4: ("NHWC", "HWIO", "NHWC"),
            5: ("NHWDC", "HWDIO", "NHWDC"),
        }
        if ndims not in defaults:
            raise ValueError("No 4+ dimensional dimension_number defaults.")
        dimension_numbers = defaults[ndims]
    dn = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    k_sdims = [rhs.shape[i] for i in dn.rhs_spec[2:]]
    if rhs_dilation is None:
        rhs_dilation = (1,) * (rhs.ndim - 2)
    if use_consistent_padding or (isinstance(padding, str) and padding in {"SAME", "VALID"}):
        effective = [_dilate_dim(k, r) for k, r in zip(k_sdims, rhs_dilation)]
        replicated = [padding] * len(strides) if isinstance(padding, str) else padding
        pads = tuple(
            _conv_transpose_padding(k, s, p) for k, s, p in zip(effective, strides, replicated)
        )
    else:
        pads = padding
    if transpose_kernel:
        rhs = _rev(rhs, tuple(dn.rhs_spec[2:]))
        perm = list(range(rhs.ndim))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = perm[dn.rhs_spec[1]], perm[dn.rhs_spec[0]]
        rhs = _transpose(rhs, tuple(perm))
    return conv_general_dilated(
        lhs,
        rhs,
        one,
        pads,
        strides,
        rhs_dilation,
        dn,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_shape_tuple(lhs_shape, rhs_shape, strides, pads, batch_group_count=1):
    """The output shape of a convolution of operands in canonical (``NCHW``/``OIHW``) order
    (spatial sizes are NumPy integers, as JAX computes them).

    >>> from pullback import lax
    >>> lax.conv_shape_tuple((2, 3, 8, 8), (4, 3, 3, 3), (2, 2), "SAME")
    (2, 4, np.int64(4), np.int64(4))
    """
    if isinstance(pads, str):
        pads = padtype_to_pads(lhs_shape[2:], rhs_shape[2:], strides, pads)
    if len(pads) != len(lhs_shape) - 2:
        raise TypeError(
            f"Wrong number of explicit pads for convolution: expected {len(lhs_shape) - 2}, "
            f"got {len(pads)}."
        )
    lhs_padded = np.add(lhs_shape[2:], np.sum(np.array(pads).reshape(-1, 2), axis=1))
    if np.any(lhs_padded < 0):
        raise ValueError(
            f"Negative padding is larger than the size of the corresponding dimension: got "
            f"padding={pads} for lhs_shape[2:]={lhs_shape[2:]}"
        )
    out_space = tuple(
        max((d - k) // s + 1, 0) for d, k, s in zip(lhs_padded, rhs_shape[2:], strides)
    )
    batch = lhs_shape[0] // batch_group_count if batch_group_count > 1 else lhs_shape[0]
    return (batch, rhs_shape[0], *out_space)


def conv_general_shape_tuple(lhs_shape, rhs_shape, window_strides, padding, dimension_numbers):
    """The output shape of a convolution with string dimension numbers.

    >>> from pullback import lax
    >>> lax.conv_general_shape_tuple((2, 8, 8, 3), (3, 3, 3, 4), (1, 1), "VALID",
    ...                              ("NHWC", "HWIO", "NHWC"))
    (np.int64(2), np.int64(6), np.int64(6), np.int64(4))
    """
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    lhs_trans = np.take(lhs_shape, lhs_perm)
    rhs_trans = np.take(rhs_shape, rhs_perm)
    out_trans = conv_shape_tuple(lhs_trans, rhs_trans, window_strides, padding)
    return tuple(np.take(out_trans, np.argsort(out_perm)))


def conv_transpose_shape_tuple(lhs_shape, rhs_shape, window_strides, padding, dimension_numbers):
    """The output shape of ``conv_transpose`` with string dimension numbers.

    >>> from pullback import lax
    >>> lax.conv_transpose_shape_tuple((1, 4, 4, 2), (3, 3, 2, 5), (2, 2), "SAME",
    ...                                ("NHWC", "HWIO", "NHWC"))
    (np.int64(1), np.int64(8), np.int64(8), np.int64(5))
    """
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    lhs_trans = np.take(lhs_shape, lhs_perm)
    rhs_trans = np.take(rhs_shape, rhs_perm)
    if isinstance(padding, str):
        padding = [
            _conv_transpose_padding(k, s, padding) for k, s in zip(rhs_trans[2:], window_strides)
        ]
    padding = list(map(np.sum, padding))
    unpadded = [
        (i - 1) * s - k + 2 for i, k, s in zip(lhs_trans[2:], rhs_trans[2:], window_strides)
    ]
    out_space = np.sum([unpadded, padding], axis=0).tolist()
    out_trans = (lhs_trans[0], rhs_trans[0], *out_space)
    return tuple(np.take(out_trans, np.argsort(out_perm)))
