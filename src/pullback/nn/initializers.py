"""``pullback.nn.initializers``: JAX's ``jax.nn.initializers``, the weight initializers of Keras
and Sonnet. Each ``init(key, shape, dtype)`` draws with ``pullback.random`` exactly as JAX draws,
so the same key gives the same weights.

>>> import pullback.numpy as jnp
>>> import pullback.random as random
>>> from pullback.nn import initializers
>>> init = initializers.glorot_normal()
>>> with jnp.printoptions(precision=3):
...     print(init(random.PRNGKey(0), (3, 2)))
[[ 1.047  1.233]
 [-0.297 -0.054]
 [ 0.121 -0.656]]
>>> initializers.zeros(random.PRNGKey(0), (2,))
Array([0., 0.], dtype=float32)
"""

from __future__ import annotations

import math
import operator
from typing import Protocol

import numpy as np

import pullback.numpy as jnp
from pullback import _dtypes, random

__all__ = [
    "Initializer",
    "constant",
    "delta_orthogonal",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]


class Initializer(Protocol):
    """What an initializer is: ``init(key, shape, dtype=None) -> Array``."""

    def __call__(self, key, shape, dtype=None, out_sharding=None): ...


def _dtype(dtype):
    return _dtypes.default_float_dtype() if dtype is None else _dtypes.canonicalize_dtype(dtype)


def _shape(shape):
    if isinstance(shape, int) or np.ndim(shape) == 0:
        shape = (shape,)
    return tuple(operator.index(d) for d in shape)


def zeros(key, shape, dtype=None, out_sharding=None):
    """An array of zeros (the key is not used).

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> initializers.zeros(random.PRNGKey(42), (2, 3))
    Array([[0., 0., 0.],
           [0., 0., 0.]], dtype=float32)
    """
    return jnp.zeros(shape, _dtype(dtype))


def ones(key, shape, dtype=None, out_sharding=None):
    """An array of ones (the key is not used).

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> initializers.ones(random.PRNGKey(42), (2,))
    Array([1., 1.], dtype=float32)
    """
    return jnp.ones(shape, _dtype(dtype))


def constant(value, dtype=None):
    """An initializer filling with ``value``.

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> initializers.constant(-7)(random.PRNGKey(42), (2,))
    Array([-7., -7.], dtype=float32)
    """

    def init(key, shape, dtype=dtype, out_sharding=None):
        return jnp.full(shape, value, dtype=_dtype(dtype))

    return init


def uniform(scale=1e-2, dtype=None):
    """An initializer drawing uniformly from ``[0, scale)``.

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> initializers.uniform(10.0)(random.PRNGKey(42), (3,)).shape
    (3,)
    """

    def init(key, shape, dtype=dtype, out_sharding=None):
        dtype = _dtype(dtype)
        return random.uniform(key, shape, dtype) * jnp.array(scale, dtype)

    return init


def normal(stddev=1e-2, dtype=None):
    """An initializer drawing from a centred normal distribution of deviation ``stddev``.

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> initializers.normal(5.0)(random.PRNGKey(42), (2, 3)).dtype
    dtype('float32')
    """

    def init(key, shape, dtype=dtype, out_sharding=None):
        dtype = _dtype(dtype)
        return random.normal(key, shape, dtype) * jnp.array(stddev, dtype)

    return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """An initializer drawing from a normal distribution truncated to ``[lower, upper]``, then
    scaled by ``stddev`` (so ``stddev`` is not the deviation of the result).

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> w = initializers.truncated_normal(5.0)(random.PRNGKey(42), (100,))
    >>> bool(abs(w).max() <= 10.0)
    True
    """

    def init(key, shape, dtype=dtype, out_sharding=None):
        dtype = _dtype(dtype)
        return random.truncated_normal(key, lower, upper, shape, dtype) * jnp.array(stddev, dtype)

    return init


