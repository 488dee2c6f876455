"""What the control-flow primitives share: running a body on raw values (interpreted or
compiled), the type checks of their bodies, closure conversion, and JAX's messages for a loop
carry whose type changes."""

from __future__ import annotations

import collections
import functools
import inspect

from pullback import _dtypes
from pullback._compile import compile_jaxpr
from pullback._core import RAW, Array, Tracer, state, to_raw
from pullback._hop.partial_eval import dependent_outputs
from pullback._ir import ClosedJaxpr, Jaxpr, JaxprTypeError, Literal, Var, dce, eval_closed
from pullback._ops import convert_element_type
from pullback.tree_util import DictKey, GetAttrKey, SequenceKey, keystr, tree_flatten_with_path

# -- running a body on raw values -----------------------------------------------------------------

# Compiling a small body costs 10-20 interpreted runs of it (measured: six equations, 135 µs to
# compile, 4.4 µs per compiled run, 16 µs interpreted; two equations, 100 µs, 0.9 µs and 5.5 µs).
# So a body that runs a few times (an eager cond's branch, a short eager scan) is interpreted, and
# one that runs many times (a long loop, or a body inside a jit program, seen again) is compiled.
# Bounded, because eager calls trace fresh bodies every time.
_EXECUTABLES = collections.OrderedDict()  # id(closed jaxpr) -> (closed jaxpr, compiled or None)
_MAX_EXECUTABLES = 256
_COMPILE_AFTER = 16  # runs


def _executable(closed, many):
    """A function of raw arguments returning the list (or tuple) of ``closed``'s raw outputs."""
    key = id(closed)
    entry = _EXECUTABLES.get(key)
    if entry is not None and entry[0] is closed:
        _EXECUTABLES.move_to_end(key)
        if entry[1] is not None:
            return entry[1]
        many = True  # run before: it is running again
    fn = compile_jaxpr(closed) if many else functools.partial(_interpret, closed)
    _EXECUTABLES[key] = (closed, fn if many else None)
    if len(_EXECUTABLES) > _MAX_EXECUTABLES:
        _EXECUTABLES.popitem(last=False)
    return fn


def _interpret(closed, *args):
    saved = state.interp
    state.interp = RAW
    try:
        outs = eval_closed(closed, *args)
    finally:
        state.interp = saved
    # a weak literal output is a Python scalar: give it its NumPy type, as compiled code does, so
    # that a loop carry keeps its dtype
    return [
        v.aval.dtype.type(o) if type(v) is Literal else o
        for v, o in zip(closed.jaxpr.outvars, outs, strict=True)
    ]


def _eval_rule(prim, body_out_avals):
    """The ``eval`` rule: ``impl`` on raw values; outputs take the weak types of the body's."""

    def rule(interp, args, params):
        outs = prim.impl(*[to_raw(a)[0] for a in args], **params)
        if not interp.wrap:
            return outs
        avals = body_out_avals(**params)
        return [Array(o, a.weak_type) for o, a in zip(outs, avals, strict=True)]

    return rule


def _expect(what, expected, got):
    """Raise ``JaxprTypeError`` unless the avals ``got`` match ``expected`` in shape and dtype."""
    if len(expected) != len(got) or not all(_typematch(a, b) for a, b in zip(expected, got)):
        raise JaxprTypeError(f"{what}: expected types {_types(expected)}, got {_types(got)}")


def _types(avals):
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def _typematch(a, b):
    return a.shape == b.shape and a.dtype == b.dtype


# -- tracing bodies ----------------------------------------------------------------------------


def _describe(fun):
    """``name at file:line``, as JAX names traced functions in its errors."""
    name = getattr(fun, "__name__", None) or type(fun).__name__
    code = getattr(fun, "__code__", None)
    return f"{name} at {code.co_filename}:{code.co_firstlineno}" if code else name


def _closure_convert(closed):
    """``(jaxpr taking (*consts, *inputs), consts)``."""
    jaxpr = closed.jaxpr
    converted = Jaxpr([], jaxpr.constvars + jaxpr.invars, jaxpr.outvars, jaxpr.eqns)
    return ClosedJaxpr(converted, []), list(closed.consts)


def _with_io(closed, invars, outvars):
    """``closed`` with its inputs and outputs replaced (reordered, or some dropped)."""
    jaxpr = closed.jaxpr
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, invars, outvars, jaxpr.eqns), closed.consts)


def _pick(items, mask, keep=True):
    return [x for x, m in zip(items, mask, strict=True) if m == keep]


def _forwarding(jaxpr):
    """For each output of ``jaxpr``, the position of the input it is, or None."""
    position = {v: k for k, v in enumerate(jaxpr.invars)}
    return [position.get(v) if type(v) is Var else None for v in jaxpr.outvars]


def _used_inputs(jaxpr):
    """Which inputs of ``jaxpr`` its outputs depend on."""
    live = dce(jaxpr.outvars, jaxpr.eqns)[1]
    return [v in live for v in jaxpr.invars]


