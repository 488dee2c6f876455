"""Benchmark pullback against hand-written NumPy and its peers, side by side in one run.

    python benchmarks/run.py              # the full run (a few minutes)
    python benchmarks/run.py --quick      # a fast smoke run: fewer, shorter repeats
    python benchmarks/run.py --json out.json --only chain,custom_chain

For every workload (see ``workloads.py``) and every framework that is installed, the script
first checks the gradient against the hand-written NumPy one, then times it: warm-up calls, a
calibration that picks how many calls make one timed block, then repeats in which the frameworks
take turns (so that drift of the machine affects all of them alike). Each framework lives in its
own worker process, so that thread pools (OpenBLAS, XLA, PyTorch's OpenMP) never compete inside
one process, and the driver pauses briefly between turns so that the previous framework's
threads go idle. As in ``timeit``, the garbage collector is off inside a block and runs between
blocks. Each cell shows the median time
per call and its ratio to hand-written NumPy. A framework that is missing, or that fails on a
workload, shows "n/a". Wrong gradients are reported loudly and make the exit status 1.

The import figure is the median wall time of ``python -c "import MODULE"`` in fresh processes.
The first-call figure is the median wall time of a fresh process that imports the library, builds
``jit(value_and_grad(loss))`` of ``mlp_small`` (the benchmark's data and loss), calls it once and
waits for the result: what a user waits for before the first jitted step, start-up included.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.metadata
import importlib.util
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = ROOT / "src"
# Benchmark the working tree's pullback (the same one when installed with ``pip install -e``).
if SRC.is_dir() and str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import workloads as W  # noqa: E402

# pullback's targets: eager pullback time / hand-written NumPy time (import: / numpy's import;
# first_call: pullback jit's first call / JAX jit's, both in fresh processes).
TARGETS = {
    "chain": 2.0,
    "jvp_chain": 2.0,
    "custom_chain": 2.5,
    "mlp_small": 2.0,
    "mlp_large": 1.15,
    # per_example_grads: the figure is against the grad loop (LOOP_SPEEDUP below)
    "per_example_grads": 2.0,
    "import": 1.6,
    "first_call": 0.2,
}
# pullback jit's targets: its time / hand-written NumPy time, and the workloads on which it must
# also be faster than JAX jit.
JIT_TARGETS = {
    "chain": 1.2,
    "jvp_chain": 1.2,
    "custom_chain": 1.2,
    "mlp_small": 1.2,
    "mlp_large": 1.2,
    "per_example_grads": 1.5,
}
# eager pullback must be this many times faster than the Python loop of grad calls
LOOP_SPEEDUP = {"per_example_grads": 20.0}
JIT_FASTER_THAN_JAX = ("mlp_small",)

IMPORT_MODULES = ("numpy", "pullback", "autograd", "jax", "torch")
FIRST_CALL_FRAMEWORKS = ("pullback.jit", "jax.jit")
EXTRA_FIGURES = ("import", "first_call")


# -- timing --------------------------------------------------------------------------------------


def _block(fn, loops):
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        return time.perf_counter() - t0
    finally:
        if gc_was_enabled:
            gc.enable()


def _calibrate(fn, min_block):
    """The number of calls that makes one timed block last at least ``min_block`` seconds."""
    loops = 1
    while True:
        t = _block(fn, loops)
        if t >= min_block or loops >= 1 << 20:
            return loops
        loops = max(loops * 2, int(loops * min_block / max(t, 1e-9) * 1.2))


def _worker(conn, framework):
    """One framework per process: its thread pools never compete with another framework's.

    (In one process, XLA's and PyTorch's thread pools fight over the CPUs: PyTorch's eager MLP
    ran 300x slower right after JAX calls on a 2-CPU machine.)
    """
    impls = {}
    info = {}
    if framework == "torch":
        try:
            import torch

            info["torch_num_threads"] = torch.get_num_threads()
        except ImportError:
            pass
    conn.send(info)
    while True:
        cmd, *args = conn.recv()
        try:
            if cmd == "quit":
                return
            if cmd == "build":
                (workload,) = args
                impls.pop(workload, None)
                gc.collect()
                data = W.make_data(workload, "full")
                try:
                    impl = W.build(framework, workload, data)
                    result = impl.to_numpy(impl.run())
                except W.Unavailable as e:
                    conn.send(("unavailable", str(e)))
                    continue
                impls[workload] = impl
                conn.send(("ok", result))
            elif cmd == "calibrate":
                workload, warmup, min_block = args
                fn = impls[workload].run
                for _ in range(warmup):
                    fn()
                conn.send(("ok", _calibrate(fn, min_block)))
            elif cmd == "block":
                workload, loops = args
                gc.collect()
                conn.send(("ok", _block(impls[workload].run, loops) / loops))
            elif cmd == "drop":
                impls.pop(args[0], None)
                gc.collect()
                conn.send(("ok", None))
        except Exception as e:
            first = f"{type(e).__name__}: {e}".splitlines()[0][:200]
            conn.send(("error", first, traceback.format_exc()))


class Worker:
    def __init__(self, ctx, framework):
        self.framework = framework
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, framework), daemon=True)
        self.proc.start()
        child.close()
        self.info = self.conn.recv()

    def ask(self, *cmd):
        """Send a command; the reply is ("ok", value), ("unavailable", why) or ("error", ...)."""
        try:
            self.conn.send(cmd)
            return self.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as e:
            return ("error", f"worker process died ({type(e).__name__})", "")

    def close(self):
        with contextlib.suppress(OSError):
            self.conn.send(("quit",))
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()


def fresh_process_env():
    """The environment of the fresh-process figures: the working tree's pullback, and bytecode
    caching on.

    Installed code runs with compiled bytecode cached (pip compiles a wheel's modules at
    install; the warm-up run of ``time_commands`` writes the cache here), so the variable that
    turns caching off (set in some sandboxes) is dropped.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def time_commands(cmds, runs, env):
    """Median wall time of each command of ``{name: argv}`` in fresh processes, taking turns.

    Returns ``{name: (median seconds, samples)}``."""
    for cmd in cmds.values():  # warm the file system and bytecode caches
        subprocess.run(cmd, env=env, check=True, capture_output=True)
    samples = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            samples[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(s), s) for name, s in samples.items()}


