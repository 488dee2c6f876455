"""Sample rows for the core primitives: elementwise, structural, creation, reductions, shape,
linear algebra. The row format is described at the top of ``test_primitives.py``."""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(1234)


def row(*args, ref, **kw):
    """A sample row: ``args`` are the operands, ``ref`` the NumPy reference."""
    return {"args": args, "ref": ref, **kw}


def u(*shape, lo=-2.0, hi=2.0):
    """Uniform float64 values in ``[lo, hi)``."""
    return _rng.uniform(lo, hi, size=shape)


def away_from_zero(*shape, lo=0.5, hi=2.0):
    """Values with ``lo <= |x| < hi`` and random signs."""
    return u(*shape, lo=lo, hi=hi) * _rng.choice([-1.0, 1.0], size=shape)


def ints(*shape, lo=-5, hi=6, dtype=np.int32):
    return _rng.integers(lo, hi, size=shape).astype(dtype)


def bools(*shape):
    return _rng.integers(0, 2, size=shape).astype(bool)


SAMPLES: dict[str, list[dict]] = {}


def add(name, *rows):
    SAMPLES.setdefault(name, []).extend(rows)


def _logistic(x):
    return 1 / (1 + np.exp(-x))


# -- elementwise unary -------------------------------------------------------------------------

_UNARY = {
    "neg": (np.negative, u(2, 3)),
    "sin": (np.sin, u(2, 3)),
    "cos": (np.cos, u(2, 3)),
    "tan": (np.tan, u(2, 3, lo=-1.2, hi=1.2)),
    "asin": (np.arcsin, u(2, 3, lo=-0.9, hi=0.9)),
    "acos": (np.arccos, u(2, 3, lo=-0.9, hi=0.9)),
    "atan": (np.arctan, u(2, 3)),
    "sinh": (np.sinh, u(2, 3)),
    "cosh": (np.cosh, u(2, 3)),
    "tanh": (np.tanh, u(2, 3)),
    "asinh": (np.arcsinh, u(2, 3)),
    "acosh": (np.arccosh, u(2, 3, lo=1.2, hi=3.0)),
    "atanh": (np.arctanh, u(2, 3, lo=-0.9, hi=0.9)),
    "exp": (np.exp, u(2, 3)),
    "exp2": (lambda x: 2.0**x, u(2, 3)),
    "expm1": (lambda x: np.exp(x) - 1, u(2, 3)),
    "log": (np.log, u(2, 3, lo=0.2, hi=3.0)),
    "log2": (lambda x: np.log(x) / np.log(2), u(2, 3, lo=0.2, hi=3.0)),
    "log10": (lambda x: np.log(x) / np.log(10), u(2, 3, lo=0.2, hi=3.0)),
    "log1p": (lambda x: np.log(1 + x), u(2, 3, lo=-0.5, hi=2.0)),
    "sqrt": (lambda x: x**0.5, u(2, 3, lo=0.2, hi=3.0)),
    "rsqrt": (lambda x: x**-0.5, u(2, 3, lo=0.2, hi=3.0)),
    "cbrt": (lambda x: np.sign(x) * np.abs(x) ** (1 / 3), away_from_zero(2, 3)),
    "square": (lambda x: x * x, u(2, 3)),
    "reciprocal": (lambda x: 1 / x, away_from_zero(2, 3)),
    "abs": (np.abs, away_from_zero(2, 3)),
    "logistic": (_logistic, u(2, 3, lo=-4, hi=4)),
}
for _name, (_ref, _x) in _UNARY.items():
    add(_name, row(_x, ref=_ref))
add("neg", row(ints(4), ref=np.negative), row(np.float64(1.5), ref=np.negative))
add("abs", row(ints(4), ref=np.abs))
add("square", row(ints(4), ref=lambda x: x * x))

