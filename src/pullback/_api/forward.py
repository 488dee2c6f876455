"""Forward mode: ``jvp`` and ``linearize``."""

from __future__ import annotations

import numpy as np

from pullback import _dtypes
from pullback._api._common import Residualized, check_callable, check_leaves, fun_name
from pullback._core import (
    Array,
    ShapedArray,
    is_valid_leaf,
    state,
    to_raw,
)
from pullback._hop.forward import PartialStage
from pullback._interp.jvp import JVPInterp, zeros_like_tangent
from pullback._interp.stage import hoist_tracers
from pullback._ir import eval_closed
from pullback._ops import convert_element_type as _convert
from pullback._ops import full as _full
from pullback.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_map,
    tree_unflatten,
)


def _check_jvp_arguments(primals, tangents):
    """JAX's checks of ``jvp``'s arguments; returns the flat primals, tangents and tree."""
    if not (isinstance(primals, (tuple, list)) and isinstance(tangents, (tuple, list))):
        raise TypeError(
            f"primal and tangent arguments to jax.jvp must be tuples or lists; found "
            f"{type(primals).__name__} and {type(tangents).__name__}."
        )
    p_leaves, p_tree = tree_flatten(tuple(primals))
    t_leaves, t_tree = tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise TypeError(
            f"primal and tangent arguments to jax.jvp must have the same tree structure; primals "
            f"have tree structure {p_tree} whereas tangents have tree structure {t_tree}."
        )
    check_leaves(p_leaves, tuple(primals), "primals")
    check_leaves(t_leaves, tuple(tangents), "tangents")
    paths = None
    for k, (p, t) in enumerate(zip(p_leaves, t_leaves, strict=True)):
        pa, ta = _aval(p), _aval(t)
        expected = _dtypes.tangent_dtype(pa.dtype)
        if pa.shape != ta.shape or ta.dtype != expected:
            paths = paths or [keystr(path) for path, _ in tree_flatten_with_path(tuple(primals))[0]]
            where = f"primals{paths[k]}"
            if pa.shape != ta.shape:
                # JAX's wording, its missing space included
                raise ValueError(
                    f"jvp called with different primal and tangent shapes;Got primal shape "
                    f"{pa.shape} and tangent shape as {ta.shape} (at {where})."
                )
            expected = "float0" if expected == _dtypes.float0 else expected.name
            raise TypeError(
                f"primal and tangent arguments to jax.jvp do not match; dtypes must be equal, or "
                f"in case of int/bool primal dtype the tangent dtype must be float0.Got primal "
                f"dtype {pa.dtype.name} and so expected tangent dtype {expected}, but got tangent "
                f"dtype {ta.dtype.name} instead. The mismatch is at {where}."
            )
    return p_leaves, t_leaves, p_tree


def _aval(x):
    if isinstance(x, Array):
        return x.aval
    if isinstance(x, np.ndarray) and x.dtype == _dtypes.float0:  # NumPy cannot canonicalize it
        return ShapedArray(x.shape, x.dtype)
    raw, weak = to_raw(x)
    return ShapedArray(np.shape(raw), raw.dtype, weak)


def _run_jvp(fun, p_leaves, t_leaves, tree, has_aux):
    """``fun`` under a fresh forward-mode interpreter; returns ``(out, out tangents, aux)``."""
    interp = JVPInterp(state.interp)
    args = []
    for p, t in zip(p_leaves, t_leaves, strict=True):
        if not isinstance(p, Array):
            p = Array(*to_raw(p))
        if p.dtype.kind in "fc":
            t = t if isinstance(t, Array) else Array(*to_raw(t))
            args.append(interp.lift(p, t))
        else:
            args.append(p)
    saved = state.interp
    state.interp = interp
    try:
        out = fun(*tree_unflatten(tree, args))
    finally:
        state.interp = saved
        interp.active = False
    aux = None
    if has_aux:
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(
                f"expected function with aux output to return a two-element tuple, but got type "
                f"{type(out)} with value {out!r}. {fun_name(fun)} was transformed with "
                f"has_aux=True, so it must return a pair (output, auxiliary data)."
            )
        out, aux = out
        aux = tree_map(interp.primal, aux)
    out_leaves, out_tree = tree_flatten(out)
    primals_out, tangents_out = [], []
    for o in out_leaves:
        if not is_valid_leaf(o):
            raise TypeError(
                f"{fun_name(fun)} returned {o!r} of type {type(o)}, which is not a valid JAX "
                f"type; differentiated functions must return arrays or pytrees of arrays."
            )
        p = interp.primal(o)
        if not isinstance(p, Array):
            p = Array(*to_raw(p))
        primals_out.append(p)
        t = interp.tangent(o)
        if t is None:
            t = zeros_like_tangent(p)
        elif t.weak_type != p.weak_type:  # a tangent takes its primal's weak type, as in JAX
            t = _convert(t, t.dtype, p.weak_type)
        tangents_out.append(t)
    return tree_unflatten(out_tree, primals_out), tree_unflatten(out_tree, tangents_out), aux


