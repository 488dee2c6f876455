"""``pure_callback``: call a Python function on NumPy arrays from traced code.

The primitive ``pure_callback`` takes the flat leaves of the callback's ``(args, kwargs)`` as
operands; its parameters are the callback (with the pytrees of its arguments and of its declared
result), the result's avals, and ``sharding``/``vmap_method`` (accepted, and shown in jaxprs as
JAX shows them). Its rules:

* ``impl`` (eager and compiled alike): call the function on read-only NumPy arrays and check its
  result (the number of leaves, as JAX does, then each leaf's shape and dtype) against
  ``result_shape_dtypes``; ``specialize`` gives the compiler the same with the parameters bound
  once, so that inside ``jit`` a callback costs a read-only view per operand and a type check
  more than a plain call;
* ``abstract``: the declared result avals, so ``jit`` stages an equation without calling it;
* ``vjp``: an error when an operand is being differentiated (nothing can see inside the
  function, and a silent zero gradient would be wrong); otherwise the parent runs it.
"""

from __future__ import annotations

import functools

import numpy as np

from pullback import _dtypes
from pullback._core import Array, Primitive, ShapedArray, to_raw
from pullback._hop.batching import at_parent, forward
from pullback._ops import reshape, squeeze, stack, static_slice
from pullback._ops._base import batch_at
from pullback.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_unflatten

__all__ = ["pure_callback", "pure_callback_p", "CallbackNotBatchableError"]

VMAP_METHODS = (
    "sequential",
    "sequential_unrolled",
    "expand_dims",
    "broadcast_all",
    "legacy_vectorized",
    None,
)


class CallbackNotBatchableError(NotImplementedError):
    """``vmap`` of a ``pure_callback`` that declares no ``vmap_method`` (JAX's
    ``NotImplementedError``): the callback can only run on one value at a time."""


def _name(fn):
    return getattr(fn, "__name__", None) or type(fn).__name__


class _Callback:
    """The ``callback`` parameter: the user's function, the pytree of its ``(args, kwargs)`` and
    the pytree of its declared result. Equal for the same function and structures (so ``jit``
    shares equal calls); jaxprs print it as the function's name."""

    __slots__ = ("fn", "in_tree", "out_tree", "positional")

    def __init__(self, fn, in_tree, out_tree, positional):
        self.fn = fn
        self.in_tree = in_tree
        self.out_tree = out_tree
        self.positional = positional  # the operands are exactly the positional arguments

    @property
    def __name__(self):
        return _name(self.fn)

    def __call__(self, *operands):
        if self.positional:
            return self.fn(*operands)
        args, kwargs = tree_unflatten(self.in_tree, operands)
        return self.fn(*args, **kwargs)

    def _key(self):
        return (self.fn, self.in_tree, self.out_tree)

    def __eq__(self, other):
        return type(other) is _Callback and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())


def _read_only(x):
    """``x`` as an ndarray the callback cannot write into (it may be an ``Array``'s value)."""
    view = x.view() if type(x) is np.ndarray else np.asarray(x)
    view.setflags(write=False)
    return view


def _specialize(*, callback, result_avals, sharding, vmap_method):
    """The impl with its parameters bound, as compiled programs call it: the user's function
    called directly, and the common result (one array of the declared type) checked inline."""
    fn = callback.fn if callback.positional else callback
    if len(result_avals) != 1:
        return lambda *operands: _checked_result(
            callback, fn(*map(_read_only, operands)), result_avals
        )
    shape, dtype = result_avals[0].shape, result_avals[0].dtype

    def call(*operands):
        result = fn(*map(_read_only, operands))
        if type(result) is np.ndarray and result.dtype == dtype and result.shape == shape:
            return (result,)
        return _checked_result(callback, result, result_avals)

    def call_one(x):  # one operand, the commonest callback: the view made inline
        if type(x) is np.ndarray:
            x = x.view()
            x.setflags(write=False)
        else:
            x = _read_only(x)
        result = fn(x)
        if type(result) is np.ndarray and result.dtype == dtype and result.shape == shape:
            return (result,)
        return _checked_result(callback, result, result_avals)

    return call_one if callback.positional and callback.in_tree.num_leaves == 1 else call


def _pure_callback_impl(*operands, **params):
    return _specialize(**params)(*operands)


