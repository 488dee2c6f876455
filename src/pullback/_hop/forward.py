"""Forward mode beyond single equations: derived JVP rules, JVPs of jaxprs, and the ``"jvp"``
rules of the higher-order primitives.

* **Derived JVPs.** A primitive declared with VJP rules only gets its JVP here, installed into
  ``_interp.jvp`` with ``set_jvp_deriver`` (the interpreter, rank 6, cannot import this layer):
  operands where it is declared ``Linear`` take the primitive applied to their tangents (jointly:
  zeros for the missing ones; ``separately``: one term per varying operand), every other operand
  the *transpose of its VJP rule*, which is linear in the cotangent: ``ct -> vjp_k(ct, ans,
  *args)`` is staged once per (primitive, operand, parameters, types) and transposed with
  ``linear_transpose``'s machinery. The derivative stays written once, in the VJP rule.
* **JVP of a jaxpr** (``jvp_closed``): the body replayed under a ``JVPInterp`` inside a staging
  interpreter, with tangent inputs and outputs laid out after the primals of each group (the
  layout ``scan`` and ``while`` need for their constants, carries and scanned values).
* **Rules**: ``jit`` (the JVP body bound as a new ``jit``, so ``jvp(jit(f))`` stays compiled),
  ``cond``, ``scan``, ``while`` (tangents of carries found by a fixed point), ``pure_callback`` (an
  error), and ``custom_vjp_call``: forward mode of a ``custom_vjp`` function by transposing its
  ``bwd`` rule, which is linear in the cotangent (staged as its derivative in the cotangent at
  zero, so a piecewise-linear ``bwd`` works too; a ``bwd`` that needs concrete cotangents is
  evaluated on one-hot cotangents instead, eagerly).
* **linearize**'s tangent level, ``PartialStage``: staging that computes what it does not own.
"""

from __future__ import annotations

import numpy as np

from pullback import _dtypes
from pullback._core import (
    EVAL,
    RAW,
    Array,
    ConcretizationTypeError,
    ShapedArray,
    UnexpectedTracerError,
    aval_of,
    state,
)
from pullback._hop.callback import pure_callback_p
from pullback._hop.checkpoint import checkpoint_p
from pullback._hop.control_flow import cond_p, scan_p, while_p
from pullback._hop.custom_call import (
    CustomVJPException,
    CustomVJPPrimal,
    SymbolicZero,
    _closure_error,
    _flat_output,
    _guard_closure,
    _name,
    _unflatten,
)
from pullback._hop.custom_vjp import _run_fwd, custom_vjp_call_p
from pullback._hop.custom_vjp_checks import (
    _check_bwd_output,
    _check_fwd_output,
    _check_pair,
    _check_residuals,
)
from pullback._hop.jit import describe_call, jit_p
from pullback._hop.transpose import _Transposer
from pullback._interp.jvp import JVPInterp, JVPTracer, set_jvp_deriver
from pullback._interp.stage import StageInterp, StageTracer, trace_flat
from pullback._ir import eval_closed
from pullback._ops import full, reduce_sum, reshape, stack
from pullback.tree_util import tree_leaves

__all__ = ["jvp_closed", "PartialStage"]


def _at(level, fn, *args):
    """``fn(*args)`` with ``level`` current."""
    saved = state.interp
    state.interp = level
    try:
        return fn(*args)
    finally:
        state.interp = saved


def _zeros(aval):
    return full(aval.shape, 0, aval.dtype)


def _tangent_aval(aval):
    return ShapedArray(aval.shape, _dtypes.tangent_dtype(aval.dtype))


# -- derived JVPs ----------------------------------------------------------------------------


def _derive(prim):
    """The JVP of ``prim`` from its declaration: ``Linear`` operands take ``prim`` applied to
    their tangents, the others the transpose of their VJP rule."""
    linear = prim.transpose

    def jvp(tangents, ans, *args, **params):
        varying = [k for k, t in enumerate(tangents) if t is not None]
        lin = [k for k in varying if linear is not None and linear.allows((k,))]
        terms = []
        if lin and linear.separately:
            for k in lin:
                operands = list(args)
                operands[k] = tangents[k]
                terms.append(prim.bind(*operands, **params))
        elif lin:
            operands = list(args)
            for k in range(len(args)):
                if linear.positions is None or k in linear.positions:
                    t = tangents[k]
                    operands[k] = _zeros(_tangent_aval(aval_of(args[k]))) if t is None else t
            terms.append(prim.bind(*operands, **params))
        for k in varying:
            if k not in lin:
                term = _transposed_vjp(prim, k, tangents[k], ans, args, params)
                if term is not None:
                    terms.append(term)
        return _sum(prim, terms)

    jvp.__name__ = f"{prim.name}_jvp"
    return jvp


