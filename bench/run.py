"""Benchmark: our server vs python-socketio on the same host stacks, side by side.

    python bench/run.py            # full run: 3 repetitions, 2 s warm-up + 5 s windows
    python bench/run.py --quick    # smoke: 1 repetition, short windows

For each repetition, each stack (uvicorn ASGI, aiohttp) and each implementation (ours =
``sio_integrations``, ref = python-socketio, raw = a bare websocket app speaking the same
bytes), one server process is started pinned to CPU 0 and one load generator
(bench/loadgen.py) pinned to CPU 1 runs every scenario against it. Implementations are
interleaved and their order alternates between repetitions; medians are reported, with ratios
ours/ref and ours/raw. The table is printed and written to bench/results/ (see
docs/benchmarks.md). Not a test.
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import json
import os
import platform
import select
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = sys.executable
LIVE: list[subprocess.Popen[bytes]] = []  # every child still running, killed on any exit


# -- processes -----------------------------------------------------------------------------


def pinned(cpu: int | None, nice: int) -> Any:
    def preexec() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        if nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)

    return preexec


def spawn(
    cmd: list[str], cpu: int | None, stdout: Any, stderr: Any, nice: int = 0
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=stdout,
        stderr=stderr,
        preexec_fn=pinned(cpu, nice),
        start_new_session=True,  # own process group: stop() reaches anything it spawned
    )
    LIVE.append(proc)
    return proc


def stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(grace)
    if proc in LIVE:
        LIVE.remove(proc)


def stop_all() -> None:
    for proc in list(LIVE):
        stop(proc, grace=2.0)


def on_signal(signum: int, _frame: Any) -> None:
    stop_all()
    sys.exit(128 + signum)


def tail(path: str, lines: int = 8) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).strip()
    except OSError:
        return ""


def log_problems(path: str) -> str:
    """First lines of trouble (tracebacks, errors) a running server wrote to stderr."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return ""
    words = ("Traceback", "Error", "Exception", "exception")
    hits = [i for i, line in enumerate(lines) if any(w in line for w in words)]
    if not hits:
        return ""
    first = lines[hits[0] : hits[0] + 12]
    return f"{len(hits)} line(s) with errors, first:\n" + "\n".join(first)


