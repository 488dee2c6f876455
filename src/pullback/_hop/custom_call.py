"""What ``custom_vjp`` and ``custom_jvp`` share: the call parameter, the values their rules see,
and the pieces of rules common to both primitives.

A call of either binds a higher-order primitive (``custom_vjp_call``, ``custom_jvp_call``) whose
parameter is a ``_Call`` record (the function, nondiff values, keyword-only values, the input
pytree) and whose arguments are the flat leaves of the differentiable arguments, so every
interpreter sees which are traced. This module holds:

* binding a call to positions (``_Signature``, ``_bind``, ``_split_nondiff``,
  ``_nondiff_positions``) and checking the differentiable arguments (``_check_arguments``);
* ``_Call`` and the flattening of inputs and outputs, with fast paths for single arrays
  (``_flatten``, ``_unflatten``, ``_flat_output``);
* what both primitives' rules use: the ``eval`` rule, ``fun`` traced for the ``stage`` rule
  (``_stage_fun``), the arguments as user code one level down sees them and the outputs of a tape
  entry (``_fwd_arguments``, ``_inexact_outputs``, ``_output_tracers``), and the error for a
  differentiated closed-over value (``_guard_closure``, ``_closure_error``);
* the values user rules receive and the error they raise, ``CustomVJPPrimal``, ``SymbolicZero``
  (also ``custom_jvp``'s zero tangent) and ``CustomVJPException``: the helpers above make them.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect

import numpy as np

from pullback import _dtypes
from pullback._core import (
    EVAL,
    RAW,
    Array,
    ShapedArray,
    UnexpectedTracerError,
    aval_of,
    is_valid_leaf,
    state,
    to_raw,
)
from pullback._interp.jvp import JVPTracer
from pullback._interp.stage import hoist_tracers, trace_flat
from pullback._interp.vjp import VJPTracer
from pullback._ir import eval_closed
from pullback._ops._base import dtype_of, weak_of
from pullback.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_map,
    tree_unflatten,
)

__all__ = [
    "CustomVJPPrimal",
    "SymbolicZero",
    "CustomVJPException",
    "custom_vjp_primal_tree_values",
    "zero_from_primal",
]


# -- what user rules receive, and the error for misuse ---------------------------------------------


class CustomVJPException(Exception):
    """A custom_vjp function was used in a way its rule cannot support."""

    __module__ = "pullback.errors"


@dataclasses.dataclass(slots=True, frozen=True)
class CustomVJPPrimal:
    """A primal argument leaf given to ``fwd`` when ``symbolic_zeros=True``.

    ``perturbed`` says whether the leaf is being differentiated at this level.

    >>> from pullback.custom_derivatives import CustomVJPPrimal
    >>> CustomVJPPrimal(1.0, True)
    CustomVJPPrimal(value=1.0, perturbed=True)
    """

    value: object
    perturbed: bool


class SymbolicZero:
    """A cotangent known to be zero, given to ``bwd`` when ``symbolic_zeros=True``.

    It is not an array: check for it with ``type(ct) is SymbolicZero`` and materialise it with
    ``jnp.zeros(ct.shape, ct.dtype)``.

    >>> import pullback.numpy as jnp
    >>> from pullback.custom_derivatives import SymbolicZero
    >>> z = SymbolicZero.from_primal_value(jnp.ones(3))
    >>> z.shape, z.dtype
    ((3,), dtype('float32'))
    """

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)
    size = property(lambda self: self.aval.size)

    @staticmethod
    def from_primal_value(x):
        aval = aval_of(x)
        return SymbolicZero(
            ShapedArray(aval.shape, _dtypes.tangent_dtype(aval.dtype), aval.weak_type)
        )

    def __repr__(self):
        return "SymbolicZero"


def zero_from_primal(val, symbolic_zeros=False):
    """The zero tangent of every leaf of ``val``: a ``SymbolicZero`` when ``symbolic_zeros``,
    else an array of zeros of the tangent type (``float0`` for integer and boolean leaves).
    ``None`` leaves stay ``None``.

    >>> import pullback.numpy as jnp
    >>> from pullback.custom_derivatives import zero_from_primal
    >>> zero_from_primal((jnp.ones(2), 1.0))
    (Array([0., 0.], dtype=float32), Array(0., dtype=float32, weak_type=True))
    >>> zero_from_primal((1.0, None), symbolic_zeros=True)
    (SymbolicZero, None)
    >>> zero_from_primal(3).dtype
    dtype([('float0', 'V')])
    """

    def zero(x):
        z = SymbolicZero.from_primal_value(x)
        if symbolic_zeros:
            return z
        weak = z.aval.weak_type and z.dtype != _dtypes.float0
        return Array(np.zeros(z.shape, z.dtype), weak)

    return tree_map(zero, val)


def custom_vjp_primal_tree_values(tree):
    """Replace every ``CustomVJPPrimal`` leaf of ``tree`` by its value.

    >>> from pullback.custom_derivatives import CustomVJPPrimal, custom_vjp_primal_tree_values
    >>> custom_vjp_primal_tree_values((CustomVJPPrimal(1.0, True),))
    (1.0,)
    """

    def value(leaf):
        if type(leaf) is not CustomVJPPrimal:
            raise TypeError(
                f"custom_vjp_primal_tree_values: unexpected leaf type {type(leaf)}; every leaf "
                f"must be a CustomVJPPrimal (the arguments fwd receives with symbolic_zeros=True)."
            )
        return leaf.value

    return tree_map(value, tree)


# -- a call: its arguments bound, flattened and checked; its parameter -----------------------------


def _name(fn):
    """A function's name for messages and printed programs; a ``functools.partial`` is named
    after the function it wraps."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__name__", None) or repr(fn)


