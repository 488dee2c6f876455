"""Reverse mode: ``vjp``, ``grad``, ``value_and_grad``, ``stop_gradient``."""

from __future__ import annotations

import functools

import numpy as np

from pullback import _dtypes
from pullback._api._common import (
    Residualized,
    argnum_positions,
    check_argnums,
    check_callable,
    check_inputs_inexact,
    check_leaves,
    fun_name,
)
from pullback._core import (
    Array,
    ShapedArray,
    Tracer,
    is_valid_leaf,
    state,
    to_raw,
)
from pullback._interp.stage import hoist_tracers, trace_flat
from pullback._interp.vjp import VJPInterp, VJPTracer, backward
from pullback._ir import eval_closed
from pullback._ops import convert_element_type as _convert
from pullback._ops import stop_gradient as _stop_gradient
from pullback.tree_util import (
    tree_flatten,
    tree_map,
    tree_unflatten,
)


class _VJPFunction:
    """A pullback on its tape: maps an output cotangent to input cotangents. ``vjp`` hands it
    out as a ``Residualized`` program with no residuals."""

    def __init__(self, interp, in_tree, in_records, out_tree, out_records, fun):
        self._interp = interp
        self._in_tree = in_tree
        self._in_records = in_records  # (tracer or None, shape, dtype, weak) per input leaf
        self._out_tree = out_tree
        self._out_records = out_records  # (tracer or None, shape, dtype) per output leaf
        self._fun = fun
        self._staged = None  # (_StagedPullback, residuals), made on the first flatten

    @property
    def name(self):
        return f"vjp({fun_name(self._fun)})"

    def run(self, residuals, ct):
        return self(ct)

    def portable(self, residuals):
        if self._interp.raw:  # the tape holds NumPy values: nothing a transformation must see
            return self, residuals
        if self._staged is None:
            self._staged = _stage_backward(self)
        return self._staged

    def __call__(self, ct):
        ct_leaves = _cotangent_leaves(ct, self._out_tree, self._out_records, self.name)
        interp = self._interp
        raw = interp.raw
        # cotangents traced by a transformation applied to the pullback (vmap of it: jacrev):
        # the backward pass runs under that transformation, on the tape's values (which are
        # constants to it)
        lifted = state.interp is not interp.parent and any(isinstance(c, Tracer) for c in ct_leaves)
        seeds = []
        for c, (tracer, _, _) in zip(ct_leaves, self._out_records, strict=True):
            if tracer is not None:
                seeds.append((tracer._idx, to_raw(c)[0] if raw and not lifted else c))
        base = state.interp if lifted else None
        return tree_unflatten(self._in_tree, self._input_cotangents(seeds, base))

    def _input_cotangents(self, seeds, base=None):
        interp = self._interp
        cts = backward(interp, seeds, base) if seeds else None
        out = []
        for tracer, shape, dtype, weak in self._in_records:
            if dtype.kind not in "fc":
                out.append(Array(np.zeros(shape, _dtypes.float0), False))
                continue
            ct = cts[tracer._idx] if cts is not None else None
            if ct is None:
                out.append(Array(np.zeros(shape, dtype), weak))
            elif isinstance(ct, Array):
                # the gradient of a weakly typed input is weakly typed, as in JAX (a backward
                # pass lifted onto raw tape values, staged, or computed from constants of an
                # outer transformation may have lost the flag)
                if ct.dtype != dtype or ct.weak_type != weak:
                    ct = _convert(ct, dtype, weak)
                out.append(ct)
            else:  # a raw value of a backward pass on NumPy
                if ct.dtype != dtype:
                    ct = ct.astype(dtype)
                out.append(Array(ct, weak))
        return out


def _stage_backward(pullback):
    """``(_StagedPullback, residuals)``: the backward pass of a tape whose values are tracers of
    enclosing transformations, staged; those tracers are the residuals."""
    records = pullback._out_records
    seeded = [k for k, (tracer, _, _) in enumerate(records) if tracer is not None]

    def backward_of(*cts):
        seeds = [(records[k][0]._idx, c) for k, c in zip(seeded, cts, strict=True)]
        cts_in = pullback._input_cotangents(seeds, state.interp)
        return [c for c, r in zip(cts_in, pullback._in_records, strict=True) if r[0] is not None]

    avals = [ShapedArray(records[k][1], records[k][2]) for k in seeded]
    closed = trace_flat(backward_of, avals, f"the backward pass of {pullback.name}")
    closed, residuals = hoist_tracers(closed)
    return _StagedPullback(pullback, closed, seeded), tuple(residuals)


