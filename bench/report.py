"""Turning load generator results into the benchmark table (see bench/run.py)."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from importlib import metadata
from typing import Any

from scenarios import ALL_IMPLS, Scenario

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- aggregation ---------------------------------------------------------------------------


def dig(result: dict[str, Any], path: tuple[str, ...]) -> float | None:
    node: Any = result
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, (int, float)) else None


def metrics_for(sc: Scenario) -> list[tuple[str, str, bool]]:
    """(unit shown, key in the scenario's result, higher is better) rows of one scenario."""
    if sc.kind == "idle":
        return [("RSS KiB/conn", "kib_per_conn", False)]
    unit = sc.unit
    rows = [(f"{unit}/s", "rate", True), (f"{unit}/CPU-s", "per_cpu_s", True)]
    if unit == "acks":
        rows += [("p50 µs", "p50_us", False), ("p99 µs", "p99_us", False)]
    return rows


DIAG = [  # (column label, key in a scenario's result)
    ("server CPU", "server_cpu"),
    ("generator CPU", "gen_cpu"),
    ("other tasks on server CPU", "server_cpu_other"),
    ("irq on server CPU", "server_cpu_irq"),
    ("other tasks on generator CPU", "gen_cpu_other"),
    ("irq on generator CPU", "gen_cpu_irq"),
]

NOISY = 0.20  # a neighbour ran this much of a pinned CPU during the window (median)


def disturbed(runs: list[dict[str, Any]], stack: str, impl: str, sc: Scenario) -> bool:
    """True when other processes took a noticeable share of the server's or generator's CPU."""
    for key in ("server_cpu_other", "gen_cpu_other"):
        m = med(values(runs, stack, impl, sc, key))
        if m is not None and m > NOISY:
            return True
    return False


RATIOS = (("ours", "ref"), ("ours", "node"), ("ours", "raw"))


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


def cells(args: argparse.Namespace) -> list[tuple[str, Scenario]]:
    """(host, scenario) rows in the order of the run."""
    out = [(st, sc) for st in args.stacks for sc in args.scenario_list if sc.host is None]
    out += [("threading", sc) for sc in args.scenario_list if sc.host == "threading"]
    return out


def values(
    runs: list[dict[str, Any]], stack: str, impl: str, sc: Scenario, key: str
) -> list[float]:
    # node runs once per scenario (no Python stack); its figures serve every stack's rows
    where = "node" if impl == "node" else stack
    found = []
    for run in runs:
        if run["stack"] == where and run["impl"] == impl and run.get("scenario") == sc.name:
            v = dig(run["result"], ("result", key))
            if v is not None:
                found.append(v)
    return found


def render(args: argparse.Namespace, runs: list[dict[str, Any]], meta: dict[str, str]) -> str:
    impls = [i for i in ALL_IMPLS if i in args.impls]
    lines = ["# Benchmark results", ""]
    lines += [f"- {k}: {v}" for k, v in meta.items()]
    lines += [
        "",
        f"Medians over {args.reps} repetition(s). Ratios > 1 mean ours is better for "
        "throughput; for latency (µs) and RSS, < 1 means ours is better. '-': not part of "
        "that row (node and raw have no threading mode, raw no polling) or failed (see Errors). "
        f"`*`: disturbed, other processes ran more than {NOISY:.2f} of the server's or the "
        "generator's CPU during the window (median; see Diagnostics): the rate is low-biased, "
        "the per CPU-second row is the one to read.",
        "",
    ]
    pairs = [(a, b) for a, b in RATIOS if a in impls and b in impls]
    head = ["stack", "scenario", "unit", *impls, *("{}/{}".format(*p) for p in pairs)]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for stack, sc in cells(args):
        for unit, key, _ in metrics_for(sc):
            meds = {i: med(values(runs, stack, i, sc, key)) for i in impls}
            if all(v is None for v in meds.values()):
                continue
            marks = {i: "*" if disturbed(runs, stack, i, sc) else "" for i in impls}
            row = [stack, sc.label, unit, *(fmt(meds[i], unit) + marks[i] for i in impls)]
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
    seen = set()
    for stack, sc in cells(args):
        if not sc.throughput:
            continue
        for impl in impls:
            where = "node" if impl == "node" else stack
            if impl not in sc.impls or (where, impl, sc.name) in seen:
                continue
            seen.add((where, impl, sc.name))
            diag = [fmt(med(values(runs, stack, impl, sc, key))) for _, key in DIAG]
            if disturbed(runs, stack, impl, sc):
                impl += "*"
            lines.append("| " + " | ".join([where, impl, sc.label, *diag]) + " |")
    errors = [
        (r["tag"], r["stack"], r.get("scenario", ""), r["impl"], e)
        for r in runs
        for e in r["result"].get("errors", [])
    ]
    if errors:
        lines += ["", "## Errors", ""]
        for tag, stack, scenario, impl, err in errors:
            text = err.replace("\n", "\n    ")
            lines.append(f"- {tag} {stack} {scenario} {impl}: {text}")
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


def node_versions() -> str:
    """Node and the installed socket.io packages (bench/node/node_modules)."""
    try:
        node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "node not available"
    found = []
    for pkg in ("socket.io", "engine.io", "ws"):
        path = os.path.join(ROOT, "bench", "node", "node_modules", pkg, "package.json")
        try:
            with open(path) as f:
                found.append(f"{pkg} {json.load(f)['version']}")
        except (OSError, ValueError, KeyError):
            found.append(f"{pkg} not installed")
    return f"node {node}, " + ", ".join(found) + " (one process, same pinning)"


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
        "node": node_versions(),
        "threading": "Server(async_mode='threading') as a WSGI app on werkzeug {} "
        "(threaded dev server; websockets: ours on its own path, runtime/wsgi_direct.py, "
        "python-socketio through simple-websocket {})".format(
            version("werkzeug"), version("simple-websocket")
        ),
        "scenarios": args.scenarios + " (bench/scenarios.py); echo payload "
        '{"n": 1, "s": "hello"}, one ack outstanding per client; binary: one 64 KiB '
        f"attachment; broadcast: {args.k} emits per trigger, at most 2 triggers in flight; "
        f"idle: RSS delta / N after every client saw a ping (ping interval {args.idle_ping:g} "
        "s for every server; raw sends none)",
        "wall time": f"{seconds:.0f} s",
    }


def summary(result: dict[str, Any]) -> str:
    parts = []
    r = result.get("result", {})
    if "rate" in r:
        parts.append(
            "{:,.0f}/s (server CPU {:.2f}, generator {:.2f})".format(
                r["rate"], r.get("server_cpu", 0), r.get("gen_cpu", 0)
            )
        )
    if "kib_per_conn" in r:
        parts.append("{:.1f} KiB/conn".format(r["kib_per_conn"]))
    if result.get("errors"):
        parts.append("ERRORS: " + " | ".join(e.splitlines()[0] for e in result["errors"]))
    return " ".join(parts)
