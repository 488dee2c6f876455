"""``custom_vjp``: a function with a user-defined reverse-mode rule.

A call binds the higher-order primitive ``custom_vjp_call``. Its parameter is a ``_Call`` record
(the function, nondiff values, keyword-only values, the input pytree); its arguments are the
flat leaves of the differentiable arguments, so every interpreter sees which are traced. What
``custom_jvp`` shares with it (binding, ``_Call``, flattening, the ``eval`` rule, the
closed-over-value error) is in ``_hop/custom_call.py``, the checks of what ``fwd`` and ``bwd``
return in ``_hop/custom_vjp_checks.py``. The primitive's rules, but for ``jvp``
(``_hop/forward.py``), are set at the bottom of this module:

* ``eval``: run ``fun`` on the values as they are (nothing cast, nothing checked);
* ``vjp``: when an input is being differentiated, run ``fwd`` one level down, record the
  residuals on the tape, and at backward time call ``bwd`` and check what it returns. When no
  input is, hand the call to the parent interpreter, so only ``fun`` runs;
* ``stage``: trace only ``fun``, into the equation's ``call_jaxpr`` (``inline`` splices it in);
* ``batch``: a ``custom_vjp`` call one level down whose ``fun``, ``fwd`` and ``bwd`` are batched.
"""

from __future__ import annotations

import functools

import numpy as np

from pullback._core import (
    EVAL,
    RAW,
    Array,
    Primitive,
    UnexpectedTracerError,
    aval_of,
    state,
)
from pullback._hop.batching import at_parent, per_example_aval
from pullback._hop.custom_call import (
    _LEAF_TREEDEF,
    _LEAF_TYPES,
    CustomVJPException,
    CustomVJPPrimal,
    SymbolicZero,
    _all_valid,
    _bind,
    _Call,
    _check_arguments,
    _closure_error,
    _eval_rule,
    _flat_output,
    _flat_tuple_treedef,
    _flatten,
    _fwd_arguments,
    _guard_closure,
    _inexact_outputs,
    _name,
    _nondiff_positions,
    _output_tracers,
    _Signature,
    _split_nondiff,
    _stage_fun,
    _unflatten,
)
from pullback._hop.custom_vjp_checks import (
    _check_bwd_output,
    _check_fwd_output,
    _check_pair,
    _check_residuals,
)
from pullback._hop.remat_opt import staged_fwd
from pullback._interp.batch import batch_call
from pullback._interp.stage import StageInterp
from pullback._interp.vjp import VJPInterp, VJPTracer
from pullback._ir import eval_closed
from pullback._ops import broadcast_to, convert_element_type, reduce_sum
from pullback._ops._base import batch_at
from pullback.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_unflatten,
)

__all__ = ["custom_vjp"]


