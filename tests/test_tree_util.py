"""Tests for pullback.tree_util and pullback.tree (pytrees with JAX's semantics)."""

from __future__ import annotations

import collections
import dataclasses
import functools
import operator
import re

import pytest

import pullback.tree as ptree
import pullback.tree_util as tu
from pullback.tree_util import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    Partial,
    SequenceKey,
    keystr,
)


def jaxish(treedef) -> str:
    """optree prints ``PyTreeSpec(..., namespace='pullback')``; normalise to JAX's spelling."""
    s = repr(treedef)
    s = s.replace(", namespace='pullback'", "")
    return re.sub(r"^PyTreeSpec\(", "PyTreeDef(", s)


def path_strs(tree, **kw):
    return [(keystr(p), x) for p, x in tu.tree_leaves_with_path(tree, **kw)]


Point = collections.namedtuple("Point", ["x", "y"])


# --- custom node types registered through each API ---------------------------------------


@tu.register_pytree_node_class
class Scaled:
    def __init__(self, value, scale):
        self.value = value
        self.scale = scale

    def tree_flatten(self):
        return (self.value,), self.scale

    @classmethod
    def tree_unflatten(cls, scale, children):
        return cls(children[0], scale)

    def __eq__(self, other):
        return type(other) is Scaled and (self.value, self.scale) == (other.value, other.scale)

    def __repr__(self):
        return f"Scaled({self.value!r}, {self.scale!r})"


@tu.register_dataclass
@dataclasses.dataclass
class Layer:
    w: object
    b: object
    act: str = dataclasses.field(default="relu", metadata=dict(static=True))


@dataclasses.dataclass
class Explicit:
    a: object
    meta: str
    scratch: object = None


tu.register_dataclass(Explicit, data_fields=["a"], meta_fields=["meta"], drop_fields=["scratch"])


@tu.register_static
class Tag:
    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return isinstance(other, Tag) and other.name == self.name

    def __hash__(self):
        return hash(("Tag", self.name))

    def __repr__(self):
        return f"Tag({self.name!r})"


class Pair:
    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __eq__(self, other):
        return type(other) is Pair and (self.a, self.b) == (other.a, other.b)


def _pair_flatten(p):
    return (p.a, p.b), None


def _make_pair_flatten_with_keys(attr_key):
    # parametrised on the key class so JAX gets its own key objects in the differential tests
    def flatten_with_keys(p):
        return ((attr_key("a"), p.a), (attr_key("b"), p.b)), None

    return flatten_with_keys


_pair_flatten_with_keys = _make_pair_flatten_with_keys(GetAttrKey)


def _pair_unflatten(_, children):
    return Pair(*children)


tu.register_pytree_node(Pair, _pair_flatten, _pair_unflatten, _pair_flatten_with_keys)


class Bag:
    """Registered without keys: children are keyed by FlattenedIndexKey."""

    def __init__(self, *items):
        self.items = items

    def __eq__(self, other):
        return type(other) is Bag and self.items == other.items


def _bag_flatten(b):
    return b.items, len(b.items)


def _bag_unflatten(n, children):
    return Bag(*children)


tu.register_pytree_node(Bag, _bag_flatten, _bag_unflatten)


class Record:
    """Registered with register_pytree_with_keys only (no plain flatten function)."""

    def __init__(self, **fields):
        self.fields = fields

    def __eq__(self, other):
        return type(other) is Record and self.fields == other.fields


def _make_record_flatten_with_keys(dict_key):
    def flatten_with_keys(r):
        names = sorted(r.fields)
        return [(dict_key(n), r.fields[n]) for n in names], tuple(names)

    return flatten_with_keys


_record_flatten_with_keys = _make_record_flatten_with_keys(DictKey)


def _record_unflatten(names, children):
    return Record(**dict(zip(names, children, strict=True)))


tu.register_pytree_with_keys(Record, _record_flatten_with_keys, _record_unflatten)


@tu.register_pytree_with_keys_class
class Span:
    def __init__(self, lo, hi):
        self.lo = lo
        self.hi = hi

    def tree_flatten_with_keys(self):
        return [(GetAttrKey("lo"), self.lo), (GetAttrKey("hi"), self.hi)], None

    def tree_flatten(self):
        return (self.lo, self.hi), None

    @classmethod
    def tree_unflatten(cls, _, children):
        return cls(*children)


