"""The writer's own processes, as a workload measures them from inside: memory and CPU time.

"Own" is the writer process and every process in its session or below it: a framework's
background threads and helper processes (wandb-core, a writer subprocess). A local server
the manager started for the cell is not among them; its cost is in the cell's `cpu_ns` and
`peak_rss_bytes`. Linux /proc; standard library only.
"""

from __future__ import annotations

import os
import resource
import threading
import time

from scenarios.watchdog import own_processes, stat_fields

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
# fields of /proc/PID/stat after the command: utime, stime, cutime, cstime; rss (pages)
_CPU_FIELDS = slice(11, 15)
_RSS_FIELD = 21


def rss_bytes() -> int:
    """The resident memory of this process and its own processes, summed."""
    total = 0
    for pid in (os.getpid(), *own_processes()):
        fields = stat_fields(pid)
        if fields is not None:
            total += int(fields[_RSS_FIELD]) * _PAGE
    return total


def others_cpu_ns() -> int:
    """CPU time so far of everything but the calling thread: this process's other threads,
    its own processes (and what they reaped), and the children it reaped itself."""
    others = time.process_time_ns() - time.thread_time_ns()
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    others += int((reaped.ru_utime + reaped.ru_stime) * 1e9)
    for pid in own_processes():
        fields = stat_fields(pid)
        if fields is not None:
            others += sum(int(f) for f in fields[_CPU_FIELDS]) * _TICK_NS
    return others


class MemorySampler:
    """Samples rss_bytes() every `every` seconds in a thread, with the step the loop has
    reached (the loop sets `where[0]`); it sleeps in between, taking next to no CPU."""

    def __init__(self, where: list[int], every: float) -> None:
        self.where, self.every = where, every
        self.samples: list[list[int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trackbench-rss", daemon=True)

    def start(self) -> None:
        """Take the first sample and start sampling."""
        self.samples.append([self.where[0], rss_bytes()])
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append([self.where[0], rss_bytes()])

    def stop(self) -> None:
        """Stop sampling and take the last sample."""
        self._stop.set()
        self._thread.join()
        self.samples.append([self.where[0], rss_bytes()])

    def series(self, points: int) -> list[list[int]]:
        """At most `points` samples, evenly spaced, the first and the last kept."""
        samples = self.samples
        if len(samples) <= points:
            return list(samples)
        last = len(samples) - 1
        picked = sorted({round(i * last / (points - 1)) for i in range(points)})
        return [samples[i] for i in picked]
