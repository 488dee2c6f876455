"""``custom_jvp``: a function with a user-defined forward-mode rule.

A call binds the higher-order primitive ``custom_jvp_call``, as ``custom_vjp`` binds
``custom_vjp_call`` (the same ``_Call`` parameter: function, nondiff values, keyword-only values,
input pytree; the flat differentiable leaves as arguments). Nondiff values may be traced; as in
JAX they are passed through ``stop_gradient``. The rules, one per interpreter:

* ``eval``: run ``fun``;
* ``stage``: trace ``fun`` into the equation's ``call_jaxpr`` (closed-over tracers of enclosing
  transformations become leading ``num_consts`` arguments); ``inline``: the compiler splices
  ``call_jaxpr`` in;
* ``vjp`` (reverse mode, by linearize and transpose): run the JVP rule under a ``KnownInterp``
  one level down, so the primals are known values computed at once (and taped by an outer
  ``grad``) and only the tangent part is staged, into a jaxpr that must be linear in the
  tangents; record one tape entry whose backward pass is that jaxpr transposed. This is a
  ``custom_vjp`` whose ``fwd`` is the rule's primal part and whose ``bwd`` is the transpose of its
  tangent part;
* ``jvp``: call the rule at the parent level with the tangents (zeros, or ``SymbolicZero``);
* ``batch``: a new ``custom_jvp`` call at the parent level whose function and rule are batched.
"""

from __future__ import annotations

import functools
import operator

from pullback import _dtypes
from pullback._core import (
    EVAL,
    Array,
    Primitive,
    ShapedArray,
    Tracer,
    UnexpectedTracerError,
    aval_of,
    is_valid_leaf,
    state,
)
from pullback._hop.batching import per_example_aval
from pullback._hop.custom_call import (
    SymbolicZero,
    _all_valid,
    _bind,
    _Call,
    _check_arguments,
    _closure_error,
    _eval_rule,
    _flat_output,
    _flatten,
    _fwd_arguments,
    _inexact_outputs,
    _name,
    _nondiff_positions,
    _output_tracers,
    _run_at,
    _Signature,
    _split_nondiff,
    _stage_fun,
    _type_tree,
    _unflatten,
)
from pullback._hop.partial_eval import KnownInterp
from pullback._hop.transpose import _Transposer
from pullback._interp.batch import batch_call
from pullback._interp.jvp import zeros_like_tangent
from pullback._interp.stage import StageTracer
from pullback._ir import ClosedJaxpr, eval_closed
from pullback._ops import convert_element_type, stop_gradient
from pullback._ops._base import batch_at
from pullback.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_map,
    tree_unflatten,
)

__all__ = ["custom_jvp", "custom_jvp_call_p"]


