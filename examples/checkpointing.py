"""Gradient checkpointing: trade recomputation for memory.

A deep network's gradient keeps, for every layer, what the backward pass needs. ``checkpoint``
around a layer keeps only the layer's input and recomputes the rest in the backward pass; a
policy keeps more (here the products, the expensive part); checkpoints nested in groups keep
only the groups' inputs. The gradient is the same every time. ``print_saved_residuals`` lists
what is kept; this example counts it.

Last, ``optimize_remat``: a custom rule whose ``fwd`` is an opaque kernel (foreign code through
``pure_callback``) runs that kernel twice under ``checkpoint``, once for the output and once to
recompute the residual; with ``optimize_remat=True`` the forward pass runs ``fun`` instead.
"""

import contextlib
import io
import re

import numpy as np

import pullback as jax
import pullback.numpy as jnp
from pullback.ad_checkpoint import checkpoint_name, print_saved_residuals

DEPTH, WIDTH, BATCH = 16, 32, 8


def layer(params, x):
    w, b = params
    return jnp.sin(checkpoint_name(x @ w, "product") + b)


def network(layer_fn, groups=None):
    def loss(params, x):
        if groups is None:
            for p in params:
                x = layer_fn(p, x)
        else:  # checkpointed groups of checkpointed layers: sqrt(N) activations kept

            def group(ps, x):
                for p in ps:
                    x = layer_fn(p, x)
                return x

            size = len(params) // groups
            for g in range(groups):
                x = jax.checkpoint(group)(params[g * size : (g + 1) * size], x)
        return jnp.mean(x**2)

    return loss


def kept(loss, *args):
    """(arrays, KiB) that reverse mode keeps beyond the arguments, read from
    print_saved_residuals."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_saved_residuals(loss, *args)
    lines = [line for line in out.getvalue().splitlines() if "from the argument" not in line]
    shapes = [re.match(r"f32\[([\d,]*)\]", line)[1] for line in lines]
    sizes = [np.prod([int(d) for d in shape.split(",") if d]) for shape in shapes]
    return len(lines), sum(sizes) * 4 / 1024


def main():
    rng = np.random.default_rng(0)
    params = [
        (
            jnp.asarray(rng.normal(size=(WIDTH, WIDTH)).astype(np.float32) / np.sqrt(WIDTH)),
            jnp.asarray(rng.normal(size=WIDTH).astype(np.float32) * 0.1),
        )
        for _ in range(DEPTH)
    ]
    x = jnp.asarray(rng.normal(size=(BATCH, WIDTH)).astype(np.float32))
    variants = {
        "no checkpoint": network(layer),
        "checkpoint per layer": network(jax.checkpoint(layer)),
        "  keeping products": network(
            jax.checkpoint(layer, policy=jax.checkpoint_policies.dots_saveable)
        ),
        "  keeping 'product'": network(
            jax.checkpoint(layer, policy=jax.checkpoint_policies.save_only_these_names("product"))
        ),
        "4 groups of 4": network(jax.checkpoint(layer), groups=4),
    }
    plain = jax.grad(variants["no checkpoint"])(params, x)
    for name, loss in variants.items():
        grads = jax.grad(loss)(params, x)
        same = all(
            np.allclose(g, p, rtol=1e-5, atol=1e-6)
            for g, p in zip(jax.tree_util.tree_leaves(grads), jax.tree_util.tree_leaves(plain))
        )
        n, kib = kept(loss, params, x)
        print(f"{name:22s} keeps {n:2d} arrays, {kib:5.1f} KiB; same gradient: {same}")
    print(f"loss: {variants['no checkpoint'](params, x):.5f}")

    calls = []

    def sin_kernel(x):
        calls.append("fun kernel")
        return np.sin(x)

    def sin_cos_kernel(x):
        calls.append("fwd kernel")
        return np.sin(x), np.cos(x)

    spec = jax.ShapeDtypeStruct((WIDTH,), jnp.float32)

    def opaque_sin(optimize_remat):
        @jax.custom_vjp
        def f(x):
            return jax.pure_callback(sin_kernel, spec, x)

        def f_fwd(x):
            return jax.pure_callback(sin_cos_kernel, (spec, spec), x)

        def f_bwd(cos_x, g):
            return (cos_x * g,)

        f.defvjp(f_fwd, f_bwd, optimize_remat=optimize_remat)
        return f

    v = x[0]
    for flag in (False, True):
        f = opaque_sin(flag)
        calls.clear()
        g = jax.grad(lambda v: jnp.sum(jax.checkpoint(f)(v) ** 2))(v)  # noqa: B023
        print(f"optimize_remat={flag}: {sorted(calls)}, grad[:3] {np.round(np.asarray(g)[:3], 5)}")


if __name__ == "__main__":
    main()
