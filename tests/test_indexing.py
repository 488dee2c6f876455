"""Indexing: ``x[idx]``, ``x.at[idx].<op>``, ``take_along_axis``.

Values against NumPy, out-of-bounds behaviour, gradients against float64 central differences,
and (when JAX is installed) values, dtypes, weak types and gradients against ``jax.numpy``.
"""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback._config import enable_x64
from pullback._core import Array

X = np.arange(60, dtype=np.float32).reshape(3, 4, 5)


def _np(x):
    return np.asarray(x)


# -- values against NumPy (in-bounds indices) ----------------------------------------------------

INDEX_CASES = {
    "int": lambda m: 1,
    "negative-int": lambda m: -1,
    "tuple-ints": lambda m: (2, 3),
    "all-ints": lambda m: (2, 3, 4),
    "slice": lambda m: slice(1, 3),
    "negative-step": lambda m: (slice(None), slice(None, None, -1)),
    "negative-step-bounds": lambda m: (slice(None), slice(3, 0, -2)),
    "past-start": lambda m: (slice(None), slice(-2, None, -1)),
    "empty-slice": lambda m: slice(2, 1),
    "step": lambda m: (Ellipsis, slice(None, None, 2)),
    "ellipsis-int": lambda m: (Ellipsis, 0),
    "int-ellipsis": lambda m: (0, Ellipsis),
    "ellipsis-middle": lambda m: (0, Ellipsis, 1),
    "newaxis": lambda m: (None, 1),
    "newaxes": lambda m: (slice(None), None, 0, None),
    "empty-tuple": lambda m: (),
    "ellipsis-only": lambda m: Ellipsis,
    "array": lambda m: m.array([2, 0, 1, 0]),
    "negative-array": lambda m: m.array([-1, -3]),
    "2d-array": lambda m: m.array([[0, 1], [2, 2]]),
    "array-and-slice": lambda m: (slice(None), m.array([3, 0])),
    "array-and-int": lambda m: (m.array([0, 2]), 1),
    "separated-advanced": lambda m: (m.array([0, 2]), slice(None), m.array([1, 4])),
    "int-separated": lambda m: (0, slice(None), m.array([1, 4])),
    "broadcast-arrays": lambda m: (m.array([[0], [2]]), m.array([1, 3, 0])),
    "array-newaxis": lambda m: (m.array([1, 0]), None, slice(1, 3)),
    "ellipsis-array": lambda m: (Ellipsis, m.array([4, 0])),
    "list-in-tuple": lambda m: ([0, 2],),
    "tuple-in-tuple": lambda m: ((0, 2), 1),
    "mask-1d": lambda m: m.array([True, False, True]),
    "mask-2d": lambda m: m.asarray(np.arange(12).reshape(3, 4) % 3 == 0),
    "mask-full": lambda m: m.asarray(X > 40),
    "mask-after-slice": lambda m: (slice(None), m.array([True, False, True, False])),
    "mask-and-array": lambda m: (m.array([2, 0]), m.array([True, False, False, True])),
    "scalar-true": lambda m: True,
    "scalar-false": lambda m: False,
    "int-true": lambda m: (0, True),
    "array-true": lambda m: (m.array([0, 1]), True),
    "0d-array": lambda m: m.array(2),
    "numpy-int": lambda m: np.int64(1),
    "numpy-array": lambda m: np.array([1, 0]),
    "uint8-array": lambda m: m.array([1, 2], dtype=np.uint8),
    "slice-with-array-bounds": lambda m: slice(m.array(1), m.array(3)),
}


@pytest.mark.parametrize("name", sorted(INDEX_CASES))
def test_getitem_matches_numpy(name):
    idx_fn = INDEX_CASES[name]
    expected = X[idx_fn(np)]
    got = pnp.asarray(X)[idx_fn(pnp)]
    assert isinstance(got, Array)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(_np(got), expected)


def test_getitem_full_slice_returns_operand():
    x = pnp.asarray(X)
    assert x[:] is x
    assert x[...] is x


def test_iteration_uses_getitem():
    rows = list(pnp.array([[1.0, 2.0], [3.0, 4.0]]))
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]


