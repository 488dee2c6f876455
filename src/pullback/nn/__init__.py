"""``pullback.nn``: JAX's ``jax.nn`` — activations, normalisations and ``one_hot``, written in
pullback's operations as JAX writes them, so values, dtypes, weak types and derivatives agree
(``relu`` and ``relu6`` carry JAX's custom rules: their derivative at the kinks is 0).

>>> import pullback as jax
>>> import pullback.numpy as jnp
>>> from pullback import nn
>>> nn.relu(jnp.array([-1.0, 0.0, 2.0]))
Array([0., 0., 2.], dtype=float32)
>>> jax.grad(nn.relu)(0.0)
Array(0., dtype=float32, weak_type=True)
"""

from __future__ import annotations

import operator
import warnings

import numpy as np

import pullback.numpy as jnp
from pullback import _dtypes, lax
from pullback._core import Array
from pullback._ops._base import convert_element_type, dtype_of
from pullback.custom_derivatives import custom_jvp
from pullback.nn import initializers
from pullback.numpy import tanh
from pullback.scipy.special import erfc as _erfc
from pullback.scipy.special import logsumexp

__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "identity",
    "initializers",
    "leaky_relu",
    "log1mexp",
    "log_sigmoid",
    "log_softmax",
    "logmeanexp",
    "logsumexp",
    "mish",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softmax",
    "softplus",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "standardize",
    "swish",
    "tanh",
]


def _arr(x):
    return x if isinstance(x, Array) else jnp.asarray(x)


def _inexact(x):
    """``x`` as an array of an inexact dtype (JAX's ``promote_args_inexact`` of one value)."""
    x = _arr(x)
    dtype = _dtypes.to_inexact_dtype(dtype_of(x))
    return convert_element_type(x, dtype, x.weak_type)


def identity(x):
    """The identity activation.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.identity(jnp.array([-1.0, 2.0]))
    Array([-1.,  2.], dtype=float32)
    """
    return _arr(x)


@custom_jvp
def relu(x):
    """The rectified linear unit ``max(x, 0)``; its derivative at 0 is 0, as JAX defines it.

    >>> import pullback as jax
    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.relu(jnp.array([-2.0, 0.0, 3.0]))
    Array([0., 0., 3.], dtype=float32)
    >>> jax.vmap(jax.grad(nn.relu))(jnp.array([-2.0, 0.0, 3.0]))
    Array([0., 0., 1.], dtype=float32)
    """
    return jnp.maximum(x, 0)


relu.defjvps(lambda g, ans, x: lax.select(x > 0, g, lax.full_like(g, 0)))


@custom_jvp
def relu6(x):
    """``min(max(x, 0), 6)``; its derivative is 0 at both kinks, as JAX defines it.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.relu6(jnp.array([-1.0, 3.0, 7.0]))
    Array([0., 3., 6.], dtype=float32)
    """
    return jnp.minimum(jnp.maximum(x, 0), 6.0)


relu6.defjvps(lambda g, ans, x: lax.select((x > 0) & (x < 6), g, lax.full_like(g, 0)))


