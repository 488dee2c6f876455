"""``vmap``."""

from __future__ import annotations

import functools
import inspect

import numpy as np

from pullback._api._common import check_leaves
from pullback._core import (
    Array,
    aval_of,
)
from pullback._interp.batch import batch_call
from pullback._ops._base import batch_at
from pullback.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_unflatten,
)


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
            f"{what} specification must be a tree prefix of the corresponding value; got "
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
        if axis_size is None and not leaves:
            raise ValueError(
                f"vmap wrapped function must be passed at least one argument containing an array "
                f"or axis_size must be specified, got empty *args={args} and **kwargs={kwargs}"
            )
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
        raise TypeError(f"Expected a callable value, got {fun}")
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
        check_leaves(leaves, (args, kwargs))
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