# --- None semantics ---------------------------------------------------------------------


def test_none_is_an_empty_subtree():
    assert tu.tree_leaves([1, None, 2]) == [1, 2]
    assert tu.tree_leaves(None) == []
    s = tu.tree_structure(None)
    assert s.num_leaves == 0
    assert s.num_nodes == 1
    assert jaxish(s) == "PyTreeDef(None)"
    assert tu.tree_unflatten(s, []) is None
    assert tu.tree_map(lambda x: x + 1, [1, None, {"a": None, "b": 2}]) == [
        2,
        None,
        {"a": None, "b": 3},
    ]


def test_none_in_first_tree_must_match_none_in_rest():
    with pytest.raises(ValueError):
        tu.tree_map(lambda a, b: a, [1, None], [1, 2])
    # A leaf of the first tree may face a whole subtree (including None) in the rest.
    assert tu.tree_map(lambda a, b: (a, b), [1, 2], [None, (3, 4)]) == [(1, None), (2, (3, 4))]


def test_simple_structure_reprs():
    assert jaxish(tu.tree_structure((1, 2))) == "PyTreeDef((*, *))"
    assert jaxish(tu.tree_structure(1)) == "PyTreeDef(*)"
    assert jaxish(tu.tree_structure({"b": [1], "a": (None,)})) == (
        "PyTreeDef({'a': (None,), 'b': [*]})"
    )


# --- builtin containers -----------------------------------------------------------------


def test_dict_keys_are_sorted():
    tree = {"b": 2, "c": 3, "a": 1}
    leaves, treedef = tu.tree_flatten(tree)
    assert leaves == [1, 2, 3]
    rebuilt = tu.tree_unflatten(treedef, [10, 20, 30])
    assert rebuilt == {"a": 10, "b": 20, "c": 30}
    assert [keystr(p) for p, _ in tu.tree_leaves_with_path(tree)] == ["['a']", "['b']", "['c']"]


def test_ordered_dict_keeps_insertion_order():
    tree = collections.OrderedDict([("z", 1), ("a", 2)])
    leaves, treedef = tu.tree_flatten(tree)
    assert leaves == [1, 2]
    out = tu.tree_unflatten(treedef, [3, 4])
    assert type(out) is collections.OrderedDict
    assert list(out.items()) == [("z", 3), ("a", 4)]
    assert tu.tree_leaves_with_path(tree)[0][0] == (DictKey("z"),)


def test_defaultdict_sorted_and_factory_kept():
    tree = collections.defaultdict(list, {"b": 1, "a": 2})
    leaves, treedef = tu.tree_flatten(tree)
    assert leaves == [2, 1]
    out = tu.tree_map(lambda x: x * 10, tree)
    assert type(out) is collections.defaultdict
    assert out.default_factory is list
    assert dict(out) == {"a": 20, "b": 10}
    assert tu.tree_structure(tree) != tu.tree_structure({"b": 1, "a": 2})


def test_namedtuple():
    tree = Point(1, (2, 3))
    assert tu.tree_leaves(tree) == [1, 2, 3]
    out = tu.tree_map(str, tree)
    assert type(out) is Point
    assert out == Point("1", ("2", "3"))
    assert path_strs(tree) == [(".x", 1), (".y[0]", 2), (".y[1]", 3)]
    assert tu.tree_leaves_with_path(tree)[0][0] == (GetAttrKey("x"),)
    assert tu.tree_structure(tree) != tu.tree_structure((1, (2, 3)))


def test_tuple_and_list_are_distinct():
    assert tu.tree_structure((1, 2)) != tu.tree_structure([1, 2])
    assert tu.tree_structure((1, 2)) == tu.tree_structure(("a", "b"))


def test_is_leaf_stops_traversal():
    tree = {"a": (1, 2), "b": [3, (4, 5)]}
    leaves = tu.tree_leaves(tree, is_leaf=lambda x: isinstance(x, tuple))
    assert leaves == [(1, 2), 3, (4, 5)]
    out = tu.tree_map(
        lambda x: len(x) if isinstance(x, tuple) else -x,
        tree,
        is_leaf=lambda x: isinstance(x, tuple),
    )
    assert out == {"a": 2, "b": [-3, 2]}


