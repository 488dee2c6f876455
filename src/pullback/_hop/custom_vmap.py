"""``custom_vmap``: a function with a user-defined batching rule (``jax.custom_batching``).

Called outside every transformation, a ``custom_vmap`` function runs as it is. Under one, the
function is traced into a closed jaxpr, as JAX does (closed-over tracers of enclosing
transformations become leading ``num_consts`` operands), and the call binds the higher-order
primitive ``custom_vmap_call`` on the flat leaves of the arguments. Its parameters are the
traced function (``call``), the rule (``rule``) and, internally, the argument and output
pytrees (``_call``); it prints as ``custom_vmap_call[call={ lambda ... } rule=f_rule]``. The
rules, one per interpreter:

* ``eval``: the traced function; ``inline``: the compiler splices ``call`` in, so ``jit(f)`` runs
  the function as straight-line NumPy; staging uses ``abstract`` (the function's output types);
* ``batch``: the user's rule at the parent level, on the arguments with their batch axes moved
  to 0; its result is checked against the function's output pytree and types, and outputs it
  declares unbatched stay unbatched (``vmap`` broadcasts them if its caller needs them batched);
* ``jvp``: a new ``custom_vmap`` call at the parent level, of the function's JVP, whose rule is
  the JVP of the user's rule: forward mode differentiates the function, and under ``vmap`` the
  rule, as in JAX;
* ``vjp``: an error, as in JAX: reverse mode needs a ``custom_vjp`` around the function.
"""

from __future__ import annotations

import functools

from pullback._core import (
    EVAL,
    RAW,
    Array,
    Primitive,
    ShapedArray,
    UnexpectedTracerError,
    aval_of,
    is_valid_leaf,
    state,
    to_raw,
)
from pullback._hop import control_flow
from pullback._hop.batching import at_parent, forward
from pullback._hop.custom_call import _all_valid, _lift, _name, _run_at, _Signature
from pullback._hop.forward import jvp_closed
from pullback._interp.jvp import JVPInterp, zeros_like_tangent
from pullback._interp.stage import hoist_tracers, trace_to_jaxpr
from pullback._ir import eval_closed
from pullback._ops._base import batch_at
from pullback.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)

__all__ = ["custom_vmap", "sequential_vmap", "custom_vmap_call_p"]


