"""Batching (``vmap``): an interpreter that carries a batch axis through every primitive.

A ``BatchTracer`` holds a value of the parent level whose axis ``bdim`` is the batch axis; user
code sees the per-example shape (the value's shape without that axis). Values that are not
batched are never tracers of this interpreter: they are the parent's values and operations on
them go straight to the parent.

Binding a primitive with a batched operand calls its rule ``prim.batch(values, bdims, **params)
-> (out, out_bdim)`` (lists for several results) with the parent level current, so a rule is
written with pullback's own operations, and ``vmap`` composes with ``grad``, ``jit`` and itself.
Higher-order primitives (``jit``, ``cond``, ``scan``, ``while``, ``custom_vjp_call``,
``pure_callback``, the collectives) keep their rule in ``prim.rules["batch"](interp, args,
params)``, called with this interpreter current.

``batch_fun`` batches a Python callable of flat values, which is how those rules batch bodies.
"""

from __future__ import annotations

from pullback import _dtypes
from pullback._core import Array, Interpreter, Tracer, concretization_error, state, to_raw
from pullback._ops._base import batch_at, bind_here, weak_of

__all__ = ["BatchInterp", "BatchTracer", "batch_fun", "batch_call"]


class BatchTracer(Tracer):
    """A batched value: ``_value`` (parent level) with the batch axis at ``_bdim``."""

    __slots__ = ("_bdim",)

    def __init__(self, value, bdim, weak, interp):
        self._value = value
        self._bdim = bdim
        self._weak = weak
        self._interp = interp

    @property
    def shape(self):
        s, b = self._value.shape, self._bdim
        return s[:b] + s[b + 1 :]

    @property
    def ndim(self):
        return len(self._value.shape) - 1

    @property
    def size(self):
        n = 1
        for k in self.shape:
            n *= k
        return n

    def _concrete_value(self):
        return None

    def _concretization_error(self, what):
        return concretization_error(what, self.aval, "a function transformed by vmap")

    def __repr__(self):
        batched = _dtypes.type_str(self._value.shape, self._value.dtype)
        return f"VmapTracer(aval={self.aval.str_short()}, batched={batched})"


class BatchInterp(Interpreter):
    """Batches along an axis of ``axis_size`` named ``axis_name`` (or None)."""

    __slots__ = ("axis_size", "axis_name")

    def __init__(self, parent, axis_size, axis_name=None):
        super().__init__(parent)
        self.axis_size = axis_size
        self.axis_name = axis_name

    def __repr__(self):
        name = f", axis_name={self.axis_name!r}" if self.axis_name is not None else ""
        return f"BatchInterp(axis_size={self.axis_size}{name})"

    # -- the API that rules of higher-order primitives use ----------------------------------
    def own(self, x):
        return type(x) is BatchTracer and x._interp is self

    def value(self, x):
        """``x`` at the parent level (with its batch axis at ``bdim(x)``)."""
        return x._value if type(x) is BatchTracer and x._interp is self else x

    def bdim(self, x):
        return x._bdim if type(x) is BatchTracer and x._interp is self else None

    def lift(self, value, bdim):
        """A value of this level: ``value`` itself when it has no batch axis."""
        if bdim is None:
            return value
        return BatchTracer(value, bdim, weak_of(value), self)

    def at_front(self, x):
        """``x`` at the parent level with its batch axis at 0 (broadcast if it has none); call it
        with the parent level current."""
        return batch_at(self.value(x), self.bdim(x), self.axis_size)

    # -- processing ---------------------------------------------------------------------------
    def process(self, prim, args, params):
        rule = prim.rules.get("batch")
        if rule is not None:
            return rule(self, args, params)
        values, bdims = [], []
        own = False
        for a in args:
            if type(a) is BatchTracer and a._interp is self:
                values.append(a._value)
                bdims.append(a._bdim)
                own = True
            else:
                values.append(a)
                bdims.append(None)
        parent = self.parent
        saved = state.interp
        state.interp = parent
        try:
            if not own:
                return parent.process(prim, values, params)
            if prim.batch is None:
                raise NotImplementedError(
                    f"Batching rule for '{prim.name}' not implemented: vmap cannot batch the "
                    f"primitive {prim.name}. Declare prim.batch next to the primitive in "
                    f"pullback/_ops (or rules['batch'] for a higher-order primitive)."
                )
            out, out_bdim = prim.batch(values, bdims, **params)
        finally:
            state.interp = saved
        if prim.multiple_results:
            return [self.lift(o, d) for o, d in zip(out, out_bdim, strict=True)]
        return self.lift(out, out_bdim)

    def process1(self, prim, x):
        if type(x) is BatchTracer and x._interp is self:
            saved = state.interp
            state.interp = self.parent
            try:
                out = self.parent.process1(prim, x._value)
            finally:
                state.interp = saved
            return BatchTracer(out, x._bdim, weak_of(out), self)
        return self._forward2(prim, (x,))

    def process2(self, prim, x, y):
        if (type(x) is BatchTracer and x._interp is self) or (
            type(y) is BatchTracer and y._interp is self
        ):
            return self.process(prim, (x, y), {})
        return self._forward2(prim, (x, y))

    def _forward2(self, prim, args):
        """An operation on values this level does not own, at the parent level (through its
        one- and two-operand entry points, which type Python scalars as their neighbours)."""
        saved = state.interp
        state.interp = self.parent
        try:
            return bind_here(prim, args, {})
        finally:
            state.interp = saved


def batch_call(fun, args, in_dims, axis_size, axis_name=None):
    """Run ``fun`` (flat values in, flat list out) on ``args`` (parent-level values batched at
    ``in_dims``). Returns ``(outputs, out_dims)`` at the parent level, ``None`` for an output
    without a batch axis."""
    parent = state.interp
    interp = BatchInterp(parent, axis_size, axis_name)
    tracers = [interp.lift(a, d) for a, d in zip(args, in_dims, strict=True)]
    state.interp = interp
    try:
        outs = fun(*tracers)
    finally:
        state.interp = parent
        interp.active = False
    values, dims = [], []
    for o in outs:
        if type(o) is BatchTracer and o._interp is interp:
            values.append(o._value)
            dims.append(o._bdim)
        else:
            values.append(o if isinstance(o, Array) else Array(*to_raw(o)))
            dims.append(None)
    return values, dims


def batch_fun(fun, in_dims, axis_size, axis_name=None):
    """``fun`` (a function of flat values returning a flat list) batched: the returned function
    takes parent-level values batched at ``in_dims`` (``None``: not batched) and returns its
    outputs with the batch axis at 0 (unbatched outputs broadcast).

    >>> import pullback.numpy as jnp
    >>> f = batch_fun(lambda x, y: [x * y, y], [0, None], 3)
    >>> f(jnp.arange(3.0), jnp.float32(2.0))
    [Array([0., 2., 4.], dtype=float32), Array([2., 2., 2.], dtype=float32)]
    """

    def batched(*args):
        values, dims = batch_call(fun, args, in_dims, axis_size, axis_name)
        return [batch_at(v, d, axis_size) for v, d in zip(values, dims, strict=True)]

    return batched
