"""Sample rows for the indexing primitives (``pullback._ops.indexing``) and for ``fmod`` and
``clamp``. The row format is described at the top of ``test_primitives.py``.

References are written with plain NumPy indexing, independently of the impls.
"""

from __future__ import annotations

import numpy as np

from pullback._ops.indexing import ARRAY
from pullback.errors import ConcretizationTypeError

_rng = np.random.default_rng(4321)


def row(*args, ref, **kw):
    return {"args": args, "ref": ref, **kw}


def u(*shape, lo=-2.0, hi=2.0):
    return _rng.uniform(lo, hi, size=shape)


def i32(*values):
    return np.array(values, np.int32)


def full(n):
    return (0, n, 1)


SAMPLES: dict[str, list[dict]] = {}


def add(name, *rows):
    SAMPLES.setdefault(name, []).extend(rows)


def _wrap(i, n):
    i = np.asarray(i, np.int64)
    return np.where(i < 0, i + n, i)


def _clip(i, n):
    return np.clip(_wrap(i, n), 0, n - 1)


# -- getitem -----------------------------------------------------------------------------------

add(
    "getitem",
    row(
        u(3, 4, 5),
        params={"index": (1, (3, 0, -2), None, full(5))},
        ref=lambda x, index: x[1, 3:0:-2, None, :],
        id="int-negstep-newaxis",
    ),
    row(u(4), params={"index": ((3, -1, -1),)}, ref=lambda x, index: x[::-1], id="reverse"),
    row(
        u(2, 3),
        params={"index": (None, 0, full(3), None)},
        ref=lambda x, index: x[None, 0, :, None],
        id="newaxes",
    ),
    row(u(5), params={"index": ((1, 5, 2),)}, ref=lambda x, index: x[1::2], id="step"),
)

# -- gather ------------------------------------------------------------------------------------

_g_idx = i32([0, 3], [-1, 2])
_oob = i32(5, -7, 1, 1)


def _fill_ref(x, i, index, mode, fill_value):
    n = x.shape[0]
    w = _wrap(i, n)
    ok = (w >= 0) & (w < n)
    out = x[np.where(ok, w, 0)]
    return np.where(ok[:, None], out, np.nan)


add(
    "gather",
    row(
        u(4, 5),
        _g_idx,
        params={"index": (ARRAY, full(5)), "mode": "promise_in_bounds", "fill_value": None},
        ref=lambda x, i, index, mode, fill_value: x[i],
        id="rows",
    ),
    row(
        u(4, 5),
        _oob,
        params={"index": (ARRAY, full(5)), "mode": "clip", "fill_value": None},
        ref=lambda x, i, index, mode, fill_value: x[_clip(i, 4)],
        id="clip-out-of-bounds",
    ),
    row(
        u(4, 5),
        _oob,
        params={"index": (ARRAY, full(5)), "mode": "fill", "fill_value": None},
        ref=_fill_ref,
        id="fill-out-of-bounds",
    ),
    row(
        u(2, 3, 4),
        i32(1, 0),
        params={"index": (ARRAY, full(3), 1), "mode": "clip", "fill_value": None},
        ref=lambda x, i, index, mode, fill_value: x[i, :, 1],
        id="separated-advanced",
    ),
    row(
        u(3, 4),
        i32([0], [2]),
        i32(1, 3, 0),
        params={"index": (ARRAY, ARRAY), "mode": "clip", "fill_value": None},
        ref=lambda x, i, j, index, mode, fill_value: x[i, j],
        id="broadcast-pair",
    ),
    row(
        u(3, 4),
        i32(2, 2, 0),
        params={"index": ((2, 0, -1), ARRAY), "mode": "clip", "fill_value": None},
        ref=lambda x, i, index, mode, fill_value: x[2:0:-1, i],
        id="slice-then-array",
    ),
)

# -- scatters ----------------------------------------------------------------------------------


def _set_ref(x, upd, i, *, index, mode, unique_indices):
    out = x.copy()
    for k, j in enumerate(np.asarray(i).ravel()):
        j = int(_wrap(j, x.shape[0]))
        if 0 <= j < x.shape[0]:
            out[j] = upd[k]
    return out


def _ufunc_ref(ufunc, clip=False):
    def ref(x, upd, i, *, index, mode, unique_indices):
        out = x.copy()
        n = x.shape[0]
        for k, j in enumerate(np.asarray(i).ravel()):
            j = int(_clip(j, n) if clip else _wrap(j, n))
            if 0 <= j < n:
                out[j] = ufunc(out[j], upd[k])
        return out

    return ref


_drop = {"mode": "drop", "unique_indices": False}

add(
    "scatter",
    row(
        u(5),
        u(3),
        i32(0, 0, 3),
        params={"index": (ARRAY,), **_drop},
        ref=_set_ref,
        id="duplicates",
    ),
    row(
        u(4, 3),
        u(2, 3),
        i32(5, -1),
        params={"index": (ARRAY, full(3)), **_drop},
        ref=_set_ref,
        id="out-of-bounds-dropped",
    ),
    row(
        u(4, 3),
        u(2, 2),
        params={"index": ((1, 3, 1), (2, -1, -2)), **_drop},
        ref=lambda x, v, index, mode, unique_indices: _basic_set(x, v),
        id="basic",
    ),
)


