"""The benchmark workloads, written once per framework.

Every workload exists in a hand-written NumPy version (the forward pass keeps what the backward
pass needs, the backward pass is written out by hand) and in the style of each automatic
differentiation library. ``build(framework, workload, data)`` returns an ``Impl`` whose ``run()``
performs one complete measured call and whose ``to_numpy(result)`` turns that call's result
into ``(value, [gradient leaves])`` as NumPy arrays, so that every implementation can be checked
against the hand-written one.

pullback and JAX share one source for each workload (``_jaxlike_*``): the function receives the
``jax``/``jnp`` modules to use, exactly as a user switching with ``import pullback as jax`` would.
The ``pullback.jit`` and ``jax.jit`` frameworks wrap that same function in their ``jit``.

Sizes (``SIZES``):

* ``chain``: float32[16], 200 steps of ``x = sin(x) * 1.01 + 0.1``, then ``grad`` of ``sum``.
* ``jvp_chain``: ``chain``'s steps in forward mode: ``jvp`` of the float32[16] -> float32[16]
  map along a fixed tangent (no forward mode in autograd).
* ``custom_chain``: float32[16], 200 steps of ``x = clip_gradient(sin(x))``, ``grad`` of ``sum``;
  ``clip_gradient`` is an identity whose backward rule clips the cotangent to [-1, 1].
* ``mlp_small``: batch 32, layer widths 64 -> 64 -> 64 (input 64, one tanh hidden layer of 64,
  output 64), ``value_and_grad`` of the mean squared error with respect to the parameters.
* ``mlp_large``: batch 256, widths 1024 -> 1024 -> 1024 -> 1024 (three weight matrices, tanh after
  the first two).
* ``per_example_grads``: ``vmap(grad(loss), in_axes=(None, 0, 0))`` of ``mlp_small``'s loss over
  128 single examples (one gradient of every parameter per example); the hand-written version
  computes the per-example weight gradients as batched outer products. The framework
  ``pullback.loop`` is a Python loop of pullback ``grad`` calls, one per example.

All data is float32 and comes from a fixed seed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

WORKLOADS = ("chain", "jvp_chain", "custom_chain", "mlp_small", "mlp_large", "per_example_grads")
FRAMEWORKS = (
    "numpy",
    "pullback",
    "pullback.jit",
    "pullback.loop",
    "autograd",
    "jax",
    "jax.jit",
    "torch",
)
FRAMEWORK_LABELS = {
    "numpy": "hand NumPy",
    "pullback": "pullback",
    "pullback.jit": "pullback jit",
    "pullback.loop": "pullback grad loop",
    "autograd": "autograd",
    "jax": "JAX eager",
    "jax.jit": "JAX jit",
    "torch": "PyTorch",
}

# ``full`` are the benchmark sizes; ``tiny`` are for the smoke test.
SIZES = {
    "full": {
        "chain": {"n": 16, "steps": 200},
        "jvp_chain": {"n": 16, "steps": 200},
        "custom_chain": {"n": 16, "steps": 200, "scale": 1.0},
        "mlp_small": {"batch": 32, "widths": (64, 64, 64)},
        "mlp_large": {"batch": 256, "widths": (1024, 1024, 1024, 1024)},
        "per_example_grads": {"batch": 128, "widths": (64, 64, 64)},
    },
    "tiny": {
        "chain": {"n": 4, "steps": 5},
        "jvp_chain": {"n": 4, "steps": 5},
        # A loss scale of 3 makes the clipping in clip_gradient's rule actually change values.
        "custom_chain": {"n": 4, "steps": 5, "scale": 3.0},
        "mlp_small": {"batch": 3, "widths": (4, 5, 2)},
        # One square weight matrix, as at the full sizes: a transpose of it keeps its shape.
        "mlp_large": {"batch": 3, "widths": (4, 5, 5, 3)},
        "per_example_grads": {"batch": 3, "widths": (4, 5, 2)},
    },
}

CHAIN_SCALE = 1.01
CHAIN_SHIFT = 0.1


@dataclass
class Impl:
    """One implementation of one workload, ready to be called."""

    run: Callable[[], Any]
    to_numpy: Callable[[Any], tuple[Any, list[np.ndarray]]]


class Unavailable(Exception):
    """The framework is not installed (or cannot run this workload)."""


# -- data ----------------------------------------------------------------------------------------


def make_data(workload: str, size: str = "full") -> dict:
    """NumPy float32 inputs for ``workload`` at ``size`` ("full" or "tiny"), from a fixed seed."""
    spec = dict(SIZES[size][workload])
    rng = np.random.default_rng(20261125)
    if workload in ("chain", "custom_chain", "jvp_chain"):
        x = rng.uniform(-1.5, 1.5, size=spec["n"]).astype(np.float32)
        t = rng.uniform(-1.0, 1.0, size=spec["n"]).astype(np.float32)
        return {"spec": spec, "x": x, "t": t}
    widths = spec["widths"]
    params = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        w = (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
        b = (0.1 * rng.standard_normal(fan_out)).astype(np.float32)
        params.append((w, b))
    x = rng.standard_normal((spec["batch"], widths[0])).astype(np.float32)
    y = rng.standard_normal((spec["batch"], widths[-1])).astype(np.float32)
    return {"spec": spec, "params": params, "x": x, "y": y}


def _flat_params(params):
    return [leaf for layer in params for leaf in layer]


# -- hand-written NumPy (the baseline) ----------------------------------------------------------


def hand_chain(x, steps):
    saved = []
    for _ in range(steps):
        saved.append(x)
        x = np.sin(x) * CHAIN_SCALE + CHAIN_SHIFT
    value = x.sum()
    g = np.ones_like(x)
    for xk in reversed(saved):
        g = g * (np.cos(xk) * CHAIN_SCALE)
    return value, g


def hand_jvp_chain(x, t, steps):
    for _ in range(steps):
        t = t * (np.cos(x) * CHAIN_SCALE)
        x = np.sin(x) * CHAIN_SCALE + CHAIN_SHIFT
    return x, t


def hand_custom_chain(x, steps, scale):
    saved = []
    for _ in range(steps):
        saved.append(x)
        x = np.sin(x)
    value = x.sum() * scale if scale != 1.0 else x.sum()
    g = np.full_like(x, scale)
    for xk in reversed(saved):
        g = np.minimum(np.maximum(g, -1.0), 1.0)  # clip_gradient's backward rule
        g = g * np.cos(xk)  # sin's
    return value, g


def hand_mlp(params, x, y):
    n = len(params)
    acts = [x]  # the input of every layer
    h = x
    for i, (w, b) in enumerate(params):
        z = h @ w + b
        h = np.tanh(z) if i < n - 1 else z
        acts.append(h)
    d = h - y
    loss = np.mean(d * d)
    g = d * (2.0 / d.size)
    grads = [None] * n
    for i in reversed(range(n)):
        w, _ = params[i]
        h_in = acts[i]
        grads[i] = (h_in.T @ g, g.sum(axis=0))
        if i > 0:
            g = (g @ w.T) * (1.0 - h_in * h_in)  # h_in = tanh(z), tanh' = 1 - tanh^2
    return loss, grads


def hand_per_example(params, x, y):
    """The gradient of the loss of each example (a row of ``x`` and ``y``) on its own."""
    n = len(params)
    acts = [x]
    h = x
    for i, (w, b) in enumerate(params):
        z = h @ w + b
        h = np.tanh(z) if i < n - 1 else z
        acts.append(h)
    g = (h - y) * (2.0 / y.shape[1])  # d mean((pred - y)^2) / d pred, per example
    grads = [None] * n
    for i in reversed(range(n)):
        w, _ = params[i]
        h_in = acts[i]
        grads[i] = (np.einsum("bi,bj->bij", h_in, g), g)
        if i > 0:
            g = (g @ w.T) * (1.0 - h_in * h_in)
    return grads


def _build_numpy(workload, data):
    spec = data["spec"]
    if workload == "chain":
        x = data["x"]
        return Impl(lambda: hand_chain(x, spec["steps"]), lambda r: (r[0], [r[1]]))
    if workload == "jvp_chain":
        x, t = data["x"], data["t"]
        return Impl(lambda: hand_jvp_chain(x, t, spec["steps"]), lambda r: (r[0], [r[1]]))
    if workload == "custom_chain":
        x = data["x"]
        return Impl(
            lambda: hand_custom_chain(x, spec["steps"], spec["scale"]),
            lambda r: (r[0], [r[1]]),
        )
    params, x, y = data["params"], data["x"], data["y"]
    if workload == "per_example_grads":
        return Impl(lambda: hand_per_example(params, x, y), lambda r: (None, _flat_params(r)))
    return Impl(lambda: hand_mlp(params, x, y), lambda r: (r[0], _flat_params(r[1])))


# -- pullback and JAX: one source ---------------------------------------------------------------


def _jaxlike_chain(jax, jnp, steps):
    def f(x):
        for _ in range(steps):
            x = jnp.sin(x) * CHAIN_SCALE + CHAIN_SHIFT
        return jnp.sum(x)

    return jax.grad(f)


def _jaxlike_jvp_chain(jax, jnp, steps):
    def f(x):
        for _ in range(steps):
            x = jnp.sin(x) * CHAIN_SCALE + CHAIN_SHIFT
        return x

    return lambda x, t: jax.jvp(f, (x,), (t,))


def _jaxlike_custom_chain(jax, jnp, steps, scale):
    @jax.custom_vjp
    def clip_gradient(x):
        return x

    def clip_gradient_fwd(x):
        return x, None

    def clip_gradient_bwd(_, g):
        return (jnp.minimum(jnp.maximum(g, -1.0), 1.0),)

    clip_gradient.defvjp(clip_gradient_fwd, clip_gradient_bwd)

    def f(x):
        for _ in range(steps):
            x = clip_gradient(jnp.sin(x))
        return jnp.sum(x) * scale if scale != 1.0 else jnp.sum(x)

    return jax.grad(f)


def _jaxlike_mlp_loss(jnp):
    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = jnp.tanh(h @ w + b)
        w, b = params[-1]
        pred = h @ w + b
        return jnp.mean((pred - y) ** 2)

    return loss


def _jaxlike_mlp(jax, jnp, per_example=False):
    loss = _jaxlike_mlp_loss(jnp)
    if per_example:
        return jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))
    return jax.value_and_grad(loss)


def _jaxlike_fn(jax, jnp, workload, spec):
    if workload == "chain":
        return _jaxlike_chain(jax, jnp, spec["steps"])
    if workload == "jvp_chain":
        return _jaxlike_jvp_chain(jax, jnp, spec["steps"])
    if workload == "custom_chain":
        return _jaxlike_custom_chain(jax, jnp, spec["steps"], spec["scale"])
    return _jaxlike_mlp(jax, jnp, per_example=workload == "per_example_grads")


def _jaxlike_impl(jax, jnp, workload, data, *, jit=False, block=None):
    spec = data["spec"]
    fn = _jaxlike_fn(jax, jnp, workload, spec)
    if jit:
        fn = jax.jit(fn)
    finish = block or (lambda out: out)
    if workload == "jvp_chain":
        x, t = jnp.asarray(data["x"]), jnp.asarray(data["t"])
        return Impl(lambda: finish(fn(x, t)), lambda r: (np.asarray(r[0]), [np.asarray(r[1])]))
    if workload in ("chain", "custom_chain"):
        x = jnp.asarray(data["x"])
        return Impl(lambda: finish(fn(x)), lambda g: (None, [np.asarray(g)]))
    params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in data["params"]]
    x, y = jnp.asarray(data["x"]), jnp.asarray(data["y"])
    if workload == "per_example_grads":
        return Impl(
            lambda: finish(fn(params, x, y)),
            lambda r: (None, [np.asarray(g) for g in _flat_params(r)]),
        )
    return Impl(
        lambda: finish(fn(params, x, y)),
        lambda r: (np.asarray(r[0]), [np.asarray(g) for g in _flat_params(r[1])]),
    )


def _import(name):
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise Unavailable(f"{name} is not installed") from e


def _build_pullback(workload, data, jit):
    pb = _import("pullback")
    pnp = _import("pullback.numpy")
    return _jaxlike_impl(pb, pnp, workload, data, jit=jit)


def _build_pullback_loop(workload, data):
    """``per_example_grads`` as a Python loop of pullback ``grad`` calls, one per example."""
    if workload != "per_example_grads":
        raise Unavailable("the grad loop is only a baseline of per_example_grads")
    pb = _import("pullback")
    pnp = _import("pullback.numpy")
    grad = pb.grad(_jaxlike_mlp_loss(pnp))
    params = [(pnp.asarray(w), pnp.asarray(b)) for w, b in data["params"]]
    xs = [pnp.asarray(r) for r in data["x"]]
    ys = [pnp.asarray(r) for r in data["y"]]

    def run():
        return [grad(params, x, y) for x, y in zip(xs, ys, strict=True)]

    def to_numpy(per):
        stacked = [
            np.stack([np.asarray(g) for g in leaves]) for leaves in zip(*map(_flat_params, per))
        ]
        return None, stacked

    return Impl(run, to_numpy)


def _build_jax(workload, data, jit):
    jax = _import("jax")
    jnp = _import("jax.numpy")
    # JAX dispatches asynchronously: wait for the result inside the timed call.
    return _jaxlike_impl(jax, jnp, workload, data, jit=jit, block=jax.block_until_ready)


# -- autograd ------------------------------------------------------------------------------------


def _build_autograd(workload, data):
    if workload == "per_example_grads":
        raise Unavailable("autograd has no vmap")
    autograd = _import("autograd")
    anp = _import("autograd.numpy")
    extend = _import("autograd.extend")
    spec = data["spec"]
    if workload == "jvp_chain":
        raise Unavailable("autograd has no forward mode")
    if workload == "chain":
        steps = spec["steps"]

        def f(x):
            for _ in range(steps):
                x = anp.sin(x) * CHAIN_SCALE + CHAIN_SHIFT
            return anp.sum(x)

        fn = autograd.grad(f)
    elif workload == "custom_chain":
        steps, scale = spec["steps"], spec["scale"]

        @extend.primitive
        def clip_gradient(x):
            return x

        extend.defvjp(clip_gradient, lambda ans, x: lambda g: np.minimum(np.maximum(g, -1.0), 1.0))

        def f(x):
            for _ in range(steps):
                x = clip_gradient(anp.sin(x))
            return anp.sum(x) * scale if scale != 1.0 else anp.sum(x)

        fn = autograd.grad(f)
    else:

        def loss(params, x, y):
            h = x
            for w, b in params[:-1]:
                h = anp.tanh(anp.dot(h, w) + b)
            w, b = params[-1]
            pred = anp.dot(h, w) + b
            return anp.mean((pred - y) ** 2)

        vg = autograd.value_and_grad(loss)
        params, x, y = data["params"], data["x"], data["y"]
        return Impl(lambda: vg(params, x, y), lambda r: (r[0], _flat_params(r[1])))
    x = data["x"]
    return Impl(lambda: fn(x), lambda g: (None, [np.asarray(g)]))


# -- PyTorch -------------------------------------------------------------------------------------


def _build_torch(workload, data):
    torch = _import("torch")
    spec = data["spec"]
    if workload == "jvp_chain":
        torch_func = _import("torch.func")
        x, t, steps = (
            torch.from_numpy(data["x"].copy()),
            torch.from_numpy(data["t"].copy()),
            spec["steps"],
        )

        def f(x):
            for _ in range(steps):
                x = torch.sin(x) * CHAIN_SCALE + CHAIN_SHIFT
            return x

        return Impl(lambda: torch_func.jvp(f, (x,), (t,)), lambda r: (r[0].numpy(), [r[1].numpy()]))
    if workload in ("chain", "custom_chain"):
        x = torch.from_numpy(data["x"].copy()).requires_grad_(True)
        steps = spec["steps"]
        if workload == "chain":

            def step(x):
                return torch.sin(x) * CHAIN_SCALE + CHAIN_SHIFT

            scale = 1.0
        else:

            class ClipGradient(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    return x.view_as(x)

                @staticmethod
                def backward(ctx, g):
                    return g.clamp(-1.0, 1.0)

            def step(x):
                return ClipGradient.apply(torch.sin(x))

            scale = spec["scale"]

        def run():
            h = x
            for _ in range(steps):
                h = step(h)
            s = h.sum() * scale if scale != 1.0 else h.sum()
            (g,) = torch.autograd.grad(s, x)
            return g

        return Impl(run, lambda g: (None, [g.numpy()]))

    if workload == "per_example_grads":
        return _build_torch_per_example(torch, data)
    params = [
        (
            torch.from_numpy(w.copy()).requires_grad_(True),
            torch.from_numpy(b.copy()).requires_grad_(True),
        )
        for w, b in data["params"]
    ]
    flat = _flat_params(params)
    x, y = torch.from_numpy(data["x"].copy()), torch.from_numpy(data["y"].copy())

    def run():
        h = x
        for w, b in params[:-1]:
            h = torch.tanh(h @ w + b)
        w, b = params[-1]
        loss = torch.mean((h @ w + b - y) ** 2)
        grads = torch.autograd.grad(loss, flat)
        return loss.detach(), grads

    return Impl(run, lambda r: (r[0].numpy(), [g.numpy() for g in r[1]]))


def _build_torch_per_example(torch, data):
    from torch.func import grad, vmap

    params = [(torch.from_numpy(w.copy()), torch.from_numpy(b.copy())) for w, b in data["params"]]
    x, y = torch.from_numpy(data["x"].copy()), torch.from_numpy(data["y"].copy())

    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = torch.tanh(h @ w + b)
        w, b = params[-1]
        return torch.mean((h @ w + b - y) ** 2)

    per_example = vmap(grad(loss), in_dims=(None, 0, 0))
    return Impl(
        lambda: per_example(params, x, y), lambda r: (None, [g.numpy() for g in _flat_params(r)])
    )


# -- entry point ---------------------------------------------------------------------------------


def build(framework: str, workload: str, data: dict) -> Impl:
    """The implementation of ``workload`` in ``framework``; raises ``Unavailable`` if missing."""
    if framework == "numpy":
        return _build_numpy(workload, data)
    if framework in ("pullback", "pullback.jit"):
        return _build_pullback(workload, data, jit=framework == "pullback.jit")
    if framework == "pullback.loop":
        return _build_pullback_loop(workload, data)
    if framework == "autograd":
        return _build_autograd(workload, data)
    if framework in ("jax", "jax.jit"):
        return _build_jax(workload, data, jit=framework == "jax.jit")
    if framework == "torch":
        return _build_torch(workload, data)
    raise ValueError(f"unknown framework {framework!r}; expected one of {FRAMEWORKS}")


def compare(result, reference, rtol=1e-4):
    """Compare ``(value, grads)`` against the hand-written reference.

    Returns ``None`` when they agree, otherwise a message naming the first mismatch. Each leaf is
    compared with ``allclose(rtol=rtol, atol=rtol * max|reference leaf|)``, and magnitudes below
    float32's smallest normal number count as zero (XLA flushes subnormals; NumPy keeps them).
    """
    value, grads = result
    ref_value, ref_grads = reference
    pairs = []
    if value is not None and ref_value is not None:
        pairs.append(("value", value, ref_value))
    if len(grads) != len(ref_grads):
        return f"expected {len(ref_grads)} gradient leaves, got {len(grads)}"
    pairs += [(f"gradient leaf {i}", g, r) for i, (g, r) in enumerate(zip(grads, ref_grads))]
    for what, got, want in pairs:
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            return f"{what}: shape {got.shape}, expected {want.shape}"
        tiny = float(np.finfo(np.float32).tiny)
        atol = max(rtol * float(np.max(np.abs(want), initial=0.0)), tiny)
        if not np.allclose(got, want, rtol=rtol, atol=atol):
            err = float(np.max(np.abs(got - want)))
            return f"{what}: max abs difference {err:.3g} (atol {atol:.3g}, rtol {rtol:g})"
    return None
