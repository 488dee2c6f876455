"""The transformations users call: ``vjp``, ``grad``, ``value_and_grad``, ``stop_gradient``;
forward mode (``jvp``, ``linearize``) and Jacobians (``jacfwd``, ``jacrev``, ``hessian``)."""

from __future__ import annotations

import functools
import inspect

import numpy as np

from pullback import _dtypes
from pullback._core import (
    EVAL,
    Array,
    ConcretizationTypeError,
    ShapedArray,
    Tracer,
    aval_of,
    is_valid_leaf,
    state,
    to_raw,
)
from pullback._hop.callback import CallbackNotBatchableError
from pullback._hop.forward import PartialStage
from pullback._interp.batch import batch_call
from pullback._interp.jvp import JVPInterp, zeros_like_tangent
from pullback._interp.vjp import VJPInterp, VJPTracer, backward
from pullback._ir import eval_closed
from pullback._ops import convert_element_type as _convert
from pullback._ops import full as _full
from pullback._ops import reshape as _reshape
from pullback._ops import slice_in_dim as _ops_slice
from pullback._ops import stack as _ops_stack
from pullback._ops import stop_gradient as _stop_gradient
from pullback._ops import transpose as _transpose
from pullback._ops._base import batch_at
from pullback.tree_util import (
    keystr,
    register_pytree_node,
    tree_flatten,
    tree_flatten_with_path,
    tree_map,
    tree_unflatten,
)


def _fun_name(fun):
    return getattr(fun, "__name__", None) or repr(fun)


def _check_leaves(leaves, tree, what="argument"):
    """Every leaf must be an array type; the error names the leaf's path in ``tree``."""
    if all(map(is_valid_leaf, leaves)):
        return
    for path, leaf in tree_flatten_with_path(tree)[0]:
        if not is_valid_leaf(leaf):
            where = f" at {what}{keystr(path)}" if path else f" ({what})"
            raise TypeError(
                f"Argument {leaf!r} of type {type(leaf)} is not a valid JAX type{where}. Only "
                f"arrays, NumPy values and Python scalars can be differentiated; pass other "
                f"values through a closure or a static/nondiff argument."
            )


class _VJPFunction:
    """The pullback returned by ``vjp``: maps an output cotangent to input cotangents."""

    def __init__(self, interp, in_tree, in_records, out_tree, out_records, fun):
        self._interp = interp
        self._in_tree = in_tree
        self._in_records = in_records  # (tracer or None, shape, dtype, weak) per input leaf
        self._out_tree = out_tree
        self._out_records = out_records  # (tracer or None, shape, dtype) per output leaf
        self._fun = fun

    @property
    def __name__(self):
        return f"vjp({_fun_name(self._fun)})"

    def __call__(self, ct):
        ct_leaves, ct_tree = tree_flatten(ct)
        if ct_tree != self._out_tree:
            raise ValueError(
                f"Tree structure of cotangent input {ct_tree} does not match structure of primal "
                f"output {self._out_tree}."
            )
        interp = self._interp
        raw = interp.raw
        # cotangents traced by a transformation applied to the pullback (vmap of it: jacrev):
        # the backward pass runs under that transformation, on the tape's values (which are
        # constants to it)
        lifted = state.interp is not interp.parent and any(isinstance(c, Tracer) for c in ct_leaves)
        seeds = []
        for c, (tracer, shape, dtype) in zip(ct_leaves, self._out_records, strict=True):
            _check_cotangent(c, shape, dtype)
            if tracer is not None:
                seeds.append((tracer._idx, to_raw(c)[0] if raw and not lifted else c))
        base = state.interp if lifted else None
        return tree_unflatten(self._in_tree, self._input_cotangents(seeds, base))

    def _input_cotangents(self, seeds, base=None):
        interp = self._interp
        cts = backward(interp, seeds, base) if seeds else None
        raw = interp.raw
        out = []
        for tracer, shape, dtype, weak in self._in_records:
            if dtype.kind not in "fc":
                out.append(Array(np.zeros(shape, _dtypes.float0), False))
                continue
            ct = cts[tracer._idx] if cts is not None else None
            if ct is None:
                out.append(Array(np.zeros(shape, dtype), weak))
            elif isinstance(ct, Tracer):
                # the gradient of a weakly typed input is weakly typed, as in JAX (a backward
                # pass lifted onto raw tape values, or staged, may have lost the flag)
                if ct.dtype != dtype or ct.weak_type != weak:
                    ct = _convert(ct, dtype, weak)
                out.append(ct)
            elif raw:
                if ct.dtype != dtype:
                    ct = ct.astype(dtype)
                out.append(Array(ct, weak))
            else:
                out.append(ct)
        return out


