"""Helpers the transformations share: names in messages, leaf checks, argnums."""

from __future__ import annotations

import numpy as np

from pullback._core import (
    Array,
    is_valid_leaf,
    to_raw,
)
from pullback.tree_util import (
    keystr,
    register_pytree_node,
    tree_flatten_with_path,
)


def fun_name(fun):
    return getattr(fun, "__name__", None) or repr(fun)


def check_callable(fun):
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun}")


def check_leaves(leaves, tree, what="argument"):
    """Every leaf must be an array type; the error names the leaf's path in ``tree``."""
    if all(map(is_valid_leaf, leaves)):
        return
    for path, leaf in tree_flatten_with_path(tree)[0]:
        if not is_valid_leaf(leaf):
            where = f"{what}{keystr(path)}" if path else f"the whole {what}"
            raise TypeError(
                f"Argument '{leaf}' of type {type(leaf)} is not a valid JAX type. It was passed "
                f"at {where}: only arrays, NumPy values and Python scalars can be transformed; "
                f"pass other values through a closure or a static/nondiff argument."
            )


def check_argnums(argnums, who):
    """``(single, nums)`` from an int or a sequence of ints, checked when ``grad`` is built."""
    single = isinstance(argnums, (int, np.integer))
    nums = (int(argnums),) if single else tuple(argnums)
    if not nums:
        raise ValueError(f"{who}: argnums must be an int or a non-empty tuple of ints, got ().")
    for n in nums:
        if not isinstance(n, (int, np.integer)):
            raise TypeError(f"{who}: argnums must be ints, got {n!r} of type {type(n)}.")
    return single, nums


def argnum_positions(fun, argnums, nums, nargs, who):
    """``nums`` as non-negative positions for a call with ``nargs`` positional arguments."""
    top = max(nums)
    if top >= nargs:
        raise TypeError(
            f"differentiating with respect to argnums={argnums} requires at least {top + 1} "
            f"positional arguments to be passed by the caller, but got only {nargs} positional "
            f"arguments. ({who} of {fun_name(fun)}.)"
        )
    for n in nums:
        if n < -nargs:
            raise ValueError(
                f"Positional argument indices, e.g. for `static_argnums`, must have value greater "
                f"than or equal to -len(args) and less than len(args), but got value {n} for "
                f"len(args) == {nargs}. ({who} of {fun_name(fun)}: argnums={argnums}.)"
            )
    return tuple(n % nargs for n in nums)


def check_inputs_inexact(leaves, dyn, who):
    for k, leaf in enumerate(leaves):
        dtype = leaf._value.dtype if isinstance(leaf, Array) else to_raw(leaf)[0].dtype
        if dtype.kind not in "fc":
            path = tree_flatten_with_path(dyn)[0][k][0]
            raise TypeError(
                f"grad requires real- or complex-valued inputs (input dtype that is a sub-dtype "
                f"of np.inexact), but got {dtype.name}. If you want to use Boolean- or "
                f"integer-valued inputs, use vjp or set allow_int to True. ({who}: the "
                f"{dtype.name} input is argument{keystr(path)}.)"
            )


class Residualized:
    """What ``vjp`` and ``linearize`` return: a program applied to its residuals.

    It is a pytree whose leaves are the residuals (JAX's are ``tree_util.Partial`` objects), so
    it can be returned from ``jit`` or ``vmap``, kept as a ``custom_vjp`` residual or a ``scan``
    carry, and called there. ``program.run(residuals, *args)`` computes;
    ``program.portable(residuals)`` is the ``(program, residuals)`` pair it flattens into — a
    pullback whose tape holds tracers of an enclosing transformation stages its backward pass
    then, and those tracers become the leaves."""

    __slots__ = ("_program", "_residuals")

    def __init__(self, program, residuals=()):
        self._program = program
        self._residuals = residuals

    @property
    def __name__(self):
        return self._program.name

    def __repr__(self):
        return f"<function {self._program.name}>"

    def __call__(self, *args):
        return self._program.run(self._residuals, *args)


def _flatten_residualized(f):
    program, residuals = f._program.portable(f._residuals)
    return residuals, program


register_pytree_node(
    Residualized,
    _flatten_residualized,
    lambda program, residuals: Residualized(program, tuple(residuals)),
)
