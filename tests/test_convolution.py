"""Convolutions and windowed reductions (``lax.conv_general_dilated`` and its wrappers,
``lax.reduce_window``): values against direct NumPy loops (``samples_conv``) and against JAX;
gradients, forward mode, ``vmap`` and ``jit`` against JAX; dimension-number variants, strides,
dilations, padding, groups, memory layouts; errors with JAX's types and leading sentences; a
small CNN's training step end to end.

The registry checks (VJP against central differences to second order, batch rules against a
loop, staged against eager) run from the rows of ``tests/samples_conv.py``.
"""

from __future__ import annotations

import re
import zlib
from types import SimpleNamespace

import numpy as np
import pytest
from samples_conv import conv_ref, reduce_window_ref

import pullback as pb
import pullback.numpy as pnp
from pullback import lax
from pullback._config import enable_x64
from pullback._core import Array

PB = SimpleNamespace(jax=pb, jnp=pnp, lax=lax)

_rng = np.random.default_rng(7)


def _f32(*shape):
    return _rng.standard_normal(shape).astype(np.float32)


@pytest.fixture
def jx():
    jax = pytest.importorskip("jax")
    return SimpleNamespace(jax=jax, jnp=jax.numpy, lax=jax.lax)


def _close(got, expected, rtol=2e-5, atol=2e-5):
    got_leaves = pb.tree_util.tree_leaves(got)
    expected_leaves = pb.tree_util.tree_leaves(expected)
    assert len(got_leaves) == len(expected_leaves)
    for g, e in zip(got_leaves, expected_leaves):
        assert tuple(np.shape(g)) == tuple(np.shape(e))
        assert np.dtype(g.dtype) == np.dtype(e.dtype), (g.dtype, e.dtype)
        np.testing.assert_allclose(
            np.asarray(g, np.float64), np.asarray(e, np.float64), rtol=rtol, atol=atol
        )


# -- convolution cases ---------------------------------------------------------------------------

CONV_CASES = {
    "nchw-same": ((2, 3, 6, 5), (4, 3, 3, 3), dict(window_strides=(1, 1), padding="SAME")),
    "valid-strides": ((2, 3, 7, 6), (4, 3, 3, 2), dict(window_strides=(2, 3), padding="VALID")),
    "same-lower": ((1, 2, 6, 5), (3, 2, 2, 3), dict(window_strides=(2, 2), padding="SAME_LOWER")),
    "explicit-pads": (
        (2, 3, 6, 5),
        (2, 3, 3, 2),
        dict(window_strides=(1, 2), padding=[(1, 2), (0, -1)]),
    ),
    "lhs-dilation": (
        (2, 2, 4, 5),
        (3, 2, 3, 3),
        dict(window_strides=(1, 1), padding=[(1, 1), (2, 2)], lhs_dilation=(2, 1)),
    ),
    "rhs-dilation": (
        (2, 2, 7, 6),
        (3, 2, 3, 2),
        dict(window_strides=(1, 1), padding="SAME", rhs_dilation=(2, 2)),
    ),
    "nhwc": (
        (2, 6, 5, 3),
        (3, 3, 3, 4),
        dict(window_strides=(1, 1), padding="SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")),
    ),
    "mixed-layouts": (
        (2, 3, 6, 5),
        (3, 2, 3, 4),
        dict(window_strides=(2, 1), padding="SAME", dimension_numbers=("NCHW", "HWIO", "NHWC")),
    ),
    "spatial-order": (
        (2, 3, 5, 6),
        (4, 3, 3, 2),
        dict(window_strides=(1, 2), padding="VALID", dimension_numbers=("NCWH", "OIHW", "NHCW")),
    ),
    "conv-dimension-numbers": (
        (2, 3, 6, 5),
        (4, 3, 3, 3),
        dict(
            window_strides=(1, 1),
            padding="SAME",
            dimension_numbers=lax.ConvDimensionNumbers((0, 1, 2, 3), (0, 1, 2, 3), (0, 1, 2, 3)),
        ),
    ),
    "feature-groups": (
        (2, 6, 5, 5),
        (4, 3, 3, 3),
        dict(window_strides=(1, 1), padding="SAME", feature_group_count=2),
    ),
    "depthwise-nhwc": (
        (2, 5, 5, 4),
        (3, 3, 1, 8),
        dict(
            window_strides=(1, 1),
            padding="SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
            feature_group_count=4,
        ),
    ),
    "batch-groups": (
        (4, 3, 5, 5),
        (6, 3, 3, 3),
        dict(window_strides=(1, 1), padding="VALID", batch_group_count=2),
    ),
    "1d": (
        (2, 9, 3),
        (3, 3, 4),
        dict(window_strides=(2,), padding="SAME", dimension_numbers=("NWC", "WIO", "NWC")),
    ),
    "3d": ((1, 2, 4, 5, 4), (3, 2, 2, 3, 2), dict(window_strides=(1, 2, 1), padding="SAME")),
    "strided-dilated-grouped": (
        (2, 4, 7, 6),
        (6, 2, 2, 3),
        dict(
            window_strides=(2, 2),
            padding=[(1, 0), (2, 1)],
            rhs_dilation=(1, 2),
            feature_group_count=2,
        ),
    ),
}


def _conv_fn(L, kw):
    return lambda x, w: L.lax.conv_general_dilated(x, w, **kw)


