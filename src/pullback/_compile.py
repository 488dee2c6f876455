"""The compiler behind ``jit``: simplify a jaxpr, then turn it into Python source calling NumPy.

``compile_jaxpr(closed)`` returns a function of raw (NumPy) arguments returning a tuple of raw
outputs. The program is built in four passes over a flat copy of the equations:

1. **inline** call-like equations (``jit``, ``custom_vjp_call``, ``checkpoint``: their
   ``rules["inline"]`` gives the sub-jaxpr that computes them when nothing differentiates them,
   or None to keep the call: a checkpoint's recomputation stays apart, or common
   subexpressions would merge it with the forward pass and keep what it frees alive);
2. **simplify** in one forward sweep: substitute aliases, fold equations whose inputs are all
   known (constant folding of static values), forward identities (``x * 1``, ``x + 0`` with a
   literal zero or a constant array of zeros such as a materialised zero cotangent, a
   reshape or conversion to the same type, ``stop_gradient``), and reuse equal equations
   (common subexpressions);
3. **dead-code elimination** backwards from the outputs (``_ir.dce``);
4. **code generation**: one line per equation, ``v7 = f7(v3, v5)``, where ``f7`` is the
   primitive's ``impl`` (with its parameters bound); literals and constants are globals.

Generated source was measured against a loop over equations: on ``chain``'s gradient program
(1196 equations on float32[16]) the loop takes 1.02 ms and the generated function 0.42 ms; the
environment lookups and dispatch it saves (0.5 µs per equation) cost more than the small NumPy
calls themselves.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from pullback._core import Array, ShapedArray
from pullback._ir import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, dce
from pullback._ops import structural
from pullback._ops._base import convert_element_type_p
from pullback._ops.elementwise import add_p, div_p, mul_p, sub_p

__all__ = ["compile_jaxpr", "simplify", "Program"]


class Program:
    """A flat, simplified jaxpr ready for code generation (also what ``lower().as_text()``
    prints)."""

    __slots__ = ("invars", "outvars", "eqns", "consts")

    def __init__(self, invars, outvars, eqns, consts):
        self.invars = invars
        self.outvars = outvars
        self.eqns = eqns
        self.consts = consts  # {Var: value}


# -- 1. inlining ----------------------------------------------------------------------------------


def _flatten(closed, invars, eqns, consts):
    """Append ``closed``'s equations to ``eqns`` with its inputs renamed to ``invars``; return
    the atoms of its outputs. Call-like equations are inlined recursively."""
    rename = {}
    jaxpr = closed.jaxpr
    for v, c in zip(jaxpr.constvars, closed.consts, strict=True):
        fresh = Var(v.aval)
        consts[fresh] = c._value if type(c) is Array else c
        rename[v] = fresh
    for v, a in zip(jaxpr.invars, invars, strict=True):
        rename[v] = a

    def read(v):
        return v if type(v) is Literal else rename[v]

    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        inline = eqn.prim.rules.get("inline")
        body = inline(eqn.params) if inline is not None else None
        if body is not None:
            outs = _flatten(body, ins, eqns, consts)
            for v, o in zip(eqn.outvars, outs, strict=True):
                rename[v] = o
            continue
        outs = [Var(v.aval) for v in eqn.outvars]
        for v, o in zip(eqn.outvars, outs, strict=True):
            rename[v] = o
        eqns.append(Eqn(eqn.prim, ins, outs, eqn.params))
    return [read(v) for v in jaxpr.outvars]


# -- 2. simplification -----------------------------------------------------------------------------


def _is_literal(a, value):
    return type(a) is Literal and type(a.value) is not bool and a.value == value


def _same(a, aval):
    return a.aval.shape == aval.shape and a.aval.dtype == aval.dtype


def _is_zero(a, consts):
    """A literal zero or a constant array of zeros (a materialised zero cotangent)."""
    if type(a) is Literal:
        return _is_literal(a, 0)
    value = consts.get(a)
    return value is not None and not np.any(value)


# the identity functions: ``stop_gradient`` (a matter for differentiation), ``name`` (for
# checkpoint policies)
_NO_OPS = (structural.stop_gradient_p, structural.name_p)


def _identity(eqn, consts):
    """The input an equation's single output equals, or None."""
    prim, ins = eqn.prim, eqn.invars
    out = eqn.outvars[0].aval
    if prim is mul_p:
        if _is_literal(ins[1], 1) and _same(ins[0], out):
            return ins[0]
        if _is_literal(ins[0], 1) and _same(ins[1], out):
            return ins[1]
    elif prim is add_p:
        if _is_zero(ins[1], consts) and _same(ins[0], out):
            return ins[0]
        if _is_zero(ins[0], consts) and _same(ins[1], out):
            return ins[1]
    elif prim is sub_p:
        if _is_zero(ins[1], consts) and _same(ins[0], out):
            return ins[0]
    elif prim is div_p:
        if _is_literal(ins[1], 1) and _same(ins[0], out):
            return ins[0]
    elif prim in _NO_OPS or prim in _SHAPE_PRESERVING and _same(ins[0], out):
        return ins[0]
    return None


