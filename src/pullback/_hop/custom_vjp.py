"""``custom_vjp``: a function with a user-defined reverse-mode rule.

A call binds the higher-order primitive ``custom_vjp_call``. Its parameter is a ``_Call`` record
(the function, nondiff values, keyword-only values, the input pytree); its arguments are the
flat leaves of the differentiable arguments, so every interpreter sees which are traced. The
primitive's rules, one per interpreter, live at the bottom of this module:

* ``eval``: run ``fun`` on the values as they are (nothing cast, nothing checked);
* ``vjp``: when an input is being differentiated, run ``fwd`` one level down, record the
  residuals on the tape, and at backward time call ``bwd`` and check what it returns. When no
  input is, hand the call to the parent interpreter, so only ``fun`` runs.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import warnings
import weakref

import numpy as np
import optree

from pullback import _dtypes
from pullback._config import config
from pullback._core import (
    EVAL,
    RAW,
    Array,
    Primitive,
    ShapedArray,
    Tracer,
    UnexpectedTracerError,
    aval_of,
    is_valid_leaf,
    state,
    to_raw,
)
from pullback._hop.batching import at_parent, forward
from pullback._interp.batch import batch_call, batch_fun
from pullback._interp.stage import aval_of_leaf, hoist_tracers, trace_flat, trace_to_jaxpr
from pullback._interp.vjp import VJPInterp, VJPTracer
from pullback._ir import eval_closed
from pullback._ops import broadcast_to, convert_element_type, reduce_sum
from pullback._ops._base import batch_at, dtype_of, weak_of
from pullback.tree_util import (
    DictKey,
    GetAttrKey,
    SequenceKey,
    keystr,
    register_pytree_node,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_map,
    tree_unflatten,
)

__all__ = [
    "custom_vjp",
    "custom_gradient",
    "CustomVJPPrimal",
    "SymbolicZero",
    "CustomVJPException",
    "custom_vjp_primal_tree_values",
]


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


def _name(fn):
    return getattr(fn, "__name__", None) or repr(fn)


class _Signature:
    """How calls of ``fun`` bind to positions, precomputed once per custom_vjp."""

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
        return bound.args, dict(bound.kwargs)


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

        Returns None.
        """
        if symbolic_zeros and optimize_remat:
            raise NotImplementedError(
                "remat optimization for custom_vjp does not support symbolic zeros "
                f"(custom_vjp function {self.__name__}: pass only one of symbolic_zeros=True "
                f"and optimize_remat=True)."
            )
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


class _Call:
    """The static part of one custom_vjp call (the primitive's parameter)."""

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


# -- the primitive and its rules ------------------------------------------------------------------

custom_vjp_call_p = Primitive("custom_vjp_call", None, multiple_results=True)


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
    pair = _run_fwd(cv, interp, call, fwd_args)
    staged = params.get("call_jaxpr")
    if staged is not None:  # fun's output type is known: fwd must agree with it
        _check_pair(cv, pair)
        _check_fwd_output(call, pair[0], staged.out_avals)
    return _record(interp, call, pair, vals, inputs)


def _check_fwd_output(call, out, fun_avals):
    """Spec E5/E6: ``fwd``'s primal output must have ``fun``'s pytree structure and types."""
    cv = call.cv
    leaves, tree = _flatten(out)
    start = (
        f"Custom VJP fwd rule {_name(cv.fwd)} for function {cv.__name__} must produce a pair "
        f"whose first element has the same pytree structure, shapes and dtypes as the output "
        f"of {cv.__name__}, but"
    )
    if tree != call.out_tree:
        raise TypeError(
            f"{start} fwd's first element had container/pytree structure {tree} while "
            f"{cv.__name__} had output structure {call.out_tree}. Fix {_name(cv.fwd)} to return "
            f"(output, residuals) with output exactly what {cv.__name__} returns."
        )
    for k, (leaf, aval) in enumerate(zip(leaves, fun_avals, strict=True)):
        got = aval_of(leaf)
        if (got.shape, got.dtype) != (aval.shape, aval.dtype):
            where = f" (output leaf {k})" if len(fun_avals) > 1 else ""
            raise TypeError(
                f"{start} fwd's first element had shapes/dtypes of {got.str_short()}{where} "
                f"while {cv.__name__} had output shapes/dtypes of {aval.str_short()}. Fix "
                f"{_name(cv.fwd)} to return (output, residuals) with output exactly what "
                f"{cv.__name__} returns."
            )


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


