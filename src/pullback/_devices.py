"""Devices: pullback runs on one CPU device, which these functions describe as JAX does.

``devices()``/``local_devices()`` give ``[CpuDevice(id=0)]``, ``default_backend()`` is
``'cpu'``; ``device_put`` makes arrays of its leaves (under transformations it is the identity,
as placement means nothing to NumPy), ``device_get`` NumPy values, and ``block_until_ready``
returns its argument (NumPy has finished by the time a call returns).
"""

from __future__ import annotations

import numpy as np

from pullback._core import Array
from pullback.numpy._creation import asarray
from pullback.tree_util import tree_map

__all__ = [
    "CpuDevice",
    "block_until_ready",
    "default_backend",
    "device_count",
    "device_get",
    "device_put",
    "devices",
    "local_device_count",
    "local_devices",
    "process_count",
    "process_index",
]


class CpuDevice:
    """The one device: NumPy on the host CPU.

    >>> from pullback import _devices as jax  # re-exported as pullback.devices etc.
    >>> d = jax.devices()[0]
    >>> d
    CpuDevice(id=0)
    >>> str(d), d.platform, d.device_kind, d.id, d.process_index
    ('cpu:0', 'cpu', 'cpu', 0, 0)
    """

    __slots__ = ()

    id = 0
    host_id = 0
    process_index = 0
    task_id = 0
    local_hardware_id = 0
    platform = "cpu"
    device_kind = "cpu"

    def __repr__(self):
        return "CpuDevice(id=0)"

    def __str__(self):
        return "cpu:0"

    def __eq__(self, other):
        return type(other) is CpuDevice

    def __hash__(self):
        return hash(CpuDevice)

    def __reduce__(self):
        return (_the_device, ())


_DEVICE = CpuDevice()


def _the_device():
    return _DEVICE


def _check_backend(backend):
    if backend is None or backend == "cpu" or backend is _DEVICE:
        return
    raise RuntimeError(
        f"Unknown backend: '{backend}' requested, but no platforms that are instances of "
        f"{backend} are present. Platforms present are: cpu"
    )


def devices(backend=None):
    """Every device: ``[CpuDevice(id=0)]``.

    >>> from pullback import _devices as jax
    >>> jax.devices()
    [CpuDevice(id=0)]
    """
    _check_backend(backend)
    return [_DEVICE]


def local_devices(process_index=None, backend=None, host_id=None):
    """The devices of this process: ``[CpuDevice(id=0)]``.

    >>> from pullback import _devices as jax
    >>> jax.local_devices()
    [CpuDevice(id=0)]
    """
    _check_backend(backend)
    return [_DEVICE]


def default_backend():
    """The platform of the default device: ``'cpu'``.

    >>> from pullback import _devices as jax
    >>> jax.default_backend()
    'cpu'
    """
    return "cpu"


def device_count(backend=None):
    """How many devices there are: 1."""
    _check_backend(backend)
    return 1


def local_device_count(backend=None):
    """How many devices this process has: 1."""
    _check_backend(backend)
    return 1


def process_index(backend=None):
    """This process's index: 0."""
    return 0


def process_count(backend=None):
    """How many processes there are: 1."""
    return 1


def _put(x):
    if isinstance(x, Array):  # arrays and tracers are where they can be already
        return x
    return asarray(x)


def device_put(x, device=None, *, src=None, donate=False, may_alias=None):
    """``x`` (a pytree) with every leaf an array on ``device`` (the CPU: the only one).

    >>> import numpy as np
    >>> from pullback import _devices as jax
    >>> jax.device_put(np.ones(2))
    Array([1., 1.], dtype=float32)
    >>> jax.device_put({"a": 1, "b": np.int64(3)}, jax.devices()[0])
    {'a': Array(1, dtype=int32, weak_type=True), 'b': Array(3, dtype=int32)}
    """
    return tree_map(_put, x)


def _get(x):
    if isinstance(x, Array):
        return np.asarray(x)
    return x


def device_get(x):
    """``x`` (a pytree) with its arrays as NumPy arrays (other leaves as they are).

    >>> import pullback.numpy as jnp
    >>> from pullback import _devices as jax
    >>> jax.device_get({"a": jnp.ones(2), "b": 3})
    {'a': array([1., 1.], dtype=float32), 'b': 3}
    """
    return tree_map(_get, x)


def block_until_ready(x):
    """``x`` itself: NumPy computations are done when they return, so nothing is waited for.

    >>> import pullback.numpy as jnp
    >>> from pullback import _devices as jax
    >>> jax.block_until_ready({"a": jnp.ones(2), "b": 3})
    {'a': Array([1., 1.], dtype=float32), 'b': 3}
    """
    return x
