"""Batching a staged body: the tool of the higher-order primitives' ``batch`` rules.

``batch_jaxpr`` traces a closed jaxpr run under a batching interpreter into a new closed jaxpr
(at the level that is current), whose outputs carry the batch axis at 0 where asked.
"""

from __future__ import annotations

from pullback._core import ShapedArray, Tracer, state
from pullback._interp.batch import batch_call
from pullback._interp.stage import aval_of_leaf, hoist_tracers, trace_flat
from pullback._ir import ClosedJaxpr, Var, eval_closed
from pullback._ops._base import batch_at
from pullback._ops.collectives import axis_index_p

__all__ = [
    "batch_jaxpr",
    "at_parent",
    "forward",
    "batched_outputs",
    "batched_carry",
    "unbatched",
    "per_example_aval",
]


def batch_jaxpr(closed, values, in_dims, out_batched, size, axis_name, context):
    """``(jaxpr, consts)``: ``closed`` batched for inputs like ``values`` (batched at
    ``in_dims``); output ``k`` has its batch axis at 0 when ``out_batched[k]`` (broadcast if need
    be), and none otherwise (the caller knows it has none). ``consts`` are tracers of enclosing
    transformations the new jaxpr takes as leading inputs."""

    def body(*args):
        outs, dims = batch_call(lambda *a: eval_closed(closed, *a), args, in_dims, size, axis_name)
        result = []
        for v, d, batched in zip(outs, dims, out_batched, strict=True):
            if batched:
                result.append(batch_at(v, d, size))
            else:
                if d is not None:
                    raise AssertionError(f"{context}: an output expected unbatched is batched")
                result.append(v)
        return result

    new = trace_flat(body, [aval_of_leaf(v) for v in values], context)
    return hoist_tracers(new, lambda c: isinstance(c, Tracer))


def per_example_aval(aval, dim):
    """The per-example type of a value whose batch axis is ``dim`` (``None``: not batched)."""
    if dim is None:
        return aval
    shape = aval.shape[:dim] + aval.shape[dim + 1 :]
    return ShapedArray(shape, aval.dtype, aval.weak_type)


def at_parent(interp, fn, *args):
    """``fn(*args)`` with the parent of ``interp`` current."""
    saved = state.interp
    state.interp = interp.parent
    try:
        return fn(*args)
    finally:
        state.interp = saved


def forward(interp, prim, args, params):
    """``prim`` on arguments none of which ``interp`` batches: the parent's business."""
    return at_parent(interp, interp.parent.process, prim, [interp.value(a) for a in args], params)


def batched_outputs(jaxpr, in_mask):
    """Which outputs of ``jaxpr`` have a batch axis when the inputs in ``in_mask`` have one
    (conservative: an equation with a batched input has batched outputs; ``axis_index`` is
    batched by itself)."""
    batched = {v for v, m in zip(jaxpr.invars, in_mask, strict=True) if m}
    for eqn in jaxpr.eqns:
        if eqn.prim is axis_index_p or any(type(v) is Var and v in batched for v in eqn.invars):
            batched.update(eqn.outvars)
    return [type(v) is Var and v in batched for v in jaxpr.outvars]


def batched_carry(jaxpr, const_mask, carry_mask, xs_mask):
    """The carries of a loop body that are batched after any number of iterations."""
    n = len(carry_mask)
    while True:
        outs = batched_outputs(jaxpr, [*const_mask, *carry_mask, *xs_mask])[:n]
        new = [c or o for c, o in zip(carry_mask, outs, strict=True)]
        if new == carry_mask:
            return carry_mask
        carry_mask = new


def unbatched(interp, args, *jaxprs):
    """Whether nothing about this call is batched by ``interp``: no argument, and no collective
    over its axis inside the bodies ``jaxprs`` (which makes values batched by itself)."""
    if any(interp.bdim(a) is not None for a in args):
        return False
    return interp.axis_name is None or not any(_uses_axis(j, interp.axis_name) for j in jaxprs)


def _uses_axis(closed, name):
    for eqn in closed.jaxpr.eqns:
        params = eqn.params
        if eqn.prim.rules.get("unfoldable") and (
            name in params.get("axes", ()) or params.get("axis_name") == name
        ):
            return True
        for p in params.values():
            subs = p if type(p) is tuple else (p,)
            if any(isinstance(s, ClosedJaxpr) and _uses_axis(s, name) for s in subs):
                return True
    return False