def _check_pair(cv, pair):
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise TypeError(
            f"Custom VJP fwd rule {_name(cv.fwd)} for function {cv.__name__} must produce a pair "
            f"(list or tuple of length two) where the first element represents the primal output "
            f"(equal to the output of the custom_vjp-decorated function {cv.__name__}) and the "
            f"second element represents residuals (i.e. values stored from the forward pass for "
            f"use on the backward pass), but instead of a pair the fwd rule {_name(cv.fwd)} "
            f"produced {pair!r}."
        )


def _guard_closure(cv, interp, fn, *args):
    """Run ``fn``; turn a leaked tracer of an active transformation into a clear error."""
    try:
        return fn(*args)
    except UnexpectedTracerError as e:
        raise _closure_error(cv, e) from None


def _closure_error(cv, e, tracer=None):
    tracer = tracer if tracer is not None else getattr(e, "tracer", None)
    if isinstance(tracer, Tracer) and tracer._interp.active:
        error = CustomVJPException if cv._kind == "custom_vjp" else UnexpectedTracerError
        return error(
            f"Detected differentiation of the {cv._kind} function {cv.__name__} with respect "
            f"to a closed-over value {tracer.aval.str_short()}. That isn't supported: the "
            f"custom rule has no way to give a derivative for it. Pass the closed-over value "
            f"into {cv.__name__} as an argument, and {cv._closure_fix} (or use "
            f"pullback.closure_convert)."
        )
    return e


def _check_residuals(cv, res):
    if _all_valid(tree_leaves(res)):
        return
    for path, leaf in tree_flatten_with_path(res)[0]:
        if not is_valid_leaf(leaf):
            hint = (
                " Unwrap CustomVJPPrimal arguments with .value (or "
                "custom_vjp_primal_tree_values) before storing them."
                if type(leaf) is CustomVJPPrimal
                else " Pass non-array data through nondiff_argnums or a closure instead."
            )
            raise TypeError(
                f"Custom VJP fwd rule {_name(cv.fwd)} of {cv.__name__}: residual "
                f"{keystr(path) or '(the whole residual)'} is {leaf!r} of type {type(leaf)}, "
                f"which is not a valid JAX type.{hint}"
            )


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


def _check_bwd_output(call, result, vals):
    """Validate ``bwd``'s result against the differentiable arguments; return flat leaf cts."""
    cv = call.cv
    sig = cv._signature
    n = len(call.diff_pos)
    if type(result) is list:
        result = tuple(result)
    if type(result) is not tuple or len(result) != n:
        got = (
            f"a {type(result).__name__} of length {len(result)}"
            if isinstance(result, (tuple, list))
            else f"{type(result).__name__} {optree.tree_structure(result, namespace='pullback')}"
        )
        names = ", ".join(sig.arg_name(i) for i in call.diff_pos)
        raise TypeError(
            f"Custom VJP bwd rule {_name(cv.bwd)} of {cv.__name__} must produce a tuple with one "
            f"cotangent per differentiable argument ({n}: {names}; nondiff arguments get none), "
            f"using None for a zero cotangent, but got {got}. The primal input structure is "
            f"{call.in_tree}."
        )
    if call.flat:
        # every differentiable argument is a single array: the common case, checked inline
        flat = []
        for pos, val, entry in zip(call.diff_pos, vals, result, strict=True):
            if type(entry) is Array and type(val) is Array:
                e, v = entry._value, val._value
                if e.dtype is v.dtype and e.shape == v.shape and e.dtype.kind in "fc":
                    flat.append(entry)
                    continue
            flat.append(_check_leaf(cv, sig.arg_name(pos), (), aval_of(val), entry))
        return flat
    # the arguments rebuilt from their own leaves, so custom nodes' unflatten sees real values
    primal_args = tree_unflatten(call.in_tree, vals)
    flat = []
    for pos, arg, entry in zip(call.diff_pos, primal_args, result, strict=True):
        _match(cv, sig.arg_name(pos), arg, entry, (), flat)
    return flat


@functools.cache
def _flat_tuple_treedef(n):
    return tree_flatten((0,) * n)[1]


