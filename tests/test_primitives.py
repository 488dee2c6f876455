"""Every registered primitive, checked from a table of sample rows.

Sample rows
-----------
Every module ``tests/samples_*.py`` defines ``SAMPLES: dict[str, list[dict]]``, mapping the name
of a primitive (its key in ``pullback._core.registry``) to one or more rows. Rows of several
modules for one primitive are pooled. A row is a plain dict:

``args``
    tuple of operands: NumPy arrays, NumPy scalars or Python scalars. The tests run with x64
    enabled, so give float64 values for everything that is differentiated.
``params``
    dict of the primitive's canonical parameters (default ``{}``).
``ref``
    ``ref(*args, **params)``: the expected NumPy value (a list for a primitive with several
    results). Compared by shape, dtype and value. Required unless ``skip`` is given.
``wrt``
    indices of the operands to differentiate (default: every NumPy array or scalar operand
    with a floating dtype). Only used when the primitive has VJP rules.
``order``
    0: values only; 1: also the VJP, against float64 central differences; 2: also the gradient
    of ``<w, VJP(ct)>`` (``grad`` of the backward pass, which runs the rules under a transformation)
    against central differences of the first-order VJP. Default: 2 when the primitive has VJP
    rules, else 0. Use 1 at points where the primitive is not twice differentiable.
``rtol``/``atol``
    tolerances for values (default ``1e-9``/``1e-12``).
``grad_rtol``/``grad_atol``
    tolerances for derivatives (default ``1e-6``/``1e-8``; doubled digits of slack for order 2).
``eps``
    central-difference step (default ``1e-6``; order 2 uses ``eps * 10``).
``stage_error``
    the exception type the primitive raises when staged (e.g. a value-dependent output shape).
``skip``
    a reason: the row exempts the primitive from these checks (for primitives whose parameters
    are programs, tested in their own files). The primitive still counts as covered.
``id``
    an optional label for the test id.

A registered primitive without a row fails ``test_every_primitive_has_a_sample``.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import pkgutil

import numpy as np
import pytest

import pullback
import pullback.numpy as pnp
from pullback._config import enable_x64
from pullback._core import Array, Primitive, registry
from pullback._ir import check_jaxpr

TESTS = pathlib.Path(__file__).parent


# -- collecting primitives and rows ------------------------------------------------------------


def _import_all_modules():
    errors = {}
    for info in pkgutil.walk_packages(pullback.__path__, "pullback."):
        try:
            importlib.import_module(info.name)
        except Exception as e:  # reported by test_every_module_imports
            errors[info.name] = f"{type(e).__name__}: {e}"
    return errors


IMPORT_ERRORS = _import_all_modules()


def _load_samples():
    samples = {}
    for path in sorted(TESTS.glob("samples_*.py")):
        spec = importlib.util.spec_from_file_location(f"_pullback_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, rows in module.SAMPLES.items():
            for r in rows:
                samples.setdefault(name, []).append((path.stem, r))
    return samples


SAMPLES = _load_samples()


def _cases(pred=lambda prim, row: True):
    out = []
    for name in sorted(SAMPLES):
        prim = registry.get(name)
        for k, (_origin, r) in enumerate(SAMPLES[name]):
            if prim is None or "skip" in r or not pred(prim, r):
                continue
            label = f"{name}-{r.get('id', k)}"
            out.append(pytest.param(name, r, id=label))
    return out


def _order(prim, r):
    if prim.vjp is None:
        return 0
    return r.get("order", 2)


@pytest.fixture(autouse=True)
def _x64():
    with enable_x64(True):
        yield


def test_every_module_imports():
    assert not IMPORT_ERRORS, f"modules that fail to import: {IMPORT_ERRORS}"


def test_every_primitive_has_a_sample():
    missing = sorted(set(registry) - set(SAMPLES))
    assert not missing, (
        f"primitives without a sample row in tests/samples_*.py: {missing}. Add a row (format at "
        f"the top of tests/test_primitives.py)."
    )


def test_every_sample_names_a_primitive():
    unknown = sorted(set(SAMPLES) - set(registry))
    assert not unknown, f"sample rows for names that are not registered primitives: {unknown}"


def test_primitive_names_are_unique():
    # Primitive.__init__ overwrites the registry entry of an existing name: find shadowed ones.
    shadowed = []
    for module_name, module in list(__import__("sys").modules.items()):
        if not module_name.startswith("pullback"):
            continue
        for value in vars(module).values():
            if isinstance(value, Primitive) and registry.get(value.name) is not value:
                shadowed.append(f"{value.name} ({module_name})")
    assert not shadowed, f"several primitives share a name: {sorted(set(shadowed))}"


# -- helpers -----------------------------------------------------------------------------------


def _raw(x):
    return np.asarray(x._value) if isinstance(x, Array) else np.asarray(x)


def _is_diff_operand(x):
    return isinstance(x, (np.ndarray, np.generic)) and np.asarray(x).dtype.kind == "f"


def _wrt(r):
    if "wrt" in r:
        return tuple(r["wrt"])
    return tuple(i for i, a in enumerate(r["args"]) if _is_diff_operand(a))


def _bind(prim, args, params):
    return prim.bind(*args, **params)


def _with(args, wrt, values):
    full = list(args)
    for i, v in zip(wrt, values, strict=True):
        full[i] = v
    return full


def _outputs(prim, out):
    return list(out) if prim.multiple_results else [out]


def _impl_pairing(prim, args, params, cts):
    """``sum_k <ct_k, out_k>`` with the outputs computed by the raw impl (float64 NumPy)."""
    out = prim.impl(
        *[np.asarray(a) if not isinstance(a, (int, float)) else a for a in args], **params
    )
    outs = list(out) if prim.multiple_results else [out]
    # outputs that are NaN at the sample point (take's fill value) do not depend on the input
    return sum(float(np.nansum(np.asarray(c) * np.asarray(o))) for c, o in zip(cts, outs))


def _random_cotangents(prim, args, params, rng):
    out = prim.impl(*args, **params)
    outs = list(out) if prim.multiple_results else [out]
    return [rng.standard_normal(np.shape(o)).astype(np.asarray(o).dtype) for o in outs]


def _cotangent_arg(prim, cts):
    return list(cts) if prim.multiple_results else cts[0]


# -- the checks --------------------------------------------------------------------------------


@pytest.mark.parametrize("name,r", _cases())
def test_value(name, r):
    prim = registry[name]
    params = r.get("params", {})
    out = _bind(prim, r["args"], params)
    expected = r["ref"](*r["args"], **params)
    outs = _outputs(prim, out)
    refs = list(expected) if prim.multiple_results else [expected]
    assert len(outs) == len(refs)
    for o, e in zip(outs, refs):
        assert isinstance(o, Array), f"{name} returned {type(o)}, not an Array"
        got = _raw(o)
        e = np.asarray(e)
        assert got.shape == e.shape, f"{name}: shape {got.shape}, expected {e.shape}"
        assert got.dtype == e.dtype, f"{name}: dtype {got.dtype}, expected {e.dtype}"
        np.testing.assert_allclose(
            got, e, rtol=r.get("rtol", 1e-9), atol=r.get("atol", 1e-12), equal_nan=True
        )


def _numerical_vjp(prim, args, params, wrt, cts, eps):
    grads = []
    for i in wrt:
        x = np.array(args[i], dtype=np.float64)
        g = np.zeros_like(x)
        for pos in np.ndindex(*x.shape):
            plus, minus = x.copy(), x.copy()
            plus[pos] += eps
            minus[pos] -= eps
            up = _impl_pairing(prim, _with(args, (i,), (plus,)), params, cts)
            down = _impl_pairing(prim, _with(args, (i,), (minus,)), params, cts)
            g[pos] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("name,r", _cases(lambda prim, r: _order(prim, r) >= 1 and _wrt(r)))
def test_vjp(name, r):
    prim = registry[name]
    params = r.get("params", {})
    args = r["args"]
    wrt = _wrt(r)
    rng = np.random.default_rng(0)
    cts = _random_cotangents(prim, args, params, rng)

    def f(*values):
        return _bind(prim, _with(args, wrt, values), params)

    _, f_vjp = pullback.vjp(f, *[args[i] for i in wrt])
    got = f_vjp(_cotangent_arg(prim, cts))
    expected = _numerical_vjp(prim, args, params, wrt, cts, r.get("eps", 1e-6))
    for i, g, e in zip(wrt, got, expected):
        g = _raw(g)
        assert g.shape == np.shape(args[i]), f"{name}: cotangent of operand {i} has shape {g.shape}"
        np.testing.assert_allclose(
            g,
            e,
            rtol=r.get("grad_rtol", 1e-6),
            atol=r.get("grad_atol", 1e-8),
            err_msg=f"{name}: cotangent of operand {i}",
        )


@pytest.mark.parametrize("name,r", _cases(lambda prim, r: _order(prim, r) >= 2 and _wrt(r)))
def test_vjp_of_vjp(name, r):
    prim = registry[name]
    params = r.get("params", {})
    args = r["args"]
    wrt = _wrt(r)
    rng = np.random.default_rng(1)
    cts = _random_cotangents(prim, args, params, rng)
    ws = [rng.standard_normal(np.shape(args[i])) for i in wrt]

    def f(*values):
        return _bind(prim, _with(args, wrt, values), params)

    def g(*values):
        _, f_vjp = pullback.vjp(f, *values)
        grads = f_vjp(_cotangent_arg(prim, cts))
        return sum(pnp.sum(gk * wk) for gk, wk in zip(grads, ws))

    primals = [np.asarray(args[i], np.float64) for i in wrt]
    got = pullback.grad(g, argnums=tuple(range(len(wrt))))(*primals)
    eps = r.get("eps", 1e-6) * 10
    for k, (p, gk) in enumerate(zip(primals, got)):
        e = np.zeros_like(p)
        for pos in np.ndindex(*p.shape):
            plus, minus = p.copy(), p.copy()
            plus[pos] += eps
            minus[pos] -= eps
            up = float(g(*_with(primals, (k,), (plus,))))
            down = float(g(*_with(primals, (k,), (minus,))))
            e[pos] = (up - down) / (2 * eps)
        np.testing.assert_allclose(
            _raw(gk),
            e,
            rtol=r.get("grad_rtol", 1e-6) * 100,
            atol=r.get("grad_atol", 1e-8) * 100,
            err_msg=f"{name}: second-order derivative for operand {wrt[k]}",
        )


def test_skipped_rows_give_reasons():
    for name, rows in SAMPLES.items():
        for origin, r in rows:
            if "skip" in r:
                assert isinstance(r["skip"], str) and r["skip"], f"{name} ({origin}): empty skip"
            else:
                assert "ref" in r, f"{name} ({origin}): a row needs 'ref' (or 'skip')"


# -- staged (make_jaxpr, jit) against eager ---------------------------------------------------


def _array_positions(args):
    return tuple(i for i, a in enumerate(args) if isinstance(a, (np.ndarray, np.generic)))


def _assert_same(got, expected, what):
    got, expected = _outputs_list(got), _outputs_list(expected)
    assert len(got) == len(expected), what
    for g, e in zip(got, expected):
        assert isinstance(g, Array), f"{what}: {type(g)} is not an Array"
        assert (g.shape, g.dtype, g.weak_type) == (e.shape, e.dtype, e.weak_type), (
            f"{what}: {g.aval} staged, {e.aval} eager"
        )
        np.testing.assert_allclose(_raw(g), _raw(e), rtol=1e-12, atol=1e-14, equal_nan=True)


def _outputs_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


@pytest.mark.parametrize("name,r", _cases())
def test_staged_matches_eager(name, r):
    """Every primitive staged by ``make_jaxpr`` type-checks and runs under ``jit`` as eagerly."""
    prim = registry[name]
    params = r.get("params", {})
    args = r["args"]
    traced = _array_positions(args)

    def f(*values):
        return _bind(prim, _with(args, traced, values), params)

    values = [args[i] for i in traced]
    if "stage_error" in r:
        with pytest.raises(r["stage_error"], match="while tracing"):
            pullback.jit(f)(*values)
        return
    check_jaxpr(pullback.make_jaxpr(f)(*values))
    _assert_same(pullback.jit(f)(*values), f(*values), f"{name} under jit")


@pytest.mark.parametrize("name,r", _cases(lambda prim, r: _order(prim, r) >= 1 and _wrt(r)))
def test_staged_vjp_matches_eager(name, r):
    """The VJP rules staged (``jit(vjp)``) give the eager VJP."""
    prim = registry[name]
    if "stage_error" in r:
        return
    params = r.get("params", {})
    args = r["args"]
    wrt = _wrt(r)
    cts = _random_cotangents(prim, args, params, np.random.default_rng(2))

    def f(*values):
        return _bind(prim, _with(args, wrt, values), params)

    def pulled_back(*values):
        return pullback.vjp(f, *values)[1](_cotangent_arg(prim, cts))

    values = [args[i] for i in wrt]
    check_jaxpr(pullback.make_jaxpr(pulled_back)(*values))
    _assert_same(pullback.jit(pulled_back)(*values), pulled_back(*values), f"{name} VJP under jit")