def _float32_noise(values):
    """An absolute tolerance for float32 sums of these magnitudes: second derivatives of a
    convolution add thousands of products, so an entry near zero carries the rounding of its
    largest neighbours (XLA and NumPy sum in different orders)."""
    scale = max(float(np.max(np.abs(np.asarray(v)))) for v in pb.tree_util.tree_leaves(values))
    return max(2e-4, 2e-6 * scale)


def _operands(case, draw=0):
    """The case's operands, the same whichever tests ran before (float32 tolerances of second
    derivatives hold for these draws)."""
    xs, ws, _ = CONV_CASES[case]
    rng = np.random.default_rng([zlib.crc32(case.encode()), draw])
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    return x, w * 0.5


def _reference(x, w, kw):
    """The loop reference with the parameters canonicalised by pullback's public helpers."""
    dn = lax.conv_dimension_numbers(x.shape, w.shape, kw.get("dimension_numbers"))
    n = x.ndim - 2
    rhs_dilation = kw.get("rhs_dilation") or (1,) * n
    padding = kw["padding"]
    if isinstance(padding, str):
        kernel = [(w.shape[i] - 1) * d + 1 for i, d in zip(dn.rhs_spec[2:], rhs_dilation)]
        padding = lax.padtype_to_pads(
            [x.shape[i] for i in dn.lhs_spec[2:]], kernel, kw["window_strides"], padding
        )
    return conv_ref(
        x,
        w,
        kw["window_strides"],
        padding,
        kw.get("lhs_dilation") or (1,) * n,
        rhs_dilation,
        dn,
        kw.get("feature_group_count", 1),
        kw.get("batch_group_count", 1),
    )


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_values_against_loop(case):
    x, w = _operands(case)
    kw = CONV_CASES[case][2]
    got = lax.conv_general_dilated(x, w, **kw)
    assert isinstance(got, Array) and got.dtype == np.float32
    np.testing.assert_allclose(np.asarray(got), _reference(x, w, kw), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_values_against_jax(jx, case):
    x, w = _operands(case)
    kw = CONV_CASES[case][2]
    if isinstance(kw.get("dimension_numbers"), lax.ConvDimensionNumbers):
        kw_jax = dict(kw, dimension_numbers=jx.lax.ConvDimensionNumbers(*kw["dimension_numbers"]))
    else:
        kw_jax = kw
    _close(_conv_fn(PB, kw)(x, w), _conv_fn(jx, kw_jax)(x, w))


def _jax_kw(jx, kw):
    dn = kw.get("dimension_numbers")
    if isinstance(dn, lax.ConvDimensionNumbers):
        return dict(kw, dimension_numbers=jx.lax.ConvDimensionNumbers(*dn))
    return kw


def _loss(L, kw):
    conv = _conv_fn(L, kw)
    return lambda x, w: L.jnp.sum(L.jnp.sin(conv(x, w)) * L.jnp.cos(conv(x, w)))


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_grads_against_jax(jx, case):
    x, w = _operands(case)
    kw = CONV_CASES[case][2]
    got = pb.grad(_loss(PB, kw), (0, 1))(x, w)
    expected = jx.jax.grad(_loss(jx, _jax_kw(jx, kw)), (0, 1))(x, w)
    _close(got, expected, rtol=1e-4, atol=1e-4)
    _close(pb.jit(pb.grad(_loss(PB, kw), (0, 1)))(x, w), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "case", ["nchw-same", "explicit-pads", "nhwc", "feature-groups", "batch-groups", "lhs-dilation"]
)
def test_conv_jvp_and_second_order_against_jax(jx, case):
    x, w = _operands(case)
    tx, tw = _operands(case, draw=1)
    kw = CONV_CASES[case][2]
    jkw = _jax_kw(jx, kw)
    _close(
        pb.jvp(_conv_fn(PB, kw), (x, w), (tx, tw)),
        jx.jax.jvp(_conv_fn(jx, jkw), (x, w), (tx, tw)),
        rtol=1e-4,
        atol=1e-4,
    )

    # a Hessian-vector product: forward over reverse
    def hvp(L, k):
        return L.jax.jvp(L.jax.grad(_loss(L, k), (0, 1)), (x, w), (tx, tw))[1]

    want = jx.jax.jit(lambda: hvp(jx, jkw))()
    _close(hvp(PB, kw), want, rtol=2e-4, atol=_float32_noise(want))

    # reverse over reverse
    def g2(L, k):
        inner = L.jax.grad(_loss(L, k), 1)
        return L.jax.grad(lambda x, w: L.jnp.sum(inner(x, w) ** 2), (0, 1))(x, w)

    want = jx.jax.jit(lambda: g2(jx, jkw))()
    _close(g2(PB, kw), want, rtol=2e-4, atol=_float32_noise(want))


VMAP_CASES = ["nchw-same", "nhwc", "feature-groups", "batch-groups", "strided-dilated-grouped"]


@pytest.mark.parametrize("case", VMAP_CASES)
@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0), (2, 1)])
def test_conv_vmap_against_jax(jx, case, in_axes):
    xs, ws, kw = CONV_CASES[case]
    b = 3
    x = _f32(*xs[: in_axes[0]], b, *xs[in_axes[0] :]) if in_axes[0] is not None else _f32(*xs)
    w = _f32(*ws[: in_axes[1]], b, *ws[in_axes[1] :]) if in_axes[1] is not None else _f32(*ws)
    got = pb.vmap(_conv_fn(PB, kw), in_axes)(x, w)
    expected = jx.jax.vmap(_conv_fn(jx, _jax_kw(jx, kw)), in_axes)(x, w)
    _close(got, expected, rtol=1e-4, atol=1e-4)
    _close(pb.jit(pb.vmap(_conv_fn(PB, kw), in_axes))(x, w), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", ["nchw-same", "nhwc", "feature-groups"])
def test_conv_per_example_grads_against_jax(jx, case):
    xs, ws, kw = CONV_CASES[case]
    x = _f32(*xs)

    def per_example(L, k):
        loss = _loss(L, k)
        return L.jax.vmap(L.jax.grad(lambda w, xi: loss(xi[None], w), 0), (None, 0))

    w = _f32(*ws) * 0.5
    expected = jx.jax.jit(per_example(jx, _jax_kw(jx, kw)))(w, x)
    _close(per_example(PB, kw)(w, x), expected, rtol=1e-4, atol=1e-4)
    _close(pb.jit(per_example(PB, kw))(w, x), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_memory_layouts(case):
    """Operands whose memory order differs from their logical order (transposed views, as
    the outputs of earlier convolutions are) give the same values."""
    x, w = _operands(case)
    kw = CONV_CASES[case][2]
    expected = _reference(x, w, kw)
    for perm_x in (None, tuple(reversed(range(x.ndim)))):
        for perm_w in (None, (1, 0, *range(2, w.ndim))):
            xv = (
                x
                if perm_x is None
                else np.ascontiguousarray(x.transpose(perm_x)).transpose(np.argsort(perm_x))
            )
            wv = (
                w
                if perm_w is None
                else np.ascontiguousarray(w.transpose(perm_w)).transpose(np.argsort(perm_w))
            )
            got = lax.conv_general_dilated(Array(xv, False), Array(wv, False), **kw)
            np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-5)


def test_conv_kernel_gradient_with_batch_innermost():
    """The kernel gradient's convolution has the input's features as its batch: with the input
    in NHWC memory that axis is innermost and the patch matrix is built transposed."""
    x = _f32(5, 6, 6, 3)  # NHWC memory, NCHW logical below
    w = _f32(4, 3, 3, 3)
    xv = Array(x.transpose(0, 3, 1, 2), False)
    loss = lambda x, w: pnp.sum(lax.conv(x, w, (1, 1), "SAME") ** 2)
    got = pb.grad(loss, 1)(xv, w)
    expected = pb.grad(loss, 1)(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), w)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-5)