def first_call_command(framework):
    """``python -c`` code: build ``framework``'s jitted ``mlp_small`` and call it once.

    ``W.build`` imports the library; ``run()`` traces, compiles, runs and blocks on the result.
    """
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); import workloads as W; "
        f"W.build({framework!r}, 'mlp_small', W.make_data('mlp_small')).run()"
    )
    return [sys.executable, "-c", code]


# -- formatting ----------------------------------------------------------------------------------


def fmt_time(seconds):
    if seconds is None:
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 0.1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 1.0:
        return f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(r):
    return "n/a" if r is None else (f"{r:.2f}x" if r < 10 else f"{r:.0f}x")


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment():
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "threads_env": {
            k: os.environ[k]
            for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
            if k in os.environ
        },
    }
    for m in ("pullback", "autograd", "jax", "torch"):
        env[m] = _version(m)
    if env["pullback"] is None and importlib.util.find_spec("pullback"):
        env["pullback"] = "working tree"
    return env


# -- the run -------------------------------------------------------------------------------------


def run_workload(name, workers, opts, failures):
    cells = {}
    results = {}
    live = {}
    for fw, worker in workers.items():
        cell = {"median_s": None, "ratio": None, "check": None, "note": None}
        cells[fw] = cell
        reply = worker.ask("build", name)
        if reply[0] == "ok":
            results[fw] = reply[1]
            live[fw] = worker
        elif reply[0] == "unavailable":
            cell["note"] = reply[1]
        else:
            cell["note"] = f"error: {reply[1]}"
            if opts.verbose:
                print(reply[2], file=sys.stderr)
    if "numpy" not in results:
        raise RuntimeError(f"hand-written NumPy failed on {name}: {cells['numpy']['note']}")
    for fw in list(live):
        problem = W.compare(results[fw], results["numpy"])
        cells[fw]["check"] = "ok" if problem is None else f"FAIL: {problem}"
        if problem is not None:
            failures.append(f"{W.FRAMEWORK_LABELS[fw]} / {name}: {problem}")
            print(
                f"\n!!! CORRECTNESS FAILURE: {W.FRAMEWORK_LABELS[fw]} on {name} disagrees with "
                f"hand-written NumPy: {problem}\n",
                file=sys.stderr,
                flush=True,
            )
    loops = {}
    for fw, worker in list(live.items()):
        reply = worker.ask("calibrate", name, opts.warmup, opts.min_block)
        if reply[0] != "ok":
            cells[fw]["note"] = f"error while timing: {reply[1]}"
            del live[fw]
            continue
        loops[fw] = reply[1]
    samples = {fw: [] for fw in live}
    for _ in range(opts.repeats):
        for fw, worker in list(live.items()):
            time.sleep(opts.pause)  # let the previous framework's threads go idle
            reply = worker.ask("block", name, loops[fw])
            if reply[0] != "ok":
                cells[fw]["note"] = f"error while timing: {reply[1]}"
                del live[fw]
                continue
            samples[fw].append(reply[1])
    for worker in workers.values():
        worker.ask("drop", name)
    if "numpy" not in live:
        raise RuntimeError(f"hand-written NumPy failed on {name}: {cells['numpy']['note']}")
    base = statistics.median(samples["numpy"])
    for fw in live:
        median = statistics.median(samples[fw])
        cells[fw].update(
            median_s=median, ratio=median / base, samples_s=samples[fw], loops=loops[fw]
        )
    return cells