class custom_vmap:
    """Give ``fun`` a custom batching rule with ``def_vmap``.

    Outside ``vmap`` the function runs as it is; under ``vmap`` the rule runs instead.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> @jax.custom_batching.custom_vmap
    ... def f(x, y):
    ...     return x + y
    >>> @f.def_vmap
    ... def f_vmap_rule(axis_size, in_batched, xs, ys):
    ...     return xs * ys, in_batched[0] or in_batched[1]
    >>> f(jnp.float32(2.0), jnp.float32(3.0))
    Array(5., dtype=float32)
    >>> jax.vmap(f)(jnp.arange(3.0), jnp.arange(1.0, 4.0))
    Array([0., 2., 6.], dtype=float32)
    """

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        if "__name__" not in self.__dict__:  # a functools.partial, a callable object
            self.__name__ = _name(fun)
        self.fun = fun
        self.vmap_rule = None
        self._signature = _Signature(fun)

    def def_vmap(self, vmap_rule):
        """Define the rule ``vmap_rule(axis_size, in_batched, *args) -> (out, out_batched)``.

        ``in_batched`` is a list with one pytree of booleans per argument, saying which leaves
        carry a batch axis (always at 0, of size ``axis_size``); ``out_batched`` is a pytree of
        booleans with the structure of ``out``. Returns ``vmap_rule``, so ``@f.def_vmap`` works
        as a decorator.

        >>> import pullback as jax, pullback.numpy as jnp
        >>> @jax.custom_batching.custom_vmap
        ... def total(x):
        ...     return jnp.sum(x)
        >>> @total.def_vmap
        ... def total_rule(axis_size, in_batched, xs):
        ...     return jnp.sum(xs, axis=1), True
        >>> jax.vmap(total)(jnp.ones((2, 3)))
        Array([3., 3.], dtype=float32)
        """
        self.vmap_rule = vmap_rule
        return vmap_rule

    def __getattr__(self, name):
        # as in JAX, ``def...`` reaches a decorator underneath: @custom_vmap over @custom_jvp
        # still takes ``defjvp``
        if name.startswith("def") and "fun" in self.__dict__:
            return getattr(self.fun, name)
        raise AttributeError(name)

    def __call__(self, *args, **kwargs):
        if self.vmap_rule is None:
            raise AttributeError(
                f"No batching rule defined for custom_vmap function {self.__name__} using "
                f"def_vmap. Call {self.__name__}.def_vmap(rule) before calling {self.__name__}."
            )
        args, kwonly = self._signature.bind(self.__name__, args, kwargs, "custom_vmap")
        if kwonly:
            raise TypeError(
                f"The input arguments to the custom_vmap-decorated function {self.__name__} "
                f"could not be resolved to positional-only arguments: keyword-only arguments "
                f"({', '.join(kwonly)}) have no place in the rule's in_batched. Pass them "
                f"positionally, or close over them."
            )
        leaves, in_tree = tree_flatten(args)
        if not _all_valid(leaves):
            _check_arguments(self, args)
        if state.interp is EVAL:
            # the function sees arrays and returns arrays, as when JAX traces it
            if not all(type(x) is Array for x in leaves):
                args = tree_unflatten(in_tree, [_as_array(x) for x in leaves])
            out = self.fun(*args)
            out_leaves, out_tree = tree_flatten(out)
            if all(type(x) is Array for x in out_leaves):
                return out
            if not _all_valid(out_leaves):
                _check_outputs(self, out)
            return tree_unflatten(out_tree, [_as_array(x) for x in out_leaves])
        closed, out_tree = trace_to_jaxpr(self.fun, args, f"custom_vmap function {self.__name__}")
        closed, consts = hoist_tracers(closed)
        params = {
            "call": closed,
            "rule": self.vmap_rule,
            "_call": _VmapCall(self.__name__, self.vmap_rule, in_tree, out_tree),
        }
        if consts:
            params["num_consts"] = len(consts)
        outs = state.interp.process(custom_vmap_call_p, [*consts, *leaves], params)
        return tree_unflatten(out_tree, outs)


def _check_arguments(cv, args):
    for pos, arg in enumerate(args):
        for path, leaf in tree_flatten_with_path(arg)[0]:
            if not is_valid_leaf(leaf):
                where = f" at {keystr(path)}" if path else ""
                raise TypeError(
                    f"Argument {leaf!r} of type {type(leaf)} is not a valid JAX type: custom_vmap "
                    f"function {cv.__name__}, argument {cv._signature.arg_name(pos)!r}{where}. "
                    f"Arguments must be arrays or pytrees of arrays; close over other values."
                )


def _check_outputs(cv, out):
    for path, leaf in tree_flatten_with_path(out)[0]:
        if not is_valid_leaf(leaf):
            raise TypeError(
                f"custom_vmap function {cv.__name__} returned {leaf!r} of type {type(leaf)} at "
                f"output{keystr(path)}, which is not a valid JAX type; it must return arrays or "
                f"pytrees of arrays."
            )


def _as_array(x):
    return x if isinstance(x, Array) else Array(*to_raw(x))


class _VmapCall:
    """The static part of a ``custom_vmap_call`` besides the traced function: the rule and the
    pytrees of the arguments and of the output."""

    __slots__ = ("name", "rule", "in_tree", "out_tree")

    def __init__(self, name, rule, in_tree, out_tree):
        self.name = name
        self.rule = rule
        self.in_tree = in_tree
        self.out_tree = out_tree

    def __repr__(self):
        return self.name


# -- running the rule and checking what it returns -------------------------------------------------