def test_is_leaf_in_tree_map_only_applies_to_first_tree():
    out = tu.tree_map(
        lambda x, y: (x, y),
        [(1, 2)],
        [{"k": 3}],
        is_leaf=lambda x: isinstance(x, tuple),
    )
    assert out == [((1, 2), {"k": 3})]


# --- unflatten / tree_map errors -------------------------------------------------------


def test_unflatten_wrong_leaf_count():
    treedef = tu.tree_structure((1, [2, 3]))
    with pytest.raises(ValueError, match=r"expected:? 3"):
        tu.tree_unflatten(treedef, [1, 2])
    with pytest.raises(ValueError, match=r"expected:? 3"):
        tu.tree_unflatten(treedef, [1, 2, 3, 4])
    assert tu.tree_unflatten(treedef, iter("xyz")) == ("x", ["y", "z"])
    assert treedef.unflatten([7, 8, 9]) == (7, [8, 9])


def test_tree_map_mismatch_mentions_both_structures():
    with pytest.raises(ValueError) as info:
        tu.tree_map(lambda a, b: a, (1, 2), [1, 2])
    msg = str(info.value)
    assert "(*, *)" in msg
    assert "[*, *]" in msg
    with pytest.raises(ValueError) as info:
        tu.tree_map(lambda a, b: a, {"a": 1}, {"b": 1})
    msg = str(info.value)
    assert "'a'" in msg and "'b'" in msg
    with pytest.raises(ValueError, match=r"\(\*, \*, \*\)"):
        tu.tree_map(lambda a, b: a, (1, 2), (1, 2, 3))


def test_tree_map_multiple_trees():
    out = tu.tree_map(lambda a, b, c: a + b + c, [1, {"x": 2}], [10, {"x": 20}], [100, {"x": 200}])
    assert out == [111, {"x": 222}]


# --- custom nodes ----------------------------------------------------------------------


def test_register_pytree_node_class():
    tree = [Scaled(1.0, "m"), Scaled((2.0, 3.0), "s")]
    assert tu.tree_leaves(tree) == [1.0, 2.0, 3.0]
    out = tu.tree_map(lambda x: x * 2, tree)
    assert out == [Scaled(2.0, "m"), Scaled((4.0, 6.0), "s")]
    # aux data participates in the structure
    assert tu.tree_structure(Scaled(1, "m")) == tu.tree_structure(Scaled(2, "m"))
    assert tu.tree_structure(Scaled(1, "m")) != tu.tree_structure(Scaled(1, "s"))
    assert path_strs(Scaled((1, 2), "m")) == [
        ("[<flat index 0>][0]", 1),
        ("[<flat index 0>][1]", 2),
    ]


def test_register_dataclass_decorator_with_static_field():
    layer = Layer(w=[1.0, 2.0], b=3.0, act="tanh")
    leaves, treedef = tu.tree_flatten(layer)
    assert leaves == [1.0, 2.0, 3.0]
    out = tu.tree_unflatten(treedef, [4.0, 5.0, 6.0])
    assert out == Layer(w=[4.0, 5.0], b=6.0, act="tanh")
    assert tu.tree_structure(Layer(0, 0, "tanh")) != tu.tree_structure(Layer(0, 0, "relu"))
    assert path_strs(layer) == [(".w[0]", 1.0), (".w[1]", 2.0), (".b", 3.0)]
    assert tu.tree_leaves_with_path(layer)[2][0] == (GetAttrKey("b"),)
    assert tu.tree_leaves(Layer(w=None, b=1.0)) == [1.0]


def test_register_dataclass_explicit_fields_and_drop():
    e = Explicit(a=(1, 2), meta="m", scratch="ignored")
    assert tu.tree_leaves(e) == [1, 2]
    out = tu.tree_map(lambda x: -x, e)
    assert out == Explicit(a=(-1, -2), meta="m", scratch=None)