class _StagedPullback:
    """A pullback as a jaxpr of ``(*residuals, *cotangents of the seeded outputs)``: the form a
    pullback made under a transformation takes once it crosses a pytree boundary."""

    def __init__(self, pullback, closed, seeded):
        self.name = pullback.name
        self._closed = closed
        self._seeded = seeded
        self._in_tree = pullback._in_tree
        self._in_records = [(t is not None, shape) for t, shape, _, _ in pullback._in_records]
        self._out_tree = pullback._out_tree
        self._out_records = pullback._out_records

    def portable(self, residuals):
        return self, residuals

    def run(self, residuals, ct):
        ct_leaves = _cotangent_leaves(ct, self._out_tree, self._out_records, self.name)
        cts = []
        for k in self._seeded:
            c, dtype = ct_leaves[k], self._out_records[k][2]
            cts.append(c if isinstance(c, Array) and c.dtype == dtype else _convert(c, dtype))
        outs = iter(eval_closed(self._closed, *residuals, *cts))
        cts_in = [
            next(outs) if traced else Array(np.zeros(shape, _dtypes.float0), False)
            for traced, shape in self._in_records
        ]
        return tree_unflatten(self._in_tree, cts_in)


def _cotangent_leaves(ct, out_tree, out_records, name):
    """The leaves of a pullback's argument, checked against the primal output's tree and types."""
    ct_leaves, ct_tree = tree_flatten(ct)
    if ct_tree != out_tree:
        raise ValueError(
            f"unexpected tree structure. The argument to the VJP function {name} must match the "
            f"pytree structure of the differentiated function's output: the cotangent has tree "
            f"structure {ct_tree}, but the output had {out_tree}."
        )
    for c, (_, shape, dtype) in zip(ct_leaves, out_records, strict=True):
        _check_cotangent(c, shape, dtype)
    return ct_leaves


def _check_cotangent(c, shape, dtype):
    if dtype.kind not in "fc":
        return  # integer and boolean outputs take float0 cotangents; nothing flows back
    if isinstance(c, Array):
        c_shape, c_dtype, weak = c.shape, c.dtype, c.weak_type
    else:
        raw, weak = to_raw(c)
        c_shape, c_dtype = np.shape(raw), raw.dtype
    if c_shape != shape or not (c_dtype == dtype or (weak and c_dtype.kind == dtype.kind)):
        raise ValueError(
            f"unexpected JAX type (e.g. shape/dtype) for argument to VJP function: got "
            f"{_dtypes.type_str(c_shape, c_dtype)}, but expected {_dtypes.type_str(shape, dtype)} "
            f"because the corresponding output of the differentiated function had JAX type "
            f"{_dtypes.type_str(shape, dtype)}."
        )


def vjp(fun, *primals, has_aux=False):
    """Evaluate ``fun(*primals)`` and return its output and a function computing the VJP.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> y, f_vjp = jax.vjp(jnp.sin, 0.5)
    >>> f_vjp(1.0)
    (Array(0.87758255, dtype=float32, weak_type=True),)
    """
    check_callable(fun)
    in_leaves, in_tree = tree_flatten(primals)
    out, f_vjp, *aux = _vjp(fun, in_leaves, in_tree, has_aux, primals)
    return (out, Residualized(f_vjp), *aux)


_LEAF_TREEDEF = tree_flatten(0)[1]


def _vjp(fun, in_leaves, in_tree, has_aux, inputs=None, require_inexact=None):
    """``vjp`` on flat inputs. ``inputs`` is the tree errors name paths in; ``require_inexact``
    names the transformation that refuses integer inputs (grad without allow_int)."""
    interp = VJPInterp(state.interp)
    args = []
    records = []
    for leaf in in_leaves:
        if not isinstance(leaf, Array):
            if not is_valid_leaf(leaf):
                check_leaves(in_leaves, inputs)
            leaf = Array(*to_raw(leaf))
        value = leaf._value  # every Array and tracer keeps a value with .shape and .dtype
        dtype = value.dtype
        if require_inexact and dtype.kind not in "fc":
            check_inputs_inexact(in_leaves, inputs, require_inexact)
        if dtype.kind in "fc":
            t = interp.new_input(leaf)
            args.append(t)
            records.append((t, leaf.shape, dtype, t._weak))
        else:
            args.append(leaf)
            records.append((None, leaf.shape, dtype, False))
    saved = state.interp
    state.interp = interp
    try:
        out = fun(*tree_unflatten(in_tree, args))
    finally:
        state.interp = saved
        interp.active = False
    if has_aux:
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(
                f"expected function with aux output to return a two-element tuple, but got type "
                f"{type(out)} with value {out!r}. {fun_name(fun)} was transformed with "
                f"has_aux=True, so it must return a pair (output, auxiliary data)."
            )
        out, aux = out
        aux = tree_map(interp.to_parent, aux)
    if isinstance(out, Array):  # one array output: the common case of grad
        own = type(out) is VJPTracer and out._interp is interp
        p = interp.to_parent(out) if own else out
        out_records = [(out if own else None, p.shape, p.dtype)]
        f_vjp = _VJPFunction(interp, in_tree, records, _LEAF_TREEDEF, out_records, fun)
        return (p, f_vjp, aux) if has_aux else (p, f_vjp)
    out_leaves, out_tree = tree_flatten(out)
    out_records = []
    primal_out = []
    for o in out_leaves:
        if not is_valid_leaf(o):
            raise TypeError(
                f"{fun_name(fun)} returned {o!r} of type {type(o)}, which is not a valid JAX "
                f"type; differentiated functions must return arrays or pytrees of arrays."
            )
        p = interp.to_parent(o)
        if not isinstance(p, Array):
            p = Array(*to_raw(p))
        primal_out.append(p)
        out_records.append((o if interp.own(o) else None, p.shape, p.dtype))
    f_vjp = _VJPFunction(interp, in_tree, records, out_tree, out_records, fun)
    primal_out = tree_unflatten(out_tree, primal_out)
    if has_aux:
        return primal_out, f_vjp, aux
    return primal_out, f_vjp


