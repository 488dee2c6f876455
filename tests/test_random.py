"""``pullback.random`` against JAX: keys, bit patterns, samplers, errors, and the samplers under
``jit``, ``vmap``, ``scan`` and ``grad``.

Literal expected values were obtained from JAX 0.10.2 (``jax_threefry_partitionable`` on, its
default), so the first group of tests fails without JAX installed too. The differential tests
compare with JAX directly: exactly for what is computed with exact arithmetic, to float
tolerance (or a few ulps) where transcendental functions are applied.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import pullback
import pullback.numpy as jnp
from pullback import lax, random
from pullback._config import enable_x64
from pullback._ops import prng


@pytest.fixture
def jr():
    """JAX's ``jax.random`` (tests that use it are skipped without JAX)."""
    pytest.importorskip("jax")
    import jax.random

    return jax.random


@pytest.fixture
def jax_mod():
    return pytest.importorskip("jax")


def _np(x):
    return np.asarray(x)


# -- literal values from JAX ---------------------------------------------------------------------


def test_threefry_known_answers():
    # the Random123 known-answer vectors for Threefry-2x32 with 20 rounds
    k1 = np.array([0, 0xFFFFFFFF, 0x13198A2E], np.uint32)
    k2 = np.array([0, 0xFFFFFFFF, 0x03707344], np.uint32)
    x1 = np.array([0, 0xFFFFFFFF, 0x243F6A88], np.uint32)
    x2 = np.array([0, 0xFFFFFFFF, 0x85A308D3], np.uint32)
    y1, y2 = prng.threefry2x32(k1, k2, x1, x2)
    assert _np(y1).tolist() == [0x6B200159, 0x1CB996FC, 0xC4923A9C]
    assert _np(y2).tolist() == [0x99BA4EFE, 0xBB002BE7, 0x483DF7A0]


def test_threefry_chunks_and_threads_do_not_change_values():
    n = (1 << 18) + 12345  # several chunks, more than one thread's share
    lo = np.arange(n, dtype=np.uint32)
    a, b = prng.threefry_raw(np.uint32(3), np.uint32(4), np.uint32(0), lo)
    pick = np.array([0, 1, 77777, n - 1])
    sa, sb = prng.threefry_raw(np.uint32(3), np.uint32(4), np.uint32(0), lo[pick])
    assert (a[pick] == sa).all() and (b[pick] == sb).all()


def test_keys_literal():
    key = random.PRNGKey(42)
    assert repr(key) == "Array([ 0, 42], dtype=uint32)"
    assert _np(random.split(key, 3)).tolist() == [
        [1832780943, 270669613],
        [64467757, 2916123636],
        [2465931498, 255383827],
    ]
    assert _np(random.fold_in(key, 7)).tolist() == [2547012911, 1371500959]
    assert _np(random.key_data(random.split(random.key(42)))).tolist() == [
        [1832780943, 270669613],
        [64467757, 2916123636],
    ]


@pytest.mark.parametrize(
    "seed,x32,x64",
    [
        (0, [0, 0], [0, 0]),
        (-1, [0, 4294967295], [4294967295, 4294967295]),
        (2**31, [0, 2147483648], [0, 2147483648]),
        (2**40 + 3, [0, 3], [256, 3]),
        (-5, [0, 4294967291], [4294967295, 4294967291]),
    ],
)
def test_seeds_literal(seed, x32, x64):
    assert _np(random.PRNGKey(seed)).tolist() == x32
    with enable_x64(True):
        assert _np(random.PRNGKey(seed)).tolist() == x64