def target_text(limit, met):
    return f"≤ {limit:.2f}x" + ("" if met is None else " ✓" if met else " ✗")


def targets_met(name, cells):
    """``{target: met}`` for pullback's targets on workload ``name`` (None: not measured).

    A target counts as met only with correct gradients."""

    def measured(fw):
        return fw in cells and cells[fw]["median_s"] is not None

    def within(fw, limit):
        if not measured(fw):
            return None
        return cells[fw]["check"] == "ok" and cells[fw]["ratio"] <= limit

    met = {
        "pullback": within("pullback", TARGETS[name]),
        "pullback.jit": within("pullback.jit", JIT_TARGETS[name]),
    }
    if name in LOOP_SPEEDUP:
        speedup = None
        if measured("pullback") and measured("pullback.loop"):
            eager = cells["pullback"]
            speedup = eager["check"] == "ok" and (
                cells["pullback.loop"]["median_s"] / eager["median_s"] >= LOOP_SPEEDUP[name]
            )
        met[f"pullback {LOOP_SPEEDUP[name]:.0f}x faster than its grad loop"] = speedup
    if name in JIT_FASTER_THAN_JAX:
        faster = None
        if measured("pullback.jit") and measured("jax.jit"):
            jit = cells["pullback.jit"]
            faster = jit["check"] == "ok" and jit["median_s"] < cells["jax.jit"]["median_s"]
        met["pullback.jit faster than jax.jit"] = faster
    return met


