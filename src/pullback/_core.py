"""Values, primitives and dispatch by context.

The core knows no math and no transformation. It defines:

* ``Array``: an immutable value over a NumPy array, with JAX's weak-type flag. Tracers of the
  interpreters subclass it, so ``isinstance(x, Array)`` holds for every value a user sees.
* ``Primitive``: one declaration per operation, holding all of its rules.
* interpreters: ``state.interp`` is the interpreter that is current. ``EVAL`` runs NumPy and wraps
  results in ``Array``; ``RAW`` runs NumPy on bare ndarrays (used for first-order backward passes,
  where nothing ever reaches the user). Transformations subclass ``Interpreter``.
"""

from __future__ import annotations

import numpy as np

from pullback import _dtypes

__all__ = [
    "Array",
    "Tracer",
    "Primitive",
    "Interpreter",
    "EVAL",
    "RAW",
    "state",
    "UnexpectedTracerError",
    "ConcretizationTypeError",
    "TracerArrayConversionError",
    "TracerBoolConversionError",
    "TracerIntegerConversionError",
    "concretization_error",
]


class UnexpectedTracerError(Exception):
    """A traced value was used outside the transformation that created it."""

    __module__ = "pullback.errors"


class ConcretizationTypeError(TypeError):
    """A concrete value was needed where only an abstract (traced) one exists."""

    __module__ = "pullback.errors"


class TracerBoolConversionError(ConcretizationTypeError):
    """``bool()`` of a traced value."""

    __module__ = "pullback.errors"


# JAX derives these two from TypeError alone; here they are also concretization errors, which
# is what the fallbacks that retry without tracing (jacfwd's basis, forward mode over bwd) catch
class TracerIntegerConversionError(ConcretizationTypeError):
    """``__index__()`` of a traced value (``range(x)``, ``x`` as an index)."""

    __module__ = "pullback.errors"


class TracerArrayConversionError(ConcretizationTypeError):
    """``__array__()`` of a traced value (``np.asarray(x)``)."""

    __module__ = "pullback.errors"


class Array:
    """An immutable array: a NumPy value and JAX's weak-type flag.

    >>> import pullback.numpy as jnp
    >>> jnp.array([0.0, 1.0])
    Array([0., 1.], dtype=float32)
    """

    __slots__ = ("_value", "_weak")
    __array_priority__ = 100

    def __init__(self, value, weak=False):
        self._value = value
        self._weak = weak

    # -- abstract value ---------------------------------------------------------------------
    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def ndim(self):
        return len(self._value.shape)

    @property
    def size(self):
        return int(np.prod(self._value.shape, dtype=np.int64))

    @property
    def weak_type(self):
        return self._weak

    @property
    def aval(self):
        return ShapedArray(self.shape, self.dtype, self._weak)

    def __len__(self):
        shape = self.shape
        if not shape:
            raise TypeError("len() of unsized object")
        return shape[0]

    # -- concrete access --------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        value = np.asarray(_concrete(self, "__array__"), dtype=dtype)
        if value is self._value:
            value = value.view()
            value.flags.writeable = False
        return value

    def __bool__(self):
        return bool(_concrete(self, "bool"))

    def __int__(self):
        return int(_concrete(self, "int"))

    def __float__(self):
        return float(_concrete(self, "float"))

    def __complex__(self):
        return complex(_concrete(self, "complex"))

    def __index__(self):
        value = _concrete(self, "__index__")
        if value.dtype.kind not in "iub":
            raise TypeError(f"Only integer arrays can be used as an index, got {value.dtype}")
        return int(value)

    def item(self, *args):
        return np.asarray(_concrete(self, "item")).item(*args)

    def tolist(self):
        return np.asarray(_concrete(self, "tolist")).tolist()

    def block_until_ready(self):
        return self

    def copy(self):
        return Array(np.array(self._value), self._weak)

    def __hash__(self):
        raise TypeError("unhashable type: 'Array'")

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __repr__(self):
        value = np.asarray(self._value)
        if value.dtype == _dtypes.float0:
            dtype_str, value = "dtype=float0", np.zeros(value.shape, np.int8)
        else:
            dtype_str = f"dtype={value.dtype.name}"
        if self._weak:
            dtype_str += ", weak_type=True"
        if value.size == 0:
            return f"Array([], shape={value.shape}, {dtype_str})"
        # laid out as JAX does: the dtype goes on the last line, padded when that line is full
        width = np.get_printoptions()["linewidth"]
        body = np.array2string(
            value, prefix="Array(", suffix=",", separator=", ", max_line_width=width
        )
        last_line = len(body) - body.rfind("\n") + 1
        sep = " " * len("Array(") if last_line + len(dtype_str) + 1 > width else " "
        return f"Array({body},{sep}{dtype_str})"

    def __str__(self):
        return str(np.asarray(self._value))

    def __format__(self, spec):
        if not self.shape:
            return format(np.asarray(self._value).item(), spec)
        return format(str(self), spec)

    def __reduce__(self):
        return (Array, (np.asarray(self._value), self._weak))

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self


