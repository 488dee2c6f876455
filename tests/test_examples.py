"""Run every example; check what it prints. Where JAX is installed, run the same source with the
imports switched to JAX and check that both print the same thing."""

import contextlib
import importlib.util
import io
import re
import sys
import types
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"

# What each example prints (values from a run with JAX 0.10.2 on CPU). Numbers are compared with
# a relative tolerance, everything else exactly (see ``assert_same_output``).
EXPECTED = {
    "seed": """\
(Array(1.68, dtype=float32), Array(1.08, dtype=float32))
""",
    "gradient_clipping": """\
plain gradient:         [ 10.  -20.    0.5]
clipped by value (1.0): [ 1.  -1.   0.5]
clipped by norm (1.0):  [ 0.4471 -0.8942  0.0224]
descent on x**4 from 3, 3 steps, lr 0.1:
  plain:   [-2.4121e+06]
descent on x**4 from 3, 40 steps, lr 0.1:
  clipped: [0.2445]
""",
    "straight_through": """\
round(x):                  [ 0.  2. -1.  2.]
grad through jnp.round:    [0. 0. 0. 0.]
grad through round_ste:    [1. 2. 3. 4.]
grad through sign_ste:     [1. 0. 3. 0.]
initial loss: 27.0
learned signs: [ 1. -1. -1.  1.]
final loss: 0.0
""",
    "fixed_point": """\
sqrt(2):                  1.4142135
d/da sqrt(a) at 2:        0.35355338
  expected 1/(2 sqrt 2):  0.35355339059327373
d2/da2 sqrt(a) at 2:      -0.088388346
  expected -1/(4 2^1.5):  -0.08838834764831843
sqrt([1, 4, 9, 16]):      [1. 2. 3. 4.]
grad of sum:              [0.5     0.25    0.16667 0.125  ]
""",
    "scipy_routine": """\
erf(x):             [-0.8427   0.       0.5205   0.99532]
grad of sum(erf):   [0.41511 1.12838 0.87878 0.02067]
matches finite differences: True
loss: 4.80954
grad of sum(w * expm(a)):
[[ 1.5262  1.5056  0.1128]
 [ 0.8749 -0.2161  0.9011]
 [ 1.284   0.4517  3.4995]]
matches finite differences: True
""",
    "external_solver": """\
x = solve(a, b):   [0.22222 0.11111 1.44444]
a @ x:             [1. 2. 3.]
loss:              2.37037
grad wrt b:        [ 0.53704 -0.7037   1.7963 ]
grad wrt a:
[[-0.11934 -0.05967 -0.77572]
 [ 0.15638  0.07819  1.01646]
 [-0.39918 -0.19959 -2.59465]]
matches finite differences: True
""",
    "checkpointing": """\
no checkpoint          keeps 32 arrays,  32.0 KiB; same gradient: True
checkpoint per layer   keeps 16 arrays,  16.0 KiB; same gradient: True
  keeping products     keeps 32 arrays,  32.0 KiB; same gradient: True
  keeping 'product'    keeps 32 arrays,  32.0 KiB; same gradient: True
4 groups of 4          keeps  4 arrays,   4.0 KiB; same gradient: True
loss: 0.05483
optimize_remat=False: ['fwd kernel', 'fwd kernel'], grad[:3] [-0.24834 -0.24604 -0.88799]
optimize_remat=True: ['fun kernel', 'fwd kernel'], grad[:3] [-0.24834 -0.24604 -0.88799]
""",
    "custom_jvp": """\
grad log1pexp at 3:      0.95257413
grad log1pexp at 100:    1.0
jit(grad) at 3:          0.95257413
second derivative at 1:  0.19661194
grad safe at 0:          1.0
newton_sqrt(2):          1.4142135
grad newton_sqrt at 2:   0.35355338
{ lambda ; a:f32[]. let
    b:f32[] = custom_jvp_call[
      name=log1pexp
      call_jaxpr={ lambda ; c:f32[]. let
          d:f32[] = exp c
          e:f32[] = add 1.0:f32[] d
          f:f32[] = log e
        in (f,) }
      jvp=log1pexp_jvp
      symbolic_zeros=False
    ] a
  in (b,) }
""",
}

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def assert_same_output(actual, expected, rtol=1e-5, atol=1e-6):
    """The text around the numbers must match exactly (up to runs of spaces, which follow the
    width of the numbers); the numbers must agree within ``rtol``/``atol``."""

    def skeleton(text):
        return re.sub(r" +", " ", _NUMBER.sub("#", text)).strip()

    assert skeleton(actual) == skeleton(expected), f"got:\n{actual}\nexpected:\n{expected}"
    got = [float(n) for n in _NUMBER.findall(actual)]
    want = [float(n) for n in _NUMBER.findall(expected)]
    for g, w in zip(got, want, strict=True):
        message = f"{g} != {w}\ngot:\n{actual}\nexpected:\n{expected}"
        assert abs(g - w) <= atol + rtol * abs(w), message


def _load(name, source, module_name):
    """Execute ``source`` as a fresh module and return it."""
    module = types.ModuleType(module_name)
    module.__file__ = str(EXAMPLES_DIR / f"{name}.py")
    sys.modules[module_name] = module
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    finally:
        del sys.modules[module_name]
    return module


def _run_main(module):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main()
    return out.getvalue()


def _switch_to_jax(source):
    """The example's source with ``pullback`` imports replaced by JAX's."""
    switched = re.sub(r"^import pullback as jax$", "import jax", source, flags=re.M)
    switched = re.sub(
        r"^import pullback\.numpy as jnp$", "import jax.numpy as jnp", switched, flags=re.M
    )
    switched = re.sub(r"^from pullback(\.\w+)* import", r"from jax\1 import", switched, flags=re.M)
    assert "pullback" not in switched, "an import of pullback was not switched to JAX"
    return switched


@pytest.mark.parametrize("name", list(EXPECTED))
def test_example_output(name):
    source = (EXAMPLES_DIR / f"{name}.py").read_text()
    assert re.search(r"^import pullback as jax$", source, flags=re.M)
    module = _load(name, source, f"example_{name}")
    assert_same_output(_run_main(module), EXPECTED[name])


def test_seed_prints_exactly():
    source = (EXAMPLES_DIR / "seed.py").read_text()
    out = _run_main(_load("seed", source, "example_seed_exact"))
    assert out == "(Array(1.68, dtype=float32), Array(1.08, dtype=float32))\n"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_example_matches_jax(name):
    pytest.importorskip("jax")
    source = (EXAMPLES_DIR / f"{name}.py").read_text()
    with_jax = _run_main(_load(name, _switch_to_jax(source), f"example_{name}_jax"))
    with_pullback = _run_main(_load(name, source, f"example_{name}_pullback"))
    assert_same_output(with_pullback, with_jax)


def test_every_example_is_tested_and_toured():
    found = {p.stem for p in EXAMPLES_DIR.glob("*.py")} - {"tour"}
    assert found == set(EXPECTED)
    spec = importlib.util.spec_from_file_location("examples_tour", EXAMPLES_DIR / "tour.py")
    tour = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tour)
    assert list(EXPECTED) == tour.EXAMPLES