def _checked_result(callback, result, result_avals):
    """The leaves of ``result`` as ndarrays of the declared types, or an error that says where
    they differ."""
    leaves, tree = tree_flatten(result)
    declared = tree_unflatten(callback.out_tree, result_avals)
    where = f"pure_callback: the callback {callback.__name__}"
    if len(leaves) != len(result_avals):
        raise TypeError(
            f"{where} returned a result of structure {tree} with {len(leaves)} leaves, but "
            f"result_shape_dtypes has structure {callback.out_tree} with {len(result_avals)}. "
            f"Return arrays in the structure of result_shape_dtypes."
        )
    outs = []
    for (path, aval), leaf in zip(tree_flatten_with_path(declared)[0], leaves, strict=True):
        value = np.asarray(leaf)
        if value.dtype.kind not in "biufc":
            raise TypeError(
                f"{where} returned {leaf!r} of type {type(leaf)} at result{keystr(path)}, which "
                f"is not an array; result_shape_dtypes declares {aval.str_short()} there."
            )
        # 64-bit values count as their 32-bit type while x64 is disabled, as everywhere else
        dtype = _dtypes.canonicalize_dtype(value.dtype)
        if dtype != value.dtype:
            value = value.astype(dtype)
        if value.shape != aval.shape or dtype != aval.dtype:
            mismatch = (
                f"{where} returned {_dtypes.type_str(value.shape, dtype)} at "
                f"result{keystr(path)}, but result_shape_dtypes declares {aval.str_short()} there. "
                f"Return an array of the declared shape and dtype (or change result_shape_dtypes)."
            )
            raise TypeError(mismatch) if dtype != aval.dtype else ValueError(mismatch)
        outs.append(value)
    return outs


def _abstract(*avals, callback, result_avals, sharding, vmap_method):
    return result_avals


def _vjp_rule(interp, args, params):
    if any(interp.own(a) for a in args):
        raise ValueError(
            f"pure_callback: cannot differentiate the callback {params['callback'].__name__}: "
            f"it runs outside pullback, so its derivative is unknown (it is not zero). Wrap the "
            f"function that calls pure_callback in pullback.custom_vjp and compute the "
            f"derivative in its bwd rule (for instance with another pure_callback)."
        )
    return interp._constant(pure_callback_p, [interp.primal(a) for a in args], params)


pure_callback_p = Primitive(
    "pure_callback", _pure_callback_impl, multiple_results=True, weak="never"
)
pure_callback_p.abstract = _abstract
pure_callback_p.rules["vjp"] = _vjp_rule
pure_callback_p.rules["specialize"] = _specialize


def _result_avals(callback, result_shape_dtypes):
    """The avals of the declared result's leaves, and its pytree."""
    leaves, tree = tree_flatten(result_shape_dtypes)
    avals = []
    where = f"pure_callback of {_name(callback)}: result_shape_dtypes"
    for k, leaf in enumerate(leaves):
        shape, dtype = getattr(leaf, "shape", None), getattr(leaf, "dtype", None)
        if shape is None or dtype is None:
            raise TypeError(
                f"{where}{_leaf_path(result_shape_dtypes, k)} is {leaf!r} of type {type(leaf)}, "
                f"which has no shape and dtype. Describe each result with "
                f"pullback.ShapeDtypeStruct(shape, dtype) (or an array)."
            )
        dtype = np.dtype(dtype)
        if _dtypes.canonicalize_dtype(dtype) != dtype:
            raise ValueError(
                f"{where}{_leaf_path(result_shape_dtypes, k)} asks for {dtype.name}, but 64-bit "
                f"types are unavailable while jax_enable_x64 is disabled. Declare the 32-bit "
                f"type, or enable x64."
            )
        avals.append(ShapedArray(shape, dtype))
    return tuple(avals), tree


def _leaf_path(tree, k):
    """The path of the ``k``-th leaf of ``tree``, as error messages show it."""
    return keystr(tree_flatten_with_path(tree)[0][k][0])


_PY_SCALARS = (bool, int, float, complex)


@functools.cache
def _positional_tree(n):
    """The pytree of ``(args, kwargs)`` for ``n`` array arguments and no keywords."""
    return tree_flatten(((0,) * n, {}))[1]