class custom_jvp:
    """Give ``fun`` a custom forward-mode derivative rule with ``defjvp`` (or ``defjvps``).

    Reverse mode (``grad``) comes from the same rule, by transposing its tangent part.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> @jax.custom_jvp
    ... def f(x, y):
    ...     return jnp.sin(x) * y
    >>> @f.defjvp
    ... def f_jvp(primals, tangents):
    ...     x, y = primals
    ...     x_dot, y_dot = tangents
    ...     return f(x, y), jnp.cos(x) * x_dot * y + jnp.sin(x) * y_dot
    >>> with jnp.printoptions(precision=2):
    ...     print(jax.value_and_grad(f)(jnp.float32(1.0), jnp.float32(2.0)))
    (Array(1.68, dtype=float32), Array(1.08, dtype=float32))
    """

    # what the helpers shared with custom_vjp say in messages
    _kind = "custom_jvp"
    _rule_kind = "jvp"
    _closure_fix = "give its tangent's contribution in the jvp rule"

    def __init__(self, fun, nondiff_argnums=(), nondiff_argnames=()):
        functools.update_wrapper(self, fun)
        if "__name__" not in self.__dict__:  # a functools.partial, a callable object
            self.__name__ = _name(fun)
        self.fun = fun
        self.jvp = None
        self.symbolic_zeros = False
        self._signature = _Signature(fun)
        self.nondiff_argnums = _nondiff_positions(self, nondiff_argnums, nondiff_argnames)

    def defjvp(self, jvp, symbolic_zeros=False):
        """Define the rule ``jvp(*nondiff, primals, tangents) -> (primal_out, tangent_out)``.

        ``primals`` and ``tangents`` are tuples over the differentiable arguments. With
        ``symbolic_zeros=True`` a tangent that is known to be zero arrives as a ``SymbolicZero``
        (and the rule may return ``SymbolicZero`` tangents). Returns ``jvp``, so ``@f.defjvp``
        works as a decorator.

        >>> import pullback as jax, pullback.numpy as jnp
        >>> @jax.custom_jvp
        ... def square(x):
        ...     return x * x
        >>> @square.defjvp
        ... def square_jvp(primals, tangents):
        ...     (x,), (t,) = primals, tangents
        ...     return square(x), 2.0 * x * t
        >>> jax.grad(square)(3.0)
        Array(6., dtype=float32, weak_type=True)
        """
        self.jvp = jvp
        self.symbolic_zeros = symbolic_zeros
        return jvp

    def defjvps(self, *jvps):
        """One rule per positional argument, ``rule(tangent, primal_out, *primals)`` (``None``
        for an argument with a zero derivative); the rules' results are summed.

        >>> import pullback as jax, pullback.numpy as jnp
        >>> @jax.custom_jvp
        ... def f(x, y):
        ...     return jnp.sin(x) * y
        >>> f.defjvps(lambda x_dot, out, x, y: jnp.cos(x) * x_dot * y,
        ...           lambda y_dot, out, x, y: jnp.sin(x) * y_dot)
        >>> with jnp.printoptions(precision=2):
        ...     print(jax.grad(f, argnums=(0, 1))(jnp.float32(1.0), jnp.float32(2.0)))
        (Array(1.08, dtype=float32), Array(0.84, dtype=float32))
        """
        if self.nondiff_argnums:
            raise TypeError("Can't use ``defjvps`` with ``nondiff_argnums``.")

        def jvp(primals, tangents):
            primal_out = self(*primals)
            terms = [
                rule(t, primal_out, *primals)
                for t, rule in zip(tangents, jvps, strict=False)
                if rule is not None
            ]
            if not terms:
                return primal_out, tree_map(zeros_like_tangent, primal_out)
            return primal_out, tree_map(lambda *ts: functools.reduce(operator.add, ts), *terms)

        self.defjvp(jvp)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("fun", "_signature"):
            raise AttributeError(name)
        return getattr(self.fun, name)

    def __get__(self, instance, owner=None):
        # As a method, ``self`` is bound and is a nondiff argument: jvp(self, primals, tangents).
        if instance is None:
            return self
        return functools.partial(_call, self, bound_self=instance)

    def __call__(self, *args, **kwargs):
        return _call(self, *args, **kwargs)


def _stop_traced(x):
    return stop_gradient(x) if isinstance(x, Tracer) else x


def _call(cj, *args, bound_self=None, **kwargs):
    if cj.jvp is None:
        raise AttributeError(
            f"No JVP defined for custom_jvp function {cj.__name__} using defjvp. Call "
            f"{cj.__name__}.defjvp(jvp) (or {cj.__name__}.defjvps(...)) before calling "
            f"{cj.__name__}."
        )
    args, kwonly, nondiff_argnums = _bind(cj, args, kwargs, bound_self)
    if state.interp is EVAL:
        return cj.fun(*args, **kwonly)
    nondiff, diff, diff_pos = _split_nondiff(args, nondiff_argnums)
    # nondiff values may be traced (as in JAX): no derivative flows through them
    nondiff = tuple((i, tree_map(_stop_traced, v)) for i, v in nondiff)
    kwonly = {k: tree_map(_stop_traced, v) for k, v in kwonly.items()}
    leaves, in_tree = _flatten(diff)
    if not _all_valid(leaves):
        _check_arguments(cj, diff_pos, diff)
    call = _Call(cj, nondiff, diff_pos, kwonly, in_tree, len(args))
    out = state.interp.process(custom_jvp_call_p, leaves, {"_call": call})
    return _unflatten(call.out_tree, out)