def test_conv_wrappers_against_jax(jx):
    x, w = _f32(2, 3, 6, 5), _f32(4, 3, 3, 2)
    _close(lax.conv(x, w, (1, 2), "SAME"), jx.lax.conv(x, w, (1, 2), "SAME"))
    _close(lax.conv(x, w, (2, 1), "VALID"), jx.lax.conv(x, w, (2, 1), "VALID"))
    for args in (((1, 1), [(1, 0), (0, 2)], (2, 1), None), ((2, 1), "SAME", None, (1, 2))):
        _close(
            lax.conv_with_general_padding(x, w, *args),
            jx.lax.conv_with_general_padding(x, w, *args),
        )


CONV_TRANSPOSE_CASES = [
    ((2, 5, 5, 3), (3, 3, 3, 4), dict(strides=(2, 2), padding="SAME")),
    ((2, 5, 5, 3), (3, 3, 3, 4), dict(strides=(2, 2), padding="VALID")),
    ((2, 5, 5, 3), (2, 3, 4, 3), dict(strides=(1, 2), padding="SAME", transpose_kernel=True)),
    ((2, 5, 5, 3), (3, 3, 3, 4), dict(strides=(2, 2), padding=[(1, 2), (0, 1)])),
    (
        (2, 5, 5, 3),
        (3, 3, 3, 4),
        dict(strides=(2, 2), padding=[(1, 1), (0, 1)], use_consistent_padding=True),
    ),
    ((2, 5, 5, 3), (3, 3, 3, 4), dict(strides=(2, 1), padding="SAME", rhs_dilation=(1, 2))),
    (
        (2, 3, 5, 5),
        (3, 4, 3, 3),
        dict(strides=(2, 2), padding="SAME", dimension_numbers=("NCHW", "IOHW", "NCHW")),
    ),
    ((2, 7, 3), (3, 3, 2), dict(strides=(3,), padding="SAME")),
]


@pytest.mark.parametrize("k", range(len(CONV_TRANSPOSE_CASES)))
def test_conv_transpose_against_jax(jx, k):
    xs, ws, kw = CONV_TRANSPOSE_CASES[k]
    x, w = _f32(*xs), _f32(*ws)
    _close(lax.conv_transpose(x, w, **kw), jx.lax.conv_transpose(x, w, **kw))
    loss = lambda L: lambda x, w: L.jnp.sum(L.jnp.tanh(L.lax.conv_transpose(x, w, **kw)))
    _close(
        pb.grad(loss(PB), (0, 1))(x, w),
        jx.jax.grad(loss(jx), (0, 1))(x, w),
        rtol=1e-4,
        atol=1e-4,
    )