def _basic_set(x, v):
    out = x.copy()
    out[1:3, 2::-2] = v
    return out


add(
    "scatter-add",
    row(
        u(4),
        u(4),
        i32(0, 2, 0, -1),
        params={"index": (ARRAY,), **_drop},
        ref=_ufunc_ref(np.add),
        id="duplicates",
    ),
    row(
        u(3, 2),
        u(2, 2),
        i32(5, -9),
        params={"index": (ARRAY, full(2)), "mode": "clip", "unique_indices": False},
        ref=_ufunc_ref(np.add, clip=True),
        id="clip",
    ),
    row(
        u(4),
        u(4),
        i32(7, 1, -5, 1),
        params={"index": (ARRAY,), **_drop},
        ref=_ufunc_ref(np.add),
        id="dropped",
    ),
    row(
        u(3),
        u(1, 2),
        params={"index": (None, (0, 3, 2)), **_drop},
        ref=lambda x, v, index, mode, unique_indices: _basic_add(x, v),
        id="basic-newaxis",
    ),
)


def _basic_add(x, v):
    out = x.copy()
    out[None, ::2] += v
    return out


def _away(*shape):
    return u(*shape, lo=0.5, hi=1.5) * _rng.choice([-1.0, 1.0], size=shape)


add(
    "scatter-mul",
    row(
        u(3),
        _away(2),
        i32(2, 0),
        params={"index": (ARRAY,), "mode": "drop", "unique_indices": True},
        ref=_ufunc_ref(np.multiply),
        id="unique",
    ),
    row(
        u(3),
        _away(3),
        i32(1, 1, 4),
        params={"index": (ARRAY,), **_drop},
        ref=_ufunc_ref(np.multiply),
        wrt=(0,),
        id="duplicates-operand-only",
    ),
)
add(
    "scatter-min",
    row(
        u(4),
        u(4),
        i32(0, 0, 2, 9),
        params={"index": (ARRAY,), **_drop},
        ref=_ufunc_ref(np.minimum),
        id="duplicates",
    ),
)
add(
    "scatter-max",
    row(
        u(4),
        u(4),
        i32(0, 0, 2, -1),
        params={"index": (ARRAY,), **_drop},
        ref=_ufunc_ref(np.maximum),
        id="duplicates",
    ),
    row(
        u(2, 3),
        u(2, 2),
        i32(1, 0),
        params={"index": (ARRAY, (0, 2, 1)), "mode": "clip", "unique_indices": True},
        ref=lambda x, v, i, index, mode, unique_indices: _basic_max(x, v, i),
        id="rows",
    ),
)


def _basic_max(x, v, i):
    out = x.copy()
    out[i, 0:2] = np.maximum(out[i, 0:2], v)
    return out


def _winners_ref(i, *, index, mode, operand_shape, updates_shape):
    n = operand_shape[0]
    last = {}
    flat = np.asarray(i).ravel()
    for k, j in enumerate(flat):
        j = int(_wrap(j, n))
        if 0 <= j < n:
            last[j] = k
    return np.array([last.get(int(_wrap(j, n))) == k for k, j in enumerate(flat)])


add(
    "scatter_winners",
    row(
        i32(0, 2, 0, 7, -1),
        params={"index": (ARRAY,), "mode": "drop", "operand_shape": (3,), "updates_shape": (5,)},
        ref=_winners_ref,
    ),
)

add(
    "nonzero",
    row(
        np.array([[True, False, True], [False, False, True]]),
        params={"dtype": np.dtype(np.int64)},
        ref=lambda m, dtype: [i.astype(dtype) for i in np.nonzero(m)],
        stage_error=ConcretizationTypeError,
    ),
)

# -- dynamic slices ----------------------------------------------------------------------------

add(
    "dynamic_slice",
    row(
        u(4, 5),
        np.int32(1),
        np.int32(4),
        params={"slice_sizes": (2, 3)},
        ref=lambda x, a, b, slice_sizes: x[1:3, 2:5],
        id="clamped",
    ),
    row(
        u(5),
        np.int32(-2),
        params={"slice_sizes": (2,)},
        ref=lambda x, a, slice_sizes: x[3:5],
        id="negative-start",
    ),
)


def _dus_ref(x, upd, a, b):
    out = x.copy()
    out[2:4, 3:5] = upd
    return out


add(
    "dynamic_update_slice",
    row(u(4, 5), u(2, 2), np.int32(3), np.int32(-2), ref=_dus_ref),
)

# -- elementwise primitives declared for this layer --------------------------------------------

add(
    "fmod",
    row(
        np.array([0.3, -1.7, 2.5]),
        np.array([0.7, 0.9, -1.1]),
        ref=np.fmod,
        order=1,
    ),
    row(i32(7, -7, 5), i32(2, 2, -3), ref=np.fmod, id="int"),
)
add(
    "clamp",
    row(
        np.float64(-0.5),
        np.array([[-1.3, 0.2, 0.9], [1.7, -0.1, 0.4]]),
        np.array([[1.0, 1.0, 0.5], [1.2, 1.0, 1.0]]),
        ref=lambda lo, x, hi: np.minimum(np.maximum(x, lo), hi),
        order=1,
    ),
)
