"""Families of primitives: one declaration gives the operation and all of its rules.

* ``unary``/``binary``: elementwise operations. ``d``/``dx``/``dy`` give the partial derivative
  once; the reverse rule (and later the forward rule) is derived from it. Both build the function
  users call, with fast paths that cost one identity check on the current interpreter when nothing
  is being transformed.
* ``primitive``: everything else, with rules written out.

Rules are written in pullback's own operations, so they are differentiable themselves. When a
rule runs in a first-order backward pass the current interpreter is ``RAW`` and those operations
go straight to NumPy on bare arrays.
"""

from __future__ import annotations

import functools

import numpy as np

from pullback import _dtypes
from pullback._core import EVAL, RAW, Array, Primitive, ShapedArray, state, to_raw

_PY_NUMBERS = (int, float)
_NP_SCALAR_TYPES = frozenset(
    np.dtype(c).type for c in "?bhilqBHILQefdgFDG"
)  # numpy scalar classes, for the RAW fast path
_INEXACT = "fc"


def _is_raw(x):
    """A bare NumPy value (as first-order backward passes use), not an Array or tracer."""
    t = type(x)
    return t is np.ndarray or t in _NP_SCALAR_TYPES


def weak_of(x):
    if isinstance(x, Array):
        return x._weak
    return type(x) in (int, float, complex)


def dtype_of(x):
    if isinstance(x, Array) or _is_raw(x):
        return x.dtype
    return to_raw(x)[0].dtype


def unbroadcast(ct, x):
    """Sum ``ct`` down to the shape of ``x`` (the adjoint of NumPy broadcasting)."""
    shape = x.shape
    ct_shape = ct.shape
    if ct_shape == shape:
        return ct
    lead = len(ct_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and ct_shape[i + lead] != 1
    )
    out = _ops_for_unbroadcast["reduce_sum"](ct, axes) if axes else ct
    return _ops_for_unbroadcast["reshape"](out, shape) if out.shape != shape else out


# reduce_sum and reshape are declared in structural.py, which imports this module; it registers
# them here when it is imported.
_ops_for_unbroadcast = {}


def set_unbroadcast_ops(reduce_sum, reshape):
    _ops_for_unbroadcast.update(reduce_sum=reduce_sum, reshape=reshape)


def pass_x(ct, ans, x, y):
    """The VJP of an operand that the output depends on with derivative 1 (``x`` of ``x + y``).

    An interpreter may skip recording it when no broadcasting happened: the cotangent then
    reaches ``x`` unchanged.
    """
    return unbroadcast(ct, x)


def pass_y(ct, ans, x, y):
    """``pass_x`` for the second operand."""
    return unbroadcast(ct, y)


# -- conversion --------------------------------------------------------------------------------


def _convert_impl(x, *, new_dtype, weak_type):
    return x.astype(new_dtype) if x.dtype != new_dtype else x


def _convert_vjp(ct, ans, x, *, new_dtype, weak_type):
    return convert_element_type(ct, x.dtype)


convert_element_type_p = Primitive(
    "convert_element_type", _convert_impl, vjp=(_convert_vjp,), weak="param"
)
convert_element_type_p.abstract = lambda x, *, new_dtype, weak_type: ShapedArray(
    x.shape, new_dtype, weak_type
)


def convert_element_type(x, dtype, weak_type=False):
    """Convert ``x`` to ``dtype`` (a primitive, differentiable for inexact types)."""
    dtype = _dtypes.canonicalize_dtype(dtype)
    if not isinstance(x, Array) and type(x) in (bool, int, float, complex):
        raw = np.asarray(x, dtype)[()]
        return Array(raw, weak_type) if state.interp is not RAW else raw
    if dtype_of(x) == dtype and weak_of(x) == weak_type:
        return x
    return state.interp.process(
        convert_element_type_p, (x,), {"new_dtype": dtype, "weak_type": weak_type}
    )


