"""What ``pure_callback`` costs per call, eagerly and inside ``jit``, next to calling the same
Python function directly on a NumPy array.

    python benchmarks/callback.py

The callback is ``np.sin`` on float32[16] wrapped in a Python function. Reported: the median
time per call of each way of calling it, and the overhead over the direct call. Inside ``jit``
the callback's own overhead is the jitted program with the callback minus the same program
without it (``jit(lambda x: x * 2.0)``) minus the direct call.
"""

from __future__ import annotations

import statistics
import sys
import timeit
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
if SRC.is_dir() and str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

import numpy as np  # noqa: E402

import pullback as jax  # noqa: E402
import pullback.numpy as jnp  # noqa: E402


def host_sin(x):
    return np.sin(x)


def per_call_us(fn, arg, number=20000, repeat=7):
    fn(arg)  # warm up (and compile)
    times = timeit.repeat(lambda: fn(arg), number=number, repeat=repeat)
    return statistics.median(times) / number * 1e6


def main():
    x_np = np.linspace(-1, 1, 16, dtype=np.float32)
    x = jnp.asarray(x_np)
    spec = jax.ShapeDtypeStruct(x.shape, x.dtype)

    def with_callback(x):
        return jax.pure_callback(host_sin, spec, x * 2.0)

    direct = per_call_us(host_sin, x_np)
    eager = per_call_us(with_callback, x)
    jitted = per_call_us(jax.jit(with_callback), x)
    jit_without = per_call_us(jax.jit(lambda x: x * 2.0), x)
    eager_without = per_call_us(lambda x: x * 2.0, x)

    eager_overhead = eager - eager_without - direct
    jit_overhead = jitted - jit_without - direct
    print(f"callback called directly:      {direct:6.2f} µs")
    print(f"eager pure_callback:           {eager:6.2f} µs  (overhead {eager_overhead:5.2f} µs)")
    print(f"pure_callback inside jit:      {jitted:6.2f} µs  (overhead {jit_overhead:5.2f} µs)")
    print(f"  the same jit without it:     {jit_without:6.2f} µs")
    print(f"ratio eager / direct:          {(eager - eager_without) / direct:6.2f}")
    print(f"ratio inside jit / direct:     {(jitted - jit_without) / direct:6.2f}")


if __name__ == "__main__":
    main()
