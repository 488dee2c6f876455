"""Gradient checkpointing (``checkpoint``/``remat``) in pullback and JAX, side by side in one
run: what reverse mode keeps for the backward pass, the memory one gradient takes, and the time.

    python benchmarks/remat.py                  # the full run (about 5 minutes on 2 CPUs)
    python benchmarks/remat.py --quick          # fewer timed calls (about 2 minutes)
    python benchmarks/remat.py --json out.json --only mlp

The programs (``mlp_loss``, ``rnn_loss``) are written once as functions of the ``jax`` and
``jnp`` modules, so pullback (``jax`` = ``pullback``) and JAX run the same program text:

* ``mlp``: ``grad`` (with respect to the parameters) of ``mean(x_L ** 2)`` where
  ``x_{i+1} = tanh(x_i @ W_i + b_i)``: 64 layers of width 512, batch 64 (params: a list of
  ``(W float32[512, 512], b float32[512])``, ``x`` float32[64, 512]).
* ``rnn``: ``lax.scan`` over 1,000 steps of ``h = tanh(h @ Wh + x_t @ Wx + b)``, width 256,
  batch 8 (``xs`` float32[1000, 8, 256], ``h`` starts at zeros), loss ``sum(h_final ** 2)``
  (the final carry only: the scan has no stacked outputs, so every stacked value that reverse
  mode keeps is the scan's own residual); ``grad`` with respect to ``(Wh, Wx, b)``.

The variants of each program:

* ``none``: no checkpoint;
* ``jax.checkpoint`` on every layer (``mlp``) or on the scan body (``rnn``,
  ``lax.scan(jax.checkpoint(cell, policy=...), h0, xs)``) with ``policy=None`` (the default),
  ``checkpoint_policies.nothing_saveable``, ``everything_saveable``, ``dots_saveable``,
  ``dots_with_no_batch_dims_saveable`` and ``save_only_these_names('h')``. The pre-activation
  is named ``'h'`` with ``jax.ad_checkpoint.checkpoint_name`` in the last variant only (in the
  others a name changes nothing, and the uncheckpointed program then needs nothing of
  ``ad_checkpoint``);
* ``nested`` (sqrt(N)-style): ``mlp``: 8 groups of 8 layers, each group checkpointed around
  its 8 per-layer checkpoints (all ``policy=None``); ``rnn``: 1000 = 40 x 25, a scan of 40 outer
  steps over ``xs`` reshaped to [40, 25, 8, 256], whose checkpointed body is a scan of 25 inner
  steps of the plain (uncheckpointed) cell. The backward pass then keeps 40 carries, and
  recomputes one chunk of 25 steps at a time, keeping that chunk's residuals only.

Measured per variant and framework, each framework in its own worker process (one framework
works at a time, so that their thread pools never compete):

* residuals: ``jax.ad_checkpoint.saved_residuals(f, params, x)``, the ``(aval, description)``
  list of what reverse mode keeps (JAX 0.10 exports only ``print_saved_residuals``; its
  ``saved_residuals`` is read from ``jax._src.ad_checkpoint``). Reported: the count and MiB
  (2**20 bytes; bytes = prod(shape) * itemsize) of all of them, and the MiB of those that are
  not arguments (descriptions starting "from the argument"). ``saved_residuals``
  differentiates with respect to every argument, ``x`` too; the argument residuals this adds
  (``W_0``; ``Wx``) are arguments, so the figures "excluding arguments" are those of ``grad``.
  "= JAX" compares the sorted lists of (shape, dtype) of all residuals.
* peak MiB (pullback only): ``tracemalloc`` (NumPy registers its buffers with it) started just
  before one eager ``grad`` call (after a warm-up call), peak minus what was traced before the
  call; in brackets the peak minus what the call still holds when it returns (its result, the
  gradient: 64 MiB for the mlp). The same for one call of the jitted gradient. Where the
  residuals are freed while the gradient grows (the mlp's 1 MiB weight gradients replace
  0.125 MiB activations), the peak comes at the end and the bracket is small: it is not the
  residual memory, which ``saved_residuals`` gives. XLA's buffers are invisible to tracemalloc:
  n/a for JAX.
* time: the median of 11 calls (3 with ``--quick``) of eager ``jax.grad(f)`` and of
  ``jax.jit(jax.grad(f))`` (compiled in warm-up), gc off during each call. Every variant is
  built and warmed up first; then the calls are taken in rounds, each round one call of every
  variant and mode in one framework, then in the other, so that drift of the (shared, noisy)
  machine affects all variants alike.
* ratios: each variant's pullback eager and jit time, residual MiB excluding arguments and
  eager peak, over the uncheckpointed pullback run (``none``); a time ratio is the median over
  the rounds of the variant's call over ``none``'s call in the same round.

Every variant's gradient is checked against the same framework's uncheckpointed eager gradient
(and pullback's uncheckpointed gradient against JAX's); a mismatch is reported loudly and makes
the exit status 1. A framework that lacks a feature (pullback before ``checkpoint`` exists)
shows "n/a" and the reason in the notes.

Residual counts that ``checkpoint``'s semantics fix (``expected_residual_counts``), with L
layers, G groups (mlp) and T steps (rnn); the count of all residuals, then of the non-argument
ones:

* mlp, ``policy=None`` and ``nothing_saveable``: every layer's input is kept, nothing inside a
  layer: ``(3L + 1, L)``: the arguments W_i, b_i (to recompute the layer) and x, the L - 1
  inputs x_1 .. x_{L-1} and the loss's one value (``2 * x_L``).
* mlp, ``dots_saveable`` and ``dots_with_no_batch_dims_saveable`` (``x @ W`` has no batch
  dimensions): also the L products ``x_i @ W_i``: ``(4L + 1, 2L)``.
* mlp, ``save_only_these_names('h')``: the L named pre-activations instead of the products, and
  then ``b_i`` is not needed (``tanh'`` is recomputed from ``h``): ``(3L + 1, 2L)``.
* mlp, ``nested``: the G - 1 group inputs and the loss's value: ``(2L + G + 1, G)``.
* rnn, ``policy=None``, ``nothing_saveable``: the carry of every step (T stacked values, one
  residual) besides the arguments ``Wh``, ``Wx``, ``b``, ``xs`` and the loss's value:
  ``(6, 2)``; ``save_only_these_names('h')``: also the stacked named pre-activations, and then
  ``b`` is not needed: ``(6, 3)``; ``dots_saveable`` and ``dots_with_no_batch_dims_saveable``:
  also the two stacked products ``h @ Wh`` and ``x_t @ Wx``: ``(8, 4)``.
* rnn, ``nested``: the 40 outer carries (stacked), the loss's value, ``Wh``, ``Wx``, ``b`` and
  ``xs`` reshaped to [40, 25, 8, 256], which is not an argument but the output of ``reshape``
  (so the figures excluding arguments count a copy of ``xs``, 7.8 MiB, although under NumPy
  it is a view and under XLA a bitcast): ``(6, 3)``.

Without checkpoint and with ``everything_saveable`` the count depends on the frameworks'
derivative rules (JAX's ``tanh`` keeps two values per layer, its
output and ``1 - output``), and none is fixed here. These are the counts of JAX 0.10.2 (the
script notes any framework that differs); ``tests/test_remat_benchmark_smoke.py`` checks
pullback's at tiny sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import importlib.metadata
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
import traceback
import tracemalloc
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
# Benchmark the working tree's pullback (the same one when installed with ``pip install -e``).
if SRC.is_dir() and str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import workloads as W  # noqa: E402

PROGRAMS = ("mlp", "rnn")
PROGRAM_TITLES = {
    "mlp": "mlp: grad of mean(x_L ** 2), {layers} tanh layers of width {width}, batch {batch}",
    "rnn": (
        "rnn: grad of sum(h_T ** 2), lax.scan over {steps} steps of h = tanh(h @ Wh + x_t @ Wx"
        " + b), width {width}, batch {batch}"
    ),
}
VARIANTS = (
    "none",
    "default",
    "nothing_saveable",
    "everything_saveable",
    "dots_saveable",
    "dots_with_no_batch_dims_saveable",
    "save_only_these_names",
    "nested",
)
POLICY_VARIANTS = VARIANTS[1:-1]
FRAMEWORKS = ("pullback", "jax")
FRAMEWORK_LABELS = {"pullback": "pullback", "jax": "JAX"}

# ``full`` are the benchmark sizes; ``tiny`` are for the smoke test.
SIZES = {
    "full": {
        "mlp": {"layers": 64, "width": 512, "batch": 64, "groups": 8},
        "rnn": {"steps": 1000, "width": 256, "batch": 8, "outer": 40, "inner": 25},
    },
    "tiny": {
        "mlp": {"layers": 4, "width": 6, "batch": 3, "groups": 2},
        "rnn": {"steps": 6, "width": 5, "batch": 2, "outer": 3, "inner": 2},
    },
}

# pullback's targets on ``mlp`` with ``nothing_saveable`` on every layer, against ``none``.
TARGET_VARIANT = ("mlp", "nothing_saveable")
TARGET_RESIDUAL_RATIO = 1 / 8  # residual MiB excluding arguments
TARGET_TIME_RATIO = 1.5

MIB = 2.0**20


class Unavailable(Exception):
    """The framework is not installed or lacks what the program needs."""


def variant_label(program, variant, spec):
    if variant == "none":
        return "no checkpoint"
    if variant == "default":
        return "policy=None"
    if variant == "save_only_these_names":
        return "save_only_these_names('h')"
    if variant == "nested":
        if program == "mlp":
            g = spec["groups"]
            return f"nested: {g} groups of {spec['layers'] // g}"
        return f"nested: scan {spec['outer']} x scan {spec['inner']}"
    return variant


# -- data ----------------------------------------------------------------------------------------


def make_data(program, size="full"):
    """NumPy float32 inputs of ``program`` at ``size`` ("full" or "tiny"), from a fixed seed:
    ``{"spec", "params", "x"}``."""
    spec = dict(SIZES[size][program])
    rng = np.random.default_rng(20260301)
    n = spec["width"]

    def matrix():
        return (rng.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32)

    def bias():
        return (0.1 * rng.standard_normal(n)).astype(np.float32)

    if program == "mlp":
        params = [(matrix(), bias()) for _ in range(spec["layers"])]
        x = rng.standard_normal((spec["batch"], n)).astype(np.float32)
    else:
        if spec["outer"] * spec["inner"] != spec["steps"]:
            raise ValueError(f"outer x inner must be the number of steps: {spec}")
        params = (matrix(), matrix(), bias())
        x = rng.standard_normal((spec["steps"], spec["batch"], n)).astype(np.float32)
    return {"spec": spec, "params": params, "x": x}


def to_arrays(jnp, data):
    """``(params, x)`` of ``data`` as the framework's arrays."""
    params = data["params"]
    if isinstance(params, list):
        params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in params]
    else:
        params = tuple(jnp.asarray(p) for p in params)
    return params, jnp.asarray(data["x"])