# -- elementwise families ----------------------------------------------------------------------


def _to_inexact(x, name):
    dtype = dtype_of(x)
    if dtype.kind in _INEXACT:
        return x
    if dtype.kind not in "biu":
        raise TypeError(f"{name} does not accept dtype {dtype}")
    return convert_element_type(x, _dtypes.to_inexact_dtype(dtype), weak_of(x))


def unary(name, np_fn, d=None, *, vjp=None, inexact=True, differentiable=True, kinds=None):
    """Declare an elementwise unary primitive and return ``(primitive, function)``.

    ``d(x, ans)`` is the derivative; ``vjp(ct, ans, x)`` may be given instead when it is cheaper.
    ``inexact``: integer inputs are promoted to the default float type first (as ``jnp.sin``).
    ``kinds``: dtype kinds accepted as they are (default: inexact ones, or all).
    """
    if vjp is None and d is not None:
        vjp = lambda ct, ans, x: ct * d(x, ans)
    prim = Primitive(name, np_fn, vjp=(vjp,) if differentiable else None)
    if differentiable:
        prim.jvp = Elementwise(prim.vjp)
    prim.abstract = lambda x: ShapedArray(x.shape, _result_dtype(np_fn, x.dtype), x.weak_type)
    prim.batch = SameBdim(prim)
    ok = kinds or (_INEXACT if inexact else "biufc")

    def fn(x):
        interp = state.interp
        tx = type(x)
        if interp is EVAL:
            if tx is Array:
                v = x._value
                if v.dtype.kind in ok:
                    return Array(np_fn(v), x._weak)
        elif interp is RAW:
            if (tx is np.ndarray or tx in _NP_SCALAR_TYPES) and x.dtype.kind in ok:
                return np_fn(x)
        elif isinstance(x, Array) and x._value.dtype.kind in ok:
            # every Array and tracer keeps a value with .dtype in ``_value``
            return interp.process1(prim, x)
        if inexact:
            x = _to_inexact(x, name)
        elif kinds is not None and dtype_of(x).kind not in kinds:
            raise TypeError(f"{name} does not accept dtype {dtype_of(x)}")
        return interp.process1(prim, x)

    fn.__name__ = fn.__qualname__ = name
    return prim, fn


@functools.cache
def _result_dtype(np_fn, *dtypes):
    """The dtype ``np_fn`` gives for operands of ``dtypes`` (the shape rules of the families)."""
    with np.errstate(all="ignore"):
        return np.asarray(np_fn(*[np.zeros((), d) for d in dtypes])).dtype


def _promote_pair(x, y, name):
    """Operands converted to their common JAX dtype; Python scalars stay weak scalars."""
    if isinstance(x, (list, tuple)) or isinstance(y, (list, tuple)):
        raise TypeError(
            f"{name} requires ndarray or scalar arguments, got {type(x).__name__} and "
            f"{type(y).__name__}; wrap lists with pullback.numpy.array(...)"
        )
    dtype, weak = _dtypes.result_type(x, y, return_weak_type=True)
    return _cast_operand(x, dtype, weak), _cast_operand(y, dtype, weak), dtype, weak


# dtype kinds a Python scalar combines with under NumPy's NEP 50 exactly as under JAX's rules
_SCALAR_KINDS = {bool: "biufc", int: "iufc", float: "fc", complex: "c"}


def _cast_operand(x, dtype, weak):
    """``x`` as an operand of dtype ``dtype``; a converted operand takes the result's weak flag,
    as JAX's promotion does (``int32_array + 2.0`` is weakly typed float32)."""
    kinds = _SCALAR_KINDS.get(type(x))
    if kinds is not None:
        # Interpreters turn a Python scalar into a NumPy scalar of its default dtype, which NumPy
        # then promotes with (float32 array + int32 scalar -> float64): keep the Python scalar
        # only when its default dtype is the promoted one.
        if dtype.kind in kinds and dtype == _dtypes.result_type(x):
            return x
        return convert_element_type(x, dtype, weak)
    if dtype_of(x) != dtype:
        return convert_element_type(x, dtype, weak)
    return x