# primitives that are the identity when the output type equals the input's (a transpose of a
# square matrix is not: identity permutations are never bound)
_SHAPE_PRESERVING = (
    convert_element_type_p,
    structural.reshape_p,
    structural.broadcast_to_p,
    structural.reduce_sum_p,
)


def _params_key(params):
    try:
        key = tuple(sorted(params.items()))
        hash(key)
        return key
    except TypeError:
        return None


def _atom_key(a):
    if type(a) is Literal:
        return (type(a.value), a.value, a.aval.dtype, a.aval.weak_type)
    return a


def _literal_value(a, prim):
    """A literal as ``prim``'s impl takes it: a weak Python scalar stays one for ufuncs (NumPy
    then keeps the other operand's dtype, as JAX's weak typing does); other impls take NumPy
    values."""
    value = a.value
    if type(value) in (bool, int, float, complex) and not _elementwise_binary(prim):
        return a.aval.dtype.type(value)
    return value


def _foldable(eqn, consts):
    # a collective means something only inside the vmap that binds its axis name
    if eqn.prim.impl is None or eqn.prim.rules.get("unfoldable"):
        return False
    for a in eqn.invars:
        if type(a) is not Literal and a not in consts:
            return False
    return True


def _literal_or_const(value, aval, consts):
    """A folded value as the type ``aval`` says (NumPy computes two weak Python scalars in 64
    bits): a literal for a scalar, holding a Python scalar when weak, else a constant."""
    if np.ndim(value) == 0:
        raw = aval.dtype.type(value[()] if isinstance(value, np.ndarray) else value)
        return Literal(raw.item() if aval.weak_type else raw, aval)
    if value.dtype != aval.dtype:
        value = value.astype(aval.dtype)
    var = Var(aval)
    consts[var] = value
    return var


def _elementwise_binary(prim):
    """A primitive computed by a two-input NumPy ufunc: it broadcasts scalars itself."""
    impl = getattr(prim, "impl", None)
    # (a generalized ufunc such as matmul has core dimensions: it does not broadcast scalars)
    return isinstance(impl, np.ufunc) and impl.nin == 2 and impl.signature is None


def simplify(invars, outvars, eqns, consts):
    """Pass 2: one forward sweep of substitution, folding, identities and CSE.

    Two algebraic rewrites keep elementwise chains short: an operand that is a scalar broadcast
    to the other operand's shape becomes the scalar (the ufunc broadcasts it), and
    ``(x * c1) * c2`` with literal scalars becomes ``x * (c1 * c2)``.
    """
    alias = {}
    seen = {}
    kept = []
    splats = {}  # constant var -> the literal it is a broadcast of
    scaled = {}  # var -> (x, c) for var = x * c with a literal c

    def read(a):
        return alias.get(a, a) if type(a) is Var else a

    for eqn in eqns:
        ins = [read(a) for a in eqn.invars]
        prim = eqn.prim
        if splats and _elementwise_binary(prim):
            out_shape = eqn.outvars[0].aval.shape
            for k in (0, 1):
                if ins[k] in splats and ins[1 - k].aval.shape == out_shape:
                    ins[k] = splats[ins[k]]
        if prim is mul_p and scaled:
            ins = _reassociate(ins, scaled)
        eqn = Eqn(prim, ins, eqn.outvars, eqn.params)
        if _foldable(eqn, consts):
            values = [_literal_value(a, prim) if type(a) is Literal else consts[a] for a in ins]
            with np.errstate(all="ignore"):
                out = prim.impl(*values, **eqn.params)
            outs = out if prim.multiple_results else (out,)
            for v, o in zip(eqn.outvars, outs, strict=True):
                alias[v] = folded = _literal_or_const(o, v.aval, consts)
                if prim is structural.broadcast_to_p and type(ins[0]) is Literal:
                    splats[folded] = Literal(v.aval.dtype.type(ins[0].value), ins[0].aval)
            continue
        if prim is mul_p and eqn.outvars[0].aval.dtype.kind == "f":
            for k in (0, 1):
                if type(ins[k]) is Literal and type(ins[1 - k]) is Var:
                    scaled[eqn.outvars[0]] = (ins[1 - k], ins[k])
        if not eqn.prim.multiple_results:
            same = _identity(eqn, consts)
            if same is not None:
                alias[eqn.outvars[0]] = same
                continue
        pkey = _params_key(eqn.params)
        if pkey is not None:
            key = (eqn.prim, tuple(_atom_key(a) for a in ins), pkey)
            previous = seen.get(key)
            if previous is not None:
                for v, p in zip(eqn.outvars, previous, strict=True):
                    alias[v] = p
                continue
            seen[key] = eqn.outvars
        kept.append(eqn)
    return [read(a) for a in outvars], kept