_halves = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.2, 0.7])
add("sign", row(np.array([-2.0, 0.0, 3.0]), ref=np.sign), row(ints(5), ref=np.sign))
add("floor", row(_halves, ref=np.floor))
add("ceil", row(_halves, ref=np.ceil))
add("round", row(_halves, ref=lambda x: np.array([-2.0, -2, -0, 0, 2, 2, -1, 1])))
add("trunc", row(_halves, ref=lambda x: np.where(x < 0, np.ceil(x), np.floor(x))))
_special = np.array([0.0, np.nan, np.inf, -np.inf, -1.0])
add("isnan", row(_special, ref=np.isnan))
add("isinf", row(_special, ref=np.isinf))
add("isfinite", row(_special, ref=np.isfinite))
add("not", row(bools(5), ref=np.logical_not))
add("bitwise_not", row(ints(5), ref=lambda x: -x - 1), row(bools(3), ref=np.logical_not))
add(
    "integer_pow",
    row(u(2, 3), params={"y": 3}, ref=lambda x, y: x * x * x),
    row(away_from_zero(2, 3), params={"y": -2}, ref=lambda x, y: 1 / (x * x)),
    row(u(2, 3), params={"y": 2}, ref=lambda x, y: x * x),
)

# -- elementwise binary (the second operand broadcasts, to check unbroadcast) -------------------

add("add", row(u(2, 3), u(3), ref=np.add), row(u(2, 1), u(1, 3), ref=np.add))
add("sub", row(u(2, 3), u(3), ref=np.subtract), row(u(3), 1.5, ref=np.subtract))
add("mul", row(u(2, 3), u(2, 1), ref=np.multiply), row(ints(4), ints(4), ref=np.multiply))
add("div", row(u(2, 3), away_from_zero(3), ref=np.divide))
add(
    "pow",
    row(u(2, 3, lo=0.3, hi=2.0), u(3), ref=lambda x, y: np.exp(y * np.log(x))),
    row(u(3, lo=0.3, hi=2.0), 2.5, ref=lambda x, y: np.exp(y * np.log(x))),
)
_a, _b = u(2, 3), u(2, 3)
_b[0, 0] = _a[0, 0] + 0.5  # no ties: the finite differences need a smooth neighbourhood
add("max", row(_a, _b, ref=lambda x, y: np.where(x > y, x, y)), row(u(2, 3), u(3), ref=np.maximum))
add("min", row(_a, _b, ref=lambda x, y: np.where(x < y, x, y)), row(u(2, 3), u(3), ref=np.minimum))
add("atan2", row(u(2, 3), away_from_zero(2, 3), ref=np.arctan2))
add("logaddexp", row(u(2, 3), u(3), ref=lambda x, y: np.log(np.exp(x) + np.exp(y))))
add(
    "rem",
    row(np.array([5.3, -5.3, 2.2, -0.7]), np.array([2.0, 2.0, -1.5, 0.4]), ref=np.mod),
    row(ints(5), np.array([3, 3, -2, 4, 7], np.int32), ref=np.mod),
)
add(
    "fmod",
    row(np.array([5.3, -5.3, 2.2, -0.7]), np.array([2.0, 2.0, -1.5, 0.4]), ref=np.fmod),
    row(ints(5), np.array([3, 3, -2, 4, 7], np.int32), ref=np.fmod),
)
add(
    "floor_divide",
    row(np.array([5.3, -5.3, 2.2]), np.array([2.0, 2.0, -1.5]), ref=lambda x, y: np.floor(x / y)),
    row(ints(5), np.array([3, 3, -2, 4, 7], np.int32), ref=np.floor_divide),
)
add(
    "nextafter",
    row(np.array([1.0, 0.0]), np.array([2.0, -1.0]), ref=np.nextafter),
)
_c1 = np.array([1.0, 2.0, 3.0, 2.0])
_c2 = np.array([2.0, 2.0, 1.0, np.nan])
for _name, _ref in [
    ("eq", np.equal),
    ("ne", np.not_equal),
    ("lt", np.less),
    ("le", np.less_equal),
    ("gt", np.greater),
    ("ge", np.greater_equal),
]:
    add(_name, row(_c1, _c2, ref=_ref), row(ints(6), ints(6), ref=_ref))
for _name, _ref in [("and", np.bitwise_and), ("or", np.bitwise_or), ("xor", np.bitwise_xor)]:
    add(_name, row(ints(6), ints(6), ref=_ref), row(bools(4), bools(4), ref=_ref))
for _name, _ref in [
    ("logical_and", np.logical_and),
    ("logical_or", np.logical_or),
    ("logical_xor", np.logical_xor),
]:
    add(_name, row(bools(6), bools(6), ref=_ref))