def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``, a smooth relu.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.squareplus(jnp.array([0.0, 1.0]))
    Array([1.       , 1.618034], dtype=float32)
    """
    x, b = _arr(x), _arr(b)
    y = x + jnp.sqrt(jnp.square(x) + b)
    return y / 2


def softplus(x):
    """``log(1 + exp(x))``, computed as ``logaddexp(x, 0)``.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.softplus(jnp.array([0.0, 100.0]))
    Array([  0.6931472, 100.       ], dtype=float32)
    """
    return jnp.logaddexp(x, 0)


def sparse_plus(x):
    """0 for ``x <= -1``, ``x`` for ``x >= 1``, ``(x + 1)**2 / 4`` between.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.sparse_plus(jnp.array([-2.0, 0.0, 2.0]))
    Array([0.  , 0.25, 2.  ], dtype=float32)
    """
    x = _arr(x)
    return jnp.where(x <= -1.0, 0.0, jnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


def soft_sign(x):
    """``x / (|x| + 1)``.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.soft_sign(jnp.array([-1.0, 0.0, 3.0]))
    Array([-0.5 ,  0.  ,  0.75], dtype=float32)
    """
    x = _arr(x)
    return x / (jnp.abs(x) + 1)


def sigmoid(x):
    """The logistic sigmoid ``1 / (1 + exp(-x))``.

    >>> from pullback import nn
    >>> nn.sigmoid(0.0)
    Array(0.5, dtype=float32, weak_type=True)
    """
    return lax.logistic(x)


def sparse_sigmoid(x):
    """``clip((x + 1) / 2, 0, 1)``.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.sparse_sigmoid(jnp.array([-2.0, 0.0, 0.5]))
    Array([0.  , 0.5 , 0.75], dtype=float32)
    """
    return 0.5 * jnp.clip(x + 1.0, 0.0, 2.0)


def silu(x):
    """The sigmoid linear unit ``x * sigmoid(x)`` (also ``swish``).

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> with jnp.printoptions(precision=4):
    ...     print(nn.silu(jnp.array([-1.0, 0.0, 1.0])))
    [-0.2689  0.      0.7311]
    """
    x = _arr(x)
    return x * sigmoid(x)


swish = silu


def mish(x):
    """``x * tanh(softplus(x))``.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> with jnp.printoptions(precision=4):
    ...     print(nn.mish(jnp.array([-1.0, 0.0, 1.0])))
    [-0.3034  0.      0.8651]
    """
    x = _arr(x)
    return x * jnp.tanh(softplus(x))


def log_sigmoid(x):
    """``log(sigmoid(x))``, computed as ``-softplus(-x)``.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.log_sigmoid(jnp.array([0.0, -100.0]))
    Array([  -0.6931472, -100.       ], dtype=float32)
    """
    x = _arr(x)
    return -softplus(-x)


def elu(x, alpha=1.0):
    """The exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> with jnp.printoptions(precision=4):
    ...     print(nn.elu(jnp.array([-1.0, 0.0, 2.0])))
    [-0.6321  0.      2.    ]
    """
    x = _arr(x)
    return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.where(x > 0, 0.0, x)))


def leaky_relu(x, negative_slope=1e-2):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.leaky_relu(jnp.array([-2.0, 3.0]), negative_slope=0.5)
    Array([-1.,  3.], dtype=float32)
    """
    x = _arr(x)
    return jnp.where(x >= 0, x, negative_slope * x)


def hard_tanh(x):
    """``clip(x, -1, 1)``: 1 above 1, -1 below -1, ``x`` between.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.hard_tanh(jnp.array([-2.0, 0.5, 2.0]))
    Array([-1. ,  0.5,  1. ], dtype=float32)
    """
    x = _arr(x)
    return jnp.where(x > 1, 1, jnp.where(x < -1, -1, x))


