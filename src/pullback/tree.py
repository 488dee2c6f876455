"""The ``jax.tree`` namespace: short names for the functions of :mod:`pullback.tree_util`.

>>> import pullback.tree as tree
>>> tree.map(lambda x: x * 2, {"a": 1, "b": (2, None)})
{'a': 2, 'b': (4, None)}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pullback import tree_util as _tu
from pullback.tree_util import KeyPath, PyTreeDef

__all__ = [
    "all",
    "flatten",
    "flatten_with_path",
    "leaves",
    "leaves_with_path",
    "map",
    "map_with_path",
    "reduce",
    "structure",
    "transpose",
    "unflatten",
]

T = TypeVar("T")

_tree_map = _tu.tree_map
_tree_flatten = _tu.tree_flatten
_tree_unflatten = _tu.tree_unflatten
_tree_leaves = _tu.tree_leaves
_tree_structure = _tu.tree_structure


def map(
    f: Callable[..., Any],
    tree: Any,
    *rest: Any,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """Apply ``f`` leafwise over pytrees; see :func:`pullback.tree_util.tree_map`.

    >>> import pullback.tree as tree
    >>> tree.map(lambda x, y: x - y, [5, (7,)], [1, (2,)])
    [4, (5,)]
    """
    return _tree_map(f, tree, *rest, is_leaf=is_leaf)


def leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """Leaves of a pytree; see :func:`pullback.tree_util.tree_leaves`.

    >>> import pullback.tree as tree
    >>> tree.leaves({"b": 2, "a": [1, None]})
    [1, 2]
    """
    return _tree_leaves(tree, is_leaf)


def structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """Structure of a pytree; see :func:`pullback.tree_util.tree_structure`.

    >>> import pullback.tree as tree
    >>> tree.structure([1, (2, 3)]).num_leaves
    3
    """
    return _tree_structure(tree, is_leaf)


def flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list[Any], PyTreeDef]:
    """Leaves and structure of a pytree; see :func:`pullback.tree_util.tree_flatten`.

    >>> import pullback.tree as tree
    >>> leaves, treedef = tree.flatten((1, {"x": 2}))
    >>> leaves, treedef.num_leaves
    ([1, 2], 2)
    """
    return _tree_flatten(tree, is_leaf)


def unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Rebuild a pytree from its structure and leaves; see
    :func:`pullback.tree_util.tree_unflatten`.

    >>> import pullback.tree as tree
    >>> tree.unflatten(tree.structure((0, [0])), [1, 2])
    (1, [2])
    """
    return _tree_unflatten(treedef, leaves)


def reduce(
    function: Callable[[T, Any], T],
    tree: Any,
    initializer: Any = _tu._UNSPECIFIED,
    is_leaf: Callable[[Any], bool] | None = None,
) -> T:
    """Reduce the leaves with a binary function; see :func:`pullback.tree_util.tree_reduce`.

    >>> import operator
    >>> import pullback.tree as tree
    >>> tree.reduce(operator.mul, {"a": 2, "b": (3, 4)})
    24
    """
    return _tu.tree_reduce(function, tree, initializer, is_leaf)


def all(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every leaf is truthy; see :func:`pullback.tree_util.tree_all`.

    >>> import pullback.tree as tree
    >>> tree.all([1, (True, 2.0)]), tree.all({"a": 0})
    (True, False)
    """
    return _tu.tree_all(tree, is_leaf=is_leaf)


def transpose(
    outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None, pytree_to_transpose: Any
) -> Any:
    """Swap outer and inner structure; see :func:`pullback.tree_util.tree_transpose`.

    >>> import pullback.tree as tree
    >>> tree.transpose(tree.structure({"a": 0, "b": 0}), None, {"a": [1, 2], "b": [3, 4]})
    [{'a': 1, 'b': 3}, {'a': 2, 'b': 4}]
    """
    return _tu.tree_transpose(outer_treedef, inner_treedef, pytree_to_transpose)


def flatten_with_path(
    tree: Any,
    is_leaf: Callable[..., bool] | None = None,
    is_leaf_takes_path: bool = False,
) -> tuple[list[tuple[KeyPath, Any]], PyTreeDef]:
    """Flatten, pairing each leaf with its key path; see
    :func:`pullback.tree_util.tree_flatten_with_path`.

    >>> import pullback.tree as tree
    >>> pairs, treedef = tree.flatten_with_path({"a": (1, 2)})
    >>> pairs
    [((DictKey(key='a'), SequenceKey(idx=0)), 1), ((DictKey(key='a'), SequenceKey(idx=1)), 2)]
    """
    return _tu.tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)


def leaves_with_path(
    tree: Any,
    is_leaf: Callable[..., bool] | None = None,
    is_leaf_takes_path: bool = False,
) -> list[tuple[KeyPath, Any]]:
    """``(key_path, leaf)`` pairs; see :func:`pullback.tree_util.tree_leaves_with_path`.

    >>> import pullback.tree as tree
    >>> from pullback.tree_util import keystr
    >>> [(keystr(p), x) for p, x in tree.leaves_with_path([1, {"k": 2}])]
    [('[0]', 1), ("[1]['k']", 2)]
    """
    return _tu.tree_leaves_with_path(tree, is_leaf, is_leaf_takes_path)


def map_with_path(
    f: Callable[..., Any],
    tree: Any,
    *rest: Any,
    is_leaf: Callable[..., bool] | None = None,
    is_leaf_takes_path: bool = False,
) -> Any:
    """Like :func:`map`, with each leaf's key path passed first; see
    :func:`pullback.tree_util.tree_map_with_path`.

    >>> import pullback.tree as tree
    >>> from pullback.tree_util import keystr
    >>> tree.map_with_path(lambda p, x: (keystr(p), x), {"a": 1})
    {'a': ("['a']", 1)}
    """
    return _tu.tree_map_with_path(
        f, tree, *rest, is_leaf=is_leaf, is_leaf_takes_path=is_leaf_takes_path
    )