class custom_vjp:
    """Give ``fun`` a custom reverse-mode derivative rule with ``defvjp``.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> @jax.custom_vjp
    ... def f(x, y):
    ...     return jnp.sin(x) * y
    >>> def f_fwd(x, y):
    ...     return f(x, y), (jnp.cos(x), jnp.sin(x), y)
    >>> def f_bwd(res, g):
    ...     cos_x, sin_x, y = res
    ...     return (cos_x * g * y, sin_x * g)
    >>> f.defvjp(f_fwd, f_bwd)
    >>> with jnp.printoptions(precision=2):
    ...     print(jax.value_and_grad(f)(jnp.float32(1.0), jnp.float32(2.0)))
    (Array(1.68, dtype=float32), Array(1.08, dtype=float32))
    """

    # what the helpers shared with custom_jvp say in messages
    _kind = "custom_vjp"
    _rule_kind = "fwd"
    _closure_fix = "return its cotangent from bwd"

    def __init__(self, fun, nondiff_argnums=(), nondiff_argnames=()):
        functools.update_wrapper(self, fun)
        if "__name__" not in self.__dict__:  # a functools.partial, a callable object
            self.__name__ = _name(fun)
        self.fun = fun
        self.fwd = None
        self.bwd = None
        self.symbolic_zeros = False
        self.optimize_remat = False
        self._signature = _Signature(fun)
        self._fast_arity = -1  # the arity of calls that take the fast path, once defvjp is called
        self.nondiff_argnums = _nondiff_positions(self, nondiff_argnums, nondiff_argnames)

    def defvjp(self, fwd, bwd, symbolic_zeros=False, optimize_remat=False):
        """Define the rule: ``fwd(*args) -> (out, residuals)``, ``bwd(*nondiff, res, ct)``.

        ``symbolic_zeros=True``: ``fwd`` receives ``CustomVJPPrimal`` leaves saying which are
        perturbed, ``bwd`` ``SymbolicZero`` for cotangents known to be zero.
        ``optimize_remat=True``: inside a ``checkpoint`` region the forward pass runs ``fun``
        and the backward pass runs ``fwd`` once, for the residuals (``fwd`` is then traced);
        elsewhere the flag changes nothing. The two may be combined. Returns None.
        """
        self.fwd = fwd
        self.bwd = bwd
        self.symbolic_zeros = symbolic_zeros
        self.optimize_remat = optimize_remat
        sig = self._signature
        self._fast_arity = sig.n_positional if sig.simple and not self.nondiff_argnums else -1
        self._positions = tuple(range(sig.n_positional))
        if self._fast_arity >= 0:
            n = self._fast_arity
            # the parameter of calls taking the inline reverse-mode lane (one array output)
            self._lane_call = _Call(self, (), self._positions, {}, _flat_tuple_treedef(n), n)
            self._lane_call.out_tree = _LEAF_TREEDEF

    def __getattr__(self, name):
        if name.startswith("__") or name in ("fun", "_signature"):
            raise AttributeError(name)
        return getattr(self.fun, name)

    def __get__(self, instance, owner=None):
        # As a method, ``self`` is bound and treated as a nondiff argument, so fwd and bwd can
        # be methods too: fwd(self, x), bwd(self, res, g).
        if instance is None:
            return self
        return functools.partial(_call, self, bound_self=instance)

    def __call__(self, *args, **kwargs):
        n = len(args)
        if n == self._fast_arity and not kwargs:
            # positional array arguments, no nondiff: skip binding and pytree flattening
            interp = state.interp
            if interp is EVAL:
                return self.fun(*args)
            for a in args:
                if type(a) not in _LEAF_TYPES:
                    break
            else:
                if type(interp) is VJPInterp and interp.raw and not self.symbolic_zeros:
                    out = _vjp_lane(self, interp, args, n)
                    if out is not None:
                        return out
                call = _Call(self, (), self._positions, {}, _flat_tuple_treedef(n), n)
                out = interp.process(custom_vjp_call_p, args, {"_call": call})
                if call.out_tree is _LEAF_TREEDEF:
                    return out[0]
                return tree_unflatten(call.out_tree, out)
        return _call(self, *args, **kwargs)


def _run_fwd(cv, interp, call, fwd_args):
    """``fwd`` on ``fwd_args`` one level below ``interp``."""
    saved = state.interp
    state.interp = EVAL if interp.raw else interp.parent
    try:
        return cv.fwd(*fwd_args) if call is None or call.plain else call.run(cv.fwd, fwd_args)
    except UnexpectedTracerError as e:
        raise _closure_error(cv, e) from None
    finally:
        state.interp = saved


def _vjp_lane(cv, interp, args, n):
    """The reverse-mode rule for the commonest call, inline: array arguments of an eager
    ``grad``, one array output. Returns None to hand the call to the general path."""
    vals, inputs = _fwd_arguments(interp, args)
    if vals is None:
        return None
    pair = _run_fwd(cv, interp, None, vals)
    if type(pair) is tuple and len(pair) == 2:
        out, res = pair
        if (
            type(out) is Array
            and out._value.dtype.kind in "fc"
            and (res is None or type(res) in _LEAF_TYPES or _all_valid(tree_leaves(res)))
        ):
            tape = interp.tape
            data = (cv._lane_call, res, [out], _FIRST, vals, inputs)
            tape.append((_bwd_entry, inputs, data, 0))
            return VJPTracer(out._value, out._weak, interp, len(tape) - 1)
    call = _Call(cv, (), cv._positions, {}, _flat_tuple_treedef(n), n)
    return _unflatten_output(call, _record(interp, call, pair, vals, inputs))


_FIRST = (0,)  # ``traced`` for a single array output


def _unflatten_output(call, out):
    if call.out_tree is _LEAF_TREEDEF:
        return out[0]
    return tree_unflatten(call.out_tree, out)