def _type_tree(tree, avals):
    """``(float32[], {a: float32[3]})``: a pytree of types, printed as JAX prints it."""
    return str(tree_unflatten(tree, [a.str_short() for a in avals])).replace("'", "")


class _Signature:
    """How calls of ``fun`` bind to positions, precomputed once per custom_vjp or custom_jvp."""

    __slots__ = ("sig", "n_positional", "simple", "param_names", "varargs_at", "kwonly")

    def __init__(self, fun):
        try:
            self.sig = inspect.signature(fun)
        except (TypeError, ValueError):
            self.sig = None
        params = list(self.sig.parameters.values()) if self.sig else []
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self.n_positional = len(positional)
        self.param_names = [p.name for p in positional]
        self.varargs_at = next(
            (i for i, p in enumerate(params) if p.kind is p.VAR_POSITIONAL), None
        )
        self.kwonly = [p.name for p in params if p.kind is p.KEYWORD_ONLY]
        # a plain positional call needs no binding: no defaults to fill in and no *args/**kw
        self.simple = self.sig is not None and all(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params
        )

    def arg_name(self, i):
        if i < len(self.param_names):
            return self.param_names[i]
        if self.varargs_at is not None:
            return f"*args[{i - len(self.param_names)}]"
        return f"#{i}"

    def bind(self, fun_name, args, kwargs, kind="custom_vjp"):
        """``(positional args, keyword-only args)`` with defaults applied."""
        if self.simple and not kwargs and len(args) == self.n_positional:
            return args, {}
        if self.sig is None:
            if kwargs:
                raise TypeError(
                    f"{kind} function {fun_name} has no inspectable signature, so it can "
                    f"only be called with positional arguments."
                )
            return args, {}
        try:
            bound = self.sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(
                f"The input arguments to the {kind}-decorated function {fun_name} could not "
                f"be resolved to positional-only arguments. Binding failed with the error:\n{e}"
            ) from None
        bound.apply_defaults()
        # keyword-only arguments the caller did not pass are left to the functions' own
        # defaults: as in JAX, fun and the rules are then called without them
        return bound.args, {k: v for k, v in bound.kwargs.items() if k in kwargs}


def _nondiff_positions(cf, nondiff_argnums, nondiff_argnames):
    """The sorted positions of ``cf``'s nondiff arguments, given by number or by name."""
    nums = set(int(i) for i in nondiff_argnums)
    names = cf._signature.param_names
    for name in nondiff_argnames:
        if name not in names:
            raise ValueError(
                f"{cf._kind} of {_name(cf.fun)}: nondiff_argnames entry {name!r} is not a "
                f"positional parameter of {_name(cf.fun)} (parameters: {names})."
            )
        nums.add(names.index(name))
    return tuple(sorted(nums))


def _bind(cf, args, kwargs, bound_self):
    """``(positional args, keyword-only args, nondiff positions)`` of a call of ``cf`` (a
    custom_vjp or custom_jvp function); a bound ``self`` is a nondiff first argument."""
    nondiff_argnums = cf.nondiff_argnums
    if bound_self is not None:
        args = (bound_self, *args)
        if 0 not in nondiff_argnums:
            nondiff_argnums = (0, *nondiff_argnums)
    args, kwonly = cf._signature.bind(cf.__name__, args, kwargs, cf._kind)
    for i in nondiff_argnums:
        if i >= len(args):
            raise ValueError(
                f"{cf._kind} function {cf.__name__}: nondiff_argnums contains {i}, but the "
                f"call has only {len(args)} positional arguments."
            )
    return args, kwonly, nondiff_argnums


