"""``pullback.random``: JAX's ``jax.random`` — explicit keys, the Threefry-2x32 generator, and
samplers whose bits are JAX's own.

Keys are JAX's: ``PRNGKey(seed)`` is a legacy ``uint32[2]`` key, ``key(seed)`` a typed key array
of dtype ``key<fry>`` (its data is the same two words). Both are accepted everywhere a key is.
The generator is JAX's default, ``threefry2x32`` with ``jax_threefry_partitionable`` on (JAX's
default since 0.5): the bits drawn for a shape are the Threefry-2x32 hashes of the 64-bit
counters ``0, 1, ...`` laid out in that shape, the two output words XORed. ``split`` hashes the
counters of the new keys' shape and keeps both words; ``fold_in`` hashes the pair ``(0, data)``.
So every bit pattern is JAX's for the same key, shape and dtype; samplers built from them with
exact arithmetic (``uniform``, ``randint``, ``bernoulli``, ``permutation``, ``choice``...) give
JAX's values exactly, and those that apply transcendental functions (``normal``'s inverse error
function, ``exponential``'s ``log1p``...) agree to a few units in the last place.

Every sampler is written with pullback's operations on top of the primitives of
``pullback._ops.prng``, so it runs under ``jit`` (staged), ``vmap`` (a batch of keys),
``scan``/``while_loop`` (keys in the carry) and ``grad`` (reparameterized samplers, e.g.
``normal(key) * sigma``; ``gamma`` has JAX's implicit derivative in its shape parameter).

>>> from pullback import random
>>> key = random.PRNGKey(42)
>>> key
Array([ 0, 42], dtype=uint32)
>>> k1, k2 = random.split(key)
>>> random.uniform(k1, (3,))
Array([0.5302608 , 0.31336212, 0.90153027], dtype=float32)
"""

from __future__ import annotations

import functools
import math
import operator
import warnings
from collections.abc import Sequence

import numpy as np

import pullback.numpy as jnp
from pullback import _dtypes
from pullback._core import Array, Tracer
from pullback._hop.control_flow import scan, while_loop
from pullback._ops import (
    bitwise_or,
    bitwise_xor,
    convert_element_type,
    equal,
    left_shift,
    log,
    log1p,
    maximum,
    nextafter,
    right_shift,
    sign,
    stop_gradient,
    tan,
    where,
)
from pullback._ops import prng as _prng
from pullback.tree_util import register_pytree_node

__all__ = [
    "PRNGKey",
    "key",
    "key_data",
    "wrap_key_data",
    "key_impl",
    "key_dtype",
    "split",
    "fold_in",
    "clone",
    "bits",
    "uniform",
    "normal",
    "bernoulli",
    "randint",
    "categorical",
    "choice",
    "permutation",
    "truncated_normal",
    "exponential",
    "laplace",
    "logistic",
    "gumbel",
    "rademacher",
    "cauchy",
    "multivariate_normal",
    "gamma",
    "loggamma",
    "beta",
    "dirichlet",
    "poisson",
    "t",
    "chisquare",
    "f",
    "pareto",
    "orthogonal",
    "generalized_normal",
    "ball",
    "maxwell",
    "double_sided_maxwell",
    "weibull_min",
    "rayleigh",
    "wald",
    "geometric",
    "triangular",
    "lognormal",
    "binomial",
    "multinomial",
    "PRNGKeyArray",
]

_IMPL_NAME = "threefry2x32"
_UINT_DTYPES = {
    8: np.dtype("uint8"),
    16: np.dtype("uint16"),
    32: np.dtype("uint32"),
    64: np.dtype("uint64"),
}
_U32 = np.dtype("uint32")
_ONE = np.float32(1.0)  # lognormal's default sigma, as JAX's


# -- typed keys --------------------------------------------------------------------------------


class KeyTy:
    """The dtype of typed key arrays: ``key<fry>`` (Threefry-2x32 keys, two uint32 words)."""

    __slots__ = ()
    name = "key<fry>"
    itemsize = 8
    kind = "V"

    def __repr__(self):
        return self.name

    def __str__(self):
        return self.name

    def __eq__(self, other):
        return type(other) is KeyTy or (isinstance(other, str) and other == self.name)

    def __hash__(self):
        return hash(self.name)


_KEY_DTYPE = KeyTy()


