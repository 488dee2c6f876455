"""``linear_transpose``: the transpose of a linear function, by walking its jaxpr backwards.

``fun`` is traced on the primals' avals. An equation is *linear* when one of its inputs depends on
``fun``'s inputs; every other equation only involves constants and is evaluated forward. A linear
equation's primitive must declare where it is linear (``Primitive.transpose``, an
``_ops._base.Linear``), and its transposition is its VJP rule: for a linear operand the rule's
result does not depend on that operand's value, only on its shape and dtype, so the rule is called
with the operand's aval standing in for it (and the output's aval for ``ans``, which such a rule
never reads either). Call-like equations (``jit``, ``custom_vjp_call``, ``custom_jvp_call``: those
with an ``"inline"`` rule) are transposed through their bodies — a custom rule is about
differentiation, and the function it decorates is what is linear.

The walk runs with whatever interpreter is current, so the transposed function can itself be
jitted or differentiated.
"""

from __future__ import annotations

from pullback import _dtypes
from pullback._core import Array, state, to_raw
from pullback._interp.stage import aval_of_leaf, trace_to_jaxpr
from pullback._ir import Literal, Var, dce
from pullback._ops import convert_element_type, full
from pullback.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_unflatten

__all__ = ["linear_transpose"]


def _name(fun):
    return getattr(fun, "__name__", None) or type(fun).__name__


def _read(env, v):
    return v.value if type(v) is Literal else env[v]


def _zeros(aval):
    return full(aval.shape, 0, aval.dtype)


class _Transposer:
    """A closed jaxpr prepared for transposition with respect to the inputs marked ``linear``.

    ``steps`` holds, per live equation, the positions of its linear inputs (empty for an equation
    evaluated forward) and, for a call-like equation, the transposer of its body.
    ``forward`` computes the constant values, ``backward`` maps output cotangents to input ones.
    ``context`` starts the error for a non-linear operation (default: ``linear_transpose``'s).
    """

    def __init__(self, closed, linear, fun_name, context=None):
        jaxpr = closed.jaxpr
        self.closed = closed
        self.linear_in = linear
        lin = {v for v, is_linear in zip(jaxpr.invars, linear, strict=True) if is_linear}
        self.steps = []
        for eqn in dce(jaxpr.outvars, jaxpr.eqns)[0]:
            positions = tuple(k for k, v in enumerate(eqn.invars) if type(v) is Var and v in lin)
            body = None
            inline = eqn.prim.rules.get("inline")
            if positions and inline is not None:
                mask = [k in positions for k in range(len(eqn.invars))]
                body = _Transposer(inline(eqn.params), mask, fun_name, context)
                lin.update(v for v, out in zip(eqn.outvars, body.linear_out) if out)
            elif positions:
                _check_linear(eqn.prim, positions, fun_name, context)
                lin.update(eqn.outvars)
            self.steps.append((eqn, positions, body))
        self.linear = lin
        self.linear_out = [type(v) is Var and v in lin for v in jaxpr.outvars]

    def forward(self, args):
        """The values of the non-linear variables, given those of the non-linear inputs (``args``
        aligned with the inputs, ``None`` at linear ones), and the same for ``jit`` bodies."""
        jaxpr = self.closed.jaxpr
        env = dict(zip(jaxpr.constvars, self.closed.consts, strict=True))
        for v, a, is_linear in zip(jaxpr.invars, args, self.linear_in, strict=True):
            if not is_linear:
                env[v] = a
        bodies = {}
        for eqn, positions, body in self.steps:
            values = [None if k in positions else _read(env, v) for k, v in enumerate(eqn.invars)]
            if not positions:
                out = state.interp.process(eqn.prim, values, eqn.params)
                env.update(zip(eqn.outvars, out if eqn.prim.multiple_results else [out]))
            elif body is not None:
                bodies[eqn] = body.forward(values)
                inner_env = bodies[eqn][0]
                body_outs = body.closed.jaxpr.outvars
                for v, inner_v, out in zip(eqn.outvars, body_outs, body.linear_out, strict=True):
                    if not out:
                        env[v] = _read(inner_env, inner_v)
        return env, bodies

    def backward(self, forward, cts):
        """Cotangents of the inputs (``None`` for zero ones and for non-linear inputs) from those
        of the outputs (``None`` for zero)."""
        env, bodies = forward
        jaxpr = self.closed.jaxpr
        ct_env = {}

        def accumulate(v, ct):
            if ct is not None and type(v) is Var and v in self.linear:
                old = ct_env.get(v)
                ct_env[v] = ct if old is None else old + ct

        for v, ct in zip(jaxpr.outvars, cts, strict=True):
            accumulate(v, ct)
        for eqn, positions, body in reversed(self.steps):
            if not positions:
                continue
            out_cts = [ct_env.pop(v, None) for v in eqn.outvars]
            if all(ct is None for ct in out_cts):
                continue
            if body is not None:
                in_cts = body.backward(bodies[eqn], out_cts)
            else:
                in_cts = _transpose_by_vjp(eqn, positions, out_cts, env)
            for k in positions:
                accumulate(eqn.invars[k], in_cts[k])
        return [ct_env.get(v) for v in jaxpr.invars]