def _promote_weak_carry(leaves, in_avals, out_avals):
    """JAX's rule for a weakly typed initial carry (e.g. a Python scalar) whose body output has
    another type: convert it to the promoted type. Returns ``(leaves, changed)``."""
    changed = False
    new = []
    for x, a_in, a_out in zip(leaves, in_avals, out_avals, strict=True):
        if a_in.weak_type and not _typematch(a_in, a_out):
            x = convert_element_type(x, _dtypes.result_type(x, a_out))
            changed = True
        new.append(x)
    return new, changed


def _first_parameter(fun):
    try:
        return next(iter(inspect.signature(fun).parameters), None)
    except (TypeError, ValueError):
        return None


def _differences(diffs, capitalize=True):
    if len(diffs) == 1:
        first = diffs[0]
        return f"{first[0].upper() + first[1:] if capitalize else first}.\n"
    return "\n".join(f"  * {d};\n" for d in diffs[:-1]) + f"  * {diffs[-1]}.\n"


def _mismatch(a, b):
    dtype, shape = a.dtype != b.dtype, a.shape != b.shape
    why = " and also ".join(
        w
        for w, bad in (("the dtypes do not match", dtype), ("the shapes do not match", shape))
        if bad
    )
    return f", so {why}"


def _tree_differences(t1, t2, path=()):
    """``(path, what t1 is, what t2 is, why)`` where two pytree structures differ."""
    if t1 == t2:
        return []
    if t1.is_leaf() or t2.is_leaf() or t1.type is not t2.type:
        return [(path, _node_kind(t1), _node_kind(t2), "their Python types differ")]
    if t1.num_children != t2.num_children:
        return [(path, _node_size(t1), _node_size(t2), "their numbers of children differ")]
    keys1, keys2 = list(t1.entries()), list(t2.entries())
    if keys1 != keys2:
        return [
            (
                path,
                f"{t1.type} with keys {keys1}",
                f"{t2.type} with keys {keys2}",
                "their keys differ",
            )
        ]
    diffs = []
    for entry, c1, c2 in zip(keys1, t1.children(), t2.children(), strict=True):
        diffs += _tree_differences(c1, c2, path + (_path_key(t1.type, entry),))
    return diffs


def _node_size(tree):
    if tree.type in (list, tuple):
        return f"{tree.type.__name__} of length {tree.num_children}"
    return f"{tree.type} with {tree.num_children} children"


def _node_kind(tree):
    return "pytree leaf" if tree.is_leaf() else str(tree.type)


def _path_key(node_type, entry):
    if issubclass(node_type, dict):
        return DictKey(entry)
    if hasattr(node_type, "_fields"):
        return GetAttrKey(node_type._fields[entry] if isinstance(entry, int) else entry)
    if isinstance(entry, str):
        return GetAttrKey(entry)
    return SequenceKey(entry)


def _check_carry_type(name, body_fun, init, in_tree, in_avals, out_tree, out_avals):
    """JAX's errors for a loop body whose carry output differs from its carry input."""
    carry = _first_parameter(body_fun)

    def component(path):
        if carry is None:
            return f"the input carry at path {keystr(path)}" if path else "the input carry"
        return (
            f"the input carry component {carry}{keystr(path)}"
            if path
            else f"the input carry {carry}"
        )

    if in_tree != out_tree:
        diffs = [
            f"{component(p)} is a {k1} but the corresponding component of the carry output is a "
            f"{k2}, so {why}"
            for p, k1, k2, why in _tree_differences(in_tree, out_tree)
        ]
        raise TypeError(
            f"{name} function carry input and carry output must have the same pytree structure, "
            f"but they differ:\n\n{_differences(diffs)}\nRevise the function so that the carry "
            f"output has the same pytree structure as the carry input."
        )
    paths = [p for p, _ in tree_flatten_with_path(init)[0]]
    diffs = [
        f"{component(p)} has type {a.str_short()} but the corresponding output carry component "
        f"has type {b.str_short()}{_mismatch(a, b)}"
        for p, a, b in zip(paths, in_avals, out_avals, strict=True)
        if not _typematch(a, b)
    ]
    if diffs:
        raise TypeError(
            f"{name} function carry input and carry output must have equal types, but they "
            f"differ:\n\n{_differences(diffs)}\nRevise the function so that all output types "
            f"match the corresponding input types."
        )


def _is_concrete(x):
    return not isinstance(x, Tracer) or x._concrete_value() is not None


def _as_array(x):
    return x if isinstance(x, Array) else Array(*to_raw(x))


def _carry_mask(jaxpr, const_mask, carry_mask, xs_mask):
    """The carries that depend on differentiated inputs after any number of iterations."""
    n = len(carry_mask)
    while True:
        deps = dependent_outputs(jaxpr, [*const_mask, *carry_mask, *xs_mask])[:n]
        new = [c or d for c, d in zip(carry_mask, deps, strict=True)]
        if new == carry_mask:
            return carry_mask
        carry_mask = new