# A pullback is a pytree with no leaves, so it can be returned from transformed functions and
# stored as a custom_vjp residual.
register_pytree_node(_VJPFunction, lambda f: ((), f), lambda f, _: f)


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
            f"because the corresponding output of the function had type "
            f"{_dtypes.type_str(shape, dtype)}."
        )


def vjp(fun, *primals, has_aux=False):
    """Evaluate ``fun(*primals)`` and return its output and a function computing the VJP.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> y, f_vjp = jax.vjp(jnp.sin, 0.5)
    >>> f_vjp(1.0)
    (Array(0.87758255, dtype=float32, weak_type=True),)
    """
    in_leaves, in_tree = tree_flatten(primals)
    return _vjp(fun, in_leaves, in_tree, has_aux, primals)


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
                _check_leaves(in_leaves, inputs)
            leaf = Array(*to_raw(leaf))
        value = leaf._value  # every Array and tracer keeps a value with .shape and .dtype
        dtype = value.dtype
        if require_inexact and dtype.kind not in "fc":
            _check_inputs_inexact(in_leaves, inputs, require_inexact)
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
                f"{_fun_name(fun)} was transformed with has_aux=True, so it must return a pair "
                f"(output, auxiliary data), but it returned {type(out).__name__}."
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
                f"{_fun_name(fun)} returned {o!r} of type {type(o)}, which is not a valid JAX "
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


def _check_argnums(argnums, who):
    """``(single, nums)`` from an int or a sequence of ints, checked when ``grad`` is built."""
    single = isinstance(argnums, (int, np.integer))
    nums = (int(argnums),) if single else tuple(argnums)
    if not nums:
        raise ValueError(f"{who}: argnums must be an int or a non-empty tuple of ints, got ().")
    for n in nums:
        if not isinstance(n, (int, np.integer)):
            raise TypeError(f"{who}: argnums must be ints, got {n!r} of type {type(n)}.")
    return single, nums


def _positions(fun, argnums, nums, nargs, who):
    """``nums`` as non-negative positions for a call with ``nargs`` positional arguments."""
    for n in nums:
        if not -nargs <= n < nargs:
            raise TypeError(
                f"{who} of {_fun_name(fun)}: differentiating with respect to argnums={argnums} "
                f"requires at least {(n if n >= 0 else -n - 1) + 1} positional arguments to be "
                f"passed by the caller, but got only {nargs} positional arguments."
            )
    return tuple(n % nargs for n in nums)


def _check_inputs_inexact(leaves, dyn, who):
    for k, leaf in enumerate(leaves):
        dtype = leaf._value.dtype if isinstance(leaf, Array) else to_raw(leaf)[0].dtype
        if dtype.kind not in "fc":
            path = tree_flatten_with_path(dyn)[0][k][0]
            raise TypeError(
                f"{who} requires real- or complex-valued inputs (input dtype that is a sub-dtype "
                f"of np.inexact), but got {dtype.name} at argument{keystr(path)}. If you want to "
                f"use Boolean- or integer-valued inputs, use vjp or set allow_int to True."
            )


def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """Return a function computing both ``fun``'s value and its gradient.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.value_and_grad(lambda x: jnp.sum(x ** 2))(jnp.array([1.0, 2.0]))
    (Array(5., dtype=float32), Array([2., 4.], dtype=float32))
    """
    return _value_and_grad(fun, argnums, has_aux, allow_int, "value_and_grad")


