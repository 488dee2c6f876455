"""``scan`` and ``map``: the primitive ``scan[jaxpr={...} length num_carry num_consts reverse
unroll] *consts *init *xs`` and its rules."""

from __future__ import annotations

import functools
import operator

import numpy as np

from pullback._config import config
from pullback._core import Primitive, ShapedArray, state
from pullback._hop.batching import at_parent, batch_jaxpr, batched_carry, forward, unbatched
from pullback._hop.control_flow._common import (
    _COMPILE_AFTER,
    _as_array,
    _carry_mask,
    _check_carry_type,
    _closure_convert,
    _describe,
    _eval_rule,
    _executable,
    _expect,
    _forwarding,
    _pick,
    _promote_weak_carry,
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
from pullback._ir import Eqn, JaxprTypeError, eval_closed, prune_closed
from pullback._ops import concatenate, reshape, slice_in_dim, stack
from pullback._ops._base import batch_at
from pullback.tree_util import tree_flatten, tree_map, tree_unflatten


def _scan_impl(*args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    body = _executable(jaxpr, length > _COMPILE_AFTER)
    ys = [np.empty((length, *a.shape), a.dtype) for a in jaxpr.out_avals[num_carry:]]
    loop = _scan_loop(num_consts, num_carry, len(args) - num_consts - num_carry, len(ys))
    order = range(length - 1, -1, -1) if reverse else range(length)
    return [*loop(body, order, *args, *ys), *ys]


@functools.cache
def _scan_loop(num_consts, num_carry, num_xs, num_ys):
    """The loop of a scan as Python source for these numbers of operands: ``loop(body, order,
    *consts, *carry, *xs, *ys)`` writes each step's ys in place and returns the final carry.

    Measured on a 1000-step scan of a small body: 3.8 ms, the cost of calling the compiled body
    alone, against 4.5 ms for a generic loop that unpacks operand lists at every step."""
    consts = [f"c{j}" for j in range(num_consts)]
    carry = [f"k{j}" for j in range(num_carry)]
    xs = [f"x{j}" for j in range(num_xs)]
    ys = [f"y{j}" for j in range(num_ys)]
    outs = carry + [f"o{j}" for j in range(num_ys)]
    call = f"body({', '.join(consts + carry + [f'{x}[i]' for x in xs])})"
    step = f"{', '.join(outs)}{',' if len(outs) == 1 else ''} = {call}" if outs else call
    lines = [
        f"def loop(body, order, {', '.join(consts + carry + xs + ys)}):",
        "    for i in order:",
        f"        {step}",
        *(f"        {y}[i] = o{j}" for j, y in enumerate(ys)),
        f"    return [{', '.join(carry)}]",
    ]
    namespace = {}
    exec("\n".join(lines), namespace)
    return namespace["loop"]


def _scan_abstract(*avals, jaxpr, length, reverse, num_consts, num_carry, unroll):
    n = num_consts + num_carry
    for a in avals[n:]:
        if not a.shape or a.shape[0] != length:
            raise JaxprTypeError(f"scan of length {length}: scanned operand {a.str_short()}")
    body_in = [*avals[:n], *(_slice_aval(a) for a in avals[n:])]
    _expect("scan body inputs", jaxpr.in_avals, body_in)
    carry_out = jaxpr.out_avals[:num_carry]
    _expect("scan carry output", jaxpr.in_avals[num_consts:n], carry_out)
    stacked = [
        ShapedArray((length, *a.shape), a.dtype, a.weak_type) for a in jaxpr.out_avals[num_carry:]
    ]
    return [*carry_out, *stacked]


def _scan_vjp(interp, args, params):
    jaxpr = params["jaxpr"]
    nc, nk = params["num_consts"], params["num_carry"]
    own = [interp.own(a) for a in args]
    primals = [interp.primal(a) for a in args]
    if not any(own):
        return interp._constant(scan_p, primals, params)
    const_mask, xs_mask = own[:nc], own[nc + nk :]
    carry_mask = _carry_mask(jaxpr.jaxpr, const_mask, own[nc : nc + nk], xs_mask)
    in_mask = [*const_mask, *carry_mask, *xs_mask]
    out_mask = [*carry_mask, *dependent_outputs(jaxpr.jaxpr, in_mask)[nk:]]
    if not any(out_mask):
        return interp._constant(scan_p, primals, params)
    n_xs = len(xs_mask)
    forwardable = [True] * nc + [False] * nk + [True] * n_xs
    invariant = [True] * nc + [False] * (nk + n_xs)
    split = vjp_split(jaxpr, in_mask, out_mask, forwardable, invariant, "a scan body")
    outs = run_below(interp, scan_p, primals, dict(params, jaxpr=split.fwd))
    n_out = len(out_mask)
    layout = _ScanBackward(split, jaxpr, in_mask, out_mask, nc, nk, params["length"])
    bwd_params = dict(
        params,
        jaxpr=layout.body,
        reverse=not params["reverse"],
        num_consts=len(layout.const_keys),
        num_carry=layout.n_carry + layout.n_acc,
    )
    diff = [k for k, m in enumerate(out_mask) if m]
    inputs = tuple(a._idx if o else -1 for a, o in zip(args, own, strict=True))
    data = (layout, bwd_params, primals, list(outs[n_out:]), own)
    return record_outputs(
        interp, _scan_transpose, inputs, data, outs[:n_out], jaxpr.out_avals, diff
    )


class _ScanBackward:
    """The backward scan of a scan whose body was split: its body ``(const residuals; ct carry,
    accumulated ct consts; scanned residuals, ct ys) -> (ct carry, accumulated ct consts;
    ct xs)`` and where its operands come from."""

    def __init__(self, split, jaxpr, in_mask, out_mask, nc, nk, length):
        self.split = split
        self.in_mask = in_mask
        self.nc = nc
        in_avals, out_avals = jaxpr.in_avals, jaxpr.out_avals
        # residuals fixed for the whole loop: constants, values computed from constants alone
        self.const_keys = [
            r for r in split.residuals if r[0] == "hoisted" or (r[0] == "input" and r[1] < nc)
        ]
        self.scanned_keys = [r for r in split.residuals if r not in self.const_keys]
        residual_avals = {
            "input": in_avals,
            "hoisted": split.hoisted.out_avals,
            "computed": split.computed_avals,
        }
        ct_carry = [a for a, m in zip(out_avals[:nk], out_mask[:nk], strict=True) if m]
        ct_ys = [a for a, m in zip(out_avals[nk:], out_mask[nk:], strict=True) if m]
        self.acc_avals = [a for a, m in zip(in_avals[:nc], in_mask[:nc], strict=True) if m]
        self.n_carry, self.n_acc = len(ct_carry), len(self.acc_avals)
        self.ct_avals = [
            *ct_carry,
            *(ShapedArray((length, *a.shape), a.dtype, a.weak_type) for a in ct_ys),
        ]
        groups = [
            [residual_avals[kind][k] for kind, k in self.const_keys],
            ct_carry,
            self.acc_avals,
            [residual_avals[kind][k] for kind, k in self.scanned_keys],
            ct_ys,
        ]

        def body(*args):
            it = iter(args)
            const_res, cts_carry, accs, scanned_res, cts_y = [[next(it) for _ in g] for g in groups]
            given = dict(zip(self.const_keys + self.scanned_keys, const_res + scanned_res))
            residuals = [given[r] for r in split.residuals]
            cts_in = eval_closed(split.bwd, *residuals, *cts_carry, *cts_y)
            n_acc, n_carry = len(accs), len(cts_carry)
            new_acc = [a + c for a, c in zip(accs, cts_in[:n_acc], strict=True)]
            return [*cts_in[n_acc : n_acc + n_carry], *new_acc, *cts_in[n_acc + n_carry :]]

        avals = [a for g in groups for a in g]
        self.body = trace_flat(body, avals, "the backward pass of a scan body")

    def operands(self, primals, computed, cts):
        """The backward scan's operands, at the level the backward pass runs at."""
        sources = {
            "input": primals,
            "hoisted": eval_closed(self.split.hoisted, *primals[: self.nc]),
            "computed": computed,
        }
        consts = [sources[kind][k] for kind, k in self.const_keys]
        scanned = [sources[kind][k] for kind, k in self.scanned_keys]
        acc = [zeros(a) for a in self.acc_avals]
        return [*consts, *cts[: self.n_carry], *acc, *scanned, *cts[self.n_carry :]]


def _slice_aval(aval):
    return ShapedArray(aval.shape[1:], aval.dtype, aval.weak_type)


def _scan_transpose(ct, layout, params, primals, computed, own):
    cts = (ct,) if len(layout.ct_avals) == 1 else ct
    n_carry = layout.n_carry
    cts = [
        zeros(a) if c is None and j < n_carry else c
        for j, (c, a) in enumerate(zip(cts, layout.ct_avals, strict=True))
    ]
    operands = layout.operands(primals, computed, cts)
    # a ys cotangent nobody gave is a symbolic zero: it leaves the backward body
    ct_ys = cts[n_carry:]
    first_ys = len(operands) - len(ct_ys)
    absent = [first_ys + j for j, c in enumerate(ct_ys) if c is None]
    if absent:
        params = dict(params, jaxpr=without_zero_inputs(params["jaxpr"], absent))
        operands = operands[:first_ys] + [c for c in ct_ys if c is not None]
    outs = state.interp.process(scan_p, operands, params)
    # the backward scan gives (ct carry, ct consts, ct xs); the inputs are (consts, carry, xs)
    n_carry, n_acc = layout.n_carry, layout.n_acc
    by_input = iter([*outs[n_carry : n_carry + n_acc], *outs[:n_carry], *outs[n_carry + n_acc :]])
    cts_in = []
    for m, o in zip(layout.in_mask, own, strict=True):
        c = next(by_input) if m else None
        cts_in.append(c if o else None)  # a carry differentiated only through the loop gets none
    return tuple(cts_in)


scan_p = Primitive("scan", _scan_impl, multiple_results=True)
scan_p.abstract = _scan_abstract
scan_p.rules["eval"] = _eval_rule(scan_p, lambda jaxpr, **_: jaxpr.out_avals)
scan_p.rules["vjp"] = _scan_vjp


def _scan_dce(eqn, used):
    """Unused ``ys`` leave the body with what computes only them; so does a carry whose final
    value is unused and that nothing kept reads (found by a fixpoint over the carries)."""
    params = eqn.params
    nc, nk = params["num_consts"], params["num_carry"]
    used_carry, used_ys = list(used[:nk]), list(used[nk:])
    while True:
        reads = prune_closed(params["jaxpr"], used_carry + used_ys)[1]
        needed = [u or r for u, r in zip(used_carry, reads[nc : nc + nk], strict=True)]
        if needed == used_carry:
            break
        used_carry = needed
    # a kept carry keeps its input slot even when the body does not read it
    keep = {nc + k for k, u in enumerate(used_carry) if u}
    body, reads = prune_closed(params["jaxpr"], used_carry + used_ys, keep_inputs=keep)
    if all(used_carry + used_ys) and all(reads):
        return eqn
    operands = [v for v, r in zip(eqn.invars, reads, strict=True) if r]
    outvars = [v for v, u in zip(eqn.outvars, used_carry + used_ys, strict=True) if u]
    narrowed = dict(params, jaxpr=body, num_consts=sum(reads[:nc]), num_carry=sum(used_carry))
    return Eqn(scan_p, operands, outvars, narrowed)


scan_p.rules["dce"] = _scan_dce


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``; return the final carry
    and the stacked ``y``s. ``carry``, ``x`` and ``y`` may be pytrees.

    >>> import pullback.numpy as jnp
    >>> from pullback import lax
    >>> lax.scan(lambda c, x: (c + x, c + x), jnp.float32(0.0), jnp.arange(4.0))
    (Array(6., dtype=float32), Array([0., 1., 3., 6.], dtype=float32))
    """
    if not callable(f):
        raise TypeError("lax.scan: f argument should be a callable.")
    init_leaves, init_tree = tree_flatten(init)
    xs_leaves, xs_tree = tree_flatten(xs)
    length = _scan_length(xs_leaves, length)
    if config.jax_disable_jit:
        return _scan_in_python(f, init, xs_leaves, xs_tree, length, reverse)
    if isinstance(unroll, bool):
        unroll = max(length, 1) if unroll else 1
    elif not (isinstance(unroll, int) and unroll >= 0):
        raise ValueError(
            f"lax.scan: `unroll` must be a `bool` or a non-negative `int`, got {unroll!r}."
        )
    x_avals = [_slice_aval(aval_of_leaf(x)) for x in xs_leaves]
    context = f"the scan body {_describe(f)}"

    def trace(init_leaves):
        carry = tree_unflatten(init_tree, init_leaves)
        closed, out_tree = trace_to_jaxpr(f, (carry, tree_unflatten(xs_tree, x_avals)), context)
        if out_tree.num_children != 2 or out_tree.type not in (tuple, list):
            outs = tree_unflatten(out_tree, [a.str_short() for a in closed.out_avals])
            raise TypeError(f"lax.scan: the body output must be a pair (carry, y), got {outs}.")
        return closed, *out_tree.children()

    closed, carry_tree, ys_tree = trace(init_leaves)
    n = len(init_leaves)
    if carry_tree == init_tree:
        promoted, changed = _promote_weak_carry(
            init_leaves, closed.in_avals[:n], closed.out_avals[:n]
        )
        if changed:
            init_leaves = promoted
            closed, carry_tree, ys_tree = trace(init_leaves)
    _check_carry_type(
        "scan body", f, init, init_tree, closed.in_avals[:n], carry_tree, closed.out_avals[:n]
    )
    carry, ys = _bind_scan(closed, init_leaves, xs_leaves, length, bool(reverse), unroll)
    return tree_unflatten(carry_tree, carry), tree_unflatten(ys_tree, ys)


def _bind_scan(closed, init, xs, length, reverse, unroll):
    """Bind ``scan`` for a traced body ``(carry, x) -> (carry, y)``; returns ``(carry, ys)``.

    As JAX does, a carry the body returns unchanged becomes a constant (the result is the initial
    value itself), and a y that is an x is that x, not stacked again."""
    jaxpr, consts = _closure_convert(closed)
    nc, n = len(consts), len(init)
    fwd = _forwarding(jaxpr.jaxpr)
    moved = [i == nc + k for k, i in enumerate(fwd[:n])]
    ys_from_xs = [None if i is None or i < nc + n else i - nc - n for i in fwd[n:]]
    invars, outvars = jaxpr.jaxpr.invars, jaxpr.jaxpr.outvars
    carry_in = invars[nc : nc + n]
    jaxpr = _with_io(
        jaxpr,
        [*_pick(carry_in, moved), *invars[:nc], *_pick(carry_in, moved, False), *invars[nc + n :]],
        [*_pick(outvars[:n], moved, False), *_pick(outvars[n:], [i is None for i in ys_from_xs])],
    )
    n_moved = sum(moved)
    params = {
        "jaxpr": jaxpr,
        "length": length,
        "reverse": reverse,
        "num_consts": nc + n_moved,
        "num_carry": n - n_moved,
        "unroll": unroll,
    }
    operands = [*_pick(init, moved), *consts, *_pick(init, moved, False), *xs]
    outs = state.interp.process(scan_p, operands, params)
    carry_out, ys_out = iter(outs[: n - n_moved]), iter(outs[n - n_moved :])
    carry = [x if m else next(carry_out) for x, m in zip(init, moved, strict=True)]
    ys = [next(ys_out) if i is None else _as_array(xs[i]) for i in ys_from_xs]
    return carry, ys


def _scan_length(xs_leaves, length):
    for x in xs_leaves:
        if np.ndim(x) == 0:
            raise ValueError(f"scan got value with no leading axis to scan over: {x}.")
    lengths = [np.shape(x)[0] for x in xs_leaves]
    if length is not None:
        length = int(length)
        if any(n != length for n in lengths):
            raise ValueError(
                f"scan got `length` argument of {length} which disagrees with leading axis sizes "
                f"{lengths}."
            )
        return length
    if len(set(lengths)) > 1:
        raise ValueError(
            "scan got values with different leading axis sizes: "
            f"{', '.join(str(n) for n in lengths)}."
        )
    if not lengths:
        raise ValueError("scan got no values to scan over and `length` not provided.")
    return lengths[0]


def _scan_in_python(f, init, xs_leaves, xs_tree, length, reverse):
    """``scan`` under ``disable_jit``: a Python loop calling ``f``."""
    if length == 0:
        raise ValueError(
            "zero-length scan is not supported in disable_jit() mode because the output type is "
            "unknown."
        )
    xs_leaves = [_as_array(x) for x in xs_leaves]
    carry, ys = init, []
    for i in range(length - 1, -1, -1) if reverse else range(length):
        carry, y = f(carry, tree_unflatten(xs_tree, [x[i] for x in xs_leaves]))
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, tree_map(lambda *y: stack([_as_array(v) for v in y], 0), *ys)


def map(f, xs, *, batch_size=None):  # noqa: A001 - JAX's name
    """``f`` applied to each slice of ``xs`` (a pytree) along its leading axis, the results
    stacked.

    With ``batch_size``, ``f`` runs vectorised (``vmap``) on that many slices at a time: the
    ``n // batch_size`` full batches in a ``scan``, then the ``n % batch_size`` remaining slices in
    one more ``vmap``, the results concatenated in order. So it is a ``vmap`` that keeps only one
    batch's intermediate values at a time, and ``f`` is traced twice when there is a remainder.
    ``batch_size=0`` is one ``vmap`` over the whole axis, as in JAX.

    >>> import pullback.numpy as jnp
    >>> from pullback import lax
    >>> lax.map(lambda x: x * 2, jnp.arange(3))
    Array([0, 2, 4], dtype=int32)
    >>> def f(x):
    ...     print("inner shape:", x.shape)
    ...     return x + 1
    >>> lax.map(f, jnp.arange(5.0), batch_size=2)
    inner shape: ()
    inner shape: ()
    Array([1., 2., 3., 4., 5.], dtype=float32)
    """
    if batch_size is None:
        return scan(lambda _, x: ((), f(x)), (), xs)[1]
    batch_size = _batch_size(batch_size)
    leaves, tree = tree_flatten(xs)
    n = _scan_length(leaves, None)
    leaves = [_as_array(x) for x in leaves]
    batched = _vmap(f)
    num_batches, rest = divmod(n, batch_size) if batch_size else (0, n)
    done = num_batches * batch_size
    parts = []
    if num_batches:
        batches = [
            reshape(slice_in_dim(x, 0, done, 0), (num_batches, batch_size, *x.shape[1:]))
            for x in leaves
        ]
        ys = scan(lambda _, x: ((), batched(x)), (), tree_unflatten(tree, batches))[1]
        parts.append(tree_map(lambda y: reshape(y, (done, *y.shape[2:])), ys))
    if rest or not num_batches:
        parts.append(batched(tree_unflatten(tree, [slice_in_dim(x, done, n, 0) for x in leaves])))
    return tree_map(lambda *ys: concatenate(ys, 0), *parts)


def _batch_size(batch_size):
    """``batch_size`` as a non-negative int. (JAX checks nothing: a wrong size fails later in its
    slicing or reshaping, with a TypeError or ValueError that depends on the length.)"""
    if not hasattr(type(batch_size), "__index__"):
        raise TypeError(
            f"lax.map: batch_size must be a non-negative int or None, got {batch_size!r} of type "
            f"{type(batch_size).__name__}."
        )
    size = operator.index(batch_size)  # a traced size: ConcretizationTypeError
    if size < 0:
        raise ValueError(
            f"lax.map: batch_size must be a non-negative int (0 maps the whole axis with one "
            f"vmap), got {size}."
        )
    return size


def _vmap(f):
    """``vmap(f)`` for a function of one pytree, mapped over axis 0 of every leaf (``vmap``
    itself flattens arbitrary arguments and axes, and lives above this layer)."""

    def batched(xs):
        leaves, tree = tree_flatten(xs)
        out_trees = []

        def flat(*leaves):
            outs, out_tree = tree_flatten(f(tree_unflatten(tree, leaves)))
            out_trees.append(out_tree)
            return outs

        outs = batch_fun(flat, [0] * len(leaves), leaves[0].shape[0])(*leaves)
        return tree_unflatten(out_trees[0], outs)

    return batched


def _scan_batch(interp, args, params):
    """The body batched: carries that come to depend on batched values are batched (a fixpoint,
    as ``_carry_mask``), scanned operands keep the batch axis at 1 (axis 0 is scanned) and so do
    the stacked outputs."""
    jaxpr = params["jaxpr"]
    nc, nk = params["num_consts"], params["num_carry"]
    dims = [interp.bdim(a) for a in args]
    if unbatched(interp, args, jaxpr):
        return forward(interp, scan_p, args, params)
    values = [interp.value(a) for a in args]
    size, name = interp.axis_size, interp.axis_name
    mask = [d is not None for d in dims]
    carry = batched_carry(jaxpr.jaxpr, mask[:nc], mask[nc : nc + nk], mask[nc + nk :])
    n_ys = len(jaxpr.out_avals) - nk

    def bind():
        init = [
            batch_at(v, d, size) if m else v
            for v, d, m in zip(values[nc : nc + nk], dims[nc : nc + nk], carry, strict=True)
        ]
        xs = [
            v if d is None else batch_at(v, d, size, 1)
            for v, d in zip(values[nc + nk :], dims[nc + nk :], strict=True)
        ]
        body_in = [*values[:nc], *init, *(_sliced(x) for x in xs)]
        in_dims = [
            *dims[:nc],
            *(0 if m else None for m in carry),
            *(None if d is None else 0 for d in dims[nc + nk :]),
        ]
        body, consts = batch_jaxpr(
            jaxpr, body_in, in_dims, [*carry, *[True] * n_ys], size, name, "a batched scan body"
        )
        new = dict(params, jaxpr=body, num_consts=nc + len(consts))
        return interp.parent.process(scan_p, [*consts, *values[:nc], *init, *xs], new)

    outs = at_parent(interp, bind)
    out_dims = [*(0 if m else None for m in carry), *[1] * n_ys]
    return [interp.lift(o, d) for o, d in zip(outs, out_dims, strict=True)]


def _sliced(x):
    """A stand-in for one step's slice of the scanned operand ``x`` (only its type is read)."""
    return ShapedArray(x.shape[1:], x.dtype, getattr(x, "weak_type", False))


scan_p.rules["batch"] = _scan_batch