# -- out of bounds -------------------------------------------------------------------------------


def test_out_of_bounds_reads_clamp():
    x = pnp.array([10.0, 20.0, 30.0])
    assert float(x[10]) == 30.0
    assert float(x[-10]) == 10.0
    assert _np(x[pnp.array([5, -7, -1, 1])]).tolist() == [30.0, 10.0, 30.0, 20.0]
    assert float(x[pnp.array(7)]) == 30.0


def test_out_of_bounds_reads_fill():
    x = pnp.array([10.0, 20.0, 30.0])
    got = _np(x.at[pnp.array([0, 5, -4])].get(mode="fill"))
    assert got[0] == 10.0 and np.isnan(got[1]) and np.isnan(got[2])
    assert _np(x.at[pnp.array([5])].get(mode="fill", fill_value=-1.0)).tolist() == [-1.0]
    assert _np(x.at[5].get(mode="fill", fill_value=7)).tolist() == 7.0
    i = pnp.arange(3)
    assert _np(i.at[pnp.array([3])].get(mode="fill")).tolist() == [np.iinfo(np.int32).min]
    u8 = pnp.arange(3, dtype=np.uint8)
    assert _np(u8.at[pnp.array([3])].get(mode="fill")).tolist() == [255]


def test_out_of_bounds_updates_drop():
    x = pnp.array([1.0, 2.0, 3.0])
    assert _np(x.at[10].set(9.0)).tolist() == [1.0, 2.0, 3.0]
    assert _np(x.at[-4].set(9.0)).tolist() == [1.0, 2.0, 3.0]
    assert _np(x.at[-3].set(9.0)).tolist() == [9.0, 2.0, 3.0]
    assert _np(x.at[pnp.array([10, -10, -1])].set(7.0)).tolist() == [1.0, 2.0, 7.0]
    assert _np(x.at[pnp.array([3, 0])].add(1.0)).tolist() == [2.0, 2.0, 3.0]
    assert _np(x.at[pnp.array([3, 0])].add(1.0, mode="clip")).tolist() == [2.0, 2.0, 4.0]


def test_empty_dimension_index_raises():
    with pytest.raises(IndexError, match="out of bounds"):
        pnp.zeros(0)[0]


# -- .at[] ---------------------------------------------------------------------------------------


def test_at_duplicates_accumulate():
    x = pnp.zeros(4)
    idx = pnp.array([0, 2, 0, 0])
    assert _np(x.at[idx].add(1.0)).tolist() == [3.0, 0.0, 1.0, 0.0]
    assert _np(pnp.ones(4).at[idx].multiply(2.0)).tolist() == [8.0, 1.0, 2.0, 1.0]
    vals = pnp.array([5.0, -1.0, 3.0, 7.0])
    assert _np(x.at[idx].max(vals)).tolist() == [7.0, 0.0, 0.0, 0.0]
    assert _np(x.at[idx].min(vals)).tolist() == [0.0, 0.0, -1.0, 0.0]
    # set: the last update wins, as in JAX on CPU
    assert _np(x.at[idx].set(vals)).tolist() == [7.0, 0.0, -1.0, 0.0]


def test_at_methods():
    x = pnp.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(_np(x.at[0].set(0.0)), [[0, 0], [3, 4]])
    np.testing.assert_array_equal(_np(x.at[:, 1].add(1.0)), [[1, 3], [3, 5]])
    np.testing.assert_array_equal(_np(x.at[1, 1].subtract(1.0)), [[1, 2], [3, 3]])
    np.testing.assert_array_equal(_np(x.at[0].multiply(2.0)), [[2, 4], [3, 4]])
    np.testing.assert_array_equal(_np(x.at[0].mul(2.0)), [[2, 4], [3, 4]])
    np.testing.assert_array_equal(_np(x.at[0].divide(2.0)), [[0.5, 1], [3, 4]])
    np.testing.assert_array_equal(_np(x.at[1].power(2)), [[1, 2], [9, 16]])
    np.testing.assert_array_equal(_np(x.at[0].min(1.5)), [[1, 1.5], [3, 4]])
    np.testing.assert_array_equal(_np(x.at[0].max(1.5)), [[1.5, 2], [3, 4]])
    np.testing.assert_array_equal(_np(x.at[x > 2].set(0.0)), [[1, 2], [0, 0]])
    np.testing.assert_array_equal(_np(x.at[..., 0].apply(lambda v: v * 10)), [[10, 2], [30, 4]])
    np.testing.assert_array_equal(_np(x.at[1].get()), [3, 4])
    kwargs = {"indices_are_sorted": True, "unique_indices": True, "mode": "drop"}
    np.testing.assert_array_equal(_np(x.at[0].set(5.0, **kwargs)), [[5, 5], [3, 4]])