def test_register_dataclass_errors():
    @dataclasses.dataclass
    class Two:
        x: int
        y: int

    with pytest.raises(ValueError, match="y"):
        tu.register_dataclass(Two, data_fields=["x"], meta_fields=[])
    with pytest.raises(ValueError, match="zz"):
        tu.register_dataclass(Two, data_fields=["x", "y", "zz"], meta_fields=[])
    with pytest.raises(TypeError):
        tu.register_dataclass(Two, data_fields=["x"])

    class NotADataclass:
        pass

    with pytest.raises(TypeError):
        tu.register_dataclass(NotADataclass)


def test_register_dataclass_non_dataclass_with_fields():
    class Plain:
        def __init__(self, p, q):
            self.p = p
            self.q = q

    tu.register_dataclass(Plain, data_fields=["p"], meta_fields=["q"])
    out = tu.tree_map(lambda v: v + 1, Plain(1, "static"))
    assert (out.p, out.q) == (2, "static")


def test_register_static():
    tree = {"tag": Tag("a"), "x": 1.0}
    leaves, treedef = tu.tree_flatten(tree)
    assert leaves == [1.0]
    assert tu.tree_structure({"tag": Tag("a"), "x": 2}) == treedef
    assert tu.tree_structure({"tag": Tag("b"), "x": 2}) != treedef
    out = tu.tree_unflatten(treedef, [5.0])
    assert out == {"tag": Tag("a"), "x": 5.0}
    assert tu.tree_leaves_with_path(tree) == [((DictKey("x"),), 1.0)]


def test_register_pytree_node_with_keys_func():
    tree = Pair(1, [2, 3])
    assert tu.tree_leaves(tree) == [1, 2, 3]
    assert path_strs(tree) == [(".a", 1), (".b[0]", 2), (".b[1]", 3)]
    assert tu.tree_map(lambda x: x * 2, tree) == Pair(2, [4, 6])


def test_register_pytree_node_without_keys_uses_flat_index():
    tree = Bag("u", ("v", "w"))
    assert path_strs(tree) == [
        ("[<flat index 0>]", "u"),
        ("[<flat index 1>][0]", "v"),
        ("[<flat index 1>][1]", "w"),
    ]
    assert tu.tree_leaves_with_path(tree)[0][0] == (FlattenedIndexKey(0),)


def test_register_pytree_with_keys():
    tree = Record(b=2, a=(1, None))
    assert tu.tree_leaves(tree) == [1, 2]
    assert path_strs(tree) == [("['a'][0]", 1), ("['b']", 2)]
    assert tu.tree_map(str, tree) == Record(a=("1", None), b="2")


def test_register_pytree_with_keys_class():
    tree = Span(0.0, 1.0)
    assert tu.tree_leaves(tree) == [0.0, 1.0]
    assert path_strs(tree) == [(".lo", 0.0), (".hi", 1.0)]
    out = tu.tree_map(lambda x: x + 1, tree)
    assert (out.lo, out.hi) == (1.0, 2.0)


def test_duplicate_registration_raises():
    with pytest.raises(ValueError):
        tu.register_pytree_node(Pair, _pair_flatten, _pair_unflatten)
    with pytest.raises(ValueError):
        tu.register_static(Tag)
    # the failed attempt left the original registration in place
    assert path_strs(Pair(1, 2)) == [(".a", 1), (".b", 2)]


def test_registrations_do_not_leak_into_optree_global_namespace():
    optree = pytest.importorskip("optree")
    assert optree.tree_leaves(Pair(1, 2)) != [1, 2]


# --- key paths -------------------------------------------------------------------------


def test_flatten_with_path_keys_and_keystr():
    tree = {"a": [1, Point(2, 3)], "b": None, "c": (4,)}
    pairs, treedef = tu.tree_flatten_with_path(tree)
    assert treedef == tu.tree_structure(tree)
    assert [x for _, x in pairs] == [1, 2, 3, 4]
    paths = [p for p, _ in pairs]
    assert paths[0] == (DictKey("a"), SequenceKey(0))
    assert paths[1] == (DictKey("a"), SequenceKey(1), GetAttrKey("x"))
    assert [keystr(p) for p in paths] == ["['a'][0]", "['a'][1].x", "['a'][1].y", "['c'][0]"]
    assert [keystr(p, simple=True, separator="/") for p in paths] == [
        "a/0",
        "a/1/x",
        "a/1/y",
        "c/0",
    ]
    assert keystr(()) == ""


