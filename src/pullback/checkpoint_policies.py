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


class _Policy:
    """A policy with one parameter, its only slot: printed, compared and hashed by it, as JAX's
    dataclass policies are (a dataclass would cost a millisecond of import time each)."""

    __slots__ = ()

    def _parameter(self):
        return getattr(self, self.__slots__[0])

    def __repr__(self):
        return f"{type(self).__name__}({self.__slots__[0]}={self._parameter()!r})"

    def __eq__(self, other):
        return type(other) is type(self) and other._parameter() == self._parameter()

    def __hash__(self):
        return hash((type(self), self._parameter()))


class DotsSaveable(_Policy):
    """Save the results of products (``matmul``, ``einsum``); with ``only_if_no_batch_dims``,
    only those of products without batch dimensions."""

    __slots__ = ("only_if_no_batch_dims",)

    def __init__(self, only_if_no_batch_dims=False):
        self.only_if_no_batch_dims = only_if_no_batch_dims

    def __call__(self, prim, *avals, **params):
        if prim is not matmul_p and prim is not einsum_p:
            return False
        return not (self.only_if_no_batch_dims and _has_batch_dims(prim, avals, params))


dots_saveable = checkpoint_dots = DotsSaveable()
dots_with_no_batch_dims_saveable = checkpoint_dots_with_no_batch_dims = DotsSaveable(True)
# there is no other memory to offload to: offloading is saving
offload_dot_with_no_batch_dims = dots_with_no_batch_dims_saveable


class SaveOnlyTheseNames(_Policy):
    """Save the values named (``checkpoint_name``) with one of ``saveable_names``, nothing
    else."""

    __slots__ = ("saveable_names",)

    def __init__(self, saveable_names):
        self.saveable_names = frozenset(saveable_names)

    def __call__(self, prim, *_, **params):
        return prim is name_p and params["name"] in self.saveable_names


def save_only_these_names(*names_which_can_be_saved):
    """Save only the values named with one of these names.

    >>> from pullback import checkpoint_policies as cp
    >>> cp.save_only_these_names("h")
    SaveOnlyTheseNames(saveable_names=frozenset({'h'}))
    """
    return SaveOnlyTheseNames(frozenset(names_which_can_be_saved))


class SaveAnyNamesButThese(_Policy):
    """Save the named values whose names are not in ``names``, nothing else."""

    __slots__ = ("names",)

    def __init__(self, names):
        self.names = frozenset(names)

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
