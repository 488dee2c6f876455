"""The ``pullback.numpy`` facade for reductions, shapes, products and creation.

Each case is a function of a NumPy-like module ``m``. It runs on ``pullback.numpy`` and is
checked against NumPy (values) and, when JAX is installed, against ``jax.numpy`` (values, shapes,
dtypes and weak types). Gradient cases compare ``pullback.grad`` with ``jax.grad``.
"""

from __future__ import annotations

import numpy as np
import pytest

import pullback
import pullback.numpy as pnp
from pullback._core import Array

rng = np.random.default_rng(0)
F = rng.standard_normal((2, 3, 4)).astype(np.float32)
M = rng.standard_normal((3, 4)).astype(np.float32)
N = rng.standard_normal((4, 5)).astype(np.float32)
V = rng.standard_normal(4).astype(np.float32)
I8 = np.array([[1, -2, 3], [4, 5, -6]], np.int8)
U8 = np.array([1, 2, 250], np.uint8)
I32 = np.arange(12, dtype=np.int32).reshape(3, 4)
B = np.array([[True, False, True], [True, True, True]])
F16 = np.array([1.5, 2.25, 3.0, 4.5], np.float16)
TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], np.float32)
SQ = rng.standard_normal((3, 3)).astype(np.float32)


def weak(m, x):
    """A weakly typed array (``full`` of a Python scalar is weak in JAX)."""
    return m.full((2, 3), x)


