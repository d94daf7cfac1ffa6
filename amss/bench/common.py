"""What the benchmarks share: BenchError, percentiles and report formatting, CPU accounting, child processes."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import math
import os
import signal
import socket
import sys
import time
from collections.abc import Collection, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import uvloop

from amss.observability.logging import configure_logging

STOP_GRACE_SECONDS: Final = 15.0
# cores used by processes that are not the bench's above which a phase is flagged as disturbed
OTHER_LOAD_WARNING: Final = 0.15


class BenchError(Exception):
    """The bench cannot go on (a process died, a command got no reply, …)."""


# --- statistics and output --------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks; NaN when empty."""
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float) -> str:
    """Seconds as milliseconds with two decimals; "-" for NaN (nothing measured)."""
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f}"


def ratio(value: float, base: float) -> float:
    """value / base; NaN when either is NaN or base is not positive."""
    return value / base if base > 0 and not math.isnan(value) and not math.isnan(base) else math.nan


def verdict(ok: bool) -> str:
    """How a target is reported: "met" or "MISSED"."""
    return "met" if ok else "MISSED"


def progress(message: str) -> None:
    """A progress line on stderr, so that stdout holds only the report."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- CPU accounting from /proc (Linux; "not measured" elsewhere) ------------------------------------


@dataclasses.dataclass(frozen=True)
class CpuSnapshot:
    at: float
    # clock ticks of the whole machine: busy, and given by the hypervisor to someone else
    machine_busy: int
    machine_steal: int
    # pid -> (comm, clock ticks of user + system time)
    processes: Mapping[int, tuple[str, int]]


def cpu_snapshot() -> CpuSnapshot | None:
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal (guest time is already counted in user)
    busy = fields[0] + fields[1] + fields[2] + sum(fields[5:7])
    steal = fields[7] if len(fields) > 7 else 0
    processes: dict[int, tuple[str, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        comm = text[text.find("(") + 1 : text.rfind(")")]
        rest = text[text.rfind(")") + 2 :].split()
        processes[int(entry)] = (comm, int(rest[11]) + int(rest[12]))
    return CpuSnapshot(time.monotonic(), busy, steal, processes)


@dataclasses.dataclass
class CpuUsage:
    """CPU seconds per part of the system over one or more measured intervals."""

    elapsed: float = 0.0
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    machine: float = 0.0
    steal: float = 0.0
    commands: int = 0
    measured: bool = True

    def add(
        self,
        before: CpuSnapshot | None,
        after: CpuSnapshot | None,
        groups: Mapping[int, str],
        commands: int,
        foreign: Collection[int] = (),
        tick: float = 0.0,
    ) -> None:
        """Charge one interval: `groups` names the bench's own processes; Postgres processes in `foreign`
        (backends of other databases) and every unnamed process are "other", load that is not the bench's."""
        if before is None or after is None or after.at <= before.at:
            self.measured = False
            return
        tick = tick or os.sysconf("SC_CLK_TCK")
        for pid, (comm, ticks) in after.processes.items():
            previous = before.processes.get(pid)
            delta = ticks - (previous[1] if previous and previous[0] == comm else 0)
            if pid in groups:
                group = groups[pid]
            elif comm.startswith("postgres") and pid not in foreign:
                group = "postgres"
            elif comm.startswith("redis-server"):
                group = "redis"
            else:
                continue
            self.seconds[group] = self.seconds.get(group, 0.0) + delta / tick
        self.elapsed += after.at - before.at
        self.machine += (after.machine_busy - before.machine_busy) / tick
        self.steal += (after.machine_steal - before.machine_steal) / tick
        self.commands += commands

    def describe(self, cores: int | None) -> str:
        """'cores busy: bench 0.50, …, other 0.02 (total 1.90 of 2; …); CPU per command …'."""
        if not self.measured or self.elapsed <= 0:
            return "cores busy: not measured (no /proc)"
        ours = sum(self.seconds.values())
        busy = {name: value / self.elapsed for name, value in sorted(self.seconds.items())}
        busy["other"] = max(0.0, self.machine - ours) / self.elapsed
        parts = ", ".join(f"{name} {value:.2f}" for name, value in busy.items())
        line = (
            f"cores busy @inflight: {parts} (total {self.machine / self.elapsed:.2f} of {cores};"
            f" stolen by the hypervisor {self.steal / self.elapsed:.2f})"
        )
        if self.commands > 0:
            line += f"; CPU per command, other excluded: {ours / self.commands * 1000:.2f} ms"
        if busy["other"] > OTHER_LOAD_WARNING:
            line += " - other load disturbed these phases"
        return line


# --- child processes --------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Runs in the child before exec: get SIGTERM when the bench dies, even by SIGKILL (Linux)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Children:
    """Every process the bench starts; stopped with SIGTERM, then SIGKILL after a bound."""

    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self._children: list[Child] = []

    async def spawn(self, name: str, args: Sequence[str], env: Mapping[str, str]) -> Child:
        log_path = self._log_dir / f"{name}.log"
        with log_path.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                *args,
                env=dict(env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                preexec_fn=_die_with_parent,
            )
        child = Child(name, process, log_path)
        self._children.append(child)
        return child

    async def stop(self, children: Sequence[Child], grace: float = STOP_GRACE_SECONDS) -> None:
        for child in children:
            if child.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(signal.SIGTERM)
        waits = [asyncio.ensure_future(child.process.wait()) for child in children]
        if waits:
            _, late = await asyncio.wait(waits, timeout=grace)
            if late:
                self.kill(children)
                await asyncio.wait(waits, timeout=5)
        for child in children:
            if child.process.returncode is not None and child in self._children:
                self._children.remove(child)

    async def stop_all(self) -> None:
        await self.stop(list(self._children))

    def kill(self, children: Sequence[Child] | None = None) -> None:
        for child in list(self._children) if children is None else children:
            if child.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()


def run_bench(name: str, main: Coroutine[Any, Any, None]) -> None:
    """Run one `amss bench NAME` to its end on uvloop; a BenchError is one line on stderr and exit 1."""
    configure_logging("warning")
    try:
        uvloop.run(main)
    except BenchError as exc:
        print(f"amss bench {name}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
