"""``cond`` and ``switch``: the primitive ``cond[branches=(...)] index *operands`` and its rules."""

from __future__ import annotations

import functools

import numpy as np

from pullback._config import config
from pullback._core import Array, Primitive, ShapedArray, state
from pullback._hop.batching import at_parent, batch_jaxpr, forward, unbatched
from pullback._hop.control_flow._common import (
    _as_array,
    _describe,
    _differences,
    _eval_rule,
    _executable,
    _expect,
    _forwarding,
    _is_concrete,
    _mismatch,
    _pick,
    _tree_differences,
    _typematch,
    _with_io,
)
from pullback._hop.partial_eval import (
    dependent_outputs,
    record_outputs,
    run_below,
    vjp_split,
    without_zero_inputs,
    zeros,
)
from pullback._interp.batch import batch_fun
from pullback._interp.stage import aval_of_leaf, trace_flat, trace_to_jaxpr
from pullback._ir import ClosedJaxpr, Eqn, Jaxpr, JaxprTypeError, Var, eval_closed, prune_closed
from pullback._ops import clamp, convert_element_type, equal, maximum, minimum, reshape, where
from pullback._ops._base import batch_at
from pullback.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_unflatten


def _cond_impl(index, *ops, branches):
    # XLA's rule for an index out of range: the last branch
    branch = branches[min(max(int(index), 0), len(branches) - 1)]
    return list(_executable(branch, False)(*ops))


def _cond_abstract(index, *ops, branches):
    if index.shape != () or index.dtype != np.int32:
        raise JaxprTypeError(f"cond: the index must be int32[], got {index.str_short()}")
    for branch in branches:
        _expect("cond branch inputs", branch.in_avals, ops)
        _expect("cond branch outputs", branches[0].out_avals, branch.out_avals)
    return branches[0].out_avals


def _cond_vjp(interp, args, params):
    branches = params["branches"]
    ops = args[1:]
    in_mask = [interp.own(x) for x in ops]
    primals = [interp.primal(a) for a in args]
    if not any(in_mask):
        return interp._constant(cond_p, primals, params)
    deps = [dependent_outputs(b.jaxpr, in_mask) for b in branches]
    out_mask = [any(d) for d in zip(*deps, strict=True)]
    if not any(out_mask):
        return interp._constant(cond_p, primals, params)
    n, n_out = len(ops), len(out_mask)
    splits = [
        vjp_split(b, in_mask, out_mask, [True] * n, [False] * n, "a cond branch") for b in branches
    ]
    # the backward cond takes the operands that some branch's backward pass reads, the residual
    # slots of the forward cond, and the cotangents
    forwarded = sorted({k for s in splits for kind, k in s.residuals if kind == "input"})
    slot_avals, assignments = _shared_slots([s.computed_avals for s in splits])
    out_avals, in_avals = branches[0].out_avals, branches[0].in_avals
    ct_avals = [a for a, m in zip(out_avals, out_mask, strict=True) if m]
    fwd = tuple(
        _cond_forward_branch(s, slots, slot_avals, in_avals)
        for s, slots in zip(splits, assignments, strict=True)
    )
    bwd_avals = ([in_avals[k] for k in forwarded], slot_avals, ct_avals)
    bwd = tuple(
        _cond_backward_branch(s, slots, forwarded, bwd_avals)
        for s, slots in zip(splits, assignments, strict=True)
    )
    outs = run_below(interp, cond_p, primals, {"branches": fwd})
    residuals = [primals[1 + k] for k in forwarded] + list(outs[n_out:])
    diff = [k for k, m in enumerate(out_mask) if m]
    inputs = (-1, *[x._idx if m else -1 for x, m in zip(ops, in_mask, strict=True)])
    data = (bwd, primals[0], residuals, ct_avals, in_mask)
    return record_outputs(interp, _cond_transpose, inputs, data, outs[:n_out], out_avals, diff)