def test_samplers_literal():
    key = random.PRNGKey(42)
    assert _np(random.bits(key, (6,))).tolist() == [
        2098992034, 2919706841, 2646866425, 2409546199, 1935504149, 2516274904
    ]  # fmt: skip
    assert _np(random.bits(key, (6,), np.uint8)).tolist() == [162, 217, 249, 215, 21, 216]
    uniform = [0.48870956897735596, 0.6797971725463867, 0.6162714958190918,
               0.5610160827636719, 0.4506446123123169, 0.58586585521698]  # fmt: skip
    assert _np(random.uniform(key, (6,))).tolist() == uniform
    normal = [-0.02830461598932743, 0.4671318531036377, 0.2957029640674591,
              0.15354591608047485, -0.12403281778097153, 0.21692314743995667]  # fmt: skip
    np.testing.assert_allclose(_np(random.normal(key, (6,))), normal, rtol=1e-6, atol=1e-7)
    assert _np(random.randint(key, (8,), -3, 17)).tolist() == [1, 11, 8, 6, 6, 16, 14, 4]
    assert _np(random.bernoulli(key, 0.3, (10,))).astype(int).tolist() == [0] * 6 + [1, 0, 0, 0]
    assert _np(random.permutation(key, 10)).tolist() == [7, 4, 2, 5, 3, 6, 8, 9, 0, 1]
    assert _np(random.choice(key, 10, (5,), replace=False)).tolist() == [7, 4, 2, 5, 3]
    logits = jnp.log(jnp.array([0.1, 0.2, 0.7]))
    assert _np(random.categorical(key, logits, shape=(10,))).tolist() == [
        2, 2, 2, 2, 1, 2, 1, 2, 1, 2
    ]  # fmt: skip
    assert _np(random.poisson(key, 3.0, (8,))).tolist() == [6, 2, 2, 1, 5, 2, 3, 3]
    np.testing.assert_allclose(
        _np(random.gamma(key, 2.0, (4,))),
        [3.6725165843963623, 1.0923854112625122, 3.5018391609191895, 1.146207571029663],
        rtol=1e-6,
    )


def test_x64_literal():
    with enable_x64(True):
        key = random.PRNGKey(42)
        out = random.bits(key, (3,))
        assert out.dtype == np.uint64
        assert _np(out).tolist() == [7871734211187709741, 276886910877598708, 10591095138341673235]
        u = random.uniform(key, (3,))
        assert u.dtype == np.float64
        assert _np(u).tolist() == [0.4267275666499091, 0.015010069515314584, 0.5741444178995352]


def test_default_dtypes():
    key = random.PRNGKey(0)
    assert random.uniform(key).dtype == np.float32
    assert random.randint(key, (), 0, 3).dtype == np.int32
    assert random.bits(key).dtype == np.uint32
    assert not random.uniform(key, (2,)).weak_type
    with enable_x64(True):
        assert random.normal(key).dtype == np.float64
        assert random.randint(key, (), 0, 3).dtype == np.int64
    with pytest.warns(UserWarning, match="Explicitly requested dtype float64 is not available"):
        assert random.uniform(key, (2,), np.float64).dtype == np.float32


# -- typed keys ----------------------------------------------------------------------------------


def test_typed_keys():
    k = random.key(42)
    assert k.shape == () and k.ndim == 0 and str(k.dtype) == "key<fry>"
    assert repr(k) == "Array((), dtype=key<fry>) overlaying:\n[ 0 42]"
    keys = random.split(k, 3)
    assert isinstance(keys, random.PRNGKeyArray) and keys.shape == (3,)
    assert len(keys) == 3 and len(list(keys)) == 3
    assert _np(random.key_data(keys[1])).tolist() == [64467757, 2916123636]
    assert bool(random.wrap_key_data(random.key_data(k)) == k)
    assert bool(keys[0] != keys[1])
    assert (
        _np(random.key_data(random.split(k))).tolist()
        == _np(random.split(random.PRNGKey(42))).tolist()
    )
    assert keys.reshape(3, 1).shape == (3, 1) and keys.reshape(3, 1)[..., 0].shape == (3,)
    assert random.key_impl(k) == "threefry2x32"
    with pytest.raises(TypeError, match="cannot be converted to a NumPy array"):
        np.asarray(k)
    with pytest.raises(TypeError, match="len\\(\\) of unsized object"):
        len(k)
    with pytest.raises(IndexError, match="Too many indices"):
        k[0]
    with pytest.raises(TypeError, match="key array cannot be converted to boolean"):
        bool(keys)


def test_typed_and_legacy_keys_draw_the_same_bits():
    for f in (
        lambda k: random.normal(k, (4,)),
        lambda k: random.randint(k, (4,), 0, 100),
        lambda k: random.permutation(k, 8),
        lambda k: random.gamma(k, 1.5, (3,)),
    ):
        np.testing.assert_array_equal(_np(f(random.key(3))), _np(f(random.PRNGKey(3))))