def _check_linear(prim, positions, fun_name, context=None):
    linear = prim.transpose
    if linear is not None and linear.allows(positions):
        return
    context = context or f"linear_transpose of {fun_name}: {fun_name} is not linear in its inputs"
    where = f"{context}: primitive"
    if linear is None:
        detail = f"{prim.name} is applied to a value that depends on them"
    elif linear.separately and len(positions) > 1:
        detail = (
            f"{prim.name} is applied to {len(positions)} values that depend on them (operands "
            f"{', '.join(map(str, positions))}), but it is linear in one operand at a time, not "
            f"in several together (x * x is not linear in x)"
        )
    else:
        bad = [k for k in positions if k not in linear.positions]
        detail = (
            f"{prim.name} is applied to a value that depends on them as operand "
            f"{bad[0]}, where it is not linear"
        )
    raise TypeError(f"{where} {detail}.")


def _transpose_by_vjp(eqn, positions, out_cts, env):
    """Cotangents of a linear equation's inputs (aligned with them): its VJP rules, with avals
    standing in for the linear operands and the output."""
    prim = eqn.prim
    args = [v.aval if k in positions else _read(env, v) for k, v in enumerate(eqn.invars)]
    if prim.multiple_results:
        ct = tuple(
            _zeros(v.aval) if c is None else c for v, c in zip(eqn.outvars, out_cts, strict=True)
        )
        ans = [v.aval for v in eqn.outvars]
    else:
        ct, ans = out_cts[0], eqn.outvars[0].aval
    in_cts = [None] * len(args)
    for k in positions:
        in_cts[k] = prim.vjp[k](ct, ans, *args, **eqn.params)
    return in_cts


def _cotangent(ct, aval, path, fun_name):
    """``ct`` as an ``Array`` of ``aval``'s type, or an error naming both types."""
    if isinstance(ct, Array):
        shape, dtype, weak = ct.shape, ct.dtype, ct.weak_type
    else:
        raw, weak = to_raw(ct)
        ct = Array(raw, weak)
        shape, dtype = raw.shape, raw.dtype
    if shape != aval.shape or not (dtype == aval.dtype or weak and dtype.kind == aval.dtype.kind):
        raise TypeError(
            f"linear_transpose of {fun_name}: the cotangent at output{keystr(path)} has type "
            f"{_dtypes.type_str(shape, dtype)}, but {fun_name}'s output there has type "
            f"{aval.str_short()}; pass a cotangent of the output's shape and dtype."
        )
    return ct if dtype == aval.dtype else convert_element_type(ct, aval.dtype, weak)


def _input_cotangent(ct, aval):
    """The cotangent of an input, of exactly the input's dtype (zeros when none arrived)."""
    if ct is None:
        return convert_element_type(_zeros(aval), aval.dtype, aval.weak_type)
    if ct.dtype != aval.dtype:
        return convert_element_type(ct, aval.dtype, aval.weak_type)
    return ct


def linear_transpose(fun, *primals, reduce_axes=()):
    """The transpose of ``fun``, a function promised to be linear in its inputs.

    ``primals`` give the inputs' shapes and dtypes (arrays or ``ShapeDtypeStruct``s; only
    ``.shape`` and ``.dtype`` are read). The result maps a cotangent of ``fun``'s output to the
    tuple of the inputs' cotangents, each of its input's dtype. Constants added to the output
    (an affine function) are ignored; a non-linear operation on an input is a ``TypeError``.

    >>> import numpy as np, pullback as jax
    >>> scalar = jax.ShapeDtypeStruct(shape=(), dtype=np.dtype(np.float32))
    >>> f_transpose = jax.linear_transpose(lambda x, y: 0.5 * x - 0.5 * y, scalar, scalar)
    >>> f_transpose(1.0)
    (Array(0.5, dtype=float32), Array(-0.5, dtype=float32))
    """
    if reduce_axes:
        raise NotImplementedError("reduce_axes argument to transpose is deprecated")
    name = _name(fun)
    leaves, in_tree = tree_flatten(primals)
    in_avals = [aval_of_leaf(x) for x in leaves]
    closed, out_tree = trace_to_jaxpr(fun, primals, f"the function {name} for linear_transpose")
    out_avals = closed.out_avals
    kinds = {a.dtype.kind for a in in_avals + out_avals}
    if not (kinds <= set("fc") or kinds <= set("iu")):
        raise TypeError(
            f"linear_transpose of {name} only supports [float or complex] -> [float or complex], "
            f"and integer -> integer functions, but got "
            f"{[a.dtype.name for a in in_avals]} -> {[a.dtype.name for a in out_avals]}."
        )
    transposer = _Transposer(closed, [True] * len(in_avals), name)
    out_paths = [path for path, _ in tree_flatten_with_path(tree_unflatten(out_tree, out_avals))[0]]

    def transposed(out_cotangent):
        ct_leaves, ct_tree = tree_flatten(out_cotangent)
        if ct_tree != out_tree:
            raise TypeError(
                f"linear_transpose of {name}: the cotangent's pytree structure {ct_tree} does not "
                f"match that of {name}'s output, {out_tree}."
            )
        cts = [
            _cotangent(ct, aval, path, name)
            for ct, aval, path in zip(ct_leaves, out_avals, out_paths, strict=True)
        ]
        forward = transposer.forward([None] * len(in_avals))
        in_cts = transposer.backward(forward, cts)
        return tree_unflatten(in_tree, list(map(_input_cotangent, in_cts, in_avals)))

    transposed.__name__ = f"transpose({name})"
    return transposed
