"""``optimize_remat``: a staged ``fwd`` that becomes ``fun`` when its residuals are not read.

A ``custom_vjp`` defined with ``optimize_remat=True`` that reverse mode reaches while staging
(inside a ``checkpoint`` region, a control-flow body, ``jit``) binds ``remat_opt``: ``fwd``
traced into ``fwd_jaxpr`` (residual leaves first, then the outputs, as JAX orders them), with
``fun`` traced beside it. Its ``dce`` rule is the point: when the split of a checkpointed region
keeps none of the residuals in the forward program, the equation there is replaced by a call
of ``fun``, and the recomputation in the backward program keeps ``fwd`` pruned to the residuals.
So an opaque ``fwd`` (a ``pure_callback``, a kernel) runs once, in the backward pass, and the
forward pass runs ``fun``. Everything else (evaluation, differentiation to any order, batching,
forward mode) treats the equation as ``jit`` of ``fwd_jaxpr``: once the split has chosen, the
equation is just ``fwd``.
"""

from __future__ import annotations

from pullback._core import Primitive, ShapedArray
from pullback._hop.custom_call import CustomVJPPrimal, _flat_output, _name, _run_at, _stage_fun
from pullback._hop.custom_vjp_checks import _check_pair, _check_residuals
from pullback._hop.jit import call_eval, jit_p
from pullback._interp.stage import hoist_tracers, trace_flat
from pullback._ir import ClosedJaxpr, Eqn, Jaxpr, Var, prune_closed
from pullback.tree_util import tree_flatten, tree_unflatten

__all__ = ["remat_opt_p", "staged_fwd"]


remat_opt_p = Primitive("remat_opt", None, multiple_results=True)


def _as_jit(params):
    return {"jaxpr": params["fwd_jaxpr"], "name": params["name"]}


def _as_jit_rule(interp, args, params):
    return interp.process(jit_p, args, _as_jit(params))


def _dce(eqn, used):
    params = eqn.params
    n_res = params["num_res"]
    fwd, fun = params["fwd_jaxpr"], params["fun_jaxpr"]
    if not any(used[:n_res]):  # no residual is read: fun computes the outputs
        fun, reads = prune_closed(fun, used[n_res:])
        return _narrowed(jit_p, eqn, used, reads, {"jaxpr": fun, "name": params["name"]})
    if all(used):
        return eqn
    # operands either program reads stay, so that fun can still stand in later
    fun_reads = prune_closed(fun, [True] * len(fun.out_avals))[1]
    keep = {k for k, r in enumerate(fun_reads) if r}
    fwd, reads = prune_closed(fwd, used, keep_inputs=keep)
    fun = _without_inputs(fun, [not r for r in reads])
    narrowed = dict(params, fwd_jaxpr=fwd, fun_jaxpr=fun, num_res=sum(used[:n_res]))
    narrowed["num_consts"] = sum(reads[: params["num_consts"]])
    return _narrowed(remat_opt_p, eqn, used, reads, narrowed)


def _narrowed(prim, eqn, used, reads, params):
    operands = [v for v, r in zip(eqn.invars, reads, strict=True) if r]
    outvars = [v for v, u in zip(eqn.outvars, used, strict=True) if u]
    return Eqn(prim, operands, outvars, params, eqn.source_info)


def _without_inputs(closed, dropped):
    """``closed`` without the inputs at the positions ``dropped`` (which it does not read)."""
    jaxpr = closed.jaxpr
    invars = [v for v, d in zip(jaxpr.invars, dropped, strict=True) if not d]
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, invars, jaxpr.outvars, jaxpr.eqns), closed.consts)


def _abstract(*avals, fwd_jaxpr, **params):
    return fwd_jaxpr.out_avals


remat_opt_p.abstract = _abstract
remat_opt_p.rules["eval"] = lambda interp, args, params: call_eval(interp, args, _as_jit(params))
remat_opt_p.rules["vjp"] = _as_jit_rule
remat_opt_p.rules["jvp"] = _as_jit_rule
remat_opt_p.rules["batch"] = _as_jit_rule
remat_opt_p.rules["inline"] = lambda params: params["fwd_jaxpr"]
remat_opt_p.rules["dce"] = _dce


def staged_fwd(call, fwd_args, parent, fun_jaxpr, fun_consts):
    """``fwd`` on ``fwd_args`` (values of ``parent``, a staging interpreter), staged as one
    ``remat_opt`` equation beside ``fun`` (``fun_jaxpr`` taking ``fun_consts`` first, or
    ``None`` to trace it); returns ``fwd``'s ``(output, residuals)``."""
    cv = call.cv
    symbolic = cv.symbolic_zeros
    values = [a.value for a in fwd_args] if symbolic else list(fwd_args)
    trees = {}

    def fwd(*leaves):
        args = list(leaves)
        if symbolic:  # the perturbation flags are the call's, fixed in the trace
            args = [CustomVJPPrimal(x, a.perturbed) for a, x in zip(fwd_args, args, strict=True)]
        pair = cv.fwd(*args) if call.plain else call.run(cv.fwd, args)
        _check_pair(cv, pair)
        out, res = pair
        _check_residuals(cv, res)
        res_leaves, trees["res"] = tree_flatten(res)
        return [*res_leaves, *_flat_output(call, out, cv.fwd)]

    avals = [ShapedArray(v.shape, v.dtype, v.weak_type) for v in values]
    context = f"the fwd rule {_name(cv.fwd)} of custom_vjp function {cv.__name__}"
    fwd_closed, fwd_consts = hoist_tracers(_run_at(parent, trace_flat, fwd, avals, context))
    if fun_jaxpr is None:
        fun_jaxpr, fun_consts = _run_at(parent, _stage_fun, call, values)
    # one list of operands for both programs: the consts of each, then the arguments
    n_fwd = len(fwd_consts)
    params = {
        "name": cv.__name__,
        "fwd_jaxpr": _with_unused_inputs(fwd_closed, n_fwd, fun_consts),
        "fun_jaxpr": _with_unused_inputs(fun_jaxpr, 0, fwd_consts),
        "num_consts": n_fwd + len(fun_consts),
        "num_res": len(fwd_closed.out_avals) - len(fun_jaxpr.out_avals),
    }
    outs = _run_at(parent, parent.process, remat_opt_p, [*fwd_consts, *fun_consts, *values], params)
    n_res = params["num_res"]
    out = tree_unflatten(call.out_tree, outs[n_res:])
    return out, tree_unflatten(trees["res"], outs[:n_res])


def _with_unused_inputs(closed, at, extra):
    """``closed`` taking, at position ``at``, inputs of the types of ``extra`` it does not
    read."""
    if not extra:
        return closed
    jaxpr = closed.jaxpr
    unused = [Var(ShapedArray(x.shape, x.dtype, x.weak_type)) for x in extra]
    invars = [*jaxpr.invars[:at], *unused, *jaxpr.invars[at:]]
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, invars, jaxpr.outvars, jaxpr.eqns), closed.consts)