def wait_port(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Read the server's ``PORT <n>`` line (bounded)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 256)
            if not chunk:
                break
            line += chunk
            if b"\n" in line:
                first = line.split(b"\n", 1)[0].decode()
                if first.startswith("PORT "):
                    return int(first.split()[1])
                raise RuntimeError(f"unexpected server output: {first!r}")
        elif proc.poll() is not None:
            break
    raise RuntimeError(f"server did not start (exit code {proc.poll()})")


# -- one server session --------------------------------------------------------------------

IMPLS = {
    "ours": ["--impl", "sio", "--module", "sio_integrations"],
    "ref": ["--impl", "sio", "--module", "socketio"],
    "raw": ["--impl", "raw"],
}


def session(args: argparse.Namespace, impl: str, stack: str, tag: str) -> dict[str, Any]:
    """Start one server, run the load generator against it, stop the server."""
    impl_args = list(IMPLS[impl])
    if impl == "ours" and args.ours_module:
        impl_args[-1] = args.ours_module
    os.makedirs(args.logs, exist_ok=True)
    server_log = os.path.join(args.logs, f"{tag}-{stack}-{impl}.server.log")
    gen_log = os.path.join(args.logs, f"{tag}-{stack}-{impl}.loadgen.log")
    cmd = [PY, os.path.join(HERE, "server.py"), *impl_args, "--stack", stack, "--loop", args.loop]
    if args.profile:
        cmd += ["--profile", os.path.join(args.logs, f"{tag}-{stack}-{impl}.prof")]
    with open(server_log, "wb") as err:
        server = spawn(cmd, args.server_cpu, subprocess.PIPE, err, args.nice)
    try:
        try:
            port = wait_port(server, timeout=30.0)
        except RuntimeError as exc:
            return {"errors": [f"{exc}\n{tail(server_log)}"]}
        gen_cmd = [
            PY,
            os.path.join(HERE, "loadgen.py"),
            "--port",
            str(port),
            "--server-pid",
            str(server.pid),
            "--warmup",
            str(args.warmup),
            "--measure",
            str(args.measure),
            "--idle",
            str(args.idle),
            "--k",
            str(args.k),
            "--echo",
            args.echo,
            "--loop",
            args.loop,
            "--timeout",
            str(args.timeout),
        ]
        budget = 3 * (args.warmup + args.measure) + 6 * args.timeout + 30
        with open(gen_log, "wb") as err:
            gen = spawn(gen_cmd, args.gen_cpu, subprocess.PIPE, err, args.nice)
            try:
                out, _ = gen.communicate(timeout=budget)
            except subprocess.TimeoutExpired:
                stop(gen)
                return {"errors": [f"load generator exceeded {budget:.0f} s"]}
            finally:
                stop(gen)
        if gen.returncode != 0 or not out.strip():
            return {"errors": [f"load generator failed ({gen.returncode}): {tail(gen_log)}"]}
        result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        noise = log_problems(server_log)
        if noise:
            result["errors"].append("server logged while running: " + noise)
        if server.poll() is not None:
            result["errors"].append(f"server exited ({server.poll()}): {tail(server_log)}")
        return result
    finally:
        stop(server)


# -- aggregation ---------------------------------------------------------------------------


@dataclass
class Metric:
    key: str  # row label
    unit: str
    path: tuple[str, ...]  # where the number lives in a loadgen result
    higher_is_better: bool = True
    values: dict[tuple[str, str], list[float]] = field(default_factory=dict)


def dig(result: dict[str, Any], path: tuple[str, ...]) -> float | None:
    node: Any = result
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, (int, float)) else None


def metrics_for(args: argparse.Namespace) -> list[Metric]:
    rows = []
    for n in sorted(int(x) for x in args.echo.split(",") if x):
        rows.append(Metric(f"echo N={n}", "acks/s", ("echo", str(n), "rate")))
        rows.append(Metric(f"echo N={n}", "acks/CPU-s", ("echo", str(n), "per_cpu_s")))
        rows.append(Metric(f"echo N={n}", "p50 µs", ("echo", str(n), "p50_us"), False))
        rows.append(Metric(f"echo N={n}", "p99 µs", ("echo", str(n), "p99_us"), False))
    if args.k > 0:
        label = f"broadcast {args.idle}"
        rows.append(Metric(label, "deliveries/s", ("broadcast", "rate")))
        rows.append(Metric(label, "deliveries/CPU-s", ("broadcast", "per_cpu_s")))
    rows.append(Metric(f"idle {args.idle}", "RSS KiB/conn", ("memory", "kib_per_conn"), False))
    return rows


DIAG = [  # (column label, key in a scenario's result)
    ("server CPU", "server_cpu"),
    ("generator CPU", "gen_cpu"),
    ("other tasks on server CPU", "server_cpu_other"),
    ("irq on server CPU", "server_cpu_irq"),
    ("other tasks on generator CPU", "gen_cpu_other"),
    ("irq on generator CPU", "gen_cpu_irq"),
]


def med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if "KiB" in unit:
        return f"{value:.1f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return "%.2f" % (a / b)


def scenario_paths(args: argparse.Namespace) -> list[tuple[str, tuple[str, ...]]]:
    paths: list[tuple[str, tuple[str, ...]]] = [
        (f"echo N={n}", ("echo", n))
        for n in sorted((x for x in args.echo.split(",") if x), key=int)
    ]
    if args.k > 0:
        paths.append((f"broadcast {args.idle}", ("broadcast",)))
    return paths


