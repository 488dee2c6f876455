"""Staging: an interpreter that records primitives as equations of a jaxpr.

A ``StageInterp``'s tracers hold an abstract ``ShapedArray`` in ``_value``; binding a primitive
appends an equation whose output types come from ``abstract_eval``. Values it does not own —
Python scalars, arrays, and tracers of enclosing transformations — are constants: scalars become
literals, everything else a constant variable whose value is kept (``consts``), so a jaxpr closing
over an outer tracer hands that tracer back to the enclosing level as an ordinary argument.

``trace_to_jaxpr`` is the entry point of every staging transformation (``make_jaxpr``, ``jit``,
control-flow bodies, ``custom_vjp``'s ``fun``, ``closure_convert``, ``linear_transpose``).
"""

from __future__ import annotations

import numpy as np

from pullback._core import (
    Array,
    Interpreter,
    ShapedArray,
    Tracer,
    concretization_error,
    is_valid_leaf,
    state,
    to_raw,
)
from pullback._ir import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, abstract_eval, user_source
from pullback._ops._base import convert_element_type_p as _convert_p
from pullback.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_unflatten

__all__ = ["StageInterp", "StageTracer", "trace_to_jaxpr", "trace_flat", "hoist_tracers"]

_PY_SCALARS = (bool, int, float, complex)
_PY_NUMBERS = (int, float)
_PY_TYPE_OF_KIND = {"b": bool, "i": int, "u": int, "f": float, "c": complex}


def _weak_literal(x, other):
    """A Python scalar beside ``other`` as a literal of ``other``'s dtype. Beside a weak value
    it stays the Python scalar (printed as JAX prints it, ``0.1:f32[]``); beside a strong one it
    is converted, as JAX converts it."""
    dtype = other.dtype
    value = _PY_TYPE_OF_KIND[dtype.kind](x) if other._weak else dtype.type(x)
    return Literal(value, ShapedArray((), dtype, other._weak))


class StageTracer(Tracer):
    __slots__ = ("_var",)

    def __init__(self, var, interp):
        aval = var.aval
        self._value = aval
        self._weak = aval.weak_type
        self._interp = interp
        self._var = var

    def _concrete_value(self):
        return None

    def _concretization_error(self, what):
        return concretization_error(what, self._value, self._interp.context)


class StageInterp(Interpreter):
    """Records equations. ``context`` names what is traced, for error messages."""

    __slots__ = ("eqns", "invars", "constvars", "consts", "_const_ids", "context")

    def __init__(self, parent, context):
        super().__init__(parent)
        self.eqns = []
        self.invars = []
        self.constvars = []
        self.consts = []
        self._const_ids = {}
        self.context = context

    def __repr__(self):
        return f"StageInterp({self.context})"

    def new_input(self, aval):
        var = Var(aval)
        self.invars.append(var)
        return StageTracer(var, self)

    def atom(self, x):
        """The variable or literal standing for ``x`` in this jaxpr."""
        if type(x) is StageTracer and x._interp is self:
            return x._var
        t = type(x)
        if t is Literal:
            return x
        if t in _PY_SCALARS:
            raw, weak = to_raw(x)
            return Literal(x, ShapedArray((), raw.dtype, weak))
        if isinstance(x, Tracer):
            if not x._interp.active:
                raise x._escaped_error()
            return self._constvar(x, x, x.aval)
        if t is Array or t is np.ndarray or isinstance(x, np.generic):
            raw, weak = to_raw(x)  # canonical: a closed-over int64 array is int32 without x64
            if np.ndim(raw) == 0:
                value = raw[()] if isinstance(raw, np.ndarray) else raw
                if weak:  # a weak literal holds a Python scalar (``Literal``): readers see it weak
                    value = _PY_TYPE_OF_KIND[raw.dtype.kind](value)
                return Literal(value, ShapedArray((), raw.dtype, weak))
            value = x if t is Array else Array(raw, weak)
            return self._constvar(x, value, ShapedArray(raw.shape, raw.dtype, weak))
        raw, weak = to_raw(x)  # raises a TypeError naming the invalid value
        return self.atom(Array(raw, weak))

    def _constvar(self, x, value, aval):
        """The constant variable standing for the object ``x``, whose value is ``value``."""
        entry = self._const_ids.get(id(x))
        if entry is None:
            entry = self._const_ids[id(x)] = (Var(aval), x)  # x kept alive: ids stay unique
            self.constvars.append(entry[0])
            self.consts.append(value)
        return entry[0]

    def add_eqn(self, prim, invars, out_avals, params):
        outvars = [Var(a) for a in out_avals]
        source = (state.source or user_source()) if state.sources else None
        self.eqns.append(Eqn(prim, invars, outvars, params, source))
        tracers = [StageTracer(v, self) for v in outvars]
        return tracers if prim.multiple_results else tracers[0]

    def process(self, prim, args, params):
        rule = prim.rules.get("stage")
        if rule is not None:
            return rule(self, args, params)
        invars = [self.atom(a) for a in args]
        values = [v.value if type(v) is Literal else None for v in invars]
        out_avals = abstract_eval(prim, [v.aval for v in invars], params, values)
        return self.add_eqn(prim, invars, out_avals, params)

    def process1(self, prim, x):
        return self.process(prim, (x,), {})

    def process2(self, prim, x, y):
        # A Python scalar beside an array takes the array's dtype, as JAX's weak typing does
        # (NumPy computes the same with the Python scalar: NEP 50).
        if type(y) in _PY_NUMBERS and isinstance(x, Array):
            y = _weak_literal(y, x)
        elif type(x) in _PY_NUMBERS and isinstance(y, Array):
            x = _weak_literal(x, y)
        elif isinstance(x, Array) and isinstance(y, Array) and x._weak != y._weak:
            # JAX makes the weak operand strong explicitly; eager code skips that no-op
            if x._weak:
                x = self.process(_convert_p, (x,), {"new_dtype": x.dtype, "weak_type": False})
            else:
                y = self.process(_convert_p, (y,), {"new_dtype": y.dtype, "weak_type": False})
        return self.process(prim, (x, y), {})

    def to_jaxpr(self, outs):
        outvars = [self.atom(o) for o in outs]
        jaxpr = Jaxpr(self.constvars, self.invars, outvars, self.eqns)
        return ClosedJaxpr(jaxpr, self.consts)