# -- running the rule and checking what it returns -----------------------------------------------


def _tangent_aval(x):
    aval = aval_of(x)
    return ShapedArray(aval.shape, _dtypes.tangent_dtype(aval.dtype), aval.weak_type)


def _absent_tangent(cj, primal):
    """What the rule receives for a tangent that is zero."""
    if cj.symbolic_zeros:
        return SymbolicZero(_tangent_aval(primal))
    return zeros_like_tangent(primal)


def _run_rule(call, primals, tangents):
    """The user's rule on flat primal and tangent leaves: its ``(primal_out, tangent_out)``."""
    cj = call.cv
    nondiff = [v for _, v in call.nondiff]
    primals = tree_unflatten(call.in_tree, primals)
    tangents = tree_unflatten(call.in_tree, tangents)
    return cj.jvp(*nondiff, primals, tangents, **call.kwonly)


def _rule_outputs(call, pair, fun_avals):
    """Check the rule's result; return the flat primal and tangent outputs. ``fun_avals`` are
    ``fun``'s output types when ``fun`` was traced (a staged call), else None."""
    cj = call.cv
    rule = f"Custom JVP rule {_name(cj.jvp)} for function {cj.__name__}"
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise TypeError(
            f"{rule} must produce a pair (list or tuple of length two) representing primal and "
            f"tangent outputs, but got {pair!r}."
        )
    primal_out, tangent_out = pair
    fun_tree = call.out_tree
    call.out_tree = None
    primals = _flat_output(call, primal_out, cj.jvp)
    tangents, tangent_tree = tree_flatten(tangent_out)
    if tangent_tree != call.out_tree:
        raise TypeError(
            f"{rule} must produce primal and tangent outputs with equal container (pytree) "
            f"structures, but got {call.out_tree} and {tangent_tree} respectively. Return one "
            f"tangent per primal output leaf (a SymbolicZero, with symbolic_zeros=True, or zeros "
            f"for a zero tangent; None is not a tangent)."
        )
    if fun_avals is not None:
        _check_against_fun(call, rule, fun_tree, primals, fun_avals)
    for k, (p, t) in enumerate(zip(primals, tangents, strict=True)):
        expected = _tangent_aval(p)
        if type(t) is SymbolicZero:
            got = t.aval
        elif is_valid_leaf(t):
            got = aval_of(t)
        else:
            raise TypeError(
                f"Argument '{t}' of type {type(t)} is not a valid JAX type. {rule}: the tangent "
                f"output{_path(primal_out, k)} is {t!r}; return an array of type "
                f"{expected.str_short()}."
            )
        if (got.shape, got.dtype) != (expected.shape, expected.dtype):
            e, p_, g = expected.str_short(), aval_of(p).str_short(), got.str_short()
            start = (
                "Custom JVP rule must produce primal and tangent outputs with corresponding "
                "shapes and dtypes"
            )
            if len(primals) == 1:
                raise TypeError(
                    f"{start}. Expected {e} (tangent type of {p_}) but got {g}. ({rule}.)"
                )
            raise TypeError(
                f"{start}, but got:\n  primal {p_} with tangent {g}, expecting tangent {e}\n"
                f"{rule}: expected {e} (tangent type of {p_}) but got {g} at "
                f"output{_path(primal_out, k)}."
            )
    return primals, tangents


def _path(tree, k):
    """The pytree path of leaf ``k`` of ``tree``, as ``[0]['a']``."""
    paths = tree_flatten_with_path(tree)[0]
    return keystr(paths[k][0]) if len(paths) > 1 else ""