def _match(cv, argname, primal, ct, path, out):
    """Append to ``out`` one checked cotangent (or None) per leaf of ``primal``."""
    if is_valid_leaf(primal):
        out.append(_check_leaf(cv, argname, path, aval_of(primal), ct))
        return
    children, meta, entries, _ = optree.tree_flatten_one_level(primal, namespace="pullback")
    if ct is None:
        for child in children:
            _match(cv, argname, child, None, path, out)
        return
    ct_children = None
    if type(ct) is type(primal):
        ct_children, ct_meta, _, _ = optree.tree_flatten_one_level(ct, namespace="pullback")
        if ct_meta != meta or len(ct_children) != len(children):
            ct_children = None
    if ct_children is None:
        raise TypeError(
            f"Custom VJP bwd rule {_name(cv.bwd)} of {cv.__name__}: the cotangent for argument "
            f"{argname!r}{' at ' + keystr(path) if path else ''} must have the argument's pytree "
            f"structure {optree.tree_structure(primal, namespace='pullback')} (None "
            f"allowed for any subtree), but got "
            f"{optree.tree_structure(ct, none_is_leaf=True, namespace='pullback')}."
        )
    for entry, child, ct_child in zip(entries, children, ct_children, strict=True):
        _match(cv, argname, child, ct_child, path + (_key(primal, entry),), out)


def _key(node, entry):
    if isinstance(node, dict):
        return DictKey(entry)
    if isinstance(node, (tuple, list)) and not hasattr(node, "_fields"):
        return SequenceKey(entry)
    if hasattr(node, "_fields"):
        return GetAttrKey(node._fields[entry] if isinstance(entry, int) else entry)
    return GetAttrKey(entry) if isinstance(entry, str) else SequenceKey(entry)


def _check_leaf(cv, argname, path, aval, ct):
    where = f"{argname!r}" + (f", leaf {keystr(path)}" if path else "")
    rule = f"Custom VJP bwd rule {_name(cv.bwd)} of {cv.__name__}: argument {where}"
    if ct is None:
        return None
    expected = _dtypes.tangent_dtype(aval.dtype)
    if type(ct) is SymbolicZero:
        if ct.shape != aval.shape or ct.dtype != expected:
            raise ValueError(
                f"{rule}: produced a SymbolicZero of type "
                f"{_dtypes.type_str(ct.shape, ct.dtype)}, which does not match the input type "
                f"{_dtypes.type_str(aval.shape, aval.dtype)}. Consider just returning None "
                f"here instead of a SymbolicZero object."
            )
        return None
    if expected == _dtypes.float0:
        warnings.warn(
            f"{rule}: the argument has integer/boolean dtype {aval.dtype}, so its cotangent is "
            f"always a float0 zero; the value bwd returned ({_describe(ct)}) is ignored. Return "
            f"None for it.",
            stacklevel=2,
        )
        return None
    if not is_valid_leaf(ct):
        raise TypeError(
            f"{rule}: the cotangent {ct!r} of type {type(ct)} is not a valid JAX type; return an "
            f"array of type {aval.str_short()} or None."
        )
    shape, dtype = _shape_dtype(ct)
    if tuple(shape) != aval.shape:
        raise ValueError(
            f"{rule}: got {_dtypes.type_str(shape, dtype)}, expected "
            f"{_dtypes.type_str(aval.shape, expected)} (the argument's type). The shapes do not "
            f"match; cotangents must have the argument's exact shape (they are never broadcast "
            f"or summed for you)."
        )
    if dtype.kind not in "fc" or (dtype.kind == "c" and expected.kind != "c"):
        raise TypeError(
            f"{rule}: got {_dtypes.type_str(shape, dtype)}, expected "
            f"{_dtypes.type_str(aval.shape, expected)}. A {dtype.name} cotangent is not valid for "
            f"a {aval.dtype.name} argument; return a floating-point array (or None for zero)."
        )
    if dtype != expected or not isinstance(ct, Array):
        ct = convert_element_type(ct, expected, aval.weak_type)
    return ct


def _shape_dtype(x):
    if isinstance(x, Array):
        return x.shape, x.dtype
    raw, _ = to_raw(x)
    return np.shape(raw), raw.dtype


def _describe(x):
    try:
        shape, dtype = _shape_dtype(x)
        return _dtypes.type_str(shape, dtype)
    except TypeError:
        return repr(x)