def render(args: argparse.Namespace, runs: list[dict[str, Any]], meta: dict[str, str]) -> str:
    metrics = metrics_for(args)
    for run in runs:
        for m in metrics:
            v = dig(run["result"], m.path)
            if v is not None:
                m.values.setdefault((run["stack"], run["impl"]), []).append(v)
    impls = args.impls
    lines = ["# Benchmark results", ""]
    lines += [f"- {k}: {v}" for k, v in meta.items()]
    lines += [
        "",
        f"Medians over {args.reps} repetition(s). Ratios > 1 mean ours is better for "
        "throughput; for latency (µs) and RSS, < 1 means ours is better.",
        "",
    ]
    head = ["stack", "scenario", "unit", *impls]
    pairs = [
        (a, b)
        for a, b in (("ours", "ref"), ("ours", "raw"), ("ref", "raw"))
        if a in impls and b in impls
    ]
    head += ["{}/{}".format(*p) for p in pairs]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for stack in args.stacks:
        for m in metrics:
            meds = {i: med(m.values.get((stack, i), [])) for i in impls}
            if all(v is None for v in meds.values()):
                continue
            row = [stack, m.key, m.unit, *(fmt(meds[i], m.unit) for i in impls)]
            row += [ratio(meds[a], meds[b]) for a, b in pairs]
            lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "## Diagnostics (medians, fraction of one CPU)",
        "",
        "A server CPU well below 1.00 means the server was not saturated (latency-bound "
        "closed loop, or a neighbour took the CPU: see 'other tasks'); a generator CPU "
        "near 1.00 means the generator, not the server, was the limit.",
        "",
    ]
    dhead = ["stack", "impl", "scenario", *(d[0] for d in DIAG)]
    lines.append("| " + " | ".join(dhead) + " |")
    lines.append("|" + "|".join("---" for _ in dhead) + "|")
    for stack in args.stacks:
        for impl in impls:
            for label, path in scenario_paths(args):
                cells = []
                for _, key in DIAG:
                    vals = [
                        v
                        for run in runs
                        if run["stack"] == stack and run["impl"] == impl
                        for v in [dig(run["result"], (*path, key))]
                        if v is not None
                    ]
                    cells.append(fmt(med(vals)))
                lines.append("| " + " | ".join([stack, impl, label, *cells]) + " |")
    errors = [(r["tag"], r["stack"], r["impl"], e) for r in runs for e in r["result"]["errors"]]
    if errors:
        lines += ["", "## Errors", ""]
        for tag, stack, impl, err in errors:
            text = err.replace("\n", "\n    ")
            lines.append(f"- {tag} {stack} {impl}: {text}")
    return "\n".join(lines) + "\n"


