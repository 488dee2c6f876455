"""``closure_convert``: make the values a function closes over explicit arguments.

``fun`` is traced on the example arguments' types and the closed-over tracers of enclosing
transformations that may be perturbed are hoisted into trailing inputs, so that a ``custom_vjp``
function can take them as differentiable arguments and return their cotangents from ``bwd``. A
conversion that closes over concrete values only is valid for every call, and cached per
function, input pytree, types and x64 mode.
"""

from __future__ import annotations

import weakref

from pullback._config import config
from pullback._core import Tracer
from pullback._hop.custom_call import _name
from pullback._interp.stage import aval_of_leaf, hoist_tracers, trace_to_jaxpr
from pullback._ir import eval_closed
from pullback.tree_util import tree_flatten, tree_unflatten

__all__ = ["closure_convert"]


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