def _shared_slots(per_branch):
    """Residual slots shared by the branches of a cond: a branch's residual takes a free slot of
    its type, or a new one. Returns ``(slot avals, each branch's slot per residual)``."""
    slots, assignments = [], []
    for avals in per_branch:
        taken, mine = set(), []
        for a in avals:
            k = next((j for j, s in enumerate(slots) if j not in taken and _typematch(s, a)), None)
            if k is None:
                k = len(slots)
                slots.append(_strong(a))
            taken.add(k)
            mine.append(k)
        assignments.append(mine)
    return slots, assignments


def _strong(aval):
    return ShapedArray(aval.shape, aval.dtype)


def _cond_forward_branch(split, slots, slot_avals, in_avals):
    """A branch of the forward cond: its outputs, then every residual slot (zero where another
    branch's residual goes)."""

    def forward(*ins):
        outs = eval_closed(split.fwd, *ins)
        values = [zeros(a) for a in slot_avals]
        for k, r in zip(slots, outs[split.n_out :], strict=True):
            values[k] = r
        return [*outs[: split.n_out], *values]

    return trace_flat(forward, in_avals, "the forward pass of a cond branch")


def _cond_backward_branch(split, slots, forwarded, avals):
    """A branch of the backward cond: ``(forwarded operands, residual slots, cts) -> cts_in``."""
    n_fwd, n_slots = len(avals[0]), len(avals[1])

    def backward(*args):
        operands, slot_values, cts = (
            args[:n_fwd],
            args[n_fwd : n_fwd + n_slots],
            args[n_fwd + n_slots :],
        )
        residuals = [
            operands[forwarded.index(k)] if kind == "input" else slot_values[slots[k]]
            for kind, k in split.residuals
        ]
        return eval_closed(split.bwd, *residuals, *cts)

    return trace_flat(
        backward, [a for group in avals for a in group], "the backward pass of a cond branch"
    )


def _cond_transpose(ct, branches, index, residuals, ct_avals, in_mask):
    cts = (ct,) if len(ct_avals) == 1 else ct
    first_ct = len(residuals)
    absent = [first_ct + j for j, c in enumerate(cts) if c is None]
    if absent:  # outputs nobody used: their cotangents are symbolic zeros
        branches = tuple(without_zero_inputs(b, absent) for b in branches)
    operands = [index, *residuals, *(c for c in cts if c is not None)]
    cts_in = iter(state.interp.process(cond_p, operands, {"branches": branches}))
    return (None, *[next(cts_in) if m else None for m in in_mask])


cond_p = Primitive("cond", _cond_impl, multiple_results=True)
cond_p.abstract = _cond_abstract
cond_p.rules["eval"] = _eval_rule(cond_p, lambda branches: branches[0].out_avals)
cond_p.rules["vjp"] = _cond_vjp


def _cond_dce(eqn, used):
    """Unused outputs leave every branch, and operands no branch reads leave the equation."""
    branches = eqn.params["branches"]
    reads = [prune_closed(b, used)[1] for b in branches]
    read = {k for k, r in enumerate(zip(*reads)) if any(r)}
    if all(used) and len(read) == len(eqn.invars) - 1:
        return eqn
    branches = tuple(prune_closed(b, used, keep_inputs=read)[0] for b in branches)
    operands = [v for k, v in enumerate(eqn.invars[1:]) if k in read]
    outvars = [v for v, u in zip(eqn.outvars, used, strict=True) if u]
    return Eqn(cond_p, [eqn.invars[0], *operands], outvars, {"branches": branches})


cond_p.rules["dce"] = _cond_dce

_NO_OPERAND = object()


