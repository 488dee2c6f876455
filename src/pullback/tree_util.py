"""Pytrees with JAX's semantics, built on optree.

A pytree is a nested structure of containers (tuples, lists, dicts, namedtuples,
``OrderedDict``, ``defaultdict``, ``None`` and any registered custom node) whose
non-container elements are *leaves*.  As in JAX, ``None`` is an empty subtree,
not a leaf, and dict keys are visited in sorted order.

Every registration made here lives in the optree namespace ``"pullback"``, so it
does not leak into other users of optree.  Flattening calls optree's C routines
directly; the hot functions (:func:`tree_flatten`, :func:`tree_unflatten`,
:func:`tree_map`, :func:`tree_leaves`, :func:`tree_structure`) add no Python
loops of their own.

Key paths use the key classes :class:`DictKey`, :class:`SequenceKey`,
:class:`GetAttrKey` and :class:`FlattenedIndexKey`, as in ``jax.tree_util``.
To produce them for custom nodes registered with keys, every node type is also
registered in a second, private namespace whose flatten function reports the keys;
plain flattening never pays for building keys.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import operator
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

import optree
from optree import _C

__all__ = [
    "DictKey",
    "FlattenedIndexKey",
    "GetAttrKey",
    "KeyEntry",
    "KeyPath",
    "Partial",
    "PyTreeDef",
    "SequenceKey",
    "all_leaves",
    "build_tree",
    "keystr",
    "register_dataclass",
    "register_pytree_node",
    "register_pytree_node_class",
    "register_pytree_with_keys",
    "register_pytree_with_keys_class",
    "register_static",
    "tree_all",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_leaves",
    "tree_leaves_with_path",
    "tree_map",
    "tree_map_with_path",
    "tree_reduce",
    "tree_structure",
    "tree_transpose",
    "tree_unflatten",
    "treedef_children",
    "treedef_is_leaf",
    "treedef_tuple",
]

T = TypeVar("T")
Typ = TypeVar("Typ", bound=type)

#: The type of tree structures. It is optree's ``PyTreeSpec`` (its repr says ``PyTreeSpec``).
PyTreeDef = optree.PyTreeSpec

# Namespace used for all registrations; plain flattening happens here.
_NS = "pullback"
# Shadow namespace where custom flatten functions also report their keys.  Only the
# key-path functions flatten here.
_KEYS_NS = "pullback.keys"

_C_flatten = _C.flatten
_C_make_from_collection = _C.make_from_collection


# ---------------------------------------------------------------------------
# Key classes
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class DictKey:
    """Key of a mapping entry in a key path; ``str`` gives ``['key']``.

    >>> from pullback.tree_util import DictKey
    >>> k = DictKey("a")
    >>> k, str(k), k.key
    (DictKey(key='a'), "['a']", 'a')
    """

    key: Hashable

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True, slots=True)
class SequenceKey:
    """Key of a list or tuple position in a key path; ``str`` gives ``[i]``.

    >>> from pullback.tree_util import SequenceKey
    >>> k = SequenceKey(2)
    >>> k, str(k), k.idx
    (SequenceKey(idx=2), '[2]', 2)
    """

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True, slots=True)
class GetAttrKey:
    """Key of an attribute (namedtuple field, dataclass field); ``str`` gives ``.name``.

    >>> from pullback.tree_util import GetAttrKey
    >>> k = GetAttrKey("x")
    >>> k, str(k), k.name
    (GetAttrKey(name='x'), '.x', 'x')
    """

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class FlattenedIndexKey:
    """Position of a child of a custom node registered without keys.

    >>> from pullback.tree_util import FlattenedIndexKey
    >>> k = FlattenedIndexKey(0)
    >>> k, str(k), k.key
    (FlattenedIndexKey(key=0), '[<flat index 0>]', 0)
    """

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


KeyEntry = Any
KeyPath = tuple[Any, ...]


# Key paths are computed from a structure flattened in the private namespace ``_KEYS_NS``:
# ``PyTreeSpec.walk`` calls ``_paths_of_node(node_type, node_data, children)`` once per node,
# and a per-type "key maker" turns the node data into the keys of the node's children.
# Custom nodes registered with keys store ``(aux_data, keys)`` as their node data there.
# Key objects are immutable, so the positional key tuples are cached.

_CACHE_LIMIT = 4096
_seq_keys_cache: dict[int, tuple[SequenceKey, ...]] = {}
_flat_keys_cache: dict[int, tuple[FlattenedIndexKey, ...]] = {}


def _cache_put(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _sequence_keys(node_data: Any, n: int) -> tuple[SequenceKey, ...]:
    keys = _seq_keys_cache.get(n)
    if keys is None:
        keys = _cache_put(_seq_keys_cache, n, tuple(SequenceKey(i) for i in range(n)))
    return keys


def _flat_index_keys(node_data: Any, n: int) -> tuple[FlattenedIndexKey, ...]:
    keys = _flat_keys_cache.get(n)
    if keys is None:
        keys = _cache_put(_flat_keys_cache, n, tuple(FlattenedIndexKey(i) for i in range(n)))
    return keys


def _mapping_keys(names: Iterable[Any], n: int) -> tuple[DictKey, ...]:
    # Not cached: equal keys of different types (1, 1.0, True) must keep their own type.
    return tuple(map(DictKey, names))


def _defaultdict_keys(node_data: Any, n: int) -> tuple[DictKey, ...]:
    return _mapping_keys(node_data[1], n)


def _no_keys(node_data: Any, n: int) -> tuple[()]:
    return ()


def _custom_keys(node_data: Any, n: int) -> Any:
    return node_data[1]


def _fields_key_maker(fields: Iterable[str]) -> Callable[[Any, int], tuple[GetAttrKey, ...]]:
    keys = tuple(GetAttrKey(f) for f in fields)
    return lambda node_data, n: keys


_KEY_MAKERS: dict[type, Callable[[Any, int], Any]] = {
    tuple: _sequence_keys,
    list: _sequence_keys,
    collections.deque: _sequence_keys,
    dict: _mapping_keys,
    collections.OrderedDict: _mapping_keys,
    collections.defaultdict: _defaultdict_keys,
    type(None): _no_keys,
}


def _key_maker(node_type: type) -> Callable[[Any, int], Any]:
    maker = _KEY_MAKERS.get(node_type)
    if maker is not None:
        return maker
    if optree.is_namedtuple_class(node_type):
        maker = _fields_key_maker(optree.namedtuple_fields(node_type))
    elif optree.is_structseq_class(node_type):
        maker = _fields_key_maker(optree.structseq_fields(node_type))
    else:  # a node registered with optree directly, outside this module
        maker = _flat_index_keys
    _KEY_MAKERS[node_type] = maker
    return maker


_ROOT_PATHS: list[KeyPath] = [()]


def _paths_of_node(node_type: type, node_data: Any, children: Sequence[Any]) -> list[KeyPath]:
    keys = _key_maker(node_type)(node_data, len(children))
    return [(k, *p) for k, sub in zip(keys, children, strict=True) for p in sub]


def _key_paths(keys_treedef: PyTreeDef) -> list[KeyPath]:
    """Key paths of the leaves of a structure flattened in ``_KEYS_NS``."""
    return keys_treedef.walk([_ROOT_PATHS] * keys_treedef.num_leaves, _paths_of_node, None)


def _root_keys(keys_treedef: PyTreeDef, children: list[Any]) -> Any:
    """Keys of the children of a one-level structure flattened in ``_KEYS_NS``."""
    return keys_treedef.walk(children, lambda t, data, ch: _key_maker(t)(data, len(ch)), None)


# ---------------------------------------------------------------------------
# Core flatten / unflatten
# ---------------------------------------------------------------------------


def tree_flatten(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[Any], PyTreeDef]:
    """Flatten a pytree into its leaves and its structure.

    ``None`` is an empty subtree; dict keys are visited in sorted order.

    >>> from pullback.tree_util import tree_flatten
    >>> leaves, treedef = tree_flatten({"b": (2, None), "a": 1})
    >>> leaves
    [1, 2]
    >>> treedef.num_leaves
    2
    """
    return _C_flatten(tree, is_leaf, False, _NS)


def _flatten(tree: Any) -> tuple[list[Any], PyTreeDef]:
    """Internal fast path: ``tree_flatten(tree)`` without a leaf predicate."""
    return _C_flatten(tree, None, False, _NS)


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Rebuild a pytree from a structure and an iterable of leaves.

    Raises ``ValueError`` naming the expected count if the number of leaves is wrong.

    >>> from pullback.tree_util import tree_flatten, tree_unflatten
    >>> _, treedef = tree_flatten([1, (2, 3)])
    >>> tree_unflatten(treedef, "abc")
    ['a', ('b', 'c')]
    """
    return treedef.unflatten(leaves)


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """Return the leaves of a pytree in flattening order.

    >>> from pullback.tree_util import tree_leaves
    >>> tree_leaves([1, None, {"y": 3, "x": 2}])
    [1, 2, 3]
    """
    return _C_flatten(tree, is_leaf, False, _NS)[0]


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """Return the structure (a :data:`PyTreeDef`) of a pytree.

    >>> from pullback.tree_util import tree_structure
    >>> s = tree_structure((1, [2, None]))
    >>> s.num_leaves, s.num_nodes
    (2, 5)
    """
    return _C_flatten(tree, is_leaf, False, _NS)[1]