def _sum(prim, terms):
    if not terms:
        return None
    total = terms[0]
    for term in terms[1:]:
        if prim.multiple_results:
            total = [a + b for a, b in zip(total, term, strict=True)]
        else:
            total = total + term
    return total


_TRANSPOSED = {}


def _transposed_vjp(prim, k, t, ans, args, params):
    """The term of operand ``k``: the transpose of ``ct -> vjp_k(ct, ans, *args)`` applied to
    ``t`` (staged once per primitive, operand, parameters and types)."""
    if prim.multiple_results:
        raise NotImplementedError(
            f"forward mode of {prim.name}: no JVP rule, and its VJP rule for operand {k} cannot "
            f"be transposed (several results); declare prim.jvp."
        )
    avals = (aval_of(ans), *[aval_of(a) for a in args])
    try:
        key = (prim, k, tuple(sorted(params.items())), avals)
        transposer = _TRANSPOSED.get(key)
    except TypeError:  # an unhashable parameter: stage for this call only
        key, transposer = None, None
    if transposer is None:
        rule = prim.vjp[k]

        def vjp_k(ct, ans, *args):
            g = rule(ct, ans, *args, **params)
            return [_zeros(_tangent_aval(args[k].aval)) if g is None else g]

        closed = trace_flat(
            vjp_k,
            [_tangent_aval(avals[0]), *avals],
            f"the VJP rule of {prim.name} (operand {k}), transposed for forward mode",
        )
        transposer = _Transposer(closed, [True] + [False] * len(avals), f"{prim.name}'s VJP rule")
        if key is not None:
            _TRANSPOSED[key] = transposer
    forward = transposer.forward([None, ans, *args])
    return transposer.backward(forward, [t])[0]


set_jvp_deriver(_derive)


# -- the JVP of a jaxpr ----------------------------------------------------------------------


def _groups(items, sizes):
    out, start = [], 0
    for n in sizes:
        out.append(items[start : start + n])
        start += n
    return out


def jvp_closed(closed, in_mask, instantiate, in_sizes, out_sizes, context):
    """The JVP of ``closed`` as a closed jaxpr, and which outputs have tangents.

    Inputs and outputs are cut into groups (``in_sizes``/``out_sizes``); the JVP takes, group by
    group, the primals and then the tangents of the inputs in ``in_mask``, and returns, group by
    group, the outputs and then the tangents that are not zero or are asked for in
    ``instantiate`` (those are zeros when none arrives). Returns ``(jvp jaxpr, out_mask)``.
    """
    in_avals = closed.in_avals
    out_mask = []
    layout = []
    for g_avals, g_mask in zip(_groups(in_avals, in_sizes), _groups(in_mask, in_sizes)):
        layout += g_avals
        layout += [_tangent_aval(a) for a, m in zip(g_avals, g_mask, strict=True) if m]

    def fn(*flat):
        primals, tangents = [], []
        it = iter(flat)
        for g_mask in _groups(in_mask, in_sizes):
            ps = [next(it) for _ in g_mask]
            primals += ps
            tangents += [next(it) if m else None for m in g_mask]
        parent = state.interp
        interp = JVPInterp(parent)
        tracers = [interp.lift(p, t) for p, t in zip(primals, tangents, strict=True)]
        state.interp = interp
        try:
            outs = eval_closed(closed, *tracers)
        finally:
            state.interp = parent
            interp.active = False
        out_avals = closed.out_avals
        result = []
        out_mask.clear()
        for g in _groups(list(range(len(outs))), out_sizes):
            ts = []
            for j in g:
                o = outs[j]
                result.append(interp.primal(o))
                t = interp.tangent(o)
                if t is None and instantiate[j]:
                    t = _zeros(_tangent_aval(out_avals[j]))
                out_mask.append(t is not None)
                if t is not None:
                    ts.append(t)
            result += ts
        return result

    return trace_flat(fn, layout, context), list(out_mask)