def test_at_apply_repeats_per_occurrence():
    x = pnp.zeros(3)
    assert _np(x.at[pnp.array([0, 0, 2])].apply(lambda v: v + 1)).tolist() == [2.0, 0.0, 1.0]


def test_at_broadcasts_values():
    x = pnp.zeros((2, 3))
    np.testing.assert_array_equal(_np(x.at[:, 1:].set(pnp.array([1.0, 2.0]))), [[0, 1, 2]] * 2)
    with pytest.raises(ValueError, match="fewer dimensions"):
        x.at[0].set(pnp.ones((1, 3)))
    with pytest.raises(ValueError, match="broadcasting"):
        x.at[0].set(pnp.ones(2))


def test_at_keeps_dtype_and_weak_type():
    i = pnp.arange(3)
    out = i.at[0].set(2.7)
    assert out.dtype == np.int32 and _np(out).tolist() == [2, 1, 2]
    # promotion happens before the scatter, the result is converted back (as in JAX)
    out = i.at[pnp.array([0, 0])].add(pnp.array([0.6, 0.6]))
    assert _np(out).tolist() == [1, 1, 2]
    assert pnp.arange(3).at[0].divide(2).dtype == np.float32
    w = pb.grad(lambda x: x[None][0])(2.0)
    assert w.weak_type


def test_at_repr():
    x = pnp.array([1.0])
    assert repr(x.at) == "_IndexUpdateHelper(Array([1.], dtype=float32))"
    assert repr(x.at[0]) == "_IndexUpdateRef(Array([1.], dtype=float32), 0)"


def test_unknown_mode():
    x = pnp.zeros(3)
    with pytest.raises(ValueError, match="Unknown gather mode"):
        x.at[0].get(mode="bogus")
    with pytest.raises(ValueError, match="Unknown scatter mode"):
        x.at[0].set(1.0, mode="bogus")


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "idx, exc, match",
    [
        ((0, 0, 0, 0), IndexError, "Too many indices"),
        ((Ellipsis, Ellipsis), IndexError, "single ellipsis"),
        (slice(None, None, 0), ValueError, "step cannot be zero"),
        (1.5, TypeError, "integer or boolean"),
        ("a", TypeError, "String indexing"),
        ([0, 1], TypeError, "non-tuple sequence"),
        (np.array([True, False]), IndexError, "boolean index did not match"),
    ],
)
def test_index_errors(idx, exc, match):
    with pytest.raises(exc, match=match):
        pnp.asarray(X)[idx]


def test_float_array_index_raises():
    with pytest.raises(TypeError, match="integer or boolean"):
        pnp.arange(3.0)[pnp.array([1.0])]


def test_0d_indexing_raises():
    with pytest.raises(IndexError, match="0-dimensional"):
        pnp.float32(1.0)[0]


# -- take_along_axis -----------------------------------------------------------------------------