def test_conv_is_the_gradient_of_conv_transpose(jx):
    """``conv_transpose(transpose_kernel=True)`` is the input gradient of a strided conv."""
    x, w = _f32(2, 8, 8, 3), _f32(3, 3, 3, 4)
    dn = ("NHWC", "HWIO", "NHWC")
    y, pullback_fn = pb.vjp(
        lambda x: lax.conv_general_dilated(x, w, (2, 2), "SAME", dimension_numbers=dn), x
    )
    ct = _f32(*y.shape)
    (got,) = pullback_fn(ct)
    expected = lax.conv_transpose(
        ct, w, (2, 2), "SAME", dimension_numbers=dn, transpose_kernel=True
    )
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-5)


def test_conv_dtypes_against_jax(jx):
    xi = _rng.integers(-3, 4, size=(2, 3, 5, 5)).astype(np.int32)
    wi = _rng.integers(-3, 4, size=(4, 3, 3, 3)).astype(np.int32)
    cases = [
        lambda L: L.lax.conv(xi, wi, (1, 1), "SAME"),
        lambda L: L.lax.conv(
            xi.astype(np.int8), wi.astype(np.int8), (1, 1), "VALID", preferred_element_type=np.int32
        ),
        lambda L: L.lax.conv(
            xi.astype(np.int8),
            wi.astype(np.int8),
            (1, 1),
            "VALID",
            preferred_element_type=np.float32,
        ),
        lambda L: L.lax.conv(xi.astype(np.float16), wi.astype(np.float16), (1, 1), "SAME"),
        lambda L: L.lax.conv(
            xi.astype(np.float16),
            wi.astype(np.float16),
            (1, 1),
            "SAME",
            preferred_element_type=np.float32,
        ),
        lambda L: L.lax.conv(xi > 0, wi > 0, (1, 1), "SAME"),
        lambda L: L.lax.conv(
            xi.astype(np.float32),
            wi.astype(np.float32),
            (1, 1),
            "SAME",
            preferred_element_type=np.float32,
        ),
    ]
    for case in cases:
        got, expected = case(PB), case(jx)
        assert got.weak_type == expected.weak_type
        _close(got, expected, rtol=1e-3)


def test_conv_x64_against_jax(jx):
    x, w = _rng.standard_normal((2, 3, 5, 5)), _rng.standard_normal((4, 3, 3, 3))
    with enable_x64(True):
        got = lax.conv(x, w, (1, 1), "SAME")
        assert got.dtype == np.float64
    np.testing.assert_allclose(
        np.asarray(got),
        conv_ref(
            x,
            w,
            (1, 1),
            ((1, 1), (1, 1)),
            (1, 1),
            (1, 1),
            lax.conv_dimension_numbers(x.shape, w.shape, None),
        ),
        rtol=1e-12,
    )
    # without x64, float64 operands are float32, as in JAX
    _close(lax.conv(x, w, (1, 1), "SAME"), jx.lax.conv(x, w, (1, 1), "SAME"))


def test_conv_preferred_element_type_gradient_dtypes(jx):
    x, w = _f32(2, 3, 5, 5).astype(np.float16), _f32(4, 3, 3, 3).astype(np.float16)

    def loss(L):
        return lambda x, w: L.jnp.sum(
            L.lax.conv(x, w, (1, 1), "SAME", preferred_element_type=np.float32)
        )

    _close(pb.grad(loss(PB), (0, 1))(x, w), jx.jax.grad(loss(jx), (0, 1))(x, w), rtol=2e-3)