# -- the programs: one text for pullback and JAX -------------------------------------------------


def ad_checkpoint(jax):
    """``jax.ad_checkpoint`` (JAX does not import it with ``import jax``)."""
    try:
        return importlib.import_module(f"{jax.__name__}.ad_checkpoint")
    except ImportError as e:
        raise Unavailable(f"{jax.__name__} has no ad_checkpoint module") from e


def checkpoint_of(jax):
    if not hasattr(jax, "checkpoint"):
        raise Unavailable(f"{jax.__name__} has no checkpoint")
    return jax.checkpoint


def policy_of(jax, variant):
    cp = jax.checkpoint_policies
    if variant == "default":
        return None
    if variant == "save_only_these_names":
        return cp.save_only_these_names("h")
    return getattr(cp, variant)


def _namer(jax, variant):
    if variant == "save_only_these_names":
        return ad_checkpoint(jax).checkpoint_name
    return lambda x, name: x


def mlp_loss(jax, jnp, variant, spec):
    """``loss(params, x)``: ``mean(x_L ** 2)`` of the tanh MLP, checkpointed as ``variant``."""
    name = _namer(jax, variant)

    def layer(p, x):
        w, b = p
        return jnp.tanh(name(x @ w + b, "h"))

    if variant == "nested":
        checkpoint = checkpoint_of(jax)
        size = spec["layers"] // spec["groups"]
        inner = checkpoint(layer)

        def group(ps, x):
            for p in ps:
                x = inner(p, x)
            return x

        outer = checkpoint(group)

        def loss(params, x):
            for k in range(0, len(params), size):
                x = outer(params[k : k + size], x)
            return jnp.mean(x**2)

        return loss

    step = layer
    if variant != "none":
        step = checkpoint_of(jax)(layer, policy=policy_of(jax, variant))

    def loss(params, x):
        for p in params:
            x = step(p, x)
        return jnp.mean(x**2)

    return loss