add(
    "shift_left",
    row(ints(5, lo=0, hi=100), ints(5, lo=0, hi=8), ref=lambda x, y: x * 2**y),
)
add(
    "shift_right",
    row(ints(5, lo=0, hi=100), ints(5, lo=0, hi=4), ref=lambda x, y: x // 2**y),
)
add(
    "select",
    row(bools(2, 3), u(2, 3), u(2, 3), ref=np.where),
    row(bools(3), u(2, 3), u(2, 1), ref=np.where),
)
_lo, _hi = u(2, 3, lo=-1.0, hi=-0.1), u(2, 3, lo=0.1, hi=1.0)
_x = np.array([[-2.0, 0.0, 0.5], [2.0, -0.05, 0.05]])
add("clamp", row(_lo, _x, _hi, ref=lambda lo, x, hi: np.where(x < lo, lo, np.where(x > hi, hi, x))))

# -- conversion and structure ------------------------------------------------------------------

add(
    "convert_element_type",
    row(
        u(2, 3), params={"new_dtype": np.dtype("float64"), "weak_type": True}, ref=lambda x, **p: x
    ),
    row(
        u(2, 3),
        params={"new_dtype": np.dtype("float32"), "weak_type": False},
        ref=lambda x, **p: x.astype(np.float32),
        rtol=1e-6,
        eps=1e-2,
        grad_rtol=1e-4,
        order=1,
    ),
    row(
        ints(4),
        params={"new_dtype": np.dtype("float64"), "weak_type": False},
        ref=lambda x, **p: x.astype(np.float64),
    ),
    row(
        np.array([0.0, 1.5, -2.0]),
        params={"new_dtype": np.dtype("bool"), "weak_type": False},
        ref=lambda x, **p: x != 0,
    ),
)
add(
    "reduce_sum",
    row(u(2, 3, 4), params={"axes": (0, 2)}, ref=lambda x, axes: x.sum(axis=axes)),
    row(u(2, 3), params={"axes": ()}, ref=lambda x, axes: x),
    row(ints(2, 3), params={"axes": (1,)}, ref=lambda x, axes: x.sum(axis=1, dtype=np.int32)),
)
add(
    "reshape",
    row(u(2, 3), params={"shape": (3, 2)}, ref=lambda x, shape: x.reshape(shape)),
    row(u(2, 3), params={"shape": (6, 1)}, ref=lambda x, shape: x.reshape(shape)),
)
add(
    "broadcast_in_dim",
    row(u(3), params={"shape": (2, 3)}, ref=lambda x, shape: np.tile(x, (2, 1))),
    row(u(2, 1), params={"shape": (4, 2, 3)}, ref=lambda x, shape: np.tile(x, (4, 1, 3))),
)
add(
    "transpose",
    row(
        u(2, 3, 4),
        params={"permutation": (2, 0, 1)},
        ref=lambda x, permutation: np.einsum("abc->cab", x),
    ),
)
add("stop_gradient", row(u(2, 3), ref=lambda x: x))
add("name", row(u(2, 3), params={"name": "h"}, ref=lambda x, name: x))

# -- creation ----------------------------------------------------------------------------------

add(
    "full",
    row(
        params={"shape": (2, 3), "fill_value": 1.5, "dtype": np.dtype("float64")},
        ref=lambda **p: np.ones((2, 3)) * 1.5,
    ),
    row(
        params={"shape": (2,), "fill_value": 7, "dtype": np.dtype("int8")},
        ref=lambda **p: np.array([7, 7], np.int8),
    ),
)
add(
    "arange",
    row(
        params={"start": 0, "stop": 5, "step": 1, "dtype": np.dtype("int32")},
        ref=lambda **p: np.array([0, 1, 2, 3, 4], np.int32),
    ),
    row(
        params={"start": 1.0, "stop": 2.0, "step": 0.25, "dtype": np.dtype("float64")},
        ref=lambda **p: np.array([1.0, 1.25, 1.5, 1.75]),
    ),
)
add(
    "linspace",
    row(
        params={
            "start": 0.0,
            "stop": 1.0,
            "num": 5,
            "endpoint": True,
            "dtype": np.dtype("float64"),
            "computation_dtype": np.dtype("float64"),
        },
        ref=lambda **p: np.array([0.0, 0.25, 0.5, 0.75, 1.0]),
    ),
    row(
        params={
            "start": -10,
            "stop": 0,
            "num": 4,
            "endpoint": True,
            "dtype": np.dtype("int32"),
            "computation_dtype": np.dtype("float32"),
        },
        ref=lambda **p: np.array([-10, -7, -4, 0], np.int32),
    ),
    row(
        params={
            "start": 0.0,
            "stop": 1.0,
            "num": 4,
            "endpoint": False,
            "dtype": np.dtype("float64"),
            "computation_dtype": np.dtype("float64"),
        },
        ref=lambda **p: np.array([0.0, 0.25, 0.5, 0.75]),
    ),
)
add(
    "eye",
    row(
        params={"N": 2, "M": 3, "k": 1, "dtype": np.dtype("float64")},
        ref=lambda **p: np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
    ),
)

# -- reductions --------------------------------------------------------------------------------

_x3 = u(2, 3, 4)
add(
    "reduce_max",
    row(_x3, params={"axes": (1,)}, ref=lambda x, axes: np.sort(x, axis=1)[:, -1]),
    row(_x3, params={"axes": (0, 2)}, ref=lambda x, axes: x.max(axis=axes)),
    row(ints(3, 4), params={"axes": (0,)}, ref=lambda x, axes: x.max(axis=0)),
    row(np.zeros((0, 2)), params={"axes": (0,)}, ref=lambda x, axes: np.full(2, -np.inf), order=0),
)
add(
    "reduce_min",
    row(_x3, params={"axes": (2,)}, ref=lambda x, axes: np.sort(x, axis=2)[..., 0]),
    row(_x3, params={"axes": (0, 1, 2)}, ref=lambda x, axes: x.min()),
)
_with_zero = away_from_zero(3, 4)
_with_zero[1, 2] = 0.0
_with_zeros = away_from_zero(3, 4)
_with_zeros[0, 1] = _with_zeros[0, 3] = 0.0
add(
    "reduce_prod",
    row(away_from_zero(3, 4), params={"axes": (1,)}, ref=lambda x, axes: np.prod(x, axis=1)),
    row(away_from_zero(2, 3, 2), params={"axes": (0, 2)}, ref=lambda x, axes: x.prod(axis=axes)),
    row(_with_zero, params={"axes": (1,)}, ref=lambda x, axes: np.prod(x, axis=1), order=1),
    row(_with_zeros, params={"axes": (1,)}, ref=lambda x, axes: np.prod(x, axis=1), order=1),
)
add(
    "reduce_and",
    row(bools(3, 4), params={"axes": (1,)}, ref=lambda x, axes: x.all(axis=1)),
    row(np.ones((2, 2), bool), params={"axes": (0, 1)}, ref=lambda x, axes: np.bool_(True)),
)
add(
    "reduce_or",
    row(bools(3, 4), params={"axes": (0,)}, ref=lambda x, axes: x.any(axis=0)),
    row(np.zeros((2, 2), bool), params={"axes": (0, 1)}, ref=lambda x, axes: np.bool_(False)),
)
_idx = np.dtype("int32")
add(
    "argmax",
    row(
        u(3, 4),
        params={"axes": (1,), "index_dtype": _idx},
        ref=lambda x, **p: np.argmax(x, axis=1).astype(np.int32),
    ),
    row(
        np.array([1.0, 3.0, 3.0, np.nan, 0.0]),
        params={"axes": (0,), "index_dtype": _idx},
        ref=lambda x, **p: np.int32(3),
    ),
)
add(
    "argmin",
    row(
        u(3, 4),
        params={"axes": (0,), "index_dtype": _idx},
        ref=lambda x, **p: np.argmin(x, axis=0).astype(np.int32),
    ),
    row(
        np.array([2.0, 1.0, 1.0]),
        params={"axes": (0,), "index_dtype": _idx},
        ref=lambda x, **p: np.int32(1),
    ),
)


def _cumsum_ref(x, axis, reverse):
    x = np.moveaxis(x, axis, -1)
    out = np.zeros_like(x)
    for i in range(x.shape[-1]):
        out[..., i] = x[..., i:].sum(-1) if reverse else x[..., : i + 1].sum(-1)
    return np.moveaxis(out, -1, axis)


def _cumprod_ref(x, axis, reverse):
    x = np.moveaxis(x, axis, -1)
    out = np.zeros_like(x)
    for i in range(x.shape[-1]):
        out[..., i] = x[..., i:].prod(-1) if reverse else x[..., : i + 1].prod(-1)
    return np.moveaxis(out, -1, axis)


_z = away_from_zero(2, 5)
_z[0, 1] = 0.0
_z[1, 1] = _z[1, 3] = 0.0
add(
    "cumsum",
    row(u(3, 4), params={"axis": 1, "reverse": False}, ref=_cumsum_ref),
    row(u(3, 4), params={"axis": 0, "reverse": True}, ref=_cumsum_ref),
    row(ints(5), params={"axis": 0, "reverse": False}, ref=_cumsum_ref),
)
add(
    "cumprod",
    row(away_from_zero(3, 4), params={"axis": 1, "reverse": False}, ref=_cumprod_ref),
    row(away_from_zero(3, 4), params={"axis": 0, "reverse": True}, ref=_cumprod_ref),
    row(_z, params={"axis": 1, "reverse": False}, ref=_cumprod_ref, order=1),
    row(_z, params={"axis": 1, "reverse": True}, ref=_cumprod_ref, order=1),
)

# -- shape -------------------------------------------------------------------------------------

add(
    "concatenate",
    row(
        u(2, 1), u(2, 3), u(2, 2), params={"dimension": 1}, ref=lambda *xs, dimension: np.hstack(xs)
    ),
    row(u(1, 2), u(2, 2), params={"dimension": 0}, ref=lambda *xs, dimension: np.vstack(xs)),
)
add(
    "split",
    row(
        u(2, 6),
        params={"sizes": (1, 0, 3, 2), "axis": 1},
        ref=lambda x, sizes, axis: [x[:, :1], x[:, 1:1], x[:, 1:4], x[:, 4:]],
    ),
    row(u(3, 2), params={"sizes": (2, 1), "axis": 0}, ref=lambda x, sizes, axis: [x[:2], x[2:]]),
)
add(
    "squeeze",
    row(u(1, 3, 1), params={"dimensions": (0, 2)}, ref=lambda x, dimensions: x[0, :, 0]),
)
add(
    "rev",
    row(u(2, 3), params={"dimensions": (1,)}, ref=lambda x, dimensions: x[:, ::-1]),
    row(u(2, 3), params={"dimensions": (0, 1)}, ref=lambda x, dimensions: x[::-1, ::-1]),
)
add(
    "slice",
    row(
        u(4, 5),
        params={"start_indices": (1, 0), "limit_indices": (3, 5), "strides": None},
        ref=lambda x, **p: x[1:3, :],
    ),
    row(
        u(5, 6),
        params={"start_indices": (0, 1), "limit_indices": (5, 6), "strides": (2, 3)},
        ref=lambda x, **p: x[0:5:2, 1:6:3],
    ),
)


def _pad_ref(x, v, padding_config):
    out = x
    for axis, (lo, hi, interior) in enumerate(padding_config):
        out = np.moveaxis(out, axis, 0)
        pieces = []
        for i in range(out.shape[0]):
            pieces.append(out[i : i + 1])
            if i < out.shape[0] - 1:
                pieces.extend([np.full_like(out[:1], v)] * interior)
        body = np.concatenate(pieces) if pieces else out
        filler = np.full_like(out[:1], v) if out.shape[0] else np.full((1,) + out.shape[1:], v)
        out = np.concatenate([filler] * lo + [body] + [filler] * hi)
        out = np.moveaxis(out, 0, axis)
    return out


add(
    "pad",
    row(u(2, 3), np.float64(0.5), params={"padding_config": ((1, 2, 0), (0, 1, 2))}, ref=_pad_ref),
    row(u(3), np.float64(-1.0), params={"padding_config": ((0, 0, 1),)}, ref=_pad_ref),
)
_take_idx = np.array([[2, -1], [0, 7]], np.int32)
_fill = {"mode": "fill", "fill_value": np.nan}
add(
    "take",
    row(
        u(3, 4),
        np.array([3, 0, 0], np.int32),
        params={"axis": 1, **_fill},
        ref=lambda x, i, **p: x[:, [3, 0, 0]],
    ),
    row(
        u(3, 4),
        _take_idx,
        params={"axis": 0, **_fill},
        ref=lambda x, i, **p: np.where((i == 7)[..., None], np.nan, x[np.where(i == 7, 0, i)]),
    ),
    row(
        u(3, 2),
        np.array([5, -4, 1], np.int32),
        params={"axis": 0, "mode": "clip", "fill_value": 0},
        ref=lambda x, i, **p: x[[2, 0, 1]],
    ),
    row(
        u(3, 2),
        np.array([5, -4, 1], np.int32),
        params={"axis": 0, "mode": "wrap", "fill_value": 0},
        ref=lambda x, i, **p: x[[2, 2, 1]],
    ),
)


def _take_add_ref(ct, idx, axis, mode, size):
    out = np.zeros(ct.shape[:axis] + (size,) + ct.shape[axis + idx.ndim :])
    for pos in np.ndindex(*idx.shape):
        i = idx[pos]
        i = i + size if i < 0 else i
        if 0 <= i < size:
            out[(slice(None),) * axis + (i,)] += ct[(slice(None),) * axis + pos]
    return out


add(
    "take_add",
    row(
        u(2, 3),
        np.array([2, 0, 2], np.int32),
        params={"axis": 1, "mode": "fill", "size": 4},
        ref=_take_add_ref,
    ),
    row(u(2, 2, 3), _take_idx, params={"axis": 0, "mode": "fill", "size": 3}, ref=_take_add_ref),
)

# -- linear algebra ----------------------------------------------------------------------------


def _matmul_ref(x, y):
    # NumPy's rule for vectors: a row on the left, a column on the right, its axis then dropped
    mx = x[None] if x.ndim == 1 else x
    my = y[:, None] if y.ndim == 1 else y
    x2, y2 = np.broadcast_arrays(mx[..., :, :, None], my[..., None, :, :])
    out = (x2 * y2).sum(-2, dtype=x.dtype)
    if y.ndim == 1:
        out = out[..., 0]
    if x.ndim == 1:
        out = out[..., 0, :] if y.ndim > 1 else out[..., 0]
    return out


add(
    "matmul",
    row(u(3), u(3, 4), ref=_matmul_ref),
    row(u(2, 3), u(3), ref=_matmul_ref),
    row(u(3), u(3), ref=_matmul_ref),
    row(u(3), u(2, 3, 4), ref=_matmul_ref),
    row(u(2, 2, 3), u(3), ref=_matmul_ref),
    row(u(2, 3), u(3, 4), ref=_matmul_ref),
    row(u(2, 2, 3), u(2, 3, 4), ref=_matmul_ref),
    row(u(1, 2, 3), u(3, 3, 2), ref=_matmul_ref),
    row(u(2, 3), u(4, 3, 2), ref=_matmul_ref),
    row(ints(2, 3), ints(3, 2), ref=_matmul_ref),
)
add(
    "einsum",
    row(u(2, 3), u(3, 4), params={"subscripts": "ij,jk->ik"}, ref=lambda x, y, **p: x @ y),
    row(u(3, 3), params={"subscripts": "ii->i"}, ref=lambda x, **p: np.diag(x).copy()),
    row(u(3, 3), params={"subscripts": "ii->"}, ref=lambda x, **p: np.trace(x)),
    row(u(2, 3), params={"subscripts": "ij->"}, ref=lambda x, **p: x.sum()),
    row(u(2, 3), u(3), params={"subscripts": "ij,j->ji"}, ref=lambda x, y, **p: (x * y).T),
    row(
        u(2, 3),
        u(2, 3),
        u(2),
        params={"subscripts": "ij,ij,i->j"},
        ref=lambda x, y, z, **p: (x * y * z[:, None]).sum(0),
    ),
    row(
        u(2, 2, 3),
        u(3),
        params={"subscripts": "iij,k->jk"},
        ref=lambda x, y, **p: np.outer((x[0, 0] + x[1, 1]), y),
    ),
    row(
        u(4, 2, 3),
        u(4, 3, 2),
        params={"subscripts": "bij,bjk->bik"},
        ref=lambda x, y, **p: _matmul_ref(x, y),
    ),
)

# -- higher-order primitives (parameters are programs; tested in their own files) ----------------

add("custom_vjp_call", {"skip": "higher-order primitive: tests/test_custom_vjp.py"})
add("custom_jvp_call", {"skip": "higher-order primitive: tests/test_custom_jvp.py"})
add("custom_vmap_call", {"skip": "higher-order primitive: tests/test_custom_batching.py"})