# (id, case, with): with is True (NumPy and JAX), False (JAX only: the NumPy API or result
# differs) or "np" (NumPy only: pullback accepts what JAX rejects, e.g. decreasing split indices)
CASES = [
    # -- reductions --
    ("sum", lambda m: m.sum(m.asarray(F)), True),
    ("sum-axis", lambda m: m.sum(m.asarray(F), axis=1), True),
    ("sum-axes-keepdims", lambda m: m.sum(m.asarray(F), axis=(0, -1), keepdims=True), True),
    ("sum-int8", lambda m: m.sum(m.asarray(I8)), True),
    ("sum-int8-axis", lambda m: m.sum(m.asarray(I8), axis=0), True),
    ("sum-uint8", lambda m: m.sum(m.asarray(U8)), True),
    ("sum-bool", lambda m: m.sum(m.asarray(B), axis=1), True),
    ("sum-dtype", lambda m: m.sum(m.asarray(I32), dtype=m.int8), False),
    ("sum-f16", lambda m: m.sum(m.asarray(F16)), True),
    ("sum-weak", lambda m: m.sum(weak(m, 2.0)), False),
    ("sum-python-scalar", lambda m: m.sum(3.0), False),
    ("sum-where", lambda m: m.sum(m.asarray(M), where=m.asarray(M) > 0), True),
    ("sum-initial", lambda m: m.sum(m.asarray(M), axis=0, initial=2.0), True),
    ("prod", lambda m: m.prod(m.asarray(M), axis=1), True),
    ("prod-int8", lambda m: m.prod(m.asarray(I8)), True),
    ("prod-bool", lambda m: m.prod(m.asarray(B)), False),
    ("max", lambda m: m.max(m.asarray(F), axis=2), True),
    ("max-int8", lambda m: m.max(m.asarray(I8)), True),
    ("max-bool", lambda m: m.max(m.asarray(B)), True),
    ("max-keepdims", lambda m: m.max(m.asarray(F), axis=(0, 2), keepdims=True), True),
    (
        "max-initial-where",
        lambda m: m.max(m.asarray(M), where=m.asarray(M) < 0, initial=-5.0),
        True,
    ),
    ("max-weak", lambda m: m.max(weak(m, 2.0)), False),
    ("amax", lambda m: m.amax(m.asarray(M), axis=0), True),
    ("min", lambda m: m.min(m.asarray(F), axis=0), True),
    ("amin", lambda m: m.amin(m.asarray(I32)), True),
    ("mean", lambda m: m.mean(m.asarray(F)), True),
    ("mean-axis", lambda m: m.mean(m.asarray(F), axis=(1, 2)), True),
    ("mean-int", lambda m: m.mean(m.asarray(I32), axis=1), True),
    ("mean-bool", lambda m: m.mean(m.asarray(B)), True),
    ("mean-f16", lambda m: m.mean(m.asarray(F16)), True),
    ("mean-weak", lambda m: m.mean(weak(m, 2.0)), False),
    ("mean-where", lambda m: m.mean(m.asarray(M), axis=1, where=m.asarray(M) > 0), True),
    ("mean-dtype-int", lambda m: m.mean(m.asarray(I32), dtype=m.int32), False),
    ("var", lambda m: m.var(m.asarray(F), axis=1), True),
    ("var-ddof", lambda m: m.var(m.asarray(M), ddof=1, keepdims=True), True),
    ("var-int8", lambda m: m.var(m.asarray(I8)), True),
    ("var-f16", lambda m: m.var(m.asarray(F16)), True),
    ("var-ddof-too-big", lambda m: m.var(m.asarray(V[:2]), ddof=2), False),
    ("var-where", lambda m: m.var(m.asarray(M), axis=0, where=m.asarray(M) > -1), True),
    ("std", lambda m: m.std(m.asarray(F), axis=(0, 1)), True),
    ("std-ddof", lambda m: m.std(m.asarray(V), ddof=1), True),
    ("all", lambda m: m.all(m.asarray(B), axis=1), True),
    ("all-int", lambda m: m.all(m.asarray(I8)), True),
    ("any", lambda m: m.any(m.asarray(B) & False), True),
    ("any-keepdims", lambda m: m.any(m.asarray(I32) > 10, axis=0, keepdims=True), True),
    ("argmax", lambda m: m.argmax(m.asarray(F)), True),
    ("argmax-axis", lambda m: m.argmax(m.asarray(F), axis=1), True),
    ("argmax-keepdims", lambda m: m.argmax(m.asarray(F), axis=-1, keepdims=True), True),
    ("argmax-ties", lambda m: m.argmax(m.asarray(TIES), axis=1), True),
    ("argmin", lambda m: m.argmin(m.asarray(M), axis=0), True),
    ("argmin-keepdims-none", lambda m: m.argmin(m.asarray(M), keepdims=True), True),
    ("cumsum", lambda m: m.cumsum(m.asarray(M)), True),
    ("cumsum-axis", lambda m: m.cumsum(m.asarray(M), axis=1), True),
    ("cumsum-int8", lambda m: m.cumsum(m.asarray(I8), axis=0), False),
    ("cumsum-bool", lambda m: m.cumsum(m.asarray(B)), True),
    ("cumsum-dtype", lambda m: m.cumsum(m.asarray(M), axis=0, dtype=m.int32), True),
    ("cumsum-weak", lambda m: m.cumsum(weak(m, 1.0), axis=1), False),
    ("cumprod", lambda m: m.cumprod(m.asarray(M), axis=0), True),
    ("cumprod-int8", lambda m: m.cumprod(m.asarray(I8), axis=1), False),
    # -- shapes --
    ("reshape-minus-one", lambda m: m.reshape(m.asarray(F), (4, -1)), True),
    ("reshape-int", lambda m: m.reshape(m.asarray(F), -1), True),
    ("reshape-F", lambda m: m.reshape(m.asarray(F), (6, 4), order="F"), True),
    ("reshape-weak", lambda m: m.reshape(weak(m, 1.0), (3, 2)), False),
    ("method-reshape-args", lambda m: m.asarray(F).reshape(6, -1), True),
    ("method-reshape-tuple", lambda m: m.asarray(F).reshape((3, 8)), True),
    ("ravel", lambda m: m.ravel(m.asarray(M)), True),
    ("ravel-F", lambda m: m.ravel(m.asarray(M), order="F"), True),
    ("expand_dims", lambda m: m.expand_dims(m.asarray(M), (0, -1)), True),
    ("expand_dims-int", lambda m: m.expand_dims(m.asarray(M), 1), True),
    ("squeeze", lambda m: m.squeeze(m.asarray(F[:1, :, :1])), True),
    ("squeeze-axis", lambda m: m.squeeze(m.asarray(F[:1, :, :1]), axis=-1), True),
    ("broadcast_to", lambda m: m.broadcast_to(m.asarray(V), (3, 4)), True),
    ("broadcast_to-weak", lambda m: m.broadcast_to(1.0, (2,)), False),
    ("broadcast_arrays", lambda m: m.broadcast_arrays(m.asarray(V), m.asarray(M[:, :1])), True),
    ("broadcast_arrays-weak", lambda m: m.broadcast_arrays(1.0, m.asarray(V)), False),
    ("broadcast_shapes", lambda m: m.broadcast_shapes((2, 1), (3,)), True),
    ("concatenate", lambda m: m.concatenate([m.asarray(M), m.asarray(M[:1])]), True),
    ("concatenate-axis", lambda m: m.concatenate([m.asarray(M), m.asarray(M)], axis=-1), True),
    ("concatenate-none", lambda m: m.concatenate([m.asarray(M), m.asarray(V)], axis=None), True),
    ("concatenate-promote", lambda m: m.concatenate([m.asarray(I8[0]), m.asarray(V)]), False),
    ("concatenate-weak", lambda m: m.concatenate([weak(m, 1.0), weak(m, 2.0)]), False),
    ("concatenate-weak-strong", lambda m: m.concatenate([weak(m, 1.0), m.ones((1, 3))]), False),
    ("stack", lambda m: m.stack([m.asarray(V), m.asarray(V)]), True),
    ("stack-axis", lambda m: m.stack([m.asarray(M), m.asarray(M)], axis=-1), True),
    ("stack-scalars", lambda m: m.stack([1.0, 2.0]), False),
    ("hstack", lambda m: m.hstack([m.asarray(V), m.asarray(V[:2])]), True),
    ("hstack-2d", lambda m: m.hstack([m.asarray(M), m.asarray(M)]), True),
    ("vstack", lambda m: m.vstack([m.asarray(V), m.asarray(V)]), True),
    ("dstack", lambda m: m.dstack([m.asarray(V), m.asarray(V)]), True),
    ("column_stack", lambda m: m.column_stack([m.asarray(V), m.asarray(V)]), True),
    ("split-int", lambda m: m.split(m.asarray(F), 2, axis=2), True),
    ("split-indices", lambda m: m.split(m.asarray(np.arange(6)), [1, 4]), True),
    ("split-indices-odd", lambda m: m.split(m.asarray(np.arange(6)), [4, 2, 9]), "np"),
    ("split-negative", lambda m: m.split(m.asarray(M), [-1], axis=1), "np"),
    ("array_split", lambda m: m.array_split(m.asarray(np.arange(7)), 3), True),
    ("tile", lambda m: m.tile(m.asarray(V), 2), True),
    ("tile-tuple", lambda m: m.tile(m.asarray(M), (2, 1, 2)), True),
    ("tile-scalar", lambda m: m.tile(3.0, (2, 2)), False),
    ("repeat", lambda m: m.repeat(m.asarray(M), 2), True),
    ("repeat-axis", lambda m: m.repeat(m.asarray(M), 2, axis=1), True),
    ("repeat-counts", lambda m: m.repeat(m.asarray(V), m.asarray([1, 0, 2, 3])), True),
    (
        "repeat-total",
        lambda m: m.repeat(m.asarray(V[:2]), m.asarray([1, 2]), total_repeat_length=5),
        False,
    ),
    ("repeat-weak", lambda m: m.repeat(weak(m, 1.0), 2), False),
    ("repeat-counts-weak", lambda m: m.repeat(weak(m, 1.0), m.asarray([1, 2, 0]), axis=1), False),
    ("flip", lambda m: m.flip(m.asarray(M)), True),
    ("flip-axis", lambda m: m.flip(m.asarray(F), axis=(0, 2)), True),
    ("fliplr", lambda m: m.fliplr(m.asarray(M)), True),
    ("flipud", lambda m: m.flipud(m.asarray(M)), True),
    ("swapaxes", lambda m: m.swapaxes(m.asarray(F), 0, -1), True),
    ("moveaxis", lambda m: m.moveaxis(m.asarray(F), (0, 1), (-1, 0)), True),
    ("transpose", lambda m: m.transpose(m.asarray(F)), True),
    ("transpose-axes", lambda m: m.transpose(m.asarray(F), (1, 0, 2)), True),
    ("atleast_1d", lambda m: m.atleast_1d(1.0), False),
    ("atleast_2d", lambda m: m.atleast_2d(m.asarray(V)), True),
    ("atleast_3d", lambda m: m.atleast_3d(m.asarray(V)), True),
    ("atleast_multi", lambda m: m.atleast_1d(m.asarray(2.0), m.asarray(M)), True),
    ("take", lambda m: m.take(m.asarray(M), m.asarray([0, 5, -1, -20])), False),
    ("take-axis", lambda m: m.take(m.asarray(M), m.asarray([[2, 0]]), axis=1), True),
    ("take-clip", lambda m: m.take(m.asarray(V), m.asarray([0, 5, -1, -4]), mode="clip"), False),
    ("take-wrap", lambda m: m.take(m.asarray(V), m.asarray([0, 5, -1, -6]), mode="wrap"), True),
    ("take-int", lambda m: m.take(m.asarray(I32), m.asarray([0, 50])), False),
    ("take-uint", lambda m: m.take(m.asarray(U8), m.asarray([0, 50])), False),
    ("take-bool", lambda m: m.take(m.asarray(B), m.asarray([0, 50])), False),
    ("take-scalar-index", lambda m: m.take(m.asarray(M), 4), True),
    ("take-weak", lambda m: m.take(weak(m, 1.0), m.asarray([0])), False),
    # -- products --
    ("matmul", lambda m: m.matmul(m.asarray(M), m.asarray(N)), True),
    ("matmul-op", lambda m: m.asarray(M) @ m.asarray(N), True),
    ("matmul-vec", lambda m: m.asarray(M) @ m.asarray(V), True),
    ("matmul-vec-left", lambda m: m.asarray(V) @ m.asarray(N), True),
    ("matmul-vec-vec", lambda m: m.asarray(V) @ m.asarray(V), True),
    ("matmul-batch", lambda m: m.matmul(m.asarray(F), m.asarray(N)), True),
    ("matmul-vec-batch", lambda m: m.matmul(m.asarray(M[0, :3]), m.asarray(F)), True),
    ("matmul-int8", lambda m: m.matmul(m.asarray(I8), m.asarray(I8.T)), False),
    ("matmul-promote", lambda m: m.matmul(m.asarray(I32), m.asarray(N)), True),
    ("matmul-weak", lambda m: weak(m, 2.0) @ weak(m, 3.0).T, False),
    ("rmatmul", lambda m: np.asarray(M) @ m.asarray(N), True),
    ("dot", lambda m: m.dot(m.asarray(M), m.asarray(N)), True),
    ("dot-vec", lambda m: m.dot(m.asarray(V), m.asarray(V)), True),
    ("dot-scalar", lambda m: m.dot(2.0, m.asarray(V)), True),
    ("dot-weak-scalars", lambda m: m.dot(2.0, 3.0), False),
    ("dot-nd", lambda m: m.dot(m.asarray(F), m.asarray(N[:, :2].reshape(2, 4, 1))), True),
    ("dot-method", lambda m: m.asarray(M).dot(m.asarray(V)), True),
    ("vdot", lambda m: m.vdot(m.asarray(M), m.asarray(M)), True),
    ("vdot-int", lambda m: m.vdot(m.asarray(I32), m.asarray(I32)), True),
    ("outer", lambda m: m.outer(m.asarray(V), m.asarray(M)), True),
    ("outer-promote", lambda m: m.outer(m.asarray(I8[0]), m.asarray(V)), False),
    ("inner", lambda m: m.inner(m.asarray(M), m.asarray(F)), True),
    ("inner-scalar", lambda m: m.inner(2.0, m.asarray(V)), True),
    ("tensordot", lambda m: m.tensordot(m.asarray(F), m.asarray(M)), True),
    ("tensordot-1", lambda m: m.tensordot(m.asarray(F), m.asarray(N), axes=1), True),
    (
        "tensordot-pairs",
        lambda m: m.tensordot(m.asarray(F), m.asarray(M), axes=([1, 2], [0, 1])),
        True,
    ),
    ("tensordot-weak", lambda m: m.tensordot(weak(m, 1.0), weak(m, 2.0), 2), False),
    ("einsum", lambda m: m.einsum("ij,jk->ik", m.asarray(M), m.asarray(N)), True),
    ("einsum-implicit", lambda m: m.einsum("ij,jk", m.asarray(M), m.asarray(N)), True),
    ("einsum-trace", lambda m: m.einsum("ii", m.asarray(SQ)), True),
    ("einsum-diag", lambda m: m.einsum("ii->i", m.asarray(SQ)), True),
    ("einsum-ellipsis", lambda m: m.einsum("...ij,...jk->...ik", m.asarray(F), m.asarray(N)), True),
    (
        "einsum-ellipsis-broadcast",
        lambda m: m.einsum("...j,...j->...", m.asarray(F), m.asarray(F[:1, :1])),
        True,
    ),
    (
        "einsum-three",
        lambda m: m.einsum("ij,jk,k->i", m.asarray(M), m.asarray(N), m.asarray(N[0])),
        True,
    ),
    ("einsum-int8", lambda m: m.einsum("ij,ij->", m.asarray(I8), m.asarray(I8)), False),
    ("einsum-weak", lambda m: m.einsum("ij,kj->ik", weak(m, 1.0), weak(m, 2.0)), False),
    ("trace", lambda m: m.trace(m.asarray(SQ)), True),
    ("trace-offset", lambda m: m.trace(m.asarray(M), offset=1), True),
    ("trace-axes", lambda m: m.trace(m.asarray(F), axis1=2, axis2=0), True),
    ("trace-int8", lambda m: m.trace(m.asarray(I8[:, :2])), True),
    ("trace-weak", lambda m: m.trace(weak(m, 1.0)), False),
    # -- creation --
    ("arange", lambda m: m.arange(5), True),
    ("arange-float", lambda m: m.arange(3.0), True),
    ("arange-step", lambda m: m.arange(0, 1, 0.1), True),
    ("arange-dtype", lambda m: m.arange(2, 9, 3, dtype=m.uint8), True),
    ("arange-negative", lambda m: m.arange(5, 1, -1), True),
    ("linspace", lambda m: m.linspace(0, 1, 7), True),
    ("linspace-no-endpoint", lambda m: m.linspace(0.0, 2.0, 5, endpoint=False), True),
    ("linspace-int", lambda m: m.linspace(-10, 10, 4, dtype=m.int32), False),
    ("linspace-retstep", lambda m: m.linspace(0, 1, 5, retstep=True), True),
    ("linspace-arrays", lambda m: m.linspace(m.asarray(V[:2]), 2.0, 3), True),
    ("linspace-axis", lambda m: m.linspace(m.asarray(V[:2]), 2.0, 3, axis=1), True),
    ("linspace-one", lambda m: m.linspace(2.0, 3.0, 1), True),
    ("eye", lambda m: m.eye(3), True),
    ("eye-rect", lambda m: m.eye(2, 4, k=-1, dtype=m.int32), True),
    ("identity", lambda m: m.identity(2, dtype=m.bool_), True),
    ("empty", lambda m: m.empty((2, 1)) * 0, False),
    ("zeros", lambda m: m.zeros((2, 3), m.int8), True),
    ("ones", lambda m: m.ones(3), True),
    ("full-weak", lambda m: m.full((2,), 3.0), False),
    ("full-array", lambda m: m.full((2, 2), m.asarray([1, 2])), True),
    ("full-dtype", lambda m: m.full((2,), 3.0, dtype=m.int32), True),
    ("zeros_like-weak", lambda m: m.zeros_like(weak(m, 1.0)), False),
    ("ones_like", lambda m: m.ones_like(m.asarray(I8)), True),
    ("full_like", lambda m: m.full_like(m.asarray(M), 2), True),
    ("full_like-weak", lambda m: m.full_like(weak(m, 1.0), 2), False),
    ("asarray-nested", lambda m: m.asarray([m.asarray(I8[0]), [1, 2, 3]]), False),
    ("array-scalar", lambda m: m.array(3.0), False),
    ("array-ndmin", lambda m: m.array([1.0, 2.0], ndmin=3), True),
    # -- methods --
    ("method-sum", lambda m: m.asarray(F).sum(axis=0), True),
    ("method-mean", lambda m: m.asarray(F).mean(1), True),
    ("method-prod", lambda m: m.asarray(M).prod(), True),
    ("method-max", lambda m: m.asarray(F).max(axis=1), True),
    ("method-min", lambda m: m.asarray(F).min(), True),
    ("method-argmax", lambda m: m.asarray(F).argmax(axis=0), True),
    ("method-argmin", lambda m: m.asarray(F).argmin(), True),
    ("method-var", lambda m: m.asarray(F).var(ddof=1), True),
    ("method-std", lambda m: m.asarray(F).std(axis=2), True),
    ("method-all", lambda m: m.asarray(B).all(axis=0), True),
    ("method-any", lambda m: m.asarray(B).any(), True),
    ("method-cumsum", lambda m: m.asarray(M).cumsum(axis=1), True),
    ("method-cumprod", lambda m: m.asarray(M).cumprod(), True),
    ("method-ravel", lambda m: m.asarray(M).ravel(), True),
    ("method-flatten", lambda m: m.asarray(M).flatten(), True),
    ("method-transpose", lambda m: m.asarray(F).transpose(), True),
    ("method-transpose-args", lambda m: m.asarray(F).transpose(2, 0, 1), True),
    ("method-transpose-tuple", lambda m: m.asarray(F).transpose((2, 0, 1)), True),
    ("method-T", lambda m: m.asarray(F).T, True),
    ("method-mT", lambda m: m.asarray(F).mT, True),
    ("method-squeeze", lambda m: m.asarray(F[:, :1]).squeeze(1), True),
    ("method-swapaxes", lambda m: m.asarray(F).swapaxes(1, 2), True),
    ("method-repeat", lambda m: m.asarray(V).repeat(3), True),
    ("method-astype", lambda m: m.asarray(M).astype(m.int32), True),
    ("method-astype-weak", lambda m: weak(m, 3.0).astype(m.float32), False),
    ("method-clip", lambda m: m.asarray(M).clip(-0.5, 0.5), True),
    ("method-clip-int", lambda m: m.asarray(I32).clip(2, 7), True),
    ("method-clip-min", lambda m: m.asarray(M).clip(0), True),
    (
        "method-round",
        lambda m: m.asarray(np.array([0.5, 1.5, 2.567, -2.5], np.float32)).round(),
        True,
    ),
    (
        "method-round-decimals",
        lambda m: m.asarray(np.array([0.125, 1.5, 2.567], np.float32)).round(2),
        True,
    ),
    ("method-round-int", lambda m: m.asarray(I8).round(), True),
    ("method-conj", lambda m: m.asarray(M).conj(), True),
    ("method-real", lambda m: m.asarray(M).real, True),
    ("method-imag", lambda m: m.asarray(M).imag, True),
    ("method-nbytes", lambda m: m.asarray(M).nbytes, True),
    ("method-itemsize", lambda m: m.asarray(I8).itemsize, True),
    ("method-trace", lambda m: m.asarray(SQ).trace(), True),
]


