"""Collectives over a named ``vmap`` axis: ``psum``, ``pmax``, ``pmin`` and ``axis_index``.

Their parameter names the axis; only the batching interpreter of that name gives them a meaning
(``rules["batch"]``): it reduces over its batch axis (``psum`` of a value that is not batched is
the value times the axis size), and hands every other name on to the enclosing level. Reaching
the evaluator means that no enclosing ``vmap`` binds the name: JAX's ``NameError``.
"""

from __future__ import annotations

import numpy as np

from pullback._core import Array, Primitive, ShapedArray, state, to_raw
from pullback._ops._base import bind_here
from pullback._ops.creation import arange
from pullback._ops.reductions import reduce_max, reduce_min
from pullback._ops.structural import reduce_sum

__all__ = ["psum", "pmax", "pmin", "axis_index"]


def _unbound(name, what):
    def impl(*args, **params):
        names = params.get("axes", (params.get("axis_name"),))
        raise NameError(
            f"Found an unbound axis name: {names[0]}. {what} must run inside "
            f"vmap(..., axis_name={names[0]!r}) (pullback has no pmap or shard_map)."
        )

    return impl


def _at_parent(interp, fn, *args):
    saved = state.interp
    state.interp = interp.parent
    try:
        return fn(*args)
    finally:
        state.interp = saved


def _reduction_rule(prim, over_batch, unbatched):
    """``rules["batch"]`` of a reduction collective: ``over_batch(value, bdim)`` reduces a batched
    value, ``unbatched(value, size)`` gives the result for a value the same for every member."""

    def rule(interp, args, params):
        (x,) = args
        names = params["axes"]
        if interp.axis_name not in names:
            # another level's axis: this level's members go there side by side
            out = _at_parent(interp, bind_here, prim, [interp.value(x)], params)
            return interp.lift(out, interp.bdim(x))
        rest = tuple(n for n in names if n != interp.axis_name)

        def reduce():
            d = interp.bdim(x)
            v = interp.value(x)
            if d is None:
                out = unbatched(v if isinstance(v, Array) else Array(*to_raw(v)), interp.axis_size)
            else:
                out = over_batch(v, d)
            return bind_here(prim, [out], {"axes": rest}) if rest else out

        return _at_parent(interp, reduce)

    return rule


def _collective(name, over_batch, unbatched, vjp):
    prim = Primitive(name, _unbound(name, f"lax.{name}"), vjp=(vjp,))
    prim.abstract = lambda x, *, axes: x
    prim.rules["batch"] = _reduction_rule(prim, over_batch, unbatched)
    prim.rules["unfoldable"] = True
    return prim


def _not_differentiable(name):
    def rule(ct, ans, x, *, axes):
        raise NotImplementedError(f"Differentiation rule for '{name}' not implemented")

    return rule


# the transpose of a sum over the axis is a sum over the axis (JAX's rule)
psum_p = _collective(
    "psum",
    lambda v, d: reduce_sum(v, (d,)),
    lambda v, n: v * n,
    lambda ct, ans, x, *, axes: psum_p.bind(ct, axes=axes),
)
pmax_p = _collective(
    "pmax", lambda v, d: reduce_max(v, (d,)), lambda v, n: v, _not_differentiable("pmax")
)
pmin_p = _collective(
    "pmin", lambda v, d: reduce_min(v, (d,)), lambda v, n: v, _not_differentiable("pmin")
)


def _names(axis_name):
    return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


def psum(x, axis_name):
    """Sum of ``x`` over the members of the ``vmap`` axis ``axis_name`` (a name or a tuple)."""
    return psum_p.bind(x, axes=_names(axis_name))


def pmax(x, axis_name):
    """Maximum of ``x`` over the members of the ``vmap`` axis ``axis_name``."""
    return pmax_p.bind(x, axes=_names(axis_name))


def pmin(x, axis_name):
    """Minimum of ``x`` over the members of the ``vmap`` axis ``axis_name``."""
    return pmin_p.bind(x, axes=_names(axis_name))


def _axis_index_batch(interp, args, params):
    if interp.axis_name != params["axis_name"]:
        return _at_parent(interp, interp.parent.process, axis_index_p, args, params)
    index = _at_parent(interp, arange, 0, interp.axis_size, 1, np.int32)
    return interp.lift(index, 0)


axis_index_p = Primitive("axis_index", _unbound("axis_index", "lax.axis_index"), weak="never")
axis_index_p.abstract = lambda *, axis_name: ShapedArray((), np.int32)
axis_index_p.rules["batch"] = _axis_index_batch
axis_index_p.rules["unfoldable"] = True


def axis_index(axis_name):
    """The position of the current member along the ``vmap`` axis ``axis_name`` (int32)."""
    return axis_index_p.bind(axis_name=axis_name)
