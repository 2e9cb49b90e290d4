"""Turning load generator results into the benchmark table (see bench/run.py)."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
        for a, b in (("ours", "ref"), ("ours", "node"), ("ours", "raw"), ("ref", "raw"))
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


def describe_run(args: argparse.Namespace, ours_module: str, seconds: float) -> dict[str, str]:
    """The header of a results file: what ran, where, how."""
    return {
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
        "wall time": f"{seconds:.0f} s",
    }


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
