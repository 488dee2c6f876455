"""Primitives of ``pullback.random``: the Threefry-2x32 hash, the counters it hashes, and the
special functions and sorting that its samplers need.

* ``threefry2x32(k1, k2, x1, x2) -> (y1, y2)``: the Threefry-2x32 block cipher (20 rounds) of
  the counter pairs ``(x1, x2)`` under the keys ``(k1, k2)``, elementwise with NumPy
  broadcasting, on ``uint32``. JAX's primitive of the same name. The impl runs the rounds in
  place on cache-sized chunks of ``uint32`` arrays (no temporaries per round).
* ``iota_2x32_shape(shape) -> (hi, lo)``: the 64-bit counters ``0, 1, ...`` laid out in
  ``shape`` (row-major), as two ``uint32`` arrays (JAX's primitive of the same name).
* ``random_erf_inv``, ``random_erf``: the inverse error function (the same polynomials as
  XLA's) and the error function, elementwise, differentiable.
* ``random_lgamma``: ``log|Gamma(x)|`` (Lanczos), for Poisson sampling; not differentiated.
* ``random_argsort(x, axis, descending)``: a stable argsort (int32 indices), for permutations
  (sorting by random bits, as JAX's ``sort_key_val``) and ``top_k``.
* ``random_gamma(key, a, log_space)``: Marsaglia-Tsang gamma samples, one key per element (JAX's
  ``random_gamma``), differentiable in ``a`` through ``random_gamma_grad(a, sample)``, the
  implicit reparameterization derivative ``d sample / d a``.

None of these has a derivative with respect to keys or counters; the threefry primitives have
none at all (``vjp=None``: integer outputs).

The special functions are prefixed ``random_`` so as not to claim the names ``erf``, ``erf_inv``
and ``lgamma`` that ``lax``/``scipy.special`` primitives will have; they can become those once
those exist.
"""

from __future__ import annotations

import concurrent.futures
import math
import os

import numpy as np

from pullback._core import ShapedArray
from pullback._ops._base import (
    Broadcasting,
    align_batched,
    along_axes,
    batch_at,
    batch_size,
    bind_here,
    dtype_of,
    primitive,
    unary,
    unbroadcast,
)
from pullback._ops.elementwise import equal, exp, where

__all__ = [
    "threefry2x32",
    "iota_2x32_shape",
    "erf_inv",
    "erf",
    "lgamma",
    "argsort",
    "random_gamma",
    "random_gamma_grad",
    "threefry_raw",
    "fma",
]

_U32 = np.dtype(np.uint32)
_CHUNK = 1 << 15  # elements per chunk: the working set of a chunk stays in the L2 cache
_ROTATIONS = (
    tuple(np.uint32(r) for r in (13, 15, 26, 6)),
    tuple(np.uint32(r) for r in (17, 29, 16, 24)),
)
_ROTATIONS_BACK = tuple(tuple(np.uint32(32 - int(r)) for r in rs) for rs in _ROTATIONS)
_PARITY = np.uint32(0x1BD11BDA)


# -- threefry2x32 ------------------------------------------------------------------------------


def _flat_operand(a, shape, n):
    """``a`` as a NumPy uint32 scalar (one element, or a broadcast of one) or a flat array of
    ``n``."""
    a = np.asarray(a, _U32)
    if a.size == 1 or (a.size and not any(a.strides)):
        return a.reshape(-1)[0]
    if a.shape != shape:
        a = np.broadcast_to(a, shape)
    return a.reshape(n)


def _rounds(a, b, ks, tmp):
    """The 20 rounds of Threefry-2x32 in place on ``a``/``b`` (chunks), keys ``ks`` (three
    scalars or chunks), ``tmp`` a scratch chunk."""
    add, xor, shl, shr, bor = np.add, np.bitwise_xor, np.left_shift, np.right_shift, np.bitwise_or
    for i in range(5):
        rots = _ROTATIONS[i % 2]
        backs = _ROTATIONS_BACK[i % 2]
        for r, rb in zip(rots, backs):
            add(a, b, out=a)
            shl(b, r, out=tmp)
            shr(b, rb, out=b)
            bor(b, tmp, out=b)
            xor(b, a, out=b)
        add(a, ks[(i + 1) % 3], out=a)
        add(b, ks[(i + 2) % 3], out=b)
        add(b, np.uint32(i + 1), out=b)


