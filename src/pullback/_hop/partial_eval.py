"""Reverse mode of a jaxpr, split into a forward and a backward jaxpr.

Higher-order primitives whose bodies are jaxprs (``cond``, ``scan``) differentiate a body ``J(ins)
-> outs`` with one mechanism. ``vjp_split`` traces the *joint* function ``(ins, cts_out) -> (outs,
cts_in)`` — ``J`` replayed under a reverse-mode interpreter whose parent is a staging interpreter,
followed by its backward pass, so every rule (custom_vjp's included) is staged — and partitions its
equations:

* those that depend on the cotangent inputs form the backward jaxpr ``B(residuals, cts_out) ->
  cts_in``;
* the rest form the forward jaxpr ``F(ins) -> (outs, residuals)``;
* the residuals are the forward values that the backward equations use. A residual that is an
  input of ``J`` the caller can pass itself (``forwardable``) is not an output of ``F``, nor is
  one computed from loop-invariant inputs alone (``invariant``): a separate jaxpr computes those
  once, so a scan does not stack them.

Equations that depend on neither (constants) go wherever they are used.

``KnownInterp`` is the same split done while a Python function runs (online partial evaluation):
operations on known values run at once at the parent level, so Python control flow on them works,
and only operations on the interpreter's own (unknown) tracers are staged. ``custom_jvp`` runs its
JVP rule so under reverse mode: the primals are known, the tangents unknown, and the staged part
is the rule's linear part, which is transposed.
"""

from __future__ import annotations

import weakref

import numpy as np

from pullback._core import EVAL, RAW, Array, state, to_raw
from pullback._interp.stage import StageInterp, StageTracer, trace_flat
from pullback._interp.vjp import VJPInterp, backward
from pullback._ir import ClosedJaxpr, Eqn, Jaxpr, Var, dce, eval_closed
from pullback._ops import convert_element_type
from pullback._ops.elementwise import add_p
from pullback._ops.structural import VIEWS

__all__ = [
    "Split",
    "vjp_split",
    "dependent_outputs",
    "zeros",
    "record_outputs",
    "run_below",
    "without_zero_inputs",
    "KnownInterp",
]


def _inexact(aval):
    return aval.dtype.kind in "fc"


def zeros(aval):
    """A zero of type ``aval`` (weak type included, as JAX's zero cotangents) at the current
    level: a raw ndarray under ``RAW``."""
    zero = np.zeros(aval.shape, aval.dtype)
    return zero if state.interp is RAW else Array(zero, aval.weak_type)


def dependent_outputs(jaxpr, in_mask):
    """Which outputs of ``jaxpr`` may depend differentiably on the inputs in ``in_mask``.

    Conservative: an equation with a dependent input makes all its inexact outputs dependent."""
    dependent = {v for v, m in zip(jaxpr.invars, in_mask, strict=True) if m}
    for eqn in jaxpr.eqns:
        if any(type(v) is Var and v in dependent for v in eqn.invars):
            dependent.update(v for v in eqn.outvars if _inexact(v.aval))
    return [type(v) is Var and v in dependent and _inexact(v.aval) for v in jaxpr.outvars]


def record_outputs(interp, rule, inputs, data, outs, out_avals, diff):
    """Put a higher-order primitive on the tape of the reverse-mode interpreter ``interp``: the
    outputs at positions ``diff`` become tracers, the others are constants."""
    weaks = [out_avals[k].weak_type for k in diff]
    tracers = interp.record(rule, inputs, data, [outs[k] for k in diff], weaks)
    result = [interp._lift(o, a.weak_type) for o, a in zip(outs, out_avals, strict=True)]
    for k, t in zip(diff, tracers, strict=True):
        result[k] = t
    return result


def run_below(interp, prim, vals, params):
    """``prim`` on primal values, one level below the reverse-mode interpreter ``interp``."""
    if interp.raw:  # constants may be Python scalars: impls take NumPy values
        return prim.impl(*[to_raw(v)[0] for v in vals], **params)
    return interp.parent.process(prim, vals, params)