def jvp(fun, primals, tangents, has_aux=False):
    """``(fun(*primals), J tangents)``: the Jacobian-vector product of ``fun`` in forward mode.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.jvp(jnp.sin, (0.0,), (2.0,))
    (Array(0., dtype=float32, weak_type=True), Array(2., dtype=float32, weak_type=True))
    """
    check_callable(fun)
    p_leaves, t_leaves, tree = _check_jvp_arguments(primals, tangents)
    out, t_out, aux = _run_jvp(fun, p_leaves, t_leaves, tree, has_aux)
    return (out, t_out, aux) if has_aux else (out, t_out)


class _LinearizedProgram:
    """The linear map ``linearize`` returns, as a jaxpr of ``(*residuals, *tangents)``."""

    def __init__(self, closed, primals, in_tree, inexact, out_tree, fun, weaks):
        self._weaks = weaks  # the primal outputs' weak types, which the tangents take (as JAX)
        self._closed = closed
        # stand-ins of the primals' shapes and dtypes, for the tangents' checks
        self._primals = tree_unflatten(
            in_tree, [np.broadcast_to(np.zeros((), p.dtype), p.shape) for p in primals]
        )
        self._inexact = inexact
        self._out_tree = out_tree
        self.name = f"jvp({fun_name(fun)})"

    def portable(self, residuals):
        return self, residuals

    def run(self, residuals, *tangents):
        _, t_leaves, _ = _check_jvp_arguments(self._primals, tangents)
        ins = [t for t, m in zip(t_leaves, self._inexact, strict=True) if m]
        outs = [
            Array(o._value, w) if type(o) is Array else o
            for o, w in zip(eval_closed(self._closed, *residuals, *ins), self._weaks, strict=True)
        ]
        return tree_unflatten(self._out_tree, outs)


def linearize(fun, *primals):
    """``(fun(*primals), f_jvp)``: the primal computed now, and the linear map ``f_jvp(*tangents)``
    staged into a jaxpr (``make_jaxpr(f_jvp)`` shows it).

    >>> import pullback as jax, pullback.numpy as jnp
    >>> y, f_jvp = jax.linearize(jnp.sin, 0.0)
    >>> f_jvp(2.0)
    Array(2., dtype=float32, weak_type=True)
    """
    check_callable(fun)
    leaves, tree = tree_flatten(primals)
    check_leaves(leaves, primals, "primals")
    leaves = [x if isinstance(x, Array) else Array(*to_raw(x)) for x in leaves]
    saved = state.interp
    stage = PartialStage(saved, f"the function {fun_name(fun)} for linearize")
    interp = JVPInterp(saved, tangent_level=stage)
    inexact = [x.dtype.kind in "fc" for x in leaves]
    args = [
        interp.lift(x, stage.new_input(ShapedArray(x.shape, x.dtype, x.weak_type))) if m else x
        for x, m in zip(leaves, inexact, strict=True)
    ]
    state.interp = interp
    try:
        out = fun(*tree_unflatten(tree, args))
    finally:
        state.interp = saved
        interp.active = False
    out_leaves, out_tree = tree_flatten(out)
    primals_out, tangents_out = [], []
    state.interp = stage
    try:
        for o in out_leaves:
            p = interp.primal(o)
            p = p if isinstance(p, Array) else Array(*to_raw(p))
            primals_out.append(p)
            t = interp.tangent(o)
            if t is None:
                t = _zeros_at(p)
            tangents_out.append(t)
        closed = stage.to_jaxpr(tangents_out)
    finally:
        state.interp = saved
        stage.active = False
    # under a transformation the jaxpr closes over its tracers: they are the residuals
    closed, residuals = hoist_tracers(closed)
    weaks = [p.weak_type for p in primals_out]
    program = _LinearizedProgram(closed, leaves, tree, inexact, out_tree, fun, weaks)
    return tree_unflatten(out_tree, primals_out), Residualized(program, tuple(residuals))


def _zeros_at(p):
    dtype = _dtypes.tangent_dtype(p.dtype)
    if dtype == _dtypes.float0:
        return Array(np.zeros(p.shape, dtype), False)
    return _full(p.shape, 0, dtype)