def test_take_along_axis_matches_numpy():
    a = np.array([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]], np.float32)
    idx = np.argsort(a, axis=1)
    np.testing.assert_array_equal(
        _np(pnp.take_along_axis(pnp.asarray(a), pnp.asarray(idx), axis=1)),
        np.take_along_axis(a, idx, axis=1),
    )
    idx0 = np.array([[1, 0, 1]])
    np.testing.assert_array_equal(
        _np(pnp.take_along_axis(a, idx0, axis=0)), np.take_along_axis(a, idx0, axis=0)
    )
    flat = np.array([4, 0])
    np.testing.assert_array_equal(
        _np(pnp.take_along_axis(a, flat, axis=None)), np.take_along_axis(a, flat, axis=None)
    )
    got = _np(pnp.take_along_axis(a, np.array([[0, 5]]), axis=1))
    assert np.isnan(got[:, 1]).all()
    with pytest.raises(ValueError, match="same number of dimensions"):
        pnp.take_along_axis(a, np.array([1, 0]), axis=1)


# -- gradients against central differences -------------------------------------------------------


def _numeric_grad(f, x, eps=1e-6):
    x = np.array(x, np.float64)
    g = np.zeros_like(x)
    for pos in np.ndindex(*x.shape):
        plus, minus = x.copy(), x.copy()
        plus[pos] += eps
        minus[pos] -= eps
        g[pos] = (float(f(plus)) - float(f(minus))) / (2 * eps)
    return g


def _check_grad(f, *args, argnum=0):
    with enable_x64(True):
        args = [np.asarray(a, np.float64) for a in args]

        def f_k(v):
            full = [pnp.asarray(a) for a in args]
            full[argnum] = pnp.asarray(v)
            return f(*full)

        got = np.asarray(pb.grad(f, argnums=argnum)(*[pnp.asarray(a) for a in args]))
        np.testing.assert_allclose(got, _numeric_grad(f_k, args[argnum]), rtol=1e-6, atol=1e-8)


_W = np.random.default_rng(0).standard_normal(256)


def _weighted(y):
    y = pnp.ravel(y) if hasattr(pnp, "ravel") else y.reshape(-1)
    return pnp.sum(y * pnp.asarray(_W[: y.shape[0]]))


@pytest.mark.parametrize(
    "name", [n for n in sorted(INDEX_CASES) if not n.startswith("scalar-false")]
)
def test_getitem_gradient(name):
    idx_fn = INDEX_CASES[name]
    x = np.random.default_rng(1).standard_normal((3, 4, 5))
    idx = idx_fn(pnp)
    if name.startswith("mask-full"):
        idx = pnp.asarray(x > 0.5)
    _check_grad(lambda v: _weighted(pnp.sin(v)[idx] * 1.5), x)


def test_gradient_of_clamped_read():
    # as in JAX: a clamped out-of-bounds read of an index array gets no gradient...
    g = pb.grad(lambda x: pnp.sum(x[pnp.array([5, -1, 0, 0])] * pnp.array([1.0, 2, 3, 4])))
    assert _np(g(pnp.array([1.0, 2.0, 3.0]))).tolist() == [7.0, 0.0, 2.0]
    # ...unless mode="clip" is asked for; a static int index is clamped before the read
    g = pb.grad(lambda x: pnp.sum(x.at[pnp.array([5, 0])].get(mode="clip") * pnp.array([1.0, 2])))
    assert _np(g(pnp.array([1.0, 2.0, 3.0]))).tolist() == [2.0, 0.0, 1.0]
    assert _np(pb.grad(lambda x: x[10])(pnp.array([1.0, 2.0, 3.0]))).tolist() == [0.0, 0.0, 1.0]


AT_CASES = {
    "set": lambda x, v, i: x.at[i].set(v),
    "add": lambda x, v, i: x.at[i].add(v),
    "subtract": lambda x, v, i: x.at[i].subtract(v),
    "min": lambda x, v, i: x.at[i].min(v),
    "max": lambda x, v, i: x.at[i].max(v),
    "multiply-unique": lambda x, v, i: x.at[pnp.array([4, 1, 2])].multiply(v, unique_indices=True),
    "divide-unique": lambda x, v, i: x.at[pnp.array([4, 1, 2])].divide(v, unique_indices=True),
    "set-clip": lambda x, v, i: x.at[i].set(v, mode="clip"),
    "add-clip": lambda x, v, i: x.at[i].add(v, mode="clip"),
}