def _concrete(x, what):
    """The NumPy value of ``x``, or an error if ``x`` is traced without a concrete value."""
    if isinstance(x, Tracer) and x._concrete_value() is None:
        raise x._concretization_error(what)
    value = x._value
    while isinstance(value, Array):
        value = value._value
    return value


class Tracer(Array):
    """A value being transformed by an interpreter. Subclasses add their own slots."""

    __slots__ = ("_interp",)

    def _concrete_value(self):
        value = self._value
        return value._concrete_value() if isinstance(value, Tracer) else value

    def _concretization_error(self, what):
        value = self._value
        if isinstance(value, Tracer):  # the innermost level knows what is being traced
            return value._concretization_error(what)
        return concretization_error(what, self.aval, "a traced function")

    def __repr__(self):
        return f"Traced<{self.aval.str_short()}>with<{type(self._interp).__name__}>"

    def _escaped_error(self):
        err = UnexpectedTracerError(
            f"Encountered an unexpected tracer. A traced value {self.aval.str_short()} of "
            f"{self._interp!r} was used outside the transformation that created it (it escaped "
            f"through a closure, a global or a side effect). Pass the value in as an argument of "
            f"the transformed function instead."
        )
        err.tracer = self
        return err

    def __hash__(self):
        raise TypeError(f"unhashable type: {type(self).__name__}")


def concretization_error(what, aval, context):
    """The error for Python needing the value of a traced ``aval`` (``bool()``, ``float()``,
    ``np.asarray`` ...) while ``context`` (e.g. "the function f for jit") is being traced. The
    first line is JAX's."""
    traced = f"traced array with shape {aval.str_short()}"
    cls = ConcretizationTypeError
    abstract = f"Abstract tracer value encountered where concrete value is expected: {traced}\n"
    if what == "bool" and aval.size > 1:
        cls = ValueError
        start = (
            "The truth value of an array with more than one element is ambiguous. Use a.any() or "
            "a.all()\n"
        )
    elif what == "bool" and aval.size == 0:
        cls = ValueError
        start = (
            "The truth value of an empty array is ambiguous. Use `array.size > 0` to check that "
            "an array is not empty.\n"
        )
    elif what == "bool":
        cls = TracerBoolConversionError
        start = f"Attempted boolean conversion of {traced}.\n"
    elif what in ("int", "float", "complex"):
        start = (
            f"{abstract}The problem arose with the `{what}` function. If trying to convert the "
            f"data type of a value, try using `x.astype({what})` or `jnp.array(x, {what})` "
            f"instead.\n"
        )
    elif what == "__index__":
        cls = TracerIntegerConversionError
        start = f"The __index__() method was called on {traced}\n"
    elif what == "__array__":
        cls = TracerArrayConversionError
        start = f"The numpy.ndarray conversion method __array__() was called on {traced}\n"
    elif what == "tolist":
        start = f"{abstract}The tolist() method was called on {traced}.\n"
    else:
        start = f"{abstract}This occurred in the {what}() method of the array.\n"
    if cls is ValueError:
        return cls(f"{start}The error occurred while tracing {context}.")
    return cls(
        f"{start}The error occurred while tracing {context}: its value depends on the "
        f"function's inputs, so it is not known while tracing. For value-dependent control flow "
        f"use pullback.lax.cond, lax.switch, lax.while_loop or lax.fori_loop (or jnp.where / "
        f"lax.select); if the value is a configuration, mark the argument static (jit's "
        f"static_argnums / static_argnames)."
    )


