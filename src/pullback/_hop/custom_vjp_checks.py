"""Checking what a ``custom_vjp``'s ``fwd`` and ``bwd`` return.

``fwd`` must return a pair (``_check_pair``) whose residuals are valid JAX types
(``_check_residuals``) and, when ``fun``'s output type is known (a staged call), whose first
element has ``fun``'s pytree structure and types (``_check_fwd_output``, spec E5/E6).
``_check_bwd_output`` matches ``bwd``'s result against the differentiable arguments' pytrees: one
cotangent per argument, None allowed for any subtree; floats of another precision are cast,
integer cotangents and broadcastable shapes rejected. Where JAX reports the same mistake, a
message starts with JAX's sentence, then names the argument, the leaf path and
``float32[3]``-style types. The reverse-mode and batching rules (``_hop/custom_vjp.py``) and
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
    _type_tree,
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
            f"(equal to those of the custom_vjp-decorated function {cv.__name__}) and the "
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
        f"(list or tuple of length two) where the first element represents the primal output "
        f"(equal to the output of the custom_vjp-decorated function {cv.__name__}) and the "
        f"second element represents residuals (i.e. values stored from the forward pass for "
        f"use on the backward pass), but instead the fwd rule output's first element had"
    )
    fix = (
        f"Fix {_name(cv.fwd)} to return (output, residuals) with output exactly what "
        f"{cv.__name__} returns."
    )
    got_types = _type_tree(tree, [aval_of(x) for x in leaves])
    fun_types = _type_tree(call.out_tree, fun_avals)
    if tree != call.out_tree:
        raise TypeError(
            f"{start} container/pytree structure:\n    {got_types}\nwhile the "
            f"custom_vjp-decorated function {cv.__name__} had output container/pytree "
            f"structure:\n    {fun_types}.\nfwd's first element has structure {tree}, "
            f"{cv.__name__}'s output {call.out_tree}. {fix}"
        )
    for k, (leaf, aval) in enumerate(zip(leaves, fun_avals, strict=True)):
        got = aval_of(leaf)
        if (got.shape, got.dtype) != (aval.shape, aval.dtype):
            where = f"output leaf {k}: " if len(fun_avals) > 1 else ""
            raise TypeError(
                f"{start} shapes/dtypes of:\n    {got_types}\nwhile the custom_vjp-decorated "
                f"function {cv.__name__} had output shapes/dtypes of:\n    {fun_types}\n"
                f"{where}fwd gave {got.str_short()} where {cv.__name__} gives "
                f"{aval.str_short()}. {fix}"
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
                f"Argument '{leaf}' of type {type(leaf)} is not a valid JAX type. It is the "
                f"residual {keystr(path) or '(the whole residual)'} of custom VJP fwd rule "
                f"{_name(cv.fwd)} of {cv.__name__}: residuals must be arrays or pytrees of "
                f"arrays.{hint}"
            )


def _check_bwd_output(call, result, vals):
    """Validate ``bwd``'s result against the differentiable arguments; return flat leaf cts."""
    cv = call.cv
    sig = cv._signature
    n = len(call.diff_pos)
    returned = result
    if type(result) is list:
        result = tuple(result)
    if type(result) is not tuple or len(result) != n:
        got = (
            f"a {type(result).__name__} of length {len(result)}"
            if isinstance(result, (tuple, list))
            else f"a value of type {type(result).__name__}"
        )
        names = ", ".join(sig.arg_name(i) for i in call.diff_pos)
        raise TypeError(
            f"{_BWD_STRUCTURE}{_structure(returned)} for primal input structure "
            f"{call.in_tree}. Custom VJP bwd rule {_name(cv.bwd)} of {cv.__name__} must produce "
            f"a tuple with one cotangent per differentiable argument ({n}: {names}; nondiff "
            f"arguments get none), using None for a zero cotangent, but got {got}."
        )
    if call.flat:
        # every differentiable argument is a single array: the common case, checked inline
        flat = []
        for k, (pos, val, entry) in enumerate(zip(call.diff_pos, vals, result, strict=True)):
            if type(entry) is Array and type(val) is Array:
                e, v = entry._value, val._value
                if e.dtype is v.dtype and e.shape == v.shape and e.dtype.kind in "fc":
                    flat.append(entry)
                    continue
            flat.append(_check_leaf(cv, sig.arg_name(pos), (SequenceKey(k),), aval_of(val), entry))
        return flat
    # the arguments rebuilt from their own leaves, so custom nodes' unflatten sees real values
    primal_args = tree_unflatten(call.in_tree, vals)
    flat = []
    for k, (pos, arg, entry) in enumerate(zip(call.diff_pos, primal_args, result, strict=True)):
        try:
            _match(cv, sig.arg_name(pos), arg, entry, (SequenceKey(k),), flat)
        except _StructureError as e:
            raise TypeError(
                f"{_BWD_STRUCTURE}{_structure(returned)} for primal input structure "
                f"{call.in_tree}. {e}"
            ) from None
    return flat