def _leaves(x):
    if isinstance(x, (list, tuple)):
        return [leaf for e in x for leaf in _leaves(e)]
    return [x]


def _check_close(got, expected, exact_ints=True):
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    if got.dtype.kind in "fc" or expected.dtype.kind in "fc":
        tol = 2e-3 if got.dtype == np.float16 else 2e-6
        np.testing.assert_allclose(
            got.astype(np.float64),
            expected.astype(np.float64),
            rtol=tol,
            atol=tol,
            equal_nan=True,
        )
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("case", [pytest.param(c[1], id=c[0]) for c in CASES if c[2]])
def test_against_numpy(case):
    got = case(pnp)
    expected = case(np)
    got_leaves, exp_leaves = _leaves(got), _leaves(expected)
    assert len(got_leaves) == len(exp_leaves)
    for g, e in zip(got_leaves, exp_leaves):
        if isinstance(g, Array):
            _check_close(g, e)
        else:
            assert g == e


@pytest.mark.parametrize("case", [pytest.param(c[1], id=c[0]) for c in CASES if c[2] != "np"])
def test_against_jax(case):
    jnp = pytest.importorskip("jax.numpy")
    got = case(pnp)
    expected = case(jnp)
    got_leaves, exp_leaves = _leaves(got), _leaves(expected)
    assert len(got_leaves) == len(exp_leaves)
    for g, e in zip(got_leaves, exp_leaves):
        if not hasattr(e, "dtype"):
            assert g == e
            continue
        assert isinstance(g, Array), f"got {type(g)}, expected an Array"
        assert g.dtype == e.dtype, f"dtype {g.dtype} != jax's {e.dtype}"
        assert g.weak_type == e.weak_type, f"weak_type {g.weak_type} != jax's {e.weak_type}"
        _check_close(g, e)


