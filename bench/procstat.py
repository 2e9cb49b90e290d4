"""CPU and memory figures of processes and CPUs, read from /proc (Linux)."""

from __future__ import annotations

import asyncio
import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_busy() -> dict[int, tuple[float, float]]:
    """Per CPU: (task seconds: user+nice+system, interrupt seconds: irq+softirq+steal)."""
    busy: dict[int, tuple[float, float]] = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *ticks = line.split()
                user, nice, system, _idle, _iowait, irq, softirq, steal = (
                    int(t) for t in ticks[:8]
                )
                busy[int(name[3:])] = (
                    (user + nice + system) / CLK_TCK,
                    (irq + softirq + steal) / CLK_TCK,
                )
    return busy


class Window:
    """Snapshot of (time, count, CPU use) to turn counters into rates.

    ``server_cpu``/``gen_cpu`` are the fractions of one CPU used by the server and by this
    generator; ``*_cpu_other`` the time other processes ran on that CPU (a neighbour stealing
    it), ``*_cpu_irq`` interrupt work on it (mostly loopback network processing, part of the
    load itself; steal time of the virtual machine is counted here too).
    """

    def __init__(self, pid: int, count: int) -> None:
        self.pid = pid
        self.t = time.perf_counter()
        self.count = count
        self.server_cpu = proc_cpu(pid)
        self.own_cpu = time.process_time()
        self.busy = cpu_busy()

    def rate(self, end: Window) -> dict[str, float]:
        dt = end.t - self.t
        server = (end.server_cpu - self.server_cpu) / dt
        gen = (end.own_cpu - self.own_cpu) / dt
        count = end.count - self.count
        result = {
            "rate": count / dt,
            "seconds": dt,
            "server_cpu": server,
            "gen_cpu": gen,
            # work per CPU-second of the server: robust when a neighbour steals CPU time
            "per_cpu_s": count / max(end.server_cpu - self.server_cpu, 1e-9),
        }
        # only meaningful when each side is pinned to one CPU (bench/run.py does that)
        for key, cpus, own in (
            ("server_cpu", os.sched_getaffinity(self.pid), server),
            ("gen_cpu", os.sched_getaffinity(0), gen),
        ):
            if len(cpus) == 1:
                cpu = next(iter(cpus))
                tasks = (end.busy[cpu][0] - self.busy[cpu][0]) / dt
                irq = (end.busy[cpu][1] - self.busy[cpu][1]) / dt
                result[key + "_other"] = max(0.0, tasks - own)
                result[key + "_irq"] = irq
        return result


async def wait_server_idle(pid: int, limit: float = 3.0) -> None:
    """Wait (bounded) until the server uses < 5% CPU over 100 ms: cleanup has finished."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = proc_cpu(pid)
        await asyncio.sleep(0.1)
        if proc_cpu(pid) - before < 0.005:
            return