def _split_outs(outs, sizes, out_mask):
    """Primal outputs and tangents (``None`` where zero) from a JVP's grouped outputs."""
    primals, tangents = [], []
    it = iter(outs)
    for g_mask in _groups(out_mask, sizes):
        primals += [next(it) for _ in g_mask]
        tangents += [next(it) if m else None for m in g_mask]
    return primals, tangents


def _interleave(values, tangents, sizes, mask):
    """Operands laid out group by group: primals, then the tangents in ``mask``."""
    out = []
    for vs, ts, ms in zip(
        _groups(values, sizes), _groups(tangents, sizes), _groups(mask, sizes), strict=True
    ):
        out += vs
        out += [t for t, m in zip(ts, ms, strict=True) if m]
    return out


def _hand_to_parent(interp, prim, args, params):
    """Nothing to differentiate here: the parent runs ``prim`` on the primals."""
    parent = interp.parent
    return _at(parent, parent.process, prim, [interp.primal(a) for a in args], params)


def _bind_jvp(interp, prim, params, primals, jvp_params, operands, unpack):
    """Bind the JVP form of a higher-order primitive and return ``(outs, tangents)``.

    Primals and tangents are computed at one level, the parent's; under ``linearize`` (tangents
    staged, primals computed eagerly) the primal outputs come from ``prim`` itself at the parent
    level and the tangents from the JVP form staged at the tangent level."""
    parent, level = interp.parent, interp.tbase
    if level is RAW or level is parent:
        return unpack(_at(parent, parent.process, prim, operands, jvp_params))
    outs = _at(parent, parent.process, prim, primals, params)
    return outs, unpack(_at(level, level.process, prim, operands, jvp_params))[1]


def _lift_all(interp, outs, tangents):
    return [interp.lift(o, t) for o, t in zip(outs, tangents, strict=True)]


def _inputs(interp, args):
    own = [interp.own(a) for a in args]
    primals = [interp.primal(a) for a in args]
    tangents = [interp.tangent(a) for a in args]
    return own, primals, tangents


# -- jit -------------------------------------------------------------------------------------

_JVP_JAXPRS = {}  # (id(closed), mask) -> (closed, jvp jaxpr, out mask); closed kept alive


def call_jvp_rule(prim):
    """The JVP rule of a call primitive whose body is its parameter ``jaxpr`` (``jit``,
    ``checkpoint``): a new call of the body's JVP (cached per body and tangent mask)."""

    def rule(interp, args, params):
        own, primals, tangents = _inputs(interp, args)
        if not any(own):
            return _hand_to_parent(interp, prim, args, params)
        closed = params["jaxpr"]
        key = (id(closed), tuple(own))
        entry = _JVP_JAXPRS.get(key)
        if entry is None or entry[0] is not closed:
            n_in, n_out = len(args), len(closed.out_avals)
            context = f"the JVP of {describe_call(prim, params)}"
            jvp, out_mask = jvp_closed(closed, own, [False] * n_out, [n_in], [n_out], context)
            entry = _JVP_JAXPRS[key] = (closed, jvp, out_mask)
        _, jvp, out_mask = entry
        n_out = len(out_mask)
        outs, touts = _bind_jvp(
            interp,
            prim,
            params,
            primals,
            dict(params, jaxpr=jvp),
            _interleave(primals, tangents, [len(args)], own),
            lambda outs: _split_outs(outs, [n_out], out_mask),
        )
        return _lift_all(interp, outs, touts)

    return rule


jit_p.rules["jvp"] = call_jvp_rule(jit_p)
checkpoint_p.rules["jvp"] = call_jvp_rule(checkpoint_p)


# -- cond ------------------------------------------------------------------------------------


def _cond_jvp(interp, args, params):
    own, primals, tangents = _inputs(interp, args)
    if not any(own):
        return _hand_to_parent(interp, cond_p, args, params)
    branches = params["branches"]
    mask, n_ops = own[1:], len(args) - 1
    n_out = len(branches[0].out_avals)
    out_mask = [False] * n_out
    for _ in range(2):  # the union of the branches' tangent outputs, then every branch gives it
        traced = [
            jvp_closed(b, mask, out_mask, [n_ops], [n_out], "the JVP of a cond branch")
            for b in branches
        ]
        union = [any(ms) for ms in zip(*(m for _, m in traced), strict=True)]
        if union == out_mask:
            break
        out_mask = union
    jvp_branches = tuple(j for j, _ in traced)
    outs, touts = _bind_jvp(
        interp,
        cond_p,
        params,
        primals,
        {"branches": jvp_branches},
        [primals[0], *_interleave(primals[1:], tangents[1:], [n_ops], mask)],
        lambda outs: _split_outs(outs, [n_out], out_mask),
    )
    return _lift_all(interp, outs, touts)