def binary(
    name,
    np_fn,
    dx=None,
    dy=None,
    *,
    vjp_x=None,
    vjp_y=None,
    inexact=False,
    differentiable=True,
    kinds="biufc",
):
    """Declare an elementwise binary primitive with NumPy broadcasting and JAX promotion.

    ``dx(x, y, ans)``/``dy(x, y, ans)`` are the partial derivatives; ``vjp_x``/``vjp_y``
    (``rule(ct, ans, x, y)``) may be given instead. Cotangents are summed back to each operand's
    shape.
    """
    if vjp_x is None and dx is not None:

        def vjp_x(ct, ans, x, y):
            g = ct * dx(x, y, ans)
            return g if g.shape == x.shape else unbroadcast(g, x)

    if vjp_y is None and dy is not None:

        def vjp_y(ct, ans, x, y):
            g = ct * dy(x, y, ans)
            return g if g.shape == y.shape else unbroadcast(g, y)

    prim = Primitive(name, np_fn, vjp=(vjp_x, vjp_y) if differentiable else None, weak="all")
    if differentiable:
        prim.jvp = Elementwise(prim.vjp)
    prim.abstract = lambda x, y: ShapedArray(
        np.broadcast_shapes(x.shape, y.shape),
        _result_dtype(np_fn, x.dtype, y.dtype),
        x.weak_type and y.weak_type,
    )
    prim.batch = Broadcasting(prim)

    def fn(x, y):
        interp = state.interp
        tx = type(x)
        ty = type(y)
        if interp is EVAL:
            if tx is Array:
                vx = x._value
                if ty is Array:
                    vy = y._value
                    if vx.dtype is vy.dtype and vx.dtype.kind == "f":
                        return Array(np_fn(vx, vy), x._weak and y._weak)
                elif (ty is float or ty is int) and vx.dtype.kind == "f":
                    return Array(np_fn(vx, y), x._weak)
            elif ty is Array and (tx is float or tx is int):
                vy = y._value
                if vy.dtype.kind == "f":
                    return Array(np_fn(x, vy), y._weak)
        elif interp is RAW:
            rx = tx is np.ndarray or tx in _NP_SCALAR_TYPES
            ry = ty is np.ndarray or ty in _NP_SCALAR_TYPES
            if rx and ry:
                if x.dtype is y.dtype and (not inexact or x.dtype.kind in "fc"):
                    return np_fn(x, y)
            elif tx is float and ry:
                if y.dtype.kind in "fc":
                    return np_fn(x, y)
            elif ty is float and rx and x.dtype.kind in "fc":
                return np_fn(x, y)
        # transformed values that need no promotion go straight to the interpreter
        elif ty is float or ty is int:
            if isinstance(x, Array) and x._value.dtype.kind == "f":
                return interp.process2(prim, x, y)
        elif tx is float or tx is int:
            if isinstance(y, Array) and y._value.dtype.kind == "f":
                return interp.process2(prim, x, y)
        elif isinstance(x, Array) and isinstance(y, Array):
            dtype = x._value.dtype
            if dtype is y._value.dtype and dtype.kind == "f":
                return interp.process2(prim, x, y)
        x, y, dtype, weak = _promote_pair(x, y, name)
        if dtype.kind not in kinds:
            raise TypeError(f"{name} does not accept dtype {dtype}")
        if inexact and dtype.kind not in _INEXACT:
            target = _dtypes.to_inexact_dtype(dtype)
            x = _cast_operand(x, target, weak)
            y = _cast_operand(y, target, weak)
        return interp.process2(prim, x, y)

    fn.__name__ = fn.__qualname__ = name
    return prim, fn