@pytest.mark.parametrize("name", sorted(AT_CASES))
@pytest.mark.parametrize("argnum", [0, 1])
def test_at_gradient(name, argnum):
    op = AT_CASES[name]
    rng = np.random.default_rng(2)
    x = rng.standard_normal(5)
    v = rng.uniform(0.5, 1.5, 3) * np.array([1.0, -1.0, 1.0])
    i = pnp.array([1, 9, 1]) if "clip" in name else pnp.array([1, 3, 1])

    _check_grad(lambda a, b: _weighted(op(a, b, i) ** 2), x, v, argnum=argnum)


def test_at_basic_index_gradients():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4))
    v = rng.standard_normal((2, 2))
    for op in ("set", "add", "multiply", "min", "max"):
        f = lambda a, b, op=op: _weighted(getattr(a.at[1:, ::-2], op)(b) ** 2)
        _check_grad(f, x, v, argnum=0)
        _check_grad(f, x, v, argnum=1)


def test_scatter_mul_updates_gradient_needs_unique_indices():
    f = lambda x, v: pnp.sum(x.at[pnp.array([0, 0])].multiply(v))
    with pytest.raises(NotImplementedError, match="unique_indices=True"):
        pb.grad(f, argnums=1)(pnp.ones(3), pnp.ones(2))
    # the operand's gradient is defined anyway
    assert _np(pb.grad(f)(pnp.ones(3), pnp.full(2, 2.0))).tolist() == [4.0, 1.0, 1.0]


def test_set_gradient_goes_to_the_winning_update():
    f = lambda x, v: pnp.sum(x.at[pnp.array([0, 0, 2])].set(v) * pnp.array([1.0, 2.0, 3.0]))
    gx, gv = pb.grad(f, argnums=(0, 1))(pnp.ones(3), pnp.ones(3))
    assert _np(gx).tolist() == [0.0, 2.0, 0.0]
    assert _np(gv).tolist() == [0.0, 1.0, 3.0]


def test_extremal_ties_share_the_gradient():
    f = lambda x, v: pnp.sum(x.at[pnp.array([0, 0, 2])].max(v) * pnp.array([1.0, 2.0, 3.0]))
    gx, gv = pb.grad(f, argnums=(0, 1))(pnp.array([1.0, 2.0, 3.0]), pnp.array([1.0, 1.0, 3.0]))
    np.testing.assert_allclose(_np(gx), [1 / 3, 2.0, 1.5], rtol=1e-6)
    np.testing.assert_allclose(_np(gv), [1 / 3, 1 / 3, 1.5], rtol=1e-6)


def test_second_order_through_gather_and_scatter():
    def inner(y):
        z = y.at[pnp.array([0, 0, 1])].add(y[pnp.array([1, 1, 0])] ** 2)
        return pnp.sum(pnp.sin(z) * z[::-1])

    def outer(x):
        return pnp.sum(pb.grad(inner)(x) ** 2)

    x = np.array([0.3, -0.7])
    _check_grad(outer, x)
    _check_grad(
        lambda y: pnp.sum(
            pb.grad(
                lambda z: _weighted(
                    pnp.take_along_axis(z, pnp.array([[2, 0], [1, 1]]), axis=1) ** 3
                )
            )(y)
            ** 2
        ),
        np.arange(6.0).reshape(2, 3),
    )


def test_index_from_traced_computation():
    def f(x):
        i = pnp.argmax(x)
        return x[i] * 2 + x.at[i].set(0.0).sum()

    np.testing.assert_allclose(_np(pb.grad(f)(pnp.array([1.0, 5.0, 2.0]))), [1.0, 2.0, 1.0])


# -- against JAX ---------------------------------------------------------------------------------


def _jax():
    jax = pytest.importorskip("jax")
    return jax, jax.numpy


def _same(got, expected, rtol=1e-6):
    assert tuple(got.shape) == tuple(expected.shape)
    assert np.dtype(got.dtype) == np.dtype(expected.dtype)
    assert got.weak_type == expected.weak_type
    np.testing.assert_allclose(
        np.asarray(got, np.float64), np.asarray(expected, np.float64), rtol=rtol, equal_nan=True
    )