def _check_against_fun(call, rule, fun_tree, primals, fun_avals):
    """A staged call knows ``fun``'s output: the rule's primal output must have its types."""
    cj = call.cv
    start = (
        f"{rule} must produce a pair (list or tuple of length two) where the first element "
        f"represents the primal output (equal in value to the output of the custom_jvp-decorated "
        f"function {cj.__name__}"
    )
    got_types = _type_tree(call.out_tree, [aval_of(p) for p in primals])
    fun_types = _type_tree(fun_tree, fun_avals)
    if call.out_tree != fun_tree:
        raise TypeError(
            f"{start}, and in particular of the same container/pytree structure), but instead "
            f"the JVP rule output's first element had container/pytree structure:\n"
            f"    {got_types}\nwhile the custom_jvp-decorated function {cj.__name__} had output "
            f"container/pytree structure:\n    {fun_types}.\nThe rule's primal output has "
            f"structure {call.out_tree}, {cj.__name__}'s output {fun_tree}."
        )
    for p, aval in zip(primals, fun_avals, strict=True):
        got = aval_of(p)
        if (got.shape, got.dtype) != (aval.shape, aval.dtype):
            raise TypeError(
                f"{start}, and in particular with leaves of the same shape/dtype), but instead "
                f"the JVP rule output's first element had shapes/dtypes of:\n    {got_types}\n"
                f"while the custom_jvp-decorated function {cj.__name__} had output shapes/dtypes "
                f"of:\n    {fun_types}\nThe rule's primal output has a leaf of type "
                f"{got.str_short()} where {cj.__name__} gives {aval.str_short()}."
            )


def _fun_avals(params):
    staged = params.get("call_jaxpr")
    return None if staged is None else staged.out_avals


def _check_consts(interp, call, args, params):
    """Closed-over values (a staged call's leading arguments) carry no derivative."""
    n = params.get("num_consts", 0)
    for c in args[:n]:
        if interp.own(c):
            raise _closure_error(call.cv, UnexpectedTracerError(), c)
    return args[n:]


# -- the primitive and its rules -------------------------------------------------------------------

custom_jvp_call_p = Primitive("custom_jvp_call", None, multiple_results=True)


def _stage_rule(interp, args, params):
    """Only ``fun`` is traced (``call_jaxpr``); the rule runs if the equation is differentiated.
    Printed as JAX prints it: ``num_consts`` only when ``fun`` closes over traced values."""
    call = params["_call"]
    cj = call.cv
    closed, consts = _stage_fun(call, args)
    staged = {
        "_call": call,
        "name": cj.__name__,
        "call_jaxpr": closed,
        "jvp": cj.jvp,
        "symbolic_zeros": cj.symbolic_zeros,
    }
    if consts:
        staged["num_consts"] = len(consts)
    invars = [interp.atom(a) for a in (*consts, *args)]
    return interp.add_eqn(custom_jvp_call_p, invars, closed.out_avals, staged)


def _vjp_rule(interp, args, params):
    """Reverse mode: linearize the rule one level down, transpose its tangent part."""
    call = params["_call"]
    cj = call.cv
    leaves = _check_consts(interp, call, args, params)
    vals, inputs = _fwd_arguments(interp, leaves)
    if vals is None:  # nothing differentiated here: only fun runs, at the parent level
        try:
            return _run_at(interp.parent, interp.parent.process, custom_jvp_call_p, args, params)
        except UnexpectedTracerError as e:
            raise _closure_error(cj, e) from None
    level = EVAL if interp.raw else interp.parent
    rule = f"the jvp rule {_name(cj.jvp)} of custom_jvp function {cj.__name__}"
    known = KnownInterp(level, f"{rule} (its tangent inputs)")
    tangents = [
        known.new_input(_tangent_aval(v)) if i >= 0 else _absent_tangent(cj, v)
        for v, i in zip(vals, inputs, strict=True)
    ]
    saved = state.interp
    state.interp = known
    try:
        pair = _run_rule(call, vals, tangents)
        outs, out_tangents = _rule_outputs(call, pair, _fun_avals(params))
        # the tangents of inexact outputs, unless symbolically zero, make the linear part
        slots = [
            k
            for k, (o, t) in enumerate(zip(outs, out_tangents, strict=True))
            if type(t) is not SymbolicZero and aval_of(o).dtype.kind in "fc"
        ]
        for k, o in enumerate(outs):
            if type(o) is StageTracer and o._interp is known:
                raise TypeError(
                    f"Custom JVP rule {_name(cj.jvp)} for function {cj.__name__}: the primal "
                    f"output{_path(pair[0], k) or ''} depends on the tangents. The primal output "
                    f"must be computed from the primals alone."
                )
        linear = known.to_jaxpr([out_tangents[k] for k in slots])
    except UnexpectedTracerError as e:
        raise _closure_error(cj, e) from None
    finally:
        state.interp = saved
        known.active = False
    for c in linear.consts:
        if interp.own(c):  # the rule closed over a value being differentiated
            raise _closure_error(cj, UnexpectedTracerError(), c)
    if interp.raw:  # the backward pass runs on raw values
        consts = [c._value if type(c) is Array else c for c in linear.consts]
        linear = ClosedJaxpr(linear.jaxpr, consts)
    transposer = _Transposer(
        linear,
        [True] * len(linear.jaxpr.invars),
        _name(cj.jvp),
        f"custom_jvp function {cj.__name__}: reverse mode (grad, vjp) transposes the tangent "
        f"output of {rule}, which must therefore be linear in the tangents (use custom_vjp for "
        f"a rule that is not), but it is not",
    )
    base_outs, weaks, traced = _inexact_outputs(interp, outs)
    if not base_outs:
        return [interp.to_parent(o) for o in outs]
    in_avals = [_tangent_aval(v) for v, i in zip(vals, inputs, strict=True) if i >= 0]
    data = (transposer, slots, traced, len(base_outs), in_avals, inputs)
    tracers = interp.record(_transpose_entry, inputs, data, base_outs, weaks)
    return _output_tracers(interp, tracers, traced, outs)