def _call(cv, *args, bound_self=None, **kwargs):
    if cv.fwd is None:
        raise AttributeError(
            f"No VJP defined for custom_vjp function {cv.__name__} using defvjp. Call "
            f"{cv.__name__}.defvjp(fwd, bwd) before calling {cv.__name__}."
        )
    args, kwonly, nondiff_argnums = _bind(cv, args, kwargs, bound_self)
    if state.interp is EVAL:
        return cv.fun(*args, **kwonly)
    nondiff, diff, diff_pos = _split_nondiff(args, nondiff_argnums)
    if nondiff or kwonly:
        _check_static(cv, nondiff, kwonly)
    leaves, in_tree = _flatten(diff)
    if not _all_valid(leaves):
        _check_arguments(cv, diff_pos, diff)
    call = _Call(cv, nondiff, diff_pos, kwonly, in_tree, len(args))
    out = state.interp.process(custom_vjp_call_p, leaves, {"_call": call})
    return _unflatten(call.out_tree, out)


def _check_static(cv, nondiff, kwonly):
    """Nondiff and keyword-only values may be constants but not values being differentiated."""
    items = [(f"argument {cv._signature.arg_name(i)!r} (position {i})", v) for i, v in nondiff]
    items += [(f"keyword-only argument {k!r}", v) for k, v in kwonly.items()]
    for what, value in items:
        for path, leaf in tree_flatten_with_path(value)[0]:
            if isinstance(leaf, VJPTracer) and leaf._interp.active:
                where = f" at {keystr(path)}" if path else ""
                kind = "in nondiff_argnums" if "position" in what else "keyword-only"
                raise CustomVJPException(
                    f"custom_vjp function {cv.__name__}: {what}{where} is being differentiated, "
                    f"but it is {kind}, so {cv.__name__}'s rule cannot give it a cotangent. Pass "
                    f"it as a differentiable positional argument (bwd may return None for it), "
                    f"or wrap it in pullback.lax.stop_gradient if no derivative is wanted."
                )


# -- the primitive and its rules ------------------------------------------------------------------

custom_vjp_call_p = Primitive("custom_vjp_call", None, multiple_results=True)


def _stage_rule(interp, args, params):
    """Under staging only ``fun`` is traced, into the equation's ``call_jaxpr``; ``fwd`` and
    ``bwd`` run if the equation is differentiated later. Closed-over tracers of enclosing
    transformations become the equation's leading (``num_consts``) arguments."""
    call = params["_call"]
    cv = call.cv
    closed, consts = _stage_fun(call, args)
    staged = {
        "_call": call,
        "name": cv.__name__,
        "call_jaxpr": closed,
        "fwd": cv.fwd,
        "bwd": cv.bwd,
        "_num_consts": len(consts),
        "symbolic_zeros": cv.symbolic_zeros,
    }
    invars = [interp.atom(a) for a in (*consts, *args)]
    return interp.add_eqn(custom_vjp_call_p, invars, closed.out_avals, staged)


def _vjp_rule(interp, args, params):
    call = params["_call"]
    cv = call.cv
    n_consts = params.get("_num_consts", 0)
    for c in args[:n_consts]:
        if interp.own(c):
            raise _closure_error(cv, UnexpectedTracerError(), c)
    vals, inputs = _fwd_arguments(interp, args[n_consts:])
    if vals is None:  # nothing differentiated here: only fun runs, at the parent level
        return _guard_closure(cv, interp, interp.parent.process, custom_vjp_call_p, args, params)
    fwd_args = (
        [CustomVJPPrimal(v, i >= 0) for v, i in zip(vals, inputs, strict=True)]
        if cv.symbolic_zeros
        else vals
    )
    staged = params.get("call_jaxpr")
    if cv.optimize_remat and isinstance(interp.parent, StageInterp):
        # staged: fwd becomes an equation that a checkpoint's split can replace by fun
        fun_consts = args[:n_consts] if staged is not None else ()
        pair = staged_fwd(call, fwd_args, interp.parent, staged, fun_consts)
    else:
        pair = _run_fwd(cv, interp, call, fwd_args)
    if staged is not None:  # fun's output type is known: fwd must agree with it
        _check_pair(cv, pair)
        _check_fwd_output(call, pair[0], staged.out_avals)
    return _record(interp, call, pair, vals, inputs)


