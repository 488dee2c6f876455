"""A tour of pullback: run every example in order, each under a heading.

    ./dev tour              (or: python examples/tour.py)

Each example is a module of this folder with a ``main()``, written exactly like a JAX program
(``import pullback as jax``, ``import pullback.numpy as jnp``); run one alone with
``python examples/NAME.py``.
"""

import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = [
    "seed",
    "gradient_clipping",
    "straight_through",
    "fixed_point",
    "scipy_routine",
    "external_solver",
    "checkpointing",
    "custom_jvp",
]


def _ensure_importable():
    """Use the working tree's pullback when it is not installed (e.g. a fresh clone)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    try:
        import pullback  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(HERE.parent / "src"))


def main(names=None):
    _ensure_importable()
    failed = []
    for name in names or EXAMPLES:
        module = importlib.import_module(name)
        title = (module.__doc__ or "").strip().splitlines()[0]
        print(f"== {name}: {title}")
        print()
        start = time.perf_counter()
        try:
            module.main()
        except Exception as e:  # keep touring; report at the end
            failed.append(name)
            print(f"!! {name} failed: {type(e).__name__}: {e}")
        print(f"   ({time.perf_counter() - start:.2f} s)")
        print()
    if failed:
        print(f"{len(failed)} example(s) failed: {', '.join(failed)}")
        return 1
    print(f"all {len(names or EXAMPLES)} examples ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
