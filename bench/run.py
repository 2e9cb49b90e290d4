"""Benchmark: our server vs python-socketio vs node socket.io, side by side.

    python bench/run.py                       # full run: 3 repetitions, 2 s + 5 s windows
    python bench/run.py --quick               # smoke: 1 repetition, short windows
    python bench/run.py --scenarios echo100 --stacks uvicorn --impls ours,node,raw

For each repetition, each stack (uvicorn ASGI, aiohttp), each scenario (bench/scenarios.py)
and each implementation (ours = ``sio_integrations``, ref = python-socketio, node = the npm
socket.io server in bench/node/, raw = a bare websocket app speaking the same bytes), one
server process is started pinned to CPU 0 and one load generator (bench/loadgen.py) pinned
to CPU 1 runs the scenario against it. Node has no Python stack: it runs once per scenario
and repetition and its figures are shown in every stack's rows. The threading scenarios run
the sync servers on werkzeug. Implementations are interleaved and their order alternates
between repetitions; medians are reported with ratios ours/ref, ours/node and ours/raw. The
table is printed and written to bench/results/ (see docs/benchmarks.md). Not a test.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

from pyspy import top as pyspy_top
from report import describe_run, render, summary
from scenarios import ALL_IMPLS, DEFAULT, Scenario, parse_list

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = sys.executable
NODE_DIR = os.path.join(HERE, "node")
PYSPY_FALLBACK = "/root/.pyenv/shims/py-spy"  # where pyenv puts it on the development machine
LIVE: list[subprocess.Popen[bytes]] = []  # every child still running, killed on any exit


# -- processes -----------------------------------------------------------------------------


def pinned(cpu: int | None, nice: int) -> Any:
    def preexec() -> None:
        # thousands of connections need as many descriptors (servers and generator alike)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        if nice:
            try:
                os.setpriority(os.PRIO_PROCESS, 0, nice)
            except PermissionError:  # negative niceness needs privileges; run unprioritised
                pass

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


def server_cmd(args: argparse.Namespace, impl: str, stack: str, sc: Scenario) -> list[str]:
    # every server gets the same heartbeat; the idle scenarios a short one, so that a full
    # ping cycle fits before the memory is read ("heartbeats included")
    ping = args.idle_ping if sc.kind == "idle" else 25.0
    if impl == "node":
        node_ping = str(round(ping * 1000))
        return ["node", os.path.join(NODE_DIR, "server.js"), "--ping-interval", node_ping]
    impl_args = list(IMPLS[impl])
    if impl == "ours" and args.ours_module:
        impl_args[-1] = args.ours_module
    cmd = [PY, os.path.join(HERE, "server.py"), *impl_args, "--stack", stack]
    return cmd + ["--loop", args.loop, "--ping-interval", str(ping)]


def session(
    args: argparse.Namespace, impl: str, stack: str, sc: Scenario, tag: str
) -> dict[str, Any]:
    """Start one server, run one scenario's load generator against it, stop the server."""
    os.makedirs(args.logs, exist_ok=True)
    name = f"{tag}-{stack}-{sc.name}-{impl}"
    server_log = os.path.join(args.logs, name + ".server.log")
    gen_log = os.path.join(args.logs, name + ".loadgen.log")
    cmd = server_cmd(args, impl, stack, sc)
    if args.profile and impl != "node":
        cmd += ["--profile", os.path.join(args.logs, name + ".prof")]
    with open(server_log, "wb") as err:
        server = spawn(cmd, args.server_cpu, subprocess.PIPE, err, args.nice)
    spy_out = ""
    if args.py_spy and impl == "ours" and sc.throughput:
        spy_out = os.path.join(args.logs, name + ".pyspy.txt")
    try:
        try:
            port = wait_port(server, timeout=30.0)
        except RuntimeError as exc:
            return {"errors": [f"{exc}\n{tail(server_log)}"]}
        gen_cmd = [PY, os.path.join(HERE, "loadgen.py"), "--port", str(port)]
        gen_cmd += ["--server-pid", str(server.pid), "--scenario", sc.name]
        gen_cmd += ["--warmup", str(args.warmup), "--measure", str(args.measure)]
        gen_cmd += ["--k", str(args.k), "--loop", args.loop, "--timeout", str(args.timeout)]
        if sc.kind == "idle" and impl != "raw":  # raw sends no heartbeats
            gen_cmd += ["--ping", str(args.idle_ping)]
        if spy_out:
            gen_cmd += ["--py-spy", spy_out]
        if args.rcvlowat:
            gen_cmd += ["--rcvlowat"]
        budget = 2 * (args.warmup + args.measure) + 6 * args.timeout + sc.clients / 50 + 30
        if sc.kind == "idle":
            budget += 2 * args.idle_ping
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
        if spy_out and os.path.exists(spy_out):
            with open(os.path.splitext(spy_out)[0] + ".top.txt", "w") as f:
                f.write(pyspy_top(spy_out))
        return result
    finally:
        stop(server)