class Split:
    """``fwd(ins) -> (outs, computed residuals)``, ``hoisted(invariant ins) -> hoisted residuals``
    and ``bwd(residuals, cts_out) -> cts_in``.

    ``residuals`` says where each input of ``bwd`` before the cotangents comes from:
    ``("input", k)`` is input ``k`` of ``J``, ``("hoisted", j)`` output ``j`` of ``hoisted`` (a
    value computed from loop-invariant inputs only, so a loop computes it once) and
    ``("computed", j)`` extra output ``j`` of ``fwd``. ``bwd`` takes cotangents for the outputs in
    ``out_mask`` and returns them for the inputs in ``in_mask``."""

    __slots__ = ("fwd", "hoisted", "bwd", "residuals", "n_out", "out_mask")

    def __init__(self, fwd, hoisted, bwd, residuals, out_mask):
        self.fwd = fwd
        self.hoisted = hoisted
        self.bwd = bwd
        self.residuals = residuals
        self.out_mask = out_mask
        self.n_out = len(out_mask)

    @property
    def differentiated_outputs(self):
        """The positions of the outputs ``bwd`` takes cotangents for."""
        return [k for k, m in enumerate(self.out_mask) if m]

    @property
    def computed_avals(self):
        return self.fwd.out_avals[self.n_out :]


def vjp_split(closed, in_mask, out_mask, forwardable, invariant, context, saveable=None):
    """Split the reverse mode of ``closed`` (a closed jaxpr with concrete constants) into a
    forward and a backward jaxpr (``Split``). Residuals that are inputs in ``forwardable`` are
    passed as they are; those computed from the inputs in ``invariant`` alone are ``hoisted``.
    ``saveable(eqn)``, a checkpoint policy, says which equations' outputs the forward pass may
    keep; the backward jaxpr recomputes the others (``None``: every one may be kept).
    ``context`` names the body in error messages."""
    n_in = len(in_mask)
    ct_avals = [a for a, m in zip(closed.out_avals, out_mask, strict=True) if m]

    def joint(*args):
        ins, cts = args[:n_in], iter(args[n_in:])
        interp = VJPInterp(state.interp)
        if state.sources:  # the backward pass's equations come from where their entries did
            interp.tape = _SourcedTape()
        tracers = [interp.new_input(x) if m else x for x, m in zip(ins, in_mask, strict=True)]
        saved = state.interp
        state.interp = interp
        try:
            outs = eval_closed(closed, *tracers)
        finally:
            state.interp = saved
            interp.active = False
        seeds = []
        for o, m in zip(outs, out_mask, strict=True):
            if m:
                ct = next(cts)
                if interp.own(o):
                    seeds.append((o._idx, ct))
        grads = backward(interp, seeds)
        cts_in = []
        for t, aval, m in zip(tracers, closed.in_avals, in_mask, strict=True):
            if m:
                ct = grads[t._idx]
                if ct is None:
                    ct = zeros(aval)
                elif ct.dtype != aval.dtype:
                    ct = convert_element_type(ct, aval.dtype)
                cts_in.append(ct)
        return [interp.to_parent(o) for o in outs] + cts_in

    joint_closed = trace_flat(joint, [*closed.in_avals, *ct_avals], f"the derivative of {context}")
    return _partition(joint_closed, n_in, out_mask, forwardable, invariant, saveable)


class _SourcedTape(list):
    """A tape whose entries run their rule with ``state.source`` set to where the operation
    they record was staged from (only while sources are recorded)."""

    __slots__ = ()

    def append(self, entry):
        if entry is not None and state.source is not None:
            rule, inputs, data, n_out = entry
            entry = (_with_source, inputs, (state.source, rule, data), n_out)
        list.append(self, entry)


def _with_source(ct, source, rule, data):
    saved = state.source
    state.source = source
    try:
        return rule(ct, *data)
    finally:
        state.source = saved