cond_p.rules["jvp"] = _cond_jvp


# -- scan and while: tangents of carries by a fixed point -----------------------------------------


def _carry_fixed_point(trace, carry_mask):
    """Trace with growing carry masks until the carries with tangents out are those in."""
    while True:
        jvp, out_mask = trace(carry_mask)
        grown = [a or b for a, b in zip(carry_mask, out_mask[: len(carry_mask)], strict=True)]
        if grown == carry_mask:
            return jvp, out_mask, carry_mask
        carry_mask = grown


def _scan_jvp(interp, args, params):
    own, primals, tangents = _inputs(interp, args)
    if not any(own):
        return _hand_to_parent(interp, scan_p, args, params)
    closed = params["jaxpr"]
    nc, nk = params["num_consts"], params["num_carry"]
    nx = len(args) - nc - nk
    n_ys = len(closed.out_avals) - nk

    def trace(carry_mask):
        return jvp_closed(
            closed,
            [*own[:nc], *carry_mask, *own[nc + nk :]],
            [*carry_mask, *[False] * n_ys],
            [nc, nk, nx],
            [nk, n_ys],
            "the JVP of a scan body",
        )

    jvp, out_mask, carry_mask = _carry_fixed_point(trace, own[nc : nc + nk])
    mask = [*own[:nc], *carry_mask, *own[nc + nk :]]
    tangents = [
        t
        if t is not None or not m
        else _at_tangent_level(interp, _zeros, _tangent_aval(aval_of(p)))
        for p, t, m in zip(primals, tangents, mask, strict=True)
    ]
    jvp_params = dict(
        params,
        jaxpr=jvp,
        num_consts=nc + sum(own[:nc]),
        num_carry=nk + sum(carry_mask),
    )
    outs, touts = _bind_jvp(
        interp,
        scan_p,
        params,
        primals,
        jvp_params,
        _interleave(primals, tangents, [nc, nk, nx], mask),
        lambda outs: _split_outs(outs, [nk, n_ys], out_mask),
    )
    return _lift_all(interp, outs, touts)


def _at_tangent_level(interp, fn, *args):
    level = interp.tbase
    return _at(EVAL if level is RAW else level, fn, *args)


def _while_jvp(interp, args, params):
    own, primals, tangents = _inputs(interp, args)
    ncc, nbc = params["cond_nconsts"], params["body_nconsts"]
    body, cond = params["body_jaxpr"], params["cond_jaxpr"]
    nk = len(args) - ncc - nbc
    const_mask = own[ncc : ncc + nbc]
    if not any(own[ncc:]):
        return _hand_to_parent(interp, while_p, args, params)

    def trace(carry_mask):
        return jvp_closed(
            body,
            [*const_mask, *carry_mask],
            carry_mask,
            [nbc, nk],
            [nk],
            "the JVP of a while_loop body",
        )

    jvp_body, out_mask, carry_mask = _carry_fixed_point(trace, own[ncc + nbc :])
    jvp_cond, _ = jvp_closed(
        cond, [False] * ncc + carry_mask, [False], [ncc, nk], [1], "a while_loop cond_fun"
    )
    mask = [*const_mask, *carry_mask]
    body_primals, body_tangents = primals[ncc:], tangents[ncc:]
    body_tangents = [
        t
        if t is not None or not m
        else _at_tangent_level(interp, _zeros, _tangent_aval(aval_of(p)))
        for p, t, m in zip(body_primals, body_tangents, mask, strict=True)
    ]
    jvp_params = dict(
        params, cond_jaxpr=jvp_cond, body_jaxpr=jvp_body, body_nconsts=nbc + sum(const_mask)
    )
    outs, touts = _bind_jvp(
        interp,
        while_p,
        params,
        primals,
        jvp_params,
        [*primals[:ncc], *_interleave(body_primals, body_tangents, [nbc, nk], mask)],
        lambda outs: _split_outs(outs, [nk], out_mask),
    )
    return _lift_all(interp, outs, touts)


scan_p.rules["jvp"] = _scan_jvp
while_p.rules["jvp"] = _while_jvp


# -- pure_callback -------------------------------------------------------------------------------