class ShapedArray:
    """The abstract value of an array: shape, dtype and weak-type flag."""

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape, dtype, weak_type=False):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = weak_type

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def str_short(self, short_dtypes=False):
        if short_dtypes:
            return _dtypes.short_type_str(self.shape, self.dtype)
        return _dtypes.type_str(self.shape, self.dtype)

    def __eq__(self, other):
        return (
            isinstance(other, ShapedArray)
            and self.shape == other.shape
            and self.dtype == other.dtype
            and self.weak_type == other.weak_type
        )

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type))

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapedArray({self.str_short()}{weak})"


def aval_of(x):
    """ShapedArray of any value: Array, tracer, NumPy value or Python scalar."""
    if isinstance(x, Array):
        return x.aval
    raw, weak = to_raw(x)
    return ShapedArray(np.shape(raw), raw.dtype, weak)


def type_str(x):
    """``float32[3]``: the type of a value as errors show it."""
    return aval_of(x).str_short()


# -- canonical raw values ----------------------------------------------------------------------

_PY_SCALARS = (bool, int, float, complex)


def to_raw(x):
    """``(ndarray-or-numpy-scalar, weak)`` for a value that is not a tracer.

    Python scalars become weakly typed values of the default dtype; NumPy values are canonicalized
    (64-bit to 32-bit unless x64 is enabled). Raises ``TypeError`` for anything else.
    """
    t = type(x)
    if t is Array:
        return x._value, x._weak
    if t is np.ndarray or isinstance(x, np.generic):
        dtype = _dtypes.canonicalize_dtype(x.dtype)
        return (x if x.dtype is dtype else x.astype(dtype)), False
    if t in _PY_SCALARS or isinstance(x, _PY_SCALARS):
        return python_scalar(x)
    if isinstance(x, Tracer):
        raise x._escaped_error()
    if hasattr(x, "__array__") and not isinstance(x, (str, bytes)):
        return to_raw(np.asarray(x))
    if isinstance(x, (list, tuple)):
        raise TypeError(
            f"Expected an array, got a {t.__name__}; wrap it with pullback.numpy.array(...) first."
        )
    raise TypeError(f"Value {x!r} of type {t} is not a valid JAX type")


def python_scalar(x):
    if isinstance(x, bool):
        return np.bool_(x), False
    if isinstance(x, int):
        dtype = _dtypes.default_int_dtype()
        info = np.iinfo(dtype)
        if not info.min <= x <= info.max:
            raise OverflowError(f"Python int {x} too large to convert to {dtype}")
        return dtype.type(x), True
    if isinstance(x, float):
        return _dtypes.default_float_dtype().type(x), True
    return _dtypes.default_complex_dtype().type(x), True


_LEAF_CLASSES = (Array, np.ndarray, np.generic, *_PY_SCALARS)


def is_valid_leaf(x):
    return isinstance(x, _LEAF_CLASSES)


# -- primitives --------------------------------------------------------------------------------


class Primitive:
    """One operation with all of its rules.

    ``impl(*raw, **params)``: NumPy on raw values. ``vjp``: per-argument rules
    ``rule(ct, ans, *args, **params)`` written in pullback's own operations, or ``None`` for an
    operation that is not differentiable. ``abstract``, ``jvp`` and ``batch`` are filled by the
    staging, forward-mode and batching layers; ``transpose`` says where the primitive is linear
    (an ``_ops._base.Linear``, read by ``linear_transpose``). ``rules`` holds rules of
    higher-order primitives that an interpreter looks up by name (e.g. ``"vjp_record"``).
    """

    __slots__ = (
        "name",
        "impl",
        "vjp",
        "abstract",
        "jvp",
        "batch",
        "transpose",
        "multiple_results",
        "weak",
        "rules",
    )

    def __init__(self, name, impl, *, vjp=None, multiple_results=False, weak="all", rules=None):
        self.name = name
        self.impl = impl
        self.vjp = vjp
        self.abstract = None
        self.jvp = None
        self.batch = None
        self.transpose = None
        self.multiple_results = multiple_results
        # how the output's weak-type flag follows the inputs: "all" of them weak, "never", a
        # tuple of the argument positions that must all be weak (e.g. (1, 2) for select), or
        # "param": the parameter ``weak_type`` says (convert_element_type).
        self.weak = weak
        self.rules = dict(rules or {})
        if name in registry:
            raise ValueError(f"a primitive named {name!r} is already declared")
        registry[name] = self

    def __repr__(self):
        return self.name

    def bind(self, *args, **params):
        return state.interp.process(self, args, params)