def _run_rule(call, out_avals, axis_size, args, batched):
    """The rule on flat ``args`` (batched ones with their batch axis at 0, as ``batched`` says):
    its flat outputs and which of them are batched."""
    in_batched = list(tree_unflatten(call.in_tree, batched))
    result = call.rule(axis_size, in_batched, *tree_unflatten(call.in_tree, args))
    return _rule_outputs(call, result, out_avals, axis_size)


def _rule_outputs(call, result, out_avals, axis_size):
    rule = f"custom vmap rule ({_name(call.rule)})"
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise ValueError(
            f"The {rule} of custom_vmap function {call.name} must return a pair (out, "
            f"out_batched), but returned {result!r}."
        )
    out, out_batched = result
    leaves, tree = tree_flatten(out)
    flags, flags_tree = tree_flatten(out_batched)
    if tree != flags_tree:
        raise ValueError(
            f"structure of output value and output batching specification returned by {rule} "
            f"do not match.\nOutput values: {tree}\nBatching spec: {flags_tree}"
        )
    if tree != call.out_tree:
        raise ValueError(
            f"structure of output returned by {rule} does not match that of original "
            f"custom-vmapped function {call.name}.\nOriginal output: {call.out_tree}\n"
            f"Rule output: {tree}"
        )
    outs, batched = [], []
    for k, (leaf, flag, aval) in enumerate(zip(leaves, flags, out_avals, strict=True)):
        if not is_valid_leaf(leaf):
            raise TypeError(
                f"The {rule} of custom_vmap function {call.name} returned {leaf!r} of type "
                f"{type(leaf)} at {_where(out, k)}, which is not a valid JAX type. Outputs "
                f"must be arrays or pytrees of arrays."
            )
        leaf = _as_array(leaf)
        flag = bool(flag)
        shape = (axis_size, *aval.shape) if flag else aval.shape
        got = aval_of(leaf)
        if got.shape != shape or got.dtype != aval.dtype:
            expected = ShapedArray(shape, aval.dtype).str_short()
            how = (
                f"batched (out_batched True), so it must have the type of {call.name}'s output "
                f"there, {aval.str_short()}, with a leading batch axis of size {axis_size}"
                if flag
                else f"unbatched (out_batched False), so it must have the type of {call.name}'s "
                f"output there"
            )
            raise TypeError(
                f"The {rule} of custom_vmap function {call.name} returned {got.str_short()} at "
                f"{_where(out, k)}, but declares it {how}: {expected}."
            )
        outs.append(leaf)
        batched.append(flag)
    return outs, batched


def _where(tree, k):
    """Leaf ``k`` of ``tree`` as messages name it: ``output['b']``."""
    paths = tree_flatten_with_path(tree)[0]
    return f"output{keystr(paths[k][0])}" if len(paths) > 1 else "output (the whole output)"


def _closure_error(call, aval):
    return UnexpectedTracerError(
        f"custom_vmap function {call.name} closes over a value batched by vmap "
        f"({aval.str_short()}). Its rule cannot be told about it, as in_batched describes the "
        f"arguments only: pass the value to {call.name} as an argument."
    )


def _reverse_error(call):
    return ValueError(
        f"Reverse-mode differentiation (grad, vjp, jacrev, linearize) of custom_vmap function "
        f"{call.name} is not supported, as in JAX: its rule says how to batch it, not how to "
        f"transpose it. Use forward mode (jvp, jacfwd), or wrap {call.name} in custom_vjp "
        f"(@custom_vjp above @custom_vmap) to give it a reverse-mode rule."
    )


# -- the primitive and its rules -------------------------------------------------------------------

custom_vmap_call_p = Primitive("custom_vmap_call", None, multiple_results=True)


def _eval_rule(interp, args, params):
    outs = _run_at(interp, eval_closed, params["call"], *[_lift(a, interp) for a in args])
    return outs if interp is not RAW else [to_raw(o)[0] for o in outs]