def _partition(joint, n_in, out_mask, forwardable, invariant, saveable):
    n_out = len(out_mask)
    jaxpr = joint.jaxpr
    ins = jaxpr.invars[:n_in]
    cts = jaxpr.invars[n_in:]
    backward_vars = set(cts)
    forward_vars = set(ins)
    invariant_vars = {v for v, m in zip(ins, invariant, strict=True) if m}
    fwd_eqns, bwd_eqns, const_eqns = [], [], []
    for eqn in jaxpr.eqns:
        used = [v for v in eqn.invars if type(v) is Var]
        if any(v in backward_vars for v in used):
            bwd_eqns.append(eqn)
            backward_vars.update(eqn.outvars)
        elif any(v in forward_vars for v in used):
            fwd_eqns.append(eqn)
            if all(v in invariant_vars or v not in forward_vars for v in used):
                invariant_vars.update(eqn.outvars)
            forward_vars.update(eqn.outvars)
        else:
            const_eqns.append(eqn)
    outs, cts_in = jaxpr.outvars[:n_out], jaxpr.outvars[n_out:]
    recomputed = _recomputed(fwd_eqns, bwd_eqns, outs, cts_in, forward_vars, saveable)
    if recomputed:  # in the joint's order, which is an order of execution
        recomputed.update(bwd_eqns)
        bwd_eqns = [e for e in jaxpr.eqns if e in recomputed]
    defined_in_bwd = {v for e in bwd_eqns for v in e.outvars}
    bwd_needs = [v for e in bwd_eqns for v in e.invars] + cts_in
    residual_vars = list(
        dict.fromkeys(v for v in bwd_needs if v in forward_vars and v not in defined_in_bwd)
    )
    position = {v: k for k, v in enumerate(ins)}
    residuals, hoisted, computed = [], [], []
    for v in residual_vars:
        k = position.get(v)
        if k is not None and forwardable[k]:
            residuals.append(("input", k))
        elif v in invariant_vars:
            residuals.append(("hoisted", len(hoisted)))
            hoisted.append(v)
        else:
            residuals.append(("computed", len(computed)))
            computed.append(v)
    consts = dict(zip(jaxpr.constvars, joint.consts, strict=True))
    fwd = _closed(consts, ins, outs + computed, const_eqns + fwd_eqns)
    invariant_ins = [v for v, m in zip(ins, invariant, strict=True) if m]
    hoisted = _closed(consts, invariant_ins, hoisted, const_eqns + fwd_eqns)
    bwd = _closed(consts, residual_vars + cts, cts_in, const_eqns + bwd_eqns)
    return Split(fwd, hoisted, bwd, residuals, list(out_mask))


def _recomputed(fwd_eqns, bwd_eqns, outs, cts_in, forward_vars, saveable):
    """The forward equations the backward jaxpr computes again instead of reading their outputs
    as residuals: those the policy ``saveable`` does not let the forward pass keep, then what
    they need in turn, back to values it keeps or the inputs. A view (``structural.VIEWS``)
    that only the backward pass reads is always recomputed: it costs nothing, and the residual
    is then the array it views (a transposed weight is the weight itself)."""
    producer = {v: e for e in fwd_eqns for v in e.outvars}
    read_forward = {v for e in fwd_eqns for v in e.invars if type(v) is Var} | set(outs)
    pending = [v for e in bwd_eqns for v in e.invars if v in forward_vars]
    pending += [v for v in cts_in if v in forward_vars]
    recomputed, seen = set(), set()
    while pending:
        v = pending.pop()
        if v in seen:
            continue
        seen.add(v)
        eqn = producer.get(v)
        if eqn is None or eqn in recomputed:
            continue
        keep = saveable is None or saveable(eqn)
        if keep and not (eqn.prim in VIEWS and not any(o in read_forward for o in eqn.outvars)):
            continue
        recomputed.add(eqn)
        pending.extend(a for a in eqn.invars if type(a) is Var)
    return recomputed


def _closed(consts, invars, outvars, eqns):
    """A closed jaxpr of the equations needed for ``outvars``, with the constants they use."""
    kept, live = dce(outvars, eqns)
    constvars = [v for v in consts if v in live]
    jaxpr = Jaxpr(constvars, invars, outvars, kept)
    return ClosedJaxpr(jaxpr, [consts[v] for v in constvars])


