"""Sample rows for the primitives of ``pullback.random`` (``pullback._ops.prng``). The row format
is described at the top of ``test_primitives.py``.

References are written independently of the impls: Threefry-2x32 round by round on Python ints
(the Random123 specification), the special functions from SciPy or ``math``, sorting with
Python's ``sorted``.
"""

from __future__ import annotations

import math

import numpy as np

_rng = np.random.default_rng(2024)
_M32 = 0xFFFFFFFF
_ROT = ((13, 15, 26, 6), (17, 29, 16, 24))


def _threefry_scalar(k1, k2, x1, x2):
    ks = (k1, k2, k1 ^ k2 ^ 0x1BD11BDA)
    x1, x2 = (x1 + ks[0]) & _M32, (x2 + ks[1]) & _M32
    for i in range(5):
        for r in _ROT[i % 2]:
            x1 = (x1 + x2) & _M32
            x2 = ((x2 << r) | (x2 >> (32 - r))) & _M32
            x2 ^= x1
        x1 = (x1 + ks[(i + 1) % 3]) & _M32
        x2 = (x2 + ks[(i + 2) % 3] + i + 1) & _M32
    return x1, x2


def _threefry_ref(k1, k2, x1, x2):
    arrays = np.broadcast_arrays(*(np.asarray(a, np.uint32) for a in (k1, k2, x1, x2)))
    out1 = np.zeros(arrays[0].shape, np.uint32)
    out2 = np.zeros(arrays[0].shape, np.uint32)
    for pos in np.ndindex(*arrays[0].shape):
        out1[pos], out2[pos] = _threefry_scalar(*(int(a[pos]) for a in arrays))
    return [out1, out2]


def _u32(*shape):
    return _rng.integers(0, 2**32, size=shape, dtype=np.uint64).astype(np.uint32)


def _iota_ref(*, shape):
    counts = np.arange(math.prod(shape), dtype=np.uint64).reshape(shape)
    return [(counts >> np.uint64(32)).astype(np.uint32), counts.astype(np.uint32)]


def _erf_inv_ref(x):
    import scipy.special  # the test-only reference

    return scipy.special.erfinv(x)


def _argsort_ref(x, *, axis, descending):
    x = np.moveaxis(np.asarray(x), axis, -1)
    out = np.zeros(x.shape, np.int32)
    for pos in np.ndindex(*x.shape[:-1]):
        row = list(x[pos])
        key = (lambda i: (-row[i], i)) if descending else (lambda i: (row[i], i))
        out[pos] = sorted(range(len(row)), key=key)
    return np.moveaxis(out, -1, axis)


def _gamma_grad_ref(a, x):
    # the implicit derivative -dP(a, x)/da / p(x; a), with dP/da by central differences of
    # SciPy's regularized incomplete gamma function
    import scipy.special
    import scipy.stats

    h = 1e-6 * np.maximum(1.0, a)
    dpda = (scipy.special.gammainc(a + h, x) - scipy.special.gammainc(a - h, x)) / (2 * h)
    return -dpda / scipy.stats.gamma.pdf(x, a)