def test_typed_keys_through_transformations():
    keys = random.split(random.key(0), 4)
    out = pullback.vmap(lambda k: random.normal(k, (3,)))(keys)
    loop = jnp.stack([random.normal(k, (3,)) for k in keys])
    np.testing.assert_array_equal(_np(out), _np(loop))
    split = pullback.jit(random.split)(random.key(1))
    assert isinstance(split, random.PRNGKeyArray) and split.shape == (2,)
    assert _np(random.key_data(split)).tolist() == _np(random.split(random.PRNGKey(1))).tolist()
    made = pullback.vmap(random.key)(jnp.arange(3))
    assert isinstance(made, random.PRNGKeyArray) and made.shape == (3,)
    assert _np(random.key_data(made)).tolist() == [[0, 0], [0, 1], [0, 2]]


def test_typed_key_repr_matches_jax(jr):
    assert repr(random.key(42)) == repr(jr.key(42))
    assert repr(random.split(random.key(0))) == repr(jr.split(jr.key(0)))


# -- against JAX: exact ----------------------------------------------------------------------------


def _compare(a, b, exact=True, rtol=2e-6, atol=2e-6):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    if exact:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _both(jr, fn):
    """``fn(r, np_like, key)`` with ``r`` each of ``jax.random``/``pullback.random``."""
    import jax.numpy as jjnp

    return fn(jr, jjnp), fn(random, jnp)


EXACT = {
    "split": lambda r, n, k: r.split(k, (2, 3)),
    "fold_in": lambda r, n, k: r.fold_in(k, 123456),
    "bits": lambda r, n, k: r.bits(k, (5, 7)),
    "bits8": lambda r, n, k: r.bits(k, (9,), n.uint8),
    "bits16": lambda r, n, k: r.bits(k, (9,), n.uint16),
    "uniform": lambda r, n, k: r.uniform(k, (1000,)),
    "uniform-bounds": lambda r, n, k: r.uniform(k, (10, 3), minval=n.arange(3.0), maxval=5.0),
    "uniform-static-bounds": lambda r, n, k: r.uniform(k, (100,), minval=-2.0, maxval=3.0),
    "uniform-reversed": lambda r, n, k: r.uniform(k, (4,), minval=2.0, maxval=1.0),
    "uniform16": lambda r, n, k: r.uniform(k, (100,), n.float16),
    "bernoulli": lambda r, n, k: r.bernoulli(k, 0.3, (1000,)),
    "bernoulli-high": lambda r, n, k: r.bernoulli(k, 0.3, (100,), mode="high"),
    "bernoulli-p": lambda r, n, k: r.bernoulli(k, n.linspace(0, 1, 50)),
    "randint": lambda r, n, k: r.randint(k, (50,), 0, 10),
    "randint-wide": lambda r, n, k: r.randint(k, (50,), -(2**31), 2**31 - 1),
    "randint-uint8": lambda r, n, k: r.randint(k, (50,), 0, 256, n.uint8),
    "randint-int8": lambda r, n, k: r.randint(k, (50,), -100, 100, n.int8),
    "randint-empty": lambda r, n, k: r.randint(k, (5,), 3, 1),
    "randint-floats": lambda r, n, k: r.randint(k, (5,), 0.5, 10.7),
    "randint-arrays": lambda r, n, k: r.randint(k, (4, 2), n.array([0, 10]), 20),
    "permutation": lambda r, n, k: r.permutation(k, 10),
    "permutation-2rounds": lambda r, n, k: r.permutation(k, 3000),
    "permutation-axis": lambda r, n, k: r.permutation(k, n.arange(12.0).reshape(3, 4), axis=1),
    "permutation-independent": lambda r, n, k: r.permutation(
        k, n.arange(12.0).reshape(3, 4), axis=1, independent=True
    ),
    "choice": lambda r, n, k: r.choice(k, 10, (5,)),
    "choice-no-replace": lambda r, n, k: r.choice(k, 10, (5,), replace=False),
    "choice-p": lambda r, n, k: r.choice(k, 5, (20,), p=n.array([0.1, 0.2, 0.3, 0.2, 0.2])),
    "choice-p-no-replace": lambda r, n, k: r.choice(
        k, 5, (3,), replace=False, p=n.array([0.1, 0.2, 0.3, 0.2, 0.2])
    ),
    "choice-axis": lambda r, n, k: r.choice(k, n.arange(12).reshape(3, 4), (2,), axis=1),
    "categorical": lambda r, n, k: r.categorical(
        k, n.log(n.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]]))
    ),
    "categorical-shape": lambda r, n, k: r.categorical(k, n.zeros((2, 3)), shape=(7, 2)),
    "categorical-axis0": lambda r, n, k: r.categorical(k, n.zeros((2, 3)), axis=0, shape=(5, 3)),
    "categorical-no-replace": lambda r, n, k: r.categorical(
        k, n.log(n.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])), shape=(2, 2), replace=False
    ),
    "rademacher": lambda r, n, k: r.rademacher(k, (100,)),
    "poisson-small": lambda r, n, k: r.poisson(k, 3.0, (300,)),
    "poisson-rates": lambda r, n, k: r.poisson(k, n.array([0.0, 1.0, 9.9, 10.0, 25.0])),
    "geometric": lambda r, n, k: r.geometric(k, 0.3, (50,)),
    "triangular": lambda r, n, k: r.triangular(k, 0.0, 0.5, 1.0, (50,)),
    "binomial-inversion": lambda r, n, k: r.binomial(k, 10, 0.3, (300,)),
    "binomial-btrs": lambda r, n, k: r.binomial(k, 1000, 0.7, (300,)),
    "binomial-edges": lambda r, n, k: r.binomial(
        k,
        n.array([0.0, 3.0, -1.0, n.inf, n.nan, 20.0, 5.5]),
        n.array([0.5, 0.2, 0.5, 0.5, 0.5, n.nan, 0.9]),
    ),
    "multinomial": lambda r, n, k: r.multinomial(k, 10, n.array([0.2, 0.3, 0.5])),
    "multinomial-batch": lambda r, n, k: r.multinomial(
        k, n.array([5.0, 100.0]), n.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    ),
    "multinomial-shape": lambda r, n, k: r.multinomial(
        k, 50, n.array([0.2, 0.3, 0.5]), shape=(4, 3)
    ),
}


