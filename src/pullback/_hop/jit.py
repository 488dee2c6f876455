"""``jit``, ``make_jaxpr`` and ``eval_shape``: staging a function and running it compiled.

``jit(f)`` traces ``f`` once per abstract signature (pytree structure, shapes, dtypes, weak
types, values of static arguments, x64 mode) into a jaxpr, compiles it (``_compile``) and caches
the result. Called with nothing being transformed, it runs the compiled function on raw NumPy
values. Under a transformation it binds the higher-order primitive ``jit`` instead, whose rules
are:

* ``eval``/``impl``: run the compiled jaxpr;
* ``stage``: the default (an equation ``jit[name=f jaxpr={...}]``; its output types are the
  jaxpr's);
* ``vjp``: split the body's reverse mode into a forward program that also returns residuals and
  a backward program (``partial_eval.vjp_split``, cached per body and masks), both run compiled
  as ``jit`` equations one level down (``grad(jit(f))``);
* ``inline``: the compiler splices the body into the enclosing program.
"""

from __future__ import annotations

import functools
import inspect
import weakref

import numpy as np

from pullback import _compile
from pullback._config import config
from pullback._core import EVAL, Array, Primitive, ShapedArray, Tracer, state, to_raw
from pullback._hop.batching import at_parent, batch_jaxpr, forward, unbatched
from pullback._hop.partial_eval import (
    dependent_outputs,
    record_outputs,
    run_below,
    vjp_split,
    without_zero_inputs,
)
from pullback._interp.stage import aval_of_leaf, hoist_tracers, trace_to_jaxpr
from pullback._ir import JaxprTypeError
from pullback.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_structure,
    tree_unflatten,
)

__all__ = [
    "jit",
    "make_jaxpr",
    "eval_shape",
    "ShapeDtypeStruct",
    "jit_p",
    "hoist_tracers",
    "Traced",
    "compiled",
    "call_batch_rule",
    "call_eval",
    "record_call",
    "run_call_below",
    "split_call",
    "describe_call",
]


def _fun_name(fun):
    return getattr(fun, "__name__", None) or type(fun).__name__


# -- the primitive ---------------------------------------------------------------------------------


def compiled(closed):
    """The compiled form of a closed jaxpr, built once and kept while the jaxpr lives."""
    fn = _COMPILED.get(closed)
    if fn is None:
        fn = _COMPILED[closed] = _compile.compile_jaxpr(closed)
    return fn


_COMPILED = weakref.WeakKeyDictionary()


def _jit_impl(*args, jaxpr, name):
    return compiled(jaxpr)(*args)


def call_eval(interp, args, params):
    """The ``eval`` rule of a call primitive whose body is its parameter ``jaxpr``: run the
    body compiled."""
    closed = params["jaxpr"]
    if not interp.wrap:  # backward passes: the operands are canonical ndarrays already
        raws = [a if type(a) is np.ndarray else to_raw(a)[0] for a in args]
        return list(compiled(closed)(*raws))
    outs = compiled(closed)(*[to_raw(a)[0] for a in args])
    return [Array(o, a.weak_type) for o, a in zip(outs, closed.out_avals, strict=True)]


def _jit_vjp(interp, args, params):
    own = [interp.own(a) for a in args]
    primals = [interp.primal(a) for a in args]
    closed, name = params["jaxpr"], params["name"]
    split = split_call(closed, tuple(own), f"jit of {name}") if any(own) else None
    if split is None:
        return interp._constant(jit_p, primals, params)
    # ``grad(jit(f))``: a compiled forward program that also returns the residuals, and a
    # compiled backward program, both ``jit`` equations one level down
    outs = run_call_below(interp, jit_p, primals, {"jaxpr": split.fwd, "name": name})
    return record_call(interp, jit_p, params, args, own, split, primals, outs)


def run_call_below(interp, prim, operands, params):
    """The call primitive ``prim`` one level below the reverse-mode interpreter ``interp``. Its
    body may close over tracers of enclosing transformations (a custom rule's closure, traced
    into a split): they become leading operands."""
    if interp.raw:
        return run_below(interp, prim, operands, params)
    return _bind_hoisted(interp.parent, prim, operands, params)