def test_key_classes():
    assert repr(DictKey("a")) == "DictKey(key='a')"
    assert repr(SequenceKey(3)) == "SequenceKey(idx=3)"
    assert repr(GetAttrKey("x")) == "GetAttrKey(name='x')"
    assert repr(FlattenedIndexKey(1)) == "FlattenedIndexKey(key=1)"
    assert str(DictKey(1)) == "[1]"
    assert str(FlattenedIndexKey(1)) == "[<flat index 1>]"
    assert DictKey("a") == DictKey("a") and hash(DictKey("a")) == hash(DictKey("a"))
    assert SequenceKey(1) != FlattenedIndexKey(1)
    assert DictKey("a") != "a"
    match GetAttrKey("w"):
        case GetAttrKey(name):
            assert name == "w"
    assert keystr((DictKey("a"), "raw", 5), simple=True, separator=".") == "a.raw.5"


def test_map_with_path_and_rest():
    out = tu.tree_map_with_path(
        lambda p, x, y: f"{keystr(p)}:{x + y}", {"a": 1, "b": [2]}, {"a": 10, "b": [20]}
    )
    assert out == {"a": "['a']:11", "b": ["['b'][0]:22"]}
    with pytest.raises(ValueError, match="structure"):
        tu.tree_map_with_path(lambda p, x, y: x, (1,), [1])


def test_paths_with_is_leaf():
    tree = {"a": (1, 2), "b": [3]}
    pairs = tu.tree_leaves_with_path(tree, is_leaf=lambda x: isinstance(x, tuple))
    assert [(keystr(p), x) for p, x in pairs] == [("['a']", (1, 2)), ("['b'][0]", 3)]


def test_is_leaf_takes_path():
    tree = {"a": (1, 2), "b": [None, (3,)], "c": Pair(4, (5, 6))}
    seen = []

    def stop_at_depth_two(path, x):
        seen.append(keystr(path))
        return len(path) == 2

    pairs, treedef = tu.tree_flatten_with_path(
        tree, is_leaf=stop_at_depth_two, is_leaf_takes_path=True
    )
    assert [(keystr(p), x) for p, x in pairs] == [
        ("['a'][0]", 1),
        ("['a'][1]", 2),
        ("['b'][0]", None),
        ("['b'][1]", (3,)),
        ("['c'].a", 4),
        ("['c'].b", (5, 6)),
    ]
    assert seen[0] == ""
    assert treedef.num_leaves == 6
    rebuilt = tu.tree_unflatten(treedef, [x for _, x in pairs])
    assert rebuilt["a"] == (1, 2) and rebuilt["b"] == [None, (3,)]
    assert rebuilt["c"] == Pair(4, (5, 6))
    mapped = tu.tree_map_with_path(
        lambda p, x: keystr(p), tree, is_leaf=lambda p, x: len(p) == 1, is_leaf_takes_path=True
    )
    assert mapped == {"a": "['a']", "b": "['b']", "c": "['c']"}
    # None stays an empty subtree; a path predicate that never fires changes nothing
    never = dict(is_leaf=lambda p, x: False, is_leaf_takes_path=True)
    assert tu.tree_flatten_with_path(None, **never) == ([], tu.tree_structure(None))
    pairs, treedef = tu.tree_flatten_with_path(tree, **never)
    plain_pairs, plain_treedef = tu.tree_flatten_with_path(tree)
    assert pairs == plain_pairs and treedef == plain_treedef
    assert tu.tree_leaves_with_path(5, is_leaf=lambda p, x: True, is_leaf_takes_path=True) == [
        ((), 5)
    ]


def test_dict_key_types_are_kept_in_paths():
    assert tu.tree_leaves_with_path({1: "a"})[0][0] == (DictKey(1),)
    (path,), _ = zip(*tu.tree_leaves_with_path({True: "a"}), strict=True)
    assert type(path[0].key) is bool
    (path,), _ = zip(*tu.tree_leaves_with_path({1.0: "a"}), strict=True)
    assert type(path[0].key) is float


# --- Partial ---------------------------------------------------------------------------


def _affine(x, a, b=0.0):
    return a * x + b