@pytest.mark.parametrize("name", sorted(EXACT))
@pytest.mark.parametrize("seed", [0, 7])
def test_exact_against_jax(jr, name, seed):
    fn = EXACT[name]
    a, b = _both(jr, lambda r, n: fn(r, n, r.PRNGKey(seed)))
    _compare(a, b)


@pytest.mark.parametrize(
    "name",
    [
        "split",
        "bits",
        "uniform",
        "uniform-bounds",
        "uniform-static-bounds",
        "randint",
        "permutation",
        "choice",
    ],
)
def test_exact_against_jax_x64(jr, jax_mod, name):
    fn = EXACT[name]
    with jax_mod.enable_x64(True), enable_x64(True):
        a, b = _both(jr, lambda r, n: fn(r, n, r.PRNGKey(5)))
    _compare(a, b)


# -- against JAX: to float tolerance ---------------------------------------------------------------

_A = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 0.5]], np.float32)
_MU = np.array([1.0, -1.0, 0.0], np.float32)

CLOSE = {
    "normal": lambda r, n, k: r.normal(k, (1000,)),
    "normal16": lambda r, n, k: r.normal(k, (100,), n.float16),
    "normal-complex": lambda r, n, k: r.normal(k, (100,), n.complex64),
    "truncated_normal": lambda r, n, k: r.truncated_normal(k, -1.0, 2.0, (100,)),
    "truncated_normal-bounds": lambda r, n, k: r.truncated_normal(
        k, n.array([-3.0, 0.0, 1.0]), 2.5
    ),
    "exponential": lambda r, n, k: r.exponential(k, (100,)),
    "laplace": lambda r, n, k: r.laplace(k, (100,)),
    "logistic": lambda r, n, k: r.logistic(k, (100,)),
    "gumbel": lambda r, n, k: r.gumbel(k, (100,)),
    "gumbel-high": lambda r, n, k: r.gumbel(k, (100,), mode="high"),
    "gumbel-highest": lambda r, n, k: r.gumbel(k, (100,), mode="highest"),
    "categorical-highest": lambda r, n, k: r.categorical(k, n.zeros((3, 4)), mode="highest"),
    "cauchy": lambda r, n, k: r.cauchy(k, (100,)),
    "multivariate_normal": lambda r, n, k: r.multivariate_normal(k, _MU, _A, (50,)),
    "multivariate_normal-svd": lambda r, n, k: r.multivariate_normal(
        k, _MU, _A, (20,), method="svd"
    ),
    "multivariate_normal-eigh": lambda r, n, k: r.multivariate_normal(
        k, _MU, _A, (20,), method="eigh"
    ),
    "gamma-small": lambda r, n, k: r.gamma(k, 0.3, (300,)),
    "gamma": lambda r, n, k: r.gamma(k, 2.0, (300,)),
    "gamma-large": lambda r, n, k: r.gamma(k, 30.0, (300,)),
    "gamma-array": lambda r, n, k: r.gamma(k, n.array([0.5, 1.5, 4.0])),
    "loggamma": lambda r, n, k: r.loggamma(k, 0.3, (300,)),
    "beta": lambda r, n, k: r.beta(k, 2.0, 3.0, (200,)),
    "dirichlet": lambda r, n, k: r.dirichlet(k, n.array([1.0, 2.0, 3.0]), (20,)),
    "t": lambda r, n, k: r.t(k, 3.0, (200,)),
    "chisquare": lambda r, n, k: r.chisquare(k, 3.0, (100,)),
    "f": lambda r, n, k: r.f(k, 3.0, 4.0, (100,)),
    "pareto": lambda r, n, k: r.pareto(k, 3.0, (100,)),
    "orthogonal": lambda r, n, k: r.orthogonal(k, 4),
    "orthogonal-batch": lambda r, n, k: r.orthogonal(k, 3, (5,)),
    "orthogonal-wide": lambda r, n, k: r.orthogonal(k, 3, m=5),
    "generalized_normal": lambda r, n, k: r.generalized_normal(k, 3.0, (100,)),
    "ball": lambda r, n, k: r.ball(k, 3, shape=(50,)),
    "ball-p1": lambda r, n, k: r.ball(k, 3, 1.0, shape=(50,)),
    "maxwell": lambda r, n, k: r.maxwell(k, (50,)),
    "double_sided_maxwell": lambda r, n, k: r.double_sided_maxwell(k, 0.0, 1.0, (50,)),
    "weibull_min": lambda r, n, k: r.weibull_min(k, 1.0, 2.0, (50,)),
    "rayleigh": lambda r, n, k: r.rayleigh(k, 1.0, (50,)),
    "wald": lambda r, n, k: r.wald(k, 1.0, (50,)),
    "lognormal": lambda r, n, k: r.lognormal(k, 0.5, (50,)),
}