def _batch_rule(interp, args, params):
    """The user's rule, at the parent level, when an argument is batched."""
    call, closed = params["_call"], params["call"]
    n_consts = params.get("num_consts", 0)
    for c, aval in zip(args[:n_consts], closed.in_avals, strict=False):
        if interp.own(c):
            raise _closure_error(call, aval)
    leaves = args[n_consts:]
    dims = [interp.bdim(a) for a in leaves]
    if all(d is None for d in dims):
        return forward(interp, custom_vmap_call_p, args, params)
    values = [interp.value(a) for a in leaves]
    outs, out_batched = at_parent(
        interp, _rule_at_front, call, closed.out_avals, interp.axis_size, values, dims
    )
    return [interp.lift(o, 0 if b else None) for o, b in zip(outs, out_batched, strict=True)]


def _rule_at_front(call, out_avals, size, values, dims):
    """The rule on ``values`` batched at ``dims``, their batch axes moved to 0 (unbatched ones
    are left as they are: the rule decides what to do with them)."""
    args = [v if d is None else batch_at(v, d, size) for v, d in zip(values, dims, strict=True)]
    return _run_rule(call, out_avals, size, args, [d is not None for d in dims])


def _vjp_rule(interp, args, params):
    if any(interp.own(a) for a in args):
        raise _reverse_error(params["_call"])
    return interp._constant(custom_vmap_call_p, [interp.primal(a) for a in args], params)


def _jvp_rule(interp, args, params):
    """A ``custom_vmap`` call at the parent level whose function is the JVP of ``call`` and
    whose rule is the JVP of the user's rule; the tangents are operands after the primals."""
    parent = interp.parent
    if not any(interp.own(a) for a in args):
        return _run_at(
            parent, parent.process, custom_vmap_call_p, [interp.primal(a) for a in args], params
        )
    call, closed = params["_call"], params["call"]
    if interp.tbase is not (RAW if interp.raw else parent):  # linearize stages the tangents
        raise _reverse_error(call)
    primals = [interp.primal(a) for a in args]
    inexact = [aval_of(p).dtype.kind in "fc" for p in primals]
    tangents = []
    for a, p, m in zip(args, primals, inexact, strict=True):
        if m:
            t = interp.tangent(a)
            tangents.append(zeros_like_tangent(p) if t is None else t)
    out_avals = closed.out_avals
    out_inexact = [a.dtype.kind in "fc" for a in out_avals]
    jvp_call, _ = _run_at(
        parent,
        jvp_closed,
        closed,
        inexact,
        out_inexact,
        [len(args)],
        [len(out_avals)],
        f"the JVP of custom_vmap function {call.name}",
    )
    n_consts = params.get("num_consts", 0)
    closed_over_tangent = any(interp.own(c) for c in args[:n_consts])
    rule = _jvp_of_rule(call, closed, n_consts, inexact, out_inexact, closed_over_tangent)
    n_flat_in, n_flat_out = len(primals) + len(tangents), len(out_avals) + sum(out_inexact)
    derived = _VmapCall(
        call.name, rule, tree_structure((0,) * n_flat_in), tree_structure([0] * n_flat_out)
    )
    outs = _run_at(
        parent,
        parent.process,
        custom_vmap_call_p,
        [*primals, *tangents],
        {"call": jvp_call, "rule": rule, "_call": derived},
    )
    out_tangents = iter(outs[len(out_avals) :])
    return [
        interp.lift(o, next(out_tangents) if m else None)
        for o, m in zip(outs[: len(out_avals)], out_inexact, strict=True)
    ]