def rnn_loss(jax, jnp, variant, spec):
    """``loss(params, xs)``: ``sum(h_T ** 2)`` after the scan, checkpointed as ``variant``."""
    name = _namer(jax, variant)
    if variant != "none":
        checkpoint = checkpoint_of(jax)

    def loss(params, xs):
        wh, wx, b = params

        def cell(h, x_t):
            return jnp.tanh(name(h @ wh + x_t @ wx + b, "h")), None

        h0 = jnp.zeros((xs.shape[1], wh.shape[0]), dtype=xs.dtype)
        if variant == "nested":

            def chunk(h, xs_chunk):
                h, _ = jax.lax.scan(cell, h, xs_chunk)
                return h, None

            chunks = xs.reshape(spec["outer"], spec["inner"], *xs.shape[1:])
            h, _ = jax.lax.scan(checkpoint(chunk), h0, chunks)
        else:
            body = cell if variant == "none" else checkpoint(cell, policy=policy_of(jax, variant))
            h, _ = jax.lax.scan(body, h0, xs)
        return jnp.sum(h**2)

    return loss


def build(jax, jnp, program, variant, spec):
    """The loss function of ``program`` checkpointed as ``variant``, in framework ``jax``."""
    return {"mlp": mlp_loss, "rnn": rnn_loss}[program](jax, jnp, variant, spec)


