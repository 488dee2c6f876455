"""Jacobians: ``jacfwd``, ``jacrev`` (``jacobian``), ``hessian``."""

from __future__ import annotations

import functools

import numpy as np

from pullback._api._common import argnum_positions, check_argnums, check_leaves
from pullback._api.forward import _run_jvp
from pullback._api.reverse import _vjp
from pullback._core import (
    Array,
    ConcretizationTypeError,
    to_raw,
)
from pullback._hop.callback import CallbackNotBatchableError
from pullback._interp.batch import batch_call
from pullback._ops import reshape as _reshape
from pullback._ops import slice_in_dim as _ops_slice
from pullback._ops import stack as _ops_stack
from pullback._ops import transpose as _transpose
from pullback._ops._base import batch_at
from pullback.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_unflatten,
)


def _jac_inputs(fun, argnums, args, who):
    single, given = check_argnums(argnums, who)
    nums = argnum_positions(fun, argnums, given, len(args), who)
    dyn = args[nums[0]] if single else tuple(args[i] for i in nums)
    leaves, in_tree = tree_flatten(dyn)
    check_leaves(leaves, dyn)
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