def celu(x, alpha=1.0):
    """The continuously differentiable exponential linear unit
    ``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> with jnp.printoptions(precision=4):
    ...     print(nn.celu(jnp.array([-1.0, 0.0, 2.0]), alpha=2.0))
    [-0.7869  0.      2.    ]
    """
    return jnp.maximum(x, 0.0) + alpha * jnp.expm1(jnp.minimum(x, 0.0) / alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """The scaled exponential linear unit ``scale * elu(x, alpha)`` (Klambauer et al., 2017).

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> with jnp.printoptions(precision=4):
    ...     print(nn.selu(jnp.array([-1.0, 0.0, 1.0])))
    [-1.1113  0.      1.0507]
    """
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def gelu(x, approximate=True):
    """The Gaussian error linear unit ``x * Phi(x)``; with ``approximate=True`` (the default)
    ``Phi`` is JAX's tanh approximation, otherwise the exact ``erfc(-x / sqrt(2)) / 2``.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> with jnp.printoptions(precision=4):
    ...     print(nn.gelu(jnp.array([-1.0, 0.0, 1.0])))
    ...     print(nn.gelu(jnp.array([-1.0, 0.0, 1.0]), approximate=False))
    [-0.1588  0.      0.8412]
    [-0.1587  0.      0.8413]
    """
    x = _inexact(x)
    dtype = dtype_of(x)
    if approximate:
        sqrt_2_over_pi = np.sqrt(2 / np.pi).astype(dtype)
        cdf = 0.5 * (1.0 + jnp.tanh(sqrt_2_over_pi * (x + 0.044715 * (x**3))))
        return x * cdf
    sqrt_half = np.sqrt(0.5).astype(dtype)
    return jnp.array(0.5 * x * _erfc(-x * sqrt_half), dtype=dtype)


def glu(x, axis=-1):
    """The gated linear unit: ``x`` split in two halves along ``axis``, ``a * sigmoid(b)``.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.glu(jnp.array([1.0, 2.0, 0.0, 0.0]))
    Array([0.5, 1. ], dtype=float32)
    """
    x = _arr(x)
    size = x.shape[axis]
    if size % 2:
        raise AssertionError("axis size must be divisible by 2")
    x1, x2 = jnp.split(x, 2, axis)
    return x1 * sigmoid(x2)


def _count(x, axis, where, keepdims, dtype):
    """The number of elements a reduction over ``axis`` takes (those selected by ``where``)."""
    x = _arr(x)
    if where is None:
        ndim = x.ndim
        axes = range(ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
        axes = tuple(operator.index(a) % ndim for a in axes) if ndim else ()
        n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape)) if keepdims else ()
        return jnp.full(shape, n, dtype=dtype) if keepdims else jnp.array(n, dtype=dtype)
    where = jnp.broadcast_to(_arr(where), x.shape)
    return jnp.sum(where, axis=axis, keepdims=keepdims, dtype=dtype)


def logmeanexp(x, axis=None, where=None, keepdims=False):
    """``log(mean(exp(x)))`` over ``axis``, computed stably as ``logsumexp - log(count)``.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.logmeanexp(jnp.array([1.0, 1.0, 1.0]))
    Array(1., dtype=float32)
    """
    lse = logsumexp(x, axis=axis, where=where, keepdims=keepdims)
    count = _count(x, axis, where, keepdims, dtype_of(lse))
    return lse - jnp.log(count)


def _lowest(x):
    """``-inf``, or the lowest integer for an integer ``x`` (what JAX's cast of ``-inf`` gives)."""
    dtype = dtype_of(x)
    return -np.inf if dtype.kind in "fc" else int(np.iinfo(dtype).min)


def log_softmax(x, axis=-1, where=None):
    """``x - logsumexp(x)`` along ``axis``, stable (the maximum is subtracted first and held
    constant for differentiation); entries masked out by ``where`` are ``-inf``.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.log_softmax(jnp.array([0.0, 0.0]))
    Array([-0.6931472, -0.6931472], dtype=float32)
    """
    x = _arr(x)
    x_max = jnp.max(x, axis, where=where, initial=_lowest(x), keepdims=True)
    x_safe = x if where is None else jnp.where(where, x, _lowest(x))
    shifted = x_safe - lax.stop_gradient(x_max)
    shifted_logsumexp = jnp.log(jnp.sum(jnp.exp(shifted), axis, where=where, keepdims=True))
    result = shifted - shifted_logsumexp
    if where is not None:
        return jnp.where(where, result, -np.inf)
    return result


def softmax(x, axis=-1, where=None):
    """``exp(x) / sum(exp(x))`` along ``axis``, with the maximum subtracted first (held constant
    for differentiation); entries masked out by ``where`` are 0.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.softmax(jnp.array([0.0, 0.0, 0.0, 0.0]))
    Array([0.25, 0.25, 0.25, 0.25], dtype=float32)
    >>> with jnp.printoptions(precision=4):
    ...     print(nn.softmax(jnp.array([1.0, 2.0, 3.0]), where=jnp.array([True, False, True])))
    [0.1192 0.     0.8808]
    """
    x = _arr(x)
    initial = _lowest(x)
    x_max = jnp.max(x, axis, where=where, initial=initial, keepdims=True)
    x_safe = x if where is None else jnp.where(where, x, initial)
    unnormalized = jnp.exp(x_safe - lax.stop_gradient(x_max))
    result = unnormalized / jnp.sum(unnormalized, axis, where=where, keepdims=True)
    if where is not None:
        result = jnp.where(where, result, 0)
    return result