def _bind_hoisted(level, prim, operands, params):
    closed, tracers = hoist_tracers(params["jaxpr"])
    if tracers:
        operands, params = [*tracers, *operands], dict(params, jaxpr=closed)
    return level.process(prim, operands, params)


def record_call(interp, prim, bwd_params, args, own, split, primals, outs):
    """Put a call whose forward program ran (giving ``outs``) on the tape of ``interp``; its
    backward program is bound as ``prim`` with ``bwd_params`` (``jaxpr`` replaced)."""
    n_out = split.n_out
    inputs = tuple(a._idx if o else -1 for a, o in zip(args, own, strict=True))
    data = (prim, bwd_params, split, primals, list(outs[n_out:]), own)
    out_avals = split.fwd.out_avals[:n_out]
    diff = split.differentiated_outputs
    return record_outputs(interp, _call_transpose, inputs, data, outs[:n_out], out_avals, diff)


def split_call(closed, in_mask, context, saveable=None):
    """``vjp_split`` of a call's body for the inputs in ``in_mask`` (and the checkpoint policy
    ``saveable``), kept with the body; ``None`` when no output depends on them."""
    per_mask = _SPLITS.get(closed)
    if per_mask is None:
        per_mask = _SPLITS[closed] = {}
    key = (in_mask, saveable)
    if key not in per_mask:
        out_mask = dependent_outputs(closed.jaxpr, in_mask)
        n = len(in_mask)
        split = any(out_mask) and vjp_split(
            closed, in_mask, out_mask, [True] * n, [False] * n, context, saveable
        )
        if split and _closes_over_tracers(split):  # valid for this trace only
            return split
        per_mask[key] = split
    return per_mask[key] or None


def _closes_over_tracers(split):
    return any(isinstance(c, Tracer) for j in (split.fwd, split.bwd) for c in j.consts)


_SPLITS = weakref.WeakKeyDictionary()


def _call_transpose(ct, prim, params, split, primals, computed, own):
    n_res = len(split.residuals)
    cts = (ct,) if len(split.bwd.in_avals) == n_res + 1 else ct
    bwd = split.bwd
    absent = [n_res + j for j, c in enumerate(cts) if c is None]
    if absent:  # outputs nobody used: their cotangents are symbolic zeros
        bwd = without_zero_inputs(bwd, absent)
    sources = {"input": primals, "computed": computed}
    residuals = [sources[kind][k] for kind, k in split.residuals]
    operands = [*residuals, *(c for c in cts if c is not None)]
    cts_in = iter(_bind_hoisted(state.interp, prim, operands, dict(params, jaxpr=bwd)))
    return [next(cts_in) if o else None for o in own]


jit_p = Primitive("jit", _jit_impl, multiple_results=True)


def _jit_abstract(*avals, jaxpr, name):
    expected = jaxpr.in_avals
    if len(avals) != len(expected) or any(
        (a.shape, a.dtype) != (e.shape, e.dtype) for a, e in zip(avals, expected)
    ):
        raise JaxprTypeError(
            f"jit of {name}: operands typed ({', '.join(a.str_short() for a in avals)}), its "
            f"body takes ({', '.join(e.str_short() for e in expected)})"
        )
    return jaxpr.out_avals


jit_p.abstract = _jit_abstract
jit_p.rules["eval"] = call_eval
jit_p.rules["vjp"] = _jit_vjp
jit_p.rules["inline"] = lambda params: params["jaxpr"]
jit_p.rules["call_site_names"] = True  # printed as JAX does


# -- jit ----------------------------------------------------------------------------------------


class _Entry:
    """One traced and compiled signature."""

    __slots__ = ("jaxpr", "tracers", "out_tree", "fn", "weaks", "single")

    def __init__(self, jaxpr, tracers, out_tree):
        self.jaxpr = jaxpr
        self.tracers = tracers
        self.out_tree = out_tree
        self.fn = None if tracers else compiled(jaxpr)
        self.weaks = [a.weak_type for a in jaxpr.out_avals]
        self.single = out_tree == _LEAF_TREEDEF  # one array output: no pytree to rebuild


