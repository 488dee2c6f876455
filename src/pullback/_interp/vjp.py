"""Reverse mode: a tape in execution order with direct VJP rules.

A ``VJPInterp`` records an entry only when an input is one of its own tracers; every other value
is a constant. The tape is already in topological order, so the backward pass walks it in
reverse and accumulates cotangents; a missing cotangent is a zero and is never materialised.

Entries are ``(rule, inputs, data, n_out)``: ``rule(ct, *data)`` returns the cotangent of the
input at tape index ``inputs`` (an int), or a tuple aligned with ``inputs`` (a tuple, ``-1`` for
inputs that are constants). ``n_out > 0`` marks an operation with several outputs, whose tracers
occupy the next ``n_out`` tape slots and whose rule receives a tuple of cotangents.

When the parent interpreter is ``EVAL`` the primal values are kept as bare ndarrays and the
backward pass runs under ``RAW``, straight on NumPy; under an outer transformation the values are
that transformation's tracers and the backward pass runs under it, which is how ``grad(grad(f))``
works.
"""

from __future__ import annotations

import numpy as np

from pullback._core import EVAL, RAW, Array, Interpreter, Tracer, out_weak, state, to_raw
from pullback._ops._base import pass_x, pass_y, weak_of
from pullback._ops.elementwise import add_p, div_p, mul_p, sub_p

_SCALARS = frozenset({int, float, complex})


class VJPTracer(Tracer):
    __slots__ = ("_idx",)

    def __init__(self, value, weak, interp, idx):
        self._value = value
        self._weak = weak
        self._interp = interp
        self._idx = idx


def _scalar_operator(name, prim, reflected):
    """``tracer OP python_scalar``, recorded without the generic dispatch.

    The commonest operation of an eager gradient, and one with nothing to promote: NumPy keeps
    the tracer's float dtype against a Python scalar (NEP 50), as JAX's weak types do. Anything
    else goes to ``Array``'s operator.
    """
    impl = prim.impl
    rule = prim.vjp[1 if reflected else 0]
    passes = rule is (pass_y if reflected else pass_x)

    def operator(self, other):
        interp = self._interp
        # (a tracer's value is always float or complex: only inexact inputs are traced)
        if (type(other) is float or type(other) is int) and state.interp is interp and interp.raw:
            v = self._value
            out = impl(other, v) if reflected else impl(v, other)
            if passes:  # the cotangent reaches self unchanged: share its tape slot
                return VJPTracer(out, self._weak, interp, self._idx)
            tape = interp.tape
            tape.append((rule, self._idx, (out, other, v) if reflected else (out, v, other), 0))
            return VJPTracer(out, self._weak, interp, len(tape) - 1)
        return Array.__dict__[name](self, other)

    operator.__name__ = name
    return operator


for _prim, _op in ((add_p, "add"), (sub_p, "sub"), (mul_p, "mul"), (div_p, "truediv")):
    setattr(VJPTracer, f"__{_op}__", _scalar_operator(f"__{_op}__", _prim, False))
    setattr(VJPTracer, f"__r{_op}__", _scalar_operator(f"__r{_op}__", _prim, True))