def test_partial_is_a_pytree():
    p = Partial(_affine, 2.0, b=1.0)
    assert isinstance(p, functools.partial)
    assert p(3.0) == 7.0
    leaves, treedef = tu.tree_flatten(p)
    assert leaves == [2.0, 1.0]
    q = tu.tree_unflatten(treedef, [3.0, 0.5])
    assert type(q) is Partial and q.func is _affine
    assert q(1.0) == 3.5
    assert path_strs(p) == [("[<flat index 0>][0]", 2.0), ("[<flat index 1>]['b']", 1.0)]
    # the function is static: a different function gives a different structure
    assert tu.tree_structure(Partial(_affine, 1.0)) != tu.tree_structure(Partial(max, 1.0))
    assert tu.tree_structure(Partial(_affine, 1.0)) == tu.tree_structure(Partial(_affine, 9.0))


def test_partial_of_partial_keeps_inner_arguments_static():
    inner = functools.partial(_affine, 2.0)
    p = Partial(inner, 3.0)
    assert tu.tree_leaves(p) == [3.0]
    assert p() == 6.0
    assert p.func.func is _affine and p.func.args == (2.0,)
    nested = Partial(Partial(_affine, 2.0), 4.0)
    assert tu.tree_leaves(nested) == [4.0]
    assert nested() == 8.0
    out = tu.tree_map(lambda v: v + 1, nested)
    assert out() == 10.0


# --- the remaining functions -----------------------------------------------------------


def test_tree_reduce_and_all():
    assert tu.tree_reduce(operator.add, [1, (2, None), {"a": 3}]) == 6
    assert tu.tree_reduce(operator.add, [], 5) == 5
    assert tu.tree_reduce(operator.add, ([1], [2]), is_leaf=lambda x: isinstance(x, list)) == [
        1,
        2,
    ]
    with pytest.raises(TypeError):
        tu.tree_reduce(operator.add, [])
    assert tu.tree_all([1, {"a": True}])
    assert not tu.tree_all([1, {"a": 0}])
    assert tu.tree_all(None)
    assert tu.tree_all([[]], is_leaf=lambda x: x == []) is False


def test_tree_transpose():
    outer = tu.tree_structure([0, 0, 0])
    inner = tu.tree_structure({"a": 0, "b": 0})
    tree = [{"a": 1, "b": 2}, {"a": 3, "b": 4}, {"a": 5, "b": 6}]
    expected = {"a": [1, 3, 5], "b": [2, 4, 6]}
    assert tu.tree_transpose(outer, inner, tree) == expected
    assert tu.tree_transpose(outer, None, tree) == expected
    with pytest.raises(TypeError):
        tu.tree_transpose(outer, tu.tree_structure((0, 0)), tree)
    # empty outer or inner structures
    assert tu.tree_transpose(tu.tree_structure([]), tu.tree_structure((0, 0)), []) == ([], [])
    assert tu.tree_transpose(tu.tree_structure([0, 0]), tu.tree_structure(()), [(), ()]) == ()
    with pytest.raises(ValueError):
        tu.tree_transpose(tu.tree_structure([]), None, [])


def test_treedef_helpers():
    assert tu.treedef_is_leaf(tu.tree_structure(1))
    assert tu.treedef_is_leaf(tu.tree_structure(None))  # as in JAX: one node
    assert not tu.treedef_is_leaf(tu.tree_structure([1]))
    children = tu.treedef_children(tu.tree_structure({"a": (1, 2), "b": None}))
    assert children == [tu.tree_structure((1, 2)), tu.tree_structure(None)]
    t = tu.treedef_tuple([tu.tree_structure([1]), tu.tree_structure(None), tu.tree_structure(1)])
    assert t == tu.tree_structure(([1], None, 1))
    assert t.num_leaves == 2


def test_all_leaves():
    assert tu.all_leaves([1, "a", 2.0])
    assert not tu.all_leaves([1, [2]])
    assert not tu.all_leaves([None])
    assert tu.all_leaves([(1, 2)], is_leaf=lambda x: isinstance(x, tuple))


