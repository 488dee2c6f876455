"""``checkpoint`` (``remat``): a region whose reverse mode recomputes what it does not save.

``checkpoint(f)`` traces ``f`` once per argument signature (sharing ``jit``'s traces) and binds
the call primitive ``remat2`` (JAX's name, printed as JAX prints it) with parameters ``jaxpr``,
``prevent_cse``, ``differentiated`` and ``policy``. Its rules:

* ``eval``: run the body compiled; ``stage``: the default equation; ``batch`` and ``jvp``: the
  body batched or differentiated, bound as a new ``remat2`` (the rules ``jit`` has);
* ``vjp``: the body's reverse mode split into a forward and a backward program
  (``partial_eval.vjp_split``) where the forward program keeps only the residuals the policy
  saves and the backward program recomputes the others from them and the region's inputs. The
  forward program runs one level down (compiled eagerly; inline when staged, as JAX prints it;
  as a ``remat2`` under an outer differentiation, which checkpoints it again); the backward
  program is bound as ``remat2[differentiated=True]`` when the backward pass reaches it;
* ``inline``: the compiler splices the body into the enclosing program, except a recomputation
  (``differentiated`` and ``prevent_cse``): merged with the forward pass by common
  subexpression elimination it would keep alive what checkpointing frees;
* ``dce``: the body loses the outputs nobody reads.

Eagerly, under ``jit`` (``jit(grad(f))`` and ``grad(jit(f))``), inside control-flow bodies and
nested checkpoints the same split applies: whoever differentiates the equation runs its ``vjp``
rule. A policy is JAX's: a predicate ``policy(prim, *avals, **params)`` over an equation of the
forward pass, saying whether its outputs may be saved (``checkpoint_policies``).
"""

from __future__ import annotations

import functools
import inspect
import re

from pullback._core import Primitive, state
from pullback._hop.batching import at_parent
from pullback._hop.jit import (
    Traced,
    call_batch_rule,
    call_eval,
    compiled,
    record_call,
    run_call_below,
    split_call,
)
from pullback._hop.partial_eval import dependent_outputs, vjp_split
from pullback._interp.stage import StageInterp, trace_to_jaxpr
from pullback._ir import Eqn, JaxprTypeError, eval_closed, prune_closed
from pullback._ops.structural import name_p
from pullback.tree_util import keystr, tree_flatten_with_path, tree_structure, tree_unflatten

__all__ = [
    "checkpoint",
    "remat",
    "checkpoint_p",
    "saveable_by",
    "saved_residuals",
    "print_saved_residuals",
]


def _impl(*args, jaxpr, prevent_cse, differentiated, policy):
    return compiled(jaxpr)(*args)


checkpoint_p = Primitive("remat2", _impl, multiple_results=True)


def _abstract(*avals, jaxpr, **params):
    expected = jaxpr.in_avals
    if [(a.shape, a.dtype) for a in avals] != [(e.shape, e.dtype) for e in expected]:
        raise JaxprTypeError(
            f"checkpoint: operands typed ({', '.join(a.str_short() for a in avals)}), its body "
            f"takes ({', '.join(e.str_short() for e in expected)})"
        )
    return jaxpr.out_avals


def saveable_by(policy):
    """The predicate over equations that ``policy`` (JAX's ``policy(prim, *avals, **params)``;
    ``None``: nothing) makes: whether the forward pass may keep the equation's outputs. One per
    policy, so that the splits cached per predicate are found again."""
    key = policy
    try:
        hash(policy)
    except TypeError:  # an unhashable policy object: known by identity, and kept alive
        key = id(policy)
    entry = _SAVEABLE.get(key)
    if entry is None:
        if policy is None:
            saveable = _nothing
        else:

            def saveable(eqn):
                return bool(policy(eqn.prim, *[v.aval for v in eqn.invars], **eqn.params))

        entry = _SAVEABLE[key] = (policy, saveable)
    return entry[1]


def _nothing(eqn):
    return False


_SAVEABLE = {}