def test_printing_matches_jax():
    jnp = pytest.importorskip("jax.numpy")
    for case in (
        lambda m: m.sum(m.asarray(I8)),
        lambda m: m.mean(m.asarray(I32), axis=1),
        lambda m: m.arange(4),
        lambda m: m.eye(2),
        lambda m: m.full((2,), 3.0),
        lambda m: m.reshape(m.arange(6), (2, -1)),
        lambda m: m.take(m.asarray(np.array([1.0, 2.0], np.float32)), m.asarray([0, 9])),
    ):
        assert repr(case(pnp)) == repr(case(jnp))


# -- gradients against JAX ---------------------------------------------------------------------

X = rng.standard_normal((3, 4)).astype(np.float32)
WITH_ZERO = np.array(
    [[1.5, 0.0, 2.0, -1.0], [0.0, 2.0, 0.0, 3.0], [1.0, 2.0, 3.0, 4.0]], np.float32
)

GRAD_CASES = [
    ("sum", lambda m, x: m.sum(x * x), X),
    ("mean-axis", lambda m, x: m.sum(m.mean(x, axis=0) ** 2), X),
    ("max-ties", lambda m, x: m.sum(m.max(x, axis=1)), TIES),
    ("max-all-ties", lambda m, x: m.max(x), TIES),
    ("min-ties", lambda m, x: m.sum(m.min(x, axis=0) * m.asarray([1.0, 2.0, 3.0])), TIES),
    ("max-keepdims", lambda m, x: m.sum(m.sin(m.max(x, axis=0, keepdims=True)) * x), X),
    ("prod", lambda m, x: m.sum(m.prod(x, axis=1)), X),
    ("prod-zeros", lambda m, x: m.sum(m.prod(x, axis=1) * m.asarray([1.0, 2.0, 3.0])), WITH_ZERO),
    ("var", lambda m, x: m.sum(m.var(x, axis=1)), X),
    ("std-ddof", lambda m, x: m.std(x, ddof=1), X),
    ("cumsum", lambda m, x: m.sum(m.sin(m.cumsum(x, axis=1))), X),
    ("cumprod", lambda m, x: m.sum(m.cumprod(x, axis=1)), X),
    ("cumprod-zeros", lambda m, x: m.sum(m.cumprod(x, axis=1) * m.arange(4.0)), WITH_ZERO),
    ("reshape-F", lambda m, x: m.sum(m.reshape(x, (2, 6), order="F") * m.arange(6.0)), X),
    ("concatenate", lambda m, x: m.sum(m.concatenate([x, 2 * x[:1]]) ** 2), X),
    ("stack", lambda m, x: m.sum(m.stack([x, m.sin(x)], axis=1)[:, 1]), X),
    ("split", lambda m, x: m.sum(m.split(x, [1, 3], axis=1)[1] ** 2), X),
    ("tile", lambda m, x: m.sum(m.tile(x, (2, 1)) * m.arange(24.0).reshape(6, 4)), X),
    ("repeat", lambda m, x: m.sum(m.repeat(x, 2, axis=0) ** 2 * m.arange(4.0)), X),
    ("repeat-counts", lambda m, x: m.sum(m.repeat(x, m.asarray([2, 0, 1]), axis=0) ** 3), X),
    ("flip", lambda m, x: m.sum(m.flip(x, 1) * m.arange(4.0)), X),
    ("moveaxis", lambda m, x: m.sum(m.moveaxis(x, 0, 1) * m.arange(3.0)), X),
    ("take", lambda m, x: m.sum(m.take(x, m.asarray([0, 0, 2, -1]), axis=1) ** 2), X),
    ("take-clip", lambda m, x: m.sum(m.take(x, m.asarray([0, 9, -3]), mode="clip") ** 2), X),
    ("matmul", lambda m, x: m.sum(m.tanh(x @ m.asarray(N)) ** 2), X),
    ("matmul-vec", lambda m, x: m.sum((x @ m.asarray(V)) ** 2), X),
    ("matmul-batch", lambda m, x: m.sum(m.matmul(m.stack([x, x]), m.asarray(N)) ** 2), X),
    ("dot", lambda m, x: m.dot(x[0], x[1]), X),
    ("tensordot", lambda m, x: m.sum(m.tensordot(x, m.asarray(M), axes=([0], [0])) ** 2), X),
    ("einsum", lambda m, x: m.sum(m.einsum("ij,ik->jk", x, x) ** 2), X),
    ("einsum-diag", lambda m, x: m.sum(m.einsum("ii->i", x[:, :3]) ** 2), X),
    ("trace", lambda m, x: m.trace(x, offset=1) ** 2, X),
    ("outer", lambda m, x: m.sum(m.outer(x[0], x[1]) ** 2), X),
    ("linspace", lambda m, x: m.sum(m.linspace(x[0, 0], x[0, 1], 5) ** 2), X),
    ("full", lambda m, x: m.sum(m.full((2, 4), x[0]) * m.arange(4.0)), X),
    ("clip", lambda m, x: m.sum(x.clip(-0.5, 0.5) ** 2), X),
    ("asarray-of-tracers", lambda m, x: m.sum(m.asarray([x[0, 0], 2.0, x[1, 1]]) ** 3), X),
    (
        "array-nested-tracers",
        lambda m, x: m.sum(m.array([[x[0, 0], x[0, 1]], [1.0, x[2, 2]]]) ** 2),
        X,
    ),
    ("sum-where", lambda m, x: m.sum(x**2, where=x > 0), X),
    ("mean-where", lambda m, x: m.sum(m.mean(m.sin(x), axis=0, where=x < 0.5)), X),
    ("max-initial", lambda m, x: m.sum(m.max(x, axis=1, initial=0.3)), X),
]