def _transpose_entry(ct, transposer, slots, traced, n_traced, in_avals, inputs):
    """The tape rule: the transposed tangent part, applied to the outputs' cotangents."""
    cts = ct if n_traced > 1 else (ct,)
    out_cts = [cts[traced[k]] for k in slots]
    in_cts = iter(transposer.backward(transposer.forward([None] * len(in_avals)), out_cts))
    avals = iter(in_avals)
    result = []
    for i in inputs:
        if i < 0:
            result.append(None)
            continue
        c, aval = next(in_cts), next(avals)
        if c is not None and c.dtype != aval.dtype:
            c = convert_element_type(c, aval.dtype)
        result.append(c)
    return result


def _jvp_rule(interp, args, params):
    """Forward mode: the user's rule at the parent level, on the tangents that arrive."""
    call = params["_call"]
    cj = call.cv
    leaves = _check_consts(interp, call, args, params)
    if not any(interp.own(a) for a in leaves):
        return _run_at(interp.parent, interp.parent.process, custom_jvp_call_p, args, params)
    primals = [interp.primal(a) for a in leaves]
    tangents = []
    for a, p in zip(leaves, primals, strict=True):
        t = interp.tangent(a)
        tangents.append(_absent_tangent(cj, p) if t is None else t)
    try:
        pair = _run_at(interp.parent, _run_rule, call, primals, tangents)
    except UnexpectedTracerError as e:
        raise _closure_error(cj, e) from None
    outs, out_tangents = _run_at(interp.parent, _rule_outputs, call, pair, _fun_avals(params))
    return [
        interp.lift(o, None if type(t) is SymbolicZero or aval_of(t).dtype == _dtypes.float0 else t)
        for o, t in zip(outs, out_tangents, strict=True)
    ]


