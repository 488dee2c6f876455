"""Sample rows for the convolution and windowed-reduction primitives
(``pullback._ops.convolution``, ``pullback._ops.windows``). The row format is described at the
top of ``test_primitives.py``.

The references are direct NumPy loops over output positions and window offsets, written from
XLA's definitions independently of the impls (which use strided views, im2col and BLAS);
``tests/test_convolution.py`` imports them too.
"""

from __future__ import annotations

import itertools

import numpy as np

from pullback._ops.convolution import ConvDimensionNumbers
from pullback._ops.elementwise import ge_p, le_p

_rng = np.random.default_rng(2024)


def u(*shape):
    return _rng.uniform(-1.0, 1.0, size=shape)


SAMPLES: dict[str, list[dict]] = {}


def add(name, *rows):
    SAMPLES.setdefault(name, []).extend(rows)


# -- references --------------------------------------------------------------------------------


def _dilate_pad(x, padding, dilation, value):
    """``x`` with ``dilation - 1`` holes between elements, then padded by ``(low, high)`` per
    axis (negative values crop), holes and padding holding ``value``."""
    shape = [0 if n == 0 else (n - 1) * d + 1 for n, d in zip(x.shape, dilation)]
    out = np.full(shape, value, x.dtype)
    out[tuple(slice(None, None, d) for d in dilation)] = x
    for axis, (lo, hi) in enumerate(padding):
        widths = [(0, 0)] * x.ndim
        widths[axis] = (max(lo, 0), max(hi, 0))
        out = np.pad(out, widths, constant_values=value)
        index = [slice(None)] * x.ndim
        index[axis] = slice(max(-lo, 0), out.shape[axis] - max(-hi, 0))
        out = out[tuple(index)]
    return out