def pure_callback(callback, result_shape_dtypes, *args, sharding=None, vmap_method=None, **kwargs):
    """Call ``callback(*args, **kwargs)`` on NumPy arrays, from eager or traced code alike.

    ``callback`` must be a pure function returning arrays in the structure, shapes and dtypes
    of ``result_shape_dtypes`` (a pytree of ``ShapeDtypeStruct`` or anything with ``.shape`` and
    ``.dtype``). Under ``jit`` it is staged as an equation and runs when the compiled program
    runs. It cannot be differentiated: wrap it in ``custom_vjp`` to give it a derivative.
    ``sharding`` and ``vmap_method`` are accepted as in JAX.

    >>> import numpy as np, pullback as jax, pullback.numpy as jnp
    >>> def host_sin(x):
    ...     return np.sin(x)
    >>> @jax.jit
    ... def f(x):
    ...     return jax.pure_callback(host_sin, jax.ShapeDtypeStruct(x.shape, x.dtype), x)
    >>> f(jnp.array([0.0, 1.0]))
    Array([0.       , 0.841471], dtype=float32)
    """
    if vmap_method not in VMAP_METHODS:
        raise ValueError(
            f"pure_callback of {_name(callback)}: vmap_method must be one of {VMAP_METHODS}, "
            f"got {vmap_method!r}."
        )
    result_avals, out_tree = _result_avals(callback, result_shape_dtypes)
    operands, in_tree = tree_flatten((args, kwargs))
    # Python scalars become arrays of their default dtype here, so that staged code hands the
    # callback NumPy values of the same dtype as eager code does
    operands = [Array(*to_raw(x)) if type(x) in _PY_SCALARS else x for x in operands]
    positional = not kwargs and in_tree == _positional_tree(len(args))
    params = {
        "callback": _Callback(callback, in_tree, out_tree, positional),
        "result_avals": result_avals,
        "sharding": sharding,
        "vmap_method": vmap_method,
    }
    return tree_unflatten(out_tree, pure_callback_p.bind(*operands, **params))


# -- batching (vmap) -------------------------------------------------------------------------------


def _batch_rule(interp, args, params):
    """``vmap_method`` as JAX reads it: ``"sequential"`` calls the function once per member;
    ``"expand_dims"`` calls it once, unbatched operands given a size-1 leading axis;
    ``"broadcast_all"`` once, every operand batched at 0; ``"legacy_vectorized"`` once,
    unbatched operands as they are. No method: JAX's error."""
    dims = [interp.bdim(a) for a in args]
    if all(d is None for d in dims):
        return forward(interp, pure_callback_p, args, params)
    method = params["vmap_method"]
    if method is None:
        raise CallbackNotBatchableError(
            f"vmap is only supported for the pure_callback primitive when vmap_method is one of "
            f"'sequential', 'sequential_unrolled', 'expand_dims', 'broadcast_all', or "
            f"'legacy_vectorized'. Got vmap_method=None (callback "
            f"{params['callback'].__name__}): pass vmap_method= to pure_callback."
        )
    size = interp.axis_size
    values = [interp.value(a) for a in args]

    def sequential():
        members = []
        for k in range(size):
            ops = [
                v if d is None else index_in_dim(v, k, d) for v, d in zip(values, dims, strict=True)
            ]
            members.append(pure_callback_p.bind(*ops, **params))
        return [stack(outs, 0) for outs in zip(*members, strict=True)]

    def vectorized():
        ops = []
        for v, d in zip(values, dims, strict=True):
            if d is not None:
                ops.append(batch_at(v, d, size))
            elif method == "expand_dims":
                ops.append(reshape(v, (1, *np.shape(v))))
            elif method == "broadcast_all":
                ops.append(batch_at(v, None, size))
            else:
                ops.append(v)
        avals = tuple(ShapedArray((size, *a.shape), a.dtype) for a in params["result_avals"])
        return pure_callback_p.bind(*ops, **dict(params, result_avals=avals))

    run = sequential if method.startswith("sequential") else vectorized
    return [interp.lift(o, 0) for o in at_parent(interp, run)]


pure_callback_p.rules["batch"] = _batch_rule


def index_in_dim(x, k, axis):
    """Member ``k`` of ``x`` along ``axis`` (the axis removed)."""
    starts = [0] * x.ndim
    limits = list(x.shape)
    starts[axis], limits[axis] = k, k + 1
    return squeeze(static_slice(x, starts, limits), (axis,))
