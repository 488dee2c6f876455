"""The IR: variables, literals, equations and jaxprs, printed in JAX's jaxpr syntax.

A ``Jaxpr`` is a list of equations in order of execution. An equation applies a ``Primitive`` to
variables and literals with static parameters; parameters may hold sub-jaxprs (``ClosedJaxpr``),
which is how ``jit``, ``custom_vjp_call``, ``cond`` and ``scan`` carry their bodies. The staging
interpreter builds jaxprs, ``eval_jaxpr`` replays one through whatever interpreter is current (so
every transformation applies to staged code), ``check_jaxpr`` validates types, and the compiler
(``_compile``) turns one into Python source calling the primitives' implementations.
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np

from pullback import _dtypes
from pullback._core import Primitive, ShapedArray, out_weak, state

__all__ = [
    "Var",
    "Literal",
    "Eqn",
    "Jaxpr",
    "ClosedJaxpr",
    "abstract_eval",
    "eval_jaxpr",
    "dce",
    "check_jaxpr",
    "JaxprTypeError",
]


class JaxprTypeError(TypeError):
    """A jaxpr whose types do not check (a bug in a transformation, never a user error)."""

    __module__ = "pullback.errors"


class Var:
    """A variable of a jaxpr: defined once (an input or an equation's output), used after."""

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Var({self.aval.str_short()})"


class Literal:
    """A scalar constant written into an equation. ``value`` is the raw value given (a Python
    scalar for weak literals, a NumPy scalar otherwise), so compiled code calls NumPy with it."""

    __slots__ = ("value", "aval")

    def __init__(self, value, aval):
        self.value = value
        self.aval = aval

    def __repr__(self):
        return f"Literal({self.value!r})"


class Eqn:
    """``outvars = prim[params] invars``. ``source_info`` (a ``SourceInfo``) says which line of
    user code staged it, when sources are recorded."""

    __slots__ = ("prim", "invars", "outvars", "params", "source_info")

    def __init__(self, prim, invars, outvars, params, source_info=None):
        self.prim = prim
        self.invars = invars
        self.outvars = outvars
        self.params = params
        self.source_info = source_info


class SourceInfo:
    """Where user code staged an equation: ``summary`` is ``file:line:column (function)``, as
    JAX summarises it; ``order`` counts the equations staged from user code, so what derives
    from one operation (its derivative's equations) sorts with it."""

    __slots__ = ("summary", "order")

    def __init__(self, summary, order):
        self.summary = summary
        self.order = order

    def __str__(self):
        return self.summary

    __repr__ = __str__


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_SOURCE_ORDER = itertools.count()


def user_source():
    """The ``SourceInfo`` of the innermost frame outside pullback."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return None
    code = frame.f_code
    line, _, column, _ = next(itertools.islice(code.co_positions(), frame.f_lasti // 2, None))
    where = f"{code.co_filename}:{line}:{column} ({code.co_qualname})"
    return SourceInfo(where, next(_SOURCE_ORDER))


class Jaxpr:
    """``{ lambda constvars ; invars. let eqns in (outvars) }``."""

    __slots__ = ("constvars", "invars", "outvars", "eqns")

    def __init__(self, constvars, invars, outvars, eqns):
        self.constvars = list(constvars)
        self.invars = list(invars)
        self.outvars = list(outvars)
        self.eqns = list(eqns)

    @property
    def in_avals(self):
        return [v.aval for v in self.invars]

    @property
    def out_avals(self):
        return [v.aval for v in self.outvars]

    def __str__(self):
        return _Printer().jaxpr(self, 0)

    def pretty_print(self):
        return str(self)

    __repr__ = __str__


class ClosedJaxpr:
    """A jaxpr with the values of its constant variables."""

    __slots__ = ("jaxpr", "consts", "__weakref__")  # caches keep compiled forms weakly

    def __init__(self, jaxpr, consts):
        self.jaxpr = jaxpr
        self.consts = list(consts)

    in_avals = property(lambda self: self.jaxpr.in_avals)
    out_avals = property(lambda self: self.jaxpr.out_avals)
    eqns = property(lambda self: self.jaxpr.eqns)

    def __str__(self):
        return str(self.jaxpr)

    def pretty_print(self):
        return str(self)

    __repr__ = __str__


# -- abstract evaluation ------------------------------------------------------------------------


def abstract_eval(prim, avals, params, values=None):
    """Output avals of ``prim`` applied to inputs of ``avals`` (a list; one aval per output).

    Uses the primitive's ``abstract`` rule when it has one; otherwise runs ``impl`` on stand-in
    values of the right shapes and dtypes (zero-strided, so they cost no memory) — every
    primitive gets a shape rule that agrees with its implementation by construction.
    ``values`` gives the known values of literal inputs (``None`` elsewhere).
    """
    weak = out_weak(prim.weak, [a.weak_type for a in avals], params)
    if prim.abstract is not None:
        out = prim.abstract(*avals, **params)
        if prim.multiple_results:
            return list(out)
        return [out]
    stand_ins = []
    for k, a in enumerate(avals):
        v = values[k] if values is not None else None
        if v is None:
            v = _stand_in(a)
        elif type(v) in (bool, int, float, complex):  # a weak literal's value, typed as it is
            v = a.dtype.type(v)
        stand_ins.append(v)
    with np.errstate(all="ignore"):
        out = prim.impl(*stand_ins, **params)
    outs = list(out) if prim.multiple_results else [out]
    return [ShapedArray(np.shape(o), np.asarray(o).dtype, weak) for o in outs]


def _stand_in(aval):
    return np.broadcast_to(np.zeros((), aval.dtype), aval.shape)


# -- evaluation ---------------------------------------------------------------------------------


def eval_jaxpr(jaxpr, consts, *args):
    """Run ``jaxpr`` by binding each equation's primitive with the interpreter that is current,
    so that evaluating staged code under ``grad`` (or another jaxpr being staged) transforms it.
    Returns the list of outputs."""
    env = {}
    for v, x in zip(jaxpr.constvars, consts, strict=True):
        env[v] = x
    for v, x in zip(jaxpr.invars, args, strict=True):
        env[v] = x

    def read(v):
        return v.value if type(v) is Literal else env[v]

    sourced = state.sources
    outer_source = state.source
    try:
        for eqn in jaxpr.eqns:
            if sourced:  # what the replay stages comes from where the equation came from
                state.source = eqn.source_info or outer_source
            out = state.interp.process(eqn.prim, [read(v) for v in eqn.invars], eqn.params)
            if eqn.prim.multiple_results:
                for v, x in zip(eqn.outvars, out, strict=True):
                    env[v] = x
            else:
                env[eqn.outvars[0]] = out
    finally:
        state.source = outer_source
    return [read(v) for v in jaxpr.outvars]


def eval_closed(closed, *args):
    return eval_jaxpr(closed.jaxpr, closed.consts, *args)


def dce(outvars, eqns):
    """The equations needed for ``outvars`` (every primitive is pure), and the set of variables
    they and the outputs read. An equation with a sub-jaxpr is narrowed by its primitive's
    ``rules["dce"](eqn, used) -> eqn`` when it has one: a scan drops from its body the outputs
    nobody reads and what computes only them, and the operands its body no longer reads."""
    live = {a for a in outvars if type(a) is Var}
    kept = []
    for eqn in reversed(eqns):
        used = [v in live for v in eqn.outvars]
        if any(used):
            narrow = eqn.prim.rules.get("dce")
            if narrow is not None:
                eqn = narrow(eqn, used)
            kept.append(eqn)
            live.update(a for a in eqn.invars if type(a) is Var)
    kept.reverse()
    return kept, live


def prune_closed(closed, used_outputs, keep_inputs=()):
    """``closed`` computing only the outputs in ``used_outputs``, and which inputs it still reads
    (those at positions in ``keep_inputs`` are kept whether read or not)."""
    jaxpr = closed.jaxpr
    outvars = [v for v, u in zip(jaxpr.outvars, used_outputs, strict=True) if u]
    eqns, live = dce(outvars, jaxpr.eqns)
    used_inputs = [k in keep_inputs or v in live for k, v in enumerate(jaxpr.invars)]
    consts = [(v, c) for v, c in zip(jaxpr.constvars, closed.consts, strict=True) if v in live]
    invars = [v for v, u in zip(jaxpr.invars, used_inputs, strict=True) if u]
    pruned = Jaxpr([v for v, _ in consts], invars, outvars, eqns)
    return ClosedJaxpr(pruned, [c for _, c in consts]), used_inputs


# -- type checking ------------------------------------------------------------------------------


def check_jaxpr(jaxpr):
    """Raise ``JaxprTypeError`` unless every variable is defined once before it is used and every
    equation's output types are what its primitive gives for its input types. Sub-jaxprs in
    parameters are checked too."""
    if isinstance(jaxpr, ClosedJaxpr):
        if len(jaxpr.consts) != len(jaxpr.jaxpr.constvars):
            raise JaxprTypeError("a closed jaxpr has a different number of consts and constvars")
        for v, c in zip(jaxpr.jaxpr.constvars, jaxpr.consts, strict=True):
            if tuple(np.shape(c)) != v.aval.shape:
                raise JaxprTypeError(f"const of shape {np.shape(c)} bound to {v.aval.str_short()}")
        jaxpr = jaxpr.jaxpr
    defined = set()

    def define(v, where):
        if not isinstance(v, Var):
            raise JaxprTypeError(f"{where}: {v!r} is not a variable")
        if v in defined:
            raise JaxprTypeError(f"{where}: variable {v!r} is defined twice")
        defined.add(v)

    def use(v, where):
        if type(v) is Literal:
            return
        if v not in defined:
            raise JaxprTypeError(f"{where}: variable {v!r} is used before it is defined")

    for v in jaxpr.constvars:
        define(v, "constvars")
    for v in jaxpr.invars:
        define(v, "invars")
    for k, eqn in enumerate(jaxpr.eqns):
        where = f"equation {k} ({eqn.prim.name})"
        for v in eqn.invars:
            use(v, where)
        for p in eqn.params.values():
            for sub in p if isinstance(p, tuple) else (p,):
                if isinstance(sub, (Jaxpr, ClosedJaxpr)):
                    check_jaxpr(sub)
        values = [v.value if type(v) is Literal else None for v in eqn.invars]
        try:
            expected = abstract_eval(eqn.prim, [v.aval for v in eqn.invars], eqn.params, values)
        except JaxprTypeError as e:
            raise JaxprTypeError(f"{where}: {e}") from None
        if len(expected) != len(eqn.outvars):
            raise JaxprTypeError(
                f"{where}: {len(eqn.outvars)} outputs, the primitive gives {len(expected)}"
            )
        for v, a in zip(eqn.outvars, expected, strict=True):
            if (v.aval.shape, v.aval.dtype) != (a.shape, a.dtype):
                raise JaxprTypeError(
                    f"{where}: output typed {v.aval.str_short()}, the primitive gives "
                    f"{a.str_short()}"
                )
            define(v, where)
    for v in jaxpr.outvars:
        use(v, "outvars")


# -- printing -----------------------------------------------------------------------------------

_WIDTH = 80


def _names():
    letters = "abcdefghijklmnopqrstuvwxyz"
    for n in itertools.count(1):
        for chars in itertools.product(letters, repeat=n):
            name = "".join(chars)
            if n == 1 or name[0] != "a":  # JAX's scheme: a..z, ba..zz, baa..
                yield name


class _Printer:
    """Prints jaxprs as JAX does; names are given in order of appearance, sub-jaxprs included."""

    def __init__(self):
        self.names = {}
        self.fresh = _names()

    def var(self, v):
        if type(v) is Literal:
            return f"{_literal_str(v.value)}:{_short(v.aval)}"
        name = self.names.get(v)
        if name is None:
            name = self.names[v] = next(self.fresh)
        return name

    def binder(self, v):
        return f"{self.var(v)}:{_short(v.aval)}"

    def jaxpr(self, jaxpr, indent, lead=0):
        """``lead``: the width of what precedes it on its first line (``jaxpr=``)."""
        consts = " ".join(self.binder(v) for v in jaxpr.constvars)
        ins = " ".join(self.binder(v) for v in jaxpr.invars)
        head = f"{{ lambda {consts}; {ins}."
        used = {v for e in jaxpr.eqns for v in e.invars} | set(jaxpr.outvars)
        eqn_lines = [self.eqn(e, indent + 4, used) for e in jaxpr.eqns]
        outs = ", ".join(self.var(v) for v in jaxpr.outvars)
        outs = f"({outs},)" if len(jaxpr.outvars) == 1 else f"({outs})"
        one_line = f"{head} let {'; '.join(eqn_lines)} in {outs} }}"
        if "\n" not in one_line and len(one_line) + indent + lead <= _WIDTH:
            return one_line
        pad = " " * (indent + 4)
        body = "".join(f"\n{pad}{line}" for line in eqn_lines)
        return f"{head} let{body}\n{' ' * (indent + 2)}in {outs} }}"

    def eqn(self, eqn, indent, used):
        ins = " ".join(self.var(v) for v in eqn.invars)
        # an output nothing uses is printed ``_``, as JAX does
        outs = " ".join(self.binder(v) if v in used else f"_:{_short(v.aval)}" for v in eqn.outvars)
        # ``name`` comes first, as in JAX; parameters named ``_...`` are internal, not printed
        keys = sorted(k for k in eqn.params if not k.startswith("_"))
        if "name" in keys:
            keys.remove("name")
            keys.insert(0, "name")
        if eqn.prim.rules.get("call_site_names"):
            self.name_after_call_site(eqn)
        shown = eqn.prim.rules.get("param_str", {})  # parameters a primitive prints its way
        params = [
            (
                k,
                shown[k](eqn.params[k])
                if k in shown
                else self.param(eqn.params[k], indent + 2, len(k) + 1),
            )
            for k in keys
        ]
        inline = " ".join(f"{k}={v}" for k, v in params)
        line = f"{outs} = {eqn.prim.name}{f'[{inline}]' if params else ''} {ins}".rstrip()
        if "\n" in inline or len(line) + indent > _WIDTH and params:
            pad = " " * (indent + 2)
            block = "".join(f"\n{pad}{k}={v}" for k, v in params)
            line = f"{outs} = {eqn.prim.name}[{block}\n{' ' * indent}] {ins}".rstrip()
        return line

    def name_after_call_site(self, eqn):
        """Give a call's body the names of the call's operands and results (JAX prints ``jit``
        bodies so)."""
        for value in eqn.params.values():
            if isinstance(value, (Jaxpr, ClosedJaxpr)):
                body = value.jaxpr if isinstance(value, ClosedJaxpr) else value
                for inner, outer in zip(body.invars, eqn.invars[-len(body.invars) :]):
                    if type(outer) is Var:
                        self.names[inner] = self.var(outer)
                for inner, outer in zip(body.outvars, eqn.outvars):
                    if type(inner) is Var and inner not in self.names:
                        self.names[inner] = self.var(outer)

    def param(self, value, indent, lead=0):
        if isinstance(value, (Jaxpr, ClosedJaxpr)):
            body = value.jaxpr if isinstance(value, ClosedJaxpr) else value
            return self.jaxpr(body, indent, lead)
        if isinstance(value, tuple) and value and isinstance(value[0], (Jaxpr, ClosedJaxpr)):
            pad = " " * (indent + 2)
            items = "".join(f"\n{pad}{self.param(v, indent + 2)}" for v in value)
            return f"({items}\n{' ' * indent})"
        if isinstance(value, np.dtype):
            return value.name
        if isinstance(value, Primitive):
            return value.name
        if callable(value) and hasattr(value, "__name__"):
            return value.__name__
        return str(value)


def _short(aval):
    """``f32[3]``: an aval as jaxprs print it."""
    return _dtypes.short_type_str(aval.shape, aval.dtype)


def _literal_str(value):
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)