_LEAF_TREEDEF = tree_structure(0)
_CACHES = weakref.WeakKeyDictionary()  # function -> {static configuration -> traces}


class Traced:
    """A function traced once per argument signature and bound as the call primitive ``_prim``
    with ``_params(entry)`` under a transformation; run compiled when nothing is transformed.
    ``jit`` and ``checkpoint`` share it (and its traces); ``_kind`` names it in messages."""

    def __init__(self, fun, static_argnums, static_argnames=None):
        functools.update_wrapper(self, fun)
        self._fun = fun
        self._name = _fun_name(fun)
        nums, names = _static_positions(fun, static_argnums, static_argnames)
        self._static_argnums = nums
        self._static_argnames = names
        # jit(f) called again on the same f reuses its traces, as in JAX
        try:
            per_fun = _CACHES.setdefault(fun, {})
        except TypeError:  # not weakly referenceable
            per_fun = {}
        self._cache = per_fun.setdefault((nums, names), {})

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return functools.partial(self, instance)

    def _split(self, args, kwargs):
        """``(static key, dynamic part)``: the dynamic part is the tuple of positional arguments,
        or ``(args, kwargs)`` when there are keyword arguments left."""
        nums, names = self._static_argnums, self._static_argnames
        if not nums and not (names and kwargs):
            return (), ((args, kwargs) if kwargs else args), bool(kwargs)
        for i in nums:
            if i >= len(args) and (not names or not kwargs):
                raise ValueError(
                    f"{self._what}: static_argnums contains {i}, but the call has only "
                    f"{len(args)} positional arguments."
                )
        static = []
        dyn_args = []
        for i, a in enumerate(args):
            if i in nums:
                static.append((i, _hashable(self._what, a, f"static argument {i}")))
            else:
                dyn_args.append(a)
        dyn_kwargs = {}
        for k, v in kwargs.items():
            if k in names:
                static.append((k, _hashable(self._what, v, f"static argument {k!r}")))
            else:
                dyn_kwargs[k] = v
        dyn_args = tuple(dyn_args)
        dyn = (dyn_args, dyn_kwargs) if dyn_kwargs else dyn_args
        return tuple(static), dyn, bool(dyn_kwargs)

    def _call_with(self, static, dyn, has_kwargs):
        """Call the function with its static and dynamic parts put back together."""
        dyn_args, dyn_kwargs = dyn if has_kwargs else (dyn, {})
        if not static:
            return self._fun(*dyn_args, **dyn_kwargs)
        positional = {k: v for k, v in static if type(k) is int}
        args = list(dyn_args)
        for i in sorted(positional):
            args.insert(i, positional[i])
        keyword = {k: v for k, v in static if type(k) is str}
        return self._fun(*args, **dyn_kwargs, **keyword)

    def _entry(self, static, dyn, avals, key):
        """The traced and compiled entry for this signature (traced on a miss)."""
        entry = self._cache.get(key)
        if entry is not None:
            return entry
        has_kwargs = key[1]
        closed, out_tree = trace_to_jaxpr(
            lambda d: self._call_with(static, d, has_kwargs),
            (tree_unflatten(tree_structure(dyn), avals),),
            f"the function {self._name} for {self._kind}",
        )
        closed, tracers = hoist_tracers(closed)
        entry = _Entry(closed, tracers, out_tree)
        if not tracers:  # a jaxpr closing over an outer tracer is valid for this call only
            self._cache[key] = entry
        return entry

    @property
    def _what(self):
        return f"{self._kind} of {self._name}"

    def _params(self, entry):
        raise NotImplementedError

    def _run(self, args, kwargs):
        static, dyn, has_kwargs = self._split(args, kwargs)
        leaves, treedef = tree_flatten(dyn)
        interp = state.interp
        raws = []
        sig = [treedef, has_kwargs, static, config.jax_enable_x64]
        eager = interp is EVAL
        for x in leaves:
            if type(x) is Array:
                v = x._value
                raws.append(v)
                sig += (v.shape, v.dtype, x._weak)
                continue
            if isinstance(x, Tracer):
                eager = False
                a = x.aval
                raws.append(x)
                sig += (a.shape, a.dtype, a.weak_type)
                continue
            try:
                v, weak = to_raw(x)
            except TypeError:
                raise self._invalid_argument(args, kwargs, x) from None
            if v is x and type(v) is np.ndarray:  # the caller's own array: never alias it
                v = v.copy()
            raws.append(v)
            sig += (np.shape(v), v.dtype, weak)
        key = tuple(sig)
        entry = self._cache.get(key)
        if entry is None:
            avals = [ShapedArray(*sig[k : k + 3]) for k in range(4, len(sig), 3)]
            entry = self._entry(static, dyn, avals, key)
        if eager and entry.fn is not None:
            outs = entry.fn(*raws)
            if entry.single:
                return Array(outs[0], entry.weaks[0])
            return tree_unflatten(
                entry.out_tree, [Array(o, w) for o, w in zip(outs, entry.weaks, strict=True)]
            )
        outs = interp.process(self._prim, [*entry.tracers, *leaves], self._params(entry))
        return tree_unflatten(entry.out_tree, list(outs))

    def _invalid_argument(self, args, kwargs, leaf):
        """The TypeError for an argument leaf that is not an array, naming its parameter."""
        try:
            bound = inspect.signature(self._fun).bind(*args, **kwargs).arguments
        except (TypeError, ValueError):
            bound = {f"#{i}": a for i, a in enumerate(args)} | kwargs
        where, path_name = "an argument", "unknown"
        for name, value in bound.items():
            for path, x in tree_flatten_with_path(value)[0]:
                if x is leaf:
                    where = f"argument {name!r}{keystr(path)}"
                    path_name = f"{name}{keystr(path)}"
                    break
        if self._kind == "jit":
            start = (
                f"Error interpreting argument to {self._fun} as an abstract array. The "
                f"problematic value is of type {type(leaf)} and was passed to the function at "
                f"path {path_name}.\n"
            )
        else:
            start = f"Argument '{leaf}' of type {type(leaf)} is not a valid JAX type. "
        return TypeError(
            f"{start}{self._what}: {where} is {leaf!r} of type {type(leaf)}, which is not a "
            f"valid JAX type. Pass arrays, scalars or pytrees of them, or mark the argument "
            f"static with static_argnums/static_argnames."
        )


