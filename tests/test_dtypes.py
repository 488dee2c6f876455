"""Tests for pullback._config and pullback._dtypes (JAX's dtype rules)."""

import contextlib
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pullback import _config
from pullback import _dtypes as D
from pullback._config import config, disable_x64, enable_x64

pytestmark = pytest.mark.filterwarnings("ignore:Explicitly requested dtype")

NUMERIC = [
    np.dtype(t)
    for t in (
        np.bool_,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.float16,
        np.float32,
        np.float64,
        np.complex64,
        np.complex128,
    )
]
ALL_X64 = pytest.mark.parametrize("x64", [False, True], ids=["x32", "x64"])


class FakeArray:
    """Stands in for a pullback Array / tracer: has .dtype and .weak_type."""

    def __init__(self, dtype, weak_type=False):
        self.dtype = np.dtype(dtype)
        self.weak_type = weak_type

    def __repr__(self):
        return f"FakeArray({self.dtype}, weak_type={self.weak_type})"


# ---------------------------------------------------------------------------
# Config


def test_config_defaults():
    fresh = _config.Config()
    assert fresh.jax_disable_bwd_checks is False
    assert fresh.jax_numpy_rank_promotion == "allow"
    assert isinstance(fresh.jax_enable_x64, bool)


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, False),
        ({"JAX_ENABLE_X64": "1"}, True),
        ({"JAX_ENABLE_X64": "true"}, True),
        ({"JAX_ENABLE_X64": "0"}, False),
        ({"PULLBACK_ENABLE_X64": "yes"}, True),
        ({"PULLBACK_ENABLE_X64": "0", "JAX_ENABLE_X64": "1"}, False),
    ],
)
def test_config_x64_from_environment(monkeypatch, env, expected):
    monkeypatch.delenv("JAX_ENABLE_X64", raising=False)
    monkeypatch.delenv("PULLBACK_ENABLE_X64", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert _config.Config().jax_enable_x64 is expected


def test_config_update_and_read():
    old = config.jax_numpy_rank_promotion
    try:
        config.update("jax_numpy_rank_promotion", "raise")
        assert config.jax_numpy_rank_promotion == "raise"
        assert config.read("jax_numpy_rank_promotion") == "raise"
    finally:
        config.update("jax_numpy_rank_promotion", old)
    assert config.read("jax_numpy_rank_promotion") == old


def test_config_unknown_name():
    with pytest.raises(ValueError, match="jax_enable_x46") as info:
        config.update("jax_enable_x46", True)
    # The message lists the known options.
    for name in ("jax_enable_x64", "jax_disable_bwd_checks", "jax_numpy_rank_promotion"):
        assert name in str(info.value)
    with pytest.raises(ValueError, match="nope"):
        config.read("nope")
    with pytest.raises(AttributeError):
        config.not_an_option = 1


def test_config_bad_values():
    with pytest.raises(ValueError, match="jax_numpy_rank_promotion"):
        config.update("jax_numpy_rank_promotion", "sometimes")
    with pytest.raises(ValueError):
        config.update("jax_enable_x64", "maybe")
    assert config.jax_numpy_rank_promotion == "allow"


def test_config_hooks_fire_on_update_and_assignment():
    seen = []
    hook = lambda name, value: seen.append((name, value))
    config._on_change.append(hook)
    try:
        old = config.jax_disable_bwd_checks
        config.update("jax_disable_bwd_checks", True)
        config.jax_disable_bwd_checks = old  # plain assignment goes through update
    finally:
        config._on_change.remove(hook)
    assert seen == [("jax_disable_bwd_checks", True), ("jax_disable_bwd_checks", old)]


def test_enable_x64_context_manager_restores():
    start = config.jax_enable_x64
    with enable_x64():
        assert config.jax_enable_x64 is True
        assert D.default_float_dtype() == np.float64
        with disable_x64():
            assert config.jax_enable_x64 is False
            assert D.default_float_dtype() == np.float32
            assert D.result_type(1) == np.int32
        assert config.jax_enable_x64 is True
        assert D.result_type(1) == np.int64
    assert config.jax_enable_x64 is start
    with pytest.raises(RuntimeError), enable_x64(not start):
        raise RuntimeError
    assert config.jax_enable_x64 is start
    with enable_x64(False):
        assert D.default_int_dtype() == np.int32
        assert D.default_uint_dtype() == np.uint32
        assert D.default_complex_dtype() == np.complex64


# ---------------------------------------------------------------------------
# The lattice itself

nodes = st.sampled_from(D._NODES)


@given(nodes, nodes, st.booleans())
def test_join_commutative(a, b, x64):
    assert D._join(a, b, x64) == D._join(b, a, x64)


@given(nodes, nodes, nodes, st.booleans())
def test_join_associative(a, b, c, x64):
    assert D._join(D._join(a, b, x64), c, x64) == D._join(a, D._join(b, c, x64), x64)


@given(nodes, nodes, st.booleans())
def test_join_is_least_upper_bound(a, b, x64):
    ups = D._upper_sets(D._lattice_edges(x64))
    j = D._join(a, b, x64)
    assert j in ups[a] and j in ups[b]
    for c in ups[a] & ups[b]:
        assert c in ups[j]  # j <= every common upper bound


@given(nodes, st.booleans())
def test_join_idempotent_bottom_top(a, x64):
    assert D._join(a, a, x64) == a
    assert D._join(a, "b1", x64) == a
    assert D._join(a, "c128", x64) == "c128"


def test_lattice_specific_joins():
    j = lambda a, b: D._join(a, b, True)
    assert j("i8", "u8") == "i16"
    assert j("i32", "f16") == "f16"
    assert j("u64", "i64") == "f*"
    assert j("i*", "f*") == "f*"
    assert j("f*", "c*") == "c*"
    assert j("f32", "c*") == "c64"
    assert j("f64", "c*") == "c128"
    assert j("u32", "i32") == "i64"
    assert D._join("u32", "i32", False) == "i32"


@given(st.lists(st.tuples(st.sampled_from(NUMERIC), st.booleans()), min_size=1, max_size=4))
@settings(max_examples=200)
def test_result_type_order_independent(specs):
    args = [FakeArray(dt, w) for dt, w in specs]
    for x64 in (False, True):
        with enable_x64(x64):
            expected = D.result_type(*args, return_weak_type=True)
            assert D.result_type(*reversed(args), return_weak_type=True) == expected
            # Weak results are always the default dtype of their kind.
            if expected[1]:
                assert expected[0] in (
                    D.default_int_dtype(),
                    D.default_uint_dtype(),
                    D.default_float_dtype(),
                    D.default_complex_dtype(),
                )


# ---------------------------------------------------------------------------
# result_type: specific cases


@pytest.mark.parametrize(
    "args, expected",
    [
        ((np.int32, float), (np.float32, True)),
        ((np.int32, 1.5), (np.float32, True)),
        ((np.int8, np.uint8), (np.int16, False)),
        ((np.int32, np.float16), (np.float16, False)),
        ((np.uint64, np.int64), (np.int32, False)),  # inputs narrowed first
        ((np.uint32, np.int32), (np.int32, False)),
        ((bool, int), (np.int32, True)),
        ((np.bool_, 1), (np.int32, True)),
        ((np.float16, float), (np.float16, False)),
        ((np.float16, 2.0), (np.float16, False)),
        ((np.int8, 1), (np.int8, False)),
        ((np.uint8, 1), (np.uint8, False)),
        ((np.float32, 1j), (np.complex64, False)),
        ((np.float16, complex), (np.complex64, False)),
        ((1, 2.0), (np.float32, True)),
        ((1.0, 1j), (np.complex64, True)),
        ((True, False), (np.bool_, False)),
        ((int,), (np.int32, True)),
        ((True,), (np.bool_, False)),
        ((None,), (np.float32, False)),
        (("float64",), (np.float32, False)),
        ((np.zeros(3, np.float64),), (np.float32, False)),
        ((np.float64(1.0), 1), (np.float32, False)),
        ((FakeArray(np.float16, True),), (np.float32, True)),
        ((FakeArray(np.float16, True), FakeArray(np.float16, False)), (np.float16, False)),
        ((FakeArray(np.uint8, True), FakeArray(np.uint8, True)), (np.uint32, True)),
        ((FakeArray(np.uint8, True), np.int8), (np.int8, False)),
        ((FakeArray(np.int64), FakeArray(np.int64)), (np.int64, False)),  # kept as is
        ((FakeArray(np.int64), np.int32), (np.int32, False)),
        ((D.float0,), (D.float0, False)),
        ((D.float0, D.float0), (D.float0, False)),
    ],
)
def test_result_type_x32(args, expected):
    with enable_x64(False):
        dt, weak = D.result_type(*args, return_weak_type=True)
        assert (dt, weak) == (np.dtype(expected[0]), expected[1])
        assert isinstance(dt, np.dtype)
        assert D.result_type(*args) == dt


@pytest.mark.parametrize(
    "args, expected",
    [
        ((np.int32, float), (np.float64, True)),
        ((np.uint64, np.int64), (np.float64, True)),
        ((np.uint32, np.int32), (np.int64, False)),
        ((bool, int), (np.int64, True)),
        ((np.float16, float), (np.float16, False)),
        ((np.float64, 1j), (np.complex128, False)),
        ((np.float32, 1j), (np.complex64, False)),
        ((1, 2.0), (np.float64, True)),
        ((None,), (np.float64, False)),
        ((np.zeros(3, np.float64),), (np.float64, False)),
    ],
)
def test_result_type_x64(args, expected):
    with enable_x64(True):
        assert D.result_type(*args, return_weak_type=True) == (np.dtype(expected[0]), expected[1])


def test_result_type_errors():
    with pytest.raises(ValueError):
        D.result_type()
    with pytest.raises(ValueError, match="float0"):
        D.result_type(D.float0, np.float32)
    with pytest.raises(TypeError):
        D.result_type(np.dtype("U3"))
    with pytest.raises(TypeError):
        D.result_type(np.array(["a"]), 1)
    with pytest.raises(TypeError):
        D.result_type(object())


def test_result_type_cache_is_per_mode():
    with enable_x64(True):
        assert D.result_type(float, np.int8) == np.float64
        assert (np.dtype(np.float64), True, np.dtype(np.int8), False) in D._RESULT_CACHE
    with enable_x64(False):
        assert D.result_type(float, np.int8) == np.float32
        assert D.result_type(float, np.int8) == np.float32
    with enable_x64(True):
        assert D.result_type(float, np.int8) == np.float64


def test_promote_types_specific():
    with enable_x64(False):
        assert D.promote_types("int8", "uint8") == np.int16
        assert D.promote_types(np.int32, np.float16) == np.float16
        assert D.promote_types(np.float32, np.float64) == np.float64  # not canonicalized
        assert D.promote_types(np.uint64, np.int64) == np.float64
        assert D.promote_types(int, float) == np.float64
        assert D.promote_types("uint8", int) == np.uint8
        assert D.promote_types(bool, int) == np.int64
        assert D.promote_types(np.uint32, np.int32) == np.int32
    with enable_x64(True):
        assert D.promote_types(np.uint32, np.int32) == np.int64
    with pytest.raises(ValueError):
        D.promote_types(D.float0, np.float32)


# ---------------------------------------------------------------------------
# Differential tests against JAX


@pytest.fixture(scope="module")
def jax():
    return pytest.importorskip("jax")


@contextlib.contextmanager
def modes(jax, x64):
    """Set x64 in both pullback and JAX, restoring both afterwards."""
    old = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", x64)
    try:
        with enable_x64(x64):
            yield
    finally:
        jax.config.update("jax_enable_x64", old)


def _weak_jax_array(dt):
    from jax._src.lax.lax import _convert_element_type

    dt = np.dtype(dt)
    return _convert_element_type(np.zeros((), dt), dt, weak_type=True)


def _input_pairs(jax):
    """(jax_input, pullback_input) pairs covering every kind of argument."""
    out = []
    for dt in NUMERIC:
        out.append((dt, dt))  # strong dtype
        out.append((np.zeros((), dt), np.zeros((), dt)))  # numpy array
        jx = _weak_jax_array(dt)  # weakly typed array (dtype as JAX leaves it)
        out.append((jx, FakeArray(jx.dtype, bool(jx.weak_type))))
    for t in (bool, int, float, complex):
        out.append((t, t))
    for v in (True, 2, 2.5, 1j):
        out.append((v, v))
    out.append((None, None))
    return out


@ALL_X64
def test_result_type_matches_jax_pairs(jax, x64):
    with modes(jax, x64):
        inputs = _input_pairs(jax)
        mismatches = []
        for (ja, pa), (jb, pb) in itertools.product(inputs, inputs):
            want = jax.dtypes.result_type(ja, jb, return_weak_type_flag=True)
            got = D.result_type(pa, pb, return_weak_type=True)
            if (got[0], got[1]) != (np.dtype(want[0]), bool(want[1])):
                mismatches.append((pa, pb, got, want))
        assert not mismatches, mismatches[:10]
        for ja, pa in inputs:
            want = jax.dtypes.result_type(ja, return_weak_type_flag=True)
            assert D.result_type(pa, return_weak_type=True) == (np.dtype(want[0]), want[1])


@ALL_X64
def test_result_type_matches_jax_triples(jax, x64):
    with modes(jax, x64):
        inputs = _input_pairs(jax)

        @given(st.lists(st.sampled_from(inputs), min_size=3, max_size=5))
        @settings(max_examples=300, deadline=None)
        def check(chosen):
            want = jax.dtypes.result_type(*[j for j, _ in chosen], return_weak_type_flag=True)
            got = D.result_type(*[p for _, p in chosen], return_weak_type=True)
            assert got == (np.dtype(want[0]), want[1])

        check()


def test_result_type_matches_jax_for_wide_arrays_in_x32(jax):
    # Arrays created with x64 on keep their 64-bit dtype after x64 is switched off.
    with modes(jax, True):
        wide = [jax.numpy.zeros((), dt) for dt in ("int64", "uint64", "float64", "complex128")]
    with modes(jax, False):
        for jw in wide:
            pw = FakeArray(jw.dtype, bool(jw.weak_type))
            for other in NUMERIC + [int, float, complex]:
                want = jax.dtypes.result_type(jw, other, return_weak_type_flag=True)
                got = D.result_type(pw, other, return_weak_type=True)
                assert got == (np.dtype(want[0]), want[1]), (jw.dtype, other)


@ALL_X64
def test_promote_types_matches_jax(jax, x64):
    candidates = NUMERIC + [bool, int, float, complex]
    with modes(jax, x64):
        for a, b in itertools.product(candidates, candidates):
            assert D.promote_types(a, b) == jax.numpy.promote_types(a, b), (a, b)


@ALL_X64
def test_canonicalize_matches_jax(jax, x64):
    candidates = NUMERIC + [bool, int, float, complex, "float64", "int16", D.float0]
    with modes(jax, x64):
        for c in candidates:
            assert D.canonicalize_dtype(c) == jax.dtypes.canonicalize_dtype(c), c


@ALL_X64
def test_to_inexact_dtype_matches_jnp_sin(jax, x64):
    with modes(jax, x64):
        for dt in NUMERIC:
            x = jax.numpy.zeros((), dt)
            assert D.to_inexact_dtype(x.dtype) == jax.numpy.sin(x).dtype, dt


def test_issubdtype_matches_jax(jax):
    kinds = [np.generic, np.number, np.inexact, np.floating, np.complexfloating, np.integer]
    kinds += [np.signedinteger, np.unsignedinteger, np.bool_, np.void, float, int, complex]
    for a in NUMERIC + [D.float0, float, int, bool, "float32"]:
        for b in kinds + NUMERIC + [D.float0]:
            assert D.issubdtype(a, b) == jax.dtypes.issubdtype(a, b), (a, b)


def test_jax_float0_is_ours(jax):
    assert D.float0 == jax.dtypes.float0
    assert D.float0.itemsize == 0


# ---------------------------------------------------------------------------
# Canonicalization and helpers


@pytest.mark.parametrize(
    "inp, x32, x64",
    [
        (np.int64, np.int32, np.int64),
        (np.uint64, np.uint32, np.uint64),
        (np.float64, np.float32, np.float64),
        (np.complex128, np.complex64, np.complex128),
        ("float64", np.float32, np.float64),
        (np.dtype("int64"), np.int32, np.int64),
        (float, np.float32, np.float64),
        (int, np.int32, np.int64),
        (complex, np.complex64, np.complex128),
        (bool, np.bool_, np.bool_),
        (np.int8, np.int8, np.int8),
        (np.float16, np.float16, np.float16),
        ("f4", np.float32, np.float32),
    ],
)
def test_canonicalize_dtype(inp, x32, x64):
    with enable_x64(False):
        out = D.canonicalize_dtype(inp)
        assert out == np.dtype(x32) and isinstance(out, np.dtype)
        assert D.canonicalize_dtype(inp) == np.dtype(x32)  # cached path
    with enable_x64(True):
        assert D.canonicalize_dtype(inp) == np.dtype(x64)


def test_canonicalize_dtype_misc():
    assert D.canonicalize_dtype(D.float0) == D.float0
    assert D.canonicalize_dtype([("a", np.int32)]) == np.dtype([("a", np.int32)])
    with pytest.raises(TypeError):
        D.canonicalize_dtype("not a dtype")


def test_dtype_of_values():
    with enable_x64(False):
        assert D.dtype(1.0) == np.float32
        assert D.dtype(1) == np.int32
        assert D.dtype(True) == np.bool_
        assert D.dtype(1j) == np.complex64
        assert D.dtype(float) == np.float32
        assert D.dtype(np.float64) == np.float32
        assert D.dtype(np.float64(1.0)) == np.float32
        assert D.dtype(np.zeros(2, np.int64)) == np.int32
        assert D.dtype("int64") == np.int32
        assert D.dtype(FakeArray(np.int64)) == np.int64
    with enable_x64(True):
        assert D.dtype(1.0) == np.float64
        assert D.dtype(np.zeros(2, np.int64)) == np.int64
    with pytest.raises(ValueError):
        D.dtype(None)
    with pytest.raises(TypeError):
        D.dtype(np.array(["x"]))
    with pytest.raises(TypeError):
        D.dtype(object)


def test_is_weakly_typed():
    assert D.is_weakly_typed(1)
    assert D.is_weakly_typed(1.0)
    assert D.is_weakly_typed(1j)
    assert not D.is_weakly_typed(True)
    assert not D.is_weakly_typed(np.float32(1))
    assert not D.is_weakly_typed(np.float64(1))  # a float subclass, but NumPy
    assert not D.is_weakly_typed(np.zeros(2))
    assert not D.is_weakly_typed(float)
    assert D.is_weakly_typed(FakeArray(np.float32, True))
    assert not D.is_weakly_typed(FakeArray(np.float32, False))
    assert not D.is_weakly_typed(FakeArray)


def test_issubdtype():
    assert D.issubdtype(np.float32, np.floating)
    assert D.issubdtype("int8", np.signedinteger)
    assert not D.issubdtype(np.uint8, np.signedinteger)
    assert D.issubdtype(D.float0, D.float0)
    assert not D.issubdtype(D.float0, np.floating)
    assert not D.issubdtype(np.float32, D.float0)
    assert D.issubdtype(float, np.floating)


def test_predicates_and_tangent_dtype():
    assert D.is_float0(D.float0)
    assert D.is_float0(np.zeros(3, D.float0))
    assert not D.is_float0(np.float32)
    assert not D.is_float0(object())
    assert D.inexact(np.float16) and D.inexact(np.complex64) and D.inexact(np.zeros(1))
    assert not D.inexact(np.int32) and not D.inexact(bool) and not D.inexact(D.float0)
    for dt in NUMERIC:
        expected = dt if dt.kind in "fc" else D.float0
        assert D.tangent_dtype(dt) == expected
    assert D.tangent_dtype(D.float0) == D.float0
    assert D.tangent_dtype(FakeArray(np.float32)) == np.float32
    with pytest.raises(TypeError):
        D.tangent_dtype(np.dtype("U2"))


def test_scalar_type_of():
    assert D.scalar_type_of(np.float16(1)) is float
    assert D.scalar_type_of(np.zeros(2, np.uint8)) is int
    assert D.scalar_type_of(True) is bool
    assert D.scalar_type_of(FakeArray(np.complex64)) is complex
    with pytest.raises(TypeError):
        D.scalar_type_of(np.zeros(2, D.float0))


def test_to_inexact_dtype():
    with enable_x64(False):
        assert D.to_inexact_dtype(np.int8) == np.float32
        assert D.to_inexact_dtype(np.int64) == np.float32
        assert D.to_inexact_dtype(int) == np.float32
        assert D.to_inexact_dtype(bool) == np.float32
        assert D.to_inexact_dtype(np.float16) == np.float16
        assert D.to_inexact_dtype(np.complex64) == np.complex64
    with enable_x64(True):
        assert D.to_inexact_dtype(np.int8) == np.float32
        assert D.to_inexact_dtype(np.int64) == np.float64
        assert D.to_inexact_dtype(int) == np.float64
        assert D.to_inexact_dtype(np.float64) == np.float64
    with pytest.raises(TypeError):
        D.to_inexact_dtype(D.float0)


@pytest.mark.parametrize(
    "dt, name",
    [
        (np.float32, "f32"),
        (np.float16, "f16"),
        (np.float64, "f64"),
        (np.int32, "i32"),
        (np.int8, "i8"),
        (np.uint8, "u8"),
        (np.uint64, "u64"),
        (np.bool_, "bool"),
        (np.complex64, "c64"),
        (np.complex128, "c128"),
        (D.float0, "float0"),
    ],
)
def test_short_name(dt, name):
    assert D.short_name(dt) == name
    assert D.short_name(np.dtype(dt)) == name


def test_type_str():
    assert D.type_str((3,), np.float32) == "float32[3]"
    assert D.type_str((), np.float32) == "float32[]"
    assert D.type_str((2, 3), np.int32) == "int32[2,3]"
    assert D.type_str((np.int64(4), 1), "bool") == "bool[4,1]"
    assert D.type_str((5,), D.float0) == "float0[5]"
    assert D.type_str((3,), np.float32, weak_type=True) == "~float32[3]"


def test_type_str_matches_jax_avals(jax):
    for shape in [(), (3,), (2, 3), (1, 0, 4)]:
        for dt in NUMERIC:
            aval = jax.core.ShapedArray(shape, dt)
            assert D.type_str(shape, dt) == aval.str_short()
            assert D.short_name(dt) == aval.str_short(short_dtypes=True).split("[")[0]


def test_finfo_iinfo():
    assert D.finfo(np.float32).eps == np.finfo(np.float32).eps
    assert D.finfo(np.float64).bits == 64  # taken literally, as in JAX
    assert D.finfo(np.complex64).dtype == np.float32
    assert D.iinfo(np.int16).max == 2**15 - 1
    assert D.iinfo("uint8").min == 0
    with pytest.raises(ValueError):
        D.iinfo(np.float32)


def test_public_module():
    from pullback import dtypes

    for name in dtypes.__all__:
        assert getattr(dtypes, name) is getattr(D, name)
        if name != "float0":
            assert ">>>" in getattr(dtypes, name).__doc__
