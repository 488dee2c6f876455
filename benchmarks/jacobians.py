"""What ``jacrev``, ``jacfwd`` and ``hessian`` cost on a function of 100 inputs, in pullback and
(when installed) JAX, eagerly and under ``jit``.

    python benchmarks/jacobians.py

The function is ``x -> tanh(W @ x)`` with ``W`` float32[100, 100] (``hessian`` takes the sum of
it). pullback pushes the one-hot basis through ``vmap``, as JAX does (one batched pass, not one
pass per row). Reported: the median time per call of each, after a check that pullback's
Jacobians agree with JAX's.
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

import pullback  # noqa: E402
import pullback.numpy as pnp  # noqa: E402

N = 100


def cases(jax, jnp, block):
    w = jnp.asarray(np.random.default_rng(0).standard_normal((N, N)).astype(np.float32) / 10)

    def f(x):
        return jnp.tanh(w @ x)

    made = {
        "jacrev": jax.jacrev(f),
        "jacfwd": jax.jacfwd(f),
        "hessian": jax.hessian(lambda x: jnp.sum(f(x))),
    }
    made.update({f"jit({k})": jax.jit(v) for k, v in list(made.items())})
    x = jnp.asarray(np.linspace(-1, 1, N, dtype=np.float32))
    return {k: (lambda g=g: block(g(x))) for k, g in made.items()}


def per_call_ms(fn, number=20, repeat=7):
    fn()  # warm up (and compile)
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e3


def main():
    ours = cases(pullback, pnp, lambda out: out)
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        theirs = {}
    else:
        theirs = cases(jax, jnp, jax.block_until_ready)
        for name, run in ours.items():
            np.testing.assert_allclose(
                np.asarray(run()), np.asarray(theirs[name]()), rtol=2e-4, atol=1e-5
            )
    print(f"| f: R^{N} -> R^{N} | pullback | JAX |")
    print("|---|---|---|")
    for name, run in ours.items():
        theirs_ms = f"{per_call_ms(theirs[name]):.3f} ms" if name in theirs else "n/a"
        print(f"| {name} | {per_call_ms(run):.3f} ms | {theirs_ms} |")


if __name__ == "__main__":
    main()
