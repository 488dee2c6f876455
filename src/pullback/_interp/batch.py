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
from pullback._core import (
    EVAL,
    RAW,
    Array,
    Interpreter,
    Tracer,
    concretization_error,
    out_weak,
    state,
    to_raw,
)
from pullback._ops._base import (
    Broadcasting,
    SameBdim,
    batch_at,
    bind_here,
    lined_up,
    weak_of,
)

_PY_SCALARS = (int, float, complex, bool)

__all__ = ["BatchInterp", "BatchTracer", "batch_fun", "batch_call"]


class BatchTracer(Tracer):
    """A batched value: ``_value`` (a parent-level value, or a bare ndarray when the interpreter
    is ``raw``) with the batch axis at ``_bdim``."""

    __slots__ = ("_bdim",)

    def __init__(self, value, weak, interp, bdim):
        self._value = value
        self._weak = weak
        self._interp = interp
        self._bdim = bdim

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
    """Batches along an axis of ``axis_size`` named ``axis_name`` (or None).

    As in reverse mode, when the parent is ``EVAL`` (``raw``) tracers keep bare ndarrays and
    first-order batch rules run under ``RAW``, straight on NumPy; the weak-type flag of a result
    follows the primitive's declaration (``out_weak``). Rules of higher-order primitives still
    see the parent level's ``Array``s through ``value`` and ``lift``.
    """

    __slots__ = ("axis_size", "axis_name", "raw", "base", "adopts")

    def __init__(self, parent, axis_size, axis_name=None, adopts=None):
        super().__init__(parent)
        self.axis_size = axis_size
        self.axis_name = axis_name
        self.raw = parent is EVAL
        self.base = RAW if self.raw else parent  # the level first-order batch rules run at
        # the vmap this one continues, whose tracers it takes as its own: a custom rule's
        # function, batched one level down, may close over values of the vmap that batches it
        self.adopts = adopts

    def __repr__(self):
        name = f", axis_name={self.axis_name!r}" if self.axis_name is not None else ""
        return f"BatchInterp(axis_size={self.axis_size}{name})"

    # -- the API that rules of higher-order primitives use ----------------------------------
    def own(self, x):
        return type(x) is BatchTracer and x._interp is self

    def value(self, x):
        """``x`` at the parent level (with its batch axis at ``bdim(x)``)."""
        if type(x) is BatchTracer and x._interp is self:
            return Array(x._value, x._weak) if self.raw else x._value
        return x

    def bdim(self, x):
        return x._bdim if type(x) is BatchTracer and x._interp is self else None

    def lift(self, value, bdim):
        """A value of this level from a parent-level value: ``value`` itself when it has no
        batch axis."""
        if bdim is None:
            return value
        if self.raw:
            return BatchTracer(*to_raw(value), self, bdim)
        return BatchTracer(value, weak_of(value), self, bdim)

    def at_front(self, x):
        """``x`` at the parent level with its batch axis at 0 (broadcast if it has none); call it
        with the parent level current."""
        return batch_at(self.value(x), self.bdim(x), self.axis_size)

    def adopted(self, x):
        """``x``, a tracer of ``adopts`` (or of what it adopts in turn: a rule's function batched
        inside a batched rule), as one of this interpreter's; anything else as is."""
        if not _foreign(x, self):
            return x
        owner = self.adopts
        while owner is not None and x._interp is not owner:
            owner = owner.adopts
        if owner is None:
            return x
        value = x._value
        if self.raw and not x._interp.raw:
            value = to_raw(value)[0]  # a tracer of a level below: the escape error names it
        elif x._interp.raw and not self.raw:
            value = Array(value, x._weak)
        return BatchTracer(value, x._weak, self, x._bdim)

    # -- processing ---------------------------------------------------------------------------
    def process(self, prim, args, params):
        if self.adopts is not None and any(_foreign(a, self) for a in args):
            args = [self.adopted(a) for a in args]
        rule = prim.rules.get("batch")
        if rule is not None:
            return rule(self, args, params)
        raw = self.raw
        values, bdims, weaks = [], [], []
        own = False
        for a in args:
            if type(a) is BatchTracer and a._interp is self:
                values.append(a._value)
                bdims.append(a._bdim)
                weaks.append(a._weak)
                own = True
            else:
                weaks.append(weak_of(a))
                values.append(a if not raw or type(a) in _PY_SCALARS else to_raw(a)[0])
                bdims.append(None)
        if not own:
            return self._forward(prim, args, params)
        batch = prim.batch
        if raw and type(batch) is SameBdim and not prim.rules:
            weak = out_weak(prim.weak, weaks, params)
            return BatchTracer(prim.impl(values[0], **params), weak, self, bdims[0])
        if batch is None:
            raise NotImplementedError(
                f"Batching rule for '{prim.name}' not implemented: vmap cannot batch the "
                f"primitive {prim.name}. Declare prim.batch next to the primitive in "
                f"pullback/_ops (or rules['batch'] for a higher-order primitive)."
            )
        saved = state.interp
        state.interp = self.base
        try:
            out, out_bdim = batch(values, bdims, **params)
        finally:
            state.interp = saved
        if not raw:
            if prim.multiple_results:
                return [self.lift(o, d) for o, d in zip(out, out_bdim, strict=True)]
            return self.lift(out, out_bdim)
        weak = out_weak(prim.weak, weaks, params)
        if prim.multiple_results:
            return [self._from_raw(o, d, weak) for o, d in zip(out, out_bdim, strict=True)]
        return self._from_raw(out, out_bdim, weak)

    def _from_raw(self, value, bdim, weak):
        """A raw result of a batch rule as a value of this level."""
        if bdim is None:
            return Array(value, weak)
        return BatchTracer(value, weak, self, bdim)

    def process1(self, prim, x):
        if self.adopts is not None and _foreign(x, self):
            x = self.adopted(x)
        if type(x) is BatchTracer and x._interp is self:
            if self.raw and not prim.rules:
                w = x._weak if prim.weak == "all" else out_weak(prim.weak, (x._weak,), {})
                return BatchTracer(prim.impl(x._value), w, self, x._bdim)
            out = self._forward(prim, (x._value,), {})
            return BatchTracer(out, weak_of(out), self, x._bdim)
        return self._forward(prim, (x,), {})

    def process2(self, prim, x, y):
        if self.adopts is not None and (_foreign(x, self) or _foreign(y, self)):
            x, y = self.adopted(x), self.adopted(y)
        ox = type(x) is BatchTracer and x._interp is self
        oy = type(y) is BatchTracer and y._interp is self
        if not (ox or oy):
            return self._forward(prim, (x, y), {})
        if type(prim.batch) is Broadcasting:
            vx = x._value if ox else x
            vy = y._value if oy else y
            d = lined_up(vx, x._bdim if ox else None, vy, y._bdim if oy else None)
            if d is not None:  # nothing to move: the primitive itself, one level down
                if not self.raw:
                    out = self._forward(prim, (vx, vy), {})
                    return BatchTracer(out, weak_of(out), self, d)
                if not prim.rules:
                    rx, ry = _raw_operand(x, ox), _raw_operand(y, oy)
                    if rx is not None and ry is not None:
                        (vx, wx), (vy, wy) = rx, ry
                        w = wx and wy if prim.weak == "all" else out_weak(prim.weak, (wx, wy), {})
                        return BatchTracer(prim.impl(vx, vy), w, self, d)
        return self.process(prim, (x, y), {})

    def _forward(self, prim, args, params):
        """An operation at the parent level (through its one- and two-operand entry points,
        which type Python scalars as their neighbours)."""
        saved = state.interp
        state.interp = self.parent
        try:
            return bind_here(prim, args, params)
        finally:
            state.interp = saved