@pytest.mark.parametrize("name", sorted(CLOSE))
@pytest.mark.parametrize("seed", [0, 7])
def test_close_to_jax(jr, name, seed):
    fn = CLOSE[name]
    a, b = _both(jr, lambda r, n: fn(r, n, r.PRNGKey(seed)))
    tol = 1e-2 if "16" in name else 1e-5
    _compare(a, b, exact=False, rtol=tol, atol=tol)


def test_normal_within_a_few_ulps_of_jax(jr):
    a, b = _both(jr, lambda r, n: r.normal(r.PRNGKey(1), (100000,)))
    a, b = np.asarray(a), np.asarray(b)
    ulps = np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32).astype(np.int64))
    assert ulps.max() <= 4
    assert (ulps == 0).mean() > 0.9


@pytest.mark.parametrize("name", ["normal", "gamma", "beta", "truncated_normal", "t"])
def test_close_to_jax_x64(jr, jax_mod, name):
    fn = CLOSE[name]
    with jax_mod.enable_x64(True), enable_x64(True):
        a, b = _both(jr, lambda r, n: fn(r, n, r.PRNGKey(2)))
    _compare(a, b, exact=False, rtol=1e-12, atol=1e-12)


def test_poisson_large_rates_against_jax(jr):
    # the rejection sampler's acceptance tests compare log-densities computed with lgamma, which
    # differs from XLA's in the last bits: about 1 sample in 10^4 may differ
    a, b = _both(jr, lambda r, n: r.poisson(r.PRNGKey(3), n.array([12.0, 50.0, 1000.0]), (300, 3)))
    assert (np.asarray(a) != np.asarray(b)).mean() < 0.01


# -- argument validation, against JAX's ----------------------------------------------------------