_BWD_STRUCTURE = (
    "Custom VJP bwd rule must produce an output with the same container (pytree) structure as "
    "the args tuple of the primal function, and in particular must produce a tuple of length "
    "equal to the number of arguments to the primal function, but got bwd output structure "
)


class _StructureError(TypeError):
    """A cotangent whose pytree structure is not its argument's (reported with JAX's wording)."""


def _structure(tree):
    return optree.tree_structure(tree, namespace="pullback")


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
        inner = path[1:]
        raise _StructureError(
            f"Custom VJP bwd rule {_name(cv.bwd)} of {cv.__name__}: the cotangent for argument "
            f"{argname!r}{' at ' + keystr(inner) if inner else ''} must have the argument's "
            f"pytree structure {_structure(primal)} (None allowed for any subtree), but got "
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
    """``path`` is the leaf's path in the tuple of differentiable arguments (``[1]['w']``), as
    JAX's messages give it; pullback's name the argument and the path inside it."""
    inner = path[1:]
    where = f"{argname!r}" + (f", leaf {keystr(inner)}" if inner else "")
    rule = f"Custom VJP bwd rule {_name(cv.bwd)} of {cv.__name__}: argument {where}"
    if ct is None:
        return None
    expected = _dtypes.tangent_dtype(aval.dtype)
    if type(ct) is SymbolicZero:
        if ct.shape != aval.shape or ct.dtype != expected:
            raise ValueError(
                f"Custom VJP bwd rule produced a SymbolicZero with a shape/dtype that does not "
                f"match the corresponding input tangent shape/dtype: at output{keystr(path)} the "
                f"SymbolicZero had shape/dtype {_dtypes.type_str(ct.shape, ct.dtype)} while the "
                f"corresponding input had shape/dtype {aval.str_short()}. Consider just "
                f"returning a None here instead of a SymbolicZero object. ({rule}.)"
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
            f"Argument '{ct}' of type {type(ct)} is not a valid JAX type. {rule}: the cotangent "
            f"must be an array of type {aval.str_short()} or None."
        )
    shape, dtype = _shape_dtype(ct)
    if tuple(shape) != aval.shape:
        raise ValueError(
            f"Custom VJP bwd rule must produce an output with the same type as the args tuple "
            f"of the primal function, but at output{keystr(path)} the bwd rule produced an "
            f"output of type {_dtypes.type_str(shape, dtype)} corresponding to an input of type "
            f"{aval.str_short()}, so the shapes do not match. {rule}: got "
            f"{_dtypes.type_str(shape, dtype)}, expected {_dtypes.type_str(aval.shape, expected)} "
            f"(the argument's type); cotangents must have the argument's exact shape (they are "
            f"never broadcast or summed for you)."
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