def _record(interp, call, pair, vals, inputs):
    """Check ``fwd``'s result and put the call on the tape; return the output tracers."""
    cv = call.cv
    if type(pair) is not tuple or len(pair) != 2:
        _check_pair(cv, pair)
    out, res = pair
    if res is not None and type(res) not in _LEAF_TYPES:
        _check_residuals(cv, res)
    if type(out) is Array and call.out_tree is _LEAF_TREEDEF:
        out_leaves = [out]
    else:
        out_leaves = _flat_output(call, out, cv.fwd)
    outs, weaks, traced = _inexact_outputs(interp, out_leaves)
    if not outs:
        return [interp.to_parent(o) for o in out_leaves]
    data = (call, res, out_leaves, traced, vals, inputs)
    tracers = interp.record(_bwd_entry, inputs, data, outs, weaks)
    return _output_tracers(interp, tracers, traced, out_leaves)


def _bwd_entry(ct, call, res, out_leaves, traced, vals, inputs):
    """The tape rule: call ``bwd`` with the output cotangent, check and convert its result."""
    cv = call.cv
    base = state.interp
    raw = base is RAW
    if call.out_tree is _LEAF_TREEDEF and traced[0] == 0:
        # one array output, and its cotangent arrived (else the entry is skipped)
        ct_tree = Array(ct, False) if raw else ct
    else:
        ct_tree = _output_cotangent_tree(call, ct, out_leaves, traced, raw)
    state.interp = EVAL if raw else base
    try:
        if call.nondiff:
            result = cv.bwd(*[v for _, v in call.nondiff], res, ct_tree)
        else:
            result = cv.bwd(res, ct_tree)
    finally:
        state.interp = base
    if type(result) is tuple and call.flat and len(result) == len(vals):
        # every argument a single array: check each cotangent inline in the common case
        cts = []
        for val, c, i in zip(vals, result, inputs, strict=True):
            if type(c) is Array and type(val) is Array:
                e, v = c._value, val._value
                if e.dtype is v.dtype and e.shape == v.shape and e.dtype.kind in "fc":
                    cts.append(None if i < 0 else (e if raw else c))
                    continue
            break
        else:
            return cts
    cts = []
    for c, i in zip(_check_bwd_output(call, result, vals), inputs, strict=True):
        cts.append(None if c is None or i < 0 else (c._value if raw and type(c) is Array else c))
    return cts


def _output_cotangent_tree(call, ct, out_leaves, traced, raw):
    """The cotangent ``bwd`` receives: zeros (or SymbolicZero) where none arrived."""
    cv = call.cv
    if type(ct) is not tuple:
        ct = (ct,)
    ct_leaves = []
    for k, o in zip(traced, out_leaves, strict=True):
        c = ct[k] if k is not None else None
        if c is None:
            zero = SymbolicZero.from_primal_value(o)
            c = zero if cv.symbolic_zeros else Array(np.zeros(zero.shape, zero.dtype), False)
        elif raw:
            c = Array(c, False)
        ct_leaves.append(c)
    return _unflatten(call.out_tree, ct_leaves)


custom_vjp_call_p.rules["eval"] = _eval_rule
custom_vjp_call_p.rules["vjp"] = _vjp_rule
custom_vjp_call_p.rules["stage"] = _stage_rule
custom_vjp_call_p.rules["inline"] = lambda params: params["call_jaxpr"]
custom_vjp_call_p.abstract = lambda *avals, call_jaxpr, **params: call_jaxpr.out_avals


# -- batching (vmap) -------------------------------------------------------------------------------