def _compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()):
    """``(fan_in, fan_out)`` of a weight of ``shape``: the input and output sizes times the size
    of the receptive field (every axis that is neither input, output nor batch)."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(
            f"Can't compute input and output sizes of a {len(shape)}-dimensional weights tensor "
            "with default in_axis. Must be at least 2D or specify in_axis explicitly."
        )

    def size(axes):
        return shape[axes] if isinstance(axes, int) else math.prod(shape[i] for i in axes)

    in_size, out_size, batch_size = size(in_axis), size(out_axis), size(batch_axis)
    receptive_field_size = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive_field_size, out_size * receptive_field_size


def _complex_uniform(key, shape, dtype):
    """Uniform on the unit disk (for complex weights)."""
    key_r, key_theta = random.split(key)
    real_dtype = np.array(0, dtype).real.dtype
    dtype = _dtypes.canonicalize_dtype(np.result_type(real_dtype, np.complex64))
    r = jnp.sqrt(2 * random.uniform(key_r, shape, real_dtype)).astype(dtype)
    theta = 2 * np.pi * random.uniform(key_theta, shape, real_dtype).astype(dtype)
    return r * jnp.exp(1j * theta)


def _complex_truncated_normal(key, upper, shape, dtype):
    """A complex normal truncated to modulus ``upper``."""
    key_r, key_theta = random.split(key)
    real_dtype = np.array(0, dtype).real.dtype
    dtype = _dtypes.canonicalize_dtype(np.result_type(real_dtype, np.complex64))
    t = (1 - jnp.exp(jnp.array(-(upper**2), dtype))) * random.uniform(
        key_r, shape, real_dtype
    ).astype(dtype)
    r = jnp.sqrt(-jnp.log(1 - t))
    theta = 2 * np.pi * random.uniform(key_theta, shape, real_dtype).astype(dtype)
    return r * jnp.exp(1j * theta)


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """An initializer whose draws have variance ``scale / n``, ``n`` the fan in, the fan out,
    their mean (``"fan_avg"``) or geometric mean (``"fan_geo_avg"``), from a truncated normal,
    a normal or a uniform distribution (as Keras, Sonnet and JAX define them).

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> init = initializers.variance_scaling(2.0, "fan_in", "uniform")
    >>> init(random.PRNGKey(0), (4, 3)).shape
    (4, 3)
    """

    def init(key, shape, dtype=dtype, out_sharding=None):
        shape = _shape(shape)
        dtype = _dtype(dtype)
        fan_in, fan_out = _compute_fans(shape, in_axis, out_axis, batch_axis)
        if mode == "fan_in":
            denominator = fan_in
        elif mode == "fan_out":
            denominator = fan_out
        elif mode == "fan_avg":
            denominator = (fan_in + fan_out) / 2
        elif mode == "fan_geo_avg":
            denominator = (fan_in * fan_out) ** 0.5
        else:
            raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
        variance = jnp.array(scale / denominator, dtype=dtype)
        floating = _dtypes.issubdtype(dtype, np.floating)
        if distribution == "truncated_normal":
            if floating:
                # the deviation of a standard normal truncated to (-2, 2)
                stddev = jnp.sqrt(variance) / jnp.array(0.87962566103423978, dtype)
                return random.truncated_normal(key, -2, 2, shape, dtype) * stddev
            # the deviation of a complex standard normal truncated to 2
            stddev = jnp.sqrt(variance) / jnp.array(0.95311164380491208, dtype)
            return _complex_truncated_normal(key, 2, shape, dtype) * stddev
        if distribution == "normal":
            return random.normal(key, shape, dtype) * jnp.sqrt(variance)
        if distribution == "uniform":
            if floating:
                return random.uniform(key, shape, dtype, -1) * jnp.sqrt(3 * variance)
            return _complex_uniform(key, shape, dtype) * jnp.sqrt(variance)
        raise ValueError(f"invalid distribution for variance scaling initializer: {distribution}")

    return init


def glorot_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """Glorot (Xavier) uniform: ``variance_scaling(1.0, "fan_avg", "uniform")``.

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> initializers.glorot_uniform()(random.PRNGKey(42), (2, 3)).shape
    (2, 3)
    """
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


xavier_uniform = glorot_uniform


def glorot_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """Glorot (Xavier) normal: ``variance_scaling(1.0, "fan_avg", "truncated_normal")``.

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> initializers.glorot_normal()(random.PRNGKey(42), (2, 3)).shape
    (2, 3)
    """
    return variance_scaling(
        1.0, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis, dtype
    )


xavier_normal = glorot_normal


def lecun_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """LeCun uniform: ``variance_scaling(1.0, "fan_in", "uniform")``.

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> initializers.lecun_uniform()(random.PRNGKey(42), (2, 3)).shape
    (2, 3)
    """
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def lecun_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """LeCun normal: ``variance_scaling(1.0, "fan_in", "truncated_normal")``.

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> initializers.lecun_normal()(random.PRNGKey(42), (2, 3)).shape
    (2, 3)
    """
    return variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


def he_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """He (Kaiming) uniform: ``variance_scaling(2.0, "fan_in", "uniform")``.

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> initializers.he_uniform()(random.PRNGKey(42), (2, 3)).shape
    (2, 3)
    """
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


kaiming_uniform = he_uniform


def he_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """He (Kaiming) normal: ``variance_scaling(2.0, "fan_in", "truncated_normal")``.

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> initializers.he_normal()(random.PRNGKey(42), (2, 3)).shape
    (2, 3)
    """
    return variance_scaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


kaiming_normal = he_normal


def orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """An initializer of (semi-)orthogonal matrices: the shape is read as rows by the
    ``column_axis`` size, drawn by ``random.orthogonal`` and scaled by ``scale``.

    >>> import numpy as np
    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> q = initializers.orthogonal()(random.PRNGKey(42), (3, 3))
    >>> bool(np.allclose(q.T @ q, np.eye(3), atol=1e-5))
    True
    """

    def init(key, shape, dtype=dtype, out_sharding=None):
        if out_sharding is not None:
            raise NotImplementedError
        shape = _shape(shape)
        dtype = _dtype(dtype)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        if any(dim == 0 for dim in shape):
            return jnp.zeros(shape, dtype=dtype)
        n_rows, n_cols = math.prod(shape) // shape[column_axis], shape[column_axis]
        q = random.orthogonal(key, n_rows, (), dtype, n_cols)
        q = jnp.reshape(q, tuple(np.delete(shape, column_axis)) + (shape[column_axis],))
        q = jnp.moveaxis(q, -1, column_axis)
        return jnp.array(scale, dtype) * q

    return init


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """An initializer for convolution kernels (3, 4 or 5 dimensional): zeros but an orthogonal
    matrix at the centre of the spatial axes (Xiao et al., 2018).

    >>> import pullback.random as random
    >>> from pullback.nn import initializers
    >>> w = initializers.delta_orthogonal()(random.PRNGKey(42), (3, 2, 2))
    >>> w.shape, float(abs(w[0]).sum())
    ((3, 2, 2), 0.0)
    """

    def init(key, shape, dtype=dtype, out_sharding=None):
        if out_sharding is not None:
            raise NotImplementedError
        shape = _shape(shape)
        dtype = _dtype(dtype)
        if len(shape) not in (3, 4, 5):
            raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
        if shape[-1] < shape[-2]:
            raise ValueError("`fan_in` must be less or equal than `fan_out`. ")
        ortho_matrix = orthogonal(scale=scale, column_axis=column_axis, dtype=dtype)(
            key, shape[-2:]
        )
        w = jnp.zeros(shape, dtype=dtype)
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        return w.at[centre + (Ellipsis,)].set(ortho_matrix)

    return init