# -- residuals -----------------------------------------------------------------------------------


def saved_residuals_of(jax):
    ad = ad_checkpoint(jax)
    fn = getattr(ad, "saved_residuals", None)
    if fn is None and jax.__name__ == "jax":
        # JAX 0.10 exports print_saved_residuals only; saved_residuals is its implementation.
        from jax._src.ad_checkpoint import saved_residuals as fn
    if fn is None:
        raise Unavailable(f"{jax.__name__}.ad_checkpoint has no saved_residuals")
    return fn


def _where_kind(where):
    """A residual's description without the argument's name and the line of code."""
    if where.startswith("from the argument"):
        return "argument"
    return where.split(" from ")[0]


def summarize_residuals(residuals):
    """Counts and bytes of ``saved_residuals``' ``[(aval, description)]``."""
    rows = []
    for aval, where in residuals:
        shape = tuple(int(d) for d in aval.shape)
        dtype = np.dtype(aval.dtype)
        rows.append(
            {
                "shape": list(shape),
                "dtype": dtype.name,
                "bytes": int(np.prod(shape, dtype=np.int64)) * dtype.itemsize,
                "where": str(where),
                "argument": str(where).startswith("from the argument"),
            }
        )
    own = [r for r in rows if not r["argument"]]
    return {
        "count": len(rows),
        "bytes": sum(r["bytes"] for r in rows),
        "count_no_args": len(own),
        "bytes_no_args": sum(r["bytes"] for r in own),
        "list": rows,
    }


def residual_signature(summary):
    """The sorted list of (shape, dtype) of all residuals: what "= JAX" compares."""
    return sorted((tuple(r["shape"]), r["dtype"]) for r in summary["list"])


def residual_kinds(summary):
    """``"63x f32[64,512] output of tanh, ..."``: the residuals grouped by kind."""

    def short(r):
        dt = {"float32": "f32", "float64": "f64", "int32": "i32"}.get(r["dtype"], r["dtype"])
        return f"{dt}[{','.join(map(str, r['shape']))}] {_where_kind(r['where'])}"

    counts = Counter(short(r) for r in summary["list"])
    return ", ".join(f"{n}x {k}" for k, n in counts.items())


def residual_difference(mine, theirs):
    """What differs between two residual summaries (by shape and dtype), or None."""
    a, b = Counter(residual_signature(mine)), Counter(residual_signature(theirs))
    if a == b:
        return None

    def text(c):
        return ", ".join(f"{n}x {dt}{list(s)}" for (s, dt), n in sorted(c.items()))

    parts = []
    if a - b:
        parts.append(f"only pullback keeps {text(a - b)}")
    if b - a:
        parts.append(f"only JAX keeps {text(b - a)}")
    return "; ".join(parts)


def expected_residual_counts(program, variant, spec):
    """``(all, excluding arguments)``: the residual counts that checkpoint's semantics fix (see
    the module's docstring), or None where they depend on the derivative rules."""
    if program == "mlp":
        n, g = spec["layers"], spec["groups"]
        return {
            "default": (3 * n + 1, n),
            "nothing_saveable": (3 * n + 1, n),
            "dots_saveable": (4 * n + 1, 2 * n),
            "dots_with_no_batch_dims_saveable": (4 * n + 1, 2 * n),
            "save_only_these_names": (3 * n + 1, 2 * n),
            "nested": (2 * n + g + 1, g),
        }.get(variant)
    return {
        "default": (6, 2),
        "nothing_saveable": (6, 2),
        "dots_saveable": (8, 4),
        "dots_with_no_batch_dims_saveable": (8, 4),
        "save_only_these_names": (6, 3),
        "nested": (6, 3),
    }.get(variant)


# -- one framework's measurements (in its worker process) ----------------------------------------


def _first_line(e):
    return f"{type(e).__name__}: {e}".splitlines()[0][:200]


def _timed_calls(fn, calls):
    samples = []
    for _ in range(calls):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        finally:
            gc.enable()
    return samples