@pytest.mark.parametrize("name", sorted(INDEX_CASES))
def test_getitem_matches_jax(name):
    _, jnp = _jax()
    idx_fn = INDEX_CASES[name]
    _same(pnp.asarray(X)[idx_fn(pnp)], jnp.asarray(X)[idx_fn(jnp)])


OOB_CASES = {
    "static-high": lambda m: 10,
    "static-low": lambda m: -10,
    "array-high": lambda m: m.array([7, -9, 2]),
    "2d-high": lambda m: (m.array([[5], [-1]]), slice(None), m.array([9, 0])),
}


@pytest.mark.parametrize("name", sorted(OOB_CASES))
def test_out_of_bounds_matches_jax(name):
    jax, jnp = _jax()
    idx_fn = OOB_CASES[name]
    _same(pnp.asarray(X)[idx_fn(pnp)], jnp.asarray(X)[idx_fn(jnp)])
    for mode in ("fill", "clip"):
        _same(
            pnp.asarray(X).at[idx_fn(pnp)].get(mode=mode),
            jnp.asarray(X).at[idx_fn(jnp)].get(mode=mode),
        )
    for op in ("set", "add", "multiply", "min", "max"):
        _same(
            getattr(pnp.asarray(X).at[idx_fn(pnp)], op)(2.0),
            getattr(jnp.asarray(X).at[idx_fn(jnp)], op)(2.0),
        )


AT_JAX_CASES = {
    "set-dup": (lambda m: m.array([0, 0, 2]), "set"),
    "add-dup": (lambda m: m.array([0, 0, 2]), "add"),
    "max-dup": (lambda m: m.array([0, 0, 2]), "max"),
    "min-dup": (lambda m: m.array([0, 0, 2]), "min"),
    "subtract": (lambda m: m.array([0, 1, 2]), "subtract"),
    "add-oob": (lambda m: m.array([0, 5, -1]), "add"),
}


@pytest.mark.parametrize("name", sorted(AT_JAX_CASES))
def test_at_and_gradients_match_jax(name):
    jax, jnp = _jax()
    idx_fn, op = AT_JAX_CASES[name]
    x = np.array([1.0, 2.0, 3.0], np.float32)
    v = np.array([4.0, 1.0, 3.0], np.float32)
    w = np.array([1.0, 2.0, 3.0], np.float32)

    def f(m, g):
        return lambda a, b: m.sum(getattr(a.at[idx_fn(m)], op)(b) * w)

    _same(
        getattr(pnp.asarray(x).at[idx_fn(pnp)], op)(v),
        getattr(jnp.asarray(x).at[idx_fn(jnp)], op)(v),
    )
    got = pb.grad(f(pnp, pb), argnums=(0, 1))(x, v)
    expected = jax.grad(f(jnp, jax), argnums=(0, 1))(x, v)
    for a, b in zip(got, expected):
        _same(a, b)


@pytest.mark.parametrize(
    "x, op, v",
    [
        (np.arange(3, dtype=np.int32), "set", 2.7),
        (np.arange(3, dtype=np.int32), "add", 2.7),
        (np.arange(3, dtype=np.int32), "divide", 2),
        (np.arange(3, dtype=np.int32), "power", 2),
        (np.arange(3, dtype=np.float16), "add", 1.0),
        (np.arange(3, dtype=np.uint8), "subtract", 1),
        (np.array([True, False, True]), "set", False),
    ],
)
def test_at_dtypes_match_jax(x, op, v):
    import warnings

    _, jnp = _jax()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = getattr(jnp.asarray(x).at[1], op)(v)
    _same(getattr(pnp.asarray(x).at[1], op)(v), expected)


def test_take_along_axis_matches_jax():
    _, jnp = _jax()
    a = np.array([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]], np.float32)
    for idx, axis in [
        (np.array([[0], [1]]), 1),
        (np.array([[0, 2, 5]]), 1),
        (np.array([[1, 0, 1]]), 0),
        (np.array([[1], [-1]]), -1),
    ]:
        _same(pnp.take_along_axis(a, idx, axis), jnp.take_along_axis(a, idx, axis))