class VJPInterp(Interpreter):
    __slots__ = ("tape", "base", "raw")

    def __init__(self, parent):
        self.parent = parent
        self.active = True
        self.tape = []
        self.raw = parent is EVAL
        # the level at which primal values are computed and the backward pass runs
        self.base = RAW if self.raw else parent

    def __repr__(self):
        return f"VJPInterp(depth={self.depth()})"

    def depth(self):
        d, p = 1, self.parent
        while isinstance(p, VJPInterp):
            d, p = d + 1, p.parent
        return d

    # -- the API that rules of higher-order primitives use ----------------------------------
    def own(self, x):
        return type(x) is VJPTracer and x._interp is self

    def primal(self, x):
        """The value of ``x`` at the base level (its primal for own tracers)."""
        if type(x) is VJPTracer and x._interp is self:
            return x._value
        if self.raw:
            if isinstance(x, Tracer):
                raise x._escaped_error()
            if type(x) in (int, float, complex, bool):
                return x
            return to_raw(x)[0]
        return x

    def new_input(self, value):
        """A tracer for a differentiated input given at the parent level."""
        if self.raw:
            raw, weak = (value._value, value._weak) if type(value) is Array else to_raw(value)
        else:
            raw, weak = value, weak_of(value)
        idx = len(self.tape)
        self.tape.append(None)
        return VJPTracer(raw, weak, self, idx)

    def record(self, rule, inputs, data, outs, weaks):
        """Append an entry for an operation with outputs ``outs`` (base-level values)."""
        tape = self.tape
        idx = len(tape)
        if len(outs) == 1:
            tape.append((rule, inputs, data, 0))
            return [VJPTracer(outs[0], weaks[0], self, idx)]
        tape.append((rule, inputs, data, len(outs)))
        tracers = []
        for o, w in zip(outs, weaks):
            tracers.append(VJPTracer(o, w, self, len(tape)))
            tape.append(None)
        return tracers

    def to_parent(self, x):
        """A value handed back to the parent level: own tracers give their primal."""
        if type(x) is VJPTracer and x._interp is self:
            return Array(x._value, x._weak) if self.raw else x._value
        return x

    # -- processing ---------------------------------------------------------------------------
    def process1(self, prim, x):
        if type(x) is VJPTracer and x._interp is self and prim.vjp is not None:
            v = x._value
            out = prim.impl(v) if self.raw else self.parent.process1(prim, v)
            tape = self.tape
            t = VJPTracer(out, x._weak, self, len(tape))
            tape.append((prim.vjp[0], x._idx, (out, v), 0))
            return t
        return self.process(prim, (x,), {})

    def process2(self, prim, x, y):
        ox = type(x) is VJPTracer and x._interp is self
        oy = type(y) is VJPTracer and y._interp is self
        if not (ox or oy) or prim.vjp is None:
            return self.process(prim, (x, y), {})
        if ox:
            vx = x._value
            weak = x._weak
        elif type(x) in _SCALARS:
            vx = x
            weak = True
        else:
            vx = self.primal(x)
            weak = weak_of(x)
        if oy:
            vy = y._value
            weak = weak and y._weak
        elif type(y) in _SCALARS:
            vy = y
        else:
            vy = self.primal(y)
            weak = weak and weak_of(y)
        out = prim.impl(vx, vy) if self.raw else self.parent.process2(prim, vx, vy)
        tape = self.tape
        if ox and oy:
            tape.append((_pair, (x._idx, y._idx), (prim.vjp, out, vx, vy), 0))
        elif ox:
            rule = prim.vjp[0]
            if rule is pass_x and (type(vy) in _SCALARS or vx.shape == out.shape):
                # the cotangent reaches x unchanged: the output shares x's tape slot
                return VJPTracer(out, weak, self, x._idx)
            tape.append((rule, x._idx, (out, vx, vy), 0))
        else:
            rule = prim.vjp[1]
            if rule is pass_y and (type(vx) in _SCALARS or vy.shape == out.shape):
                return VJPTracer(out, weak, self, y._idx)
            tape.append((rule, y._idx, (out, vx, vy), 0))
        return VJPTracer(out, weak, self, len(tape) - 1)

    def process(self, prim, args, params):
        rule = prim.rules.get("vjp")
        if rule is not None:
            return rule(self, args, params)
        if len(args) == 1 and prim.vjp is not None and not prim.multiple_results:
            x = args[0]
            if type(x) is VJPTracer and x._interp is self:  # one operand, e.g. reduce_sum
                v = x._value
                out = prim.impl(v, **params) if self.raw else self.parent.process(prim, [v], params)
                if out.dtype.kind not in "fc":  # an integer or boolean result has no cotangent
                    return self._lift(out, False)
                tape = self.tape
                tape.append((_with_params, x._idx, (prim.vjp[0], params, out, v), 0))
                return VJPTracer(out, out_weak(prim.weak, (x._weak,), params), self, len(tape) - 1)
        inputs, vals, weaks = [], [], []
        own = False
        for x in args:
            if type(x) is VJPTracer and x._interp is self:
                inputs.append(x._idx)
                vals.append(x._value)
                weaks.append(x._weak)
                own = True
            else:
                inputs.append(-1)
                vals.append(self.primal(x))
                weaks.append(weak_of(x))
        if not own:  # the arguments as given: two Python scalars stay weakly typed
            return self._constant(prim, args, params)
        if prim.vjp is None:
            return self._constant(prim, vals, params)
        inputs = tuple(inputs)
        out = prim.impl(*vals, **params) if self.raw else self.parent.process(prim, vals, params)
        weak = out_weak(prim.weak, weaks, params)
        if prim.multiple_results:
            outs = list(out)
            return self.record(
                _general, inputs, (prim, params, outs, vals, inputs), outs, [weak] * len(outs)
            )
        if out.dtype.kind not in "fc":  # an integer or boolean result has no cotangent
            return self._lift(out, False)
        tape = self.tape
        tape.append((_general, inputs, (prim, params, out, vals, inputs), 0))
        return VJPTracer(out, weak, self, len(tape) - 1)

    def _constant(self, prim, vals, params):
        """Apply ``prim`` to non-differentiated values and hand the result back as a constant."""
        level = EVAL if self.raw else self.parent
        if len(vals) == 2 and not params:
            # through the two-operand entry point, as the operation would have run there: a
            # Python scalar keeps its weak type (``process`` would make it a NumPy scalar,
            # and float32 * int32 scalars are float64 to NumPy)
            return level.process2(prim, vals[0], vals[1])
        return level.process(prim, vals, params)

    def _lift(self, out, weak):
        return Array(out, weak) if self.raw else out