def test_build_tree():
    treedef = tu.tree_structure({"a": 0, "b": (0, None, [0])})
    out = tu.build_tree(treedef, ["A", ("B", (), ["C"])])
    assert out == {"a": "A", "b": ("B", None, ["C"])}
    custom = tu.build_tree(tu.tree_structure(Pair(0, 0)), [1, 2])
    assert custom == Pair(1, 2)
    with pytest.raises(ValueError):
        tu.build_tree(tu.tree_structure((0, 0)), [1])


# --- pullback.tree ---------------------------------------------------------------------


def test_tree_namespace_delegates():
    tree = {"b": (2, None), "a": [1]}
    assert ptree.leaves(tree) == [1, 2]
    leaves, treedef = ptree.flatten(tree)
    assert treedef == ptree.structure(tree)
    assert ptree.unflatten(treedef, leaves) == tree
    assert ptree.map(lambda x: x * 3, tree) == {"a": [3], "b": (6, None)}
    assert ptree.reduce(operator.add, tree) == 3
    assert ptree.reduce(operator.add, None, 7) == 7
    assert ptree.all(tree) and not ptree.all([0])
    assert ptree.transpose(ptree.structure([0, 0]), None, [(1, 2), (3, 4)]) == ([1, 3], [2, 4])
    pairs, treedef2 = ptree.flatten_with_path(tree)
    assert treedef2 == treedef
    assert [keystr(p) for p, _ in pairs] == ["['a'][0]", "['b'][0]"]
    assert ptree.leaves_with_path(tree) == pairs
    assert ptree.map_with_path(lambda p, x: len(p), tree) == {"a": [2], "b": (2, None)}
    assert ptree.leaves(tree, is_leaf=lambda x: isinstance(x, tuple)) == [1, (2, None)]


# --- differential tests against JAX -------------------------------------------------------


_JAX_REGISTERED: list[bool] = []


@pytest.fixture(scope="module")
def jtu():
    """jax.tree_util, with this module's custom node types registered there too."""
    jax = pytest.importorskip("jax")
    j = jax.tree_util
    if not _JAX_REGISTERED:
        j.register_pytree_node_class(Scaled)
        j.register_dataclass(Layer)
        j.register_dataclass(
            Explicit, data_fields=["a"], meta_fields=["meta"], drop_fields=["scratch"]
        )
        j.register_static(Tag)
        j.register_pytree_node(
            Pair, _pair_flatten, _pair_unflatten, _make_pair_flatten_with_keys(j.GetAttrKey)
        )
        j.register_pytree_node(Bag, _bag_flatten, _bag_unflatten)
        j.register_pytree_with_keys(
            Record, _make_record_flatten_with_keys(j.DictKey), _record_unflatten
        )
        j.register_pytree_with_keys(
            Span,
            lambda s: (((j.GetAttrKey("lo"), s.lo), (j.GetAttrKey("hi"), s.hi)), None),
            Span.tree_unflatten,
        )
        _JAX_REGISTERED.append(True)
    return j


BUILTIN_TREES = [
    1.0,
    None,
    (),
    [],
    {},
    (1,),
    [1, None, 2],
    {"b": 1, "a": (2, [3, None]), "c": {}},
    {1: "x", 0: ["y", ("z",)]},
    ((((1,),),), [[[]]], {"k": None}),
    [{"a": (None, None)}, [[1, 2], (3,)]],
]

CUSTOM_TREES = [
    Point(1, (2, None)),
    collections.OrderedDict([("z", 1), ("a", [2, 3])]),
    collections.defaultdict(list, {"b": 1, "a": Point(2, 3)}),
    Scaled([1, 2], "m"),
    {"layer": Layer(w=(1.0, 2.0), b=None, act="gelu"), "n": 3},
    Explicit(a={"q": 1, "p": 2}, meta="m"),
    [Tag("t"), 1, {"tag": Tag("u")}],
    Pair(Pair(1, 2), [3]),
    Bag(1, (2, 3), None),
    Record(y=[1], x=Pair(2, 3)),
    Span(1, (2, 3)),
    [Partial(_affine, 1.0, b=(2.0, None)), {"f": Partial(_affine)}],
]


def _jax_tree(tree):
    """Partial must be jax's own class on the JAX side."""
    import jax

    if isinstance(tree, Partial):
        return jax.tree_util.Partial(tree.func, *tree.args, **tree.keywords)
    if isinstance(tree, list):
        return [_jax_tree(t) for t in tree]
    if isinstance(tree, dict) and type(tree) is dict:
        return {k: _jax_tree(v) for k, v in tree.items()}
    return tree