class NoDerivativeError(ValueError):
    """Forward mode reached code that has no derivative rule (a ``pure_callback``)."""


def _pure_callback_jvp(interp, args, params):
    if any(interp.own(a) for a in args):
        raise NoDerivativeError(
            f"pure_callback: cannot apply forward-mode differentiation (jvp) to the callback "
            f"{params['callback'].__name__}: it runs outside pullback, so it has no derivative "
            f"rule (its derivative is unknown, not zero). Wrap the function that calls "
            f"pure_callback in pullback.custom_jvp (or custom_vjp) and give the derivative there."
        )
    return _hand_to_parent(interp, pure_callback_p, args, params)


pure_callback_p.rules["jvp"] = _pure_callback_jvp


# -- custom_vjp: forward mode by transposing bwd -------------------------------------------------


def _custom_vjp_jvp(interp, args, params):
    call = params["_call"]
    cv = call.cv
    n_consts = params.get("_num_consts", 0)
    for c in args[:n_consts]:
        if interp.own(c):
            raise _closure_error(cv, UnexpectedTracerError(), c)
    leaves = args[n_consts:]
    own = [interp.own(a) for a in leaves]
    _check_nondiff(interp, call)
    if not any(own):
        parent = interp.parent
        primals = [interp.primal(a) for a in args]
        return _guard_closure(
            cv, interp, _at, parent, parent.process, custom_vjp_call_p, primals, params
        )
    vals = [interp.primal(a) for a in leaves]
    fwd_args = (
        [CustomVJPPrimal(v, o) for v, o in zip(vals, own, strict=True)]
        if cv.symbolic_zeros
        else vals
    )
    pair = _run_fwd(cv, interp, call, fwd_args)
    _check_pair(cv, pair)
    staged = params.get("call_jaxpr")
    if staged is not None:
        _check_fwd_output(call, pair[0], staged.out_avals)
    out, res = pair
    if res is not None:
        _check_residuals(cv, res)
    out_leaves = _flat_output(call, out, cv.fwd)
    level = EVAL if interp.tbase is RAW else interp.tbase
    tangents = [interp.tangent(a) for a in leaves]
    touts = _at(level, _transpose_bwd, call, res, out_leaves, vals, tangents)
    return _lift_all(interp, out_leaves, touts)


def _check_nondiff(interp, call):
    """A nondiff or keyword-only value with a tangent cannot be handled by the rule."""
    items = [(f"argument in nondiff_argnums (position {i})", v) for i, v in call.nondiff]
    items += [(f"keyword-only argument {k!r}", v) for k, v in call.kwonly.items()]
    for what, value in items:
        for leaf in tree_leaves(value):
            if interp.own(leaf):
                raise CustomVJPException(
                    f"custom_vjp function {call.cv.__name__}: its {what} has a tangent under "
                    f"forward mode (jvp), but the rule gives no derivative for it. Pass it as a "
                    f"differentiable positional argument, or wrap it in stop_gradient."
                )


