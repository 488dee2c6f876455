"""Forward mode: an interpreter that pushes tangents along with primal values.

A ``JVPTracer`` holds a primal value and a tangent, both of the parent level. A value whose
tangent is zero is never a tracer of this interpreter (a *symbolic zero*): an operation none of
whose operands is an own tracer is handed to the parent as it is, and rules receive ``None`` for
zero tangents.

``prim.jvp`` is either an ``_ops._base.Elementwise`` (the unary/binary families: per-operand
rules, which are the VJP rules, since an elementwise derivative is diagonal) or a callable
``jvp(tangents, ans, *args, **params)`` returning the output tangent (a list for several
results; ``None`` for zero). Primitives declared with VJP rules only get a derived ``jvp`` the
first time forward mode meets them, from the deriver that ``_hop.forward`` installs (it needs
transposition, a higher layer: see ``set_jvp_deriver``).

When the parent is ``EVAL`` primals and tangents are kept as bare ndarrays and rules run under
``RAW``, as the reverse-mode interpreter does. ``tangent_level`` may name another interpreter for
the tangent computations: ``linearize`` stages them while primals are computed eagerly.
"""

from __future__ import annotations

import numpy as np

from pullback import _dtypes
from pullback._core import EVAL, RAW, Array, Interpreter, Tracer, out_weak, state, to_raw
from pullback._ops._base import Elementwise, convert_element_type, weak_of
from pullback._ops.elementwise import add_p, div_p, mul_p, sub_p
from pullback._ops.structural import broadcast_to

__all__ = ["JVPInterp", "JVPTracer", "zeros_like_tangent", "set_jvp_deriver", "jvp_rule"]

_SCALARS = frozenset({int, float, complex})


class JVPTracer(Tracer):
    __slots__ = ("_tangent",)

    def __init__(self, value, weak, interp, tangent):
        self._value = value
        self._weak = weak
        self._interp = interp
        self._tangent = tangent


_DERIVER = []


def set_jvp_deriver(derive):
    """Install ``derive(prim) -> jvp``, which builds the JVP of a primitive that only declares
    VJP rules (by applying a ``Linear`` primitive to tangents, or by transposing a VJP rule)."""
    _DERIVER[:] = [derive]


def jvp_rule(prim):
    """``prim``'s JVP, derived on first use; ``None`` for a non-differentiable primitive."""
    jvp = prim.jvp
    if jvp is None and prim.vjp is not None:
        jvp = prim.jvp = _DERIVER[0](prim)
    return jvp


def _scalar_operator(name, prim, reflected):
    """``tracer OP python_scalar`` without the generic dispatch (as ``VJPTracer``'s operators):
    nothing to promote, NEP 50 keeps the tracer's dtype. With raw values the rules of these four
    primitives are plain NumPy on a tangent and a Python scalar (no broadcasting, so their
    ``unbroadcast`` returns at once): they run as they are, without switching to ``RAW``."""
    impl = prim.impl
    rule = prim.jvp.rules[1 if reflected else 0]
    passes = prim is add_p or (prim is sub_p and not reflected)  # the tangent goes through

    def operator(self, other):
        interp = self._interp
        if (type(other) is float or type(other) is int) and state.interp is interp and interp.raw:
            v = self._value
            t = self._tangent
            if interp.tbase is RAW:
                if reflected:
                    out = impl(other, v)
                    t = t if passes else rule(t, out, other, v)
                else:
                    out = impl(v, other)
                    t = t if passes else rule(t, out, v, other)
                return JVPTracer(out, self._weak, interp, t)
        return Array.__dict__[name](self, other)

    operator.__name__ = name
    return operator


for _prim, _op in ((add_p, "add"), (sub_p, "sub"), (mul_p, "mul"), (div_p, "truediv")):
    setattr(JVPTracer, f"__{_op}__", _scalar_operator(f"__{_op}__", _prim, False))
    setattr(JVPTracer, f"__r{_op}__", _scalar_operator(f"__r{_op}__", _prim, True))