custom_vjp_call_p.rules["eval"] = _eval_rule
custom_vjp_call_p.rules["vjp"] = _vjp_rule
custom_vjp_call_p.rules["stage"] = _stage_rule
custom_vjp_call_p.rules["inline"] = lambda params: params["call_jaxpr"]
custom_vjp_call_p.abstract = lambda *avals, call_jaxpr, **params: call_jaxpr.out_avals


# -- custom_gradient ------------------------------------------------------------------------------


class _VJPFn:
    """A ``custom_gradient`` vjp function carried as a residual (an opaque pytree node)."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


register_pytree_node(_VJPFn, lambda v: ((), v.fn), lambda fn, _: _VJPFn(fn))


def custom_gradient(fun):
    """Define a function and its VJP together: ``fun(*args) -> (out, vjp_fn)``.

    >>> import pullback as jax
    >>> @jax.custom_gradient
    ... def f(x):
    ...     return x ** 2, lambda g: (g * x,)
    >>> jax.grad(f)(3.0)
    Array(3., dtype=float32, weak_type=True)
    """

    # Positional arguments are differentiable; keyword arguments are passed through as
    # non-differentiable keyword-only values (so no functools.wraps: the signature must stay
    # (*args, **kwargs)).
    def primal(*args, **kwargs):
        return fun(*args, **kwargs)[0]

    primal.__name__ = _name(fun)
    primal.__qualname__ = getattr(fun, "__qualname__", primal.__name__)
    primal.__doc__ = fun.__doc__

    def fwd(*args, **kwargs):
        out, vjp_fn = fun(*args, **kwargs)
        return out, (_VJPFn(vjp_fn), len(args))

    def bwd(res, g):
        vjp_fn, nargs = res
        cts = vjp_fn.fn(g)
        if nargs == 1 and not isinstance(cts, (tuple, list)):
            cts = (cts,)
        return tuple(cts)

    wrapped = custom_vjp(primal)
    wrapped.defvjp(fwd, bwd)
    return wrapped


# -- closure_convert -------------------------------------------------------------------------------

_CONVERTED = weakref.WeakKeyDictionary()  # fun -> {(input pytree, avals, x64): converted}


def closure_convert(fun, *example_args):
    """Make the values ``fun`` closes over explicit: ``(converted, consts)`` with
    ``converted(*args, *consts) == fun(*args)``.

    ``fun`` is traced on the example arguments' shapes and dtypes. ``consts`` are the closed-over
    values that may be perturbed (tracers of enclosing transformations, of inexact type), so
    eagerly it is empty. Typical use: pass ``converted`` to a ``custom_vjp`` function as a
    nondiff argument and ``consts`` as differentiable ones, whose cotangents ``bwd`` returns.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> c = jnp.float32(3.0)
    >>> converted, consts = jax.closure_convert(lambda x: x * c, jnp.float32(2.0))
    >>> converted(jnp.float32(2.0), *consts), consts
    (Array(6., dtype=float32), [])
    """
    leaves, in_tree = tree_flatten(example_args)
    key = (in_tree, tuple(aval_of_leaf(x) for x in leaves), config.jax_enable_x64)
    try:
        per_fun = _CONVERTED.setdefault(fun, {})
    except TypeError:  # fun cannot be weakly referenced or hashed: traced on every call
        per_fun = {}
    converted = per_fun.get(key)
    if converted is not None:
        return converted, []
    closed, out_tree = trace_to_jaxpr(
        fun, example_args, f"the function {_name(fun)} for closure_convert"
    )
    # only values that may be perturbed are hoisted, to trailing inputs
    converted_jaxpr, hoisted = hoist_tracers(
        closed, lambda c: isinstance(c, Tracer) and c.dtype.kind in "fc", trailing=True
    )
    n_hoisted = len(hoisted)

    def converted(*args_and_consts):
        split = len(args_and_consts) - n_hoisted
        arg_leaves, tree = tree_flatten(args_and_consts[:split])
        if tree != in_tree:
            raise TypeError(
                f"The inputs to the closure produced by closure_convert must have the same Pytree "
                f"structure as the example arguments passed when closure_convert was called "
                f"(for {_name(fun)}). Expected {in_tree}, but got {tree}."
            )
        out = eval_closed(converted_jaxpr, *arg_leaves, *args_and_consts[split:])
        return tree_unflatten(out_tree, out)

    if not any(isinstance(c, Tracer) for c in closed.consts):
        per_fun[key] = converted  # a closure over concrete values only is valid for every call
    return converted, hoisted


# -- batching (vmap) -------------------------------------------------------------------------------


def _batch_rule(interp, args, params):
    """``vmap`` of a custom_vjp call is a custom_vjp call one level down whose ``fun``, ``fwd``
    and ``bwd`` are the user's, batched (spec §4.4): user code sees one example's shapes, the
    residuals keep the batch axes ``fwd`` gave them, and a cotangent ``bwd`` returns batched for
    an input that is not batched is summed over the batch. So ``grad(vmap(f))`` still runs the
    user's ``bwd``, batched, and ``vmap(grad(f))`` needs nothing here (the tape is inside)."""
    call = params["_call"]
    cv = call.cv
    n_consts = params.get("_num_consts", 0)
    all_args, args = (
        args,
        args[n_consts:],
    )  # fun is re-run from Python: values it closed over are in its closure
    dims = [interp.bdim(a) for a in args]
    if all(d is None for d in dims):
        return forward(interp, custom_vjp_call_p, all_args, params)
    size, name = interp.axis_size, interp.axis_name
    n = len(args)
    saved = {}

    def run_fun(*leaves):
        return _flat_output(call, call.run(cv.fun, list(leaves)), cv.fun)

    def fun(*values):
        return tuple(batch_fun(run_fun, dims, size, name)(*values))

    def fwd(*values):
        def run(*leaves):
            fwd_args = [CustomVJPPrimal(v, True) for v in leaves] if cv.symbolic_zeros else leaves
            out, res = call.run(cv.fwd, list(fwd_args))
            res_leaves, saved["res_tree"] = tree_flatten(res)
            out_leaves = _flat_output(call, out, cv.fwd)
            saved["n_out"] = len(out_leaves)
            return [*out_leaves, *res_leaves]

        outs, out_dims = batch_call(run, values, dims, size, name)
        saved["primals"] = values  # bwd's zeros and checks need them at the level fwd ran at
        k = saved["n_out"]
        saved["res_dims"] = out_dims[k:]
        primal = tuple(batch_at(o, d, size) for o, d in zip(outs[:k], out_dims[:k], strict=True))
        return primal, tuple(outs[k:])

    def bwd(res, ct):
        nondiff = [v for _, v in call.nondiff]
        res_tree = saved["res_tree"]

        def run(*a):
            primals, res_leaves, cts = a[:n], a[n : n + len(res)], a[n + len(res) :]
            result = cv.bwd(
                *nondiff, tree_unflatten(res_tree, res_leaves), _unflatten(call.out_tree, list(cts))
            )
            return [
                c if c is not None else zeros_like(p)
                for c, p in zip(
                    _check_bwd_output(call, result, list(primals)), primals, strict=True
                )
            ]

        ct_leaves = list(ct) if isinstance(ct, tuple) else [ct]
        in_dims = [*dims, *saved["res_dims"], *[0] * len(ct_leaves)]
        cts, ct_dims = batch_call(run, [*saved["primals"], *res, *ct_leaves], in_dims, size, name)
        out = []
        for c, dc, d in zip(cts, ct_dims, dims, strict=True):
            if d is None:  # an input shared by the batch: its cotangent sums the members'
                out.append(c if dc is None else reduce_sum(c, (dc,)))
            else:
                out.append(batch_at(c, dc, size, d))
        return tuple(out)

    def values_of(xs):
        return [interp.value(x) for x in xs]

    fun.__name__ = cv.__name__
    fwd.__name__ = _name(cv.fwd)
    bwd.__name__ = _name(cv.bwd)
    batched = custom_vjp(fun)
    batched.defvjp(fwd, bwd)
    outs = at_parent(interp, batched, *values_of(args))
    return [interp.lift(o, 0) for o in outs]


def zeros_like(x):
    """Zeros of ``x``'s shape and dtype (a zero cotangent that ``bwd`` left as None)."""
    return broadcast_to(convert_element_type(0, x.dtype), x.shape)


custom_vjp_call_p.rules["batch"] = _batch_rule