def _transpose_bwd(call, res, out_leaves, vals, tangents):
    """The output tangents: ``bwd(res, ct)`` staged as a linear function of the inexact output
    cotangents and transposed, applied to the input tangents.

    What is staged is ``bwd``'s derivative in the cotangent at zero (its JVP there): for a ``bwd``
    linear in the cotangent, as a VJP is, that is ``bwd`` itself; for a piecewise-linear one such
    as ``clip_gradient``'s it is ``bwd`` near zero cotangents, which is what ``jacrev`` sees for
    cotangents inside the clipping range."""
    cv = call.cv
    out_avals = [aval_of(o) for o in out_leaves]
    inexact = [a.dtype.kind in "fc" for a in out_avals]

    def linear_bwd(*dcts):
        parent = state.interp
        interp = JVPInterp(parent)
        it = iter(dcts)
        ct_leaves = []
        for aval, m in zip(out_avals, inexact, strict=True):
            zero_aval = _tangent_aval(aval)
            if m:
                ct_leaves.append(interp.lift(_zeros(zero_aval), next(it)))
            else:
                ct_leaves.append(
                    SymbolicZero(zero_aval) if cv.symbolic_zeros else _zeros(zero_aval)
                )
        ct = _unflatten(call.out_tree, ct_leaves)
        state.interp = interp
        try:
            result = cv.bwd(*[v for _, v in call.nondiff], res, ct)
            flat = _check_bwd_output(call, result, vals)
        finally:
            state.interp = parent
            interp.active = False
        outs = []
        for c, v in zip(flat, vals, strict=True):
            t = None if c is None else interp.tangent(c)
            outs.append(_zeros(_tangent_aval(aval_of(v))) if t is None else t)
        return outs

    where = (
        f"forward-mode differentiation (jvp) of the custom_vjp function {cv.__name__}: pullback "
        f"computes it by transposing its bwd rule {_name(cv.bwd)}, which must be linear in the "
        f"cotangent"
    )
    ct_avals = [_tangent_aval(a) for a, m in zip(out_avals, inexact, strict=True) if m]
    try:
        closed = trace_flat(linear_bwd, ct_avals, f"the bwd rule {_name(cv.bwd)} of {cv.__name__}")
    except ConcretizationTypeError as e:
        if _values_are_concrete():  # bwd runs Python on the cotangent's value: it can run here
            return _materialized_jvp(call, res, out_avals, inexact, vals, tangents)
        raise TypeError(
            f"{where}, but {_name(cv.bwd)} needs the concrete value of the cotangent or of a "
            f"residual (Python control flow on it, a conversion to NumPy, foreign code), which is "
            f"not known here (under jit or another staging transformation), so it cannot be "
            f"transposed. Differentiate outside jit, or define the forward rule with custom_jvp. "
            f"({e})"
        ) from None
    except NoDerivativeError as e:
        raise TypeError(
            f"{where}, but it calls foreign code on the cotangent, which cannot be transposed: {e}"
        ) from None
    transposer = _Transposer(closed, [True] * len(ct_avals), _name(cv.bwd))
    forward = transposer.forward([None] * len(ct_avals))
    cts = iter(transposer.backward(forward, tangents))
    return [next(cts) if m else None for m in inexact]


def _values_are_concrete():
    """Whether values at the current level can be concrete: nothing below it stages (under
    ``vmap``, as ``jacfwd`` runs, unbatched values are concrete; under ``jit`` none is)."""
    interp = state.interp
    while interp is not None:
        if isinstance(interp, StageInterp):
            return False
        interp = interp.parent
    return True


def _materialized_jvp(call, res, out_avals, inexact, vals, tangents):
    """The output tangents from rows of the Jacobian: ``bwd`` applied to each one-hot cotangent
    gives a row, dotted with the input tangents — for a ``bwd`` that needs concrete cotangents
    (Python control flow on them, as an iterative solver has), at one call per output element."""
    cv = call.cv
    inexact_avals = [a for a, m in zip(out_avals, inexact, strict=True) if m]
    touts = []
    for i, aval in enumerate(inexact_avals):
        rows = []
        for j in range(aval.size):
            ct_leaves, it = [], iter(range(len(inexact_avals)))
            for a, m in zip(out_avals, inexact, strict=True):
                zero = np.zeros(a.shape, _dtypes.tangent_dtype(a.dtype))
                if m and next(it) == i:
                    zero.reshape(-1)[j] = 1
                ct_leaves.append(Array(zero, False))
            result = cv.bwd(
                *[v for _, v in call.nondiff], res, _unflatten(call.out_tree, ct_leaves)
            )
            flat = _check_bwd_output(call, result, vals)
            row = _zeros(ShapedArray((), aval.dtype))
            for c, t in zip(flat, tangents, strict=True):
                if c is not None and t is not None:
                    row = row + reduce_sum(c * t, tuple(range(c.ndim)))
            rows.append(row)
        touts.append(reshape(stack(rows, 0), aval.shape) if rows else _zeros(aval))
    it = iter(touts)
    return [next(it) if m else None for m in inexact]


custom_vjp_call_p.rules["jvp"] = _custom_vjp_jvp


# -- linearize: tangents staged while primals are computed -----------------------------------------


class PartialStage(StageInterp):
    """A staging interpreter that computes an equation none of whose inputs it owns, as partial
    evaluation does: ``linearize``'s tangent level, where the tangent rules see concrete primal
    values (computed now) and staged tangents (kept in the linear jaxpr)."""

    __slots__ = ()

    def process(self, prim, args, params):
        for a in args:
            if type(a) is StageTracer and a._interp is self:
                return super().process(prim, args, params)
        if self.parent is not EVAL:  # under a transformation: its values, its equations
            return self.parent.process(prim, args, params)
        raw = all(type(a) is not Array and not isinstance(a, JVPTracer) for a in args)
        return (RAW if raw else EVAL).process(prim, args, params)