class _Jitted(Traced):
    """The function ``jit`` returns."""

    _kind = "jit"
    _prim = jit_p

    def __call__(self, *args, **kwargs):
        if config.jax_disable_jit:
            return self._fun(*args, **kwargs)
        return self._run(args, kwargs)

    def _params(self, entry):
        return {"jaxpr": entry.jaxpr, "name": self._name}

    def lower(self, *args, **kwargs):
        """Trace and simplify for these arguments; ``.as_text()`` shows the program."""
        static, dyn, has_kwargs = self._split(args, kwargs)
        leaves, treedef = tree_flatten(dyn)
        avals = [aval_of_leaf(x) for x in leaves]
        sig = [treedef, has_kwargs, static, config.jax_enable_x64]
        for a in avals:
            sig += (a.shape, a.dtype, a.weak_type)
        return Lowered(self._entry(static, dyn, avals, tuple(sig)))

    def trace(self, *args, **kwargs):
        return self.lower(*args, **kwargs)

    def eval_shape(self, *args, **kwargs):
        return eval_shape(self, *args, **kwargs)

    def clear_cache(self):
        self._cache.clear()

    def _cache_size(self):
        return len(self._cache)

    def __repr__(self):
        return f"<PjitFunction of {self._fun!r}>"


class Lowered:
    """A traced and simplified ``jit`` program: ``as_text()`` prints it as a jaxpr, ``jaxpr`` is
    the traced (unsimplified) one, ``compile()`` gives the generated Python."""

    def __init__(self, entry):
        self._entry = entry
        self.jaxpr = entry.jaxpr

    def as_text(self):
        return str(_compile.as_closed(compiled(self._entry.jaxpr).program))

    def compile(self):
        return Compiled(self._entry)