def _foreign(x, interp):
    """Whether ``x`` is a tracer of another vmap (one ``interp`` may adopt)."""
    return type(x) is BatchTracer and x._interp is not interp


def _raw_operand(a, own):
    """``(raw value, weak flag)`` of an operand in raw batching (``own``: a tracer of the
    interpreter); ``None`` for a tracer that escaped its transformation (the general path names
    it)."""
    if own or type(a) is Array:
        return a._value, a._weak
    if isinstance(a, Tracer):
        return None
    return a, weak_of(a)


def batch_call(fun, args, in_dims, axis_size, axis_name=None, adopts=None):
    """Run ``fun`` (flat values in, flat list out) on ``args`` (parent-level values batched at
    ``in_dims``). Returns ``(outputs, out_dims)`` at the parent level, ``None`` for an output
    without a batch axis. ``adopts``: the ``BatchInterp`` of the same axis whose tracers ``fun``
    may close over (see ``BatchInterp.adopts``)."""
    parent = state.interp
    interp = BatchInterp(parent, axis_size, axis_name, adopts)
    tracers = [interp.lift(a, d) for a, d in zip(args, in_dims, strict=True)]
    state.interp = interp
    try:
        outs = fun(*tracers)
    finally:
        state.interp = parent
        interp.active = False
    values, dims = [], []
    for o in outs:
        if adopts is not None:
            o = interp.adopted(o)
        if type(o) is BatchTracer and o._interp is interp:
            values.append(interp.value(o))
            dims.append(o._bdim)
        else:
            values.append(o if isinstance(o, Array) else Array(*to_raw(o)))
            dims.append(None)
    return values, dims


def batch_fun(fun, in_dims, axis_size, axis_name=None, adopts=None):
    """``fun`` (a function of flat values returning a flat list) batched: the returned function
    takes parent-level values batched at ``in_dims`` (``None``: not batched) and returns its
    outputs with the batch axis at 0 (unbatched outputs broadcast).

    >>> import pullback.numpy as jnp
    >>> f = batch_fun(lambda x, y: [x * y, y], [0, None], 3)
    >>> f(jnp.arange(3.0), jnp.float32(2.0))
    [Array([0., 2., 4.], dtype=float32), Array([2., 2., 2.], dtype=float32)]
    """

    def batched(*args):
        values, dims = batch_call(fun, args, in_dims, axis_size, axis_name, adopts)
        return [batch_at(v, d, axis_size) for v, d in zip(values, dims, strict=True)]

    return batched