def _jvp_of_rule(call, closed, n_consts, inexact, out_inexact, closed_over_tangent):
    """The rule of the JVP call: the JVP of the user's rule. An argument whose primal or tangent
    is batched is batched for the rule (the unbatched one of the pair broadcast), so that the
    rule sees every batched argument and each tangent lines up with its primal; tangent outputs
    are batched where their primals are."""
    n_in = len(inexact)

    def rule(axis_size, in_batched, *flat):
        primals, tangents = list(flat[:n_in]), iter(flat[n_in:])
        tangent_batched = iter(in_batched[n_in:])
        full_tangents, batched = [], []
        for k in range(n_in):
            p_b = in_batched[k]
            t, t_b = (next(tangents), next(tangent_batched)) if inexact[k] else (None, False)
            b = p_b or t_b
            if b and k < n_consts:
                raise _closure_error(call, closed.in_avals[k])
            if b and not p_b:
                primals[k] = batch_at(primals[k], None, axis_size)
            if t is not None and b and not t_b:
                t = batch_at(t, None, axis_size)
            full_tangents.append(t)
            batched.append(b)
        if closed_over_tangent:
            raise UnexpectedTracerError(
                f"custom_vmap function {call.name} closes over a value being differentiated, "
                f"and under vmap its rule cannot give that value's contribution to the "
                f"tangent: pass the value to {call.name} as an argument."
            )
        out_flags = []

        def user_rule(*user_primals):
            outs, flags = _run_rule(
                call, closed.out_avals, axis_size, user_primals, batched[n_consts:]
            )
            out_flags[:] = flags
            return outs

        outs, out_tangents = _jvp_flat(
            user_rule, primals[n_consts:], full_tangents[n_consts:], out_inexact
        )
        tangent_flags = [f for f, m in zip(out_flags, out_inexact, strict=True) if m]
        return [*outs, *out_tangents], [*out_flags, *tangent_flags]

    rule.__name__ = f"jvp({_name(call.rule)})"
    return rule


def _jvp_flat(fn, primals, tangents, out_inexact):
    """``fn``'s outputs and the tangents of those in ``out_inexact`` (zeros where none arrives),
    in forward mode at the current level; ``tangents`` has ``None`` for non-inexact primals."""
    interp = JVPInterp(state.interp)
    args = [
        p if t is None else interp.lift(_as_array(p), t)
        for p, t in zip(primals, tangents, strict=True)
    ]
    saved = state.interp
    state.interp = interp
    try:
        outs = fn(*args)
    finally:
        state.interp = saved
        interp.active = False
    out_primals, out_tangents = [], []
    for o, m in zip(outs, out_inexact, strict=True):
        p = interp.primal(o)
        out_primals.append(p)
        if m:
            t = interp.tangent(o)
            out_tangents.append(zeros_like_tangent(p) if t is None else t)
    return out_primals, out_tangents


custom_vmap_call_p.abstract = lambda *avals, call, **params: call.out_avals
custom_vmap_call_p.rules["eval"] = _eval_rule
custom_vmap_call_p.rules["batch"] = _batch_rule
custom_vmap_call_p.rules["jvp"] = _jvp_rule
custom_vmap_call_p.rules["vjp"] = _vjp_rule
custom_vmap_call_p.rules["inline"] = lambda params: params["call"]


# -- sequential_vmap -------------------------------------------------------------------------------


def sequential_vmap(f):
    """``f`` as a ``custom_vmap`` function whose rule calls it once per batch member, in a loop
    (``lax.map``): for functions that cannot be batched otherwise, such as a callback that
    handles one value at a time.

    >>> import numpy as np, pullback as jax, pullback.numpy as jnp
    >>> def host_norm(v):
    ...     assert v.ndim == 1  # one vector at a time
    ...     return np.linalg.norm(v).astype(v.dtype)
    >>> @jax.custom_batching.sequential_vmap
    ... def norm(v):
    ...     return jax.pure_callback(host_norm, jax.ShapeDtypeStruct((), v.dtype), v)
    >>> jax.vmap(norm)(jnp.array([[3.0, 4.0], [6.0, 8.0]]))
    Array([ 5., 10.], dtype=float32)
    """
    f = custom_vmap(f)

    def rule(axis_size, in_batched, *args):
        leaves, tree = tree_flatten(args)
        mask = tree_leaves(in_batched)

        def one(mapped):
            members = iter(mapped)
            merged = [next(members) if m else x for x, m in zip(leaves, mask, strict=True)]
            return f(*tree_unflatten(tree, merged))

        out = control_flow.map(one, [x for x, m in zip(leaves, mask, strict=True) if m])
        return out, tree_map(lambda _: True, out)

    rule.__name__ = f"sequential_vmap({f.__name__})"
    f.def_vmap(rule)
    return f