def _hash_chunks(k1, k2, ks2, x1, x2, out1, out2, start, stop):
    """Threefry-2x32 of elements ``start:stop`` (flat operands), written to ``out1``/``out2``
    chunk by chunk."""
    tmp = np.empty(min(stop - start, _CHUNK), _U32)
    scalar_keys = np.ndim(k1) == 0 and np.ndim(k2) == 0
    with np.errstate(over="ignore"):
        for lo in range(start, stop, _CHUNK):
            hi = min(lo + _CHUNK, stop)
            a = out1[lo:hi]
            b = out2[lo:hi]
            if scalar_keys:
                ks = (k1, k2, ks2)
            else:
                ks = tuple(k if np.ndim(k) == 0 else k[lo:hi] for k in (k1, k2, ks2))
            np.add(x1 if np.ndim(x1) == 0 else x1[lo:hi], ks[0], out=a)
            np.add(x2 if np.ndim(x2) == 0 else x2[lo:hi], ks[1], out=b)
            _rounds(a, b, ks, tmp[: hi - lo])


_THREADS = max(1, min(4, os.cpu_count() or 1))
_PARALLEL_MIN = 1 << 18  # below this many elements one thread is faster
_pool = []
_pool_fork_safe = []


def _executor():
    if not _pool:
        if not _pool_fork_safe:
            # a forked child has no pool threads: let it make its own pool
            os.register_at_fork(after_in_child=_pool.clear)
            _pool_fork_safe.append(True)
        _pool.append(concurrent.futures.ThreadPoolExecutor(_THREADS, "pullback-threefry"))
    return _pool[0]


_SMALL = 8  # at most this many elements: Python ints beat ~110 NumPy calls on tiny arrays
_ROT_INTS = ((13, 15, 26, 6), (17, 29, 16, 24))
_M32 = 0xFFFFFFFF


def _threefry_ints(k1, k2, x1, x2):
    """Threefry-2x32 of one counter pair on Python ints."""
    ks = (k1, k2, k1 ^ k2 ^ 0x1BD11BDA)
    a, b = (x1 + k1) & _M32, (x2 + k2) & _M32
    for i in range(5):
        for r in _ROT_INTS[i % 2]:
            a = (a + b) & _M32
            b = (((b << r) & _M32) | (b >> (32 - r))) ^ a
        a = (a + ks[(i + 1) % 3]) & _M32
        b = (b + ks[(i + 2) % 3] + i + 1) & _M32
    return a, b


def _threefry_small(k1, k2, x1, x2, shape):
    args = [
        np.broadcast_to(np.asarray(v, _U32), shape).reshape(-1).tolist() for v in (k1, k2, x1, x2)
    ]
    pairs = [_threefry_ints(*v) for v in zip(*args)]
    out1 = np.array([p[0] for p in pairs], _U32)
    out2 = np.array([p[1] for p in pairs], _U32)
    if not shape:
        return out1[0], out2[0]
    return out1.reshape(shape), out2.reshape(shape)


