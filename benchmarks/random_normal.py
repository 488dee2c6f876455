"""How long 2**20 float32 standard normals take: ``pullback.random.normal`` (eager and under
``jit``), NumPy's ``Generator.standard_normal`` and, if installed, ``jax.random.normal``.

    python benchmarks/random_normal.py [--size N] [--repeat R] [--profile]

Reported: the median wall time of each over ``repeat`` runs (after a warm-up call, which also
compiles the jitted versions), and each one's ratio to NumPy's generator. pullback's samples are
JAX's (the same Threefry-2x32 bits and inverse error function), so the fair comparison for the
algorithm is JAX; NumPy's ziggurat is a cheaper algorithm producing other numbers. ``--profile``
prints where pullback's eager call spends its time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
if SRC.is_dir() and str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

import numpy as np  # noqa: E402

import pullback  # noqa: E402
from pullback import random  # noqa: E402


def median_ms(fn, repeat):
    fn()  # warm up (and compile)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        if hasattr(out, "block_until_ready"):
            out.block_until_ready()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1 << 20)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    n = args.size

    key = random.PRNGKey(0)
    rng = np.random.default_rng(0)
    jitted = pullback.jit(lambda k: random.normal(k, (n,)))
    results = {
        "numpy Generator.standard_normal": median_ms(
            lambda: rng.standard_normal(n, dtype=np.float32), args.repeat
        ),
        "pullback random.normal": median_ms(lambda: random.normal(key, (n,)), args.repeat),
        "pullback jit(random.normal)": median_ms(lambda: jitted(key), args.repeat),
    }
    try:
        import jax
        import jax.random as jr
    except ImportError:
        pass
    else:
        jkey = jr.PRNGKey(0)
        jax_jitted = jax.jit(lambda k: jr.normal(k, (n,)))
        results["jax random.normal"] = median_ms(lambda: jr.normal(jkey, (n,)), args.repeat)
        results["jax jit(random.normal)"] = median_ms(lambda: jax_jitted(jkey), args.repeat)

    base = results["numpy Generator.standard_normal"]
    print(f"{n} float32 standard normals, median of {args.repeat} runs")
    for name, ms in results.items():
        print(f"  {name:34s} {ms:8.2f} ms   {ms / base:5.2f}x numpy")

    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(5):
            random.normal(key, (n,))
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)
    return results


if __name__ == "__main__":
    main()