class JVPInterp(Interpreter):
    """Forward mode over ``parent``; tangent rules run at ``tangent_level`` (the parent's level
    by default)."""

    __slots__ = ("raw", "tbase")

    def __init__(self, parent, tangent_level=None):
        self.parent = parent
        self.active = True
        self.raw = parent is EVAL
        if tangent_level is not None:
            self.tbase = tangent_level
        else:
            self.tbase = RAW if self.raw else parent

    def __repr__(self):
        return "JVPInterp()"

    # -- the API that rules of higher-order primitives use ----------------------------------
    def own(self, x):
        return type(x) is JVPTracer and x._interp is self

    def primal(self, x):
        """``x``'s primal at the parent level (an ``Array`` when the parent is ``EVAL``)."""
        if type(x) is JVPTracer and x._interp is self:
            return Array(x._value, x._weak) if self.raw else x._value
        if isinstance(x, Tracer) and self.raw:
            raise x._escaped_error()
        if type(x) is np.ndarray or isinstance(x, np.generic):
            return Array(*to_raw(x))
        return x

    def tangent(self, x):
        """``x``'s tangent at the tangent level, or ``None`` when it is zero."""
        if type(x) is JVPTracer and x._interp is self:
            t = x._tangent
            return Array(t, x._weak) if self.tbase is RAW else t
        return None

    def lift(self, primal, tangent):
        """A tracer of ``primal`` with ``tangent`` (parent-level values), or ``primal`` itself
        when ``tangent`` is None (or the primal is not inexact)."""
        if tangent is None:
            return primal
        if self.raw:
            value, weak = (
                (primal._value, primal._weak) if isinstance(primal, Array) else to_raw(primal)
            )
        else:
            value, weak = primal, weak_of(primal)
        if np.dtype(value.dtype).kind not in "fc":
            return primal
        if self.tbase is RAW:
            tangent = tangent._value if isinstance(tangent, Array) else to_raw(tangent)[0]
        return JVPTracer(value, weak, self, tangent)

    def _value_of(self, x):
        """An operand as the parent level computes on it (raw when the parent is ``EVAL``)."""
        if type(x) is JVPTracer and x._interp is self:
            return x._value
        if self.raw:
            t = type(x)
            if t in _SCALARS or t is bool:
                return x
            if isinstance(x, Tracer):
                raise x._escaped_error()
            return to_raw(x)[0]
        return x

    # -- processing ---------------------------------------------------------------------------
    def process1(self, prim, x):
        if type(x) is JVPTracer and x._interp is self:
            jvp = prim.jvp
            if type(jvp) is Elementwise:
                v = x._value
                out = prim.impl(v) if self.raw else self.parent.process1(prim, v)
                saved = state.interp
                state.interp = self.tbase
                try:
                    t = jvp.rules[0](x._tangent, out, v)
                finally:
                    state.interp = saved
                return self._out(out, x._weak, t)
        return self.process(prim, (x,), {})

    def process2(self, prim, x, y):
        ox = type(x) is JVPTracer and x._interp is self
        oy = type(y) is JVPTracer and y._interp is self
        if not (ox or oy):
            return self._forward(prim, (x, y), {})
        jvp = prim.jvp
        if type(jvp) is not Elementwise:
            return self.process(prim, (x, y), {})
        vx = self._value_of(x)
        vy = self._value_of(y)
        weak = (x._weak if ox else weak_of(x)) and (y._weak if oy else weak_of(y))
        out = prim.impl(vx, vy) if self.raw else self.parent.process2(prim, vx, vy)
        saved = state.interp
        state.interp = self.tbase
        try:
            t = _elementwise_tangent(
                jvp.rules, (x._tangent if ox else None, y._tangent if oy else None), out, [vx, vy]
            )
        finally:
            state.interp = saved
        return self._out(out, weak, t)

    def process(self, prim, args, params):
        rule = prim.rules.get("jvp")
        if rule is not None:  # a higher-order primitive: its rule runs with this level current
            saved = state.interp
            state.interp = self
            try:
                return rule(self, args, params)
            finally:
                state.interp = saved
        tangents = []
        own = False
        for x in args:
            if type(x) is JVPTracer and x._interp is self:
                tangents.append(x._tangent)
                own = True
            else:
                tangents.append(None)
        jvp = jvp_rule(prim) if own else None
        if jvp is None:
            return self._forward(prim, args, params)
        vals = [self._value_of(x) for x in args]
        weaks = [x._weak if type(x) is JVPTracer else weak_of(x) for x in args]
        out = prim.impl(*vals, **params) if self.raw else self.parent.process(prim, vals, params)
        weak = out_weak(prim.weak, weaks, params)
        saved = state.interp
        state.interp = self.tbase
        try:
            if type(jvp) is Elementwise:
                t = _elementwise_tangent(jvp.rules, tangents, out, vals)
            else:
                t = jvp(tangents, out, *vals, **params)
        finally:
            state.interp = saved
        if prim.multiple_results:
            ts = t if t is not None else [None] * len(out)
            return [self._out(o, weak, tk) for o, tk in zip(out, ts, strict=True)]
        return self._out(out, weak, t)

    def _out(self, out, weak, t):
        dtype = out.dtype
        if t is None or dtype.kind not in "fc":
            return Array(out, weak) if self.raw else out
        if t.dtype != dtype:  # e.g. a rule's float64 constant beside a float32 tangent
            saved = state.interp
            state.interp = self.tbase
            try:
                t = _convert(t, dtype)
            finally:
                state.interp = saved
        return JVPTracer(out, weak, self, t)

    def _forward(self, prim, args, params):
        """``prim`` on values whose tangents do not matter (none, or a primitive without a
        derivative): the parent's business, on the primals."""
        if not self.raw:
            return self.parent.process(prim, [self._value_of(x) for x in args], params)
        # EVAL derives the result's weak type from its operands' (and rejects escaped tracers)
        vals = [Array(x._value, x._weak) if self.own(x) else x for x in args]
        return EVAL.process(prim, vals, params)


def _convert(t, dtype):
    return t.astype(dtype) if state.interp is RAW else convert_element_type(t, dtype, weak_of(t))


def _elementwise_tangent(rules, tangents, out, vals):
    """The sum of the per-operand terms ``rule_k(t_k, ans, *args)``, with a tangent (and its
    operand) broadcast to the output's shape first, so that the VJP rule sums nothing back."""
    total = None
    shape = out.shape
    for k, t in enumerate(tangents):
        if t is None:
            continue
        args = vals
        if t.shape != shape:
            t = broadcast_to(t, shape)
            args = list(vals)
            args[k] = broadcast_to(vals[k], shape)
        term = rules[k](t, out, *args)
        total = term if total is None else total + term
    return total


def zeros_like_tangent(x):
    """A zero tangent for the primal ``x`` at the current level: ``float0`` for integer and
    boolean primals, as JAX's."""
    aval = x.aval if isinstance(x, Array) else Array(*to_raw(x)).aval
    dtype = _dtypes.tangent_dtype(aval.dtype)
    zero = np.zeros(aval.shape, dtype)
    if state.interp is RAW:
        return zero
    return Array(zero, aval.weak_type and dtype != _dtypes.float0)