def threefry_raw(k1, k2, x1, x2):
    """Threefry-2x32 on NumPy values (broadcast together); returns two uint32 arrays.

    Large arrays are hashed by several threads, each on its own range of chunks (NumPy releases
    the GIL in its loops): the result does not depend on how the work is divided.

    >>> threefry_raw(np.uint32(0), np.uint32(42), np.uint32(0), np.uint32(0))
    (np.uint32(1832780943), np.uint32(270669613))
    """
    shapes = [np.shape(k1), np.shape(k2), np.shape(x1), np.shape(x2)]
    shape = np.broadcast_shapes(*shapes)
    n = math.prod(shape)
    if n <= _SMALL:
        return _threefry_small(k1, k2, x1, x2, shape)
    k1, k2, x1, x2 = (_flat_operand(v, shape, n) for v in (k1, k2, x1, x2))
    ks2 = k1 ^ k2 ^ _PARITY
    out1 = np.empty(n, _U32)
    out2 = np.empty(n, _U32)
    args = (k1, k2, ks2, x1, x2, out1, out2)
    if _THREADS > 1 and n >= _PARALLEL_MIN:
        step = -(-n // (_THREADS * _CHUNK)) * _CHUNK
        jobs = [
            _executor().submit(_hash_chunks, *args, lo, min(lo + step, n))
            for lo in range(0, n, step)
        ]
        for job in jobs:
            job.result()
    else:
        _hash_chunks(*args, 0, n)
    if not shape:
        return out1[0], out2[0]
    return out1.reshape(shape), out2.reshape(shape)


def _threefry_impl(k1, k2, x1, x2):
    return list(threefry_raw(k1, k2, x1, x2))


def _threefry_abstract(k1, k2, x1, x2):
    args = (k1, k2, x1, x2)
    if any(a.dtype != _U32 for a in args):
        raise TypeError(
            f"Arguments to threefry2x32 must have uint32 type, got {[str(a.dtype) for a in args]}"
        )
    shape = np.broadcast_shapes(*(a.shape for a in args))
    return [ShapedArray(shape, _U32), ShapedArray(shape, _U32)]


def _threefry_batch(values, bdims):
    values, d = align_batched(values, bdims)
    out = bind_here(threefry2x32_p, values, {})
    return out, [d, d]


threefry2x32_p, _threefry2x32 = primitive(
    "threefry2x32", _threefry_impl, multiple_results=True, weak="never"
)
threefry2x32_p.abstract = _threefry_abstract
threefry2x32_p.batch = _threefry_batch


def threefry2x32(k1, k2, x1, x2):
    """The Threefry-2x32 hash of the counters ``(x1, x2)`` under the key ``(k1, k2)``: two
    uint32 arrays of the broadcast shape."""
    return _threefry2x32(k1, k2, x1, x2)


# -- iota_2x32_shape ---------------------------------------------------------------------------


def _iota_impl(*, shape):
    n = math.prod(shape)
    if n < 2**32:
        # the high words are all zero: a broadcast zero (values are never written to)
        hi = np.broadcast_to(np.zeros((), _U32), shape)
        lo = np.arange(n, dtype=_U32).reshape(shape)
    else:
        counts = np.arange(n, dtype=np.uint64)
        hi = (counts >> np.uint64(32)).astype(_U32).reshape(shape)
        lo = counts.astype(_U32).reshape(shape)
    if not shape:
        return [hi[()], lo[()]]
    return [hi, lo]


iota_2x32_shape_p, _iota_2x32_shape = primitive(
    "iota_2x32_shape", _iota_impl, multiple_results=True, weak="never"
)
iota_2x32_shape_p.abstract = lambda *, shape: [ShapedArray(shape, _U32)] * 2
iota_2x32_shape_p.batch = lambda values, bdims, **params: (
    bind_here(iota_2x32_shape_p, values, params),
    [None, None],
)


def iota_2x32_shape(shape):
    """``(hi, lo)``: the uint32 halves of the uint64 counters ``arange(prod(shape))`` in
    ``shape``."""
    return _iota_2x32_shape(shape=tuple(int(n) for n in shape))


# -- fused multiply-add ------------------------------------------------------------------------


def _two_product(a, b):
    """``(p, e)`` with ``p = fl(a * b)`` and ``a * b = p + e`` exactly (Dekker's splitting)."""
    split = 134217729.0  # 2**27 + 1
    p = a * b
    ca, cb = split * a, split * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _fma_impl(x, y, z):
    """``x * y + z`` rounded once, as XLA's CPU code computes ``mul`` followed by ``add`` (it
    contracts them). float16/float32: exactly, through float64; float64: by error-free
    transformations (correctly rounded except in rare double-rounding cases)."""
    x, y, z = np.asarray(x), np.asarray(y), np.asarray(z)
    dtype = np.result_type(x, y, z)
    if dtype == np.float64:
        with np.errstate(all="ignore"):
            p, e = _two_product(x, y)
            s = p + z
            bz = s - p
            t = (p - (s - bz)) + (z - bz)
            out = s + (t + e)
            out = np.where(np.isfinite(out), out, x * y + z)
    else:
        out = (x.astype(np.float64) * y + z).astype(dtype)
    return out if out.ndim else out[()]


def _fma_abstract(x, y, z):
    return ShapedArray(np.broadcast_shapes(x.shape, y.shape, z.shape), x.dtype)


fma_p, _fma = primitive(
    "random_fma",
    _fma_impl,
    vjp=(
        lambda ct, ans, x, y, z: unbroadcast(ct * y, x),
        lambda ct, ans, x, y, z: unbroadcast(ct * x, y),
        lambda ct, ans, x, y, z: unbroadcast(ct, z),
    ),
)
fma_p.abstract = _fma_abstract
fma_p.batch = Broadcasting(fma_p)


def fma(x, y, z):
    """``x * y + z`` with one rounding (operands of one floating dtype, broadcast together)."""
    dtypes = {dtype_of(v) for v in (x, y, z)}
    if len(dtypes) != 1 or next(iter(dtypes)).kind != "f":
        raise TypeError(
            f"fma requires operands of one floating dtype, got {sorted(map(str, dtypes))}"
        )
    return _fma(x, y, z)


# -- special functions -------------------------------------------------------------------------

# XLA's ErfInv (M. Giles, "Approximating the erfinv function"): float32 ...
_ERFINV32_SMALL = np.array(
    [
        2.81022636e-08,
        3.43273939e-07,
        -3.5233877e-06,
        -4.39150654e-06,
        0.00021858087,
        -0.00125372503,
        -0.00417768164,
        0.246640727,
        1.50140941,
    ],
    np.float32,
)
_ERFINV32_LARGE = np.array(
    [
        -0.000200214257,
        0.000100950558,
        0.00134934322,
        -0.00367342844,
        0.00573950773,
        -0.0076224613,
        0.00943887047,
        1.00167406,
        2.83297682,
    ],
    np.float32,
)
# ... and float64
_ERFINV64_A = np.array(
    [
        -3.6444120640178196996e-21,
        -1.685059138182016589e-19,
        1.2858480715256400167e-18,
        1.115787767802518096e-17,
        -1.333171662854620906e-16,
        2.0972767875968561637e-17,
        6.6376381343583238325e-15,
        -4.0545662729752068639e-14,
        -8.1519341976054721522e-14,
        2.6335093153082322977e-12,
        -1.2975133253453532498e-11,
        -5.4154120542946279317e-11,
        1.051212273321532285e-09,
        -4.1126339803469836976e-09,
        -2.9070369957882005086e-08,
        4.2347877827932403518e-07,
        -1.3654692000834678645e-06,
        -1.3882523362786468719e-05,
        0.0001867342080340571352,
        -0.00074070253416626697512,
        -0.0060336708714301490533,
        0.24015818242558961693,
        1.6536545626831027356,
    ]
)
_ERFINV64_B = np.array(
    [
        2.2137376921775787049e-09,
        9.0756561938885390979e-08,
        -2.7517406297064545428e-07,
        1.8239629214389227755e-08,
        1.5027403968909827627e-06,
        -4.013867526981545969e-06,
        2.9234449089955446044e-06,
        1.2475304481671778723e-05,
        -4.7318229009055733981e-05,
        6.8284851459573175448e-05,
        2.4031110387097893999e-05,
        -0.0003550375203628474796,
        0.00095328937973738049703,
        -0.0016882755560235047313,
        0.0024914420961078508066,
        -0.0037512085075692412107,
        0.005370914553590063617,
        1.0052589676941592334,
        3.0838856104922207635,
    ]
)
_ERFINV64_C = np.array(
    [
        -2.7109920616438573243e-11,
        -2.5556418169965252055e-10,
        1.5076572693500548083e-09,
        -3.7894654401267369937e-09,
        7.6157012080783393804e-09,
        -1.4960026627149240478e-08,
        2.9147953450901080826e-08,
        -6.7711997758452339498e-08,
        2.2900482228026654717e-07,
        -9.9298272942317002539e-07,
        4.5260625972231537039e-06,
        -1.9681778105531670567e-05,
        7.5995277030017761139e-05,
        -0.00021503011930044477347,
        -0.00013871931833623122026,
        1.0103004648645343977,
        4.8499064014085844221,
    ]
)


def _horner(coefs, w):
    """The polynomial with ``coefs`` (highest power first) at ``w``, in ``w``'s dtype."""
    p = np.full_like(w, coefs[0])
    for c in coefs[1:]:
        p *= w
        p += c
    return p


def _erf_inv_impl(x):
    x = np.asarray(x)
    dtype = x.dtype
    flat = x.reshape(-1)
    if dtype == np.float64:
        out = _erf_inv64(flat)
    else:
        out = _erf_inv32(flat.astype(np.float32, copy=False)).astype(dtype, copy=False)
    return out.reshape(x.shape) if x.ndim else out[0]


# the small-argument polynomial in t = log1p(-x**2) + 2.5 = -(w - 2.5): the coefficients with
# alternating signs give the same values exactly (only signs change), with no negations
_ERFINV32_SMALL_ALT = np.array(
    [c if (len(_ERFINV32_SMALL) - 1 - k) % 2 == 0 else -c for k, c in enumerate(_ERFINV32_SMALL)],
    np.float32,
)


def _erf_inv32(x):
    """XLA's float32 ErfInv of a flat array: the polynomial for ``w = -log1p(-x**2) < 5`` on
    every element, the tail's polynomial only where it applies (about 0.3% of a normal
    sample), ``+-inf`` at ``+-1``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        v = x * x
        np.negative(v, out=v)
        np.log1p(v, out=v)  # v = -w
        large = np.flatnonzero(~(v > np.float32(-5)))  # w >= 5, or nan
        w_large = -v[large]
        v += np.float32(2.5)  # t = -(w - 2.5)
        coefs = _ERFINV32_SMALL_ALT
        p = v * coefs[0]
        p += coefs[1]
        for c in coefs[2:]:
            p *= v
            p += c
        if large.size:
            pl = _horner(_ERFINV32_LARGE, np.sqrt(w_large) - np.float32(3)) * x[large]
            xl = x[large]
            edge = np.abs(xl) == np.float32(1)
            pl[edge] = xl[edge] * np.float32(np.inf)
            p *= x
            p[large] = pl
        else:
            p *= x
    return p


def _erf_inv64(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log1p(-x * x)
        sw = np.sqrt(w)
        lt625 = w < 6.25
        lt16 = w < 16.0
        p = np.where(
            lt625,
            _horner(_ERFINV64_A, w - 3.125),
            np.where(lt16, _horner(_ERFINV64_B, sw - 3.25), _horner(_ERFINV64_C, sw - 5.0)),
        )
        out = p * x
        return np.where(np.abs(x) == 1.0, x * np.inf, out)


_SQRT_PI_2 = math.sqrt(math.pi) / 2
_TWO_SQRT_PI = 2 / math.sqrt(math.pi)

erf_inv_p, erf_inv = unary(
    "random_erf_inv", _erf_inv_impl, d=lambda x, ans: _SQRT_PI_2 * exp(ans * ans)
)

_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def _erf_impl(x):
    x = np.asarray(x)
    out = np.asarray(_erf_scalar(x.astype(np.float64)), np.float64).astype(x.dtype)
    return out if out.ndim else out[()]


erf_p, erf = unary("random_erf", _erf_impl, d=lambda x, ans: _TWO_SQRT_PI * exp(-(x * x)))

# XLA's Lgamma: the Lanczos approximation (g = 7, 9 terms) with Euler's reflection below 1/2,
# evaluated in the input's precision (float16 in float32) in XLA's order of operations
_LANCZOS_BASE = 0.99999999999980993227684700473478
_LANCZOS = (
    676.520368121885098567009190444019,
    -1259.13921672240287047156078755283,
    771.3234287776530788486528258894,
    -176.61502916214059906584551354,
    12.507343278686904814458936853,
    -0.13857109526572011689554707,
    9.984369578019570859563e-6,
    1.50563273514931155834e-7,
)


def lgamma_raw(x):
    """``log|Gamma(x)|`` of a float32 or float64 array, as XLA computes it."""
    x = np.asarray(x)
    if x.dtype != np.float64:
        x = x.astype(np.float32)
    c = x.dtype.type
    with np.errstate(all="ignore"):
        reflect = x < c(0.5)
        z = np.where(reflect, -x, x - c(1))
        a = np.full_like(z, c(_LANCZOS_BASE))
        for i, coef in enumerate(_LANCZOS):
            a = a + c(coef) / (z + c(i) + c(1))
        t = c(7.5) + z
        log_t = c(math.log(7.5)) + np.log1p(z / c(7.5))
        log_y = c((math.log(2) + math.log(math.pi)) / 2) + (z + c(0.5) - t / log_t) * log_t
        log_y = log_y + np.log(a)
        abs_x = np.abs(x)
        frac = abs_x - np.floor(abs_x)
        frac = np.where(frac > c(0.5), c(1) - frac, frac)
        denom = np.log(np.sin(c(math.pi) * frac))
        reflection = np.where(np.isfinite(denom), c(math.log(math.pi)) - denom - log_y, -denom)
        out = np.where(reflect, reflection, log_y)
        return np.where(np.isinf(x), c(np.inf), out)


def _lgamma_impl(x):
    x = np.asarray(x)
    out = lgamma_raw(x).astype(x.dtype, copy=False)
    return out if out.ndim else out[()]


lgamma_p, lgamma = unary("random_lgamma", _lgamma_impl, differentiable=False)


def digamma_raw(x):
    """The digamma function of a float64 array with positive entries."""
    x = np.array(x, np.float64)
    out = np.zeros_like(x)
    with np.errstate(all="ignore"):
        small = x < 10.0
        while small.any():
            out = np.where(small, out - 1.0 / x, out)
            x = np.where(small, x + 1.0, x)
            small = x < 10.0
        inv = 1.0 / x
        inv2 = inv * inv
        series = inv2 * (
            1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132))))
        )
        out += np.log(x) - 0.5 * inv - series
    return out


# -- sorting -----------------------------------------------------------------------------------


def _argsort_impl(x, *, axis, descending):
    x = np.asarray(x)
    if not descending:
        return np.argsort(x, axis=axis, kind="stable").astype(np.int32)
    # descending with ties in index order: sort the reversed array, then reverse back
    n = x.shape[axis]
    rev = np.flip(x, axis)
    idx = np.flip(np.argsort(rev, axis=axis, kind="stable"), axis)
    return (n - 1 - idx).astype(np.int32)


argsort_p, _argsort = primitive("random_argsort", _argsort_impl, weak="never")
argsort_p.abstract = lambda x, *, axis, descending: ShapedArray(x.shape, np.int32)
argsort_p.batch = along_axes(argsort_p, "axis")


def argsort(x, axis, descending=False):
    """Stable argsort of ``x`` along ``axis`` (a non-negative int), as int32 indices."""
    return _argsort(x, axis=int(axis), descending=bool(descending))


# -- gamma -------------------------------------------------------------------------------------


def _split_raw(keys, num):
    """Each of the keys ``keys`` (``(n, 2)`` uint32) split into ``num`` keys: ``(n, num, 2)``."""
    lo = np.arange(num, dtype=_U32)
    a, b = threefry_raw(keys[:, None, 0], keys[:, None, 1], np.uint32(0), lo[None, :])
    return np.stack([a, b], axis=-1)


def _bits_raw(keys):
    """One 32-bit draw per key (``random.bits(key, ())`` of each)."""
    a, b = threefry_raw(keys[:, 0], keys[:, 1], np.uint32(0), np.uint32(0))
    return a ^ b


def _bits64_raw(keys):
    a, b = threefry_raw(keys[:, 0], keys[:, 1], np.uint32(0), np.uint32(0))
    return (a.astype(np.uint64) << np.uint64(32)) | b.astype(np.uint64)


def _uniform_scalar_raw(keys, dtype):
    """``random.uniform(key, (), dtype)`` of each key (float16/32/64)."""
    finfo = np.finfo(dtype)
    nbits, nmant = finfo.bits, finfo.nmant
    if nbits == 64:
        bits = _bits64_raw(keys)
    else:
        bits = _bits_raw(keys)
        if nbits == 16:
            bits = bits.astype(np.uint16)
    shift = bits.dtype.type(nbits - nmant)
    return (bits >> shift).astype(dtype) * dtype.type(2.0**-nmant)


def _normal_scalar_raw(keys, dtype):
    """``random.normal(key, (), dtype)`` of each key."""
    lo = np.nextafter(dtype.type(-1.0), dtype.type(0.0))
    u = _uniform_scalar_raw(keys, dtype)
    u = np.maximum(lo, u * (dtype.type(1.0) - lo) + lo)
    return dtype.type(math.sqrt(2)) * _erf_inv_impl(u)


def _gamma_one_raw(keys, alpha, log_space):
    """JAX's ``_gamma_one`` for each (key, alpha) pair: Marsaglia and Tsang's rejection method,
    run for every element until each has accepted, each with its own key sequence."""
    dtype = alpha.dtype
    one = dtype.type(1)
    third = dtype.type(1.0 / 3.0)
    with np.errstate(all="ignore"):
        boost_mask = alpha >= one
        alpha_orig = alpha
        alpha = np.where(boost_mask, alpha, alpha + one)
        d = alpha - third
        c = third / np.sqrt(d)
        pairs = _split_raw(keys, 2)
        key, subkey = pairs[:, 0], pairs[:, 1]
        n = alpha.shape[0]
        X = np.zeros(n, dtype)
        V = np.ones(n, dtype)
        U = np.full(n, 2, dtype)

        def cond(X, V, U, d):
            return (one - dtype.type(0.0331) * (X * X) <= U) & (
                np.log(U) >= X * dtype.type(0.5) + d * ((one - V) + np.log(V))
            )

        active = np.flatnonzero(cond(X, V, U, d))
        while active.size:
            triple = _split_raw(key[active], 3)
            key[active] = triple[:, 0]
            x_key, u_key = triple[:, 1], triple[:, 2]
            ca = c[active]
            # inner loop: draw x ~ N(0, 1) until v = 1 + x c > 0
            x = np.zeros(active.size, dtype)
            v = np.full(active.size, -1, dtype)
            inner = np.flatnonzero(v <= 0)
            while inner.size:
                pair = _split_raw(x_key[inner], 2)
                x_key[inner] = pair[:, 0]
                xi = _normal_scalar_raw(pair[:, 1], dtype)
                x[inner] = xi
                v[inner] = one + xi * ca[inner]
                inner = inner[v[inner] <= 0]
            X[active] = x * x
            V[active] = (v * v) * v
            U[active] = _uniform_scalar_raw(u_key, dtype)
            still = cond(X[active], V[active], U[active], d[active])
            active = active[still]
        if log_space:
            u = _uniform_scalar_raw(subkey, dtype)
            log_samples = np.log1p(-u)  # minus an exponential draw
            log_boost = np.where(
                boost_mask | (log_samples == 0), dtype.type(0), log_samples * (one / alpha_orig)
            )
            return (np.log(d) + np.log(V)) + log_boost
        samples = one - _uniform_scalar_raw(subkey, dtype)
        boost = np.where(boost_mask, one, np.power(samples, one / alpha_orig))
        return (d * V) * boost


def _gamma_impl(key, a, *, log_space):
    """``random_gamma``: ``key`` holds key data ``(*k, 2)`` whose leading shape ``k`` is a prefix
    of ``a.shape``; each key is split into one key per element of ``a`` below it."""
    a = np.asarray(a)
    key = np.asarray(key, _U32)
    kshape = key.shape[:-1]
    count = math.prod(a.shape[len(kshape) :])
    keys = key.reshape(-1, 2)
    keys = _split_raw(keys, count).reshape(-1, 2)
    alphas = a.reshape(-1)
    if alphas.size == 0:
        return np.zeros(a.shape, a.dtype)
    out = _gamma_one_raw(keys, alphas, log_space).reshape(a.shape)
    return out if out.ndim else out[()]


def _gamma_abstract(key, a, *, log_space):
    return ShapedArray(a.shape, a.dtype)


def _gamma_vjp(ct, ans, key, a, *, log_space):
    return ct * _gamma_tangent(ans, a, log_space)


def _gamma_tangent(ans, a, log_space):
    """``d sample / d a`` (JAX's ``_gamma_grad``)."""
    if not log_space:
        return random_gamma_grad(a, ans)
    sample = exp(ans)
    tiny = float(np.finfo(sample.dtype).tiny)
    sample = where(equal(sample, 0.0), tiny, sample)
    return random_gamma_grad(a, sample) / sample


def _gamma_batch(values, bdims, *, log_space):
    key, a = values
    dk, da = bdims
    size = batch_size(values, bdims)
    key = batch_at(key, dk, size)
    a = batch_at(a, da, size)
    return bind_here(random_gamma_p, [key, a], {"log_space": log_space}), 0


random_gamma_p, _random_gamma = primitive(
    "random_gamma", _gamma_impl, vjp=(None, _gamma_vjp), weak="never"
)
random_gamma_p.abstract = _gamma_abstract
random_gamma_p.batch = _gamma_batch


def random_gamma(key_data, a, log_space=False):
    """Gamma(a) samples (their logs with ``log_space``), one per element of ``a``; ``key_data``
    is uint32 ``(*k, 2)`` with ``k`` a prefix of ``a.shape``."""
    return _random_gamma(key_data, a, log_space=bool(log_space))


def _gamma_grad_raw(a, x):
    """``d x / d a`` at a sample ``x`` of Gamma(a) (implicit reparameterization: minus the
    derivative of the CDF in ``a`` over its density), in float64.

    Below ``max(1, a)`` the CDF's series is differentiated term by term, above it the continued
    fraction of the upper tail (Cephes' ``igam``/``igamc``) is, with each term carried as a
    value and a derivative in ``a``.
    """
    a = np.asarray(a, np.float64)
    x = np.asarray(x, np.float64)
    a, x = np.broadcast_arrays(a, x)
    out = np.zeros(a.shape)
    with np.errstate(all="ignore"):
        logx = np.log(x)
        psi = digamma_raw(np.where(a > 0, a, 1.0))
        series = (x <= 1) | (x <= a)
        i = np.flatnonzero(series.reshape(-1) & (x.reshape(-1) > 0))
        if i.size:
            out.reshape(-1)[i] = _series_grad(
                a.reshape(-1)[i], x.reshape(-1)[i], logx.reshape(-1)[i], psi.reshape(-1)[i]
            )
        j = np.flatnonzero(~series.reshape(-1) & np.isfinite(x.reshape(-1)))
        if j.size:
            out.reshape(-1)[j] = _fraction_grad(
                a.reshape(-1)[j], x.reshape(-1)[j], logx.reshape(-1)[j], psi.reshape(-1)[j]
            )
        out = np.where(x == 0, 0.0, out)
        out = np.where(np.isinf(x), np.inf, out)
        out = np.where(np.isnan(a) | np.isnan(x) | (a <= 0), np.nan, out)
    return out


def _series_grad(a, x, logx, psi):
    # P(a, x) = x^a e^-x / Gamma(a + 1) * S, S = sum_n x^n / ((a+1)...(a+n)); the density is
    # x^(a-1) e^-x / Gamma(a), so dx/da = -dP/da / density = -(x / a) (S' + S (log x - psi(a)
    # - 1/a)), S' = dS/da.
    s = np.ones_like(a)
    ds = np.zeros_like(a)
    c = np.ones_like(a)
    dc = np.zeros_like(a)
    r = a.copy()
    active = np.arange(a.size)
    for _ in range(10000):
        r[active] += 1
        ra = r[active]
        xa = x[active]
        # c <- c * x / r; dc <- dc * x / r - c * x / r^2 (dr/da = 1)
        new_c = c[active] * xa / ra
        dc[active] = dc[active] * xa / ra - new_c / ra
        c[active] = new_c
        s[active] += new_c
        ds[active] += dc[active]
        done = (np.abs(new_c) <= 1e-17 * s[active]) & (
            np.abs(dc[active]) <= 1e-17 * np.abs(ds[active]) + 1e-300
        )
        active = active[~done]
        if not active.size:
            break
    return -(x / a) * (ds + s * (logx - psi - 1.0 / a))


def _fraction_grad(a, x, logx, psi):
    # Q(a, x) = x^a e^-x / Gamma(a) * F (Cephes' continued fraction F = pk/qk); the density is
    # x^(a-1) e^-x / Gamma(a), so dx/da = dQ/da / density = x (F' + F (log x - psi(a))).
    big = 4503599627370496.0
    biginv = 2.220446049250313080847e-16
    y = 1.0 - a
    z = x + y + 1.0
    c = np.zeros_like(a)
    pkm2 = np.ones_like(a)
    dpkm2 = np.zeros_like(a)
    qkm2 = x.copy()
    dqkm2 = np.zeros_like(a)
    pkm1 = x + 1.0
    dpkm1 = np.zeros_like(a)
    qkm1 = z * x
    dqkm1 = -x  # dz/da = -1
    ans = pkm1 / qkm1
    dans = (dpkm1 * qkm1 - pkm1 * dqkm1) / (qkm1 * qkm1)
    dy, dz = -1.0, -1.0
    done = np.zeros(a.shape, bool)  # each element stops on its own: batch-independent values
    for _ in range(10000):
        c = c + 1.0
        y = y + 1.0
        z = z + 2.0
        yc = y * c
        dyc = dy * c
        pk = pkm1 * z - pkm2 * yc
        dpk = dpkm1 * z + pkm1 * dz - dpkm2 * yc - pkm2 * dyc
        qk = qkm1 * z - qkm2 * yc
        dqk = dqkm1 * z + qkm1 * dz - dqkm2 * yc - qkm2 * dyc
        ok = (qk != 0) & ~done
        safe_q = np.where(qk != 0, qk, 1.0)
        r = np.where(ok, pk / safe_q, ans)
        dr = np.where(ok, (dpk * qk - pk * dqk) / (safe_q * safe_q), dans)
        t = np.abs((ans - r) / np.where(r != 0, r, 1.0))
        dt = np.abs((dans - dr) / np.where(dr != 0, dr, 1.0))
        ans, dans = r, dr
        done |= (qk != 0) & (t <= 1e-16) & (dt <= 1e-15)
        pkm2, dpkm2, pkm1, dpkm1 = pkm1, dpkm1, pk, dpk
        qkm2, dqkm2, qkm1, dqkm1 = qkm1, dqkm1, qk, dqk
        scale = np.abs(pk) > big
        if scale.any():
            f = np.where(scale, biginv, 1.0)
            pkm2, pkm1, qkm2, qkm1 = pkm2 * f, pkm1 * f, qkm2 * f, qkm1 * f
            dpkm2, dpkm1, dqkm2, dqkm1 = dpkm2 * f, dpkm1 * f, dqkm2 * f, dqkm1 * f
        if done.all():
            break
    return x * (dans + ans * (logx - psi))


def _gamma_grad_impl(a, x):
    a = np.asarray(a)
    out = _gamma_grad_raw(a, x).astype(a.dtype)
    return out if out.ndim else out[()]


random_gamma_grad_p, _random_gamma_grad = primitive(
    "random_gamma_grad", _gamma_grad_impl, weak="never"
)
random_gamma_grad_p.abstract = lambda a, x: ShapedArray(
    np.broadcast_shapes(a.shape, x.shape), a.dtype
)


def _gamma_grad_batch(values, bdims):
    values, d = align_batched(values, bdims)
    return bind_here(random_gamma_grad_p, values, {}), d


random_gamma_grad_p.batch = _gamma_grad_batch


def random_gamma_grad(a, x):
    """``d x / d a`` for a sample ``x`` of Gamma(a) (JAX's ``lax.random_gamma_grad``)."""
    return _random_gamma_grad(a, x)