def conv_ref(
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
):
    """XLA's convolution, one output element at a time (vectorised over nothing but the kernel's
    input features)."""
    dtype = np.dtype(preferred_element_type or lhs.dtype)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    x = np.transpose(lhs, lhs_spec).astype(dtype)  # N C spatial...
    w = np.transpose(rhs, rhs_spec).astype(dtype)  # O I kernel...
    n = x.ndim - 2
    xp = _dilate_pad(x, [(0, 0), (0, 0), *padding], (1, 1, *lhs_dilation), 0)
    batch, _ = x.shape[:2]
    out_features, in_features = w.shape[:2]
    kernel = w.shape[2:]
    spatial = [
        max(0, (xp.shape[2 + i] - ((kernel[i] - 1) * rhs_dilation[i] + 1)) // window_strides[i] + 1)
        for i in range(n)
    ]
    groups = max(feature_group_count, batch_group_count)
    out_batch = batch // batch_group_count
    out = np.zeros((out_batch, out_features, *spatial), dtype)
    per_group = out_features // groups
    for b, o in itertools.product(range(out_batch), range(out_features)):
        g = o // per_group
        if batch_group_count > 1:
            src, chans = g * out_batch + b, slice(0, in_features)
        else:
            src, chans = b, slice(g * in_features, (g + 1) * in_features)
        for pos in np.ndindex(*spatial):
            total = dtype.type(0)
            for k in np.ndindex(*kernel):
                index = tuple(
                    p * s + kk * d for p, s, kk, d in zip(pos, window_strides, k, rhs_dilation)
                )
                total += np.sum(xp[(src, chans, *index)] * w[(o, slice(None), *k)])
            out[(b, o, *pos)] = total
    # canonical (N, O, spatial...) to the layout out_spec asks for
    return np.transpose(out, np.argsort(out_spec))


def reduce_window_shape(
    shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
):
    out = []
    for n, k, s, (lo, hi), bd, wd in zip(
        shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
    ):
        size = (0 if n == 0 else (n - 1) * bd + 1) + lo + hi
        out.append(max(0, (size - ((k - 1) * wd + 1)) // s + 1))
    return tuple(out)


_IDENTITY = {"sum": 0.0, "max": -np.inf, "min": np.inf}


def _windows(x, window_dimensions, window_strides, padding, base_dilation, window_dilation, value):
    """Yield ``(output index, list of (padded index, element))`` for every window."""
    xp = _dilate_pad(x, padding, base_dilation, value)
    out_shape = [
        max(0, (xp.shape[i] - ((k - 1) * d + 1)) // s + 1)
        for i, (k, s, d) in enumerate(zip(window_dimensions, window_strides, window_dilation))
    ]
    for pos in np.ndindex(*out_shape):
        elems = []
        for k in np.ndindex(*window_dimensions):
            index = tuple(
                p * s + kk * d for p, s, kk, d in zip(pos, window_strides, k, window_dilation)
            )
            elems.append((index, xp[index]))
        yield pos, elems, out_shape, xp.shape


def reduce_window_ref(
    kind, x, window_dimensions, window_strides, padding, base_dilation, window_dilation
):
    """``kind`` is ``"sum"``, ``"max"`` or ``"min"``."""
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        value = {"sum": 0, "max": info.min, "min": info.max}[kind]
    else:
        value = _IDENTITY[kind]
    fn = {"sum": np.sum, "max": np.max, "min": np.min}[kind]
    results = {}
    shape = None
    for pos, elems, out_shape, _ in _windows(
        x, window_dimensions, window_strides, padding, base_dilation, window_dilation, value
    ):
        results[pos] = fn([e for _, e in elems])
        shape = out_shape
    if shape is None:
        shape = reduce_window_shape(
            x.shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
        )
    out = np.full(shape, value, x.dtype)
    for pos, v in results.items():
        out[pos] = v
    return out


def _selected(elems, select):
    """The index of the element XLA's select-and-scatter chooses: the first, replaced by every
    later one for which ``select(chosen, later)`` fails."""
    chosen = 0
    for k in range(1, len(elems)):
        if not select(elems[chosen][1], elems[k][1]):
            chosen = k
    return elems[chosen][0]


def select_and_scatter_add_ref(
    source,
    operand,
    select_prim,
    window_dimensions,
    window_strides,
    padding,
    base_dilation,
    window_dilation,
):
    ge = select_prim is ge_p
    select = np.greater_equal if ge else np.less_equal
    value = -np.inf if ge else np.inf
    out = None
    for pos, elems, _, padded_shape in _windows(
        operand, window_dimensions, window_strides, padding, base_dilation, window_dilation, value
    ):
        if out is None:
            out = np.zeros(padded_shape, source.dtype)
        out[_selected(elems, select)] += source[pos]
    if out is None:
        return np.zeros(operand.shape, source.dtype)
    # back from the padded, dilated positions to the operand's
    marker = _dilate_pad(
        np.arange(operand.size).reshape(operand.shape) + 1, padding, base_dilation, 0
    )
    result = np.zeros(operand.size, source.dtype)
    for index in np.ndindex(*marker.shape):
        if marker[index]:
            result[marker[index] - 1] = out[index]
    return result.reshape(operand.shape)


def select_and_gather_add_ref(
    tangents,
    operand,
    select_prim,
    window_dimensions,
    window_strides,
    padding,
    base_dilation,
    window_dilation,
):
    """The tangent at the position each window selects (as ``select_and_scatter_add``)."""
    ge = select_prim is ge_p
    select = np.greater_equal if ge else np.less_equal
    value = -np.inf if ge else np.inf
    tp = _dilate_pad(tangents, padding, base_dilation, 0)
    results = {}
    shape = reduce_window_shape(
        operand.shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
    )
    for pos, elems, _, _ in _windows(
        operand, window_dimensions, window_strides, padding, base_dilation, window_dilation, value
    ):
        results[pos] = tp[_selected(elems, select)]
    out = np.zeros(shape, tangents.dtype)
    for pos, v in results.items():
        out[pos] = v
    return out


# -- conv_general_dilated ----------------------------------------------------------------------

_NHWC = ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))


def conv(
    lhs,
    rhs,
    strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dn=None,
    fgc=1,
    bgc=1,
    preferred=None,
    **kw,
):
    n = len(strides)
    if dn is None:
        iota = tuple(range(n + 2))
        dn = ConvDimensionNumbers(iota, iota, iota)
    params = {
        "window_strides": tuple(strides),
        "padding": tuple(padding),
        "lhs_dilation": tuple(lhs_dilation or (1,) * n),
        "rhs_dilation": tuple(rhs_dilation or (1,) * n),
        "dimension_numbers": dn,
        "feature_group_count": fgc,
        "batch_group_count": bgc,
        "preferred_element_type": preferred,
    }
    return {
        "args": (lhs, rhs),
        "params": params,
        "ref": lambda lhs, rhs, **p: conv_ref(lhs, rhs, **p),
        **kw,
    }


add(
    "conv_general_dilated",
    conv(u(2, 3, 5, 4), u(4, 3, 3, 2), (1, 1), ((1, 1), (0, 1)), id="same-nchw"),
    conv(u(2, 3, 6, 5), u(2, 3, 2, 2), (2, 3), ((0, 1), (1, 0)), id="strides"),
    conv(
        u(1, 2, 4, 4),
        u(2, 2, 2, 2),
        (1, 2),
        ((1, -1), (2, 1)),
        (2, 1),
        (1, 2),
        id="dilations-negative-padding",
    ),
    conv(u(2, 5, 4, 3), u(2, 2, 3, 3), (1, 1), ((1, 0), (0, 1)), dn=_NHWC, id="nhwc"),
    conv(u(2, 4, 4, 3), u(4, 2, 2, 2), (1, 1), ((0, 1), (1, 0)), fgc=2, id="feature-groups"),
    conv(u(4, 2, 4, 3), u(4, 2, 2, 2), (1, 1), ((0, 0), (1, 0)), bgc=2, id="batch-groups"),
    conv(u(2, 2, 6), u(3, 2, 3), (2,), ((2, 1),), None, (2,), id="1d"),
    conv(
        u(2, 2, 3, 3),
        u(2, 2, 2, 2),
        (1, 1),
        ((0, 0), (0, 0)),
        dn=ConvDimensionNumbers((1, 0, 3, 2), (0, 1, 2, 3), (3, 1, 0, 2)),
        id="permuted-specs",
    ),
    conv(
        np.arange(2 * 2 * 3 * 3, dtype=np.int32).reshape(2, 2, 3, 3) % 5,
        np.arange(2 * 2 * 2 * 2, dtype=np.int32).reshape(2, 2, 2, 2) % 3,
        (1, 1),
        ((1, 0), (0, 1)),
        id="int32",
    ),
    conv(
        (u(1, 2, 3, 3) * 4).astype(np.int8),
        (u(2, 2, 2, 2) * 4).astype(np.int8),
        (1, 1),
        ((0, 0), (0, 0)),
        preferred=np.dtype(np.int32),
        id="int8-preferred-int32",
    ),
    conv(
        u(1, 2, 3, 3).astype(np.float32),
        u(2, 2, 2, 2).astype(np.float32),
        (1, 1),
        ((0, 0), (0, 0)),
        preferred=np.dtype(np.float64),
        order=1,
        id="float32-preferred-float64",
        rtol=1e-6,
        wrt=(),
    ),
)


# -- windowed reductions -----------------------------------------------------------------------


def window_params(wd, ws=None, padding=None, bd=None, wdl=None):
    n = len(wd)
    return {
        "window_dimensions": tuple(wd),
        "window_strides": tuple(ws or (1,) * n),
        "padding": tuple(padding or ((0, 0),) * n),
        "base_dilation": tuple(bd or (1,) * n),
        "window_dilation": tuple(wdl or (1,) * n),
    }


def _reducer_rows(kind):
    ref = lambda x, **p: reduce_window_ref(kind, x, **p)  # noqa: E731
    return [
        {"args": (u(4, 5),), "params": window_params((2, 3)), "ref": ref, "id": "valid"},
        {
            "args": (u(2, 5, 6),),
            "params": window_params((1, 2, 2), (1, 2, 2)),
            "ref": ref,
            "id": "pool",
        },
        {
            "args": (u(5, 4),),
            "params": window_params((3, 2), (2, 1), ((1, 1), (0, 1))),
            "ref": ref,
            "id": "strides-padding",
        },
        {
            "args": (u(3, 4),),
            "params": window_params((2, 2), (1, 2), ((0, 1), (1, 0)), (2, 1), (1, 2)),
            "ref": ref,
            "id": "dilations",
        },
        {
            "args": (u(4, 3),),
            "params": window_params((2, 2), (1, 1), ((-1, 1), (1, -1))),
            "ref": ref,
            "id": "negative-padding",
        },
        {
            "args": (np.arange(12, dtype=np.int32).reshape(3, 4) % 5,),
            "params": window_params((2, 2), (1, 1), ((1, 0), (0, 1))),
            "ref": ref,
            "id": "int32",
        },
    ]


for _kind in ("sum", "max", "min"):
    add(f"reduce_window_{_kind}", *_reducer_rows(_kind))

# ties: the cotangent of a window goes to its first extremum
_ties = np.array([[1.0, 1.0, 0.5], [1.0, 0.5, 1.0], [0.2, 1.0, 1.0]])
add(
    "reduce_window_max",
    {
        "args": (_ties,),
        "params": window_params((2, 2)),
        "ref": lambda x, **p: reduce_window_ref("max", x, **p),
        "order": 0,
        "id": "ties",
    },
)


def _select_rows(name, ref):
    rows = []
    for prim, tag in ((ge_p, "ge"), (le_p, "le")):
        for x_shape, params, pid in (
            ((4, 5), window_params((2, 2), (2, 2), ((0, 0), (0, 1))), "pool"),
            ((5, 4), window_params((3, 2), (1, 1), ((1, 1), (0, 0))), "overlapping"),
            ((3, 4), window_params((2, 2), (1, 1), ((0, 1), (1, 0)), (2, 1), (1, 2)), "dilated"),
        ):
            operand = u(*x_shape)
            out_shape = reduce_window_ref("max", operand, **params).shape
            first = u(*(out_shape if name == "select_and_scatter_add" else x_shape))
            rows.append(
                {
                    "args": (first, operand),
                    "params": {"select_prim": prim, **params},
                    "ref": ref,
                    "wrt": (0,),
                    "id": f"{tag}-{pid}",
                }
            )
    return rows


add("select_and_scatter_add", *_select_rows("select_and_scatter_add", select_and_scatter_add_ref))
add("select_and_gather_add", *_select_rows("select_and_gather_add", select_and_gather_add_ref))