ERRORS = {
    "seed-float": lambda r, n: r.PRNGKey(1.5),
    "seed-array": lambda r, n: r.PRNGKey(n.array([1, 2])),
    "seed-key": lambda r, n: r.key(r.key(0)),
    "impl": lambda r, n: r.PRNGKey(0, impl="foo"),
    "split-batched": lambda r, n: r.split(r.split(r.PRNGKey(0))),
    "split-int": lambda r, n: r.split(5),
    "split-string": lambda r, n: r.split("abc"),
    "split-list": lambda r, n: r.split([0, 1]),
    "split-shape": lambda r, n: r.split(n.zeros(3, n.uint32)),
    "split-dtype": lambda r, n: r.split(n.zeros(2, n.int32)),
    "fold_in-negative": lambda r, n: r.fold_in(r.PRNGKey(0), -1),
    "fold_in-large": lambda r, n: r.fold_in(r.PRNGKey(0), 2**32 + 3),
    "fold_in-array": lambda r, n: r.fold_in(r.PRNGKey(0), n.array([1, 2])),
    "wrap-shape": lambda r, n: r.wrap_key_data(n.zeros((3,), n.uint32)),
    "wrap-dtype": lambda r, n: r.wrap_key_data(n.zeros((2,), n.int32)),
    "bits-signed": lambda r, n: r.bits(r.PRNGKey(0), (3,), n.int32),
    "bits-float": lambda r, n: r.bits(r.PRNGKey(0), (3,), n.float32),
    "uniform-int": lambda r, n: r.uniform(r.PRNGKey(0), (2,), n.int32),
    "uniform-batched-key": lambda r, n: r.uniform(r.split(r.PRNGKey(0)), (2,)),
    "uniform-shape": lambda r, n: r.uniform(r.PRNGKey(0), (1.5,)),
    "normal-int": lambda r, n: r.normal(r.PRNGKey(0), (2,), n.int32),
    "bernoulli-int-p": lambda r, n: r.bernoulli(r.PRNGKey(0), 1),
    "bernoulli-mode": lambda r, n: r.bernoulli(r.PRNGKey(0), 0.5, (3,), mode="x"),
    "bernoulli-shapes": lambda r, n: r.bernoulli(r.PRNGKey(0), n.array([0.1, 0.9]), (3,)),
    "bernoulli-shape-result": lambda r, n: r.bernoulli(r.PRNGKey(0), n.array([0.1, 0.9]), (1,)),
    "randint-float-dtype": lambda r, n: r.randint(r.PRNGKey(0), (5,), 0, 10, n.float32),
    "randint-shapes": lambda r, n: r.randint(r.PRNGKey(0), (3,), n.array([0, 10]), 20),
    "choice-shape": lambda r, n: r.choice(r.PRNGKey(0), 5, 3),
    "choice-too-many": lambda r, n: r.choice(r.PRNGKey(0), 5, (6,), replace=False),
    "choice-p-shape": lambda r, n: r.choice(r.PRNGKey(0), 5, (2,), p=n.ones(4) / 4),
    "choice-empty": lambda r, n: r.choice(r.PRNGKey(0), 0, (2,)),
    "permutation-float": lambda r, n: r.permutation(r.PRNGKey(0), 1.5),
    "categorical-too-many": lambda r, n: r.categorical(
        r.PRNGKey(0), n.zeros(3), shape=(4,), replace=False
    ),
    "gumbel-mode": lambda r, n: r.gumbel(r.PRNGKey(0), (2,), mode="x"),
    "dirichlet-scalar": lambda r, n: r.dirichlet(r.PRNGKey(0), 1.0),
    "mvn-method": lambda r, n: r.multivariate_normal(
        r.PRNGKey(0), n.zeros(2), n.eye(2), method="x"
    ),
    "mvn-mean": lambda r, n: r.multivariate_normal(r.PRNGKey(0), 0.0, n.eye(2)),
    "mvn-cov": lambda r, n: r.multivariate_normal(r.PRNGKey(0), n.zeros(2), n.eye(3)),
    "gamma-dtype": lambda r, n: r.gamma(r.PRNGKey(0), 1.0, dtype=n.int32),
}


def _lead(message):
    """The part of a message both libraries word alike: up to the first sentence end, or to
    where a value's repr or an implementation's description starts."""
    return re.split(r"\. | for impl=|; got ", str(message))[0]


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_as_jax(jr, name):
    import jax.numpy as jjnp

    fn = ERRORS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as expected:
            fn(jr, jjnp)
        with pytest.raises(Exception) as got:
            fn(random, jnp)
    assert isinstance(got.value, type(expected.value)), (got.value, expected.value)
    assert _lead(got.value) == _lead(expected.value)


# -- transformations -------------------------------------------------------------------------------