def _split_nondiff(args, nondiff_argnums):
    """``(((position, value), ...) of nondiff arguments, differentiable ones, their positions)``."""
    if not nondiff_argnums:
        return (), args, tuple(range(len(args)))
    nondiff = tuple((i, args[i]) for i in nondiff_argnums)
    diff = tuple(a for i, a in enumerate(args) if i not in nondiff_argnums)
    diff_pos = tuple(i for i in range(len(args)) if i not in nondiff_argnums)
    return nondiff, diff, diff_pos


def _check_arguments(cv, diff_pos, diff):
    """Differentiable arguments must be arrays (or pytrees of them)."""
    for pos, arg in zip(diff_pos, diff, strict=True):
        for path, leaf in tree_flatten_with_path(arg)[0]:
            if not is_valid_leaf(leaf):
                where = f" at {keystr(path)}" if path else ""
                raise TypeError(
                    f"{cv._kind} function {cv.__name__}: argument "
                    f"{cv._signature.arg_name(pos)!r}{where} is {leaf!r} of type {type(leaf)}, "
                    f"which is not a valid JAX type. Differentiable arguments must be arrays or "
                    f"pytrees of arrays; list its position in nondiff_argnums (or "
                    f"nondiff_argnames) to pass other values."
                )


# Most calls pass and return single arrays; these skip optree for them.
_LEAF_TYPES = frozenset({Array, VJPTracer, np.ndarray, float, int, bool, complex})
_LEAF_TREEDEF = tree_flatten(0)[1]


def _flatten(tree):
    if type(tree) is tuple:
        for x in tree:
            if type(x) not in _LEAF_TYPES:
                return tree_flatten(tree)
        return list(tree), _flat_tuple_treedef(len(tree))
    if type(tree) in _LEAF_TYPES:
        return [tree], _LEAF_TREEDEF
    return tree_flatten(tree)


def _unflatten(treedef, leaves):
    if treedef is _LEAF_TREEDEF:
        return leaves[0]
    return tree_unflatten(treedef, leaves)


@functools.cache
def _flat_tuple_treedef(n):
    return tree_flatten((0,) * n)[1]


class _Call:
    """The static part of one custom_vjp or custom_jvp call (the primitive's parameter)."""

    __slots__ = (
        "cv",
        "nondiff",
        "diff_pos",
        "kwonly",
        "in_tree",
        "nargs",
        "out_tree",
        "flat",
        "plain",
    )

    def __init__(self, cv, nondiff, diff_pos, kwonly, in_tree, nargs):
        self.cv = cv
        self.nondiff = nondiff
        self.diff_pos = diff_pos
        self.kwonly = kwonly
        self.in_tree = in_tree
        self.nargs = nargs
        self.out_tree = None
        # every differentiable argument is a single array
        self.flat = in_tree is _flat_tuple_treedef(len(diff_pos))
        # ... and there are no others: fun/fwd take the leaves as they are
        self.plain = self.flat and not nondiff and not kwonly

    def full_args(self, leaves):
        diff = (
            leaves
            if self.in_tree is _flat_tuple_treedef(len(leaves))
            else (tree_unflatten(self.in_tree, leaves))
        )
        if not self.nondiff:
            return diff
        args = [None] * self.nargs
        for i, v in self.nondiff:
            args[i] = v
        for i, v in zip(self.diff_pos, diff, strict=True):
            args[i] = v
        return args

    def run(self, fn, leaves):
        return fn(*self.full_args(leaves), **self.kwonly)

    def __repr__(self):
        return _name(self.cv)


# -- pieces of the primitives' rules ---------------------------------------------------------------


def _run_at(level, fn, *args):
    """Run user code with ``level`` current (``EVAL`` stands in for ``RAW``)."""
    saved = state.interp
    state.interp = EVAL if level is RAW else level
    try:
        return fn(*args)
    finally:
        state.interp = saved


def _all_valid(leaves):
    for leaf in leaves:
        if type(leaf) not in _LEAF_TYPES and not is_valid_leaf(leaf):
            return False
    return True


