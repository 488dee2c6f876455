"""Checking what a ``custom_vjp``'s ``fwd`` and ``bwd`` return.

``fwd`` must return a pair (``_check_pair``) whose residuals are valid JAX types
(``_check_residuals``) and, when ``fun``'s output type is known (a staged call), whose first
element has ``fun``'s pytree structure and types (``_check_fwd_output``, spec E5/E6).
``_check_bwd_output`` matches ``bwd``'s result against the differentiable arguments' pytrees: one
cotangent per argument, None allowed for any subtree, messages naming the argument, the leaf path
and ``float32[3]``-style types; floats of another precision are cast, integer cotangents and
broadcastable shapes rejected. The reverse-mode and batching rules (``_hop/custom_vjp.py``) and
the forward-mode rule (``_hop/forward.py``) share these checks.
"""

from __future__ import annotations

import warnings

import numpy as np
import optree

from pullback import _dtypes
from pullback._core import Array, aval_of, is_valid_leaf, to_raw
from pullback._hop.custom_call import (
    CustomVJPPrimal,
    SymbolicZero,
    _all_valid,
    _flatten,
    _name,
)
from pullback._ops import convert_element_type
from pullback.tree_util import (
    DictKey,
    GetAttrKey,
    SequenceKey,
    keystr,
    tree_flatten_with_path,
    tree_leaves,
    tree_unflatten,
)


def _check_pair(cv, pair):
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise TypeError(
            f"Custom VJP fwd rule {_name(cv.fwd)} for function {cv.__name__} must produce a pair "
            f"(list or tuple of length two) where the first element represents the primal output "
            f"(equal to the output of the custom_vjp-decorated function {cv.__name__}) and the "
            f"second element represents residuals (i.e. values stored from the forward pass for "
            f"use on the backward pass), but instead of a pair the fwd rule {_name(cv.fwd)} "
            f"produced {pair!r}."
        )


def _check_fwd_output(call, out, fun_avals):
    """Spec E5/E6: ``fwd``'s primal output must have ``fun``'s pytree structure and types."""
    cv = call.cv
    leaves, tree = _flatten(out)
    start = (
        f"Custom VJP fwd rule {_name(cv.fwd)} for function {cv.__name__} must produce a pair "
        f"whose first element has the same pytree structure, shapes and dtypes as the output "
        f"of {cv.__name__}, but"
    )
    if tree != call.out_tree:
        raise TypeError(
            f"{start} fwd's first element had container/pytree structure {tree} while "
            f"{cv.__name__} had output structure {call.out_tree}. Fix {_name(cv.fwd)} to return "
            f"(output, residuals) with output exactly what {cv.__name__} returns."
        )
    for k, (leaf, aval) in enumerate(zip(leaves, fun_avals, strict=True)):
        got = aval_of(leaf)
        if (got.shape, got.dtype) != (aval.shape, aval.dtype):
            where = f" (output leaf {k})" if len(fun_avals) > 1 else ""
            raise TypeError(
                f"{start} fwd's first element had shapes/dtypes of {got.str_short()}{where} "
                f"while {cv.__name__} had output shapes/dtypes of {aval.str_short()}. Fix "
                f"{_name(cv.fwd)} to return (output, residuals) with output exactly what "
                f"{cv.__name__} returns."
            )


def _check_residuals(cv, res):
    if _all_valid(tree_leaves(res)):
        return
    for path, leaf in tree_flatten_with_path(res)[0]:
        if not is_valid_leaf(leaf):
            hint = (
                " Unwrap CustomVJPPrimal arguments with .value (or "
                "custom_vjp_primal_tree_values) before storing them."
                if type(leaf) is CustomVJPPrimal
                else " Pass non-array data through nondiff_argnums or a closure instead."
            )
            raise TypeError(
                f"Custom VJP fwd rule {_name(cv.fwd)} of {cv.__name__}: residual "
                f"{keystr(path) or '(the whole residual)'} is {leaf!r} of type {type(leaf)}, "
                f"which is not a valid JAX type.{hint}"
            )


def _check_bwd_output(call, result, vals):
    """Validate ``bwd``'s result against the differentiable arguments; return flat leaf cts."""
    cv = call.cv
    sig = cv._signature
    n = len(call.diff_pos)
    if type(result) is list:
        result = tuple(result)
    if type(result) is not tuple or len(result) != n:
        got = (
            f"a {type(result).__name__} of length {len(result)}"
            if isinstance(result, (tuple, list))
            else f"{type(result).__name__} {optree.tree_structure(result, namespace='pullback')}"
        )
        names = ", ".join(sig.arg_name(i) for i in call.diff_pos)
        raise TypeError(
            f"Custom VJP bwd rule {_name(cv.bwd)} of {cv.__name__} must produce a tuple with one "
            f"cotangent per differentiable argument ({n}: {names}; nondiff arguments get none), "
            f"using None for a zero cotangent, but got {got}. The primal input structure is "
            f"{call.in_tree}."
        )
    if call.flat:
        # every differentiable argument is a single array: the common case, checked inline
        flat = []
        for pos, val, entry in zip(call.diff_pos, vals, result, strict=True):
            if type(entry) is Array and type(val) is Array:
                e, v = entry._value, val._value
                if e.dtype is v.dtype and e.shape == v.shape and e.dtype.kind in "fc":
                    flat.append(entry)
                    continue
            flat.append(_check_leaf(cv, sig.arg_name(pos), (), aval_of(val), entry))
        return flat
    # the arguments rebuilt from their own leaves, so custom nodes' unflatten sees real values
    primal_args = tree_unflatten(call.in_tree, vals)
    flat = []
    for pos, arg, entry in zip(call.diff_pos, primal_args, result, strict=True):
        _match(cv, sig.arg_name(pos), arg, entry, (), flat)
    return flat


