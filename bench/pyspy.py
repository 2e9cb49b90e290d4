"""The top of a py-spy ``raw`` (collapsed stacks) profile, as text for bench/results/logs/."""

from __future__ import annotations

import re
from collections import Counter

LINE_NO = re.compile(r":\d+\)$")


def frame_name(frame: str) -> str:
    """``send (sio_integrations/runtime/x.py:12)`` -> ``send (sio_integrations/runtime/x.py)``;
    site-packages paths are shortened to the package."""
    frame = LINE_NO.sub(")", frame.strip())
    return re.sub(r"\(/.*?/site-packages/", "(", frame)


def top(path: str, limit: int = 30) -> str:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    with open(path, errors="replace") as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [frame_name(x) for x in stack.split(";")]
            samples += n
            own[frames[-1]] += n
            for name in set(frames):
                total[name] += n
    if not samples:
        return f"{path}: no samples\n"
    lines = [f"{samples} samples (py-spy raw profile: {path})", "", "own time (leaf frames):"]
    lines += [f"{100 * n / samples:6.1f}%  {name}" for name, n in own.most_common(limit)]
    lines += ["", "inclusive time:"]
    lines += [f"{100 * n / samples:6.1f}%  {name}" for name, n in total.most_common(limit)]
    return "\n".join(lines) + "\n"