def without_zero_inputs(closed, zero_inputs):
    """``closed`` without its inputs at positions ``zero_inputs``, which are zero cotangents
    (an output nobody used): a backward program specialised as JAX's symbolic zeros are.

    A zero propagates through what is linear in it (``Primitive.transpose``): an equation whose
    linear operands are zero gives zero and is dropped, ``add`` passes its other operand on. As
    in JAX, a zero cotangent is never multiplied out, so ``0 * inf`` does not arise. Any other
    use receives a materialised zero. Cached with ``closed``."""
    key = tuple(sorted(zero_inputs))
    per_closed = _WITHOUT_ZEROS.get(closed)
    if per_closed is None:
        per_closed = _WITHOUT_ZEROS[closed] = {}
    if key not in per_closed:
        per_closed[key] = _without_zero_inputs(closed, set(key))
    return per_closed[key]


_WITHOUT_ZEROS = weakref.WeakKeyDictionary()


def _without_zero_inputs(closed, zero_inputs):
    jaxpr = closed.jaxpr
    zero = {jaxpr.invars[k] for k in zero_inputs}
    consts = dict(zip(jaxpr.constvars, closed.consts, strict=True))
    alias, eqns = {}, []

    def read(a):
        return alias.get(a, a) if type(a) is Var else a

    def materialised(a):
        if type(a) is not Var or a not in zero:
            return a
        var = Var(a.aval)
        consts[var] = np.zeros(a.aval.shape, a.aval.dtype)
        return var

    for eqn in jaxpr.eqns:
        ins = [read(a) for a in eqn.invars]
        zeros_at = [k for k, a in enumerate(ins) if type(a) is Var and a in zero]
        if zeros_at:
            if _gives_zero(eqn.prim, zeros_at, len(ins)):
                zero.update(eqn.outvars)
                continue
            if eqn.prim is add_p and len(zeros_at) == 1:
                other = ins[1 - zeros_at[0]]
                if other.aval.shape == eqn.outvars[0].aval.shape:
                    alias[eqn.outvars[0]] = other
                    continue
            ins = [materialised(a) for a in ins]
        eqns.append(Eqn(eqn.prim, ins, eqn.outvars, eqn.params))
    outvars = [materialised(read(a)) for a in jaxpr.outvars]
    invars = [v for k, v in enumerate(jaxpr.invars) if k not in zero_inputs]
    kept, live = dce(outvars, eqns)
    constvars = [v for v in consts if v in live]
    return ClosedJaxpr(Jaxpr(constvars, invars, outvars, kept), [consts[v] for v in constvars])


def _gives_zero(prim, zeros_at, n_operands):
    """Whether ``prim`` gives zero when its operands at ``zeros_at`` are zero (and the others
    are anything)."""
    linear = prim.transpose
    if linear is None or prim.multiple_results:
        return False
    positions = range(n_operands) if linear.positions is None else linear.positions
    if linear.separately:
        return any(k in positions for k in zeros_at)
    return all(k in zeros_at for k in positions)


class KnownInterp(StageInterp):
    """Stages only operations on its own tracers (the unknowns); an operation on known values
    alone runs at the parent level, where its result stays concrete (or is taped, or staged, by
    the parent). Known values used by staged equations become the jaxpr's constants."""

    __slots__ = ()

    def _own(self, x):
        return type(x) is StageTracer and x._interp is self

    def process(self, prim, args, params):
        for a in args:
            if type(a) is StageTracer and a._interp is self:
                return StageInterp.process(self, prim, args, params)
        return _at(self.parent, self.parent.process, prim, args, params)

    def process1(self, prim, x):
        if self._own(x):
            return StageInterp.process(self, prim, (x,), {})
        return _at(self.parent, self.parent.process1, prim, x)

    def process2(self, prim, x, y):
        if self._own(x) or self._own(y):
            return StageInterp.process2(self, prim, x, y)
        if self.parent is EVAL:  # as eager code does, a Python scalar takes the array's dtype
            if type(y) in (int, float):
                y = Array(x.dtype.type(y), True)
            elif type(x) in (int, float):
                x = Array(y.dtype.type(x), True)
        return _at(self.parent, self.parent.process2, prim, x, y)


def _at(level, fn, *args):
    saved = state.interp
    state.interp = level
    try:
        return fn(*args)
    finally:
        state.interp = saved
