"""Dtype rules: canonicalization, JAX's weak-type promotion lattice, helpers.

Depends only on NumPy and :mod:`pullback._config`.

Promotion works on *nodes* of a small lattice. Every concrete dtype we support
is a node, and there are three extra "weak" nodes ``i*``, ``f*`` and ``c*``
standing for Python ``int``, ``float`` and ``complex`` scalars (and for arrays
flagged ``weak_type``). Weak values adopt the width of whatever strongly typed
value they meet, which is why ``int8_array + 1`` stays int8 and
``float16_array * 2.0`` stays float16. The lattice edges (``a -> b`` meaning
``b`` is the next type up from ``a``) are::

    b1 -> i*
    i* -> u8, i8
    u8 -> i16, u16      u16 -> i32, u32      u32 -> i64, u64      u64 -> f*
    i8 -> i16 -> i32 -> i64 -> f*
    f* -> f16 -> f32 -> f64 -> c128
    f* -> c* -> c64 -> c128          f32 -> c64

With x64 disabled the single edge that would mint a 64-bit type out of 32-bit
inputs, ``u32 -> i64``, is replaced by ``u32 -> i32`` (as JAX does), so mixing
uint32 with int32 gives int32 rather than a narrowed int64.

The promoted type of several values is the least upper bound of their nodes.
A weak result becomes the default int/float/complex dtype flagged weak; every
result is then canonicalized (64-bit narrowed to 32-bit while x64 is off).

Results of :func:`result_type` are cached per x64 mode, keyed by the flattened
``(dtype, weak, dtype, weak, ...)`` tuple of the inputs; a hook on ``config._on_change`` swaps
caches and default dtypes when ``jax_enable_x64`` changes.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np

from ._config import config

__all__ = [
    "float0",
    "canonicalize_dtype",
    "default_float_dtype",
    "default_int_dtype",
    "default_uint_dtype",
    "default_complex_dtype",
    "result_type",
    "promote_types",
    "is_weakly_typed",
    "issubdtype",
    "dtype",
    "scalar_type_of",
    "to_inexact_dtype",
    "inexact",
    "is_float0",
    "short_name",
    "type_str",
    "finfo",
    "iinfo",
    "tangent_dtype",
]

# --------------------------------------------------------------------------
# Dtype constants

#: The dtype of tangents (and cotangents) of integer and boolean values: a
#: structured dtype with zero itemsize, so arrays of it carry no data.
float0: np.dtype = np.dtype([("float0", np.void, 0)])

_BOOL = np.dtype(np.bool_)
_I8, _I16, _I32, _I64 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
_U8, _U16, _U32, _U64 = (np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))
_F16, _F32, _F64 = (np.dtype(t) for t in (np.float16, np.float32, np.float64))
_C64, _C128 = np.dtype(np.complex64), np.dtype(np.complex128)

# 64-bit dtypes and what they become while x64 is disabled.
_TO_32BIT: dict[np.dtype, np.dtype] = {_I64: _I32, _U64: _U32, _F64: _F32, _C128: _C64}

_NUMERIC_DTYPES: tuple[np.dtype, ...] = (
    _BOOL,
    _U8,
    _U16,
    _U32,
    _U64,
    _I8,
    _I16,
    _I32,
    _I64,
    _F16,
    _F32,
    _F64,
    _C64,
    _C128,
)
# Dtypes a pullback value may have.
_VALID_DTYPES: frozenset[np.dtype] = frozenset((*_NUMERIC_DTYPES, float0))

# --------------------------------------------------------------------------
# The promotion lattice, over string node names.

_WEAK_NODES = frozenset({"i*", "f*", "c*"})

_NODE_OF_DTYPE: dict[np.dtype, str] = {
    _BOOL: "b1",
    _U8: "u8",
    _U16: "u16",
    _U32: "u32",
    _U64: "u64",
    _I8: "i8",
    _I16: "i16",
    _I32: "i32",
    _I64: "i64",
    _F16: "f16",
    _F32: "f32",
    _F64: "f64",
    _C64: "c64",
    _C128: "c128",
}
# Weak nodes map to the 64-bit dtype of their kind (what np.dtype gives for the
# Python type); callers canonicalize or substitute the default as needed.
_DTYPE_OF_NODE: dict[str, np.dtype] = {
    **{node: dt for dt, node in _NODE_OF_DTYPE.items()},
    "i*": _I64,
    "f*": _F64,
    "c*": _C128,
}
_NODES: tuple[str, ...] = tuple(_DTYPE_OF_NODE)

# Weak node for a weakly typed value of a given dtype kind. Booleans have no
# weak counterpart.
_WEAK_NODE_OF_KIND = {"b": "b1", "i": "i*", "u": "i*", "f": "f*", "c": "c*"}

# Python scalar types as promotion inputs (identity, not equality: np.dtype
# compares equal to Python types).
_PY_TYPE_NODE = {int: "i*", float: "f*", complex: "c*", bool: "b1"}


def _lattice_edges(x64: bool) -> dict[str, tuple[str, ...]]:
    """Each node's immediate successors."""
    return {
        "b1": ("i*",),
        "i*": ("u8", "i8"),
        "u8": ("i16", "u16"),
        "u16": ("i32", "u32"),
        "u32": ("i64", "u64") if x64 else ("i32", "u64"),
        "u64": ("f*",),
        "i8": ("i16",),
        "i16": ("i32",),
        "i32": ("i64",),
        "i64": ("f*",),
        "f*": ("f16", "c*"),
        "f16": ("f32",),
        "f32": ("f64", "c64"),
        "f64": ("c128",),
        "c*": ("c64",),
        "c64": ("c128",),
        "c128": (),
    }