def _batch_rule(interp, args, params):
    """A new custom_jvp call at the parent level, of ``fun`` and the rule batched: so an outer
    ``jvp`` of ``vmap(f)`` still uses the rule. Traced nondiff values of this level (and a
    staged call's closed-over values) become the new call's leading nondiff arguments."""
    call = params["_call"]
    cj = call.cv
    n_consts = params.get("num_consts", 0)
    static, static_tree = tree_flatten((call.nondiff, call.kwonly))
    hidden = [k for k, x in enumerate(static) if interp.own(x)]
    lead = [static[k] for k in hidden] + list(args[:n_consts])
    leaves = args[n_consts:]
    n_lead, n = len(lead), len(leaves)
    lead_dims = [interp.bdim(x) for x in lead]
    dims = [interp.bdim(x) for x in leaves]
    size, axis = interp.axis_size, interp.axis_name
    saved = {}

    def batched(run, values, in_dims):
        return batch_call(run, values, in_dims, size, axis, adopts=interp)

    def rebuilt(lead_vals):
        """The call with this level's traced nondiff values replaced by ``lead_vals``."""
        values = list(static)
        for k, v in zip(hidden, lead_vals, strict=False):
            values[k] = v
        nondiff, kwonly = tree_unflatten(static_tree, values)
        return _Call(cj, nondiff, call.diff_pos, kwonly, call.in_tree, call.nargs)

    def fun_flat(*vals):
        lead_vals, leaf_vals = vals[:n_lead], list(vals[n_lead:])
        staged = params.get("call_jaxpr")
        if staged is not None:
            return eval_closed(staged, *lead_vals[len(hidden) :], *leaf_vals)
        c = rebuilt(lead_vals)
        out = _flat_output(c, c.run(cj.fun, leaf_vals), cj.fun)
        call.out_tree = c.out_tree  # the caller unflattens the batched outputs with it
        return out

    def batched_fun(*vals):
        outs, saved["out_dims"] = batched(fun_flat, vals, [*lead_dims, *dims])
        return outs

    def batched_jvp(*lead_and_pair):
        lead_vals = list(lead_and_pair[:n_lead])
        primals, tangents = lead_and_pair[n_lead:]
        zero = [type(t) is SymbolicZero for t in tangents]
        given = [t for t, z in zip(tangents, zero, strict=True) if not z]
        given_dims = [d for d, z in zip(dims, zero, strict=True) if not z]

        def rule_flat(*vals):
            lv, ps, ts = vals[:n_lead], list(vals[n_lead : n_lead + n]), iter(vals[n_lead + n :])
            full = [
                SymbolicZero(per_example_aval(t.aval, d)) if z else next(ts)
                for t, z, d in zip(tangents, zero, dims, strict=True)
            ]
            c = rebuilt(lv)
            outs, touts = _rule_outputs(c, _run_rule(c, ps, full), None)
            call.out_tree = c.out_tree
            touts = [
                zeros_like_tangent(o) if type(t) is SymbolicZero else t
                for o, t in zip(outs, touts, strict=True)
            ]
            return [*outs, *touts]

        in_dims = [*lead_dims, *dims, *given_dims]
        res, res_dims = batched(rule_flat, [*lead_vals, *primals, *given], in_dims)
        k = len(res) // 2
        outs, touts, saved["out_dims"] = [], [], []
        for o, t, do, dt in zip(res[:k], res[k:], res_dims[:k], res_dims[k:], strict=True):
            if do is None and dt is None:
                outs.append(o)
                touts.append(t)
                saved["out_dims"].append(None)
            else:  # a tangent is laid out as its primal: both batched, at 0
                outs.append(batch_at(o, do, size))
                touts.append(batch_at(t, dt, size))
                saved["out_dims"].append(0)
        return outs, touts

    batched_fun.__name__ = cj.__name__
    batched_jvp.__name__ = _name(cj.jvp)
    batched_cj = custom_jvp(batched_fun, nondiff_argnums=tuple(range(n_lead)))
    batched_cj.defjvp(batched_jvp, symbolic_zeros=cj.symbolic_zeros)
    values = [interp.value(x) for x in (*lead, *leaves)]
    outs = _run_at(interp.parent, batched_cj, *values)
    return [interp.lift(o, d) for o, d in zip(outs, saved["out_dims"], strict=True)]


custom_jvp_call_p.rules["eval"] = _eval_rule
custom_jvp_call_p.rules["stage"] = _stage_rule
custom_jvp_call_p.rules["vjp"] = _vjp_rule
custom_jvp_call_p.rules["jvp"] = _jvp_rule
custom_jvp_call_p.rules["batch"] = _batch_rule
custom_jvp_call_p.rules["inline"] = lambda params: params["call_jaxpr"]
custom_jvp_call_p.abstract = lambda *avals, call_jaxpr, **params: call_jaxpr.out_avals