def test_conv_jaxpr_prints_as_jax(jx):
    x, w = _f32(2, 3, 5, 5), _f32(4, 3, 3, 3)
    f = lambda L: lambda x, w: L.lax.conv(x, w, (1, 1), "SAME")
    assert str(pb.make_jaxpr(f(PB))(x, w)) == str(jx.jax.make_jaxpr(f(jx))(x, w))
    g = lambda L: (
        lambda x: L.lax.reduce_window(x, -L.jnp.inf, L.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
    )
    assert str(pb.make_jaxpr(g(PB))(x)) == str(jx.jax.make_jaxpr(g(jx))(x))


def test_conv_zero_sized(jx):
    cases = [
        lambda L: L.lax.conv(
            np.ones((0, 2, 4, 4), np.float32), np.ones((3, 2, 3, 3), np.float32), (1, 1), "SAME"
        ),
        lambda L: L.lax.conv_general_dilated(
            np.ones((1, 2, 4, 4), np.float32),
            np.ones((3, 2, 3, 3), np.float32),
            (1, 1),
            [(-4, 0), (0, 0)],
        ),
        lambda L: L.lax.conv(
            np.ones((1, 2, 2, 2), np.float32), np.ones((3, 2, 3, 3), np.float32), (1, 1), "VALID"
        ),
    ]
    for case in cases:
        _close(case(PB), case(jx))


# -- errors ------------------------------------------------------------------------------------

_X, _W = np.ones((2, 3, 5, 5), np.float32), np.ones((4, 3, 3, 3), np.float32)

CONV_ERRORS = {
    "dtypes": lambda L: L.lax.conv(_X, _W.astype(np.float16), (1, 1), "SAME"),
    "features": lambda L: L.lax.conv(_X, np.ones((4, 2, 3, 3), np.float32), (1, 1), "SAME"),
    "ndim": lambda L: L.lax.conv(_X, np.ones((4, 3, 3), np.float32), (1, 1), "SAME"),
    "strides": lambda L: L.lax.conv(_X, _W, (1,), "SAME"),
    "padding-string": lambda L: L.lax.conv(_X, _W, (1, 1), "FOO"),
    "feature-group-divides": lambda L: L.lax.conv_general_dilated(
        _X, _W, (1, 1), "SAME", feature_group_count=2
    ),
    "feature-group-positive": lambda L: L.lax.conv_general_dilated(
        _X, _W, (1, 1), "SAME", feature_group_count=0
    ),
    "rhs-out-features": lambda L: L.lax.conv_general_dilated(
        np.ones((2, 6, 5, 5), np.float32),
        np.ones((3, 3, 3, 3), np.float32),
        (1, 1),
        "SAME",
        feature_group_count=2,
    ),
    "batch-group-divides": lambda L: L.lax.conv_general_dilated(
        _X, _W, (1, 1), "SAME", batch_group_count=3
    ),
    "both-groups": lambda L: L.lax.conv_general_dilated(
        np.ones((2, 6, 5, 5), np.float32),
        np.ones((4, 3, 3, 3), np.float32),
        (1, 1),
        "SAME",
        feature_group_count=2,
        batch_group_count=2,
    ),
    "string-padding-lhs-dilation": lambda L: L.lax.conv_general_dilated(
        _X, _W, (1, 1), "SAME", lhs_dilation=(2, 2)
    ),
    "pads-count": lambda L: L.lax.conv_general_dilated(_X, _W, (1, 1), [(1, 1)]),
    "pads-pairs": lambda L: L.lax.conv_general_dilated(_X, _W, (1, 1), [(1,), (1,)]),
    "dn-length": lambda L: L.lax.conv_general_dilated(
        _X, _W, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW")
    ),
    "dn-spatial": lambda L: L.lax.conv_general_dilated(
        _X, _W, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCXW")
    ),
    "dn-chars": lambda L: L.lax.conv_general_dilated(
        _X, _W, (1, 1), "SAME", dimension_numbers=("NCHW", "OXHW", "NCHW")
    ),
    "dn-duplicate": lambda L: L.lax.conv_general_dilated(
        _X, _W, (1, 1), "SAME", dimension_numbers=("NCHH", "OIHH", "NCHH")
    ),
    "dn-string-length": lambda L: L.lax.conv_general_dilated(
        _X, _W, (1, 1), "SAME", dimension_numbers=("NCH", "OIHW", "NCHW")
    ),
    "dn-type": lambda L: L.lax.conv_general_dilated(_X, _W, (1, 1), "SAME", dimension_numbers=5),
    "negative-padding": lambda L: L.lax.conv_general_dilated(_X, _W, (1, 1), [(-6, 0), (0, 0)]),
    "preferred-kind": lambda L: L.lax.conv(_X, _W, (1, 1), "SAME", preferred_element_type=np.int32),
    "preferred-narrower": lambda L: L.lax.conv(
        _X.astype(np.int32), _W.astype(np.int32), (1, 1), "SAME", preferred_element_type=np.int16
    ),
    "dilation-positive": lambda L: L.lax.conv_general_dilated(
        _X, _W, (1, 1), [(0, 0), (0, 0)], rhs_dilation=(0, 1)
    ),
}


def _leading(message):
    """The first sentence of an error message (up to the first '.', ':' or ';')."""
    message = str(message).strip().split("PyTree")[0]  # optree prints PyTreeSpec, JAX PyTreeDef
    return re.split(r"[.:;](\s|$)", message, maxsplit=1)[0]


def _raises_like(jx, make):
    with pytest.raises(Exception) as expected:
        make(jx)
    with pytest.raises(Exception) as got:
        make(PB)
    assert got.type is expected.type or issubclass(got.type, expected.type), (
        f"{got.type.__name__}: {got.value} / JAX {expected.type.__name__}: {expected.value}"
    )
    assert _leading(got.value) == _leading(expected.value), (str(got.value), str(expected.value))


@pytest.mark.parametrize("name", CONV_ERRORS)
def test_conv_errors_as_jax(jx, name):
    _raises_like(jx, CONV_ERRORS[name])


def test_conv_errors_without_jax():
    with pytest.raises(TypeError, match="requires arguments to have the same dtypes"):
        CONV_ERRORS["dtypes"](PB)
    with pytest.raises(ValueError, match="feature_group_count must divide"):
        CONV_ERRORS["feature-group-divides"](PB)
    with pytest.raises(RuntimeError, match="Unrecognized padding type"):
        CONV_ERRORS["padding-string"](PB)
    with pytest.raises(ValueError, match="window_strides must be positive"):
        lax.conv(_X, _W, (0, 1), "VALID")


# -- reduce_window ----------------------------------------------------------------------------

WINDOW_CASES = {
    "max-pool": ((2, 6, 6, 3), "max", (1, 2, 2, 1), (1, 2, 2, 1), "VALID", None, None),
    "max-same": ((2, 5, 5, 3), "max", (1, 3, 3, 1), (1, 2, 2, 1), "SAME", None, None),
    "min-padded": ((5, 6), "min", (3, 2), (2, 1), [(1, 1), (0, 1)], None, None),
    "sum-avg-pool": ((2, 3, 6, 6), "add", (1, 1, 2, 2), (1, 1, 2, 2), "VALID", None, None),
    "sum-same-lower": ((2, 7, 5), "add", (1, 3, 2), (1, 2, 1), "SAME_LOWER", None, None),
    "sum-dilated": ((4, 5), "add", (2, 2), (1, 2), [(0, 1), (1, 0)], (2, 1), (1, 2)),
    "max-window-dilation": ((6, 7), "max", (2, 3), (1, 1), "VALID", None, (2, 2)),
    "max-base-dilation": ((4, 4), "max", (2, 2), (1, 1), [(0, 1), (0, 1)], (2, 2), None),
    "sum-negative-padding": ((5, 6), "add", (2, 2), (1, 1), [(-1, 1), (1, -2)], None, None),
    "mul": ((5, 6), "mul", (2, 3), (1, 2), [(1, 0), (0, 1)], None, None),
    "1d-mul": ((10,), "mul", (2,), None, "VALID", None, None),
}

_INITS = {"max": -np.inf, "min": np.inf, "add": 0.0, "mul": 1.0}


def _window_fn(L, case):
    shape, op, wd, ws, padding, bd, wdl = WINDOW_CASES[case]
    return lambda x: L.lax.reduce_window(
        x, _INITS[op], getattr(L.lax, op), wd, ws, padding, bd, wdl
    )


def _window_reference(x, case):
    _, op, wd, ws, padding, bd, wdl = WINDOW_CASES[case]
    n = x.ndim
    ws = ws or (1,) * n
    bd = bd or (1,) * n
    wdl = wdl or (1,) * n
    if isinstance(padding, str):
        dilated = [(k - 1) * d + 1 for k, d in zip(wd, wdl)]
        padding = lax.padtype_to_pads(x.shape, dilated, ws, padding)
    if op == "mul":
        logs = reduce_window_ref("sum", np.log(x.astype(np.float64)), wd, ws, padding, bd, wdl)
        return np.exp(logs).astype(x.dtype)
    kind = {"add": "sum"}.get(op, op)
    return reduce_window_ref(kind, x, wd, ws, padding, bd, wdl)


def _window_operand(case):
    shape, op, *_ = WINDOW_CASES[case]
    if op == "mul":
        return _rng.uniform(0.5, 1.5, size=shape).astype(np.float32)
    return _f32(*shape)


@pytest.mark.parametrize("case", WINDOW_CASES)
def test_reduce_window_values_against_loop(case):
    x = _window_operand(case)
    got = _window_fn(PB, case)(x)
    np.testing.assert_allclose(np.asarray(got), _window_reference(x, case), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", WINDOW_CASES)
def test_reduce_window_against_jax(jx, case):
    x = _window_operand(case)
    _close(_window_fn(PB, case)(x), _window_fn(jx, case)(x), rtol=1e-5, atol=1e-6)
    _close(pb.jit(_window_fn(PB, case))(x), _window_fn(jx, case)(x), rtol=1e-5, atol=1e-6)
    t = _window_operand(case)
    _close(
        pb.jvp(_window_fn(PB, case), (x,), (t,)),
        jx.jax.jvp(_window_fn(jx, case), (x,), (t,)),
        rtol=1e-4,
        atol=1e-5,
    )
    xs = np.stack([x, x * 0.5, x[::-1].copy() if x.ndim == 1 else x * 2.0])
    _close(
        pb.vmap(_window_fn(PB, case))(xs),
        jx.jax.vmap(_window_fn(jx, case))(xs),
        rtol=1e-5,
        atol=1e-6,
    )


# (JAX has no VJP for max pooling with window dilation: the next test covers that case)
@pytest.mark.parametrize(
    "case",
    [c for c in WINDOW_CASES if WINDOW_CASES[c][1] != "mul" and c != "max-window-dilation"],
)
def test_reduce_window_grads_against_jax(jx, case):
    x = _window_operand(case)
    loss = lambda L: lambda x: L.jnp.sum(L.jnp.sin(_window_fn(L, case)(x)))
    expected = jx.jax.grad(loss(jx))(x)
    _close(pb.grad(loss(PB))(x), expected, rtol=1e-5, atol=1e-6)
    _close(pb.jit(pb.grad(loss(PB)))(x), expected, rtol=1e-5, atol=1e-6)
    # second order: forward over reverse
    t = _window_operand(case)
    _close(
        pb.jvp(pb.grad(loss(PB)), (x,), (t,)),
        jx.jax.jvp(jx.jax.grad(loss(jx)), (x,), (t,)),
        rtol=1e-4,
        atol=1e-5,
    )


def _central_differences(f, x, eps=1e-3):
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        g[i] = (float(f(up)) - float(f(down))) / (2 * eps)
    return g


@pytest.mark.parametrize("case", ["max-window-dilation", "mul", "1d-mul"])
def test_reduce_window_grads_where_jax_has_none(case):
    """Max pooling with dilated windows and non-monoid reductions are differentiable here (JAX
    raises for both in reverse mode)."""
    x = _window_operand(case).astype(np.float64)
    with enable_x64(True):
        loss = lambda x: pnp.sum(pnp.sin(_window_fn(PB, case)(x)))
        got = pb.grad(loss)(x)
        np.testing.assert_allclose(
            np.asarray(got), _central_differences(loss, x), rtol=1e-5, atol=1e-7
        )


def test_max_pool_ties_go_to_the_first_maximum(jx):
    """ReLU outputs have many equal zeros: every window's cotangent goes to its first maximum,
    as XLA's select-and-scatter chooses, not shared among ties."""
    x = np.maximum(_f32(2, 6, 6, 4), 0)
    x[0, :2, :2, 0] = 1.0

    def loss(L):
        return lambda x: L.jnp.sum(
            L.lax.reduce_window(x, -L.jnp.inf, L.lax.max, (1, 3, 3, 1), (1, 2, 2, 1), "SAME")
            * L.jnp.arange(27.0).reshape(1, 3, 3, 3)[..., :1]
        )

    got = pb.grad(loss(PB))(x)
    expected = jx.jax.grad(loss(jx))(x)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    np.testing.assert_array_equal(np.asarray(pb.jit(pb.grad(loss(PB)))(x)), np.asarray(expected))


def test_reduce_window_pytree_and_generic(jx):
    x, y = _f32(4, 5), _f32(4, 5)

    def pairs(L):
        return L.lax.reduce_window(
            (x, y),
            (0.0, -L.jnp.inf),
            lambda a, b: (L.lax.add(a[0], b[0]), L.lax.max(a[1], b[1])),
            (2, 2),
            (1, 2),
            "SAME",
        )

    _close(pairs(PB), pairs(jx))
    # an init value that is not the identity takes the generic path
    for op, init in (("add", 1.0), ("max", 0.0), ("min", 0.5)):
        f = lambda L: L.lax.reduce_window(x, init, getattr(L.lax, op), (2, 3), (1, 1), "SAME")
        _close(f(PB), f(jx))
    # a traced init value too
    f = lambda L: L.jax.jit(lambda x, i: L.lax.reduce_window(x, i, L.lax.max, (2, 2)))(
        x, np.float32(-np.inf)
    )
    _close(f(PB), f(jx))


def test_reduce_window_integers_against_jax(jx):
    x = _rng.integers(-5, 6, size=(4, 6)).astype(np.int32)
    for op, init in (("add", 0), ("max", -(2**31)), ("min", 2**31 - 1), ("max", -np.inf)):
        f = lambda L: L.lax.reduce_window(x, init, getattr(L.lax, op), (2, 3), (2, 1), "SAME")
        _close(f(PB), f(jx))
    xb = x > 0
    f = lambda L: L.lax.reduce_window(xb, False, L.lax.max, (2, 2))
    _close(f(PB), f(jx))


WINDOW_ERRORS = {
    "rank": lambda L: L.lax.reduce_window(np.ones((4, 6)), 0.0, L.lax.add, (2,)),
    "zero-window": lambda L: L.lax.reduce_window(np.ones((4, 6)), 0.0, L.lax.add, (0, 2)),
    "strides-length": lambda L: L.lax.reduce_window(np.ones((4, 6)), 0.0, L.lax.add, (2, 2), (1,)),
    "zero-stride": lambda L: L.lax.reduce_window(np.ones((4, 6)), 0.0, L.lax.add, (2, 2), (0, 1)),
    "padding-type": lambda L: L.lax.reduce_window(
        np.ones((4, 6)), 0.0, L.lax.add, (2, 2), (1, 1), "FOO"
    ),
    "base-dilation-length": lambda L: L.lax.reduce_window(
        np.ones((4, 6)), 0.0, L.lax.add, (2, 2), (1, 1), "VALID", (1,)
    ),
    "init-dtype": lambda L: L.lax.reduce_window(np.ones((4, 6), np.float32), 1, L.lax.mul, (2, 2)),
    "init-shape": lambda L: L.lax.reduce_window(
        np.ones((4, 6), np.float32), np.ones(2, np.float32), L.lax.mul, (2, 2)
    ),
    "bool-sum": lambda L: L.lax.reduce_window(np.ones((4, 6), bool), False, L.lax.add, (2, 2)),
    "tree": lambda L: L.lax.reduce_window(
        (np.ones((4, 6)), np.ones((4, 6))), 0.0, L.lax.add, (2, 2)
    ),
    "empty": lambda L: L.lax.reduce_window([], [], L.lax.add, (2, 2)),
    "output-tree": lambda L: L.lax.reduce_window(
        np.ones((4, 6), np.float32), 0.0, lambda a, b: (a, b), (2, 2)
    ),
}


@pytest.mark.parametrize("name", WINDOW_ERRORS)
def test_reduce_window_errors_as_jax(jx, name):
    _raises_like(jx, WINDOW_ERRORS[name])


def test_reduce_window_errors_without_jax():
    with pytest.raises(TypeError, match="wrong number of window_dimensions"):
        WINDOW_ERRORS["rank"](PB)
    with pytest.raises(TypeError, match="must have a number dtype"):
        WINDOW_ERRORS["bool-sum"](PB)
    with pytest.raises(ValueError, match="at least one operand"):
        WINDOW_ERRORS["empty"](PB)


# -- a small CNN, end to end -------------------------------------------------------------------


def _cnn(L):
    lax_, jnp = L.lax, L.jnp
    dn = ("NHWC", "HWIO", "NHWC")

    def predict(params, x):
        w1, b1, w2, b2, w3, b3 = params
        h = lax_.conv_general_dilated(x, w1, (1, 1), "SAME", dimension_numbers=dn) + b1
        h = jnp.maximum(h, 0.0)
        h = lax_.reduce_window(h, -jnp.inf, lax_.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        h = lax_.conv_general_dilated(h, w2, (2, 2), "SAME", dimension_numbers=dn) + b2
        h = jnp.tanh(h)
        h = lax_.reduce_window(h, 0.0, lax_.add, (1, 2, 2, 1), (1, 1, 1, 1), "SAME") / 4.0
        h = h.reshape(h.shape[0], -1)
        return h @ w3 + b3

    def loss(params, x, y):
        logits = predict(params, x)
        logits = logits - jnp.max(logits, axis=1, keepdims=True)
        logp = logits - jnp.log(jnp.sum(jnp.exp(logits), axis=1, keepdims=True))
        return -jnp.mean(jnp.sum(logp * y, axis=1))

    return loss


def _cnn_data(batch=8):
    params = (
        _f32(3, 3, 3, 8) * 0.3,
        _f32(8) * 0.1,
        _f32(3, 3, 8, 16) * 0.2,
        _f32(16) * 0.1,
        _f32(2 * 2 * 16, 10) * 0.2,
        _f32(10) * 0.1,
    )
    x = _f32(batch, 8, 8, 3)
    y = np.eye(10, dtype=np.float32)[_rng.integers(0, 10, size=batch)]
    return params, x, y


def test_cnn_training_step_against_jax(jx):
    params, x, y = _cnn_data()
    expected = jx.jax.jit(jx.jax.value_and_grad(_cnn(jx)))(params, x, y)
    _close(pb.value_and_grad(_cnn(PB))(params, x, y), expected, rtol=1e-4, atol=1e-5)
    step = pb.jit(pb.value_and_grad(_cnn(PB)))
    _close(step(params, x, y), expected, rtol=1e-4, atol=1e-5)
    # per-example gradients
    per_example = lambda L: L.jax.vmap(L.jax.grad(_cnn(L)), (None, 0, 0))
    _close(
        pb.jit(per_example(PB))(params, x[:, None], y[:, None]),
        jx.jax.jit(per_example(jx))(params, x[:, None], y[:, None]),
        rtol=1e-4,
        atol=1e-5,
    )


def test_cnn_loss_decreases_without_jax():
    params, x, y = _cnn_data()
    step = pb.jit(pb.value_and_grad(_cnn(PB)))
    first = None
    for _ in range(20):
        value, grads = step(params, x, y)
        first = float(value) if first is None else first
        params = tuple(p - 0.3 * g for p, g in zip(params, grads))
    assert float(value) < 0.7 * first


def test_max_pool_gradient_with_nans_as_jax(jx):
    """With NaNs in a window, XLA's select (``ge``/``le`` comparisons, replayed in order)
    decides which element gets the cotangent."""
    x = np.array(
        [[1, np.nan, 3, 0], [2, 5, np.nan, np.nan], [0, 1, 2, 3], [np.nan, 1, 4, 1]], np.float32
    )

    def loss(L, op, init, strides):
        def f(x):
            y = L.lax.reduce_window(x, init, getattr(L.lax, op), (2, 2), strides, "VALID")
            return L.jnp.sum(y * L.jnp.arange(float(y.size)).reshape(y.shape))

        return f

    for op, init, strides in (("max", -np.inf, (1, 1)), ("min", np.inf, (2, 2))):
        got = pb.grad(loss(PB, op, init, strides))(x)
        expected = jx.jax.grad(loss(jx, op, init, strides))(x)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


PATCHES_CASES = [
    ((2, 3, 5, 4), ((2, 2), (1, 1), "VALID")),
    ((2, 3, 5, 4), ((3, 2), (2, 1), "SAME", None, (1, 2), ("NCHW", "OIHW", "NHWC"))),
    ((2, 3, 5, 4), ((2, 3), (1, 1), [(1, 0), (0, 2)], (2, 1), None, ("NCWH", "IOHW", "CNHW"))),
]


@pytest.mark.parametrize("k", range(len(PATCHES_CASES)))
def test_conv_general_dilated_patches_against_jax(jx, k):
    shape, args = PATCHES_CASES[k]
    x = _f32(*shape)
    _close(
        lax.conv_general_dilated_patches(x, *args), jx.lax.conv_general_dilated_patches(x, *args)
    )
    loss = lambda L: lambda x: L.jnp.sum(L.jnp.sin(L.lax.conv_general_dilated_patches(x, *args)))
    _close(pb.grad(loss(PB))(x), jx.jax.grad(loss(jx))(x), rtol=1e-5, atol=1e-6)


def test_conv_general_dilated_patches_without_jax():
    x = _f32(2, 3, 5, 4)
    p = np.asarray(lax.conv_general_dilated_patches(x, (2, 3), (1, 1), "VALID"))
    assert p.shape == (2, 3 * 6, 4, 2)
    for c in range(3):
        for i in range(2):
            for j in range(3):
                np.testing.assert_array_equal(
                    p[:, c * 6 + i * 3 + j], x[:, c, i : i + 4, j : j + 2]
                )