SAMPLES = {
    "random_fma": [
        {
            "args": (
                _rng.uniform(-2, 2, size=(4,)),
                _rng.uniform(-2, 2, size=(4,)),
                0.5 + _rng.uniform(size=(4,)),
            ),
            "ref": lambda x, y, z: x * y + z,
            "rtol": 1e-15,
        },
        {
            "args": (_rng.uniform(-2, 2, size=(2, 3)), np.float64(3.0), _rng.uniform(size=(3,))),
            "ref": lambda x, y, z: x * y + z,
            "rtol": 1e-15,
            "id": "broadcast",
        },
        {
            # one rounding: 1 + 2**-30 squared, minus 1 - 2**-29, is 2**-60 exactly
            "args": (
                np.array([1 + 2**-30], np.float64),
                np.array([1 + 2**-30], np.float64),
                np.array([-(1 + 2**-29)], np.float64),
            ),
            "ref": lambda x, y, z: np.array([2.0**-60]),
            "rtol": 0,
            "atol": 0,
            "order": 0,
            "id": "single-rounding",
        },
    ],
    "threefry2x32": [
        {
            "args": (_u32(4), _u32(4), _u32(4), _u32(4)),
            "ref": _threefry_ref,
            "order": 0,
            "id": "elementwise",
        },
        {
            "args": (
                np.uint32(0),
                np.uint32(42),
                np.zeros(5, np.uint32),
                np.arange(5, dtype=np.uint32),
            ),
            "ref": _threefry_ref,
            "order": 0,
            "id": "scalar-key",
        },
        {
            "args": (_u32(2, 1), _u32(2, 1), _u32(3), _u32(2, 3)),
            "ref": _threefry_ref,
            "order": 0,
            "id": "broadcast",
        },
    ],
    "iota_2x32_shape": [
        {"args": (), "params": {"shape": (2, 3)}, "ref": _iota_ref, "order": 0},
        {"args": (), "params": {"shape": ()}, "ref": _iota_ref, "order": 0, "id": "scalar"},
    ],
    "random_erf_inv": [
        {"args": (_rng.uniform(-0.99, 0.99, size=(5,)),), "ref": _erf_inv_ref, "rtol": 1e-12},
        {
            "args": (np.array([0.0, 0.999999, -0.9999999999, 0.5]),),
            "ref": _erf_inv_ref,
            "rtol": 1e-12,
            "order": 0,
            "id": "tails",
        },
        {
            "args": (np.array([0.25, -0.75], np.float32),),
            "ref": lambda x: _erf_inv_ref(x.astype(np.float64)).astype(np.float32),
            "rtol": 1e-6,
            "order": 0,
            "id": "float32",
        },
    ],
    "random_erf": [
        {
            "args": (_rng.uniform(-3, 3, size=(5,)),),
            "ref": lambda x: np.array([math.erf(v) for v in x]),
            "rtol": 1e-14,
        }
    ],
    "random_lgamma": [
        {
            "args": (np.array([0.5, 1.0, 2.5, 10.0, 171.5, -0.5, -2.5]),),
            "ref": lambda x: np.array([math.lgamma(v) for v in x]),
            "rtol": 1e-12,
        }
    ],
    "random_argsort": [
        {
            "args": (np.array([[3, 1, 2, 1], [0, 5, 5, 4]], np.uint32),),
            "params": {"axis": 1, "descending": False},
            "ref": _argsort_ref,
        },
        {
            "args": (np.array([[0.5, 2.0, 2.0], [1.0, -1.0, 3.0]]),),
            "params": {"axis": 0, "descending": True},
            "ref": _argsort_ref,
            "id": "descending",
        },
    ],
    "random_gamma": [
        # values only: the samples' derivative in ``a`` is the implicit one, not the derivative
        # of the rejection sampler's transformation that central differences would see; it is
        # checked against JAX in tests/test_random.py. References: JAX 0.10's values (x64).
        {
            "args": (np.array([0, 42], np.uint32), np.array([0.5, 1.0, 3.0])),
            "params": {"log_space": False},
            "ref": lambda key, a, log_space: np.array(
                [0.19865354933259452, 0.5161877343182824, 6.518719415882062]
            ),
            "order": 0,
        },
        {
            "args": (np.array([0, 42], np.uint32), np.array([0.5, 1.0, 3.0])),
            "params": {"log_space": True},
            "ref": lambda key, a, log_space: np.array(
                [-1.6161929296141218, -0.6612847534710552, 1.8746779480408196]
            ),
            "order": 0,
            "id": "log-space",
        },
    ],
    "random_gamma_grad": [
        {
            "args": (np.array([0.5, 1.0, 3.0, 3.0, 20.0]), np.array([0.2, 1.5, 0.5, 8.0, 18.0])),
            "ref": _gamma_grad_ref,
            "rtol": 1e-6,
        }
    ],
}