def _vjp(interp, args, params):
    own = [interp.own(a) for a in args]
    primals = [interp.primal(a) for a in args]
    closed = params["jaxpr"]
    split = None
    if any(own):
        saveable = saveable_by(params["policy"])
        split = split_call(closed, tuple(own), "a checkpointed function", saveable)
    if split is None:
        return interp._constant(checkpoint_p, primals, params)
    if isinstance(interp.parent, StageInterp):
        # staged (jit(grad(f)), a control-flow body, an enclosing checkpoint): the forward
        # program's equations go in as they are, and whoever splits that program decides again
        # what of it to keep
        outs = at_parent(interp, eval_closed, split.fwd, *primals)
    else:
        outs = run_call_below(interp, checkpoint_p, primals, dict(params, jaxpr=split.fwd))
    bwd_params = dict(params, differentiated=True)
    return record_call(interp, checkpoint_p, bwd_params, args, own, split, primals, outs)


def _dce(eqn, used):
    body, reads = prune_closed(eqn.params["jaxpr"], used)
    if all(used) and all(reads):
        return eqn
    operands = [v for v, r in zip(eqn.invars, reads, strict=True) if r]
    outvars = [v for v, u in zip(eqn.outvars, used, strict=True) if u]
    return Eqn(checkpoint_p, operands, outvars, dict(eqn.params, jaxpr=body), eqn.source_info)


def _inline(params):
    if params["differentiated"] and params["prevent_cse"]:
        return None
    return params["jaxpr"]


def _policy_str(policy):
    """A policy as JAX prints it: its repr, a function's address masked."""
    return re.sub(r" at 0x[0-9a-fA-F]+", " at 0xXXXXXXXXXXXX", repr(policy))


checkpoint_p.abstract = _abstract
checkpoint_p.rules["param_str"] = {"policy": _policy_str}
checkpoint_p.rules["eval"] = call_eval
checkpoint_p.rules["vjp"] = _vjp
checkpoint_p.rules["batch"] = call_batch_rule(checkpoint_p)
checkpoint_p.rules["inline"] = _inline
checkpoint_p.rules["dce"] = _dce


class _Checkpointed(Traced):
    """The function ``checkpoint`` returns."""

    _kind = "checkpoint"
    _prim = checkpoint_p

    def __init__(self, fun, prevent_cse, policy, static_argnums, static_argnames):
        super().__init__(fun, static_argnums, static_argnames)
        self._prevent_cse = prevent_cse
        self._policy = policy

    def __call__(self, *args, **kwargs):
        return self._run(args, kwargs)

    def _params(self, entry):
        return {
            "jaxpr": entry.jaxpr,
            "prevent_cse": self._prevent_cse,
            "differentiated": False,
            "policy": self._policy,
        }

    def __repr__(self):
        return f"<checkpoint of {self._fun!r}>"


def checkpoint(fun=None, *, prevent_cse=True, policy=None, static_argnums=(), static_argnames=()):
    """``fun``, whose reverse mode saves only what ``policy`` allows and recomputes the rest
    from its inputs in the backward pass (gradient checkpointing). ``policy`` is one of
    ``pullback.checkpoint_policies`` or any ``policy(prim, *avals, **params) -> bool``; ``None``
    saves nothing but the inputs. ``static_argnums``/``static_argnames`` are traced as constants,
    as with ``jit``.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> f = jax.checkpoint(lambda x: jnp.sin(jnp.sin(x)))
    >>> jax.grad(f)(2.0)
    Array(-0.2556391, dtype=float32, weak_type=True)
    >>> print(jax.make_jaxpr(f)(2.0))
    { lambda ; a:f32[]. let
        b:f32[] = remat2[
          differentiated=False
          jaxpr={ lambda ; c:f32[]. let d:f32[] = sin c; e:f32[] = sin d in (e,) }
          policy=None
          prevent_cse=True
        ] a
      in (b,) }
    """
    if fun is None:
        return functools.partial(
            checkpoint,
            prevent_cse=prevent_cse,
            policy=policy,
            static_argnums=static_argnums,
            static_argnames=static_argnames,
        )
    if not callable(fun):
        raise TypeError(f"checkpoint: expected a callable, got {fun!r} of type {type(fun)}.")
    return _Checkpointed(fun, prevent_cse, policy, static_argnums, static_argnames)


remat = checkpoint


# -- what the forward pass keeps ------------------------------------------------------------------


