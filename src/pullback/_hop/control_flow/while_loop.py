"""``while_loop`` and ``fori_loop``: the primitive ``while[body_jaxpr body_nconsts cond_jaxpr
cond_nconsts] *cond_consts *body_consts *init`` and its rules (``fori_loop`` with static bounds is
a ``scan``)."""

from __future__ import annotations

import functools

import numpy as np

from pullback import _dtypes
from pullback._config import config
from pullback._core import ConcretizationTypeError, Primitive, ShapedArray, state
from pullback._hop.batching import (
    at_parent,
    batch_jaxpr,
    batched_carry,
    batched_outputs,
    forward,
    unbatched,
)
from pullback._hop.control_flow._common import (
    _as_array,
    _carry_mask,
    _check_carry_type,
    _closure_convert,
    _describe,
    _eval_rule,
    _executable,
    _expect,
    _forwarding,
    _is_concrete,
    _pick,
    _promote_weak_carry,
    _used_inputs,
    _with_io,
)
from pullback._hop.control_flow.scan import scan
from pullback._hop.partial_eval import record_outputs, run_below
from pullback._interp.batch import batch_fun
from pullback._interp.stage import aval_of_leaf, hoist_tracers, trace_flat, trace_to_jaxpr
from pullback._ir import eval_closed
from pullback._ops import convert_element_type, less, reduce_or, reshape, where
from pullback._ops._base import batch_at
from pullback.tree_util import tree_flatten, tree_map, tree_unflatten


def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cond_consts, body_consts = args[:cond_nconsts], args[cond_nconsts : cond_nconsts + body_nconsts]
    carry = args[cond_nconsts + body_nconsts :]
    cond_fn, body_fn = _executable(cond_jaxpr, True), _executable(body_jaxpr, True)
    while cond_fn(*cond_consts, *carry)[0]:
        carry = body_fn(*body_consts, *carry)
    return list(carry)