class Compiled:
    def __init__(self, entry):
        self._entry = entry

    def as_text(self):
        return compiled(self._entry.jaxpr).source

    def __call__(self, *args):
        leaves, _ = tree_flatten(args)
        outs = compiled(self._entry.jaxpr)(*[to_raw(x)[0] for x in leaves])
        return tree_unflatten(
            self._entry.out_tree,
            [Array(o, w) for o, w in zip(outs, self._entry.weaks, strict=True)],
        )


def _hashable(where, value, what):
    try:
        hash(value)
    except TypeError as e:
        raise ValueError(
            f"Non-hashable static arguments are not supported. An error occurred while trying "
            f"to hash an object of type {type(value)}, {value}. The error was:\nTypeError: "
            f"{e}\n{where}: {what} must be hashable, because it caches one traced program per "
            f"static value. Use a tuple instead of a list, or pass arrays as ordinary (traced) "
            f"arguments."
        ) from None
    return value


def _static_positions(fun, static_argnums, static_argnames):
    """Static positions and names, each completed from the other through the signature."""
    nums = () if static_argnums is None else static_argnums
    nums = (nums,) if isinstance(nums, int) else tuple(nums)
    names = () if static_argnames is None else static_argnames
    names = (names,) if isinstance(names, str) else tuple(names)
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return frozenset(nums), frozenset(names)
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    nums_set = {n % len(positional) if n < 0 and positional else n for n in nums}
    names_set = set(names)
    for n in nums_set:
        if n < len(positional):
            names_set.add(positional[n])
    for name in names:
        if name in positional:
            nums_set.add(positional.index(name))
    return frozenset(nums_set), frozenset(names_set)


def jit(
    fun=None,
    *,
    static_argnums=None,
    static_argnames=None,
    donate_argnums=None,
    donate_argnames=None,
    keep_unused=False,
    device=None,
    backend=None,
    inline=False,
    in_shardings=None,
    out_shardings=None,
    abstracted_axes=None,
    compiler_options=None,
):
    """Compile ``fun``: trace it once per argument signature and run the compiled program.

    ``donate_argnums`` and the sharding/device options are accepted and ignored (NumPy arrays
    are never donated).

    >>> import pullback as jax, pullback.numpy as jnp
    >>> f = jax.jit(lambda x: jnp.sin(x) * 2.0)
    >>> f(jnp.float32(0.5))
    Array(0.9588511, dtype=float32)
    """
    if fun is None:
        return functools.partial(
            jit,
            static_argnums=static_argnums,
            static_argnames=static_argnames,
            donate_argnums=donate_argnums,
        )
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun}")
    _check_static(fun, static_argnums, static_argnames)
    return _Jitted(fun, static_argnums, static_argnames)


def _check_static(fun, static_argnums, static_argnames):
    """JAX's checks of ``static_argnums``/``static_argnames`` against ``fun``'s signature."""
    try:
        params = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return
    nums = () if static_argnums is None else static_argnums
    nums = (nums,) if isinstance(nums, int) else tuple(nums)
    names = () if static_argnames is None else static_argnames
    names = (names,) if isinstance(names, str) else tuple(names)
    kinds = [p.kind for p in params]
    positional = sum(k in (_POSITIONAL_ONLY, _POSITIONAL_OR_KEYWORD) for k in kinds)
    if (
        nums
        and _VAR_POSITIONAL not in kinds
        and (-min(nums) > positional or max(nums) >= positional)
    ):
        raise ValueError(
            f"Jitted function has static_argnums={nums}, but only accepts {positional} "
            f"positional arguments."
        )
    if names:
        invalid = {p.name for p in params if p.kind in (_POSITIONAL_ONLY, _VAR_POSITIONAL)}
        if only := invalid & set(names):
            raise ValueError(
                f"Jitted function has invalid argnames {only} in static_argnames. These are "
                f"positional-only"
            )
        valid = {p.name for p in params if p.kind in (_POSITIONAL_OR_KEYWORD, _KEYWORD_ONLY)}
        if _VAR_KEYWORD not in kinds and (missing := set(names) - valid):
            raise ValueError(
                f"Jitted function has invalid argnames {missing} in static_argnames. Function "
                f"does not take these args."
            )