def _reassociate(ins, scaled):
    """``(x * c1) * c2`` -> ``x * (c1 * c2)`` for literal scalars ``c1``, ``c2``."""
    for k in (0, 1):
        inner, c2 = ins[k], ins[1 - k]
        if type(c2) is Literal and inner in scaled:
            x, c1 = scaled[inner]
            dtype = inner.aval.dtype
            value = dtype.type(dtype.type(c1.value) * dtype.type(c2.value))
            return [x, Literal(value, ShapedArray((), dtype, False))]
    return ins


def optimize(closed):
    """A ``Program`` computing ``closed``: inlined, simplified, without dead code."""
    invars = [Var(v.aval) for v in closed.jaxpr.invars]
    eqns, consts = [], {}
    outvars = _flatten(closed, invars, eqns, consts)
    outvars, eqns = simplify(invars, outvars, eqns, consts)
    eqns, _ = dce(outvars, eqns)
    used = {a for e in eqns for a in e.invars} | set(outvars)
    consts = {v: c for v, c in consts.items() if v in used}
    return Program(invars, outvars, eqns, consts)


# -- 4. code generation ------------------------------------------------------------------------


def _callable(eqn):
    """What the generated line calls: the impl with its parameters bound, or what the
    primitive's ``rules["specialize"](**params)`` builds for that."""
    specialize = eqn.prim.rules.get("specialize")
    if specialize is not None:
        return specialize(**eqn.params)
    impl = eqn.prim.impl
    return functools.partial(impl, **eqn.params) if eqn.params else impl


def generate(program, name="jitted"):
    """Python source for ``program`` and the globals it needs."""
    names = {}
    glob = {}
    counter = itertools.count()

    def fresh(prefix):
        return f"{prefix}{next(counter)}"

    def ref(a, prim):
        if type(a) is Literal:
            g = fresh("k")
            glob[g] = _literal_value(a, prim)
            return g
        return names[a]

    for v in program.invars:
        names[v] = fresh("a")
    for v, value in program.consts.items():
        names[v] = g = fresh("c")
        glob[g] = value
    # Free each intermediate after its last use, as hand-written code rebinding names does:
    # large arrays then reuse freed memory instead of faulting in fresh pages.
    last_use = {}
    for k, eqn in enumerate(program.eqns):
        for a in eqn.invars:
            if type(a) is Var:
                last_use[a] = k
    keep = set(program.outvars) | set(program.consts) | set(program.invars)
    dead_after = [[] for _ in program.eqns]
    for v, k in last_use.items():
        if v not in keep:
            dead_after[k].append(v)
    lines = [f"def {name}({', '.join(names[v] for v in program.invars)}):"]
    for k, eqn in enumerate(program.eqns):
        fn = fresh("f")
        glob[fn] = _callable(eqn)
        outs = []
        for v in eqn.outvars:
            names[v] = fresh("v")
            outs.append(names[v])
        call = f"{fn}({', '.join(ref(a, eqn.prim) for a in eqn.invars)})"
        if eqn.prim.multiple_results:
            lines.append(f"    {', '.join(outs)}{',' if len(outs) == 1 else ''} = {call}")
        else:
            lines.append(f"    {outs[0]} = {call}")
        if dead_after[k]:
            lines.append(f"    del {', '.join(names[v] for v in dead_after[k])}")
    outs = ", ".join(ref(a, None) for a in program.outvars)
    lines.append(f"    return ({outs}{',' if len(program.outvars) == 1 else ''})")
    return "\n".join(lines) + "\n", glob


def compile_jaxpr(closed, name="jitted"):
    """A Python function of raw arguments computing ``closed``'s outputs as a tuple."""
    program = optimize(closed)
    source, glob = generate(program, name)
    namespace = dict(glob)
    exec(compile(source, f"<pullback.jit {name}>", "exec"), namespace)
    fn = namespace[name]
    fn.source = source
    fn.program = program
    return fn


def as_closed(program):
    """The optimized program as a printable jaxpr."""
    jaxpr = Jaxpr(list(program.consts), program.invars, program.outvars, program.eqns)
    return ClosedJaxpr(jaxpr, list(program.consts.values()))