def _batch_rule(interp, args, params):
    """``vmap`` of a custom_vjp call is a custom_vjp call one level down whose ``fun``, ``fwd``
    and ``bwd`` are the user's, batched (spec §4.4): user code sees one example's shapes, outputs
    and residuals keep the batch axes ``fun``/``fwd`` gave them, and a cotangent ``bwd`` returns
    batched for an input that is not batched is summed over the batch. So ``grad(vmap(f))`` still
    runs the user's ``bwd``, batched, and ``vmap(grad(f))`` needs nothing here (the tape is
    inside). The rules run under a vmap that adopts this one's tracers, so they may close over
    values of this vmap even when no argument is batched (as in JAX)."""
    call = params["_call"]
    cv = call.cv
    n_consts = params.get("_num_consts", 0)
    consts, args = args[:n_consts], args[n_consts:]
    dims = [interp.bdim(a) for a in args]
    size, name = interp.axis_size, interp.axis_name
    n = len(args)
    saved = {}

    def batched(run, values, in_dims):
        return batch_call(run, values, in_dims, size, name, adopts=interp)

    def fun(*values):
        if consts:  # a staged call: its jaxpr takes the tracers fun closed over, now these
            outs, saved["out_dims"] = batched(
                lambda *a: eval_closed(params["call_jaxpr"], *a),
                [*const_values, *values],
                [*[interp.bdim(c) for c in consts], *dims],
            )
            return tuple(outs)

        def run(*leaves):
            return _flat_output(call, call.run(cv.fun, list(leaves)), cv.fun)

        outs, saved["out_dims"] = batched(run, values, dims)
        return tuple(outs)

    def fwd(*values):
        perturbed = None
        if cv.symbolic_zeros:  # the parent says which inputs are perturbed: so will fwd's
            perturbed = [v.perturbed for v in values]
            values = [v.value for v in values]

        def run(*leaves):
            fwd_args = leaves
            if perturbed is not None:
                fwd_args = [CustomVJPPrimal(v, p) for v, p in zip(leaves, perturbed, strict=True)]
            out, res = call.run(cv.fwd, list(fwd_args))
            res_leaves, saved["res_tree"] = tree_flatten(res)
            out_leaves = _flat_output(call, out, cv.fwd)
            saved["n_out"] = len(out_leaves)
            return [*out_leaves, *res_leaves]

        outs, out_dims = batched(run, values, dims)
        saved["primals"] = values  # bwd's zeros and checks need them at the level fwd ran at
        k = saved["n_out"]
        saved["out_dims"], saved["res_dims"] = out_dims[:k], out_dims[k:]
        return tuple(outs[:k]), tuple(outs[k:])

    def bwd(res, ct):
        nondiff = [v for _, v in call.nondiff]
        res_tree = saved["res_tree"]

        def run(*a):
            primals, res_leaves, given = a[:n], a[n : n + len(res)], iter(a[n + len(res) :])
            cts = [z if z is not None else next(given) for z in zeros]
            result = cv.bwd(
                *nondiff, tree_unflatten(res_tree, res_leaves), _unflatten(call.out_tree, cts)
            )
            return [
                c if c is not None else zeros_like(p)
                for c, p in zip(
                    _check_bwd_output(call, result, list(primals)), primals, strict=True
                )
            ]

        ct_leaves = list(ct) if isinstance(ct, tuple) else [ct]
        # a symbolic zero reaches bwd as one, of one example's type
        zeros = [
            SymbolicZero(per_example_aval(c.aval, d)) if type(c) is SymbolicZero else None
            for c, d in zip(ct_leaves, saved["out_dims"], strict=True)
        ]
        given = [c for c, z in zip(ct_leaves, zeros, strict=True) if z is None]
        # a cotangent is laid out as its output is
        given_dims = [d for d, z in zip(saved["out_dims"], zeros, strict=True) if z is None]
        in_dims = [*dims, *saved["res_dims"], *given_dims]
        cts, ct_dims = batched(run, [*saved["primals"], *res, *given], in_dims)
        out = []
        for c, dc, d in zip(cts, ct_dims, dims, strict=True):
            if d is None:  # an input shared by the batch: its cotangent sums the members'
                out.append(c if dc is None else reduce_sum(c, (dc,)))
            else:
                out.append(batch_at(c, dc, size, d))
        return tuple(out)

    fun.__name__ = cv.__name__
    fwd.__name__ = _name(cv.fwd)
    bwd.__name__ = _name(cv.bwd)
    batched_cv = custom_vjp(fun)
    batched_cv.defvjp(fwd, bwd, symbolic_zeros=cv.symbolic_zeros)
    const_values = [interp.value(c) for c in consts]
    outs = at_parent(interp, batched_cv, *[interp.value(x) for x in args])
    return [interp.lift(o, d) for o, d in zip(outs, saved["out_dims"], strict=True)]


def zeros_like(x):
    """Zeros of ``x``'s shape and dtype (a zero cotangent that ``bwd`` left as None)."""
    aval = aval_of(x)  # a Python scalar too: fwd may have been handed one
    return broadcast_to(convert_element_type(0, aval.dtype), aval.shape)


custom_vjp_call_p.rules["batch"] = _batch_rule