def run_imports(runs, env, results, notes):
    """The import figure: print its table and store it in ``results``."""
    mods = [m for m in IMPORT_MODULES if m == "pullback" or importlib.util.find_spec(m)]
    try:
        imp = time_commands({m: [sys.executable, "-c", f"import {m}"] for m in mods}, runs, env)
    except subprocess.CalledProcessError as e:
        notes.append(f"import: {' '.join(e.cmd)} failed: {e.stderr.decode()[-300:]}")
        return
    base = imp["numpy"][0]
    results["import"] = {
        m: {"median_s": t, "ratio": t / base, "samples_s": s} for m, (t, s) in imp.items()
    }
    rows = []
    for m in IMPORT_MODULES:
        if m not in imp:
            rows.append([f"import {m}", "n/a", "n/a", ""])
            continue
        t, _ = imp[m]
        target = ""
        if m == "pullback":
            target = target_text(TARGETS["import"], t / base <= TARGETS["import"])
        rows.append([f"`import {m}`", fmt_time(t), fmt_ratio(t / base), target])
    print(f'Fresh `python -c "import M"`, median of {runs} runs (interpreter start-up included):')
    print()
    print(markdown_table(["command", "wall time", "vs numpy", "pullback target"], rows))
    print()


def run_first_call(runs, env, results, notes):
    """The first-call figure: print its table and store it in ``results``."""
    fws = [fw for fw in FIRST_CALL_FRAMEWORKS if importlib.util.find_spec(fw.split(".")[0])]
    try:
        times = time_commands({fw: first_call_command(fw) for fw in fws}, runs, env)
    except subprocess.CalledProcessError as e:
        notes.append(f"first_call: {e.cmd[-1]} failed: {e.stderr.decode()[-300:]}")
        return
    jax_time = times.get("jax.jit", (None,))[0]
    ratio = times["pullback.jit"][0] / jax_time if jax_time else None
    met = None if ratio is None else ratio <= TARGETS["first_call"]
    results["first_call"] = {
        "frameworks": {fw: {"median_s": t, "samples_s": s} for fw, (t, s) in times.items()},
        "ratio": ratio,
        "target": TARGETS["first_call"],
        "met": met,
    }
    rows = []
    for fw in FIRST_CALL_FRAMEWORKS:
        t = times.get(fw, (None,))[0]
        own_ratio = None if t is None or jax_time is None else t / jax_time
        target = target_text(TARGETS["first_call"], met) if fw == "pullback.jit" else ""
        rows.append([W.FRAMEWORK_LABELS[fw], fmt_time(t), fmt_ratio(own_ratio), target])
    print(
        "First call in a fresh process: import the library, build `jit(value_and_grad(loss))` "
        f"of mlp_small, call it once and wait for the result; median of {runs} runs "
        "(interpreter start-up, NumPy import and data generation included):"
    )
    print()
    print(markdown_table(["first call", "wall time", "vs JAX jit", "pullback target"], rows))
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--json", metavar="PATH", help="also save the results as JSON")
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help=f"comma-separated subset of {', '.join([*W.WORKLOADS, *EXTRA_FIGURES])}",
    )
    parser.add_argument(
        "--frameworks",
        metavar="NAMES",
        default=",".join(W.FRAMEWORKS),
        help="comma-separated subset of %(default)s",
    )
    parser.add_argument("--verbose", action="store_true", help="print tracebacks of failures")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.repeats, opts.min_block, opts.warmup, fresh_runs = 3, 0.02, 1, 3
        opts.pause = 0.1
    else:
        opts.repeats, opts.min_block, opts.warmup, fresh_runs = 9, 0.2, 3, 11
        opts.pause = 0.2
    selected = opts.only.split(",") if opts.only else [*W.WORKLOADS, *EXTRA_FIGURES]
    unknown = set(selected) - {*W.WORKLOADS, *EXTRA_FIGURES}
    frameworks = ["numpy"] + [f for f in opts.frameworks.split(",") if f and f != "numpy"]
    unknown |= set(frameworks) - set(W.FRAMEWORKS)
    if unknown:
        parser.error(f"unknown names: {', '.join(sorted(unknown))}")

    env = environment()
    workloads = [s for s in selected if s not in EXTRA_FIGURES]
    workers = {}
    if workloads:
        print(f"starting {len(frameworks)} worker processes ...", file=sys.stderr, flush=True)
        ctx = multiprocessing.get_context("spawn")
        workers = {fw: Worker(ctx, fw) for fw in frameworks}
        for worker in workers.values():
            env.update(worker.info)
    print("# pullback benchmarks" + (" (--quick)" if opts.quick else ""))
    print()
    threads = ""
    if "torch_num_threads" in env:
        threads = f", torch threads {env['torch_num_threads']} (default)"
    print(
        f"Python {env['python']}, NumPy {env['numpy']}, {env['cpu_count']} CPUs{threads}; "
        + ", ".join(f"{m} {env[m]}" for m in ("pullback", "autograd", "jax", "torch") if env[m])
    )
    print(
        f"Median of {opts.repeats} timed blocks (each >= {opts.min_block * 1e3:.0f} ms) per cell; "
        "ratio = time / hand-written NumPy time. JAX eager is measured without jit "
        "(block_until_ready inside the call); pullback jit and JAX jit trace and compile in the "
        "warm-up. Each framework runs in its own worker process; the frameworks take turns."
    )
    print()

    failures = []
    results = {
        "environment": env,
        "targets": TARGETS,
        "jit_targets": JIT_TARGETS,
        "jit_faster_than_jax_jit": JIT_FASTER_THAN_JAX,
        "workloads": {},
        "import": None,
        "first_call": None,
    }
    rows = []
    notes = []
    for name in workloads:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        cells = run_workload(name, workers, opts, failures)
        met = targets_met(name, cells)
        results["workloads"][name] = {**cells, "targets_met": met}
        row = [name]
        for fw in frameworks:
            c = cells[fw]
            if c["median_s"] is None:
                row.append("n/a")
                if c["note"]:
                    notes.append(f"{W.FRAMEWORK_LABELS[fw]} / {name}: {c['note']}")
                continue
            text = f"{fmt_time(c['median_s'])} ({fmt_ratio(c['ratio'])})"
            if c["check"] != "ok":
                text += " WRONG"
            row.append(text)
        row.append(target_text(TARGETS[name], met["pullback"]))
        jit_target = target_text(JIT_TARGETS[name], met["pullback.jit"])
        if name in LOOP_SPEEDUP:
            fast = met[f"pullback {LOOP_SPEEDUP[name]:.0f}x faster than its grad loop"]
            row[-1] += f", ≥ {LOOP_SPEEDUP[name]:.0f}x the loop" + (
                "" if fast is None else " ✓" if fast else " ✗"
            )
        if name in JIT_FASTER_THAN_JAX:
            faster = met["pullback.jit faster than jax.jit"]
            jit_target += ", < JAX jit" + ("" if faster is None else " ✓" if faster else " ✗")
        row.append(jit_target)
        rows.append(row)
    for worker in workers.values():
        worker.close()
    if rows:
        labels = [W.FRAMEWORK_LABELS[f] for f in frameworks]
        header = ["workload", *labels, "pullback target", "pullback jit target"]
        print(markdown_table(header, rows))
        print()

    fresh_env = fresh_process_env()
    if "import" in selected:
        print("running import ...", file=sys.stderr, flush=True)
        run_imports(fresh_runs, fresh_env, results, notes)
    if "first_call" in selected:
        print("running first_call ...", file=sys.stderr, flush=True)
        run_first_call(fresh_runs, fresh_env, results, notes)

    if notes:
        print("Notes:")
        for n in notes:
            print(f"- {n}")
        print()
    if failures:
        print("CORRECTNESS FAILURES (gradient differs from hand-written NumPy):")
        for f in failures:
            print(f"- {f}")
        print()
    else:
        print("All measured implementations agree with hand-written NumPy (rtol 1e-4).")
    if opts.json:
        results["failures"] = failures
        results["notes"] = notes
        results["quick"] = opts.quick
        Path(opts.json).write_text(json.dumps(results, indent=2, default=str))
        print(f"saved {opts.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