def trace_flat(fun, in_avals, context):
    """Trace ``fun(*tracers)`` (flat inputs and outputs) into a ``ClosedJaxpr``.

    ``fun`` returns a list of output values. The consts of the result may be tracers of the
    enclosing transformations: callers bind them as extra arguments.
    """
    interp = StageInterp(state.interp, context)
    tracers = [interp.new_input(a) for a in in_avals]
    saved = state.interp
    state.interp = interp
    try:
        outs = fun(*tracers)
        closed = interp.to_jaxpr(outs)
    finally:
        state.interp = saved
        interp.active = False
    return closed


def trace_to_jaxpr(fun, args, context, what="output"):
    """Trace ``fun`` on the avals of the pytree ``args`` (a tuple of positional arguments).

    Returns ``(closed_jaxpr, out_tree)``.
    """
    leaves, in_tree = tree_flatten(args)
    out_tree = []

    def flat(*tracers):
        out = fun(*tree_unflatten(in_tree, tracers))
        out_leaves, tree = tree_flatten(out)
        for leaf in out_leaves:
            if not is_valid_leaf(leaf):
                bad = next(p for p, v in tree_flatten_with_path(out)[0] if v is leaf)
                raise TypeError(
                    f"{context} returned {leaf!r} of type {type(leaf)} at "
                    f"{what}{keystr(bad)}, which is not a valid JAX type; traced functions must "
                    f"return arrays or pytrees of arrays."
                )
        out_tree.append(tree)
        return out_leaves

    closed = trace_flat(flat, [aval_of_leaf(x) for x in leaves], context)
    return closed, out_tree[0]


def aval_of_leaf(x):
    """The aval a traced argument gets: shape, dtype and weak type of the value."""
    if isinstance(x, Array):
        return x.aval
    if isinstance(x, ShapedArray):
        return x
    shape, dtype = getattr(x, "shape", None), getattr(x, "dtype", None)
    if shape is not None and dtype is not None and not isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(shape, dtype, getattr(x, "weak_type", False))  # ShapeDtypeStruct
    raw, weak = to_raw(x)
    return ShapedArray(np.shape(raw), raw.dtype, weak)


def hoist_tracers(closed, select=lambda c: isinstance(c, Tracer), trailing=False):
    """Move the constants ``select`` picks (by default: tracers of enclosing transformations) to
    inputs, leading or ``trailing``.

    Returns ``(closed', moved)``: ``closed'`` takes ``(*moved, *inputs)`` (or
    ``(*inputs, *moved)``); its remaining constants are concrete values baked into the program."""
    jaxpr = closed.jaxpr
    moved, kept = [], []
    for v, c in zip(jaxpr.constvars, closed.consts, strict=True):
        (moved if select(c) else kept).append((v, c))
    if not moved:
        return closed, []
    moved_vars = [v for v, _ in moved]
    invars = jaxpr.invars + moved_vars if trailing else moved_vars + jaxpr.invars
    new = Jaxpr([v for v, _ in kept], invars, jaxpr.outvars, jaxpr.eqns)
    return ClosedJaxpr(new, [c for _, c in kept]), [c for _, c in moved]