def primitive(name, impl, *, vjp=None, multiple_results=False, weak="all", rules=None):
    """Declare a general primitive; return ``(primitive, bind)`` where ``bind(*args, **params)``."""
    prim = Primitive(name, impl, vjp=vjp, multiple_results=multiple_results, weak=weak, rules=rules)

    def bind(*args, **params):
        return state.interp.process(prim, args, params)

    bind.__name__ = bind.__qualname__ = name
    return prim, bind


class Elementwise:
    """The JVP of an elementwise primitive: its VJP rules, one per operand.

    An elementwise derivative is diagonal, so it is its own transpose: ``rule(t, ans, *args)``
    with ``t`` of the output's shape is the operand's term of the output tangent (the forward
    interpreter broadcasts a tangent and its operand to the output's shape first, so the rule's
    ``unbroadcast`` sums nothing). The derivative is written once, in ``d``/``dx``/``dy``.
    """

    __slots__ = ("rules",)

    def __init__(self, rules):
        self.rules = rules


class Linear:
    """Where a primitive is linear, declared as its ``transpose`` (read by ``linear_transpose``).

    ``Linear(0, 1)``: linear in the operands at these positions, jointly (``add``); with no
    positions, in every operand (``concatenate``). ``separately=True``: linear in any one of them
    while the others are fixed, not in several at once (``mul``: ``x * y`` is linear in ``x`` and
    in ``y``, but ``x * x`` is not linear). Transposition needs no rule of its own: the VJP rule of
    a linear operand never reads that operand's value, only its shape and dtype.
    """

    __slots__ = ("positions", "separately")

    def __init__(self, *positions, separately=False):
        self.positions = positions or None
        self.separately = separately

    def allows(self, linear):
        """Whether the primitive is linear when the operands at positions ``linear`` vary."""
        if self.separately and len(linear) > 1:
            return False
        return self.positions is None or all(k in self.positions for k in linear)


convert_element_type_p.transpose = Linear(0)


# -- batching (vmap) ---------------------------------------------------------------------------
# A batch rule ``rule(values, bdims, **params) -> (out, out_bdim)`` runs one level below the
# batching interpreter, on that level's values; ``bdims[k]`` is the batch axis of ``values[k]``
# (``None``: not batched). The helpers below move batch axes with the structural primitives,
# which structural.py registers here (it imports this module).

_structural = {}


def set_structural_ops(**ops):
    _structural.update(ops)


def bind_here(prim, values, params):
    """``prim`` at the current level, through the one- and two-operand entry points when they
    apply (they type a Python scalar beside an array as its neighbour, as JAX does)."""
    interp = state.interp
    if not params:
        if len(values) == 1:
            return interp.process1(prim, values[0])
        if len(values) == 2:
            return interp.process2(prim, values[0], values[1])
    return interp.process(prim, values, params)


def move_axis(x, src, dst):
    """``x`` with axis ``src`` moved to position ``dst``."""
    if src == dst:
        return x
    perm = [i for i in range(len(x.shape)) if i != src]
    perm.insert(dst, src)
    return _structural["transpose"](x, tuple(perm))


def batch_at(x, bdim, size, dst=0):
    """``x`` with its batch axis at ``dst``: moved there, or broadcast to ``size`` when ``x`` has
    none (``bdim is None``)."""
    if bdim is not None:
        return move_axis(x, bdim, dst)
    if not isinstance(x, Array):
        x = Array(*to_raw(x))
    shape = x.shape
    expanded = shape[:dst] + (1,) + shape[dst:]
    x = _structural["reshape"](x, expanded) if dst else x
    return _structural["broadcast_to"](x, shape[:dst] + (size,) + shape[dst:])


def batched_axis(axis, bdim):
    """The axis of a batched value (batch axis at ``bdim``) that is axis ``axis`` of one
    example."""
    return axis + (bdim is not None and axis >= bdim)