def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """Return a function computing both ``fun``'s value and its gradient.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.value_and_grad(lambda x: jnp.sum(x ** 2))(jnp.array([1.0, 2.0]))
    (Array(5., dtype=float32), Array([2., 4.], dtype=float32))
    """
    return _value_and_grad(fun, argnums, has_aux, allow_int, "value_and_grad")


def _value_and_grad(fun, argnums, has_aux, allow_int, who):
    check_callable(fun)
    single, given = check_argnums(argnums, who)
    positions = {}  # per number of positional arguments
    name = fun_name(fun)

    @functools.wraps(fun)
    def value_and_grad_f(*args, **kwargs):
        nargs = len(args)
        nums = positions.get(nargs)
        if nums is None:
            nums = positions[nargs] = argnum_positions(fun, argnums, given, nargs, who)
        dyn = (args[nums[0]],) if len(nums) == 1 else tuple([args[i] for i in nums])
        leaves, in_tree = tree_flatten(dyn)
        inexact = None if allow_int else who

        def f_dyn(*dyn_args):
            full = list(args)
            for i, a in zip(nums, dyn_args, strict=True):
                full[i] = a
            return fun(*full, **kwargs)

        f_dyn.__name__ = name  # messages and printed programs name the user's function

        if has_aux:
            out, f_vjp, aux = _vjp(f_dyn, leaves, in_tree, True, dyn, inexact)
        else:
            out, f_vjp = _vjp(f_dyn, leaves, in_tree, False, dyn, inexact)
        value = getattr(out, "_value", None)
        if value is None or out.shape != () or value.dtype.kind != "f":
            _check_scalar_output(out, fun, who)
        tracer = f_vjp._out_records[0][0]
        seeds = []
        if tracer is not None:  # the output depends on the inputs
            seed = value.dtype.type(1)
            seeds.append((tracer._idx, seed if f_vjp._interp.raw else Array(seed, out.weak_type)))
        g = tree_unflatten(in_tree, f_vjp._input_cotangents(seeds))
        g = g[0] if single else g
        return ((out, aux), g) if has_aux else (out, g)

    return value_and_grad_f


def _check_scalar_output(out, fun, who):
    if not isinstance(out, Array):
        raise TypeError(
            f"Gradient only defined for scalar-output functions. Output was {out!r} "
            f"(of type {type(out).__name__}) in {fun_name(fun)}."
        )
    if out.shape != ():
        raise TypeError(
            f"Gradient only defined for scalar-output functions. Output had shape: {out.shape}."
        )
    if out.dtype.kind != "f":
        raise TypeError(
            f"grad requires real-valued outputs (output dtype that is a sub-dtype of "
            f"np.floating), but got {out.dtype.name}. For differentiation of functions with "
            f"integer or complex outputs, use pullback.vjp directly. ({who} of {fun_name(fun)}.)"
        )


def grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False, reduce_axes=()):
    """Return a function computing the gradient of scalar-valued ``fun``.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.grad(jnp.sin)(0.0)
    Array(1., dtype=float32, weak_type=True)
    """
    vg = _value_and_grad(fun, argnums, has_aux, allow_int, "grad")

    @functools.wraps(fun)
    def grad_f(*args, **kwargs):
        if has_aux:
            (_, aux), g = vg(*args, **kwargs)
            return g, aux
        return vg(*args, **kwargs)[1]

    return grad_f


def stop_gradient(x):
    """Stop gradients from flowing through ``x`` (any pytree).

    >>> import pullback as jax
    >>> jax.grad(lambda x: x * jax.lax.stop_gradient(x))(3.0)
    Array(3., dtype=float32, weak_type=True)
    """
    return tree_map(_stop_gradient, x)
