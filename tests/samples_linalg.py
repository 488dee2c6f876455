"""Sample rows for the decompositions and solves (``pullback._ops.decompositions``). The row
format is described at the top of ``test_primitives.py``.

Inputs are well conditioned: positive definite matrices with distinct eigenvalues for
``cholesky``/``eigh``, matrices with distinct singular values for ``svd``, dominant diagonals
for the solves, and pivots that no small perturbation changes for ``lu``. References are
NumPy's (``numpy.linalg``), or short loops written here for what NumPy lacks (LU, triangular
solves, the matrix exponential by its Taylor series).

Rows with ``order=0`` are the variants whose derivative is JAX's convention rather than the
derivative of the computed function: JAX differentiates ``cholesky``/``eigh`` with
``symmetrize_input=False`` (and ``expm`` with ``upper_triangular=True``) along every
perturbation, although only one triangle is read. ``tests/test_linalg.py`` checks those
derivatives against JAX.
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(2024)

SAMPLES: dict[str, list[dict]] = {}


def row(*args, ref, **kw):
    return {"args": args, "ref": ref, **kw}


def add(name, *rows):
    SAMPLES.setdefault(name, []).extend(rows)


def u(*shape, lo=-1.0, hi=1.0):
    return _rng.uniform(lo, hi, size=shape)


def spd(*batch, n=3):
    """Positive definite matrices with well separated eigenvalues (1, 2.5, 4, ...)."""
    q, _ = np.linalg.qr(u(*batch, n, n))
    w = 1.0 + 1.5 * np.arange(n)
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def dominant(*batch, n=3):
    """General matrices with a dominant diagonal (well conditioned, fixed LU pivots)."""
    return u(*batch, n, n) + 4.0 * np.eye(n)


def _swap(x):
    return np.swapaxes(x, -1, -2)


def _sym(x):
    return (x + _swap(x)) / 2


# -- cholesky ----------------------------------------------------------------------------------

_noisy_spd = spd() + 0.1 * u(3, 3)  # not symmetric: symmetrize_input makes it so

add(
    "cholesky",
    row(
        _noisy_spd,
        params={"symmetrize_input": True},
        ref=lambda x, symmetrize_input: np.linalg.cholesky(_sym(x)),
        id="symmetrized",
    ),
    row(
        spd(2, n=4),
        params={"symmetrize_input": True},
        ref=lambda x, symmetrize_input: np.linalg.cholesky(_sym(x)),
        id="batched",
    ),
    row(
        np.tril(_noisy_spd) + np.triu(u(3, 3), 1),
        params={"symmetrize_input": False},
        ref=lambda x, symmetrize_input: np.linalg.cholesky(x),
        order=0,
        id="lower-triangle",
    ),
)

# -- triangular_solve --------------------------------------------------------------------------


def _tri_ref(a, b, *, left_side, lower, transpose_a, unit_diagonal):
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        t = t - np.diag(np.diag(t)) + np.eye(a.shape[-1])
    if transpose_a:
        t = t.T
    return np.linalg.inv(t) @ b if left_side else b @ np.linalg.inv(t)


def _tri_params(left_side=True, lower=True, transpose_a=False, unit_diagonal=False):
    return {
        "left_side": left_side,
        "lower": lower,
        "transpose_a": transpose_a,
        "unit_diagonal": unit_diagonal,
    }


add(
    "triangular_solve",
    row(dominant(), u(3, 2), params=_tri_params(), ref=_tri_ref, id="left-lower"),
    row(dominant(), u(3, 2), params=_tri_params(lower=False), ref=_tri_ref, id="left-upper"),
    row(
        dominant(),
        u(3, 2),
        params=_tri_params(transpose_a=True),
        ref=_tri_ref,
        id="left-lower-transposed",
    ),
    row(
        dominant(n=4),
        u(2, 4),
        params=_tri_params(left_side=False, lower=False, transpose_a=True),
        ref=_tri_ref,
        id="right-upper-transposed",
    ),
    row(
        dominant(),
        u(2, 3),
        params=_tri_params(left_side=False, unit_diagonal=True),
        ref=_tri_ref,
        id="right-lower-unit",
    ),
    row(
        dominant(2),
        u(2, 3, 1),
        params=_tri_params(lower=False, unit_diagonal=True),
        ref=lambda a, b, **p: np.stack([_tri_ref(a[i], b[i], **p) for i in range(2)]),
        id="batched-upper-unit",
    ),
)

# -- solve -------------------------------------------------------------------------------------

add(
    "solve",
    row(
        dominant(),
        u(3, 2),
        params={"assume": "gen", "lower": True},
        ref=lambda a, b, **p: np.linalg.solve(a, b),
        id="general",
    ),
    row(
        dominant(2, n=4),
        u(2, 4, 1),
        params={"assume": "gen", "lower": True},
        ref=lambda a, b, **p: np.linalg.solve(a, b),
        id="batched",
    ),
    row(
        spd(),
        u(3, 2),
        params={"assume": "pos", "lower": True},
        ref=lambda a, b, **p: np.linalg.solve(a, b),
        # only b: the derivative in a is JAX's (the whole matrix), only a triangle is read
        wrt=(1,),
        id="positive-definite",
    ),
    row(
        np.triu(spd()) + np.tril(u(3, 3), -1),
        u(3, 2),
        params={"assume": "pos", "lower": False},
        ref=lambda a, b, **p: np.linalg.solve(np.triu(a) + np.triu(a, 1).T, b),
        wrt=(1,),
        id="positive-definite-upper",
    ),
)

# -- lu ----------------------------------------------------------------------------------------


def _lu_ref(a):
    """Gaussian elimination with partial pivoting, one matrix and one entry at a time."""
    if a.ndim > 2:
        outs = [_lu_ref(m) for m in a]
        return [np.stack(o) for o in zip(*outs)]
    a = a.astype(np.float64).copy()
    m, n = a.shape
    perm = list(range(m))
    pivots = []
    for j in range(min(m, n)):
        p = max(range(j, m), key=lambda i: abs(a[i, j]))
        pivots.append(p)
        a[[j, p]] = a[[p, j]]
        perm[j], perm[p] = perm[p], perm[j]
        for i in range(j + 1, m):
            a[i, j] /= a[j, j]
            for c in range(j + 1, n):
                a[i, c] -= a[i, j] * a[j, c]
    return [a, np.array(pivots, np.int32), np.array(perm, np.int32)]


_perm_me = u(3, 3)
_perm_me[2, 0] = 3.0  # the first pivot is a row swap

add(
    "lu",
    row(_perm_me, ref=_lu_ref, id="square"),
    row(u(4, 3) + np.array([[0, 0, 0], [3, 0, 0], [0, 0, 3], [0, 3, 0]]), ref=_lu_ref, id="tall"),
    row(u(3, 4) + np.array([[0, 3, 0, 0], [3, 0, 0, 0], [0, 0, 3, 0]]), ref=_lu_ref, id="wide"),
    row(dominant(2), ref=_lu_ref, id="batched"),
)

# -- qr ----------------------------------------------------------------------------------------


def _qr_ref(mode):
    def ref(x, *, full_matrices):
        return list(np.linalg.qr(x, mode=mode))

    return ref


add(
    "qr",
    row(u(4, 3), params={"full_matrices": False}, ref=_qr_ref("reduced"), id="tall-reduced"),
    row(u(4, 2), params={"full_matrices": True}, ref=_qr_ref("complete"), id="tall-complete"),
    row(u(3, 3), params={"full_matrices": False}, ref=_qr_ref("reduced"), id="square"),
    row(u(2, 4), params={"full_matrices": False}, ref=_qr_ref("reduced"), id="wide"),
    row(u(2, 3, 2), params={"full_matrices": False}, ref=_qr_ref("reduced"), id="batched"),
)

# -- svd ---------------------------------------------------------------------------------------


def _distinct_singular(m, n, *batch):
    """Matrices with singular values 1, 2, 3, ... (well separated)."""
    k = min(m, n)
    qa, _ = np.linalg.qr(u(*batch, m, m))
    qb, _ = np.linalg.qr(u(*batch, n, n))
    s = np.zeros((m, n))
    s[np.arange(k), np.arange(k)] = 1.0 + np.arange(k)
    return qa @ s @ qb


def _svd_ref(x, *, full_matrices):
    return list(np.linalg.svd(x, full_matrices=full_matrices))


add(
    "svd",
    row(_distinct_singular(4, 3), params={"full_matrices": False}, ref=_svd_ref, id="tall"),
    row(_distinct_singular(2, 4), params={"full_matrices": False}, ref=_svd_ref, id="wide"),
    row(_distinct_singular(3, 3), params={"full_matrices": True}, ref=_svd_ref, id="square"),
    row(
        _distinct_singular(3, 2, 2),
        params={"full_matrices": False},
        ref=_svd_ref,
        id="batched",
    ),
    row(
        _distinct_singular(4, 2),
        params={"full_matrices": True},
        ref=_svd_ref,
        order=0,  # JAX: no derivative of full matrices of a non-square matrix
        id="tall-full",
    ),
)
add(
    "singular_values",
    row(_distinct_singular(4, 3), ref=lambda x: np.linalg.svd(x, compute_uv=False), id="tall"),
    row(
        _distinct_singular(2, 3, 2),
        ref=lambda x: np.linalg.svd(x, compute_uv=False),
        id="batched-wide",
    ),
)

# -- eigh --------------------------------------------------------------------------------------


def _eigh_ref(x, *, lower, symmetrize_input):
    if symmetrize_input:
        x = _sym(x)
    return list(np.linalg.eigh(x, UPLO="L" if lower else "U"))


def _eigh_params(lower=True, symmetrize_input=True):
    return {"lower": lower, "symmetrize_input": symmetrize_input}


_lower_only = np.tril(_noisy_spd) + np.triu(u(3, 3), 1)

add(
    "eigh",
    row(_noisy_spd, params=_eigh_params(), ref=_eigh_ref, id="symmetrized"),
    row(spd(2, n=4), params=_eigh_params(lower=False), ref=_eigh_ref, id="batched-upper"),
    row(
        _lower_only,
        params=_eigh_params(symmetrize_input=False),
        ref=_eigh_ref,
        order=0,
        id="lower-triangle",
    ),
)
add(
    "eigvalsh",
    row(_noisy_spd, params=_eigh_params(), ref=lambda x, **p: _eigh_ref(x, **p)[0], id="sym"),
    row(
        spd(2, n=4),
        params=_eigh_params(lower=False),
        ref=lambda x, **p: _eigh_ref(x, **p)[0],
        id="batched-upper",
    ),
    row(
        _lower_only,
        params=_eigh_params(symmetrize_input=False),
        ref=lambda x, **p: _eigh_ref(x, **p)[0],
        order=0,
        id="lower-triangle",
    ),
)

# -- expm --------------------------------------------------------------------------------------


def _expm_ref(a, *, upper_triangular, max_squarings):
    """The Taylor series after scaling by 2^-s, then s squarings (independent of Padé)."""
    if a.ndim > 2:
        return np.stack([_expm_ref(m, upper_triangular=0, max_squarings=0) for m in a])
    s = max(0, int(np.ceil(np.log2(max(np.abs(a).sum(0).max(), 1e-300)))) + 1)
    x = a / 2.0**s
    term = np.eye(a.shape[0])
    out = term.copy()
    for k in range(1, 30):
        term = term @ x / k
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


def _expm_params(upper_triangular=False, max_squarings=16):
    return {"upper_triangular": upper_triangular, "max_squarings": max_squarings}


add(
    "expm",
    row(0.3 * u(3, 3), params=_expm_params(), ref=_expm_ref, id="small"),
    row(3.0 * u(3, 3), params=_expm_params(), ref=_expm_ref, rtol=1e-8, id="squared"),
    row(u(2, 2, 2), params=_expm_params(), ref=_expm_ref, id="batched"),
    row(
        np.triu(u(3, 3)),
        params=_expm_params(upper_triangular=True),
        ref=_expm_ref,
        order=0,
        id="upper-triangular",
    ),
)