def batch_size(values, bdims):
    """The size of the batch axis, read from the first batched value."""
    for v, d in zip(values, bdims):
        if d is not None:
            return v.shape[d]
    raise ValueError("batch_size: no operand is batched")


class SameBdim:
    """The batch rule of an elementwise operation of one operand: the batch axis stays. The
    batching interpreter recognises it and runs the primitive itself on the batched value."""

    __slots__ = ("prim",)

    def __init__(self, prim):
        self.prim = prim

    def __call__(self, values, bdims, **params):
        return bind_here(self.prim, values, params), bdims[0]


def align_batched(values, bdims, keep=True):
    """Operands of an elementwise (NumPy-broadcasting) operation, some batched: returns the
    values arranged so that broadcasting pairs example with example, and the batch axis of the
    result. Batched operands move their batch axis to 0 and gain size-1 axes up to the largest
    example rank; unbatched ones broadcast from the right as they are. ``keep=False``: the batch
    axis always ends up at 0."""
    ranks = [len(np.shape(v)) - (d is not None) for v, d in zip(values, bdims)]
    rank = max(ranks)
    dims = {d for d in bdims if d is not None}
    if len(dims) == 1 and (keep or 0 in dims):
        (d,) = dims
        if all(r == rank for r, b in zip(ranks, bdims) if b is not None) and (
            d == 0 or all(r == 0 for r, b in zip(ranks, bdims) if b is None)
        ):
            return list(values), d
    out = []
    for v, d, r in zip(values, bdims, ranks):
        if d is not None:
            v = move_axis(v, d, 0)
            if r < rank:
                shape = v.shape
                v = _structural["reshape"](v, shape[:1] + (1,) * (rank - r) + shape[1:])
        out.append(v)
    return out, 0


class Broadcasting:
    """The batch rule of an elementwise operation with NumPy broadcasting (binary, select,
    clamp). The batching interpreter recognises it: when the operands already pair example with
    example (see ``lined_up``) it runs the primitive on them directly, without the rule."""

    __slots__ = ("prim",)

    def __init__(self, prim):
        self.prim = prim

    def __call__(self, values, bdims, **params):
        values, out_bdim = align_batched(values, bdims)
        return bind_here(self.prim, values, params), out_bdim


def lined_up(x, dx, y, dy):
    """The batch axis of ``x OP y`` when broadcasting already pairs example with example (both
    batched at the same axis with the same rank, or an unbatched operand that broadcasts into
    the axes after the other's batch axis); ``None`` when the operands must be moved first."""
    if dx is not None and dy is not None:
        return dx if dx == dy and len(x.shape) == len(y.shape) else None
    if dx is None:
        x, dx, y = y, dy, x
    if type(y) in _PY_NUMBERS or len(y.shape) < len(x.shape) - dx:
        return dx
    return None


convert_element_type_p.batch = SameBdim(convert_element_type_p)


def reduction(prim, param="axes"):
    """The batch rule of a reduction over the axes in parameter ``param``: the same reduction on
    the batched value, over the axes that correspond."""

    def rule(values, bdims, **params):
        d = bdims[0]
        axes = params[param]
        params[param] = tuple(batched_axis(a, d) for a in axes)
        return bind_here(prim, values, params), d - sum(a < d for a in axes)

    return rule


def along_axes(prim, param):
    """The batch rule of an operation that works along the axis (an int) or axes (a tuple) in
    parameter ``param`` and keeps the rank: the batch axis stays where it is."""

    def rule(values, bdims, **params):
        d = bdims[0]
        axes = params[param]
        if type(axes) is tuple:
            params[param] = tuple(batched_axis(a, d) for a in axes)
        else:
            params[param] = batched_axis(axes, d)
        out = bind_here(prim, values, params)
        return out, ([d] * len(out) if prim.multiple_results else d)

    return rule


def unbatched(prim):
    """The batch rule of a primitive without array operands (creation): nothing is batched."""

    def rule(values, bdims, **params):
        return bind_here(prim, values, params), None

    return rule