class PRNGKeyArray:
    """An array of typed PRNG keys (dtype ``key<fry>``), as ``random.key`` returns.

    It holds the key data, a ``uint32`` array of shape ``(*shape, 2)``, and is a pytree whose one
    leaf is that data, so key arrays pass through ``jit``, ``vmap``, ``scan`` and ``grad`` like
    any array (``vmap`` maps the leading axes of the keys).

    >>> from pullback import random
    >>> keys = random.split(random.key(0), 3)
    >>> keys.shape, keys.dtype
    ((3,), key<fry>)
    >>> keys[1]
    Array((), dtype=key<fry>) overlaying:
    [ 928981903 3453687069]
    """

    __slots__ = ("_base_array",)
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, base_array):
        self._base_array = base_array

    # -- abstract value ---------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self._base_array.shape[:-1])

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def dtype(self):
        return _KEY_DTYPE

    @property
    def itemsize(self):
        return _KEY_DTYPE.itemsize

    @property
    def nbytes(self):
        return self.size * _KEY_DTYPE.itemsize

    @property
    def weak_type(self):
        return False

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d key array")
        return (PRNGKeyArray(self._base_array[i]) for i in range(self.shape[0]))

    def __bool__(self):
        raise TypeError("key array cannot be converted to boolean.")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "JAX array with PRNGKey dtype cannot be converted to a NumPy array. Use "
            "jax.random.key_data(arr) if you wish to extract the underlying integer array."
        )

    def __repr__(self):
        base = self._base_array
        data = repr(base) if isinstance(base, Tracer) else str(base)
        return f"Array({self.shape}, dtype={self.dtype.name}) overlaying:\n{data}"

    def __str__(self):
        return repr(self)

    # -- indexing and reshaping (on the key axes: the data's last axis stays) ---------------
    def __getitem__(self, idx):
        if not self.shape:
            n = len(idx) if isinstance(idx, tuple) else 1
            raise IndexError(f"Too many indices: array is 0-dimensional, but {n} were indexed")
        if not isinstance(idx, tuple):
            idx = (idx,)
        if any(i is Ellipsis for i in idx):
            idx = (*idx, slice(None))
        return PRNGKeyArray(self._base_array[idx])

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        shape = tuple(int(n) for n in shape)
        if -1 in shape:
            known = math.prod(n for n in shape if n != -1)
            shape = tuple(self.size // known if n == -1 else n for n in shape)
        return PRNGKeyArray(jnp.reshape(self._base_array, (*shape, 2)))

    def ravel(self, order="C"):
        return self.reshape(-1)

    flatten = ravel

    def squeeze(self, axis=None):
        if axis is None:
            axis = tuple(i for i, n in enumerate(self.shape) if n == 1)
        elif isinstance(axis, int):
            axis = (axis,)
        axis = tuple(a % self.ndim for a in axis)
        return PRNGKeyArray(jnp.squeeze(self._base_array, axis))

    def transpose(self, *axes):
        if len(axes) == 1 and axes[0] is not None and not isinstance(axes[0], int):
            axes = tuple(axes[0])
        if not axes or axes == (None,):
            axes = tuple(reversed(range(self.ndim)))
        axes = tuple(a % self.ndim for a in axes)
        return PRNGKeyArray(jnp.transpose(self._base_array, (*axes, self.ndim)))

    @property
    def T(self):  # noqa: N802 - NumPy's name
        return self.transpose()

    def swapaxes(self, axis1, axis2):
        perm = list(range(self.ndim))
        a, b = axis1 % self.ndim, axis2 % self.ndim
        perm[a], perm[b] = perm[b], perm[a]
        return self.transpose(perm)

    def copy(self):
        return PRNGKeyArray(self._base_array)

    def block_until_ready(self):
        return self

    # -- comparisons (key by key) -----------------------------------------------------------
    def __eq__(self, other):
        if not isinstance(other, PRNGKeyArray):
            return NotImplemented
        return jnp.all(jnp.equal(self._base_array, other._base_array), axis=-1)

    def __ne__(self, other):
        if not isinstance(other, PRNGKeyArray):
            return NotImplemented
        return jnp.any(jnp.not_equal(self._base_array, other._base_array), axis=-1)


register_pytree_node(
    PRNGKeyArray,
    lambda k: ((k._base_array,), None),
    lambda _, children: PRNGKeyArray(children[0]),
)


# -- validation and conversion helpers ---------------------------------------------------------


def _arraylike(x):
    return isinstance(x, (np.ndarray, Array, np.generic)) or np.isscalar(x)


def _check_key_data(data):
    """JAX's checks of key data (``random_wrap``); returns it as a pullback array."""
    if not all(hasattr(data, attr) for attr in ("ndim", "shape", "dtype")):
        raise TypeError(
            "JAX encountered invalid PRNG key data: expected key_data to have ndim, shape, and "
            f"dtype attributes. Got {data}"
        )
    if data.ndim < 1:
        raise TypeError(
            f"JAX encountered invalid PRNG key data: expected key_data.ndim >= 1; got "
            f"ndim={data.ndim}"
        )
    if tuple(data.shape[-1:]) != (2,):
        raise TypeError(
            f"JAX encountered invalid PRNG key data: expected key_data.shape to end with (2,); "
            f"got shape={tuple(data.shape)} for impl={_IMPL_NAME}"
        )
    if data.dtype != _U32:
        raise TypeError(
            f"JAX encountered invalid PRNG key data: expected key_data.dtype = uint32; got "
            f"dtype={data.dtype}"
        )
    return data if isinstance(data, Array) else jnp.asarray(data)


def _check_prng_key(name, key, allow_batched=False):
    """``(key data, wrapped)`` for a typed key array or legacy uint32 key data."""
    if isinstance(key, PRNGKeyArray):
        data, wrapped = key._base_array, False
    elif _arraylike(key):
        data, wrapped = _check_key_data(key), True
    else:
        raise TypeError(f"unexpected PRNG key type {type(key)}")
    if not allow_batched and data.ndim > 1:
        raise ValueError(
            f"{name} accepts a single key, but was given a key array of shape "
            f"{np.shape(key) if wrapped else key.shape} != (). Use jax.vmap for batching."
        )
    return data, wrapped


def _return_keys(wrapped, data):
    return data if wrapped else PRNGKeyArray(data)


def _canonicalize_shape(shape):
    """``shape`` as a tuple of non-negative Python ints (an int is a 1-tuple), as JAX's
    ``core.canonicalize_shape``."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        out = tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(
            f"Shapes must be 1D sequences of concrete values of integer type, got {shape!r}."
        ) from None
    if any(n < 0 for n in out):
        raise ValueError(f"Shapes must not have negative dimensions, got {out}.")
    return out


def _user_dtype(dtype, default):
    """The dtype a user asked for (``default`` when ``None``), canonicalized; a 64-bit dtype
    without x64 warns as JAX does."""
    if dtype is None:
        return _dtypes.canonicalize_dtype(default)
    requested = np.dtype(dtype)
    out = _dtypes.canonicalize_dtype(requested)
    if out != requested:
        warnings.warn(
            f"Explicitly requested dtype {requested} is not available, and will be truncated "
            f"to dtype {out}. To enable more dtypes, set the jax_enable_x64 configuration "
            f"option or the JAX_ENABLE_X64 shell environment variable. See "
            f"https://github.com/jax-ml/jax#current-gotchas for more.",
            stacklevel=3,
        )
    return out


def _broadcast_shapes(*shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(
            f"Incompatible shapes for broadcasting: shapes={[tuple(s) for s in shapes]}"
        ) from None


def _check_shape(name, shape, *param_shapes):
    if param_shapes:
        result = _broadcast_shapes(shape, *param_shapes)
        if tuple(shape) != result:
            raise ValueError(
                f"{name} parameter shapes must be broadcast-compatible with shape argument, and "
                f"the result of broadcasting the shapes must equal the shape argument, but got "
                f"result {result} for shape argument {tuple(shape)}."
            )


def _check_float_dtype(name, dtype, what="a float"):
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"dtype argument to `{name}` must be {what} dtype, got {dtype}")


def _as(x, dtype):
    """``x`` (a Python number or array) as a strongly typed array of ``dtype``."""
    if isinstance(x, Array) and x.dtype == dtype and not x.weak_type:
        return x
    if not isinstance(x, Array):
        x = jnp.asarray(x)
    return convert_element_type(x, dtype)


def _concrete_int(x, what):
    try:
        return operator.index(x)
    except TypeError:
        if isinstance(x, Tracer):
            raise _concrete_error(x, what) from None
        raise


def _concrete_error(x, what):
    return x._concretization_error(f"int() ({what})")


# -- the generator on key data -----------------------------------------------------------------


def _words(data):
    """The two uint32 words of a single key's data (shape ``(2,)``)."""
    return data[0], data[1]


def _seed_data(ctor_name, seed):
    if isinstance(seed, PRNGKeyArray):
        raise TypeError(f"{ctor_name} accepts a scalar seed, but was given a PRNG key.")
    if np.ndim(seed):
        raise TypeError(
            f"{ctor_name} accepts a scalar seed, but was given an array of shape "
            f"{np.shape(seed)} != (). Use jax.vmap for batching"
        )
    if isinstance(seed, int) and not isinstance(seed, Array):
        # as JAX: a Python int goes through int64 (wrapping to 32 bits without x64)
        seed = jnp.asarray(np.int64(seed))
    else:
        seed = jnp.asarray(seed)
    if seed.dtype.kind not in "iu":
        raise TypeError(f"PRNG key seed must be an integer; got {seed!r}")
    if seed.dtype.itemsize == 8:
        high = convert_element_type(
            right_shift(convert_element_type(seed, np.uint64), np.uint64(32)), _U32
        )
    else:
        high = jnp.zeros((), _U32)
    low = convert_element_type(seed, _U32)
    return jnp.stack([high, low])


def _split_data(data, shape):
    k1, k2 = _words(data)
    hi, lo = _prng.iota_2x32_shape(shape)
    b1, b2 = _prng.threefry2x32(k1, k2, hi, lo)
    return jnp.stack([b1, b2], axis=len(shape))


def _split2(data):
    """Two keys from one (``split(key)``), as a pair of key data."""
    keys = _split_data(data, (2,))
    return keys[0], keys[1]


def _bits_data(data, bit_width, shape):
    """``random.bits`` on key data: the XOR of the two hash words of the counters of
    ``shape`` (both words, high then low, for 64 bits)."""
    k1, k2 = _words(data)
    hi, lo = _prng.iota_2x32_shape(shape)
    b1, b2 = _prng.threefry2x32(k1, k2, hi, lo)
    dtype = _UINT_DTYPES[bit_width]
    if bit_width == 64:
        b1 = convert_element_type(b1, dtype)
        b2 = convert_element_type(b2, dtype)
        return bitwise_or(left_shift(b1, np.uint64(32)), b2)
    out = bitwise_xor(b1, b2)
    return out if bit_width == 32 else convert_element_type(out, dtype)


# -- keys ----------------------------------------------------------------------------------------


def _check_impl(impl):
    if impl is None or impl == _IMPL_NAME or isinstance(impl, KeyTy):
        return
    if isinstance(impl, str):
        raise ValueError(
            f'unrecognized PRNG implementation "{impl}". Did you mean one of: "threefry2x32"? '
            f"(pullback implements only threefry2x32)"
        )
    raise TypeError(f"unrecognized type {type(impl)} for specifying PRNG implementation.")


def PRNGKey(seed, *, impl=None):  # noqa: N802 - JAX's name
    """A legacy PRNG key from an integer seed: a ``uint32[2]`` array (JAX's
    ``jax.random.PRNGKey``).

    A 64-bit seed fills both words (its high half first); a 32-bit seed, or any seed without
    x64 (Python ints wrap to 32 bits, as in JAX), fills the second.

    >>> from pullback import random
    >>> random.PRNGKey(42)
    Array([ 0, 42], dtype=uint32)
    >>> random.PRNGKey(-1)
    Array([         0, 4294967295], dtype=uint32)
    """
    _check_impl(impl)
    return _seed_data("PRNGKey", seed)


def key(seed, *, impl=None, dtype=None):
    """A typed PRNG key from an integer seed: a scalar key array of dtype ``key<fry>``.

    >>> from pullback import random
    >>> random.key(42)
    Array((), dtype=key<fry>) overlaying:
    [ 0 42]
    """
    if dtype is not None:
        if impl is not None:
            raise ValueError("Cannot specify both `impl` and `dtype` arguments to jax.random.key")
        impl = dtype
    _check_impl(impl)
    return PRNGKeyArray(_seed_data("key", seed))


def key_data(keys):
    """The ``uint32`` data underlying PRNG keys (legacy keys are returned as they are).

    >>> from pullback import random
    >>> random.key_data(random.key(42))
    Array([ 0, 42], dtype=uint32)
    """
    data, _ = _check_prng_key("key_data", keys, allow_batched=True)
    return data


def wrap_key_data(key_bits_array, *, impl=None, dtype=None):
    """Typed keys from ``uint32`` key data of shape ``(..., 2)``.

    >>> from pullback import random
    >>> k = random.key(42)
    >>> random.wrap_key_data(random.key_data(k), dtype=k.dtype) == k
    Array(True, dtype=bool)
    """
    if dtype is not None:
        if impl is not None:
            raise ValueError(
                "Cannot specify both `impl` and `dtype` arguments to jax.random.wrap_key_data"
            )
        impl = dtype
    _check_impl(impl)
    if isinstance(key_bits_array, PRNGKeyArray):
        raise TypeError(
            "random_wrap: the argument is already a key array; pass its key_data instead."
        )
    if isinstance(key_bits_array, (list, tuple)):
        key_bits_array = jnp.asarray(key_bits_array)
    return PRNGKeyArray(_check_key_data(key_bits_array))


def key_impl(keys):
    """The name of the PRNG implementation of ``keys``: ``'threefry2x32'``.

    >>> from pullback import random
    >>> random.key_impl(random.key(0))
    'threefry2x32'
    """
    _check_prng_key("key_impl", keys, allow_batched=True)
    return _IMPL_NAME


def key_dtype(impl=None):
    """The dtype of typed keys of an implementation (only ``threefry2x32``: ``key<fry>``).

    >>> from pullback import random
    >>> random.key_dtype()
    key<fry>
    """
    _check_impl(impl)
    return _KEY_DTYPE


def split(key, num=2):
    """``num`` new keys (or an array of keys of shape ``num``) from one key, along a new leading
    axis.

    >>> from pullback import random
    >>> random.split(random.PRNGKey(42))
    Array([[1832780943,  270669613],
           [  64467757, 2916123636]], dtype=uint32)
    """
    data, wrapped = _check_prng_key("split", key)
    shape = tuple(num) if isinstance(num, Sequence) else (num,)
    shape = tuple(_concrete_int(n, "split's num") for n in shape)
    return _return_keys(wrapped, _split_data(data, shape))


def fold_in(key, data):
    """A new key that is a deterministic function of ``key`` and the 32-bit integer ``data``.

    >>> from pullback import random
    >>> random.fold_in(random.PRNGKey(0), 7)
    Array([2716826189,  292468403], dtype=uint32)
    """
    base, wrapped = _check_prng_key("fold_in", key)
    if np.ndim(data):
        raise TypeError(
            "fold_in accepts a scalar, but was given an array of"
            f"shape {np.shape(data)} != (). Use jax.vmap for batching."
        )
    if isinstance(data, int) and not isinstance(data, bool):
        if not 0 <= data < 2**32:
            raise OverflowError(f"Python integer {data} out of bounds for uint32")
        data = np.uint32(data)
    data = convert_element_type(jnp.asarray(data), _U32)
    k1, k2 = _words(base)
    y1, y2 = _prng.threefry2x32(k1, k2, np.uint32(0), data)
    return _return_keys(wrapped, jnp.stack([y1, y2]))


def clone(key):
    """The key itself (JAX's ``clone`` only matters to its key-reuse checker).

    >>> from pullback import random
    >>> random.clone(random.PRNGKey(1))
    Array([0, 1], dtype=uint32)
    """
    return key


# -- samplers: bits and uniforms -----------------------------------------------------------------


def bits(key, shape=(), dtype=None):
    """Uniform random bits as unsigned integers (``uint32`` by default, ``uint64`` with x64).

    >>> from pullback import random
    >>> random.bits(random.PRNGKey(0), (3,))
    Array([4070199207, 4202968722, 1427181096], dtype=uint32)
    """
    data, _ = _check_prng_key("bits", key)
    dtype = _user_dtype(dtype, _dtypes.default_uint_dtype())
    if not np.issubdtype(dtype, np.unsignedinteger):
        raise ValueError(f"dtype argument to `bits` must be an unsigned int dtype, got {dtype}")
    shape = _canonicalize_shape(shape)
    return _bits_data(data, dtype.itemsize * 8, shape)


def _static_scalar(x):
    """``x`` as a Python float when it is a concrete scalar known now (a Python number or a
    NumPy scalar), else ``None``."""
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
        return float(x)
    return None


def _uniform(data, shape, dtype, minval, maxval):
    finfo = np.finfo(dtype)
    nbits, nmant = finfo.bits, finfo.nmant
    if nbits not in (16, 32, 64):
        raise TypeError(f"uniform only accepts 16-, 32-, or 64-bit dtypes, got {dtype}.")
    lo, hi = _static_scalar(minval), _static_scalar(maxval)
    if lo is None or hi is None:
        minval = _as(minval, dtype)
        maxval = _as(maxval, dtype)
        if _broadcast_shapes(shape, minval.shape, maxval.shape) != shape:
            raise TypeError(
                f"uniform: minval and maxval must broadcast to the shape argument {shape}, got "
                f"shapes {minval.shape} and {maxval.shape}."
            )
    raw = _bits_data(data, nbits, shape)
    # JAX fills the mantissa of 1.0 with the top bits and subtracts 1: that is the mantissa
    # bits times 2**-nmant, exactly
    mantissa = right_shift(raw, _UINT_DTYPES[nbits].type(nbits - nmant))
    floats = convert_element_type(mantissa, dtype)
    # XLA contracts JAX's ``floats * (maxval - minval) + minval`` into a fused multiply-add
    if lo is None or hi is None:
        floats = floats * (2.0**-nmant)
        return maximum(minval, _prng.fma(floats, maxval - minval, minval))
    # static bounds: the same values with the operations that are exact identities left out
    # (a power-of-two span folds into the scaling; adding 0; the maximum with minval when the
    # span is not negative, as then every value is at least minval)
    lo_t, hi_t = np.array(lo, dtype), np.array(hi, dtype)
    with np.errstate(all="ignore"):
        span = hi_t - lo_t
    exponent = int(np.frexp(span)[1]) - 1 if np.isfinite(span) and span > 0 else None
    if exponent is not None and span == 2.0**exponent and exponent - nmant >= finfo.minexp:
        floats = floats * float(2.0 ** (exponent - nmant))  # exact: no rounding to fuse
        if lo_t != 0 or not np.isfinite(lo_t):
            floats = floats + lo_t
    elif lo_t != 0 or not np.isfinite(lo_t):
        floats = _prng.fma(floats * (2.0**-nmant), span, lo_t)
    else:
        floats = floats * (2.0**-nmant) * span
    if not (span >= 0):
        floats = maximum(lo_t, floats)
    return floats


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Uniform random values in ``[minval, maxval)``.

    >>> from pullback import random
    >>> random.uniform(random.PRNGKey(0), (3,))
    Array([0.947667  , 0.9785799 , 0.33229148], dtype=float32)
    """
    data, _ = _check_prng_key("uniform", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    shape = _canonicalize_shape(shape)
    _check_float_dtype("uniform", dtype)
    return _uniform(data, shape, dtype, minval, maxval)


def _normal_real(data, shape, dtype):
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype), dtype=dtype)
    u = _uniform(data, shape, dtype, lo, np.array(1.0, dtype))
    return np.array(np.sqrt(2), dtype) * _prng.erf_inv(u)


def _normal(data, shape, dtype):
    if np.issubdtype(dtype, np.complexfloating):
        real = np.dtype(np.array(0, dtype).real.dtype)
        k_re, k_im = _split2(data)
        re = convert_element_type(_normal_real(k_re, shape, real), dtype)
        im = convert_element_type(_normal_real(k_im, shape, real), dtype)
        return (re + 1j * im) / np.array(np.sqrt(2), dtype)
    return _normal_real(data, shape, dtype)


def normal(key, shape=(), dtype=None):
    """Standard normal random values (real, or complex with unit variance).

    >>> from pullback import random
    >>> random.normal(random.PRNGKey(0), (3,))
    Array([ 1.6226422 ,  2.0252647 , -0.43359444], dtype=float32)
    """
    data, _ = _check_prng_key("normal", key)
    shape = _canonicalize_shape(shape)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    if not np.issubdtype(dtype, np.inexact):
        raise ValueError(
            f"dtype argument to `normal` must be a float or complex dtype, got {dtype}"
        )
    return _normal(data, shape, dtype)


def bernoulli(key, p=0.5, shape=None, mode="low"):
    """Bernoulli samples (booleans) with mean ``p``.

    >>> from pullback import random
    >>> random.bernoulli(random.PRNGKey(0), 0.5, (4,))
    Array([False, False,  True,  True], dtype=bool)
    """
    if shape is not None:
        shape = _canonicalize_shape(shape)
    if mode not in ("high", "low"):
        raise ValueError(f"got {mode=}, expected 'high' or 'low'")
    data, _ = _check_prng_key("bernoulli", key)
    dtype = _dtypes.dtype(p)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"bernoulli probability `p` must have a floating dtype, got {dtype}.")
    p = _as(p, dtype)
    if shape is None:
        shape = p.shape
    else:
        _check_shape("bernoulli", shape, p.shape)
    if mode == "high":
        u = _uniform(data, (2, *shape), dtype, 0.0, 1.0)
        u1, u2 = u[0], u[1] * (2.0 ** -np.finfo(dtype).nmant)
        return u2 < p - u1
    return _uniform(data, shape, dtype, 0.0, 1.0) < p


# -- integers ------------------------------------------------------------------------------------


def _convert_and_clip_integer(val, dtype):
    """Integer ``val`` as integer ``dtype``, clipped to its range rather than wrapped."""
    info_to, info_from = np.iinfo(dtype), np.iinfo(val.dtype)
    lo = np.array(max(info_to.min, info_from.min), val.dtype)
    hi = np.array(min(info_to.max, info_from.max), val.dtype)
    return convert_element_type(jnp.clip(val, lo, hi), dtype)


def _urem(x, span):
    """``x % span`` for unsigned integers with XLA's convention ``x % 0 == x``."""
    zero = equal(span, span.dtype.type(0))
    safe = where(zero, span.dtype.type(1), span)
    return where(zero, x, jnp.remainder(x, safe))


def _randint(data, shape, minval, maxval, dtype):
    _check_shape("randint", shape, np.shape(minval), np.shape(maxval))
    minval = jnp.asarray(minval)
    maxval = jnp.asarray(maxval)
    if minval.dtype.kind not in "iu":
        minval = convert_element_type(minval, _dtypes.default_int_dtype())
    if maxval.dtype.kind not in "iu":
        maxval = convert_element_type(maxval, _dtypes.default_int_dtype())
    info = np.iinfo(dtype)
    top = _convert_and_clip_integer(jnp.asarray(np.array(info.max, dtype)), maxval.dtype)
    maxval_out_of_range = maxval > top
    minval = _convert_and_clip_integer(minval, dtype)
    maxval = _convert_and_clip_integer(maxval, dtype)
    nbits = info.bits
    k1, k2 = _split2(data)
    higher_bits = _bits_data(k1, nbits, shape)
    lower_bits = _bits_data(k2, nbits, shape)
    unsigned = _UINT_DTYPES[nbits]
    with np.errstate(over="ignore"):
        span = convert_element_type(maxval - minval, unsigned)
        # span 1 when maxval <= minval, so that minval is returned (jax-ml/jax#222)
        span = where(maxval <= minval, unsigned.type(1), span)
        # one more when maxval is above the dtype's range (it may wrap to 0: the full range)
        span = where(maxval_out_of_range & (maxval > minval), span + unsigned.type(1), span)
        # (2**n * high + low) % span, with 2**n % span computed without overflow
        multiplier = _urem(jnp.full(np.shape(span), 2 ** (nbits // 2), unsigned), span)
        multiplier = _urem(multiplier * multiplier, span)
        offset = _urem(higher_bits, span) * multiplier + _urem(lower_bits, span)
        offset = _urem(offset, span)
        return minval + convert_element_type(offset, dtype)


def randint(key, shape, minval, maxval, dtype=None):
    """Uniform random integers in ``[minval, maxval)`` (int32 by default, int64 with x64).

    As JAX's: ``2 * nbits`` random bits per value reduced modulo the span, at least 32 bits.

    >>> from pullback import random
    >>> random.randint(random.PRNGKey(0), (5,), 0, 10)
    Array([9, 0, 2, 3, 1], dtype=int32)
    """
    data, _ = _check_prng_key("randint", key)
    dtype = _user_dtype(dtype, _dtypes.default_int_dtype())
    shape = _canonicalize_shape(shape)
    if not np.issubdtype(dtype, np.integer):
        raise TypeError(f"randint only accepts integer dtypes, got {dtype}")
    info = np.iinfo(dtype)
    sampling = dtype
    if info.bits < 32:
        # sampled in 32 bits to avoid biased results
        sampling = np.dtype("int32")
        minval = jnp.clip(
            convert_element_type(jnp.asarray(minval), sampling), int(info.min), int(info.max)
        )
        maxval = jnp.clip(
            convert_element_type(jnp.asarray(maxval), sampling), int(info.min), int(info.max) + 1
        )
    out = _randint(data, shape, minval, maxval, sampling)
    return convert_element_type(out, dtype)


# -- permutations and choices --------------------------------------------------------------------


def _canonical_axis(axis, ndim):
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _shuffle(data, x, axis):
    """JAX's shuffle: sort ``x`` along ``axis`` by fresh random 32-bit keys, enough rounds that
    collisions are negligible (ties keep their order: a stable sort)."""
    exponent = 3
    uint32max = np.iinfo(np.uint32).max
    num_rounds = int(np.ceil(exponent * np.log(max(1, x.size)) / np.log(uint32max)))
    for _ in range(num_rounds):
        data, subkey = _split2(data)
        sort_keys = _bits_data(subkey, 32, x.shape)
        order = _prng.argsort(sort_keys, axis)
        x = jnp.take_along_axis(x, order, axis)
    return x


def permutation(key, x, axis=0, independent=False):
    """A random permutation of ``arange(x)`` (an int), or of ``x``'s entries along ``axis``.

    >>> from pullback import random
    >>> random.permutation(random.PRNGKey(0), 6)
    Array([0, 1, 5, 4, 3, 2], dtype=int32)
    """
    data, _ = _check_prng_key("permutation", key)
    if isinstance(x, (list, tuple)):
        raise TypeError(
            f"permutation requires ndarray or scalar arguments, got {type(x).__name__} at "
            f"position 0."
        )
    axis = _canonical_axis(axis, np.ndim(x) or 1)
    if not np.ndim(x):
        if not np.issubdtype(_dtypes.dtype(x), np.integer):
            raise TypeError("x must be an integer or at least 1-dimensional")
        r = _concrete_int(x, "argument x of jax.random.permutation()")
        return _shuffle(data, jnp.arange(r), axis)
    x = jnp.asarray(x)
    if independent or x.ndim == 1:
        return _shuffle(data, x, axis)
    ind = _shuffle(data, jnp.arange(x.shape[axis]), 0)
    return jnp.take(x, ind, axis)


def _top_k_indices(x, k):
    """Indices of the ``k`` largest entries along the last axis, largest first (ties: lower
    index first), as ``lax.top_k``."""
    order = _prng.argsort(x, x.ndim - 1, descending=True)
    return order[..., :k]


def choice(key, a, shape=(), replace=True, p=None, axis=0, mode=None):
    """Random samples from the entries of ``a`` (or from ``arange(a)``), with or without
    replacement, uniformly or with probabilities ``p``.

    >>> from pullback import random
    >>> random.choice(random.PRNGKey(0), 10, (4,), replace=False)
    Array([0, 1, 8, 5], dtype=int32)
    """
    data, _ = _check_prng_key("choice", key)
    if not isinstance(shape, Sequence):
        raise TypeError(f"shape argument of jax.random.choice must be a sequence, got {shape}")
    if isinstance(a, (list, tuple)):
        raise TypeError(
            f"choice requires ndarray or scalar arguments, got {type(a).__name__} at position 0."
        )
    arr = jnp.asarray(a)
    if arr.ndim == 0:
        n_inputs = _concrete_int(a, "The error occurred in jax.random.choice()")
    else:
        axis = _canonical_axis(axis, arr.ndim)
        n_inputs = arr.shape[axis]
    shape = tuple(shape)
    n_draws = math.prod(shape)
    if n_draws == 0:
        return jnp.zeros(shape, dtype=arr.dtype)
    if n_inputs <= 0:
        raise ValueError("a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(
            f"Cannot take a larger sample (size {n_draws}) than population (size {n_inputs}) "
            f"when 'replace=False'"
        )
    if p is None:
        if replace:
            ind = _randint(data, shape, 0, n_inputs, _dtypes.default_int_dtype())
            result = ind if arr.ndim == 0 else jnp.take(arr, ind, axis)
        else:
            slices = (slice(None),) * axis + (slice(n_draws),)
            population = n_inputs if arr.ndim == 0 else arr
            result = permutation(PRNGKeyArray(data), population, axis)[slices]
    else:
        if isinstance(p, (list, tuple)):
            raise TypeError(
                f"choice requires ndarray or scalar arguments, got {type(p).__name__} at "
                f"position 0."
            )
        p_arr = jnp.asarray(p)
        if p_arr.dtype.kind not in "fc":
            p_arr = convert_element_type(p_arr, _dtypes.to_inexact_dtype(p_arr.dtype))
        if p_arr.shape != (n_inputs,):
            raise ValueError(
                "p must be None or a 1D vector with the same size as a.shape[axis]. "
                f"p has shape {p_arr.shape} and a.shape[axis] is {n_inputs}."
            )
        if replace:
            p_cuml = jnp.cumsum(p_arr)
            r = p_cuml[-1] * (1 - _uniform(data, shape, p_cuml.dtype, 0.0, 1.0))
            # searchsorted(p_cuml, r, side="left"): how many cumulative sums are below r
            below = jnp.expand_dims(p_cuml, tuple(range(len(shape)))) < jnp.expand_dims(r, -1)
            ind = jnp.sum(below, axis=-1, dtype=_dtypes.default_int_dtype())
        else:
            g = _gumbel(data, (n_inputs,), p_arr.dtype, mode) + jnp.log(p_arr)
            ind = convert_element_type(_top_k_indices(g, n_draws), _dtypes.default_int_dtype())
        result = ind if arr.ndim == 0 else jnp.take(arr, ind, axis)
    out_shape = shape if arr.ndim == 0 else arr.shape[:axis] + shape + arr.shape[axis + 1 :]
    return jnp.reshape(result, out_shape)


# -- continuous samplers ---------------------------------------------------------------------------


def _float_sampler_args(name, key, shape, dtype):
    data, _ = _check_prng_key(name, key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype(name, dtype)
    return data, _canonicalize_shape(shape), dtype


def _clz32(x):
    """The number of leading zero bits of each uint32 (32 for zero), by binary search."""
    n = jnp.zeros(x.shape, _U32)
    for step in (16, 8, 4, 2, 1):
        top_clear = right_shift(x, np.uint32(32 - step)) == np.uint32(0)
        n = where(top_clear, n + np.uint32(step), n)
        x = where(top_clear, left_shift(x, np.uint32(step)), x)
    return where(right_shift(x, np.uint32(31)) == np.uint32(0), n + np.uint32(1), n)


def _safe_int_to_float(bits):
    """JAX's conversion of 64 random bits (``uint32[2, ...]``, high word first) to a float32 in
    (0, 1) that keeps 24 significant bits however small it is: the leading one of the bits
    sets the exponent, the 23 bits after it the mantissa."""
    finfo = np.finfo(np.float32)
    hi, lo = bits[0], bits[1]
    hiclz, loclz = _clz32(hi), _clz32(lo)
    mantissa = bitwise_or(
        left_shift(hi, hiclz),
        where(hiclz == 32, left_shift(lo, loclz), right_shift(lo, np.uint32(32) - hiclz)),
    )
    mantissa = right_shift(mantissa, np.uint32(finfo.bits - finfo.nmant - 1))
    mantissa = jnp.bitwise_and(mantissa, np.uint32((1 << finfo.nmant) - 1))
    clz = where(hiclz == 32, np.uint32(32) + loclz, hiclz)
    biased = jnp.bitwise_and(np.uint32(-finfo.minexp) - clz, np.uint32(0xFF))
    # the float with that biased exponent and mantissa, built exactly (no bitcast): a mantissa
    # below 2**23 and a power of two are exact in float32
    scale = jnp.exp2(convert_element_type(biased, np.float32) - 127.0)
    return (1.0 + convert_element_type(mantissa, np.float32) * 2.0**-23) * scale


def _gumbel_highest(data, shape):
    bits = _bits_data(data, 32, (2, *shape))
    neg = jnp.bitwise_not(bits)
    lo_bits = neg[1]
    # 1 - bits, in 64-bit fixed point
    carry = convert_element_type(lo_bits == np.uint32(0xFFFFFFFF), _U32)
    neg = neg + jnp.stack([carry, jnp.ones_like(lo_bits)])
    flip_mask = bits[0] < np.uint32(1 << 31)
    x = _safe_int_to_float(where(flip_mask, bits, neg))
    # log1p on (0, 1/2), log on [1/2, 1)
    return where(flip_mask, -jnp.log(-log1p(-x)), -jnp.log(-jnp.log(x)))


def _gumbel(data, shape, dtype, mode):
    info = np.finfo(dtype)
    if mode is None:
        mode = "low"
    if mode not in ("highest", "high", "low"):
        raise ValueError(f"Must provide valid mode for gumbel got: {mode}")
    if mode == "highest" and dtype == np.float32:
        return _gumbel_highest(data, shape)
    if mode in ("high", "highest"):
        u = _uniform(data, (2, *shape), dtype, 0.0, 1.0)
        high, low = u[0], u[1]
        x = where(high >= 0.5, high, high + 2.0 ** -int(info.nmant) * low + float(info.tiny))
        return -jnp.log(-log1p(-x))
    return -jnp.log(-jnp.log(_uniform(data, shape, dtype, float(info.tiny), 1.0)))


def gumbel(key, shape=(), dtype=None, mode=None):
    """Standard Gumbel samples, ``-log(-log(u))``.

    >>> from pullback import random
    >>> random.gumbel(random.PRNGKey(0), (3,))
    Array([ 2.9233725 ,  3.8326178 , -0.09689324], dtype=float32)
    """
    data, shape, dtype = _float_sampler_args("gumbel", key, shape, dtype)
    return _gumbel(data, shape, dtype, mode)


def categorical(key, logits, axis=-1, shape=None, replace=True, mode=None):
    """Samples of categorical distributions given by unnormalized log probabilities ``logits``
    along ``axis`` (the Gumbel-max trick; without replacement, Gumbel top-k).

    >>> from pullback import random
    >>> import pullback.numpy as jnp
    >>> random.categorical(random.PRNGKey(0), jnp.log(jnp.array([0.2, 0.3, 0.5])), shape=(6,))
    Array([1, 1, 2, 1, 2, 0], dtype=int32)
    """
    data, _ = _check_prng_key("categorical", key)
    if isinstance(logits, (list, tuple)):
        raise TypeError(
            f"categorical requires ndarray or scalar arguments, got {type(logits).__name__} at "
            f"position 0."
        )
    logits_arr = jnp.asarray(logits)
    ndim = logits_arr.ndim
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    batch_shape = tuple(np.delete(np.array(logits_arr.shape, dtype=np.int64), axis).tolist())
    if shape is None:
        shape = batch_shape
    else:
        shape = _canonicalize_shape(shape)
        _check_shape("categorical", shape, batch_shape)
    shape_prefix = shape[: len(shape) - len(batch_shape)]
    if replace:
        if axis >= 0:
            axis -= ndim
        logits_shape = list(shape[len(shape) - len(batch_shape) :])
        logits_shape.insert(axis % ndim, logits_arr.shape[axis])
        g = gumbel(PRNGKeyArray(data), (*shape_prefix, *logits_shape), logits_arr.dtype, mode)
        expanded = jnp.expand_dims(logits_arr, tuple(range(len(shape_prefix))))
        return jnp.argmax(g + expanded, axis=axis)
    logits_arr = logits_arr + gumbel(PRNGKeyArray(data), logits_arr.shape, logits_arr.dtype, mode)
    k = math.prod(shape_prefix)
    if k > logits_arr.shape[axis]:
        raise ValueError(
            f"Number of samples without replacement ({k}) cannot exceed number of categories "
            f"({logits_arr.shape[axis]})."
        )
    indices = _top_k_indices(jnp.moveaxis(logits_arr, axis, -1), k)
    perm = (indices.ndim - 1, *range(indices.ndim - 1))
    return jnp.reshape(jnp.transpose(indices, perm), shape)


def _truncated_bounds(dtype):
    return np.array(np.inf, dtype), np.array(-np.inf, dtype)


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Standard normal samples truncated to the open interval ``(lower, upper)`` (by inverting
    the CDF), differentiable in the bounds.

    >>> from pullback import random
    >>> random.truncated_normal(random.PRNGKey(0), -1.0, 1.0, (3,))
    Array([ 0.8618594,  0.9412883, -0.2910484], dtype=float32)
    """
    if shape is not None:
        shape = _canonicalize_shape(shape)
    data, _ = _check_prng_key("truncated_normal", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("truncated_normal", dtype)
    if shape is None:
        shape = _broadcast_shapes(np.shape(lower), np.shape(upper))
    else:
        _check_shape("truncated_normal", shape, np.shape(lower), np.shape(upper))
    sqrt2 = np.array(np.sqrt(2), dtype)
    lower = _as(lower, dtype)
    upper = _as(upper, dtype)
    a = _prng.erf(lower / sqrt2)
    b = _prng.erf(upper / sqrt2)
    u = _uniform(data, shape, dtype, a, b)
    out = sqrt2 * _prng.erf_inv(u)
    inf, ninf = _truncated_bounds(dtype)
    return jnp.clip(
        out, nextafter(stop_gradient(lower), inf), nextafter(stop_gradient(upper), ninf)
    )


def exponential(key, shape=(), dtype=None):
    """Standard exponential samples, ``-log1p(-u)``.

    >>> from pullback import random
    >>> random.exponential(random.PRNGKey(0), (3,))
    Array([2.950128  , 3.8434246 , 0.40390354], dtype=float32)
    """
    data, shape, dtype = _float_sampler_args("exponential", key, shape, dtype)
    u = _uniform(data, shape, dtype, 0.0, 1.0)
    return -log1p(-u)


def laplace(key, shape=(), dtype=None):
    """Standard Laplace samples.

    >>> from pullback import random
    >>> random.laplace(random.PRNGKey(0), (3,))
    Array([-2.25698 , -3.15028 ,  0.4086], dtype=float32)
    """
    data, shape, dtype = _float_sampler_args("laplace", key, shape, dtype)
    u = _uniform(data, shape, dtype, -1.0 + float(np.finfo(dtype).epsneg), 1.0)
    return sign(u) * log1p(-jnp.abs(u))


def logistic(key, shape=(), dtype=None):
    """Standard logistic samples, ``log(u) - log1p(-u)``.

    >>> from pullback import random
    >>> random.logistic(random.PRNGKey(0), (3,))
    Array([ 2.896376 ,  3.8217716, -0.6978392], dtype=float32)
    """
    data, shape, dtype = _float_sampler_args("logistic", key, shape, dtype)
    x = _uniform(data, shape, dtype, float(np.finfo(dtype).tiny), 1.0)
    return log(x) - log1p(-x)


def cauchy(key, shape=(), dtype=None):
    """Standard Cauchy samples, ``tan(pi (u - 1/2))``.

    >>> from pullback import random
    >>> random.cauchy(random.PRNGKey(0), (3,))
    Array([ 6.0274944 , 14.837895  , -0.58172226], dtype=float32)
    """
    data, shape, dtype = _float_sampler_args("cauchy", key, shape, dtype)
    u = _uniform(data, shape, dtype, float(np.finfo(dtype).eps), 1.0)
    return tan(np.array(np.pi, dtype) * (u - np.array(0.5, dtype)))


def rademacher(key, shape=(), dtype=None):
    """Samples of -1 and 1 with equal probability (int32 by default).

    >>> from pullback import random
    >>> random.rademacher(random.PRNGKey(0), (4,))
    Array([-1, -1,  1,  1], dtype=int32)
    """
    data, _ = _check_prng_key("rademacher", key)
    dtype = _user_dtype(dtype, _dtypes.default_int_dtype())
    shape = _canonicalize_shape(shape)
    b = convert_element_type(bernoulli(PRNGKeyArray(data), 0.5, shape), dtype)
    return convert_element_type(2 * b - 1, dtype)


# -- samplers with shape parameters ----------------------------------------------------------------


def _check_broadcast_shapes(name, shape, *args):
    arg_shapes = [np.shape(a) for a in args]
    if shape is None:
        return _broadcast_shapes(*arg_shapes) if arg_shapes else ()
    shape = _canonicalize_shape(shape)
    _check_shape(name, shape, *arg_shapes)
    return shape


def _check_all_safe_to_cast(name, dtype, *args):
    for arg in args:
        if _dtypes.is_weakly_typed(arg) if isinstance(arg, Array) else np.isscalar(arg):
            continue
        arg_dtype = _dtypes.dtype(arg)
        if not np.can_cast(arg_dtype, dtype, "safe"):
            raise TypeError(
                f"In arguments to {name}, cannot safely cast argument of type {arg_dtype} to "
                f"{dtype}"
            )


def _gamma(data, a, shape, dtype, log_space=False):
    if shape is None:
        shape = np.shape(a)
    else:
        _check_shape("gamma", shape, np.shape(a))
    a = _as(a, dtype)
    if a.shape != shape:
        a = jnp.broadcast_to(a, shape)
    return _prng.random_gamma(data, a, log_space)


def gamma(key, a, shape=None, dtype=None):
    """Gamma(a, 1) samples (Marsaglia and Tsang's method, one key per sample), differentiable
    in ``a`` (implicit reparameterization, as JAX's).

    >>> from pullback import random
    >>> random.gamma(random.PRNGKey(0), 2.0, (3,))
    Array([1.5897877, 1.7599413, 1.1290071], dtype=float32)
    """
    data, _ = _check_prng_key("gamma", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("gamma", dtype)
    if shape is not None:
        shape = _canonicalize_shape(shape)
    return _gamma(data, a, shape, dtype)


def loggamma(key, a, shape=None, dtype=None):
    """The logs of Gamma(a, 1) samples, computed in log space (accurate for small ``a``):
    ``exp(loggamma(...))`` is ``gamma(...)`` for the same arguments.

    >>> from pullback import random
    >>> random.loggamma(random.PRNGKey(0), 2.0, (3,))
    Array([0.4636, 0.56528 , 0.12134], dtype=float32)
    """
    data, _ = _check_prng_key("loggamma", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("gamma", dtype)
    if shape is not None:
        shape = _canonicalize_shape(shape)
    return _gamma(data, a, shape, dtype, log_space=True)


def beta(key, a, b, shape=None, dtype=None):
    """Beta(a, b) samples, from two log-gamma samples.

    >>> from pullback import random
    >>> random.beta(random.PRNGKey(0), 2.0, 3.0, (3,))
    Array([0.23627, 0.49046 , 0.68379 ], dtype=float32)
    """
    data, _ = _check_prng_key("beta", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("beta", dtype)
    _check_all_safe_to_cast("beta", dtype, a, b)
    shape = _check_broadcast_shapes("beta", shape, a, b)
    a = _as(a, dtype)
    b = _as(b, dtype)
    key_a, key_b = _split2(data)
    a = jnp.broadcast_to(a, shape)
    b = jnp.broadcast_to(b, shape)
    log_gamma_a = _gamma(key_a, a, shape, dtype, log_space=True)
    log_gamma_b = _gamma(key_b, b, shape, dtype, log_space=True)
    # gamma_a / (gamma_a + gamma_b) without losing precision
    log_max = maximum(log_gamma_a, log_gamma_b)
    gamma_a_scaled = jnp.exp(log_gamma_a - log_max)
    gamma_b_scaled = jnp.exp(log_gamma_b - log_max)
    return gamma_a_scaled / (gamma_a_scaled + gamma_b_scaled)


def _softmax_last(x):
    unnormalized = jnp.exp(x - jnp.max(x, axis=-1, keepdims=True))
    return unnormalized / jnp.sum(unnormalized, axis=-1, keepdims=True)


def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(alpha) samples over the last axis of ``alpha`` (normalized log-gamma samples).

    >>> from pullback import random
    >>> import pullback.numpy as jnp
    >>> random.dirichlet(random.PRNGKey(0), jnp.array([1.0, 2.0, 3.0]))
    Array([0.14229 , 0.40488, 0.45283 ], dtype=float32)
    """
    data, _ = _check_prng_key("dirichlet", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("dirichlet", dtype)
    if shape is not None:
        shape = _canonicalize_shape(shape)
    if not np.ndim(alpha) >= 1:
        raise ValueError(f"dirichlet requires alpha.ndim >= 1, got alpha.ndim == {np.ndim(alpha)}")
    alpha_shape = np.shape(alpha)
    if shape is None:
        shape = alpha_shape[:-1]
    else:
        _check_shape("dirichlet", shape, alpha_shape[:-1])
    alpha = _as(alpha, dtype)
    log_gamma_samples = _gamma(data, alpha, shape + alpha_shape[-1:], dtype, log_space=True)
    return _softmax_last(log_gamma_samples)


def t(key, df, shape=None, dtype=None):
    """Student's t samples with ``df`` degrees of freedom.

    >>> from pullback import random
    >>> random.t(random.PRNGKey(0), 3.0, (3,))
    Array([ 0.69022465, -3.2393365 , -1.6745249 ], dtype=float32)
    """
    data, _ = _check_prng_key("t", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("t", dtype)
    shape = _check_broadcast_shapes("t", shape, df)
    _check_all_safe_to_cast("t", dtype, df)
    df = _as(df, dtype)
    key_n, key_g = _split2(data)
    n = _normal(key_n, shape, dtype)
    half_df = df / np.array(2, dtype)
    g = _gamma(key_g, half_df, shape, dtype)
    return n * jnp.sqrt(half_df / g)


def chisquare(key, df, shape=None, dtype=None):
    """Chi-square samples with ``df`` degrees of freedom (twice Gamma(df / 2)).

    >>> from pullback import random
    >>> random.chisquare(random.PRNGKey(0), 3.0, (3,))
    Array([2.20508 , 2.48997, 1.45571], dtype=float32)
    """
    data, _ = _check_prng_key("chisquare", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("chisquare", dtype)
    shape = _check_broadcast_shapes("chisquare", shape, df)
    _check_all_safe_to_cast("chisquare", dtype, df)
    return _chisquare(data, df, shape, dtype)


def _chisquare(data, df, shape, dtype):
    df = _as(df, dtype)
    two = np.array(2, dtype)
    log_g = _gamma(data, df / two, shape, dtype, log_space=True)
    return jnp.exp(log_g) * two


def f(key, dfnum, dfden, shape=None, dtype=None):
    """F-distribution samples (a ratio of scaled chi-squares).

    >>> from pullback import random
    >>> random.f(random.PRNGKey(0), 3.0, 4.0, (3,))
    Array([2.70391 , 0.22601, 0.1584], dtype=float32)
    """
    data, _ = _check_prng_key("f", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("f", dtype)
    shape = _check_broadcast_shapes("f", shape, dfnum, dfden)
    _check_all_safe_to_cast("f", dtype, dfnum, dfden)
    dfden = _as(dfden, dtype)
    dfnum = _as(dfnum, dtype)
    key_dfd, key_dfn = _split2(data)
    chi2_dfn = _chisquare(key_dfn, dfnum, shape, dtype)
    chi2_dfd = _chisquare(key_dfd, dfden, shape, dtype)
    return (chi2_dfn / dfnum) / (chi2_dfd / dfden)


def pareto(key, b, shape=None, dtype=None):
    """Pareto samples with shape ``b``, ``exp(e / b)`` for an exponential ``e``.

    >>> from pullback import random
    >>> random.pareto(random.PRNGKey(0), 3.0, (3,))
    Array([2.67347 , 3.60075, 1.14412], dtype=float32)
    """
    data, _ = _check_prng_key("pareto", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("pareto", dtype)
    shape = _check_broadcast_shapes("pareto", shape, b)
    _check_all_safe_to_cast("pareto", dtype, b)
    b = _as(b, dtype)
    e = exponential(PRNGKeyArray(data), shape, dtype)
    return jnp.exp(e / b)


# -- Poisson -------------------------------------------------------------------------------------


def _poisson_knuth(data, lam, shape, dtype, max_iters):
    # Knuth's algorithm: count uniforms until their product falls below exp(-lam)
    def body_fn(carry):
        i, k, rng, log_prod = carry
        rng, subkey = _split2(rng)
        k = where(log_prod > -lam, k + 1, k)
        u = _uniform(subkey, shape, np.dtype("float32"), 0.0, 1.0)
        return i + 1, k, rng, log_prod + jnp.log(u)

    def cond_fn(carry):
        i, log_prod = carry[0], carry[3]
        return jnp.any(log_prod > -lam) & (i < max_iters)

    k_init = jnp.zeros(shape, dtype)
    log_rate_init = jnp.zeros(shape, np.float32)
    k = while_loop(cond_fn, body_fn, (0, k_init, data, log_rate_init))[1]
    return convert_element_type(k - 1, dtype)


def _poisson_rejection(data, lam, shape, dtype, max_iters):
    # transformed rejection (Hormann)
    log_lam = jnp.log(lam)
    b = 0.931 + 2.53 * jnp.sqrt(lam)
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)

    def body_fn(carry):
        i, k_out, accepted, rng = carry
        keys = _split_data(rng, (3,))
        rng, subkey_0, subkey_1 = keys[0], keys[1], keys[2]
        u = _uniform(subkey_0, shape, lam.dtype, 0.0, 1.0) - 0.5
        v = _uniform(subkey_1, shape, lam.dtype, 0.0, 1.0)
        u_shifted = 0.5 - jnp.abs(u)
        k = jnp.floor((2 * a / u_shifted + b) * u + lam + 0.43)
        s = jnp.log(v * inv_alpha / (a / (u_shifted * u_shifted) + b))
        t = -lam + k * log_lam - _prng.lgamma(k + 1)
        accept1 = (u_shifted >= 0.07) & (v <= v_r)
        reject = (k < 0) | ((u_shifted < 0.013) & (v > u_shifted))
        accept2 = s <= t
        accept = accept1 | (~reject & accept2)
        k_out = where(accept, k, k_out)
        accepted = accepted | accept
        return i + 1, k_out, accepted, rng

    def cond_fn(carry):
        i, k_out, accepted, rng = carry
        return jnp.any(~accepted) & (i < max_iters)

    k_init = jnp.full(shape, -1, lam.dtype)
    accepted = jnp.zeros(shape, bool)
    k = while_loop(cond_fn, body_fn, (0, k_init, accepted, data))[1]
    return convert_element_type(k, dtype)


def poisson(key, lam, shape=None, dtype=None):
    """Poisson samples with rate ``lam`` (Knuth's method below 10, transformed rejection above;
    as JAX's, in float32 whatever ``dtype``).

    >>> from pullback import random
    >>> random.poisson(random.PRNGKey(0), 3.0, (5,))
    Array([0, 0, 4, 4, 1], dtype=int32)
    """
    data, _ = _check_prng_key("poisson", key)
    dtype = _user_dtype(dtype, _dtypes.default_int_dtype())
    shape = _canonicalize_shape(shape) if shape is not None else np.shape(lam)
    lam = jnp.broadcast_to(jnp.asarray(lam), shape)
    lam = convert_element_type(lam, np.float32)
    use_knuth = jnp.isnan(lam) | (lam < 10)
    lam_knuth = where(use_knuth, lam, 0.0)
    # the acceptance probability of rejection sampling tops out at 89% as lam grows
    lam_rejection = where(use_knuth, 1e5, lam)
    max_iters = dtype.type(np.iinfo(dtype).max)
    result = where(
        use_knuth,
        _poisson_knuth(data, lam_knuth, shape, dtype, max_iters),
        _poisson_rejection(data, lam_rejection, shape, dtype, max_iters),
    )
    return where(lam == 0, jnp.zeros_like(result), result)


# -- samplers built on the others ------------------------------------------------------------------


def generalized_normal(key, p, shape=(), dtype=None):
    """Samples with density proportional to ``exp(-|x|^p)``.

    >>> from pullback import random
    >>> random.generalized_normal(random.PRNGKey(0), 3.0, (3,))
    Array([ 0.89282674,  0.09650236, -0.9955045 ], dtype=float32)
    """
    data, shape, dtype = _float_sampler_args("generalized_normal", key, shape, dtype)
    return _generalized_normal(data, p, shape, dtype)


def _generalized_normal(data, p, shape, dtype):
    k1, k2 = _split2(data)
    g = _gamma(k1, 1 / p, shape, dtype)
    r = rademacher(PRNGKeyArray(k2), shape, dtype)
    return r * g ** (1 / p)


def ball(key, d, p=2, shape=(), dtype=None):
    """Uniform samples from the unit ``p``-norm ball in ``d`` dimensions: shape ``(*shape,
    d)``.

    >>> from pullback import random
    >>> random.ball(random.PRNGKey(0), 2, shape=(2,))
    Array([[ 0.91722  ,  0.39277],
           [ 0.04264, -0.90933 ]], dtype=float32)
    """
    data, shape, dtype = _float_sampler_args("ball", key, shape, dtype)
    d = _concrete_int(d, "The error occurred in jax.random.ball()")
    k1, k2 = _split2(data)
    g = _generalized_normal(k1, p, (*shape, d), dtype)
    e = exponential(PRNGKeyArray(k2), shape, dtype)
    norm = (jnp.sum(jnp.abs(g) ** p, axis=-1) + e) ** (1 / p)
    return g / norm[..., None]


def maxwell(key, shape=(), dtype=None):
    """One-sided Maxwell samples: the norms of 3-dimensional standard normals.

    >>> from pullback import random
    >>> random.maxwell(random.PRNGKey(0), (3,))
    Array([2.6311, 0.99103, 0.96493], dtype=float32)
    """
    data, shape, dtype = _float_sampler_args("maxwell", key, shape, dtype)
    norm_rvs = _normal(data, (*shape, 3), dtype)
    return jnp.sqrt(jnp.sum(norm_rvs * norm_rvs, axis=-1))


def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """Double-sided Maxwell samples, ``loc + scale * sign * maxwell``.

    >>> from pullback import random
    >>> random.double_sided_maxwell(random.PRNGKey(0), 0.0, 1.0, (3,))
    Array([ 1.5457209,  1.5741276, -2.0825305], dtype=float32)
    """
    data, shape, dtype = _float_sampler_args("double_sided_maxwell", key, shape, dtype)
    params_shapes = _broadcast_shapes(np.shape(loc), np.shape(scale))
    if not shape:
        shape = params_shapes
    shape = shape + params_shapes
    maxwell_key, rademacher_key = _split2(data)
    maxwell_rvs = maxwell(PRNGKeyArray(maxwell_key), shape, dtype)
    random_sign = rademacher(PRNGKeyArray(rademacher_key), shape, dtype)
    return random_sign * maxwell_rvs * scale + loc


def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull samples by inverting the CDF.

    >>> from pullback import random
    >>> random.weibull_min(random.PRNGKey(0), 1.0, 2.0, (3,))
    Array([1.7175937 , 1.9604654 , 0.63553405], dtype=float32)
    """
    data, shape, dtype = _float_sampler_args("weibull_min", key, shape, dtype)
    u = _uniform(data, shape, dtype, 0.0, 1.0)
    return jnp.power(-log1p(-u), 1.0 / concentration) * scale


def rayleigh(key, scale, shape=None, dtype=None):
    """Rayleigh samples, ``scale * sqrt(-2 log u)``.

    >>> from pullback import random
    >>> random.rayleigh(random.PRNGKey(0), 1.0, (3,))
    Array([0.32787833, 0.20810027, 1.4844142 ], dtype=float32)
    """
    data, _ = _check_prng_key("rayleigh", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("rayleigh", dtype)
    shape = _check_broadcast_shapes("rayleigh", shape, scale)
    _check_all_safe_to_cast("rayleigh", dtype, scale)
    u = _uniform(data, shape, dtype, 0.0, 1.0)
    scale = jnp.broadcast_to(_as(scale, dtype), shape)
    return scale * jnp.sqrt(jnp.log(u) * np.array(-2, dtype))


def wald(key, mean, shape=None, dtype=None):
    """Wald (inverse Gaussian) samples with mean ``mean``.

    >>> from pullback import random
    >>> random.wald(random.PRNGKey(0), 1.0, (3,))
    Array([0.3805977 , 0.41566527, 0.48107237], dtype=float32)
    """
    data, _ = _check_prng_key("wald", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("wald", dtype)
    shape = _check_broadcast_shapes("wald", shape, mean)
    _check_all_safe_to_cast("wald", dtype, mean)
    k1, k2 = _split2(data)
    mean = jnp.broadcast_to(_as(mean, dtype), shape)
    v = _normal(k1, shape, dtype)
    z = _uniform(k2, shape, dtype, 0.0, 1.0)
    y = v * v
    y_sq = y * y
    mean_sq = mean * mean
    sqrt_term = jnp.sqrt(4 * mean * y + mean_sq * y_sq)
    x = mean + mean_sq * y / 2 - mean / 2 * sqrt_term
    return where(z <= mean / (mean + x), x, mean_sq / x)


def geometric(key, p, shape=None, dtype=None):
    """Geometric samples (the number of Bernoulli(p) trials up to the first success).

    >>> from pullback import random
    >>> random.geometric(random.PRNGKey(0), 0.3, (5,))
    Array([1, 1, 4, 3, 2], dtype=int32)
    """
    data, _ = _check_prng_key("geometric", key)
    dtype = _user_dtype(dtype, _dtypes.default_int_dtype())
    if not np.issubdtype(dtype, np.integer):
        raise ValueError(f"dtype argument to `geometric` must be an int dtype, got {dtype}")
    shape = _check_broadcast_shapes("geometric", shape, p)
    p = jnp.asarray(p)
    if p.dtype.kind not in "fc":
        p = convert_element_type(p, _dtypes.to_inexact_dtype(p.dtype))
    u = _uniform(data, shape, p.dtype, 0.0, 1.0)
    u = where(u == 0, 1.0, u)
    log_one_minus_p = jnp.broadcast_to(log1p(-p), shape)
    g = jnp.floor(jnp.log(u) / log_one_minus_p) + 1
    return convert_element_type(g, dtype)


def triangular(key, left, mode, right, shape=None, dtype=None):
    """Triangular samples on ``[left, right]`` with peak ``mode``.

    >>> from pullback import random
    >>> random.triangular(random.PRNGKey(0), 0.0, 0.5, 1.0, (3,))
    Array([0.8382394, 0.8965106, 0.4076098], dtype=float32)
    """
    data, _ = _check_prng_key("triangular", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("triangular", dtype)
    shape = _check_broadcast_shapes("triangular", shape, left, mode, right)
    _check_all_safe_to_cast("triangular", dtype, left, mode, right)
    left = jnp.broadcast_to(_as(left, dtype), shape)
    right = jnp.broadcast_to(_as(right, dtype), shape)
    mode = jnp.broadcast_to(_as(mode, dtype), shape)
    fc = (mode - left) / (right - left)
    u = _uniform(data, shape, dtype, 0.0, 1.0)
    out1 = left + jnp.sqrt(u * (right - left) * (mode - left))
    out2 = right - jnp.sqrt((1 - u) * (right - left) * (right - mode))
    return where(u < fc, out1, out2)


def lognormal(key, sigma=_ONE, shape=None, dtype=None):
    """Log-normal samples, ``exp(sigma * normal)``.

    >>> from pullback import random
    >>> random.lognormal(random.PRNGKey(0), 0.5, (3,))
    Array([2.25088 , 2.75284 , 0.80509], dtype=float32)
    """
    data, _ = _check_prng_key("lognormal", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    if not np.issubdtype(dtype, np.inexact):
        raise ValueError(
            f"dtype argument to `lognormal` must be a float or complex dtype, got {dtype}"
        )
    shape = _check_broadcast_shapes("lognormal", shape, sigma)
    _check_all_safe_to_cast("lognormal", dtype, sigma)
    sigma = _as(sigma, dtype)
    return jnp.exp(_normal(data, shape, dtype) * sigma)


# -- samplers built on linear algebra --------------------------------------------------------------


def _promote_inexact(x):
    x = jnp.asarray(x)
    if x.dtype.kind not in "fc":
        x = convert_element_type(x, _dtypes.to_inexact_dtype(x.dtype))
    return x


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Multivariate normal samples with mean ``mean`` (``(..., n)``) and covariance ``cov``
    (``(..., n, n)``): ``mean + factor @ z`` for a factor of ``cov`` (Cholesky, or from its
    SVD or eigendecomposition for singular covariances).

    >>> from pullback import random
    >>> import pullback.numpy as jnp
    >>> random.multivariate_normal(random.PRNGKey(0), jnp.zeros(2), jnp.eye(2), (2,))
    Array([[ 1.6226422 ,  2.0252647 ],
           [-0.43359444, -0.07861735]], dtype=float32)
    """
    data, _ = _check_prng_key("multivariate_normal", key)
    mean, cov = _promote_inexact(mean), _promote_inexact(cov)
    common = _dtypes.result_type(mean, cov)
    mean, cov = convert_element_type(mean, common), convert_element_type(cov, common)
    if method not in {"svd", "eigh", "cholesky"}:
        raise ValueError("method must be one of {'svd', 'eigh', 'cholesky'}")
    dtype = mean.dtype if dtype is None else _user_dtype(dtype, None)
    _check_float_dtype("multivariate_normal", dtype)
    if shape is not None:
        shape = _canonicalize_shape(shape)
    if not mean.ndim >= 1:
        raise ValueError(
            f"multivariate_normal requires mean.ndim >= 1, got mean.ndim == {mean.ndim}"
        )
    if not cov.ndim >= 2:
        raise ValueError(f"multivariate_normal requires cov.ndim >= 2, got cov.ndim == {cov.ndim}")
    n = mean.shape[-1]
    if cov.shape[-2:] != (n, n):
        raise ValueError(
            f"multivariate_normal requires cov.shape == (..., n, n) for n={n}, but got "
            f"cov.shape == {cov.shape}."
        )
    if shape is None:
        shape = _broadcast_shapes(mean.shape[:-1], cov.shape[:-2])
    else:
        _check_shape("normal", shape, mean.shape[:-1], cov.shape[:-2])
    if method == "svd":
        u, s, _ = jnp.linalg.svd(cov)
        factor = u * jnp.sqrt(s[..., None, :])
    elif method == "eigh":
        w, v = jnp.linalg.eigh(cov)
        factor = v * jnp.sqrt(w[..., None, :])
    else:
        factor = jnp.linalg.cholesky(cov)
    normal_samples = _normal(data, shape + mean.shape[-1:], dtype)
    return mean + jnp.einsum("...ij,...j->...i", factor, normal_samples)


def orthogonal(key, n, shape=(), dtype=None, m=None):
    """Samples of the orthogonal group O(n) (unitary for complex dtypes); semi-orthogonal
    ``(n, m)`` matrices when ``m`` differs: shape ``(*shape, n, m)``.

    >>> from pullback import random
    >>> import pullback.numpy as jnp
    >>> q = random.orthogonal(random.PRNGKey(0), 3)
    >>> bool(abs(q @ q.T - jnp.eye(3)).max() < 1e-5)
    True
    """
    m = n if m is None else m
    shape = _canonicalize_shape(shape)
    data, _ = _check_prng_key("orthogonal", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    n = _concrete_int(n, "The error occurred in jax.random.orthogonal()")
    m = _concrete_int(m, "The error occurred in jax.random.orthogonal()")
    z = _normal(data, (*shape, max(n, m), min(n, m)), dtype)
    q, r = jnp.linalg.qr(z)
    d = jnp.linalg.diagonal(r)
    x = q * jnp.expand_dims(sign(d), -2)
    return jnp.swapaxes(x, -1, -2) if n < m else x


# -- binomial and multinomial ----------------------------------------------------------------------

_STIRLING_TAIL = np.array(
    [
        0.0810614667953272,
        0.0413406959554092,
        0.0276779256849983,
        0.02079067210376509,
        0.0166446911898211,
        0.0138761288230707,
        0.0118967099458917,
        0.0104112652619720,
        0.00925546218271273,
        0.00833056343336287,
    ]
)


def _stirling_approx_tail(k):
    table = jnp.asarray(_STIRLING_TAIL.astype(k.dtype))
    use_tail_values = k <= 9
    k = jnp.clip(k, 0.0, 9.0)
    kp1sq = (k + 1) * (k + 1)
    approx = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)
    k = jnp.floor(k)
    return where(use_tail_values, table[convert_element_type(k, np.int32)], approx)


def _binomial_inversion(data, count, prob, shape, dtype, max_iters):
    log1minusprob = log1p(-prob)

    def body_fn(carry):
        i, num_geom, geom_sum, rng = carry
        subkey, rng = _split2(rng)
        num_geom_out = where(geom_sum <= count, num_geom + 1, num_geom)
        u = _uniform(subkey, shape, prob.dtype, 0.0, 1.0)
        geom = jnp.ceil(jnp.log(u) / log1minusprob)
        return i + 1, num_geom_out, geom_sum + geom, rng

    def cond_fn(carry):
        i, geom_sum = carry[0], carry[2]
        return jnp.any(geom_sum <= count) & (i < max_iters)

    zeros = jnp.zeros(shape, prob.dtype)
    k = while_loop(cond_fn, body_fn, (0, zeros, zeros, data))[1]
    return convert_element_type(k - 1, dtype)


def _btrs(data, count, prob, shape, dtype, max_iters):
    # transformed rejection (Hormann)
    stddev = jnp.sqrt(count * prob * (1 - prob))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - 4.2 / b
    r = prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = jnp.floor((count + 1) * prob)

    def body_fn(carry):
        i, k_out, accepted, rng = carry
        keys = _split_data(rng, (3,))
        rng, subkey_0, subkey_1 = keys[0], keys[1], keys[2]
        u = _uniform(subkey_0, shape, prob.dtype, 0.0, 1.0)
        v = _uniform(subkey_1, shape, prob.dtype, 0.0, 1.0)
        u = u - 0.5
        us = 0.5 - jnp.abs(u)
        accept1 = (us >= 0.07) & (v <= v_r)
        k = jnp.floor((2 * a / us + b) * u + c)
        reject = (k < 0) | (k > count)
        v = jnp.log(v * alpha / (a / (us * us) + b))
        ub = (
            (m + 0.5) * jnp.log((m + 1) / (r * (count - m + 1)))
            + (count + 1) * jnp.log((count - m + 1) / (count - k + 1))
            + (k + 0.5) * jnp.log(r * (count - k + 1) / (k + 1))
            + _stirling_approx_tail(m)
            + _stirling_approx_tail(count - m)
            - _stirling_approx_tail(k)
            - _stirling_approx_tail(count - k)
        )
        accept = accept1 | (~reject & (v <= ub))
        return i + 1, where(accept, k, k_out), accepted | accept, rng

    def cond_fn(carry):
        i, accepted = carry[0], carry[2]
        return jnp.any(~accepted) & (i < max_iters)

    k_init = jnp.full(shape, -1, prob.dtype)
    carry = (0, k_init, jnp.zeros(shape, bool), data)
    return convert_element_type(while_loop(cond_fn, body_fn, carry)[1], dtype)


def _binomial(data, count, prob, shape, dtype):
    if shape is None:
        shape = _broadcast_shapes(np.shape(count), np.shape(prob))
    else:
        _check_shape("binomial", shape, np.shape(count), np.shape(prob))
    prob = _promote_inexact(prob)
    count = convert_element_type(jnp.asarray(count), prob.dtype)
    count = jnp.broadcast_to(count, shape)
    prob = jnp.broadcast_to(prob, shape)
    p_lt_half = prob < 0.5
    q = where(p_lt_half, prob, 1.0 - prob)
    count_nan_or_neg = jnp.isnan(count) | (count < 0.0)
    count_inf = jnp.isinf(count)
    q_is_nan = jnp.isnan(q)
    q_l_0 = q < 0.0
    q = where(q_is_nan | q_l_0, 0.01, q)
    use_inversion = count_nan_or_neg | (count * q <= 10.0)
    count = jnp.floor(count)  # as np.random.binomial for float counts
    count_inv = where(use_inversion, count, 0.0)
    count_btrs = where(use_inversion, 1e4, count)
    q_btrs = where(use_inversion, 0.5, q)
    max_iters = dtype.type(np.finfo(dtype).max)
    samples = where(
        use_inversion,
        _binomial_inversion(data, count_inv, q, shape, dtype, max_iters),
        _btrs(data, count_btrs, q_btrs, shape, dtype, max_iters),
    )
    # nan or negative q or count give nan, an infinite count gives inf
    invalid = q_l_0 | q_is_nan | count_nan_or_neg
    samples = where(invalid, np.array(np.nan, dtype), samples)
    samples = where(count_inf & ~invalid, np.array(np.inf, dtype), samples)
    return where(
        p_lt_half | count_nan_or_neg | q_is_nan | count_inf,
        samples,
        convert_element_type(count, dtype) - samples,
    )


def binomial(key, n, p, shape=None, dtype=None):
    """Binomial samples (as floats) of ``n`` trials with success probability ``p`` (inversion
    below 10 expected successes, transformed rejection above; as JAX's).

    >>> from pullback import random
    >>> random.binomial(random.PRNGKey(0), 10, 0.3, (5,))
    Array([2., 2., 1., 2., 1.], dtype=float32)
    """
    data, _ = _check_prng_key("binomial", key)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    _check_float_dtype("binomial", dtype)
    if shape is not None:
        shape = _canonicalize_shape(shape)
    return _binomial(data, n, p, shape, dtype)


def multinomial(key, n, p, *, shape=None, dtype=None, unroll=1):
    """Counts of ``n`` draws among the outcomes with probabilities ``p`` (last axis), as a
    sequence of binomials.

    >>> from pullback import random
    >>> import pullback.numpy as jnp
    >>> random.multinomial(random.PRNGKey(0), 10, jnp.array([0.2, 0.3, 0.5]))
    Array([1., 1., 8.], dtype=float32)
    """
    data, wrapped = _check_prng_key("multinomial", key)
    n, p = _promote_inexact(n), _promote_inexact(p)
    common = _dtypes.result_type(n, p)
    n, p = convert_element_type(n, common), convert_element_type(p, common)
    dtype = _user_dtype(dtype, _dtypes.default_float_dtype())
    shape = p.shape if shape is None else _canonicalize_shape(shape)
    n = jnp.broadcast_to(n, shape[:-1])
    p = jnp.broadcast_to(p, shape)

    def f(remainder, ratio_key):
        ratio, step_key = ratio_key
        count = _binomial(step_key, remainder, jnp.clip(ratio, 0, 1), None, remainder.dtype)
        return remainder - count, count

    p = jnp.moveaxis(p, -1, 0)
    remaining_probs = jnp.flip(jnp.cumsum(jnp.flip(p, 0), axis=0), 0)
    ratios = p / where(remaining_probs == 0, 1.0, remaining_probs)
    keys = _split_data(data, (ratios.shape[0],))
    _, counts = scan(f, n, (ratios, keys), unroll=unroll)
    return convert_element_type(jnp.moveaxis(counts, 0, -1), dtype)


# -- NumPy's floating-point warnings ---------------------------------------------------------------


def _quiet(fn):
    """``fn`` run with NumPy's floating-point warnings off: rejection samplers compute branches
    they then discard (logarithms of negative candidates, divisions by zero), which JAX computes
    silently. Covers eager calls, where the samplers' loops run; a sampler inside a ``jit`` runs
    later, in the compiled program."""

    @functools.wraps(fn)
    def quiet(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return quiet


for _name in __all__:
    if _name not in ("PRNGKeyArray", "key_impl", "key_dtype", "clone"):
        globals()[_name] = _quiet(globals()[_name])
del _name