def _while_abstract(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    carry = avals[cond_nconsts + body_nconsts :]
    _expect("while cond_jaxpr inputs", cond_jaxpr.in_avals, [*avals[:cond_nconsts], *carry])
    _expect("while cond_jaxpr output", [ShapedArray((), np.bool_)], cond_jaxpr.out_avals)
    _expect("while body_jaxpr inputs", body_jaxpr.in_avals, avals[cond_nconsts:])
    _expect("while carry output", carry, body_jaxpr.out_avals)
    return body_jaxpr.out_avals


def _while_vjp(interp, args, params):
    nc, nb = params["cond_nconsts"], params["body_nconsts"]
    own = [interp.own(a) for a in args]
    primals = [interp.primal(a) for a in args]
    carry_mask = _carry_mask(params["body_jaxpr"].jaxpr, own[nc : nc + nb], own[nc + nb :], [])
    if not any(carry_mask):  # only the predicate's constants (or nothing) are differentiated
        return interp._constant(while_p, primals, params)
    outs = run_below(interp, while_p, primals, params)
    diff = [k for k, m in enumerate(carry_mask) if m]
    inputs = tuple(a._idx if o else -1 for a, o in zip(args, own, strict=True))
    avals = params["body_jaxpr"].out_avals
    return record_outputs(interp, _while_transpose, inputs, (), outs, avals, diff)


def _while_transpose(ct):
    raise ValueError(
        "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with "
        "dynamic start/stop values. Try using lax.scan, or using fori_loop with static start/stop."
    )


while_p = Primitive("while", _while_impl, multiple_results=True)
while_p.abstract = _while_abstract
while_p.rules["eval"] = _eval_rule(while_p, lambda body_jaxpr, **_: body_jaxpr.out_avals)
while_p.rules["vjp"] = _while_vjp


def while_loop(cond_fun, body_fun, init_val):
    """``val = body_fun(val)`` while ``cond_fun(val)``; ``val`` keeps its types (a pytree).

    Not reverse-differentiable (the number of iterations is not known in advance): use ``scan``
    or ``fori_loop`` with static bounds for that.

    >>> from pullback import lax
    >>> lax.while_loop(lambda c: c < 10, lambda c: c * 2, 1)
    Array(16, dtype=int32, weak_type=True)
    """
    if not (callable(body_fun) and callable(cond_fun)):
        raise TypeError("lax.while_loop: body_fun and cond_fun arguments should be callable.")
    if config.jax_disable_jit:
        try:
            val = tree_map(_as_array, init_val)
            while cond_fun(val):
                val = tree_map(_as_array, body_fun(val))
            return val
        except ConcretizationTypeError:
            pass  # a traced value: run the primitive
    leaves, tree = tree_flatten(init_val)

    def trace(leaves):
        val = tree_unflatten(tree, leaves)
        cond_closed, cond_tree = trace_to_jaxpr(
            cond_fun, (val,), f"the while_loop cond_fun {_describe(cond_fun)}"
        )
        body_closed, body_tree = trace_to_jaxpr(
            body_fun, (val,), f"the while_loop body_fun {_describe(body_fun)}"
        )
        if not cond_tree.is_leaf() or len(cond_closed.out_avals) != 1:
            raise TypeError(
                f"lax.while_loop: cond_fun must return a boolean scalar, but got pytree "
                f"{cond_tree}."
            )
        pred = cond_closed.out_avals[0]
        if pred.shape != () or pred.dtype != np.bool_:
            raise TypeError(
                f"lax.while_loop: cond_fun must return a boolean scalar, but got output type(s) "
                f"{cond_closed.out_avals}."
            )
        return cond_closed, body_closed, body_tree

    cond_closed, body_closed, body_tree = trace(leaves)
    if body_tree == tree:
        promoted, changed = _promote_weak_carry(leaves, body_closed.in_avals, body_closed.out_avals)
        if changed:
            leaves = promoted
            cond_closed, body_closed, body_tree = trace(leaves)
    _check_carry_type(
        "while_loop body",
        body_fun,
        init_val,
        tree,
        body_closed.in_avals,
        body_tree,
        body_closed.out_avals,
    )
    cond_jaxpr, cond_consts = _closure_convert(cond_closed)
    body_jaxpr, body_consts = _closure_convert(body_closed)
    ncc, nbc = len(cond_consts), len(body_consts)
    # As JAX does: a carry the body returns unchanged and the predicate does not read becomes a
    # constant of the body (the result is the initial value itself).
    fwd = _forwarding(body_jaxpr.jaxpr)
    read = _used_inputs(cond_jaxpr.jaxpr)[ncc:]
    moved = [i == nbc + k and not r for k, (i, r) in enumerate(zip(fwd, read, strict=True))]
    cond_in, body_in = cond_jaxpr.jaxpr.invars, body_jaxpr.jaxpr.invars
    cond_jaxpr = _with_io(
        cond_jaxpr, [*cond_in[:ncc], *_pick(cond_in[ncc:], moved, False)], cond_jaxpr.jaxpr.outvars
    )
    body_jaxpr = _with_io(
        body_jaxpr,
        [*_pick(body_in[nbc:], moved), *body_in[:nbc], *_pick(body_in[nbc:], moved, False)],
        _pick(body_jaxpr.jaxpr.outvars, moved, False),
    )
    params = {
        "cond_jaxpr": cond_jaxpr,
        "body_jaxpr": body_jaxpr,
        "cond_nconsts": ncc,
        "body_nconsts": nbc + sum(moved),
    }
    operands = [*cond_consts, *_pick(leaves, moved), *body_consts, *_pick(leaves, moved, False)]
    outs = iter(state.interp.process(while_p, operands, params))
    return tree_unflatten(
        tree, [x if m else next(outs) for x, m in zip(leaves, moved, strict=True)]
    )


def fori_loop(lower, upper, body_fun, init_val, *, unroll=None):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``.

    With bounds known while tracing (Python ints, concrete arrays) the loop is a ``scan`` and
    reverse-differentiable; with traced bounds it is a ``while_loop``.

    >>> from pullback import lax
    >>> lax.fori_loop(0, 4, lambda i, total: total + i, 0)
    Array(6, dtype=int32, weak_type=True)
    """
    if not callable(body_fun):
        raise TypeError("lax.fori_loop: body_fun argument should be callable.")
    dtype = _bounds_dtype(lower, upper)
    bounds = _static_bounds(lower, upper)
    if bounds is not None:
        length = max(bounds[1] - bounds[0], 0)
        if config.jax_disable_jit and length == 0:
            return init_val

        def scanned(loop_carry, _):
            i, x = loop_carry
            return (i + 1, body_fun(i, x)), None

        unroll = False if unroll is None else unroll
        (_, result), _ = scan(scanned, (bounds[0], init_val), None, length=length, unroll=unroll)
        return result
    if unroll is not None and unroll is not False and unroll != 1:
        raise ValueError(
            "lax.fori_loop: can only use `unroll` if the loop bounds are statically known."
        )
    if aval_of_leaf(lower).dtype != dtype:
        lower = convert_element_type(lower, dtype)
    if aval_of_leaf(upper).dtype != dtype:
        upper = convert_element_type(upper, dtype)

    def loop_cond(loop_carry):
        i, stop, _ = loop_carry
        return less(i, stop)

    def loop_body(loop_carry):
        i, stop, x = loop_carry
        return i + 1, stop, body_fun(i, x)

    return while_loop(loop_cond, loop_body, (lower, upper, init_val))[2]


def _static_bounds(lower, upper):
    """The bounds as Python ints when both are known while tracing, else None."""
    if not (_is_concrete(lower) and _is_concrete(upper)):
        return None
    try:
        return int(lower), int(upper)
    except TypeError:  # e.g. not scalars
        return None


def _bounds_dtype(lower, upper):
    """The dtype of a fori_loop's index: the bounds' (a weak integer bound takes the other's)."""
    lo, hi = aval_of_leaf(lower).dtype, aval_of_leaf(upper).dtype
    if lo == hi:
        return lo
    if lo.kind == hi.kind == "i":
        lo_weak, hi_weak = _dtypes.is_weakly_typed(lower), _dtypes.is_weakly_typed(upper)
        if lo_weak != hi_weak:
            return hi if lo_weak else lo
    raise TypeError(
        f"lax.fori_loop: lower and upper arguments must have equal types, got {lo.name} and "
        f"{hi.name}."
    )


def _while_batch(interp, args, params):
    """Carries that depend on batched values become batched. With a batched predicate the loop
    runs while any member's predicate holds, and members that are done keep their carry
    (``select``)."""
    cond_jaxpr, body_jaxpr = params["cond_jaxpr"], params["body_jaxpr"]
    nc, nb = params["cond_nconsts"], params["body_nconsts"]
    dims = [interp.bdim(a) for a in args]
    if unbatched(interp, args, cond_jaxpr, body_jaxpr):
        return forward(interp, while_p, args, params)
    values = [interp.value(a) for a in args]
    size, name = interp.axis_size, interp.axis_name
    cdims, bdims, kdims = dims[:nc], dims[nc : nc + nb], dims[nc + nb :]
    mask = [d is not None for d in dims]
    carry = batched_carry(body_jaxpr.jaxpr, mask[nc : nc + nb], mask[nc + nb :], [])
    pred_batched = batched_outputs(cond_jaxpr.jaxpr, [*mask[:nc], *carry])[0]
    if pred_batched:
        carry = [True] * len(carry)
    carry_dims = [0 if m else None for m in carry]
    cconsts, bconsts = values[:nc], values[nc : nc + nb]

    def bind():
        init = [
            batch_at(v, d, size) if m else v
            for v, d, m in zip(values[nc + nb :], kdims, carry, strict=True)
        ]
        if not pred_batched:
            cj, cc = batch_jaxpr(
                cond_jaxpr,
                [*cconsts, *init],
                [*cdims, *carry_dims],
                [False],
                size,
                name,
                "a batched while cond",
            )
            bj, bc = batch_jaxpr(
                body_jaxpr,
                [*bconsts, *init],
                [*bdims, *carry_dims],
                carry,
                size,
                name,
                "a batched while body",
            )
            new = {
                "cond_jaxpr": cj,
                "body_jaxpr": bj,
                "cond_nconsts": len(cc) + nc,
                "body_nconsts": len(bc) + nb,
            }
            return interp.parent.process(while_p, [*cc, *cconsts, *bc, *bconsts, *init], new)
        n_cond = len(cconsts)
        cond_in = [*cdims, *carry_dims]

        def preds(consts, carry_values):
            return batch_fun(functools.partial(eval_closed, cond_jaxpr), cond_in, size, name)(
                *consts, *carry_values
            )[0]

        def any_member(*a):
            return [reduce_or(preds(a[:n_cond], a[n_cond:]), (0,))]

        def step(*a):
            consts, rest = a[:n_cond], a[n_cond:]
            body_consts, carry_values = rest[: len(bconsts)], rest[len(bconsts) :]
            running = preds(consts, carry_values)
            new = batch_fun(
                functools.partial(eval_closed, body_jaxpr), [*bdims, *carry_dims], size, name
            )(*body_consts, *carry_values)
            return [
                where(reshape(running, (size,) + (1,) * (n.ndim - 1)), n, c)
                for n, c in zip(new, carry_values, strict=True)
            ]

        cj, cc = hoist_tracers(
            trace_flat(
                any_member, [aval_of_leaf(v) for v in [*cconsts, *init]], "a batched while cond"
            )
        )
        bj, bc = hoist_tracers(
            trace_flat(
                step, [aval_of_leaf(v) for v in [*cconsts, *bconsts, *init]], "a batched while body"
            )
        )
        new = {
            "cond_jaxpr": cj,
            "body_jaxpr": bj,
            "cond_nconsts": len(cc) + nc,
            "body_nconsts": len(bc) + nc + nb,
        }
        return interp.parent.process(while_p, [*cc, *cconsts, *bc, *cconsts, *bconsts, *init], new)

    outs = at_parent(interp, bind)
    return [interp.lift(o, d) for o, d in zip(outs, carry_dims, strict=True)]


while_p.rules["batch"] = _while_batch