_POSITIONAL_ONLY = inspect.Parameter.POSITIONAL_ONLY
_POSITIONAL_OR_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
_VAR_KEYWORD = inspect.Parameter.VAR_KEYWORD


# -- make_jaxpr, eval_shape ---------------------------------------------------------------------


class ShapeDtypeStruct:
    """A shape, dtype and weak-type flag standing for an array (for ``eval_shape`` and
    ``pure_callback``).

    >>> import pullback as jax, numpy as np
    >>> jax.ShapeDtypeStruct((2, 3), np.float32)
    ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    """

    __slots__ = ("shape", "dtype", "weak_type", "sharding")

    def __init__(self, shape, dtype, sharding=None, weak_type=False):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = weak_type
        self.sharding = sharding

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}{weak})"

    def __eq__(self, other):
        return isinstance(other, ShapeDtypeStruct) and (self.shape, self.dtype, self.weak_type) == (
            other.shape,
            other.dtype,
            other.weak_type,
        )

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type))


def make_jaxpr(fun, static_argnums=(), axis_env=None, return_shape=False, abstracted_axes=None):
    """A function that traces ``fun`` on its arguments' shapes and dtypes and returns the jaxpr.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> print(jax.make_jaxpr(lambda x: jnp.sin(x) * 2.0)(1.0))
    { lambda ; a:f32[]. let b:f32[] = sin a; c:f32[] = mul b 2.0:f32[] in (c,) }
    """
    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def make(*args, **kwargs):
        static = {i: args[i] for i in nums}
        dyn = tuple(a for i, a in enumerate(args) if i not in static)

        def f(*dyn_args):
            full = list(dyn_args)
            for i in sorted(static):
                full.insert(i, static[i])
            return fun(*full, **kwargs)

        closed, out_tree = trace_to_jaxpr(f, dyn, f"the function {_fun_name(fun)} for make_jaxpr")
        if return_shape:
            shapes = [
                ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in closed.out_avals
            ]
            return closed, tree_unflatten(out_tree, shapes)
        return closed

    return make


def eval_shape(fun, *args, **kwargs):
    """The shapes and dtypes of ``fun``'s outputs, without computing them.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.eval_shape(lambda x: jnp.ones((2, 1)) * x, jax.ShapeDtypeStruct((3,), jnp.float32))
    ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    """
    closed, out_tree = trace_to_jaxpr(
        lambda *a: fun(*a, **kwargs), args, f"the function {_fun_name(fun)} for eval_shape"
    )
    shapes = [ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in closed.out_avals]
    return tree_unflatten(out_tree, shapes)


# -- batching (vmap) -------------------------------------------------------------------------------


def call_batch_rule(prim):
    """The batching rule of a call primitive whose body is its parameter ``jaxpr`` (``jit``,
    ``checkpoint``): the body batched into a new jaxpr, bound as a new call."""

    def rule(interp, args, params):
        dims = [interp.bdim(a) for a in args]
        if unbatched(interp, args, params["jaxpr"]):
            return forward(interp, prim, args, params)
        values = [interp.value(a) for a in args]
        closed = params["jaxpr"]

        def bind():
            jaxpr, consts = batch_jaxpr(
                closed,
                values,
                dims,
                [True] * len(closed.out_avals),
                interp.axis_size,
                interp.axis_name,
                f"the batched body of {describe_call(prim, params)}",
            )
            return interp.parent.process(prim, [*consts, *values], dict(params, jaxpr=jaxpr))

        return [interp.lift(o, 0) for o in at_parent(interp, bind)]

    return rule


def describe_call(prim, params):
    """``jit of f``: a call equation as messages name it."""
    name = params.get("name")
    return f"{prim.name} of {name}" if name else prim.name


jit_p.rules["batch"] = call_batch_rule(jit_p)