def _value_and_grad(fun, argnums, has_aux, allow_int, who):
    single, given = _check_argnums(argnums, who)
    positions = {}  # per number of positional arguments

    @functools.wraps(fun)
    def value_and_grad_f(*args, **kwargs):
        nargs = len(args)
        nums = positions.get(nargs)
        if nums is None:
            nums = positions[nargs] = _positions(fun, argnums, given, nargs, who)
        dyn = (args[nums[0]],) if len(nums) == 1 else tuple([args[i] for i in nums])
        leaves, in_tree = tree_flatten(dyn)
        inexact = None if allow_int else who

        def f_dyn(*dyn_args):
            full = list(args)
            for i, a in zip(nums, dyn_args, strict=True):
                full[i] = a
            return fun(*full, **kwargs)

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
            f"(of type {type(out).__name__}) in {_fun_name(fun)}."
        )
    if out.shape != ():
        raise TypeError(
            f"Gradient only defined for scalar-output functions. Output had shape: {out.shape}."
        )
    if out.dtype.kind != "f":
        raise TypeError(
            f"{who} requires real-valued outputs (output dtype that is a sub-dtype of "
            f"np.floating), but got {out.dtype.name}. For differentiation of functions with "
            f"integer or complex outputs, use pullback.vjp directly."
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


# -- forward mode ---------------------------------------------------------------------------------


def _check_jvp_arguments(primals, tangents):
    """JAX's checks of ``jvp``'s arguments; returns the flat primals, tangents and tree."""
    for what, value in (("primal", primals), ("tangent", tangents)):
        if not isinstance(value, (tuple, list)):
            raise TypeError(
                f"{what} and tangent arguments to jax.jvp must be tuples or lists; found "
                f"{type(value).__name__}."
            )
    p_leaves, p_tree = tree_flatten(tuple(primals))
    t_leaves, t_tree = tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise TypeError(
            f"primal and tangent arguments to jax.jvp must have the same tree structure; primals "
            f"have tree structure {p_tree} whereas tangents have tree structure {t_tree}."
        )
    _check_leaves(p_leaves, tuple(primals), "primals")
    _check_leaves(t_leaves, tuple(tangents), "tangents")
    paths = None
    for k, (p, t) in enumerate(zip(p_leaves, t_leaves, strict=True)):
        pa, ta = _aval(p), _aval(t)
        expected = _dtypes.tangent_dtype(pa.dtype)
        if pa.shape != ta.shape or ta.dtype != expected:
            paths = paths or [keystr(path) for path, _ in tree_flatten_with_path(tuple(primals))[0]]
            where = f" at primals{paths[k]}"
            if pa.shape != ta.shape:
                raise ValueError(
                    f"jvp called with different primal and tangent shapes{where}: got primal "
                    f"shape {pa.shape} and tangent shape as {ta.shape}."
                )
            expected = "float0" if expected == _dtypes.float0 else expected.name
            raise TypeError(
                f"primal and tangent arguments to jax.jvp do not match{where}; dtypes must be "
                f"equal, or in case of int/bool primal dtype the tangent dtype must be float0. "
                f"Got primal dtype {pa.dtype.name} and so expected tangent dtype "
                f"{expected}, but got tangent dtype {ta.dtype.name} instead."
            )
    return p_leaves, t_leaves, p_tree


def _aval(x):
    if isinstance(x, Array):
        return x.aval
    if isinstance(x, np.ndarray) and x.dtype == _dtypes.float0:  # NumPy cannot canonicalize it
        return ShapedArray(x.shape, x.dtype)
    raw, weak = to_raw(x)
    return ShapedArray(np.shape(raw), raw.dtype, weak)


def _run_jvp(fun, p_leaves, t_leaves, tree, has_aux):
    """``fun`` under a fresh forward-mode interpreter; returns ``(out, out tangents, aux)``."""
    interp = JVPInterp(state.interp)
    args = []
    for p, t in zip(p_leaves, t_leaves, strict=True):
        if not isinstance(p, Array):
            p = Array(*to_raw(p))
        if p.dtype.kind in "fc":
            t = t if isinstance(t, Array) else Array(*to_raw(t))
            args.append(interp.lift(p, t))
        else:
            args.append(p)
    saved = state.interp
    state.interp = interp
    try:
        out = fun(*tree_unflatten(tree, args))
    finally:
        state.interp = saved
        interp.active = False
    aux = None
    if has_aux:
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(
                f"{_fun_name(fun)} was transformed with has_aux=True, so it must return a pair "
                f"(output, auxiliary data), but it returned {type(out).__name__}."
            )
        out, aux = out
        aux = tree_map(interp.primal, aux)
    out_leaves, out_tree = tree_flatten(out)
    primals_out, tangents_out = [], []
    for o in out_leaves:
        if not is_valid_leaf(o):
            raise TypeError(
                f"{_fun_name(fun)} returned {o!r} of type {type(o)}, which is not a valid JAX "
                f"type; differentiated functions must return arrays or pytrees of arrays."
            )
        p = interp.primal(o)
        if not isinstance(p, Array):
            p = Array(*to_raw(p))
        primals_out.append(p)
        t = interp.tangent(o)
        if t is None:
            t = zeros_like_tangent(p)
        elif t.weak_type != p.weak_type:  # a tangent takes its primal's weak type, as in JAX
            t = _convert(t, t.dtype, p.weak_type)
        tangents_out.append(t)
    return tree_unflatten(out_tree, primals_out), tree_unflatten(out_tree, tangents_out), aux


def jvp(fun, primals, tangents, has_aux=False):
    """``(fun(*primals), J tangents)``: the Jacobian-vector product of ``fun`` in forward mode.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.jvp(jnp.sin, (0.0,), (2.0,))
    (Array(0., dtype=float32, weak_type=True), Array(2., dtype=float32, weak_type=True))
    """
    p_leaves, t_leaves, tree = _check_jvp_arguments(primals, tangents)
    out, t_out, aux = _run_jvp(fun, p_leaves, t_leaves, tree, has_aux)
    return (out, t_out, aux) if has_aux else (out, t_out)


class _LinearizedFunction:
    """The linear map ``linearize`` returns: runs the staged tangent jaxpr."""

    def __init__(self, closed, primals, in_tree, inexact, out_tree, fun, weaks):
        self._weaks = weaks  # the primal outputs' weak types, which the tangents take (as JAX)
        self._closed = closed
        self._primals = primals
        self._in_tree = in_tree
        self._inexact = inexact
        self._out_tree = out_tree
        self._fun = fun

    @property
    def __name__(self):
        return f"jvp({_fun_name(self._fun)})"

    def __call__(self, *tangents):
        _, t_leaves, _ = _check_jvp_arguments(self._primals, tangents)
        ins = [t for t, m in zip(t_leaves, self._inexact, strict=True) if m]
        outs = [
            Array(o._value, w) if type(o) is Array else o
            for o, w in zip(eval_closed(self._closed, *ins), self._weaks, strict=True)
        ]
        return tree_unflatten(self._out_tree, outs)


register_pytree_node(_LinearizedFunction, lambda f: ((), f), lambda f, _: f)


def linearize(fun, *primals):
    """``(fun(*primals), f_jvp)``: the primal computed now, and the linear map ``f_jvp(*tangents)``
    staged into a jaxpr (``make_jaxpr(f_jvp)`` shows it).

    >>> import pullback as jax, pullback.numpy as jnp
    >>> y, f_jvp = jax.linearize(jnp.sin, 0.0)
    >>> f_jvp(2.0)
    Array(2., dtype=float32, weak_type=True)
    """
    leaves, tree = tree_flatten(primals)
    _check_leaves(leaves, primals, "primals")
    leaves = [x if isinstance(x, Array) else Array(*to_raw(x)) for x in leaves]
    stage = PartialStage(EVAL, f"the function {_fun_name(fun)} for linearize")
    interp = JVPInterp(EVAL, tangent_level=stage)
    inexact = [x.dtype.kind in "fc" for x in leaves]
    args = [
        interp.lift(x, stage.new_input(ShapedArray(x.shape, x.dtype, x.weak_type))) if m else x
        for x, m in zip(leaves, inexact, strict=True)
    ]
    if state.interp is not EVAL:
        raise NotImplementedError(
            f"linearize of {_fun_name(fun)}: only available outside other transformations in "
            f"pullback; use jvp there."
        )
    state.interp = interp
    try:
        out = fun(*tree_unflatten(tree, args))
    finally:
        state.interp = EVAL
        interp.active = False
    out_leaves, out_tree = tree_flatten(out)
    primals_out, tangents_out = [], []
    state.interp = stage
    try:
        for o in out_leaves:
            p = interp.primal(o)
            p = p if isinstance(p, Array) else Array(*to_raw(p))
            primals_out.append(p)
            t = interp.tangent(o)
            if t is None:
                t = _zeros_at(p)
            tangents_out.append(t)
        closed = stage.to_jaxpr(tangents_out)
    finally:
        state.interp = EVAL
        stage.active = False
    weaks = [p.weak_type for p in primals_out]
    f_jvp = _LinearizedFunction(closed, primals, tree, inexact, out_tree, fun, weaks)
    return tree_unflatten(out_tree, primals_out), f_jvp


def _zeros_at(p):
    dtype = _dtypes.tangent_dtype(p.dtype)
    if dtype == _dtypes.float0:
        return Array(np.zeros(p.shape, dtype), False)
    return _full(p.shape, 0, dtype)


# -- Jacobians --------------------------------------------------------------------------------


def _jac_inputs(fun, argnums, args, who):
    single, given = _check_argnums(argnums, who)
    nums = _positions(fun, argnums, given, len(args), who)
    dyn = args[nums[0]] if single else tuple(args[i] for i in nums)
    leaves, in_tree = tree_flatten(dyn)
    _check_leaves(leaves, dyn)
    leaves = [x if isinstance(x, Array) else Array(*to_raw(x)) for x in leaves]
    for k, x in enumerate(leaves):
        if x.dtype.kind != "f":
            path = tree_flatten_with_path(dyn)[0][k][0]
            raise TypeError(
                f"{who} requires real-valued inputs (input dtype that is a sub-dtype of "
                f"np.floating), but got {x.dtype.name} at argument{keystr(path)}. For holomorphic "
                f"differentiation, pass holomorphic=True (not supported by pullback yet). For "
                f"differentiation of non-holomorphic functions involving complex inputs or "
                f"integer inputs, use jax.jvp directly."
            )
    return nums, single, leaves, in_tree


def _with_dyn(fun, args, kwargs, nums, single, in_tree):
    def f_dyn(*dyn_leaves):
        dyn = tree_unflatten(in_tree, list(dyn_leaves))
        full = list(args)
        for i, a in zip(nums, (dyn,) if single else dyn, strict=True):
            full[i] = a
        return fun(*full, **kwargs)

    return f_dyn


def _push_basis(push, leaves):
    """``push(basis element)`` (a list of leaves) for every one-hot basis element of ``leaves``,
    each result leaf stacked along a new leading axis (one row per element, in order).

    Run once under ``vmap``, as JAX does. When a rule needs the concrete value of a basis element
    (a ``custom_vjp`` whose ``bwd`` runs an iterative solver on its cotangent, or calls foreign
    code through a ``pure_callback`` without a ``vmap_method``: JAX cannot differentiate either
    this way), ``push`` runs once per element instead."""
    sizes = [x.size for x in leaves]
    n = sum(sizes)
    basis, start = [], 0
    for x, m in zip(leaves, sizes, strict=True):
        rows = np.zeros((n, m), x.dtype)
        rows[start : start + m] = np.eye(m, dtype=x.dtype)
        basis.append(Array(rows.reshape((n, *x.shape)), x.weak_type))
        start += m
    try:
        values, dims = batch_call(lambda *b: push(list(b)), basis, [0] * len(basis), n)
    except (ConcretizationTypeError, CallbackNotBatchableError):
        rows = [push([Array(b._value[j], b._weak) for b in basis]) for j in range(n)]
        return [_stack([r[i] for r in rows]) for i in range(len(rows[0]))]
    return [batch_at(v, d, n) for v, d in zip(values, dims, strict=True)]


def _stack(xs):
    return _ops_stack([x if isinstance(x, Array) else Array(*to_raw(x)) for x in xs], 0)


def jacfwd(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian of ``fun`` by forward mode (the JVPs along every input element, in one
    batched pass).

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.jacfwd(lambda x: x ** 2)(jnp.array([1.0, 2.0]))
    Array([[2., 0.],
           [0., 4.]], dtype=float32)
    """
    _check_holomorphic(holomorphic, "jacfwd")

    @functools.wraps(fun)
    def jacfun(*args, **kwargs):
        nums, single, leaves, in_tree = _jac_inputs(fun, argnums, args, "jacfwd")
        f_dyn = _with_dyn(fun, args, kwargs, nums, single, in_tree)
        first = []

        def push(tangents):
            out, t_out, aux = _run_jvp(f_dyn, leaves, tangents, _flat_tree(len(leaves)), has_aux)
            if not first:
                first.append((out, aux))
            return tree_flatten(t_out)[0]

        if leaves:
            stacked = _push_basis(push, leaves)
            out, aux = first[0]
        else:
            out, _, aux = _run_jvp(f_dyn, leaves, [], _flat_tree(0), has_aux)
        out_leaves, out_tree = tree_flatten(out)
        jac = []
        for k, o in enumerate(out_leaves):
            per_input = []
            start = 0
            for x in leaves:
                n = x.size
                if o.dtype.kind not in "fc":  # no derivative: zeros of the output's dtype (JAX)
                    per_input.append(Array(np.zeros((*o.shape, *x.shape), o.dtype), False))
                    continue
                block = _ops_slice(stacked[k], start, start + n, 0)
                start += n
                # (inputs, *out) -> (*out, *inputs)
                block = _reshape(block, (*x.shape, *o.shape))
                perm = tuple(range(x.ndim, x.ndim + o.ndim)) + tuple(range(x.ndim))
                per_input.append(_transpose(block, perm))
            jac.append(tree_unflatten(in_tree, per_input))
        result = tree_unflatten(out_tree, jac)
        return (result, aux) if has_aux else result

    return jacfun


def jacrev(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """The Jacobian of ``fun`` by reverse mode (the VJPs of every output element, in one batched
    pass).

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.jacrev(lambda x: x ** 2)(jnp.array([1.0, 2.0]))
    Array([[2., 0.],
           [0., 4.]], dtype=float32)
    """
    _check_holomorphic(holomorphic, "jacrev")

    @functools.wraps(fun)
    def jacfun(*args, **kwargs):
        nums, single, leaves, in_tree = _jac_inputs(fun, argnums, args, "jacrev")
        f_dyn = _with_dyn(fun, args, kwargs, nums, single, in_tree)
        flat_tree = _flat_tree(len(leaves))
        if has_aux:
            out, f_vjp, aux = _vjp(f_dyn, leaves, flat_tree, True)
        else:
            out, f_vjp = _vjp(f_dyn, leaves, flat_tree, False)
        out_leaves, out_tree = tree_flatten(out)
        for o in out_leaves:
            if o.dtype.kind != "f":
                raise TypeError(
                    f"jacrev requires real-valued outputs (output dtype that is a sub-dtype of "
                    f"np.floating), but got {o.dtype.name}. For holomorphic differentiation, "
                    f"pass holomorphic=True. For differentiation of non-holomorphic functions "
                    f"involving complex outputs, use jax.vjp directly."
                )
        stacked = (
            _push_basis(lambda cts: list(f_vjp(tree_unflatten(out_tree, cts))), out_leaves)
            if out_leaves
            else []
        )
        per_out = [[None] * len(leaves) for _ in out_leaves]
        for i, x in enumerate(leaves):
            start = 0
            for k, o in enumerate(out_leaves):
                block = _ops_slice(stacked[i], start, start + o.size, 0)
                start += o.size
                per_out[k][i] = _reshape(block, (*o.shape, *x.shape))
        jac = tree_unflatten(out_tree, [tree_unflatten(in_tree, row) for row in per_out])
        return (jac, aux) if has_aux else jac

    return jacfun


jacobian = jacrev


def hessian(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Hessian of scalar ``fun``: ``jacfwd(jacrev(fun))``.

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.hessian(lambda x: jnp.sum(x ** 3))(jnp.array([1.0, 2.0]))
    Array([[ 6.,  0.],
           [ 0., 12.]], dtype=float32)
    """
    return jacfwd(
        jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic),
        argnums,
        has_aux=has_aux,
        holomorphic=holomorphic,
    )


def _check_holomorphic(holomorphic, who):
    if holomorphic:
        raise NotImplementedError(
            f"{who}: holomorphic=True is not supported by pullback yet; differentiate the real "
            f"and imaginary parts separately."
        )


@functools.cache
def _flat_tree(n):
    return tree_flatten((0,) * n)[1]


# -- vmap --------------------------------------------------------------------------------------


def _axis_spec_ok(spec):
    return all(
        a is None or (isinstance(a, (int, np.integer)) and not isinstance(a, bool))
        for a in tree_flatten(spec, is_leaf=lambda x: x is None)[0]
    )


def _flatten_axes(what, value_tree, spec):
    """One axis (or None) per leaf of ``value_tree``, from ``spec``, a prefix of it."""
    specs, spec_def = tree_flatten(spec, is_leaf=lambda x: x is None)
    try:
        subtrees = spec_def.flatten_up_to(value_tree)
    except (ValueError, TypeError):
        raise ValueError(
            f"{what} specification must be a tree prefix of the corresponding value, got "
            f"specification {spec} for value tree {tree_flatten(value_tree)[1]}."
        ) from None
    dims = []
    for ax, sub in zip(specs, subtrees, strict=True):
        dims += [None if ax is None else int(ax)] * len(tree_flatten(sub)[0])
    return dims


def _argument_names(fun, paths):
    """``argument x['a']`` / ``kwargs['k']`` for paths into ``(args, kwargs)``, as JAX names
    vmapped arguments in its errors."""
    try:
        params = list(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        params = []
    names = []
    for path in paths:
        if path[0].idx == 1:
            names.append(f"kwargs{keystr(path[1:])}")
            continue
        i = path[1].idx
        name = params[i] if i < len(params) else f"args[{i}]"
        names.append(f"argument {name}{keystr(path[2:])}")
    return names


def _mapped_size(fun, args, kwargs, leaves, dims, axis_size):
    """The size of the mapped axis, or JAX's error naming the arguments that disagree."""
    sizes = {}
    for k, (x, d) in enumerate(zip(leaves, dims, strict=True)):
        if d is not None:
            sizes.setdefault(np.shape(x)[d], []).append(k)
    if not sizes:
        if axis_size is None:
            raise ValueError(
                "vmap must have at least one non-None value in in_axes or axis_size must be "
                "specified"
            )
        return int(axis_size)
    if len(sizes) == 1 and (axis_size is None or axis_size in sizes):
        return next(iter(sizes))
    paths = [p for p, _ in tree_flatten_with_path((args, kwargs))[0]]
    names = _argument_names(fun, paths)

    def example(k):
        return f"axis {dims[k]} of {names[k]} of type {aval_of(leaves[k]).str_short()}"

    lines = [] if axis_size is None else [f"the `axis_size` argument was {axis_size}"]
    for rank, (size, ks) in enumerate(sorted(sizes.items(), key=lambda kv: -len(kv[1]))):
        if len(ks) == 1:
            lines.append(f"one axis had size {size}: {example(ks[0])}")
        else:
            which = "most" if rank == 0 else "some"
            lines.append(f"{which} axes ({len(ks)} of them) had size {size}, e.g. {example(ks[0])}")
    raise ValueError(
        "vmap got inconsistent sizes for array axes to be mapped:\n"
        + ";\n".join(f"  * {line}" for line in lines)
    )


def vmap(fun, in_axes=0, out_axes=0, axis_name=None, axis_size=None, spmd_axis_name=None):
    """Vectorise ``fun`` over an axis of its arguments: ``vmap(f)(xs)`` stacks ``f(x)`` for each
    ``x`` along axis 0 of ``xs``, computed in one batched program (no Python loop).

    ``in_axes``: an int, None (not mapped), or a pytree prefix of the positional arguments with
    those as leaves (keyword arguments are mapped along axis 0). ``out_axes``: where the mapped
    axis goes in each output (a prefix of the output pytree; None for outputs that must not
    depend on the mapped axis). ``axis_size`` is needed when nothing is mapped. ``axis_name``
    names the axis for ``lax.psum``/``pmean``/``pmax``/``pmin``/``axis_index`` inside ``fun``.
    ``spmd_axis_name`` is accepted and ignored (there are no devices).

    >>> import pullback as jax, pullback.numpy as jnp
    >>> jax.vmap(jnp.dot, in_axes=(0, None))(jnp.ones((3, 2)), jnp.arange(2.0))
    Array([1., 1., 1.], dtype=float32)
    >>> jax.vmap(lambda x: x - jax.lax.pmean(x, "i"), axis_name="i")(jnp.arange(3.0))
    Array([-1.,  0.,  1.], dtype=float32)
    """
    if not callable(fun):
        raise TypeError(f"vmap requires a callable as its first argument, got {fun!r}.")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)  # as JAX: a list of axes is read as a tuple
    if not (in_axes is None or type(in_axes) in (int, tuple)) or not _axis_spec_ok(in_axes):
        raise TypeError(
            f"vmap in_axes must be an int, None, or a tuple of entries corresponding to the "
            f"positional arguments passed to the function, but got {in_axes}."
        )
    if not _axis_spec_ok(out_axes):
        raise TypeError(
            f"vmap out_axes must be an int, None, or (nested) container with those types as "
            f"leaves, but got {out_axes}."
        )

    # the axes flattened to one per leaf, per pytree structure of the arguments and outputs
    in_dims_of_tree, out_dims_of_tree = {}, {}

    @functools.wraps(fun)
    def vmap_f(*args, **kwargs):
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(
                f"vmap in_axes must be an int, None, or a tuple of entries corresponding to the "
                f"positional arguments passed to the function, but got len(in_axes)="
                f"{len(in_axes)}, len(args)={len(args)}"
            )
        leaves, tree = tree_flatten((args, kwargs))
        _check_leaves(leaves, (args, kwargs))
        dims = in_dims_of_tree.get(tree)
        if dims is None:
            dims = in_dims_of_tree[tree] = _flatten_axes(
                "vmap in_axes", (args, kwargs), (in_axes, 0)
            )
        in_dims = []  # non-negative
        for x, d in zip(leaves, dims, strict=True):
            if d is None:
                in_dims.append(None)
                continue
            ndim = len(x.shape) if isinstance(x, Array) else np.ndim(x)
            if not -ndim <= d < ndim:
                raise ValueError(
                    f"vmap was requested to map its argument along axis {d}, which implies that "
                    f"its rank should be at least {d + 1 if d >= 0 else -d}, but is only {ndim} "
                    f"(its shape is {np.shape(x)})"
                )
            in_dims.append(d % ndim)
        size = _mapped_size(fun, args, kwargs, leaves, dims, axis_size)
        out_trees = []

        def flat_fun(*flat):
            a, k = tree_unflatten(tree, flat)
            out_leaves, out_tree = tree_flatten(fun(*a, **k))
            out_trees.append(out_tree)
            return out_leaves

        values, out_dims = batch_call(flat_fun, leaves, in_dims, size, axis_name)
        out_tree = out_trees[0]
        axes = out_dims_of_tree.get(out_tree)
        if axes is None:
            axes = out_dims_of_tree[out_tree] = _flatten_axes(
                "vmap out_axes", tree_unflatten(out_tree, values), out_axes
            )
        outs = []
        for v, d, ax in zip(values, out_dims, axes, strict=True):
            if ax is None:
                if d is not None:
                    raise ValueError(
                        f"at vmap out_axes, got axis spec None but output was batched on axis {d}"
                    )
                outs.append(v)
                continue
            ndim = v.ndim + (d is None)
            if not -ndim <= ax < ndim:
                raise ValueError(f"axis {ax} is out of bounds for array of dimension {ndim}")
            outs.append(batch_at(v, d, size, ax % ndim))
        return tree_unflatten(out_tree, outs)

    return vmap_f