def standardize(
    x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None, *, algorithm="fast"
):
    """``(x - mean) / sqrt(variance + epsilon)`` along ``axis``; the mean and variance are
    computed when not given (``algorithm="fast"``: ``mean(x**2) - mean(x)**2`` clipped at 0, as
    JAX's default; ``"stable"``: ``mean((x - mean)**2)``).

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> with jnp.printoptions(precision=4):
    ...     print(nn.standardize(jnp.array([1.0, 2.0, 3.0])))
    [-1.2247  0.      1.2247]
    """
    x = _arr(x)
    if mean is None:
        mean = jnp.mean(x, axis, keepdims=True, where=where)
    if variance is None:
        if algorithm == "stable":
            variance = jnp.mean(jnp.square(jnp.subtract(x, mean)), axis, keepdims=True, where=where)
        elif algorithm == "fast":
            variance = jnp.mean(jnp.square(x), axis, keepdims=True, where=where) - jnp.square(mean)
            variance = jnp.clip(variance, 0)
        else:
            raise ValueError(f"Unknown algorithm '{algorithm}'. Expected 'fast' or 'stable'.")
    return jnp.subtract(x, mean) * lax.rsqrt(variance + epsilon)


def one_hot(x, num_classes, *, dtype=None, axis=-1):
    """One-hot encoding: ``x[..., None] == arange(num_classes)``, the new axis at ``axis``;
    out-of-range values give all zeros. ``dtype`` defaults to the default float type.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.one_hot(jnp.array([0, 2, 5]), 3)
    Array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 0., 0.]], dtype=float32)
    >>> nn.one_hot(jnp.array([0, 1]), 3, dtype=jnp.int32, axis=0)
    Array([[1, 0],
           [0, 1],
           [0, 0]], dtype=int32)
    """
    try:
        num_classes = operator.index(num_classes)
    except TypeError:
        raise TypeError(
            "The error arose in jax.nn.one_hot argument `num_classes`: it must be a concrete "
            f"integer, got {num_classes!r}."
        ) from None
    x = _arr(x)
    if dtype_of(x).kind not in "iub":
        warnings.warn(
            f"jax.nn.one_hot input should be integer-typed; got dtype={dtype_of(x)}",
            DeprecationWarning,
            stacklevel=2,
        )
    dtype = _dtypes.default_float_dtype() if dtype is None else _dtypes.canonicalize_dtype(dtype)
    if not isinstance(axis, int):
        # a named axis of an enclosing vmap: compare with this example's index along it
        return (x == lax.axis_index(axis)).astype(dtype)
    ndim = x.ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    axis = axis % ndim
    lhs = jnp.expand_dims(x, axis)
    rhs_shape = [1] * x.ndim
    rhs_shape.insert(axis, num_classes)
    rhs = jnp.reshape(jnp.arange(num_classes, dtype=dtype_of(x)), rhs_shape)
    return (lhs == rhs).astype(dtype)


@custom_jvp
def log1mexp(x):
    """``log(1 - exp(-x))`` for ``x > 0``, stable on both sides of ``log(2)``.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> with jnp.printoptions(precision=4):
    ...     print(nn.log1mexp(jnp.array([0.1, 1.0, 3.0])))
    [-2.3522 -0.4587 -0.0511]
    """
    x = _arr(x)
    c = jnp.log(2.0)
    return jnp.where(x < c, jnp.log(-jnp.expm1(-x)), jnp.log1p(-jnp.exp(-x)))


log1mexp.defjvps(lambda g, ans, x: g / jnp.expm1(x))


def hard_sigmoid(x):
    """``relu6(x + 3) / 6``.

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.hard_sigmoid(jnp.array([-4.0, 0.0, 4.0]))
    Array([0. , 0.5, 1. ], dtype=float32)
    """
    return relu6(x + 3.0) / 6.0


def hard_silu(x):
    """``x * hard_sigmoid(x)`` (also ``hard_swish``).

    >>> import pullback.numpy as jnp
    >>> from pullback import nn
    >>> nn.hard_silu(jnp.array([-4.0, 0.0, 3.0]))
    Array([-0.,  0.,  3.], dtype=float32)
    """
    x = _arr(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu
