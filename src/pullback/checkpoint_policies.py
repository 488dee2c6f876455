"""``pullback.checkpoint_policies``: what a ``checkpoint``'s forward pass may save.

A policy is JAX's: ``policy(prim, *avals, **params) -> bool`` over one equation of the forward
pass (its primitive, its operands' types and its parameters), true when the equation's outputs
may be kept for the backward pass. Anything not kept is recomputed there. Write your own the
same way; the products are the primitives ``matmul`` and ``einsum`` (JAX's ``dot_general``), a
value named with ``checkpoint_name`` is the output of the primitive ``name``.

>>> import pullback as jax, pullback.numpy as jnp
>>> from pullback.ad_checkpoint import print_saved_residuals
>>> def layer(W, x):
...     return jnp.sin(W @ x)
>>> f = jax.checkpoint(layer, policy=jax.checkpoint_policies.dots_saveable)
>>> print_saved_residuals(f, jnp.ones((3, 2)), jnp.ones(2))  # doctest: +ELLIPSIS
f32[3,2] from the argument W
f32[2] from the argument x
f32[3] output of matmul from ...
"""

from __future__ import annotations

import dataclasses

from pullback._ops.linalg import einsum_p, matmul_p
from pullback._ops.structural import name_p

__all__ = [
    "checkpoint_dots",
    "checkpoint_dots_with_no_batch_dims",
    "dots_saveable",
    "dots_with_no_batch_dims_saveable",
    "everything_saveable",
    "nothing_saveable",
    "offload_dot_with_no_batch_dims",
    "save_and_offload_only_these_names",
    "save_any_names_but_these",
    "save_anything_except_these_names",
    "save_from_both_policies",
    "save_only_these_names",
]


def everything_saveable(*_, **__):
    """Save everything: reverse mode as without ``checkpoint``."""
    return True


def nothing_saveable(*_, **__):
    """Save nothing but the checkpointed function's inputs (``policy=None`` does the same)."""
    return False


def _has_batch_dims(prim, avals, params):
    if prim is matmul_p:
        return any(len(a.shape) > 2 for a in avals)
    operands, out = params["subscripts"].split("->")
    letters = [set(s) for s in operands.split(",")]
    return bool(set.intersection(*letters, set(out))) if len(letters) > 1 else False


@dataclasses.dataclass(frozen=True)
class DotsSaveable:
    """Save the results of products (``matmul``, ``einsum``); with ``only_if_no_batch_dims``,
    only those of products without batch dimensions."""

    only_if_no_batch_dims: bool = False

    def __call__(self, prim, *avals, **params):
        if prim is not matmul_p and prim is not einsum_p:
            return False
        return not (self.only_if_no_batch_dims and _has_batch_dims(prim, avals, params))


dots_saveable = checkpoint_dots = DotsSaveable()
dots_with_no_batch_dims_saveable = checkpoint_dots_with_no_batch_dims = DotsSaveable(True)
# there is no other memory to offload to: offloading is saving
offload_dot_with_no_batch_dims = dots_with_no_batch_dims_saveable


@dataclasses.dataclass(frozen=True)
class SaveOnlyTheseNames:
    """Save the values named (``checkpoint_name``) with one of ``saveable_names``, nothing
    else."""

    saveable_names: frozenset

    def __call__(self, prim, *_, **params):
        return prim is name_p and params["name"] in self.saveable_names


def save_only_these_names(*names_which_can_be_saved):
    """Save only the values named with one of these names.

    >>> from pullback import checkpoint_policies as cp
    >>> cp.save_only_these_names("h")
    SaveOnlyTheseNames(saveable_names=frozenset({'h'}))
    """
    return SaveOnlyTheseNames(frozenset(names_which_can_be_saved))


@dataclasses.dataclass(frozen=True)
class SaveAnyNamesButThese:
    """Save the named values whose names are not in ``names``, nothing else."""

    names: frozenset

    def __call__(self, prim, *_, **params):
        return prim is name_p and params["name"] not in self.names


def save_any_names_but_these(*names_not_to_save):
    """Save every named value except those with these names (unnamed values are not saved).

    >>> from pullback import checkpoint_policies as cp
    >>> cp.save_any_names_but_these("h")
    SaveAnyNamesButThese(names=frozenset({'h'}))
    """
    return SaveAnyNamesButThese(frozenset(names_not_to_save))


def save_anything_except_these_names(*names_not_to_save):
    """Save everything, named or not, except the values named with these names.

    >>> from pullback import checkpoint_policies as cp
    >>> cp.save_anything_except_these_names("h")(cp.name_p, name="h")
    False
    """
    names = frozenset(names_not_to_save)

    def policy(prim, *_, **params):
        return prim is not name_p or params["name"] not in names

    return policy


def save_and_offload_only_these_names(
    *, names_which_can_be_saved, names_which_can_be_offloaded, offload_src=None, offload_dst=None
):
    """Save the values with these names; on NumPy there is no other memory, so the offloadable
    ones are saved too."""
    return save_only_these_names(*names_which_can_be_saved, *names_which_can_be_offloaded)


def save_from_both_policies(policy_1, policy_2):
    """Save what either policy saves.

    >>> from pullback import checkpoint_policies as cp
    >>> both = cp.save_from_both_policies(cp.dots_saveable, cp.save_only_these_names("h"))
    >>> both(cp.name_p, name="h"), both(cp.name_p, name="g")
    (True, False)
    """

    def policy(prim, *avals, **params):
        return bool(policy_1(prim, *avals, **params)) or bool(policy_2(prim, *avals, **params))

    return policy