def _flat_output(call, out, rule_fn):
    leaves, tree = _flatten(out)
    if call.out_tree is None:
        call.out_tree = tree
    if _all_valid(leaves):
        return leaves
    for path, leaf in tree_flatten_with_path(out)[0]:
        if not is_valid_leaf(leaf):
            cf = call.cv
            rule = "fun" if rule_fn is cf.fun else f"{cf._rule_kind} rule {_name(rule_fn)}"
            raise TypeError(
                f"{rule} of {cf._kind} function {cf.__name__} returned an output containing "
                f"{leaf!r} of type {type(leaf)} at {keystr(path) or 'the top level'}, which is not "
                f"a valid JAX type. Outputs must be arrays or pytrees of arrays"
                + (
                    "; unwrap CustomVJPPrimal arguments with .value first."
                    if type(leaf) is CustomVJPPrimal
                    else "."
                )
            )
    return leaves


def _eval_rule(interp, args, params):
    call = params["_call"]
    args = [_lift(a, interp) for a in args]
    staged = params.get("call_jaxpr")
    if staged is not None:  # a staged call: its closed-over values are leading arguments
        leaves = _run_at(interp, eval_closed, staged, *args)
    else:
        leaves = _flat_output(call, _run_at(interp, call.run, call.cv.fun, args), call.cv.fun)
    return leaves if interp is not RAW else [to_raw(x)[0] for x in leaves]


def _stage_fun(call, args):
    """``fun`` traced on the avals of ``args``: ``(closed jaxpr, consts)``, the jaxpr taking the
    closed-over tracers of enclosing transformations (``consts``) as leading inputs."""
    cf = call.cv

    def fun(*leaves):
        return _flat_output(call, call.run(cf.fun, list(leaves)), cf.fun)

    try:
        closed = trace_flat(
            fun, [aval_of(a) for a in args], f"the function {cf.__name__} for {cf._kind} fun"
        )
    except UnexpectedTracerError as e:
        raise _closure_error(cf, e) from None
    return hoist_tracers(closed)


def _lift(x, interp):
    if interp is RAW and not isinstance(x, Array):
        raw, weak = to_raw(x)
        return Array(raw, weak)
    return x


def _fwd_arguments(interp, args):
    """The arguments as user code one level down sees them, and their tape indices (-1 for
    constants); ``None`` when no argument is being differentiated by ``interp``."""
    raw = interp.raw
    vals = []
    inputs = []
    own = False
    for a in args:
        if type(a) is VJPTracer and a._interp is interp:
            vals.append(Array(a._value, a._weak) if raw else a._value)
            inputs.append(a._idx)
            own = True
        else:
            vals.append(a)
            inputs.append(-1)
    return (vals, tuple(inputs)) if own else (None, None)


def _inexact_outputs(interp, out_leaves):
    """The base-level values and weak types of the inexact outputs (those that get tape slots),
    and per output its index among them (None for integer and boolean outputs)."""
    raw = interp.raw
    outs, weaks, traced = [], [], []
    for o in out_leaves:
        if type(o) is Array:
            value, weak = (o._value if raw else o), o._weak
        elif raw:
            value, weak = to_raw(o)
        else:
            value, weak = o, weak_of(o)
        if dtype_of(value).kind in "fc":
            traced.append(len(outs))
            outs.append(value)
            weaks.append(weak)
        else:
            traced.append(None)
    return outs, weaks, traced


def _output_tracers(interp, tracers, traced, out_leaves):
    """The outputs: the tape's tracers where outputs are inexact, parent values elsewhere."""
    if len(tracers) == len(out_leaves):
        return tracers
    return [
        tracers[k] if k is not None else interp.to_parent(o)
        for k, o in zip(traced, out_leaves, strict=True)
    ]


def _guard_closure(cv, interp, fn, *args):
    """Run ``fn``; turn a leaked tracer of an active transformation into a clear error."""
    try:
        return fn(*args)
    except UnexpectedTracerError as e:
        raise _closure_error(cv, e) from None


def _closure_error(cv, e, tracer=None):
    tracer = tracer if tracer is not None else getattr(e, "tracer", None)
    # only a value of a differentiation is one the rule cannot answer for; a value of another
    # transformation that escaped is a plain escape
    if isinstance(tracer, (VJPTracer, JVPTracer)) and tracer._interp.active:
        error = CustomVJPException if cv._kind == "custom_vjp" else UnexpectedTracerError
        return error(
            f"Detected differentiation of the {cv._kind} function {cv.__name__} with respect "
            f"to a closed-over value {tracer.aval.str_short()}. That isn't supported: the "
            f"custom rule has no way to give a derivative for it. Pass the closed-over value "
            f"into {cv.__name__} as an argument, and {cv._closure_fix} (or use "
            f"pullback.closure_convert)."
        )
    return e
