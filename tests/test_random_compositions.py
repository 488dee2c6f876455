"""Random compositions of ``grad``/``vjp``/``jvp``/``vmap``/``jit`` around programs with custom
rules, run on pullback and on JAX (issue 11, Tests): values, dtypes and weak types of every
output must agree.

Every function here maps an array to one of the same shape, elementwise, so transformations
compose freely: ``grad`` and ``vjp`` pull back a cotangent of ones (the elementwise derivative),
``jvp`` pushes a tangent of ones, ``vmap`` maps over the leading axis. The programs' custom
rules are exact derivatives, so the same composition of their plain versions on JAX is an
oracle too: for values always, for types always (pullback's rules give their primal's types),
and alone where JAX refuses a composition (forward mode over ``custom_vjp``, a batched closure
meeting ``grad``).

A few hundred examples run in CI; ``HYPOTHESIS_PROFILE=nightly`` runs several thousand.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pullback
import pullback.numpy as pnp

jax_real = pytest.importorskip("jax")

settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "nightly", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

CS = np.array([0.5, 1.5], np.float32)  # values an inner vmap batches, closed over by a rule


def _bases(jax, jnp, custom):
    """Elementwise programs by name; ``custom=False`` gives the same math without rules."""

    def sin_vjp():
        if not custom:
            return jnp.sin
        f = jax.custom_vjp(lambda x: jnp.sin(x))
        f.defvjp(lambda x: (jnp.sin(x), jnp.cos(x)), lambda c, g: (g * c,))
        return f

    def softplus_jvp():
        def plain(x):
            return jnp.log1p(jnp.exp(x))

        if not custom:
            return plain
        f = jax.custom_jvp(plain)
        f.defjvp(lambda p, t: (f(p[0]), t[0] / (1 + jnp.exp(-p[0]))))
        return f

    def tanh_weak(x):
        return jnp.tanh(x) * 1.5 + 0.25

    def square_closing_over_constant():
        c = jnp.float32(0.5)
        if not custom:
            return lambda x: x * x * c
        f = jax.custom_vjp(lambda x: x * x * c)
        f.defvjp(lambda x: (x * x * c, x), lambda x, g: (2 * x * c * g,))
        return f

    def product_symbolic_zeros():
        def plain(x, y):
            return x * y

        if not custom:
            return lambda x: plain(x, 2.0)
        f = jax.custom_jvp(plain)

        def rule(primals, tangents):
            (x, y), (tx, ty) = primals, tangents
            zero = jax.custom_derivatives.SymbolicZero
            out = x * y
            t = jnp.zeros_like(out)
            if not isinstance(tx, zero):
                t = t + tx * y
            if not isinstance(ty, zero):
                t = t + x * ty
            return out, t

        f.defjvp(rule, symbolic_zeros=True)
        return lambda x: f(x, 2.0)

    def vjp_as_residual():
        def plain(x):
            return jnp.sin(x) * x

        if not custom:
            return plain
        f = jax.custom_vjp(plain)
        f.defvjp(lambda x: jax.vjp(plain, x), lambda pull, g: pull(g))
        return f

    def closure_over_inner_vmap(x):
        """``sum_c sin(x) c`` through a rule that closes over ``c``, batched by an inner vmap
        that does not batch ``x``."""

        def term(c):
            if not custom:
                return jnp.sin(x) * c
            g = jax.custom_jvp(lambda v: jnp.sin(v) * c)
            g.defjvp(lambda p, t: (g(p[0]), jnp.cos(p[0]) * c * t[0]))
            return g(x)

        return jax.vmap(term)(jnp.asarray(CS)).sum(axis=0)

    return {
        "sin_vjp": sin_vjp(),
        "softplus_jvp": softplus_jvp(),
        "tanh_weak": tanh_weak,
        "square_closing_over_constant": square_closing_over_constant(),
        "product_symbolic_zeros": product_symbolic_zeros(),
        "vjp_as_residual": vjp_as_residual(),
        "closure_over_inner_vmap": closure_over_inner_vmap,
    }


def _transform(jax, jnp, name, f):
    if name == "grad":
        return lambda x: jax.grad(lambda v: f(v).sum())(x)
    if name == "vjp":

        def pulled(x):
            y, pull = jax.vjp(f, x)
            return pull(jnp.ones_like(y))[0]

        return pulled
    if name == "jvp":
        return lambda x: jax.jvp(f, (x,), (jnp.ones_like(x),))[1]
    if name == "jit":
        return jax.jit(f)
    assert name == "vmap"
    return jax.vmap(f)


def _run(lib, base, transforms, x, custom=True):
    jax, jnp = (pullback, pnp) if lib == "pullback" else (jax_real, jax_real.numpy)
    f = _bases(jax, jnp, custom)[base]
    for name in reversed(transforms):  # transforms[0] is the outermost
        f = _transform(jax, jnp, name, f)
    out = f(x() if callable(x) else x)
    return np.asarray(out), out.dtype, out.weak_type


INPUTS = {
    "python_float": (lambda: 0.7, 0),
    "float32_scalar": (lambda: np.float32(0.7), 0),
    "float32_vector": (lambda: np.linspace(-1, 1, 3, dtype=np.float32), 1),
    "float32_matrix": (lambda: np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), 2),
}


@st.composite
def compositions(draw):
    base = draw(st.sampled_from(sorted(_bases(pullback, pnp, True))))
    inp = draw(st.sampled_from(sorted(INPUTS)))
    ndim = INPUTS[inp][1]
    transforms = []
    for _ in range(draw(st.integers(1, 3))):
        choices = ["grad", "vjp", "jvp", "jit"] + (["vmap"] if ndim > 0 else [])
        name = draw(st.sampled_from(choices))
        ndim -= name == "vmap"
        transforms.append(name)
    return base, inp, transforms


@settings(settings.get_profile(PROFILE))
@given(compositions())
def test_random_composition_matches_jax(case):
    base, inp, transforms = case
    make = INPUTS[inp][0]
    got, dtype, weak = _run("pullback", base, transforms, make)
    where = f"{transforms} of {base} at {inp}"
    # types: pullback's custom rules give their primal's types, which JAX's plain program has
    # (JAX passes a bwd's weak type through: docs/differences.md)
    plain = _run("jax", base, transforms, make, custom=False)
    assert got.shape == plain[0].shape, where
    assert dtype == plain[1], where
    assert weak == plain[2], f"weak type of {where}: pullback {weak}, JAX {plain[2]}"
    np.testing.assert_allclose(got, plain[0], rtol=2e-5, atol=1e-6, err_msg=where)
    try:
        custom = _run("jax", base, transforms, make)
    except Exception:  # noqa: BLE001 - a composition JAX refuses: the plain program decided
        return
    assert dtype == custom[1], where
    np.testing.assert_allclose(got, custom[0], rtol=2e-5, atol=1e-6, err_msg=where)


def test_the_oracle_is_used_where_jax_refuses():
    """Forward mode over custom_vjp: JAX refuses, pullback computes what plain JAX gives."""
    with pytest.raises(TypeError):
        _run("jax", "sin_vjp", ["jvp"], 0.7)
    got = _run("pullback", "sin_vjp", ["jvp"], 0.7)
    want = _run("jax", "sin_vjp", ["jvp"], 0.7, custom=False)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    assert got[1:] == want[1:]