SAMPLERS = {
    "normal": lambda k: random.normal(k, (3,)),
    "uniform": lambda k: random.uniform(k, (5,), minval=-1.0, maxval=2.0),
    "split": lambda k: random.split(k, 3),
    "fold_in": lambda k: random.fold_in(k, 3),
    "bits": lambda k: random.bits(k, (4,)),
    "randint": lambda k: random.randint(k, (4,), 0, 10),
    "permutation": lambda k: random.permutation(k, 7),
    "bernoulli": lambda k: random.bernoulli(k, 0.3, (6,)),
    "choice": lambda k: random.choice(k, 5, (3,), replace=False),
    "choice-p": lambda k: random.choice(k, 5, (3,), p=jnp.array([0.1, 0.2, 0.3, 0.2, 0.2])),
    "categorical": lambda k: random.categorical(k, jnp.zeros((2, 4))),
    "gamma": lambda k: random.gamma(k, 2.0, (3,)),
    "poisson": lambda k: random.poisson(k, 4.0, (3,)),
    "poisson-large": lambda k: random.poisson(k, 40.0, (3,)),
    "truncated_normal": lambda k: random.truncated_normal(k, -1.0, 1.0, (3,)),
    "beta": lambda k: random.beta(k, 2.0, 3.0, (3,)),
    "dirichlet": lambda k: random.dirichlet(k, jnp.array([1.0, 2.0])),
    "multivariate_normal": lambda k: random.multivariate_normal(k, jnp.zeros(2), jnp.eye(2)),
    "orthogonal": lambda k: random.orthogonal(k, 3),
    "ball": lambda k: random.ball(k, 2),
    "binomial": lambda k: random.binomial(k, 50.0, 0.4, (3,)),
    "multinomial": lambda k: random.multinomial(k, 20.0, jnp.array([0.2, 0.8])),
    "gumbel-highest": lambda k: random.gumbel(k, (3,), mode="highest"),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_vmap_over_keys_equals_the_loop(name):
    f = SAMPLERS[name]
    keys = random.split(random.PRNGKey(0), 4)
    out = pullback.vmap(f)(keys)
    loop = jnp.stack([f(k) for k in keys])
    _compare(out, loop, exact=name not in ("orthogonal", "multivariate_normal"), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_jit_equals_eager(name):
    f = SAMPLERS[name]
    key = random.PRNGKey(1)
    _compare(pullback.jit(f)(key), f(key), exact=name not in ("orthogonal",), rtol=1e-6)


def test_vmap_matches_jax(jr, jax_mod):
    keys = jr.split(jr.PRNGKey(0), 4)
    expected = jax_mod.vmap(lambda k: jr.normal(k, (3,)))(keys)
    got = pullback.vmap(lambda k: random.normal(k, (3,)))(random.split(random.PRNGKey(0), 4))
    _compare(got, expected, exact=False)


def test_vmap_over_seeds_and_data():
    keys = pullback.vmap(random.PRNGKey)(jnp.arange(3))
    assert _np(keys).tolist() == [[0, 0], [0, 1], [0, 2]]
    folded = pullback.vmap(random.fold_in, in_axes=(None, 0))(random.PRNGKey(0), jnp.arange(3))
    loop = jnp.stack([random.fold_in(random.PRNGKey(0), i) for i in range(3)])
    _compare(folded, loop)


def test_vmap_of_parameters():
    key = random.PRNGKey(0)
    out = pullback.vmap(lambda a: random.gamma(key, a, (2,)))(jnp.array([0.5, 1.0, 2.0]))
    loop = jnp.stack([random.gamma(key, a, (2,)) for a in (0.5, 1.0, 2.0)])
    _compare(out, loop)


def test_scan_with_keys_in_the_carry(jr, jax_mod):
    def body(r):
        def step(k, _):
            k, sub = r.split(k)
            return k, r.normal(sub, (2,))

        return step

    key, xs = lax.scan(body(random), random.PRNGKey(0), None, length=5)
    key_j, xs_j = jax_mod.lax.scan(body(jr), jr.PRNGKey(0), None, length=5)
    _compare(key, key_j)
    _compare(xs, xs_j, exact=False)
    tkey, txs = lax.scan(body(random), random.key(0), None, length=5)
    assert isinstance(tkey, random.PRNGKeyArray)
    _compare(random.key_data(tkey), key)
    _compare(txs, xs)


def test_fori_loop_with_keys():
    def body(i, carry):
        k, total = carry
        k, sub = random.split(k)
        return k, total + random.uniform(sub)

    key, total = lax.fori_loop(0, 4, body, (random.PRNGKey(2), 0.0))
    k, expected = random.PRNGKey(2), 0.0
    for _ in range(4):
        k, sub = random.split(k)
        expected = expected + random.uniform(sub)
    _compare(key, k)
    np.testing.assert_allclose(float(total), float(expected), rtol=1e-6)


def test_grad_through_reparameterized_samplers(jr, jax_mod):
    def loss(r):
        def f(sigma, mu):
            k1, k2 = r.split(r.PRNGKey(0))
            x = r.normal(k1, (5,)) * sigma + mu
            y = r.uniform(k2, (5,), minval=mu, maxval=mu + sigma)
            return (x * x).sum() + y.sum()

        return f

    got = pullback.grad(loss(random), argnums=(0, 1))(1.5, 0.3)
    expected = jax_mod.grad(loss(jr), argnums=(0, 1))(1.5, 0.3)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(float(g), float(e), rtol=1e-5)


@pytest.mark.parametrize("a", [0.2, 1.0, 3.0, 30.0])
@pytest.mark.parametrize("log_space", [False, True])
def test_gamma_derivative_in_its_shape_parameter(jr, jax_mod, a, log_space):
    import jax.numpy as jjnp

    name = "loggamma" if log_space else "gamma"

    def per_sample(r, np_):
        return lambda a: getattr(r, name)(r.PRNGKey(0), a)

    expected = jax_mod.vmap(jax_mod.grad(per_sample(jr, jjnp)))(jjnp.full(40, a))
    got = pullback.vmap(pullback.grad(per_sample(random, jnp)))(jnp.full(40, a))
    _compare(got, expected, exact=False, rtol=2e-5, atol=1e-6)
    jitted = pullback.jit(pullback.grad(lambda a: random.gamma(random.PRNGKey(0), a, (3,)).sum()))
    eager = pullback.grad(lambda a: random.gamma(random.PRNGKey(0), a, (3,)).sum())
    np.testing.assert_allclose(float(jitted(a)), float(eager(a)), rtol=1e-6)


def test_gamma_derivative_float64(jr, jax_mod):
    with jax_mod.enable_x64(True), enable_x64(True):
        expected = jax_mod.grad(lambda a: jr.gamma(jr.PRNGKey(1), a, (20,)).sum())(2.5)
        got = pullback.grad(lambda a: random.gamma(random.PRNGKey(1), a, (20,)).sum())(2.5)
    np.testing.assert_allclose(float(got), float(expected), rtol=1e-10)


def test_derived_samplers_differentiate(jr, jax_mod):
    def f(r):
        return lambda df: r.t(r.PRNGKey(4), df, (6,)).sum() + r.beta(r.PRNGKey(5), df, 2.0)

    np.testing.assert_allclose(
        float(pullback.grad(f(random))(3.0)), float(jax_mod.grad(f(jr))(3.0)), rtol=1e-4
    )


def test_truncated_normal_derivative_in_the_bounds(jr, jax_mod):
    def f(r):
        return lambda lo, hi: r.truncated_normal(r.PRNGKey(0), lo, hi, (4,)).sum()

    got = pullback.grad(f(random), argnums=(0, 1))(-1.0, 2.0)
    expected = jax_mod.grad(f(jr), argnums=(0, 1))(-1.0, 2.0)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(float(g), float(e), rtol=1e-4)


def test_key_data_has_no_gradient():
    def f(x, key):
        return (random.normal(key, (3,)) * x).sum()

    g = pullback.grad(f)(2.0, random.PRNGKey(0))
    np.testing.assert_allclose(float(g), float(random.normal(random.PRNGKey(0), (3,)).sum()))


def test_samplers_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        random.binomial(random.PRNGKey(0), 100.0, 0.3, (50,))
        random.poisson(random.PRNGKey(0), 30.0, (50,))
        random.multinomial(random.PRNGKey(0), 10.0, jnp.array([0.0, 0.5, 0.5]))


def test_make_jaxpr_shows_the_threefry_primitive():
    text = str(pullback.make_jaxpr(lambda k: random.normal(k, (3,)))(random.PRNGKey(0)))
    assert "threefry2x32" in text and "iota_2x32_shape" in text and "random_erf_inv" in text
