"""``expm``: JAX's Padé scaling and squaring, differentiated through the Fréchet derivative
(``expm_frechet``, the exponential of the block matrix ``[[A, E], [0, A]]``)."""

from __future__ import annotations

import numpy as np

from pullback._core import ShapedArray
from pullback._ops._base import primitive
from pullback._ops.creation import full
from pullback._ops.decompositions._common import (
    _T,
    _leading_batch,
    _lu_raw,
    _lu_solve_raw,
    _quiet,
    _solve_triangular_raw,
    _square_shape,
)
from pullback._ops.elementwise import absolute, equal, where
from pullback._ops.reductions import reduce_max
from pullback._ops.shape import concatenate, static_slice
from pullback._ops.structural import reduce_sum, reshape, stop_gradient

# -- expm -------------------------------------------------------------------------------------

_PADE_B = {
    3: (120.0, 60.0, 12.0, 1.0),
    5: (30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0),
    7: (17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0),
    9: (
        17643225600.0,
        8821612800.0,
        2075673600.0,
        302702400.0,
        30270240.0,
        2162160.0,
        110880.0,
        3960.0,
        90.0,
        1.0,
    ),
    13: (
        6.476475253248e16,
        3.238237626624e16,
        7771770303897600.0,
        1187353796428800.0,
        129060195264000.0,
        10559470521600.0,
        670442572800.0,
        33522128640.0,
        1323241920.0,
        40840800.0,
        960960.0,
        16380.0,
        182.0,
        1.0,
    ),
}

# (largest 1-norm before scaling, the 1-norm bounds between Padé degrees, the degrees): JAX's
_PADE_PLAN = {
    4: (3.92572478313866, (0.4258730016922831, 1.880152677804762), (3, 5, 7)),
    8: (
        5.371920351148152,
        (0.01495585217958292, 0.253939833006323, 0.9504178996162932, 2.097847961257068),
        (3, 5, 7, 9, 13),
    ),
}


def _pade(a, degree):
    """JAX's ``_pade{degree}``: ``(U, V)`` with ``exp(A) ~ (V - U)^-1 (V + U)``."""
    b = _PADE_B[degree]
    ident = np.eye(a.shape[-1], dtype=a.dtype)
    a2 = a @ a
    if degree == 3:
        return a @ (b[3] * a2 + b[1] * ident), b[2] * a2 + b[0] * ident
    a4 = a2 @ a2
    if degree == 5:
        u = a @ (b[5] * a4 + b[3] * a2 + b[1] * ident)
        return u, b[4] * a4 + b[2] * a2 + b[0] * ident
    a6 = a4 @ a2
    if degree == 7:
        u = a @ (b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * ident)
        return u, b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * ident
    if degree == 9:
        a8 = a6 @ a2
        u = a @ (b[9] * a8 + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * ident)
        return u, b[8] * a8 + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * ident
    u = a @ (
        a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2)
        + b[7] * a6
        + b[5] * a4
        + b[3] * a2
        + b[1] * ident
    )
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2
    return u, v + b[0] * ident


def _expm_matrix(a, upper_triangular, max_squarings):
    maxnorm, bounds, degrees = _PADE_PLAN[8 if a.dtype == np.float64 else 4]
    with np.errstate(all="ignore"):
        norm = np.max(np.sum(np.abs(a), axis=0), initial=0).astype(a.dtype)
        squarings = np.maximum(0, np.floor(np.log2(norm / a.dtype.type(maxnorm))))
        if squarings > max_squarings:
            return np.full_like(a, np.nan)
        squarings = int(squarings) if np.isfinite(squarings) else 0  # NaN: a NaN result
        scaled = a / (a.dtype.type(2) ** a.dtype.type(squarings))
        u, v = _pade(scaled, degrees[int(np.digitize(norm, np.asarray(bounds, a.dtype)))])
        p, q = u + v, v - u
        if upper_triangular:
            r = _solve_triangular_raw(np.triu(q), p, False)
        else:
            try:
                r = np.linalg.solve(q, p)
            except np.linalg.LinAlgError:
                lu_, _, perm = _lu_raw(q)
                r = _lu_solve_raw(lu_, perm, p)
        for _ in range(squarings):
            r = r @ r
    return r


def _expm_impl(a, *, upper_triangular, max_squarings):
    out = np.empty(a.shape, a.dtype)
    for idx in np.ndindex(*a.shape[:-2]):
        out[idx] = _expm_matrix(a[idx], upper_triangular, max_squarings)
    return out


def expm_frechet(a, e, max_squarings=16):
    """The Fréchet derivative of ``expm`` at ``a`` in direction ``e``: the top right block of
    ``expm([[a, e], [0, a]])`` (Higham's block method), with ``e`` scaled to ``a``'s 1-norm
    first so that the block's norm (hence its Padé degree and squarings) follows ``a``'s."""
    nd = len(a.shape)
    n = a.shape[-1]
    axes = (nd - 2,)
    norm_a = reduce_max(reduce_sum(absolute(a), axes), (nd - 2,))
    norm_e = reduce_max(reduce_sum(absolute(e), axes), (nd - 2,))
    target = where(equal(norm_a, 0), 1, norm_a)
    scale = stop_gradient(where(equal(norm_e, 0), 1, target / where(equal(norm_e, 0), 1, norm_e)))
    scale = reshape(scale, (*scale.shape, 1, 1))
    zeros = full(a.shape, 0, a.dtype)
    block = concatenate(
        [concatenate([a, e * scale], nd - 1), concatenate([zeros, a], nd - 1)], nd - 2
    )
    big = expm(block, False, max_squarings + 1)
    starts = [0] * nd
    starts[-1] = n
    return static_slice(big, starts, (*a.shape[:-2], n, 2 * n)) / scale


@_quiet
def _expm_vjp(ct, ans, a, *, upper_triangular, max_squarings):
    return expm_frechet(_T(a), ct, max_squarings)


@_quiet
def _expm_jvp(tangents, ans, a, *, upper_triangular, max_squarings):
    return expm_frechet(a, tangents[0], max_squarings)


expm_p, _expm = primitive("expm", _expm_impl, vjp=(_expm_vjp,))
expm_p.abstract = lambda a, *, upper_triangular, max_squarings: ShapedArray(
    _square_shape(a, "expm"), a.dtype, a.weak_type
)
expm_p.jvp = _expm_jvp
expm_p.batch = _leading_batch(expm_p)


def expm(a, upper_triangular=False, max_squarings=16):
    """The matrix exponential of each matrix in ``a`` by JAX's Padé scaling and squaring (NaN
    when it needs more than ``max_squarings`` squarings); ``upper_triangular`` solves the Padé
    system by substitution."""
    return _expm(a, upper_triangular=bool(upper_triangular), max_squarings=int(max_squarings))