def check_node() -> str | None:
    """None when node and the pinned socket.io are ready (installing it if needed)."""
    if not shutil.which("node"):
        return "node is not on PATH"
    if not os.path.exists(os.path.join(NODE_DIR, "node_modules", "socket.io")):
        cmd = ["npm", "install", "--no-package-lock", "--no-audit", "--no-fund"]
        try:
            proc = subprocess.run(cmd, cwd=NODE_DIR, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"npm install failed: {exc}"
        if proc.returncode != 0:
            return "npm install failed: " + proc.stderr.strip()[-500:]
    return None


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
    parser.add_argument("--impls", default=",".join(ALL_IMPLS))
    parser.add_argument(
        "--scenarios",
        default=DEFAULT,
        help="comma list of scenarios, a kind then a client count (default: %(default)s)",
    )
    parser.add_argument("--k", type=int, default=10, help="broadcasts per trigger")
    parser.add_argument(
        "--idle-ping",
        type=float,
        default=5.0,
        help="ping interval (s) of every server in the idle scenarios (a full cycle is waited)",
    )
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
        help="run each Python server under cProfile (slower!); stats in the logs folder",
    )
    parser.add_argument(
        "--py-spy",
        action="store_true",
        help="record ours with py-spy (500 Hz, raw) during each measured window; "
        "profile and its top in the logs folder",
    )
    parser.add_argument("--timeout", type=float, default=15.0, help="bound on any one wait")
    parser.add_argument(
        "--rcvlowat",
        action="store_true",
        help="broadcast: the generator reads deliveries half a batch at a time (SO_RCVLOWAT): "
        "cheaper for it, coarser window edges; for when the generator is the limit",
    )
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
    parser.add_argument(
        "--rerender",
        default="",
        metavar="JSON",
        help="only redo the table from a results .json (give the options of that run)",
    )
    args = parser.parse_args()
    if args.quick:
        args.reps, args.warmup, args.measure = 1, 0.5, 1.5
    args.stacks = [s for s in args.stacks.split(",") if s]
    args.impls = [i for i in args.impls.split(",") if i]
    unknown = set(args.impls) - set(ALL_IMPLS) | set(args.stacks) - {"uvicorn", "aiohttp"}
    if unknown:
        parser.error("unknown impl/stack: {}".format(", ".join(sorted(unknown))))
    try:
        args.scenario_list = parse_list(args.scenarios)
    except ValueError as exc:
        parser.error(str(exc))
    if args.py_spy and not (shutil.which("py-spy") or os.path.exists(PYSPY_FALLBACK)):
        parser.error("--py-spy: py-spy is not installed (pip install py-spy)")
    if not args.out:
        name = "quick.md" if args.quick else "latest.md"
        args.out = os.path.join(HERE, "results", name)
    ncpu = len(os.sched_getaffinity(0))
    args.server_cpu, args.gen_cpu = (
        (0, 1) if ncpu >= 2 and 1 in os.sched_getaffinity(0) else (None, None)
    )

    if args.rerender:
        with open(args.rerender) as f:
            saved = json.load(f)
        text = render(args, saved["runs"], saved["meta"])
        with open(os.path.splitext(args.rerender)[0] + ".md", "w") as f:
            f.write(text)
        print(text)
        return

    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ours_module = args.ours_module or "sio_integrations"
    unusable: dict[str, str] = {}
    if "ours" in args.impls:
        problem = check_ours(ours_module)
        if problem:
            unusable["ours"] = f"{ours_module} not importable: {problem}"
    if "node" in args.impls:
        problem = check_node()
        if problem:
            unusable["node"] = problem
    for impl, problem in unusable.items():
        print(f"{impl} is not usable, skipped: {problem}", file=sys.stderr)

    # (stack, scenario) cells: the async scenarios on every stack, threading on werkzeug
    cells = [(st, sc) for st in args.stacks for sc in args.scenario_list if sc.host is None]
    cells += [("threading", sc) for sc in args.scenario_list if sc.host == "threading"]
    started = time.monotonic()
    runs: list[dict[str, Any]] = []
    for rep in range(args.reps):
        tag = f"r{rep + 1}"
        # alternate the order so no implementation always runs first
        order = args.impls if rep % 2 == 0 else list(reversed(args.impls))
        for stack, sc in cells:
            for impl in order:
                if impl not in sc.impls:
                    continue
                where = stack
                if impl == "node":  # node has no Python stack: measured once per scenario
                    if stack != cells[0][0] and sc.host is None:
                        continue
                    where = "node"
                if impl in unusable:
                    result: dict[str, Any] = {"errors": [unusable[impl]]}
                else:
                    t0 = time.monotonic()
                    result = session(args, impl, where, sc, tag)
                    print(
                        f"[{tag}] {where:<9} {sc.name:<10} {impl:<4} "
                        f"{time.monotonic() - t0:5.1f}s " + summary(result),
                        flush=True,
                    )
                runs.append(
                    {
                        "tag": tag,
                        "stack": where,
                        "impl": impl,
                        "scenario": sc.name,
                        "result": result,
                    }
                )

    meta = describe_run(args, ours_module, time.monotonic() - started)
    text = render(args, runs, meta)
    print()
    print(text)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({"meta": meta, "runs": runs}, f, indent=1)
    print(f"written to {os.path.relpath(args.out, ROOT)}")


if __name__ == "__main__":
    main()