@pytest.mark.parametrize("case,x", [pytest.param(c[1], c[2], id=c[0]) for c in GRAD_CASES])
def test_grad_against_jax(case, x):
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    got = pullback.grad(lambda v: case(pnp, v))(pnp.asarray(x))
    expected = jax.grad(lambda v: case(jnp, v))(jnp.asarray(x))
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=2e-5, atol=2e-5)


def test_second_order_through_reductions():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")

    def f(m, x):
        return m.sum(m.var(x, axis=0) * m.max(x, axis=1)[:, None] * m.cumsum(x, axis=1))

    x = X[:, :3]

    def h_pullback(v):
        return pullback.grad(lambda w: f(pnp, w))(v)

    def h_jax(v):
        return jax.grad(lambda w: f(jnp, w))(v)

    got = pullback.grad(lambda v: pnp.sum(h_pullback(v) ** 2))(pnp.asarray(x))
    expected = jax.grad(lambda v: jnp.sum(h_jax(v) ** 2))(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-4, atol=1e-4)


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,error",
    [
        (lambda: pnp.reshape(pnp.ones(6), (4, -1)), TypeError),
        (lambda: pnp.reshape(pnp.ones(6), (4,)), TypeError),
        (lambda: pnp.reshape(pnp.ones(6), (-1, -1)), ValueError),
        (lambda: pnp.split(pnp.ones(7), 3), ValueError),
        (lambda: pnp.squeeze(pnp.ones((2, 1)), axis=0), ValueError),
        (lambda: pnp.max(pnp.zeros(0)), ValueError),
        (lambda: pnp.max(pnp.ones(3), where=pnp.ones(3) > 0), ValueError),
        (lambda: pnp.argmax(pnp.zeros(0)), ValueError),
        (lambda: pnp.matmul(1.0, pnp.ones(3)), ValueError),
        (lambda: pnp.matmul(pnp.ones((2, 3)), pnp.ones((2, 3))), TypeError),
        (lambda: pnp.sum(pnp.ones(3), axis=1), ValueError),
        (lambda: pnp.concatenate([pnp.ones(2), pnp.ones((2, 2))]), ValueError),
        (lambda: pnp.concatenate([pnp.ones(()), pnp.ones(())]), ValueError),
        (lambda: pnp.broadcast_to(pnp.ones(3), (2,)), ValueError),
        (lambda: pnp.einsum("ij,jk->ik", pnp.ones((2, 3)), pnp.ones((2, 3))), ValueError),
        (lambda: pnp.sum(pnp.ones(3), out=pnp.ones(())), NotImplementedError),
    ],
)
def test_errors(call, error):
    with pytest.raises(error):
        call()


