"""``check_grads``: derivatives checked against float64 central differences."""

from __future__ import annotations

import numpy as np

from pullback import _api
from pullback._config import enable_x64
from pullback._core import Array
from pullback._dtypes import float0
from pullback.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_map,
    tree_unflatten,
)

__all__ = ["check_grads"]


def _as64(x):
    value = np.asarray(x)
    if value.dtype.kind == "f":
        value = value.astype(np.float64)
    elif value.dtype.kind == "c":
        value = value.astype(np.complex128)
    return Array(value, False)


def _dot(a, b):
    return float(np.real(np.vdot(np.asarray(b, np.complex128), np.asarray(a, np.complex128))))


def check_grads(f, args, order, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Check the derivatives of ``f`` at ``args`` up to ``order`` (1 or 2), in forward
    (``"fwd"``) and/or reverse (``"rev"``) mode (both by default, as in JAX).

    Inputs are converted to float64 and every directional derivative is compared with a
    central difference; a mismatch raises ``AssertionError`` naming the argument and leaf path.
    At order 2 the first-order JVP and VJP are checked again in every mode, so the modes mix
    (forward over reverse, ...) as in JAX's ``check_grads``.

    >>> import pullback.numpy as jnp
    >>> from pullback.test_util import check_grads
    >>> check_grads(jnp.sin, (0.5,), order=2, modes=("fwd", "rev"))
    """
    modes = tuple(modes)
    unknown = [m for m in modes if m not in ("fwd", "rev")]
    if unknown:
        raise ValueError(f"check_grads: unknown modes {unknown}; use 'fwd' and/or 'rev'.")
    if order not in (1, 2):
        raise ValueError(f"check_grads: order must be 1 or 2, got {order}.")
    eps = 1e-4 if eps is None else eps
    atol = 1e-4 if atol is None else atol
    rtol = 1e-4 if rtol is None else rtol
    rng = np.random.default_rng(0)
    with enable_x64():
        args64 = tree_map(_as64, tuple(args))
        _check(f, args64, 1, order, modes, (atol, rtol, eps), rng, getattr(f, "__name__", repr(f)))


def _check(f, args, level, order, modes, tols, rng, name):
    atol, rtol, eps = tols
    if "fwd" in modes:
        tangents = _check_fwd(f, args, level, atol, rtol, eps, rng, name)
        if level < order:

            def jvp_out(*xs):
                return _api.jvp(f, xs, tangents)[1]

            _check(jvp_out, args, level + 1, order, modes, tols, rng, f"jvp({name})")
    if "rev" in modes:
        ct = _check_rev(f, args, level, atol, rtol, eps, rng, name)
        if level < order:

            def vjp_out(*xs):
                return _api.vjp(f, *xs)[1](ct)

            _check(vjp_out, args, level + 1, order, modes, tols, rng, f"vjp({name})")


def _check_fwd(f, args, level, atol, rtol, eps, rng, name):
    """Compare the JVP along a random direction with central differences, one input leaf at a
    time; return the whole direction (the tangents of the next order's check)."""
    tangents = tree_map(lambda x: _random_tangent(x, rng), args)
    leaves, in_tree = tree_flatten(args)
    t_leaves = tree_leaves(tangents)
    paths = [path for path, _ in tree_flatten_with_path(args)[0]]
    zeros = [Array(np.zeros(np.shape(t), np.asarray(t).dtype), False) for t in t_leaves]
    for k, (path, leaf, direction) in enumerate(zip(paths, leaves, t_leaves, strict=True)):
        if direction.dtype == float0:
            continue
        only_k = tree_unflatten(in_tree, [direction if j == k else z for j, z in enumerate(zeros)])
        _, t_out = _api.jvp(f, args, only_k)

        def along(t, k=k, leaf=leaf, direction=direction):
            moved = list(leaves)
            moved[k] = Array(np.asarray(leaf) + t * np.asarray(direction), False)
            return tree_leaves(f(*tree_unflatten(in_tree, moved)))

        for a, u, d in zip(tree_leaves(t_out), along(eps), along(-eps), strict=True):
            if np.asarray(a).dtype == float0:
                continue
            numeric = (np.asarray(u, np.complex128) - np.asarray(d, np.complex128)) / (2 * eps)
            analytic = np.asarray(a, np.complex128)
            if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
                raise AssertionError(
                    f"check_grads: forward-mode derivative of {name} (order {level}) "
                    f"{_where(path)} disagrees with central differences: JVP gives {analytic}, "
                    f"finite differences give {numeric} (atol={atol}, rtol={rtol}, eps={eps})."
                )
    return tangents


def _where(path):
    """``w.r.t. argument 1, leaf ['w']`` for a leaf at ``path`` of the argument tuple."""
    leaf_path = keystr(path[1:])
    return f"w.r.t. argument {keystr(path[:1])[1:-1]}" + (
        f", leaf {leaf_path}" if leaf_path else ""
    )


def _random_like(x, rng):
    value = np.asarray(x)
    if value.dtype.kind not in "fc":
        return None
    out = rng.standard_normal(value.shape)
    if value.dtype.kind == "c":
        out = out + 1j * rng.standard_normal(value.shape)
    return Array(out.astype(value.dtype), False)


def _random_tangent(x, rng):
    """A random tangent for ``x``: a float0 zero for integer and boolean leaves."""
    t = _random_like(x, rng)
    return Array(np.zeros(np.shape(x), float0), False) if t is None else t


def _check_rev(f, args, level, atol, rtol, eps, rng, name):
    """Compare ``<ct, J v>`` from the VJP with central differences, one input leaf at a time."""
    out, f_vjp = _api.vjp(f, *args)
    ct = tree_map(lambda o: _random_like(o, rng), out)
    if any(c is None for c in tree_leaves(ct, is_leaf=lambda c: c is None)):
        raise TypeError(f"check_grads: {name} has non-float outputs; only float outputs checked.")
    ct_leaves = tree_leaves(f_vjp(ct))
    leaves, in_tree = tree_flatten(args)
    paths = [path for path, _ in tree_flatten_with_path(args)[0]]
    for k, (path, leaf) in enumerate(zip(paths, leaves, strict=True)):
        direction = _random_like(leaf, rng)
        if direction is None:
            continue

        def along(t, k=k, direction=direction):
            moved = list(leaves)
            moved[k] = Array(np.asarray(leaf) + t * np.asarray(direction), False)
            y = f(*tree_unflatten(in_tree, moved))
            return sum(_dot(a, b) for a, b in zip(tree_leaves(y), tree_leaves(ct), strict=True))

        numeric = (along(eps) - along(-eps)) / (2 * eps)
        analytic = _dot(ct_leaves[k], direction)
        if not np.isclose(analytic, numeric, atol=atol, rtol=rtol):
            raise AssertionError(
                f"check_grads: reverse-mode derivative of {name} (order {level}) {_where(path)} "
                f"disagrees with central differences: VJP gives {analytic:.8g}, finite "
                f"differences give "
                f"{numeric:.8g} (atol={atol}, rtol={rtol}, eps={eps})."
            )
    return ct