def _match(cv, argname, primal, ct, path, out):
    """Append to ``out`` one checked cotangent (or None) per leaf of ``primal``."""
    if is_valid_leaf(primal):
        out.append(_check_leaf(cv, argname, path, aval_of(primal), ct))
        return
    children, meta, entries, _ = optree.tree_flatten_one_level(primal, namespace="pullback")
    if ct is None:
        for child in children:
            _match(cv, argname, child, None, path, out)
        return
    ct_children = None
    if type(ct) is type(primal):
        ct_children, ct_meta, _, _ = optree.tree_flatten_one_level(ct, namespace="pullback")
        if ct_meta != meta or len(ct_children) != len(children):
            ct_children = None
    if ct_children is None:
        raise TypeError(
            f"Custom VJP bwd rule {_name(cv.bwd)} of {cv.__name__}: the cotangent for argument "
            f"{argname!r}{' at ' + keystr(path) if path else ''} must have the argument's pytree "
            f"structure {optree.tree_structure(primal, namespace='pullback')} (None "
            f"allowed for any subtree), but got "
            f"{optree.tree_structure(ct, none_is_leaf=True, namespace='pullback')}."
        )
    for entry, child, ct_child in zip(entries, children, ct_children, strict=True):
        _match(cv, argname, child, ct_child, path + (_key(primal, entry),), out)


def _key(node, entry):
    if isinstance(node, dict):
        return DictKey(entry)
    if isinstance(node, (tuple, list)) and not hasattr(node, "_fields"):
        return SequenceKey(entry)
    if hasattr(node, "_fields"):
        return GetAttrKey(node._fields[entry] if isinstance(entry, int) else entry)
    return GetAttrKey(entry) if isinstance(entry, str) else SequenceKey(entry)


def _check_leaf(cv, argname, path, aval, ct):
    where = f"{argname!r}" + (f", leaf {keystr(path)}" if path else "")
    rule = f"Custom VJP bwd rule {_name(cv.bwd)} of {cv.__name__}: argument {where}"
    if ct is None:
        return None
    expected = _dtypes.tangent_dtype(aval.dtype)
    if type(ct) is SymbolicZero:
        if ct.shape != aval.shape or ct.dtype != expected:
            raise ValueError(
                f"{rule}: produced a SymbolicZero of type "
                f"{_dtypes.type_str(ct.shape, ct.dtype)}, which does not match the input type "
                f"{_dtypes.type_str(aval.shape, aval.dtype)}. Consider just returning None "
                f"here instead of a SymbolicZero object."
            )
        return None
    if expected == _dtypes.float0:
        warnings.warn(
            f"{rule}: the argument has integer/boolean dtype {aval.dtype}, so its cotangent is "
            f"always a float0 zero; the value bwd returned ({_describe(ct)}) is ignored. Return "
            f"None for it.",
            stacklevel=2,
        )
        return None
    if not is_valid_leaf(ct):
        raise TypeError(
            f"{rule}: the cotangent {ct!r} of type {type(ct)} is not a valid JAX type; return an "
            f"array of type {aval.str_short()} or None."
        )
    shape, dtype = _shape_dtype(ct)
    if tuple(shape) != aval.shape:
        raise ValueError(
            f"{rule}: got {_dtypes.type_str(shape, dtype)}, expected "
            f"{_dtypes.type_str(aval.shape, expected)} (the argument's type). The shapes do not "
            f"match; cotangents must have the argument's exact shape (they are never broadcast "
            f"or summed for you)."
        )
    if dtype.kind not in "fc" or (dtype.kind == "c" and expected.kind != "c"):
        raise TypeError(
            f"{rule}: got {_dtypes.type_str(shape, dtype)}, expected "
            f"{_dtypes.type_str(aval.shape, expected)}. A {dtype.name} cotangent is not valid for "
            f"a {aval.dtype.name} argument; return a floating-point array (or None for zero)."
        )
    if dtype != expected or not isinstance(ct, Array):
        ct = convert_element_type(ct, expected, aval.weak_type)
    return ct


def _shape_dtype(x):
    if isinstance(x, Array):
        return x.shape, x.dtype
    raw, _ = to_raw(x)
    return np.shape(raw), raw.dtype


def _describe(x):
    try:
        shape, dtype = _shape_dtype(x)
        return _dtypes.type_str(shape, dtype)
    except TypeError:
        return repr(x)