def test_reshape_keeps_weak_type_and_values():
    x = pnp.full((2, 3), 1.5)
    y = x.reshape(-1)
    assert y.weak_type and y.shape == (6,)
    np.testing.assert_array_equal(np.asarray(y), np.full(6, 1.5, np.float32))


def test_take_default_mode_is_fill():
    out = pnp.take(pnp.asarray(np.array([1.0, 2.0, 3.0], np.float32)), pnp.asarray([0, -1, 3, -4]))
    np.testing.assert_array_equal(np.asarray(out), np.array([1.0, 3.0, np.nan, np.nan], np.float32))


def test_max_ties_share_the_gradient():
    g = pullback.grad(lambda x: pnp.max(x))(pnp.asarray(np.array([1.0, 3.0, 2.0, 3.0], np.float32)))
    np.testing.assert_array_equal(np.asarray(g), np.array([0.0, 0.5, 0.0, 0.5], np.float32))


def test_prod_gradient_with_zeros():
    x = np.array([1.0, 0.0, 2.0, 3.0], np.float32)
    g = pullback.grad(lambda v: pnp.prod(v))(pnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(g), np.array([0.0, 6.0, 0.0, 0.0], np.float32))
    x2 = np.array([1.0, 0.0, 2.0, 0.0], np.float32)
    g2 = pullback.grad(lambda v: pnp.prod(v))(pnp.asarray(x2))
    np.testing.assert_array_equal(np.asarray(g2), np.zeros(4, np.float32))


def test_cumprod_gradient_with_zeros():
    x = np.array([1.0, 0.0, 2.0, 3.0], np.float32)
    g = pullback.grad(lambda v: pnp.sum(pnp.cumprod(v)))(pnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(g), np.array([1.0, 9.0, 0.0, 0.0], np.float32))


def test_split_pieces_and_gradient_of_unused_pieces():
    x = pnp.arange(6.0)
    pieces = pnp.split(x, [2, 5])
    assert [p.shape for p in pieces] == [(2,), (3,), (1,)]
    g = pullback.grad(lambda v: pnp.sum(pnp.split(v, [2, 5])[1]))(x)
    np.testing.assert_array_equal(np.asarray(g), np.array([0, 0, 1, 1, 1, 0], np.float32))