def cond(pred, true_fun, false_fun, *operands, operand=_NO_OPERAND):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``; both are traced, and
    their outputs must have the same types.

    >>> import pullback.numpy as jnp
    >>> from pullback import lax
    >>> lax.cond(jnp.float32(2.0) > 0, jnp.sin, lambda x: 3 * x, jnp.float32(2.0))
    Array(0.9092974, dtype=float32)
    """
    if not (callable(true_fun) and callable(false_fun)):
        raise TypeError("lax.cond: true_fun and false_fun arguments should be callable.")
    if operand is not _NO_OPERAND:
        if operands:
            raise TypeError(
                f"lax.cond: if 'operand' keyword is passed then no positional operands can be "
                f"passed, got operand={operand!r} and positional operands {operands}"
            )
        operands = (operand,)
    if pred is None:
        raise TypeError("lax.cond: the predicate is None; pass a boolean or number scalar.")
    if isinstance(pred, (list, tuple)) or np.ndim(pred) != 0:
        what = (
            f"type {type(pred)}" if isinstance(pred, (list, tuple)) else f"shape {np.shape(pred)}"
        )
        raise TypeError(f"lax.cond: Pred must be a scalar, got {pred} of {what}.")
    try:
        kind = aval_of_leaf(pred).dtype.kind
    except TypeError:
        kind = None
    if kind != "b":
        if kind is None or kind not in "iuf":
            raise TypeError(f"lax.cond: Pred type must be either boolean or number, got {pred}.")
        pred = pred != 0
    if config.jax_disable_jit and _is_concrete(pred):
        return true_fun(*operands) if pred else false_fun(*operands)
    index = convert_element_type(pred, np.int32)
    return _cond_call("cond", index, (true_fun, false_fun), ("true_fun", "false_fun"), operands)


def switch(index, branches, *operands):
    """``branches[index](*operands)``, with ``index`` clamped to ``[0, len(branches) - 1]``.

    >>> from pullback import lax
    >>> lax.switch(5, [lambda x: x + 1.0, lambda x: x * 10.0], 2.0)
    Array(20., dtype=float32, weak_type=True)
    """
    if isinstance(index, (list, tuple)) or np.ndim(index) != 0:
        raise TypeError(
            f"lax.switch: Branch index must be scalar, got {index} of shape {np.shape(index)}."
        )
    try:
        dtype = aval_of_leaf(index).dtype
    except TypeError:
        raise TypeError(f"lax.switch: Index type must be an integer, got {index}.") from None
    if dtype.kind not in "iu":
        raise TypeError(f"lax.switch: Index type must be an integer, got {index} as {dtype}.")
    branches = tuple(branches)
    if not branches:
        raise ValueError("lax.switch: empty branch sequence; pass at least one branch.")
    if not all(callable(b) for b in branches):
        raise TypeError("lax.switch: every branch must be callable.")
    if len(branches) == 1:
        return branches[0](*operands)
    index = convert_element_type(index, np.int32)
    index = clamp(np.array(0, np.int32), index, np.array(len(branches) - 1, np.int32))
    if config.jax_disable_jit and _is_concrete(index):
        return branches[int(index)](*operands)
    names = tuple(f"branch {k}" for k in range(len(branches)))
    return _cond_call("switch", index, branches, names, operands)


def _cond_call(api, index, funs, names, operands):
    traced = [
        trace_to_jaxpr(f, operands, f"{name} ({_describe(f)}) for lax.{api}")
        for f, name in zip(funs, names, strict=True)
    ]
    for k in range(1, len(traced)):
        _check_branch_outputs(api, names[0], names[k], funs[0], funs[k], traced[0], traced[k])
    jaxprs, consts = _branches_closure_convert([closed for closed, _ in traced])
    if api == "cond":
        jaxprs.reverse()  # the index of a cond is 0 for false_fun
    inputs = [*consts, *tree_flatten(operands)[0]]
    # as JAX does, an output that every branch forwards from the same input is that input
    forwarded = [
        srcs[0] if len(set(srcs)) == 1 else None
        for srcs in zip(*(_forwarding(j.jaxpr) for j in jaxprs), strict=True)
    ]
    keep = [i is None for i in forwarded]
    jaxprs = [_with_io(j, j.jaxpr.invars, _pick(j.jaxpr.outvars, keep)) for j in jaxprs]
    outs = iter(state.interp.process(cond_p, [index, *inputs], {"branches": tuple(jaxprs)}))
    outs = [next(outs) if i is None else _as_array(inputs[i]) for i in forwarded]
    return tree_unflatten(traced[0][1], outs)


def _check_branch_outputs(api, name1, name2, f1, f2, traced1, traced2):
    (closed1, tree1), (closed2, tree2) = traced1, traced2
    header = f"{name1} is {_describe(f1)}\n{name2} is {_describe(f2)}\n\n"

    def at(path):
        return f" at path {keystr(path)}" if path else ""

    if tree1 != tree2:
        diffs = [
            f"{name1} output{at(p)} is a {k1} but {name2} output{at(p)} is a {k2}, so {why}"
            for p, k1, k2, why in _tree_differences(tree1, tree2)
        ]
        raise TypeError(
            f"{api} branch outputs must have the same pytree structure, but they differ:\n\n"
            f"{header}{_differences(diffs, capitalize=False)}\nRevise {name1} and/or {name2} so "
            f"that they have the same pytree structure."
        )
    paths = [p for p, _ in tree_flatten_with_path(tree_unflatten(tree1, closed1.out_avals))[0]]
    diffs = [
        f"the output of {name1}{at(p)} has type {a.str_short()} but the corresponding output of "
        f"{name2} has type {b.str_short()}{_mismatch(a, b)}"
        for p, a, b in zip(paths, closed1.out_avals, closed2.out_avals, strict=True)
        if not _typematch(a, b)
    ]
    if diffs:
        raise TypeError(
            f"{api} branches must have equal output types but they differ.\n\n{header}"
            f"{_differences(diffs)}\nRevise {name1} and/or {name2} so that all output types match."
        )


def _branches_closure_convert(closeds):
    """Branches as jaxprs taking ``(*consts, *inputs)`` for one list ``consts``, in which a value
    that several branches close over appears once (as JAX shares them). Returns ``(jaxprs,
    consts)``."""
    consts, slot_of = [], {}
    jaxprs = []
    for closed in closeds:
        jaxpr = closed.jaxpr
        mine = {}
        for v, c in zip(jaxpr.constvars, closed.consts, strict=True):
            # the staging interpreter wraps a closed-over array anew in each trace
            key = (id(c._value), c._weak) if type(c) is Array else id(c)
            k = slot_of.get(key)
            if k is None or k in mine:
                k = len(consts)
                consts.append(c)
                slot_of.setdefault(key, k)
            mine[k] = v
        jaxprs.append((jaxpr, mine))
    converted = []
    for jaxpr, mine in jaxprs:
        lead = [mine[k] if k in mine else Var(aval_of_leaf(c)) for k, c in enumerate(consts)]
        converted.append(ClosedJaxpr(Jaxpr([], lead + jaxpr.invars, jaxpr.outvars, jaxpr.eqns), []))
    return converted, consts


def _cond_batch(interp, args, params):
    """An unbatched index picks one batched branch; a batched index runs every branch on the
    whole batch and picks each member's result with ``select`` (as JAX does)."""
    branches = params["branches"]
    dims = [interp.bdim(a) for a in args]
    if unbatched(interp, args, *branches):
        return forward(interp, cond_p, args, params)
    index, ops = interp.value(args[0]), [interp.value(a) for a in args[1:]]
    size, name = interp.axis_size, interp.axis_name

    def unbatched_index():
        batched = []
        for b in branches:
            jaxpr, consts = batch_jaxpr(
                b, ops, dims[1:], [True] * len(b.out_avals), size, name, "a batched cond branch"
            )
            assert not consts, "a cond branch closes over nothing"
            batched.append(jaxpr)
        return interp.parent.process(cond_p, [index, *ops], {"branches": tuple(batched)})

    def batched_index():
        outs = [
            batch_fun(functools.partial(eval_closed, b), dims[1:], size, name)(*ops)
            for b in branches
        ]
        which = batch_at(index, dims[0], size)
        which = maximum(
            minimum(which, len(branches) - 1), 0
        )  # cond's rule for an index out of range
        result = outs[0]
        for k in range(1, len(branches)):
            chosen = equal(which, k)
            result = [
                where(reshape(chosen, (size,) + (1,) * (o.ndim - 1)), o, r)
                for o, r in zip(outs[k], result, strict=True)
            ]
        return result

    outs = at_parent(interp, unbatched_index if dims[0] is None else batched_index)
    return [interp.lift(o, 0) for o in outs]


cond_p.rules["batch"] = _cond_batch