registry: dict[str, Primitive] = {}


# -- interpreters ------------------------------------------------------------------------------


class Interpreter:
    """Base of every interpreter. ``parent`` is the interpreter that was current at creation."""

    __slots__ = ("parent", "active")

    def __init__(self, parent):
        self.parent = parent
        self.active = True

    def process(self, prim, args, params):
        raise NotImplementedError

    def process1(self, prim, x):
        return self.process(prim, (x,), {})

    def process2(self, prim, x, y):
        return self.process(prim, (x, y), {})


class _State:
    # ``sources``: staged equations record the user code they come from (print_saved_residuals
    # turns it on; off, staging pays nothing). ``source``: while an equation is replayed, or a
    # tape entry's rule runs, the source of the equation it stands for.
    __slots__ = ("interp", "sources", "source")


state = _State()


class EvalInterp(Interpreter):
    """Runs primitives with NumPy. ``wrap`` decides whether results are ``Array`` or raw."""

    __slots__ = ("wrap",)

    def __init__(self, wrap):
        super().__init__(None)
        self.wrap = wrap

    def process(self, prim, args, params):
        rule = prim.rules.get("eval")
        if rule is not None:
            return rule(self, args, params)
        raws = []
        weaks = []
        for a in args:
            raw, w = to_raw(a)
            raws.append(raw)
            weaks.append(w)
        weak = out_weak(prim.weak, weaks, params)
        out = prim.impl(*raws, **params)
        if not self.wrap:
            return out
        if prim.multiple_results:
            return [Array(o, weak) for o in out]
        return Array(out, weak)

    def process1(self, prim, x):
        if type(x) is Array and prim.weak == "all" and not (prim.rules or prim.multiple_results):
            out = prim.impl(x._value)
            return Array(out, x._weak) if self.wrap else out
        return self.process(prim, (x,), {})

    def process2(self, prim, x, y):
        # A Python scalar beside an array goes to NumPy as it is: NumPy keeps the array's dtype
        # (NEP 50), as JAX's weak types do.
        if not (prim.rules or prim.multiple_results):
            tx, ty = type(x), type(y)
            if tx is Array and ty is Array:
                vx, vy, wx, wy = x._value, y._value, x._weak, y._weak
            elif ty is float or ty is int:
                if tx is Array:
                    vx, wx = x._value, x._weak
                elif tx is np.ndarray or isinstance(x, np.generic):  # a backward pass's value
                    vx, wx = to_raw(x)
                else:
                    return self.process(prim, (x, y), {})
                vy, wy = y, True
            elif tx is float or tx is int:
                if ty is Array:
                    vy, wy = y._value, y._weak
                elif ty is np.ndarray or isinstance(y, np.generic):
                    vy, wy = to_raw(y)
                else:
                    return self.process(prim, (x, y), {})
                vx, wx = x, True
            else:
                return self.process(prim, (x, y), {})
            out = prim.impl(vx, vy)
            if not self.wrap:
                return out
            return Array(
                out, wx and wy if prim.weak == "all" else out_weak(prim.weak, (wx, wy), {})
            )
        return self.process(prim, (x, y), {})

    def __repr__(self):
        return "EVAL" if self.wrap else "RAW"


def out_weak(rule, weaks, params):
    """The weak-type flag of a primitive's output from its inputs' flags (``Primitive.weak``)."""
    if rule == "all":
        return bool(weaks) and all(weaks)
    if rule == "never":
        return False
    if rule == "param":
        return params["weak_type"]
    return all(weaks[i] for i in rule)


EVAL = EvalInterp(wrap=True)
RAW = EvalInterp(wrap=False)
state.interp = EVAL
state.sources = False
state.source = None