def _stable_id(tree):
    """A test id the same in every process (default reprs carry addresses: pytest-xdist's
    workers must collect the same ids)."""
    return re.sub(r" at 0x[0-9a-f]+", "", repr(tree))


@pytest.mark.parametrize("tree", BUILTIN_TREES + CUSTOM_TREES, ids=_stable_id)
def test_differential_leaves_and_paths(jtu, tree):
    jtree = _jax_tree(tree)
    assert tu.tree_leaves(tree) == jtu.tree_leaves(jtree)
    ours = tu.tree_structure(tree)
    theirs = jtu.tree_structure(jtree)
    assert ours.num_leaves == theirs.num_leaves
    assert ours.num_nodes == theirs.num_nodes
    assert tu.treedef_is_leaf(ours) == jtu.treedef_is_leaf(theirs)
    assert len(tu.treedef_children(ours)) == len(jtu.treedef_children(theirs))
    our_pairs = tu.tree_leaves_with_path(tree)
    their_pairs = jtu.tree_leaves_with_path(jtree)
    assert [keystr(p) for p, _ in our_pairs] == [jtu.keystr(p) for p, _ in their_pairs]
    assert [keystr(p, simple=True, separator="/") for p, _ in our_pairs] == [
        jtu.keystr(p, simple=True, separator="/") for p, _ in their_pairs
    ]
    assert [repr(p) for p, _ in our_pairs] == [repr(p) for p, _ in their_pairs]
    assert [x for _, x in our_pairs] == [x for _, x in their_pairs]
    # round trip through a map that changes every leaf
    counter = iter(range(1000))
    ours_mapped = tu.tree_leaves(tu.tree_map(lambda x: (next(counter), x), tree))
    counter = iter(range(1000))
    theirs_mapped = jtu.tree_leaves(jtu.tree_map(lambda x: (next(counter), x), jtree))
    assert ours_mapped == theirs_mapped


@pytest.mark.parametrize("tree", BUILTIN_TREES, ids=repr)
def test_differential_structure_strings(jtu, tree):
    assert jaxish(tu.tree_structure(tree)) == str(jtu.tree_structure(tree))
    children = tu.treedef_children(tu.tree_structure(tree))
    their_children = jtu.treedef_children(jtu.tree_structure(tree))
    assert [jaxish(c) for c in children] == [str(c) for c in their_children]


def test_differential_is_leaf_takes_path(jtu):
    tree = {"a": (1, 2), "b": [None, (3,)], "c": Pair(4, (5, 6)), "d": Layer((7,), 8)}

    def pred(path, x):
        return len(path) == 2 or isinstance(x, tuple)

    ours, ours_def = tu.tree_flatten_with_path(tree, is_leaf=pred, is_leaf_takes_path=True)
    theirs, their_def = jtu.tree_flatten_with_path(tree, is_leaf=pred, is_leaf_takes_path=True)
    assert [(keystr(p), x) for p, x in ours] == [(jtu.keystr(p), x) for p, x in theirs]
    assert ours_def.num_leaves == their_def.num_leaves
    assert ours_def.num_nodes == their_def.num_nodes


def test_differential_transpose_and_reduce(jtu):
    tree = [{"a": 1, "b": (2, 3)}, {"a": 4, "b": (5, 6)}]
    outer_ours = tu.tree_structure([0, 0])
    outer_theirs = jtu.tree_structure([0, 0])
    assert tu.tree_transpose(outer_ours, None, tree) == jtu.tree_transpose(outer_theirs, None, tree)
    assert tu.tree_reduce(operator.mul, tree) == jtu.tree_reduce(operator.mul, tree)
    assert tu.all_leaves([1, None]) == jtu.all_leaves([1, None])
    assert tu.all_leaves([1, 2]) == jtu.all_leaves([1, 2])
    assert jaxish(tu.treedef_tuple([tu.tree_structure((1, 2)), tu.tree_structure(None)])) == str(
        jtu.treedef_tuple([jtu.tree_structure((1, 2)), jtu.tree_structure(None)])
    )