def traced_peak(fn):
    """Peak bytes traced by tracemalloc during ``fn()`` above what was traced before, and the
    bytes still held when it returns (its result)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        out = fn()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del out
    return {"peak_bytes": peak - before, "held_bytes": held - before}


def grad_leaves(jax, out):
    return [np.asarray(g) for g in jax.tree_util.tree_leaves(out)]


def compare_grads(got, want, rtol):
    return W.compare((None, got), (None, want), rtol=rtol)


class Framework:
    """One framework's modules, data, uncheckpointed gradients (the references) and the prepared
    calls of the variants being timed."""

    def __init__(self, name):
        self.name = name
        if name == "pullback":
            import pullback as jax
            import pullback.numpy as jnp
        else:
            import jax
            import jax.numpy as jnp
        self.jax, self.jnp = jax, jnp
        self.block = getattr(jax, "block_until_ready", lambda out: out)
        self.data = {}
        self.reference = {}
        self.calls = {}  # (variant, mode) -> the call to time

    def inputs(self, program, size):
        if (program, size) not in self.data:
            self.data.clear()
            self.calls.clear()
            gc.collect()
            data = make_data(program, size)
            self.data[(program, size)] = (data["spec"], *to_arrays(self.jnp, data))
        return self.data[(program, size)]

    def prepare(self, program, variant, size, opts):
        """Build one variant, list its residuals, check its gradients, trace its memory and warm
        it up for ``sample``: a dict of results, with ``notes`` for what failed."""
        jax = self.jax
        spec, params, x = self.inputs(program, size)
        cell = {"notes": [], "checks": {}}
        for mode in ("eager", "jit"):
            self.calls.pop((variant, mode), None)
        try:
            f = build(jax, self.jnp, program, variant, spec)
        except Unavailable as e:
            cell["notes"].append(str(e))
            return cell
        except Exception as e:
            cell["notes"].append(f"building the program: {_first_line(e)}")
            return cell
        try:
            cell["residuals"] = summarize_residuals(saved_residuals_of(jax)(f, params, x))
        except Unavailable as e:
            cell["notes"].append(f"residuals: {e}")
        except Exception as e:
            cell["notes"].append(f"residuals: {_first_line(e)}")
            cell["traceback"] = traceback.format_exc()

        def check(what, out):
            got = grad_leaves(jax, out)
            if variant == "none" and what == "eager":
                self.reference[(program, size)] = got
                if opts.get("return_reference"):
                    cell["reference"] = got
                return
            ref = self.reference.get((program, size))
            if ref is None:
                cell["notes"].append(f"{what}: no uncheckpointed gradient to check against")
                return
            problem = compare_grads(got, ref, opts["rtol"])
            cell["checks"][what] = "ok" if problem is None else f"FAIL: {problem}"

        block = self.block
        for mode in ("eager", "jit"):
            try:
                g = jax.grad(f)
                if mode == "jit":
                    g = jax.jit(g)
                call = lambda g=g: block(g(params, x))
                t0 = time.perf_counter()
                out = call()  # the first call (for jit, the compilation)
                cell[f"{mode}_first_s"] = time.perf_counter() - t0
                check(mode, out)
                del out
                if self.name == "pullback":
                    cell[f"{mode}_memory"] = traced_peak(call)
                for _ in range(opts["warmup"]):
                    call()
                self.calls[(variant, mode)] = call
            except Exception as e:
                cell["notes"].append(f"{mode}: {_first_line(e)}")
                cell.setdefault("traceback", traceback.format_exc())
        return cell

    def sample(self, variant, mode):
        """Seconds of one call of a prepared variant (None if it could not be prepared)."""
        call = self.calls.get((variant, mode))
        return None if call is None else _timed_calls(call, 1)[0]

    def measure(self, program, variant, size, opts):
        """``prepare`` and ``opts["calls"]`` timed calls of each mode, one variant alone."""
        cell = self.prepare(program, variant, size, opts)
        for mode in ("eager", "jit"):
            if (variant, mode) in self.calls:
                samples = [self.sample(variant, mode) for _ in range(opts["calls"])]
                cell[f"{mode}_s"] = statistics.median(samples)
                cell[f"{mode}_samples_s"] = samples
        return cell


def _worker(conn, framework):
    """One framework per process: XLA's and OpenBLAS's thread pools never meet in one."""
    try:
        fw = Framework(framework)
    except ImportError as e:
        conn.send({"unavailable": f"{framework} is not installed ({e})"})
        return
    info = {"version": getattr(fw.jax, "__version__", None)}
    info["has_checkpoint"] = hasattr(fw.jax, "checkpoint")
    conn.send(info)
    while True:
        cmd, *args = conn.recv()
        if cmd == "quit":
            return
        try:
            if cmd == "prepare":
                conn.send(("ok", fw.prepare(*args)))
            elif cmd == "samples":  # [(variant, mode)] -> [seconds or None]
                conn.send(("ok", [fw.sample(v, m) for v, m in args[0]]))
        except Exception as e:
            conn.send(("error", _first_line(e), traceback.format_exc()))


class Worker:
    def __init__(self, ctx, framework):
        self.framework = framework
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, framework), daemon=True)
        self.proc.start()
        child.close()
        try:
            self.info = self.conn.recv()
        except EOFError:
            self.info = {"unavailable": f"the {framework} worker died on start"}

    def ask(self, *cmd):
        """Send a command; the reply is ("ok", value) or ("error", message, traceback)."""
        try:
            self.conn.send(cmd)
            return self.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as e:
            return ("error", f"worker process died ({type(e).__name__})", "")

    def prepare(self, *args):
        reply = self.ask("prepare", *args)
        if reply[0] == "ok":
            return reply[1]
        return {"notes": [f"error: {reply[1]}"], "checks": {}, "traceback": reply[2]}

    def close(self):
        with contextlib.suppress(OSError):
            self.conn.send(("quit",))
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()


# -- formatting ----------------------------------------------------------------------------------


def fmt_time(seconds):
    if seconds is None:
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_mib(nbytes):
    if nbytes is None:
        return "n/a"
    mib = nbytes / MIB
    return f"{mib:.3g}" if mib < 10 else f"{mib:.1f}"


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}x"


def mark(met):
    return "n/a" if met is None else "✓" if met else "✗"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def residual_cell(cell):
    res = cell.get("residuals")
    if res is None:
        why = next((n for n in cell.get("notes", [])), None)
        return "n/a" if why is None else f"n/a ({why.removeprefix('residuals: ')})"
    return (
        f"{res['count']} / {fmt_mib(res['bytes'])} · "
        f"{res['count_no_args']} / {fmt_mib(res['bytes_no_args'])}"
    )


def memory_cell(cell, mode):
    mem = cell.get(f"{mode}_memory")
    if mem is None:
        return "n/a"
    return f"{fmt_mib(mem['peak_bytes'])} ({fmt_mib(mem['peak_bytes'] - mem['held_bytes'])})"


def time_cell(cell, mode):
    text = fmt_time(cell.get(f"{mode}_s"))
    check = cell.get("checks", {}).get(mode, "ok")
    return text if check == "ok" else text + " WRONG"


def _ratio(a, b):
    return None if a is None or not b else a / b


def variant_ratios(cell, base):
    """The variant's pullback figures over the uncheckpointed pullback run's."""
    res, base_res = cell.get("residuals"), base.get("residuals")
    mem, base_mem = cell.get("eager_memory"), base.get("eager_memory")
    return {
        "eager_time": cell.get("eager_vs_none", _ratio(cell.get("eager_s"), base.get("eager_s"))),
        "jit_time": cell.get("jit_vs_none", _ratio(cell.get("jit_s"), base.get("jit_s"))),
        "residual_bytes_no_args": _ratio(
            res and res["bytes_no_args"], base_res and base_res["bytes_no_args"]
        ),
        "eager_peak": _ratio(mem and mem["peak_bytes"], base_mem and base_mem["peak_bytes"]),
    }


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


# -- the run -------------------------------------------------------------------------------------


def run_program(program, workers, opts, failures, notes):
    """Prepare every variant in every framework, then time them in rounds: in each round every
    framework in turn times one call of each variant and mode (so that drift of the machine
    affects all variants alike)."""
    spec = SIZES[opts.size][program]
    cells = {variant: {} for variant in opts.variants}  # variant -> framework -> cell
    live = {fw: w for fw, w in workers.items() if "unavailable" not in w.info}
    for fw, worker in workers.items():
        if fw not in live:
            for variant in opts.variants:
                cells[variant][fw] = {"notes": [worker.info["unavailable"]], "checks": {}}
    for variant in opts.variants:
        label = variant_label(program, variant, spec)
        print(f"  preparing {program} / {label} ...", file=sys.stderr, flush=True)
        for fw, worker in live.items():
            time.sleep(opts.pause)  # let the other framework's threads go idle
            prepare_opts = {
                "rtol": opts.rtol,
                "warmup": opts.warmup,
                "return_reference": variant == "none",
            }
            cell = worker.prepare(program, variant, opts.size, prepare_opts)
            cells[variant][fw] = cell
            for n in cell["notes"]:
                notes.append(f"{FRAMEWORK_LABELS[fw]} / {program} / {label}: {n}")
            if opts.verbose and "traceback" in cell:
                print(cell["traceback"], file=sys.stderr)
            for mode, check in cell["checks"].items():
                if check != "ok":
                    failures.append(f"{FRAMEWORK_LABELS[fw]} {mode} / {program} / {label}: {check}")
                    print(
                        f"\n!!! CORRECTNESS FAILURE: {FRAMEWORK_LABELS[fw]} {mode} on {program} /"
                        f" {label}: the gradient differs from the uncheckpointed one: {check}\n",
                        file=sys.stderr,
                        flush=True,
                    )
    print(f"  timing {program}: {opts.calls} rounds ...", file=sys.stderr, flush=True)
    todo = [(v, m) for v in opts.variants for m in ("eager", "jit")]
    samples = {fw: {key: [] for key in todo} for fw in live}
    for _ in range(opts.calls):
        for fw, worker in live.items():
            time.sleep(opts.pause)
            reply = worker.ask("samples", todo)
            if reply[0] != "ok":
                notes.append(f"{FRAMEWORK_LABELS[fw]} / {program}: timing failed: {reply[1]}")
                continue
            for key, seconds in zip(todo, reply[1]):
                samples[fw][key].append(seconds)  # None: the variant could not be prepared
    for fw, by_key in samples.items():
        for (variant, mode), got in by_key.items():
            cell = cells[variant][fw]
            if any(t is not None for t in got):
                cell[f"{mode}_s"] = statistics.median(t for t in got if t is not None)
                cell[f"{mode}_samples_s"] = got
            # the time over the uncheckpointed variant's, round by round (drift cancels)
            base = by_key.get(("none", mode), [])
            paired = [t / b for t, b in zip(got, base) if t is not None and b]
            if paired:
                cell[f"{mode}_vs_none"] = statistics.median(paired)
    # pullback's uncheckpointed gradient against JAX's
    refs = {fw: cells.get("none", {}).get(fw, {}).pop("reference", None) for fw in workers}
    cross = None
    if refs.get("pullback") is not None and refs.get("jax") is not None:
        problem = compare_grads(refs["pullback"], refs["jax"], opts.cross_rtol)
        cross = "ok" if problem is None else f"FAIL: {problem}"
        if problem is not None:
            failures.append(f"pullback / {program} / no checkpoint: differs from JAX: {problem}")
    return spec, cells, cross


def report_program(program, spec, cells, cross, notes):
    """Print the tables of one program; returns ``(rows as dicts, targets)``."""
    base = cells.get("none", {}).get("pullback", {})
    header = [
        "variant",
        "pullback residuals n / MiB · excl. args n / MiB",
        "JAX residuals n / MiB · excl. args n / MiB",
        "= JAX",
        "pullback peak MiB eager (above result)",
        "pullback peak MiB jit (above result)",
        "pullback eager",
        "pullback jit",
        "JAX eager",
        "JAX jit",
        "vs none: pullback eager",
        "pullback jit",
        "residual MiB excl. args",
        "eager peak",
    ]
    rows, out = [], {}
    for variant, by_fw in cells.items():
        pb, jx = by_fw.get("pullback", {}), by_fw.get("jax", {})
        same = None
        difference = None
        if pb.get("residuals") and jx.get("residuals"):
            difference = residual_difference(pb["residuals"], jx["residuals"])
            same = difference is None
        ratios = variant_ratios(pb, base)
        label = variant_label(program, variant, spec)
        row = [
            label,
            residual_cell(pb),
            residual_cell(jx),
            mark(same),
            memory_cell(pb, "eager"),
            memory_cell(pb, "jit"),
            time_cell(pb, "eager"),
            time_cell(pb, "jit"),
            time_cell(jx, "eager"),
            time_cell(jx, "jit"),
        ]
        if variant == "none":
            row += ["1.00x" if base.get("eager_s") else "n/a"] * 4
        else:
            row += [fmt_ratio(ratios[k]) for k in ratios]
        rows.append(row)
        out[variant] = {
            "label": label,
            "pullback": pb,
            "jax": jx,
            "residuals_equal_jax": same,
            "residual_difference": difference,
            "pullback_vs_none": ratios,
        }
        expected = expected_residual_counts(program, variant, spec)
        for fw, cell in by_fw.items():
            res = cell.get("residuals")
            if expected and res and (res["count"], res["count_no_args"]) != expected:
                notes.append(
                    f"{FRAMEWORK_LABELS[fw]} / {program} / {label}: keeps "
                    f"({res['count']}, {res['count_no_args']}) residuals (all, excluding "
                    f"arguments), the script expects {expected}"
                )
    title = PROGRAM_TITLES[program].format(**spec)
    print(f"## {title}")
    print()
    print(markdown_table(header, rows))
    print()
    if cross is not None:
        print(f"pullback's uncheckpointed gradient against JAX's: {cross}")
        print()
    kinds = []
    for entry in out.values():
        pb, jx = entry["pullback"].get("residuals"), entry["jax"].get("residuals")
        if entry["residuals_equal_jax"]:
            kinds.append([entry["label"], "same as JAX's", residual_kinds(jx)])
        else:
            kinds.append(
                [
                    entry["label"],
                    residual_kinds(pb) if pb else "n/a",
                    residual_kinds(jx) if jx else "n/a",
                ]
            )
    print("What each keeps (saved_residuals, grouped by shape and origin):")
    print()
    print(markdown_table(["variant", "pullback", "JAX"], kinds))
    print()
    targets = {}
    if program == TARGET_VARIANT[0] and TARGET_VARIANT[1] in out:
        entry = out[TARGET_VARIANT[1]]
        r = entry["pullback_vs_none"]
        targets = {
            f"residual MiB excl. args ≤ 1/{1 / TARGET_RESIDUAL_RATIO:.0f} of no checkpoint": (
                None
                if r["residual_bytes_no_args"] is None
                else r["residual_bytes_no_args"] <= TARGET_RESIDUAL_RATIO
            ),
            f"eager time ≤ {TARGET_TIME_RATIO}x no checkpoint": (
                None if r["eager_time"] is None else r["eager_time"] <= TARGET_TIME_RATIO
            ),
            f"jit time ≤ {TARGET_TIME_RATIO}x no checkpoint": (
                None if r["jit_time"] is None else r["jit_time"] <= TARGET_TIME_RATIO
            ),
            "residual list (shapes, dtypes) = JAX's": entry["residuals_equal_jax"],
        }
        print(f"pullback's targets, {entry['label']} on every layer:")
        for what, met in targets.items():
            print(f"- {what}: {mark(met)}")
        print()
    return out, targets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timed calls")
    parser.add_argument("--json", metavar="PATH", help="also save the results as JSON")
    parser.add_argument("--only", metavar="NAMES", help=f"comma-separated subset of {PROGRAMS}")
    parser.add_argument(
        "--variants", metavar="NAMES", help=f"comma-separated subset of {', '.join(VARIANTS)}"
    )
    parser.add_argument(
        "--frameworks",
        metavar="NAMES",
        default=",".join(FRAMEWORKS),
        help="comma-separated subset of %(default)s",
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="full", help=argparse.SUPPRESS)
    parser.add_argument("--verbose", action="store_true", help="print tracebacks of failures")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.calls, opts.warmup, opts.pause = 3, 0, 0.05
    else:
        opts.calls, opts.warmup, opts.pause = 11, 1, 0.2
    opts.rtol, opts.cross_rtol = 1e-4, 2e-4
    programs = opts.only.split(",") if opts.only else list(PROGRAMS)
    variants = opts.variants.split(",") if opts.variants else list(VARIANTS)
    frameworks = opts.frameworks.split(",")
    unknown = (
        (set(programs) - set(PROGRAMS))
        | (set(variants) - set(VARIANTS))
        | (set(frameworks) - set(FRAMEWORKS))
    )
    if unknown:
        parser.error(f"unknown names: {', '.join(sorted(unknown))}")
    if "none" not in variants:
        variants.insert(0, "none")  # the reference of every check and ratio
    opts.variants = [v for v in VARIANTS if v in variants]

    started = time.perf_counter()
    print(f"starting {len(frameworks)} worker processes ...", file=sys.stderr, flush=True)
    ctx = multiprocessing.get_context("spawn")
    workers = {fw: Worker(ctx, fw) for fw in frameworks}
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "pullback": _version("pullback") or "working tree",
        "jax": _version("jax"),
        "workers": {fw: w.info for fw, w in workers.items()},
    }
    print("# gradient checkpointing: pullback and JAX" + (" (--quick)" if opts.quick else ""))
    print()
    print(
        f"Python {env['python']}, NumPy {env['numpy']}, {env['cpu_count']} CPUs; pullback "
        f"{env['pullback']}, JAX {env['jax']}. Times: median of {opts.calls} calls after "
        f"{opts.warmup + 1} warm-up call(s) (jit compiles in the first); the calls are taken "
        "in rounds, each round one call of every variant, framework after framework. Residuals: "
        "saved_residuals, count / MiB of all, then of those that are not arguments. Peak: "
        "tracemalloc over one call above what was held before it; in brackets above what the "
        "call returns. Ratios: over pullback's uncheckpointed run (times: median of the ratios "
        "within a round). Each framework runs in its own worker process."
    )
    print()

    failures, notes = [], []
    results = {"environment": env, "quick": opts.quick, "size": opts.size, "programs": {}}
    for program in programs:
        print(f"running {program} ...", file=sys.stderr, flush=True)
        spec, cells, cross = run_program(program, workers, opts, failures, notes)
        out, targets = report_program(program, spec, cells, cross, notes)
        results["programs"][program] = {
            "spec": spec,
            "variants": out,
            "pullback_vs_jax_gradient": cross,
            "targets_met": targets,
        }
    for worker in workers.values():
        worker.close()
    if notes:
        print("Notes:")
        for n in notes:
            print(f"- {n}")
        print()
    if failures:
        print("CORRECTNESS FAILURES:")
        for f in failures:
            print(f"- {f}")
        print()
    else:
        print(
            "Every measured gradient agrees with its framework's uncheckpointed gradient "
            f"(rtol {opts.rtol:g})."
        )
    elapsed = time.perf_counter() - started
    print(f"(run time {elapsed:.0f} s)")
    if opts.json:
        results["failures"] = failures
        results["notes"] = notes
        results["run_time_s"] = elapsed
        Path(opts.json).write_text(json.dumps(results, indent=2, default=str))
        print(f"saved {opts.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