def _upper_sets(edges: dict[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    """For every node, the set of nodes reachable from it (itself included)."""
    out: dict[str, frozenset[str]] = {}

    def reach(node: str) -> frozenset[str]:
        if node not in out:
            acc = {node}
            for succ in edges[node]:
                acc |= reach(succ)
            out[node] = frozenset(acc)
        return out[node]

    for node in edges:
        reach(node)
    return out


def _build_join_table(x64: bool) -> dict[tuple[str, str], str]:
    """Least upper bound of every ordered pair of nodes."""
    ups = _upper_sets(_lattice_edges(x64))
    table: dict[tuple[str, str], str] = {}
    for a, ups_a in ups.items():
        for b, ups_b in ups.items():
            common = ups_a & ups_b
            # The least common upper bound is the one whose own upper set is
            # exactly the common set.
            least = [c for c in common if ups[c] == common]
            if len(least) != 1:  # pragma: no cover - guards the table above
                raise AssertionError(f"no unique join for {a} and {b}: {least}")
            table[a, b] = least[0]
    return table


_JOIN_TABLES: dict[bool, dict[tuple[str, str], str]] = {
    True: _build_join_table(True),
    False: _build_join_table(False),
}


def _join(a: str, b: str, x64: bool | None = None) -> str:
    """Least upper bound of two lattice nodes."""
    if x64 is None:
        x64 = config.jax_enable_x64
    return _JOIN_TABLES[x64][a, b]


def _least_upper_bound(nodes: Any, x64: bool | None = None) -> str:
    """Least upper bound of a non-empty iterable of lattice nodes."""
    table = _JOIN_TABLES[config.jax_enable_x64 if x64 is None else x64]
    it = iter(nodes)
    acc = next(it)
    for node in it:
        acc = table[acc, node]
    return acc


# --------------------------------------------------------------------------
# Mode-dependent state, refreshed by a config hook.

_MAX_CACHE = 4096

_x64: bool
_DEFAULT_INT: np.dtype
_DEFAULT_UINT: np.dtype
_DEFAULT_FLOAT: np.dtype
_DEFAULT_COMPLEX: np.dtype
_DEFAULT_OF_KIND: dict[str, np.dtype]
_CANON_MAP: dict[np.dtype, np.dtype]
# type(x) -> (dtype, weak) for Python scalar values (and None, meaning float).
_PY_VALUE_PAIRS: dict[type, tuple[np.dtype, bool]]
# Python scalar *types* -> (dtype, weak).
_PY_TYPE_PAIRS: dict[type, tuple[np.dtype, bool]]
# Keyed by the flattened (dtype, weak, dtype, weak, ...) of the inputs.
_RESULT_CACHE: dict[tuple, tuple[np.dtype, bool]]
_CANON_CACHE: dict[Any, np.dtype]

_RESULT_CACHES: dict[bool, dict] = {True: {}, False: {}}
_CANON_CACHES: dict[bool, dict] = {True: {}, False: {}}


def _set_mode(x64: bool) -> None:
    global _x64, _DEFAULT_INT, _DEFAULT_UINT, _DEFAULT_FLOAT, _DEFAULT_COMPLEX
    global _DEFAULT_OF_KIND, _CANON_MAP, _PY_VALUE_PAIRS, _PY_TYPE_PAIRS
    global _RESULT_CACHE, _CANON_CACHE
    x64 = bool(x64)
    _x64 = x64
    _CANON_MAP = {} if x64 else _TO_32BIT
    _DEFAULT_INT = _I64 if x64 else _I32
    _DEFAULT_UINT = _U64 if x64 else _U32
    _DEFAULT_FLOAT = _F64 if x64 else _F32
    _DEFAULT_COMPLEX = _C128 if x64 else _C64
    _DEFAULT_OF_KIND = {
        "b": _BOOL,
        "i": _DEFAULT_INT,
        "u": _DEFAULT_UINT,
        "f": _DEFAULT_FLOAT,
        "c": _DEFAULT_COMPLEX,
    }
    _PY_TYPE_PAIRS = {
        int: (_DEFAULT_INT, True),
        float: (_DEFAULT_FLOAT, True),
        complex: (_DEFAULT_COMPLEX, True),
        bool: (_BOOL, False),
    }
    _PY_VALUE_PAIRS = {**_PY_TYPE_PAIRS, type(None): (_DEFAULT_FLOAT, False)}
    _RESULT_CACHE = _RESULT_CACHES[x64]
    _CANON_CACHE = _CANON_CACHES[x64]


def _on_config_change(name: str, value: Any) -> None:
    if name == "jax_enable_x64":
        _set_mode(value)


_set_mode(config.jax_enable_x64)
config._on_change.append(_on_config_change)


# --------------------------------------------------------------------------
# Canonicalization and defaults


def default_int_dtype() -> np.dtype:
    """int64 with x64 enabled, else int32."""
    return _DEFAULT_INT


def default_uint_dtype() -> np.dtype:
    """uint64 with x64 enabled, else uint32."""
    return _DEFAULT_UINT


def default_float_dtype() -> np.dtype:
    """float64 with x64 enabled, else float32."""
    return _DEFAULT_FLOAT


def default_complex_dtype() -> np.dtype:
    """complex128 with x64 enabled, else complex64."""
    return _DEFAULT_COMPLEX


def canonicalize_dtype(dtype: Any) -> np.dtype:
    """Return the dtype pullback actually uses for ``dtype``.

    With x64 disabled (the default), 64-bit types are narrowed to their 32-bit
    counterparts; with x64 enabled every dtype is returned unchanged. Accepts
    anything :class:`numpy.dtype` accepts, including the Python types
    ``bool``, ``int``, ``float`` and ``complex``.

    >>> import numpy as np
    >>> from pullback import dtypes
    >>> dtypes.canonicalize_dtype(np.int16)
    dtype('int16')
    >>> dtypes.canonicalize_dtype('float64')  # with x64 disabled, the default
    dtype('float32')
    >>> dtypes.canonicalize_dtype(int)
    dtype('int32')
    """
    # Inputs that compare equal (np.dtype('float64') == float == 'float64')
    # canonicalize alike, so one cache can hold dtypes, types and strings.
    try:
        return _CANON_CACHE[dtype]
    except (KeyError, TypeError):  # TypeError: unhashable input
        pass
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"dtype {dtype!r} not understood") from err
    out = _CANON_MAP.get(dt, dt)
    try:
        if len(_CANON_CACHE) >= _MAX_CACHE:
            _CANON_CACHE.clear()
        _CANON_CACHE[dtype] = out
    except TypeError:
        pass
    return out


def _check_valid(dt: np.dtype, x: Any = None) -> None:
    if dt not in _VALID_DTYPES:
        what = f"Dtype {dt}" if x is None else f"Value {x!r} with dtype {dt}"
        raise TypeError(
            f"{what} is not a valid pullback array type. "
            "Only boolean and numeric dtypes (and float0) are supported."
        )


# --------------------------------------------------------------------------
# Classifying inputs


# How _dtype_and_weak treats a value, decided once per Python type (an
# isinstance check against np.dtype is slow, a dict lookup on type(x) is not).
_PY_SCALAR, _NP_VALUE, _NP_DTYPE, _A_TYPE, _OTHER = range(5)
_TYPE_CODES: dict[type, int] = {
    int: _PY_SCALAR,
    float: _PY_SCALAR,
    complex: _PY_SCALAR,
    bool: _PY_SCALAR,
    type(None): _PY_SCALAR,
    np.ndarray: _NP_VALUE,
}


def _type_code(t: type) -> int:
    if issubclass(t, np.dtype):
        code = _NP_DTYPE
    elif issubclass(t, type):
        code = _A_TYPE
    elif issubclass(t, (np.ndarray, np.generic)):
        code = _NP_VALUE
    else:
        code = _OTHER
    if len(_TYPE_CODES) < _MAX_CACHE:
        _TYPE_CODES[t] = code
    return code


def _dtype_and_weak(x: Any) -> tuple[np.dtype, bool]:
    """The (dtype, weak_type) pair a promotion input contributes.

    Python scalars, Python scalar types, NumPy scalar types, dtype-likes and
    NumPy arrays/scalars are canonicalized. Values exposing ``weak_type``
    (pullback arrays and tracers) keep their dtype as is: once a 64-bit value
    exists it is respected whatever the current x64 mode. ``None`` stands for
    the default float dtype.
    """
    t = type(x)
    code = _TYPE_CODES.get(t)
    if code is None:
        code = _type_code(t)
    if code == _OTHER:
        weak = getattr(x, "weak_type", None)
        if weak is not None:  # pullback arrays and tracers
            return x.dtype, weak
        dt = getattr(x, "dtype", None)
        if not isinstance(dt, np.dtype):
            try:
                dt = np.dtype(x)
            except TypeError as err:
                raise TypeError(f"Cannot determine the dtype of {x!r}") from err
    elif code == _PY_SCALAR:
        return _PY_VALUE_PAIRS[t]
    elif code == _NP_VALUE:
        dt = x.dtype
    elif code == _NP_DTYPE:
        dt = x
    else:  # a class
        pair = _PY_TYPE_PAIRS.get(x)
        if pair is not None:
            return pair
        if not issubclass(x, np.generic):
            raise TypeError(f"Cannot determine a dtype for the type {x!r}")
        dt = np.dtype(x)
    return _CANON_MAP.get(dt, dt), False


def dtype(x: Any) -> np.dtype:
    """The dtype a value, scalar type or dtype-like gets in pullback.

    Python scalars and types take the default dtype of their kind (``1.0`` and
    ``float`` give float32 unless x64 is enabled); NumPy dtypes, arrays and
    scalars are canonicalized; pullback arrays keep their dtype.
    """
    if x is None:
        raise ValueError("Invalid argument to dtype: None.")
    dt = _dtype_and_weak(x)[0]
    _check_valid(dt, x)
    return dt


def is_weakly_typed(x: Any) -> bool:
    """Whether ``x`` is weakly typed.

    Python ``int``, ``float`` and ``complex`` values are weak (``bool`` is
    not), as are pullback arrays whose ``weak_type`` flag is set. NumPy
    arrays and scalars are never weak.

    >>> import numpy as np
    >>> from pullback import dtypes
    >>> dtypes.is_weakly_typed(1.5)
    True
    >>> dtypes.is_weakly_typed(True)
    False
    >>> dtypes.is_weakly_typed(np.float32(1.5))
    False
    """
    if type(x) in (int, float, complex):
        return True
    if isinstance(x, type):
        return False
    return bool(getattr(x, "weak_type", False))


# --------------------------------------------------------------------------
# Promotion


def _compute_result(pairs: tuple[tuple[np.dtype, bool], ...]) -> tuple[np.dtype, bool]:
    for dt, _ in pairs:
        _check_valid(dt)
    if len(pairs) == 1:
        dt, weak = pairs[0]
    else:
        distinct = {dt for dt, _ in pairs}
        all_weak = all(w for _, w in pairs)
        if len(distinct) == 1 and not all_weak:
            # Same dtype everywhere: nothing to promote, and a strong input
            # makes the result strong.
            dt, weak = pairs[0][0], False
        else:
            if all_weak:
                # Promote the dtypes as if strong, then mark the result weak.
                nodes = [_strong_node(dt) for dt in distinct]
            else:
                nodes = [
                    _WEAK_NODE_OF_KIND.get(dt.kind) if w else _NODE_OF_DTYPE.get(dt)
                    for dt, w in pairs
                ]
                if None in nodes:
                    _raise_unpromotable(dt for dt, _ in pairs)
            node = _least_upper_bound(nodes, _x64)
            dt = _DTYPE_OF_NODE[node]
            dt = _CANON_MAP.get(dt, dt)
            weak = all_weak or node in _WEAK_NODES
    if weak and dt.kind in "iufc":
        return _DEFAULT_OF_KIND[dt.kind], True
    return dt, False


def _strong_node(dt: np.dtype) -> str:
    node = _NODE_OF_DTYPE.get(dt)
    if node is None:
        _raise_unpromotable([dt])
    return node


def _raise_unpromotable(dts: Any) -> None:
    bad = next((dt for dt in dts if dt not in _NODE_OF_DTYPE), None)
    raise ValueError(f"dtype={bad!r} is not a valid dtype for type promotion.")


def result_type(*args: Any, return_weak_type: bool = False) -> Any:
    """The dtype that JAX-style promotion gives for ``args``.

    Each argument may be a dtype or dtype-like (string, NumPy scalar type), a
    Python scalar type or value (``int``, ``float``, ``complex`` are weakly
    typed), a NumPy array or scalar (strongly typed), or a pullback array
    (weak if its ``weak_type`` flag is set). ``None`` stands for the default
    float dtype. With ``return_weak_type=True`` returns ``(dtype, weak_type)``.

    Weak inputs defer to the width of strong ones, unlike NumPy:

    >>> import numpy as np
    >>> from pullback import dtypes
    >>> dtypes.result_type(np.int8, np.uint8)
    dtype('int16')
    >>> dtypes.result_type(np.float16, 2.0)
    dtype('float16')
    >>> dtypes.result_type(np.int32, float, return_weak_type=True)
    (dtype('float32'), True)
    """
    n = len(args)
    if n == 2:
        a, b = args
        # Inline fast path for pullback arrays/tracers; anything else goes
        # through _dtype_and_weak.
        if (
            _TYPE_CODES.get(type(a)) == _OTHER
            and (weak_a := getattr(a, "weak_type", None)) is not None
        ):
            dt_a = a.dtype
        else:
            dt_a, weak_a = _dtype_and_weak(a)
        if (
            _TYPE_CODES.get(type(b)) == _OTHER
            and (weak_b := getattr(b, "weak_type", None)) is not None
        ):
            dt_b = b.dtype
        else:
            dt_b, weak_b = _dtype_and_weak(b)
        key: tuple = (dt_a, weak_a, dt_b, weak_b)
    elif n == 1:
        key = _dtype_and_weak(args[0])
    elif n:
        key = tuple(chain.from_iterable(map(_dtype_and_weak, args)))
    else:
        raise ValueError("at least one array or dtype is required")
    try:
        out = _RESULT_CACHE[key]
    except KeyError:
        out = _compute_result(tuple(zip(key[::2], key[1::2])))
        if len(_RESULT_CACHE) >= _MAX_CACHE:
            _RESULT_CACHE.clear()
        _RESULT_CACHE[key] = out
    return out if return_weak_type else out[0]


# Input -> lattice node for promote_types. int/float/complex are matched by
# identity before this is consulted, so they never become keys here (np.dtype
# compares equal to the Python type it would be built from).
_PROMOTE_NODE_CACHE: dict[Any, str] = {}


def _promote_node(x: Any) -> str:
    if x is int or x is float or x is complex:
        return _PY_TYPE_NODE[x]
    try:
        return _PROMOTE_NODE_CACHE[x]
    except (KeyError, TypeError):  # TypeError: unhashable input
        pass
    dt = np.dtype(x)
    node = _NODE_OF_DTYPE.get(dt)
    if node is None:
        raise ValueError(f"dtype={dt!r} is not a valid dtype for type promotion.")
    try:
        if len(_PROMOTE_NODE_CACHE) < _MAX_CACHE:
            _PROMOTE_NODE_CACHE[x] = node
    except TypeError:
        pass
    return node


def promote_types(a: Any, b: Any) -> np.dtype:
    """The dtype to which a binary operation on ``a`` and ``b`` casts.

    Like :func:`numpy.promote_types` but on JAX's lattice. The Python types
    ``int``, ``float`` and ``complex`` count as weak and take the width of the
    other argument. The result is not canonicalized.

    >>> from pullback import dtypes
    >>> dtypes.promote_types('int8', 'uint8')
    dtype('int16')
    >>> dtypes.promote_types('int32', 'float16')
    dtype('float16')
    >>> dtypes.promote_types('uint8', int)
    dtype('uint8')
    """
    return _DTYPE_OF_NODE[_JOIN_TABLES[_x64][_promote_node(a), _promote_node(b)]]


# --------------------------------------------------------------------------
# Predicates and small helpers


def _as_dtype(x: Any) -> np.dtype:
    """np.dtype of a dtype-like, or of a value carrying ``.dtype``."""
    if isinstance(x, np.dtype):
        return x
    if not isinstance(x, type):
        dt = getattr(x, "dtype", None)
        if isinstance(dt, np.dtype):
            return dt
    return np.dtype(x)


def _scalar_type(x: Any) -> type:
    if isinstance(x, np.dtype):
        return x.type
    if isinstance(x, type) and issubclass(x, np.generic):
        return x
    return np.dtype(x).type


def issubdtype(a: Any, b: Any) -> bool:
    """Whether dtype ``a`` sits at or below ``b`` in NumPy's type hierarchy.

    As :func:`numpy.issubdtype`; ``float0`` is a void dtype, so it is a
    subtype of itself and of ``np.void`` but not of ``np.floating``.

    >>> import numpy as np
    >>> from pullback import dtypes
    >>> dtypes.issubdtype(np.float32, np.floating)
    True
    >>> dtypes.issubdtype('int8', np.inexact)
    False
    >>> dtypes.issubdtype(dtypes.float0, np.floating)
    False
    """
    return issubclass(_scalar_type(a), _scalar_type(b))


def is_float0(x: Any) -> bool:
    """Whether ``x`` (a dtype, or a value with ``.dtype``) is float0."""
    try:
        dt = _as_dtype(x)
    except TypeError:
        return False
    return dt is float0 or dt == float0


def inexact(x: Any) -> bool:
    """Whether ``x`` (a dtype, or a value with ``.dtype``) is floating or complex."""
    return _as_dtype(x).kind in "fc"


def scalar_type_of(x: Any) -> type:
    """The Python scalar type (bool, int, float or complex) matching ``x``'s dtype."""
    kind = dtype(x).kind
    if kind == "b":
        return bool
    if kind in "iu":
        return int
    if kind == "f":
        return float
    if kind == "c":
        return complex
    raise TypeError(f"No scalar type for {x!r}")


# Bool and integers up to 32 bits become float32; 64-bit integers float64.
_TO_INEXACT: dict[np.dtype, np.dtype] = {
    _BOOL: _F32,
    _U8: _F32,
    _U16: _F32,
    _U32: _F32,
    _I8: _F32,
    _I16: _F32,
    _I32: _F32,
    _U64: _F64,
    _I64: _F64,
}


def to_inexact_dtype(dtype: Any) -> np.dtype:
    """The inexact dtype an op like ``sin`` uses for inputs of ``dtype``.

    Inexact dtypes are kept; bool and integers up to 32 bits map to float32 and
    64-bit integers to float64 (float32 again once canonicalized with x64 off).
    Python ``int``/``bool`` therefore give the default float dtype.
    """
    dt = canonicalize_dtype(dtype)
    if dt.kind in "fc":
        return dt
    out = _TO_INEXACT.get(dt)
    if out is None:
        raise TypeError(f"dtype {dt} has no inexact counterpart")
    return _CANON_MAP.get(out, out)


def tangent_dtype(dtype: Any) -> np.dtype:
    """Dtype of tangents for primals of ``dtype``: itself if inexact, else float0."""
    dt = _as_dtype(dtype)
    kind = dt.kind
    if kind in "fc":
        return dt
    if kind in "biu" or dt == float0:
        return float0
    raise TypeError(f"dtype {dt} has no tangent dtype")


def short_name(dtype: Any) -> str:
    """Abbreviated dtype name for IR printing: 'f32', 'i32', 'u8', 'bool', 'float0'."""
    dt = _as_dtype(dtype)
    if dt == float0:
        return "float0"
    if dt.kind == "b":
        return "bool"
    if dt.kind in "fiuc":
        return f"{dt.kind}{dt.itemsize * 8}"
    return dt.name


def type_str(shape: tuple[int, ...], dtype: Any, weak_type: bool = False) -> str:
    """Abstract-value string such as 'float32[3]', 'int32[2,3]' or 'float32[]'.

    ``weak_type=True`` prefixes a '~' as JAX does for weakly typed values.
    """
    dt = _as_dtype(dtype)
    name = "float0" if dt == float0 else dt.name
    dims = ",".join(str(d) for d in shape)
    return f"{'~' if weak_type else ''}{name}[{dims}]"


_SHORT_KINDS = {"f": "f", "i": "i", "u": "u", "c": "c"}


def short_type_str(shape: tuple[int, ...], dtype: Any) -> str:
    """The type as jaxprs print it: 'f32[3]', 'i32[2,3]', 'bool[]', 'bf16[]'."""
    dt = _as_dtype(dtype)
    if dt == float0:
        name = "float0"
    elif dt.kind == "b":
        name = "bool"
    elif dt.name == "bfloat16":
        name = "bf16"
    else:
        name = f"{_SHORT_KINDS[dt.kind]}{dt.itemsize * 8}"
    return f"{name}[{','.join(str(d) for d in shape)}]"


def finfo(dtype: Any) -> np.finfo:
    """Machine limits of a floating or complex dtype (:class:`numpy.finfo`).

    As in JAX the dtype is taken literally, not canonicalized.

    >>> import numpy as np
    >>> from pullback import dtypes
    >>> dtypes.finfo(np.float16).bits
    16
    >>> float(dtypes.finfo('float32').eps)
    1.1920928955078125e-07
    """
    return np.finfo(dtype)


def iinfo(dtype: Any) -> np.iinfo:
    """Machine limits of an integer dtype (:class:`numpy.iinfo`).

    As in JAX the dtype is taken literally, not canonicalized.

    >>> import numpy as np
    >>> from pullback import dtypes
    >>> dtypes.iinfo(np.int8).max
    127
    >>> dtypes.iinfo('uint16').max
    65535
    """
    return np.iinfo(dtype)