# -- environment ---------------------------------------------------------------------------


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_rev() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "sio_integrations"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return rev + (" (sio_integrations/ has uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def check_ours(module: str) -> str | None:
    """None when ``module`` imports with AsyncServer and ASGIApp, else the error."""
    code = f"import {module} as s; s.AsyncServer; s.ASGIApp"
    proc = subprocess.run([PY, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    if proc.returncode == 0:
        return None
    return (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 repetition, 0.5 s warm-up, 1.5 s windows"
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--measure", type=float, default=5.0)
    parser.add_argument("--stacks", default="uvicorn,aiohttp")
    parser.add_argument("--impls", default="ours,ref,raw")
    parser.add_argument("--echo", default="10,100", help="echo client counts")
    parser.add_argument("--idle", type=int, default=1000, help="idle / broadcast clients")
    parser.add_argument("--k", type=int, default=10, help="broadcasts per trigger; 0 skips")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness for server and generator (e.g. -10 on a machine shared with other work)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run each server under cProfile (slower!); stats in the logs folder",
    )
    parser.add_argument("--timeout", type=float, default=15.0, help="bound on any one wait")
    parser.add_argument(
        "--ours-module",
        default="",
        help="module to run as 'ours' (default sio_integrations; "
        "'socketio' checks the harness: ours/ref should be ~1.00)",
    )
    parser.add_argument(
        "--out",
        default="",
        help="markdown output (default: bench/results/latest.md, or quick.md with --quick)",
    )
    parser.add_argument("--logs", default=os.path.join(HERE, "results", "logs"))
    args = parser.parse_args()
    if args.quick:
        args.reps, args.warmup, args.measure = 1, 0.5, 1.5
    args.stacks = [s for s in args.stacks.split(",") if s]
    args.impls = [i for i in args.impls.split(",") if i]
    unknown = set(args.impls) - set(IMPLS) | set(args.stacks) - {"uvicorn", "aiohttp"}
    if unknown:
        parser.error("unknown impl/stack: {}".format(", ".join(sorted(unknown))))
    if not args.out:
        name = "quick.md" if args.quick else "latest.md"
        args.out = os.path.join(HERE, "results", name)
    ncpu = len(os.sched_getaffinity(0))
    args.server_cpu, args.gen_cpu = (
        (0, 1) if ncpu >= 2 and 1 in os.sched_getaffinity(0) else (None, None)
    )

    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ours_module = args.ours_module or "sio_integrations"
    skip_ours = None
    if "ours" in args.impls:
        skip_ours = check_ours(ours_module)
        if skip_ours:
            print(f"ours ({ours_module}) is not usable, skipped: {skip_ours}", file=sys.stderr)

    started = time.monotonic()
    runs: list[dict[str, Any]] = []
    for rep in range(args.reps):
        # alternate the order so neither implementation always runs first
        order = args.impls if rep % 2 == 0 else list(reversed(args.impls))
        for stack in args.stacks:
            for impl in order:
                tag = f"r{rep + 1}"
                if impl == "ours" and skip_ours:
                    result: dict[str, Any] = {"errors": ["not importable: " + skip_ours]}
                else:
                    t0 = time.monotonic()
                    result = session(args, impl, stack, tag)
                    print(
                        f"[{tag}] {stack:<7} {impl:<4} {time.monotonic() - t0:5.1f}s "
                        + summary(result),
                        flush=True,
                    )
                runs.append({"tag": tag, "stack": stack, "impl": impl, "result": result})

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
        "ours": ours_module + " @ " + git_rev(),
        "ref": "python-socketio {} / python-engineio {}".format(
            version("python-socketio"), version("python-engineio")
        ),
        "machine": f"{cpu_model()}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
        f"Python {platform.python_version()}",
        "stacks": "uvicorn {} (http=httptools, ws=websockets-sansio), aiohttp {}".format(
            version("uvicorn"), version("aiohttp")
        ),
        "event loop": "{} for every server and the generator{}".format(
            args.loop, " (uvloop {})".format(version("uvloop")) if args.loop == "uvloop" else ""
        ),
        "pinning": f"server on CPU {args.server_cpu}, load generator on CPU {args.gen_cpu}"
        + (f", both at niceness {args.nice}" if args.nice else ""),
        "windows": f"{args.reps} repetition(s), {args.warmup:.1f} s warm-up + "
        f"{args.measure:.1f} s measured per scenario",
        "scenarios": 'echo: closed loop, payload {"n": 1, "s": "hello"}, one ack '
        f"outstanding per client; broadcast: {args.idle} clients in one room, {args.k} emits "
        f"per trigger, at most 2 triggers in flight; idle: RSS delta after {args.idle} "
        f"connections / {args.idle}",
        "wall time": "%.0f s" % (time.monotonic() - started),
    }
    text = render(args, runs, meta)
    print()
    print(text)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({"meta": meta, "runs": runs}, f, indent=1)
    print(f"written to {os.path.relpath(args.out, ROOT)}")


def summary(result: dict[str, Any]) -> str:
    parts = []
    for n, r in sorted(result.get("echo", {}).items(), key=lambda kv: int(kv[0])):
        parts.append("echo{}={:.0f}/s".format(n, r["rate"]))
    if "broadcast" in result:
        parts.append("bcast={:.0f}/s".format(result["broadcast"]["rate"]))
    if "memory" in result:
        parts.append("mem={:.1f}KiB".format(result["memory"]["kib_per_conn"]))
    if result.get("errors"):
        parts.append("ERRORS: " + " | ".join(e.splitlines()[0] for e in result["errors"]))
    return " ".join(parts)


if __name__ == "__main__":
    main()