def _with_params(ct, rule, params, ans, x):
    return rule(ct, ans, x, **params)


def _pair(ct, rules, ans, x, y):
    return rules[0](ct, ans, x, y), rules[1](ct, ans, x, y)


def _general(ct, prim, params, ans, vals, inputs):
    if type(ans) is list:
        if len(ans) == 1:  # ``record`` keeps one output's cotangent bare
            ct = (ct,)
        ct = tuple(zeros_like_value(a) if c is None else c for c, a in zip(ct, ans))
    rules = prim.vjp
    cts = []
    for k, i in enumerate(inputs):
        rule = rules[k]
        cts.append(rule(ct, ans, *vals, **params) if i >= 0 and rule is not None else None)
    return cts


def zeros_like_value(x):
    """A zero of ``x``'s shape and dtype, at the level that is current."""
    zero = np.zeros(x.shape, x.dtype)
    return zero if state.interp is RAW else Array(zero, weak_of(x))


def backward(interp, seeds, base=None):
    """Run the backward pass of ``interp``'s tape; ``seeds`` are ``(tape index, ct)`` pairs.
    ``base``: the level to run it at when not ``interp.base`` (cotangents traced by a
    transformation of the pullback itself).

    Returns the list of cotangents by tape index (``None`` where nothing arrived).
    """
    tape = interp.tape
    cts = [None] * len(tape)
    for idx, ct in seeds:
        old = cts[idx]
        cts[idx] = ct if old is None else old + ct
    saved = state.interp
    state.interp = interp.base if base is None else base
    try:
        for i in range(len(tape) - 1, -1, -1):
            entry = tape[i]
            if entry is None:
                continue
            rule, inputs, data, n_out = entry
            if n_out:
                ct = tuple(cts[i + 1 : i + 1 + n_out])
                if all(c is None for c in ct):
                    continue
            else:
                ct = cts[i]
                if ct is None:
                    continue
                cts[i] = None
            if type(inputs) is int:
                c = rule(ct, *data)
                if c is not None:
                    old = cts[inputs]
                    cts[inputs] = c if old is None else old + c
            else:
                for j, c in zip(inputs, rule(ct, *data), strict=True):
                    if j >= 0 and c is not None:
                        old = cts[j]
                        cts[j] = c if old is None else old + c
    finally:
        state.interp = saved
    return cts