def _structure_mismatch(
    fname: str, treedef: PyTreeDef, index: int, other: Any, err: Exception
) -> ValueError:
    try:
        other_def: Any = _C_flatten(other, None, False, _NS)[1]
    except Exception:  # pragma: no cover - the argument could not even be flattened
        other_def = f"<unflattenable {type(other).__name__}>"
    return ValueError(
        f"{fname}: tree structures do not match. The first tree has structure\n"
        f"    {treedef}\n"
        f"but argument {index} of the remaining trees has structure\n"
        f"    {other_def}\n"
        f"which does not have the first structure as a prefix ({err})"
    )


def tree_map(
    f: Callable[..., Any],
    tree: Any,
    *rest: Any,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """Apply ``f`` leafwise over one or more pytrees with matching structure.

    ``tree`` defines the structure; each tree in ``rest`` must have it as a prefix, and
    ``f`` receives one leaf of ``tree`` followed by the matching subtrees of ``rest``.
    A structure mismatch raises ``ValueError`` showing both structures.

    >>> from pullback.tree_util import tree_map
    >>> tree_map(lambda x, y: x + y, {"a": 1, "b": (2, None)}, {"a": 10, "b": (20, None)})
    {'a': 11, 'b': (22, None)}
    """
    leaves, treedef = _C_flatten(tree, is_leaf, False, _NS)
    if not rest:
        return treedef.unflatten(map(f, leaves))
    all_leaves_ = [leaves]
    for i, r in enumerate(rest):
        try:
            all_leaves_.append(treedef.flatten_up_to(r))
        except (ValueError, TypeError) as e:
            raise _structure_mismatch("tree_map", treedef, i, r, e) from e
    return treedef.unflatten(map(f, *all_leaves_))


class _Unspecified:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<unspecified>"


_UNSPECIFIED = _Unspecified()


def tree_reduce(
    function: Callable[[T, Any], T],
    tree: Any,
    initializer: Any = _UNSPECIFIED,
    is_leaf: Callable[[Any], bool] | None = None,
) -> T:
    """Reduce the leaves of a pytree with a binary function, like :func:`functools.reduce`.

    >>> import operator
    >>> from pullback.tree_util import tree_reduce
    >>> tree_reduce(operator.add, [1, (2, 3), None])
    6
    >>> tree_reduce(operator.add, [], 100)
    100
    """
    leaves = _C_flatten(tree, is_leaf, False, _NS)[0]
    if initializer is _UNSPECIFIED:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_all(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Return ``True`` if every leaf of the pytree is truthy (``True`` for no leaves).

    >>> from pullback.tree_util import tree_all
    >>> tree_all([True, {"a": 1}]), tree_all([True, (0,)]), tree_all(None)
    (True, False, True)
    """
    return all(_C_flatten(tree, is_leaf, False, _NS)[0])


def tree_transpose(
    outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None, pytree_to_transpose: Any
) -> Any:
    """Turn an outer-of-inner pytree into an inner-of-outer pytree.

    ``pytree_to_transpose`` must have structure ``outer_treedef`` with an
    ``inner_treedef`` subtree at every outer leaf. If ``inner_treedef`` is ``None``
    it is taken from the first such subtree.

    >>> from pullback.tree_util import tree_structure, tree_transpose
    >>> outer = tree_structure([0, 0])
    >>> inner = tree_structure((0, 0))
    >>> tree_transpose(outer, inner, [(1, 2), (3, 4)])
    ([1, 3], [2, 4])
    """
    if inner_treedef is None:
        subtrees = outer_treedef.flatten_up_to(pytree_to_transpose)
        if not subtrees:
            raise ValueError(
                "tree_transpose: cannot infer inner_treedef when outer_treedef has no leaves; "
                "pass inner_treedef explicitly"
            )
        inner_treedef = _C_flatten(subtrees[0], None, False, _NS)[1]
    flat, treedef = _C_flatten(pytree_to_transpose, None, False, _NS)
    expected = outer_treedef.compose(inner_treedef)
    if treedef != expected:
        raise TypeError(
            "tree_transpose: structure mismatch: the tree has structure\n"
            f"    {treedef}\n"
            "but outer_treedef composed with inner_treedef is\n"
            f"    {expected}"
        )
    n_inner = inner_treedef.num_leaves
    n_outer = outer_treedef.num_leaves
    if n_outer == 0:
        columns: list[Any] = [[] for _ in range(n_inner)]
    else:
        rows = [flat[i * n_inner : (i + 1) * n_inner] for i in range(n_outer)]
        columns = list(zip(*rows, strict=True)) if n_inner else []
    return inner_treedef.unflatten([outer_treedef.unflatten(col) for col in columns])


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """Return ``True`` if the structure has a single node.

    As in JAX this is also ``True`` for ``None`` and other empty containers.

    >>> from pullback.tree_util import tree_structure, treedef_is_leaf
    >>> treedef_is_leaf(tree_structure(1.0)), treedef_is_leaf(tree_structure([1.0]))
    (True, False)
    """
    return treedef.num_nodes == 1


def treedef_children(treedef: PyTreeDef) -> list[PyTreeDef]:
    """Return the structures of the immediate children of the root node.

    >>> from pullback.tree_util import tree_structure, treedef_children
    >>> [c.num_leaves for c in treedef_children(tree_structure({"a": (1, 2), "b": 3}))]
    [2, 1]
    """
    return treedef.children()


def treedef_tuple(treedefs: Iterable[PyTreeDef]) -> PyTreeDef:
    """Make the structure of a tuple whose children have the given structures.

    >>> from pullback.tree_util import tree_structure, treedef_tuple
    >>> s = treedef_tuple([tree_structure((1, 2)), tree_structure(None)])
    >>> s == tree_structure(((1, 2), None))
    True
    """
    return _C_make_from_collection(tuple(treedefs), False, _NS)


def all_leaves(iterable: Iterable[Any], is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Return ``True`` if every element of ``iterable`` is a leaf (``None`` is not one).

    >>> from pullback.tree_util import all_leaves
    >>> all_leaves([1, 2.0, "x"]), all_leaves([1, (2,)]), all_leaves([None])
    (True, False, False)
    """
    return optree.all_leaves(iterable, is_leaf, none_is_leaf=False, namespace=_NS)


def build_tree(treedef: PyTreeDef, xs: Any) -> Any:
    """Build a pytree of structure ``treedef`` from nested iterables of children.

    At each node of ``treedef``, ``xs`` is an iterable giving that node's children in
    flattening order; at each leaf, ``xs`` itself is the leaf.

    >>> from pullback.tree_util import build_tree, tree_structure
    >>> build_tree(tree_structure({"a": 0, "b": (0, 0)}), [1, [2, 3]])
    {'a': 1, 'b': (2, 3)}
    """
    if treedef.num_nodes == 1 and treedef.num_leaves == 1:
        return xs
    children = treedef.children()
    xs = list(xs)
    if len(xs) != len(children):
        raise ValueError(
            f"build_tree: node of {treedef} has {len(children)} children, got {len(xs)} values"
        )
    subtrees = [build_tree(c, x) for c, x in zip(children, xs, strict=True)]
    if not children:
        return treedef.unflatten([])
    return treedef.one_level().unflatten(subtrees)


# ---------------------------------------------------------------------------
# Key paths
# ---------------------------------------------------------------------------


def keystr(keys: KeyPath, *, simple: bool = False, separator: str = "") -> str:
    """Format a key path as a string.

    By default each key is rendered with ``str`` (``['a'][0].x``); with ``simple=True``
    only the bare key is rendered (``a``, ``0``, ``x``).

    >>> from pullback.tree_util import DictKey, GetAttrKey, SequenceKey, keystr
    >>> path = (DictKey("a"), SequenceKey(0), GetAttrKey("x"))
    >>> keystr(path)
    "['a'][0].x"
    >>> keystr(path, simple=True, separator="/")
    'a/0/x'
    """
    if simple:
        return separator.join(map(_simple_key_str, keys))
    return separator.join(map(str, keys))


def _simple_key_str(k: Any) -> str:
    if isinstance(k, DictKey | FlattenedIndexKey):
        return str(k.key)
    if isinstance(k, SequenceKey):
        return str(k.idx)
    if isinstance(k, GetAttrKey):
        return str(k.name)
    return str(k)


def _paths_and_leaves(
    tree: Any, is_leaf: Callable[..., bool] | None, is_leaf_takes_path: bool
) -> tuple[list[KeyPath], list[Any], Any]:
    """Return ``(paths, leaves, rebuilt)``.

    ``rebuilt`` is ``_NOT_REBUILT`` unless ``is_leaf`` takes paths; then it is the tree with
    each chosen leaf replaced by a marker, from which the structure can be read.
    """
    if is_leaf is not None and is_leaf_takes_path:
        return _paths_with_path_predicate(tree, is_leaf)
    leaves, kdef = _C_flatten(tree, is_leaf, False, _KEYS_NS)
    return _key_paths(kdef), leaves, _NOT_REBUILT


class _LeafMarker:
    """Placeholder leaf used to recover a structure after a path-aware traversal."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "*"


_LEAF_MARKER = _LeafMarker()
_NOT_REBUILT = object()


def _paths_with_path_predicate(
    tree: Any, is_leaf: Callable[[KeyPath, Any], bool]
) -> tuple[list[KeyPath], list[Any], Any]:
    paths: list[KeyPath] = []
    leaves: list[Any] = []

    def visit(node: Any, path: KeyPath) -> Any:
        if is_leaf(path, node):
            paths.append(path)
            leaves.append(node)
            return _LEAF_MARKER
        children, spec = _C_flatten(node, lambda y: y is not node, False, _KEYS_NS)
        if spec.num_nodes == 1 and spec.num_leaves == 1:  # an ordinary leaf
            paths.append(path)
            leaves.append(node)
            return _LEAF_MARKER
        rebuilt = [
            visit(child, (*path, key))
            for child, key in zip(children, _root_keys(spec, children), strict=True)
        ]
        return spec.unflatten(rebuilt)

    rebuilt = visit(tree, ())
    return paths, leaves, rebuilt


def tree_flatten_with_path(
    tree: Any,
    is_leaf: Callable[..., bool] | None = None,
    is_leaf_takes_path: bool = False,
) -> tuple[list[tuple[KeyPath, Any]], PyTreeDef]:
    """Flatten a pytree, pairing each leaf with its key path.

    With ``is_leaf_takes_path=True``, ``is_leaf`` is called as ``is_leaf(path, node)``.

    >>> from pullback.tree_util import keystr, tree_flatten_with_path
    >>> pairs, treedef = tree_flatten_with_path({"a": [1, None, 2]})
    >>> [(keystr(p), x) for p, x in pairs]
    [("['a'][0]", 1), ("['a'][2]", 2)]
    >>> pairs[0][0]
    (DictKey(key='a'), SequenceKey(idx=0))
    """
    paths, leaves, rebuilt = _paths_and_leaves(tree, is_leaf, is_leaf_takes_path)
    if rebuilt is _NOT_REBUILT:
        treedef = _C_flatten(tree, is_leaf, False, _NS)[1]
    else:
        treedef = _C_flatten(rebuilt, None, False, _NS)[1]
    return list(zip(paths, leaves, strict=True)), treedef


def tree_leaves_with_path(
    tree: Any,
    is_leaf: Callable[..., bool] | None = None,
    is_leaf_takes_path: bool = False,
) -> list[tuple[KeyPath, Any]]:
    """Return ``(key_path, leaf)`` pairs of a pytree.

    >>> from pullback.tree_util import keystr, tree_leaves_with_path
    >>> [(keystr(p), x) for p, x in tree_leaves_with_path(((1, 2), {"k": 3}))]
    [('[0][0]', 1), ('[0][1]', 2), ("[1]['k']", 3)]
    """
    paths, leaves, _ = _paths_and_leaves(tree, is_leaf, is_leaf_takes_path)
    return list(zip(paths, leaves, strict=True))


def tree_map_with_path(
    f: Callable[..., Any],
    tree: Any,
    *rest: Any,
    is_leaf: Callable[..., bool] | None = None,
    is_leaf_takes_path: bool = False,
) -> Any:
    """Like :func:`tree_map`, but ``f`` also receives each leaf's key path first.

    >>> from pullback.tree_util import keystr, tree_map_with_path
    >>> tree_map_with_path(lambda p, x: f"{keystr(p)}={x}", {"a": 1, "b": [2]})
    {'a': "['a']=1", 'b': ["['b'][0]=2"]}
    """
    pairs, treedef = tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)
    columns: list[Iterable[Any]] = [[p for p, _ in pairs], [x for _, x in pairs]]
    for i, r in enumerate(rest):
        try:
            columns.append(treedef.flatten_up_to(r))
        except (ValueError, TypeError) as e:
            raise _structure_mismatch("tree_map_with_path", treedef, i, r, e) from e
    return treedef.unflatten(map(f, *columns))


# ---------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------


def _register(
    nodetype: type,
    flatten: Callable[[Any], Any],
    unflatten: Callable[[Any, Any], Any],
    *,
    keyed_flatten: Callable[[Any], Any] | None = None,
    key_maker: Callable[[Any, int], Any] = _flat_index_keys,
) -> None:
    """Register ``nodetype`` in both namespaces.

    ``flatten`` returns ``(children, aux)`` and is used for plain flattening.  For key
    paths, either ``keyed_flatten`` returns ``(children, (aux, keys))``, or the keys are
    ``key_maker(aux, num_children)`` (by default :class:`FlattenedIndexKey` positions).
    """
    if keyed_flatten is None:
        keys_flatten, keys_unflatten = flatten, unflatten
    else:
        keys_flatten = keyed_flatten
        key_maker = _custom_keys

        def keys_unflatten(node_data: Any, children: Any) -> Any:
            return unflatten(node_data[0], children)

    optree.register_pytree_node(nodetype, flatten, unflatten, namespace=_NS)
    try:
        optree.register_pytree_node(nodetype, keys_flatten, keys_unflatten, namespace=_KEYS_NS)
    except Exception:
        optree.unregister_pytree_node(nodetype, namespace=_NS)
        raise
    _KEY_MAKERS[nodetype] = key_maker


def _keyed_from_pairs(flatten_with_keys: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def keyed_flatten(x: Any) -> tuple[list[Any], tuple[Any, tuple[Any, ...]]]:
        key_children, aux = flatten_with_keys(x)
        keys = []
        children = []
        for k, c in key_children:
            keys.append(k)
            children.append(c)
        return children, (aux, tuple(keys))

    return keyed_flatten


def _plain_from_pairs(flatten_with_keys: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def flatten(x: Any) -> tuple[list[Any], Any]:
        key_children, aux = flatten_with_keys(x)
        return [c for _, c in key_children], aux

    return flatten


def register_pytree_node(
    nodetype: type,
    flatten_func: Callable[[Any], tuple[Iterable[Any], Any]],
    unflatten_func: Callable[[Any, Iterable[Any]], Any],
    flatten_with_keys_func: Callable[[Any], tuple[Iterable[tuple[Any, Any]], Any]] | None = None,
) -> None:
    """Register a type as a pytree node.

    ``flatten_func(x)`` returns ``(children, aux_data)``; ``unflatten_func(aux_data,
    children)`` rebuilds the node.  ``aux_data`` is stored in the structure, so it should
    be hashable and comparable.  The optional ``flatten_with_keys_func(x)`` returns
    ``(((key, child), ...), aux_data)`` and provides the keys used in key paths;
    without it children are keyed by :class:`FlattenedIndexKey`.

    >>> from pullback.tree_util import register_pytree_node, tree_leaves, tree_map
    >>> class Pair:
    ...     def __init__(self, a, b):
    ...         self.a, self.b = a, b
    ...     def __repr__(self):
    ...         return f"Pair({self.a}, {self.b})"
    >>> register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c))
    >>> tree_leaves([Pair(1, 2), 3])
    [1, 2, 3]
    >>> tree_map(lambda x: x * 10, Pair(1, 2))
    Pair(10, 20)
    """
    keyed = None if flatten_with_keys_func is None else _keyed_from_pairs(flatten_with_keys_func)
    _register(nodetype, flatten_func, unflatten_func, keyed_flatten=keyed)


def register_pytree_with_keys(
    nodetype: type,
    flatten_with_keys: Callable[[Any], tuple[Iterable[tuple[Any, Any]], Any]],
    unflatten_func: Callable[[Any, Iterable[Any]], Any],
    flatten_func: Callable[[Any], tuple[Iterable[Any], Any]] | None = None,
) -> None:
    """Register a pytree node whose flatten function reports a key for each child.

    ``flatten_with_keys(x)`` returns ``(((key, child), ...), aux_data)``.  If
    ``flatten_func`` is given it is used for plain flattening, which then avoids
    building keys.

    >>> from pullback.tree_util import GetAttrKey, keystr, register_pytree_with_keys
    >>> from pullback.tree_util import tree_leaves_with_path
    >>> class Box:
    ...     def __init__(self, inner):
    ...         self.inner = inner
    >>> register_pytree_with_keys(
    ...     Box, lambda b: (((GetAttrKey("inner"), b.inner),), None), lambda _, c: Box(*c)
    ... )
    >>> [keystr(p) for p, _ in tree_leaves_with_path({"b": Box((1, 2))})]
    ["['b'].inner[0]", "['b'].inner[1]"]
    """
    if flatten_func is None:
        flatten_func = _plain_from_pairs(flatten_with_keys)
    _register(
        nodetype, flatten_func, unflatten_func, keyed_flatten=_keyed_from_pairs(flatten_with_keys)
    )


def register_pytree_node_class(cls: Typ) -> Typ:
    """Class decorator registering ``cls`` through its ``tree_flatten`` / ``tree_unflatten``.

    ``instance.tree_flatten()`` returns ``(children, aux_data)`` and the classmethod
    ``cls.tree_unflatten(aux_data, children)`` rebuilds an instance.

    >>> from pullback.tree_util import register_pytree_node_class, tree_map
    >>> @register_pytree_node_class
    ... class Scaled:
    ...     def __init__(self, value, scale):
    ...         self.value, self.scale = value, scale
    ...     def tree_flatten(self):
    ...         return (self.value,), self.scale
    ...     @classmethod
    ...     def tree_unflatten(cls, scale, children):
    ...         return cls(children[0], scale)
    >>> s = tree_map(lambda x: x + 1, Scaled(1.0, "m"))
    >>> s.value, s.scale
    (2.0, 'm')
    """
    register_pytree_node(cls, operator.methodcaller("tree_flatten"), cls.tree_unflatten)
    return cls


def register_pytree_with_keys_class(cls: Typ) -> Typ:
    """Class decorator registering ``cls`` through ``tree_flatten_with_keys``.

    ``instance.tree_flatten_with_keys()`` returns ``(((key, child), ...), aux_data)`` and
    ``cls.tree_unflatten(aux_data, children)`` rebuilds an instance.  An optional
    ``tree_flatten`` method is used for plain flattening.

    >>> from pullback.tree_util import DictKey, keystr, register_pytree_with_keys_class
    >>> from pullback.tree_util import tree_leaves_with_path
    >>> @register_pytree_with_keys_class
    ... class Named:
    ...     def __init__(self, **kw):
    ...         self.kw = kw
    ...     def tree_flatten_with_keys(self):
    ...         names = sorted(self.kw)
    ...         return [(DictKey(n), self.kw[n]) for n in names], tuple(names)
    ...     @classmethod
    ...     def tree_unflatten(cls, names, children):
    ...         return cls(**dict(zip(names, children)))
    >>> [(keystr(p), x) for p, x in tree_leaves_with_path(Named(b=2, a=1))]
    [("['a']", 1), ("['b']", 2)]
    """
    flatten_func = operator.methodcaller("tree_flatten") if hasattr(cls, "tree_flatten") else None
    register_pytree_with_keys(
        cls, operator.methodcaller("tree_flatten_with_keys"), cls.tree_unflatten, flatten_func
    )
    return cls


def _tuple_getter(names: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda x: ()
    if len(names) == 1:
        get = operator.attrgetter(names[0])
        return lambda x: (get(x),)
    return operator.attrgetter(*names)


def _register_dataclass_fields(
    nodetype: type, data_fields: Sequence[str], meta_fields: Sequence[str]
) -> None:
    get_data = _tuple_getter(data_fields)
    get_meta = _tuple_getter(meta_fields)

    def flatten(x: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return get_data(x), get_meta(x)

    def unflatten(meta: tuple[Any, ...], children: Iterable[Any]) -> Any:
        kwargs = dict(zip(data_fields, children, strict=True))
        kwargs.update(zip(meta_fields, meta, strict=True))
        return nodetype(**kwargs)

    _register(nodetype, flatten, unflatten, key_maker=_fields_key_maker(data_fields))


def register_dataclass(
    nodetype: Typ,
    data_fields: Sequence[str] | None = None,
    meta_fields: Sequence[str] | None = None,
    drop_fields: Sequence[str] = (),
) -> Typ:
    """Register a dataclass-like type whose attributes are data children or static metadata.

    ``data_fields`` become children; ``meta_fields`` are stored in the structure and must
    be hashable.  For a :func:`dataclasses.dataclass` both may be omitted: fields created
    with ``dataclasses.field(metadata=dict(static=True))`` are metadata, the other
    ``init=True`` fields (minus ``drop_fields``) are data.  Instances are rebuilt by calling
    ``nodetype(**fields)``.  Returns ``nodetype``, so it works as a decorator.

    >>> import dataclasses
    >>> from pullback.tree_util import keystr, register_dataclass, tree_leaves_with_path
    >>> @register_dataclass
    ... @dataclasses.dataclass
    ... class Layer:
    ...     w: float
    ...     b: float
    ...     name: str = dataclasses.field(default="dense", metadata=dict(static=True))
    >>> [(keystr(p), x) for p, x in tree_leaves_with_path(Layer(1.0, 2.0))]
    [('.w', 1.0), ('.b', 2.0)]
    """
    drop = set(drop_fields)
    if data_fields is None and meta_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(
                "register_dataclass: data_fields and meta_fields are required when nodetype "
                f"is not a dataclass; got nodetype={nodetype!r}"
            )
        data: list[str] = []
        meta: list[str] = []
        for f in dataclasses.fields(nodetype):
            if not f.init or f.name in drop:
                continue
            (meta if f.metadata.get("static", False) else data).append(f.name)
    elif data_fields is None or meta_fields is None:
        raise TypeError(
            "register_dataclass: data_fields and meta_fields must be given together; got "
            f"data_fields={data_fields!r}, meta_fields={meta_fields!r}"
        )
    else:
        data, meta = list(data_fields), list(meta_fields)
        if dataclasses.is_dataclass(nodetype):
            init_fields = {f.name for f in dataclasses.fields(nodetype) if f.init}
            given = set(data) | set(meta)
            missing = init_fields - given - drop
            unexpected = given - init_fields
            if missing or unexpected:
                parts = []
                if missing:
                    parts.append(
                        f"missing fields {sorted(missing)} (list them in drop_fields to "
                        "leave them out)"
                    )
                if unexpected:
                    parts.append(f"unexpected fields {sorted(unexpected)}")
                raise ValueError(
                    "register_dataclass: data_fields and meta_fields must name exactly the "
                    f"init=True fields of {nodetype.__name__}: " + "; ".join(parts)
                )
    _register_dataclass_fields(nodetype, tuple(data), tuple(meta))
    return nodetype


def _static_flatten(x: Any) -> tuple[tuple[()], Any]:
    return (), x


def _static_unflatten(x: Any, _: Any) -> Any:
    return x


def register_static(cls: Typ) -> Typ:
    """Register ``cls`` so that its instances have no leaves and live in the structure.

    Instances should be hashable and comparable. Returns ``cls`` (usable as a decorator).

    >>> from pullback.tree_util import register_static, tree_leaves, tree_structure
    >>> @register_static
    ... class Tag:
    ...     def __init__(self, name):
    ...         self.name = name
    ...     def __eq__(self, other):
    ...         return isinstance(other, Tag) and other.name == self.name
    ...     def __hash__(self):
    ...         return hash(self.name)
    >>> tree_leaves([Tag("a"), 1.0])
    [1.0]
    >>> tree_structure(Tag("a")) == tree_structure(Tag("a"))
    True
    """
    _register(cls, _static_flatten, _static_unflatten)
    return cls


# ---------------------------------------------------------------------------
# Partial
# ---------------------------------------------------------------------------


class _WrappedPartial:
    """Holds a ``functools.partial`` used as the function of a :class:`Partial`.

    ``functools.partial`` merges a partial passed as its function into the new object;
    wrapping it keeps the inner partial's arguments static instead.
    """

    __slots__ = ("partial",)

    def __init__(self, partial: functools.partial) -> None:
        self.partial = partial

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.partial(*args, **kwargs)

    @property
    def func(self) -> Callable[..., Any]:
        return self.partial.func

    @property
    def args(self) -> tuple[Any, ...]:
        return self.partial.args

    @property
    def keywords(self) -> dict[str, Any]:
        return self.partial.keywords

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _WrappedPartial):
            return self.partial == other.partial
        return self.partial == other

    def __hash__(self) -> int:
        return hash(self.partial)

    def __repr__(self) -> str:
        return f"_WrappedPartial({self.partial!r})"


class Partial(functools.partial):
    """A :func:`functools.partial` that is a pytree.

    The wrapped function is static (part of the structure, so compare it by identity or
    equality) while the bound positional and keyword arguments are children.

    >>> from pullback.tree_util import Partial, tree_leaves, tree_map
    >>> def affine(x, a, b=0.0):
    ...     return a * x + b
    >>> p = Partial(affine, a=2.0, b=1.0)
    >>> tree_leaves(p)
    [2.0, 1.0]
    >>> q = tree_map(lambda v: v * 10, p)
    >>> q(1.0)
    30.0
    """

    def __new__(cls, func: Callable[..., Any], *args: Any, **keywords: Any) -> Partial:
        if isinstance(func, functools.partial):
            func = _WrappedPartial(func)
        return super().__new__(cls, func, *args, **keywords)


def _partial_flatten(p: Partial) -> tuple[tuple[tuple[Any, ...], dict[str, Any]], Any]:
    return (p.args, p.keywords), p.func


def _partial_unflatten(func: Any, children: Sequence[Any]) -> Partial:
    args, keywords = children
    return Partial(func, *args, **keywords)


_register(Partial, _partial_flatten, _partial_unflatten)
