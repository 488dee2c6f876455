"""``debug_callback``: a primitive that calls a Python function for its effect, from eager or
traced code alike (the machinery of ``pullback.debug.print`` and ``pullback.debug.callback``).

Its operands are the array leaves of the callback's ``(args, kwargs)``; its parameter
``callback`` (a ``FlatCallback``) holds the function, the pytree of the arguments, the leaves
that are not arrays (strings, ...) and the operands' weak-type flags, so the function receives
``Array`` values typed as the caller's were. It has no outputs. Its rules:

* ``impl``: call the function (eagerly at once; under ``jit`` each time the compiled program
  runs, never while tracing);
* ``abstract``: no outputs; ``rules["effect"]`` marks it as kept for its effect, and
  ``rules["unfoldable"]`` stops the compiler from running it at compile time on constants;
* reverse and forward mode: the function sees the primal values (it has no derivative: it is
  called where the primals are computed, once);
* ``batch``: the call is unrolled over the batch, one call per member with that member's
  values, unbatched operands as they are (JAX's rule: a ``vmap`` of a print prints each
  example).

Each bind gets its own ``FlatCallback`` (equal only to itself), so two identical prints are
two equations that common-subexpression elimination does not merge.
"""

from __future__ import annotations

from pullback._core import Array, Primitive, to_raw
from pullback._hop.batching import at_parent, forward
from pullback._ops import squeeze, static_slice
from pullback.tree_util import tree_flatten, tree_unflatten

__all__ = ["FlatCallback", "bind_debug_callback", "debug_callback_p"]

_PY_SCALARS = (bool, int, float, complex)


class _Effect:
    """The ``effect`` parameter, printed as JAX prints it."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


DEBUG = _Effect("Debug")
ORDERED_DEBUG = _Effect("OrderedDebug")


class FlatCallback:
    """``fn(*args, **kwargs)`` from the flat array operands: the pytree of ``(args, kwargs)``,
    the leaves that are not arrays (by position) and the operands' weak-type flags."""

    __slots__ = ("fn", "in_tree", "static", "weaks", "__name__")

    def __init__(self, fn, in_tree, static, weaks):
        self.fn = fn
        self.in_tree = in_tree
        self.static = static
        self.weaks = weaks
        self.__name__ = getattr(fn, "__name__", None) or type(fn).__name__

    def __call__(self, *operands):
        dynamic = iter(
            x if isinstance(x, Array) else Array(x, w)
            for x, w in zip(operands, self.weaks, strict=True)
        )
        leaves = [
            self.static[k] if k in self.static else next(dynamic)
            for k in range(len(self.static) + len(self.weaks))
        ]
        args, kwargs = tree_unflatten(self.in_tree, leaves)
        self.fn(*args, **kwargs)

    def __repr__(self):
        return f"<function {self.__name__}>"


def _impl(*operands, callback, effect, partitioned):
    callback(*operands)
    return []


debug_callback_p = Primitive("debug_callback", _impl, multiple_results=True, weak="never")
debug_callback_p.abstract = lambda *avals, callback, effect, partitioned: []
debug_callback_p.rules["effect"] = True
debug_callback_p.rules["unfoldable"] = True


def _is_array(x):
    return isinstance(x, Array) or type(x) in _PY_SCALARS or hasattr(x, "__array__")


def bind_debug_callback(fn, args, kwargs, *, ordered=False, partitioned=False):
    """Bind ``debug_callback`` for ``fn(*args, **kwargs)``: array leaves (arrays, tracers,
    NumPy values, Python scalars) become operands, other leaves are kept as they are."""
    leaves, in_tree = tree_flatten((args, kwargs))
    static = {}
    operands = []
    weaks = []
    for k, leaf in enumerate(leaves):
        if not _is_array(leaf) or isinstance(leaf, str):
            static[k] = leaf
            continue
        if not isinstance(leaf, Array):
            leaf = Array(*to_raw(leaf))
        operands.append(leaf)
        weaks.append(leaf._weak)
    callback = FlatCallback(fn, in_tree, static, tuple(weaks))
    debug_callback_p.bind(
        *operands,
        callback=callback,
        effect=ORDERED_DEBUG if ordered else DEBUG,
        partitioned=partitioned,
    )


# -- batching (vmap): one call per member -------------------------------------------------------


def _member(x, k, axis):
    starts = [0] * x.ndim
    limits = list(x.shape)
    starts[axis], limits[axis] = k, k + 1
    return squeeze(static_slice(x, starts, limits), (axis,))


def _batch_rule(interp, args, params):
    dims = [interp.bdim(a) for a in args]
    if all(d is None for d in dims):
        return forward(interp, debug_callback_p, args, params)
    values = [interp.value(a) for a in args]

    def unrolled():
        for k in range(interp.axis_size):
            members = [
                v if d is None else _member(v, k, d) for v, d in zip(values, dims, strict=True)
            ]
            debug_callback_p.bind(*members, **params)
        return []

    return at_parent(interp, unrolled)


debug_callback_p.rules["batch"] = _batch_rule