def saved_residuals(f, *args, **kwargs):
    """What reverse mode of ``f`` at these arguments keeps from the forward pass for the
    backward pass: a list of ``(aval, where it comes from)``, arguments first, then values in
    the order they are computed (``print_saved_residuals`` prints it).

    >>> import pullback as jax, pullback.numpy as jnp
    >>> from pullback.ad_checkpoint import saved_residuals
    >>> [str(aval) for aval, _ in saved_residuals(lambda x: jnp.sin(x).sum(), jnp.ones(3))]
    ['ShapedArray(float32[3])']
    """
    names, leaves, rebuild = _named_arguments(f, args, kwargs)
    saved = state.sources
    state.sources = True  # every equation records the line of user code it comes from
    try:
        closed, _ = trace_to_jaxpr(
            lambda *xs: f(*rebuild(xs)[0], **rebuild(xs)[1]),
            tuple(leaves),
            f"the function {getattr(f, '__name__', f)} for saved_residuals",
        )
        n = len(leaves)
        in_mask = [a.dtype.kind in "fc" for a in closed.in_avals]
        out_mask = dependent_outputs(closed.jaxpr, in_mask)
        split = vjp_split(closed, in_mask, out_mask, [True] * n, [False] * n, "saved_residuals")
    finally:
        state.sources = saved
    producer = {v: e for e in split.fwd.jaxpr.eqns for v in e.outvars}
    computed = split.fwd.jaxpr.outvars[split.n_out :]
    order = {e: k for k, e in enumerate(split.fwd.jaxpr.eqns)}
    inputs = sorted(k for kind, k in split.residuals if kind == "input")
    result = [(closed.in_avals[k], f"from the argument {names[k]}") for k in inputs]
    values = [v for v in computed if v in producer]

    def staged(v):  # the user's operation first, then the position among the equations
        source = producer[v].source_info
        return (source.order if source is not None else -1, order[producer[v]])

    for v in sorted(values, key=staged):
        eqn = producer[v]
        where = f" from {eqn.source_info}" if eqn.source_info else ""
        if eqn.prim is name_p:
            result.append((v.aval, f"named '{eqn.params['name']}'{where}"))
        else:
            result.append((v.aval, f"output of {eqn.prim.name}{where}"))
    result += [(v.aval, "from a constant") for v in computed if v not in producer]
    return result


def print_saved_residuals(f, *args, **kwargs):
    """Print what reverse mode of ``f`` keeps for the backward pass, one value a line, as JAX
    does: its type and where it comes from (an argument, or the operation and the line of code
    that computed it).

    >>> import pullback as jax, pullback.numpy as jnp
    >>> from pullback.ad_checkpoint import print_saved_residuals
    >>> def f(W, x):
    ...     return jnp.sin(W @ x).sum()
    >>> print_saved_residuals(f, jnp.ones((3, 2)), jnp.ones(2))  # doctest: +ELLIPSIS
    f32[3,2] from the argument W
    f32[2] from the argument x
    f32[3] output of cos from <doctest ...>:2:11 (f)
    >>> print_saved_residuals(jax.checkpoint(f), jnp.ones((3, 2)), jnp.ones(2))
    f32[3,2] from the argument W
    f32[2] from the argument x
    """
    for aval, where in saved_residuals(f, *args, **kwargs):
        print(f"{aval.str_short(short_dtypes=True)} {where}")


def _named_arguments(f, args, kwargs):
    """The argument leaves, a name for each (``params['w'][0]``, after ``f``'s parameters), and
    a function that rebuilds ``(args, kwargs)`` from leaves."""
    try:
        bound = inspect.signature(f).bind(*args, **kwargs)
        parts = list(bound.arguments.items())
    except (TypeError, ValueError):
        bound = None
        parts = [(f"#{i}", a) for i, a in enumerate(args)] + list(kwargs.items())
    names, leaves = [], []
    for name, value in parts:
        for path, leaf in tree_flatten_with_path(value)[0]:
            names.append(f"{name}{keystr(path)}")
            leaves.append(leaf)
    treedef = tree_structure(tuple(v for _, v in parts))

    def rebuild(xs):
        values = tree_unflatten(treedef, list(xs))
        if bound is None:
            return values[: len(args)], dict(zip(kwargs, values[len(args) :], strict=True))
        bound.arguments.update(zip((n for n, _ in parts), values, strict=True))
        return bound.args, bound.kwargs

    return names, leaves, rebuild
