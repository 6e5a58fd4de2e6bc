"""The progress of a suite: a bar with an ETA on a terminal, one line per cell elsewhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO


def clock(seconds: float) -> str:
    """`m:ss`, or `h:mm:ss` past an hour."""
    seconds = max(0, int(seconds + 0.5))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """A progress bar with an ETA on a stream (one line per cell when not a terminal)."""

    def __init__(self, estimates: Sequence[float], stream: TextIO | None = None) -> None:
        self.estimates = list(estimates)
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.done = 0
        self.spent_estimate = 0.0

    def eta(self) -> float:
        """Seconds left: the remaining estimates scaled by how the finished cells compared."""
        elapsed = time.monotonic() - self.started
        remaining = sum(self.estimates[self.done :])
        scale = elapsed / self.spent_estimate if self.spent_estimate > 1.0 else 1.0
        return remaining * scale

    def step(self, label: str, outcome: str, seconds: float, reason: str = "") -> None:
        """One cell finished; a cell that was not measured says why (`skipped: ...`)."""
        self.spent_estimate += self.estimates[self.done] if self.done < len(self.estimates) else 0
        self.done += 1
        total = len(self.estimates)
        elapsed = time.monotonic() - self.started
        head = f"{self.done:>{len(str(total))}}/{total}"
        times = f"elapsed {clock(elapsed)}, ETA {clock(self.eta())}"
        shown = f"{outcome} {seconds:.2f} s"
        if reason and outcome != "ok":  # on one line: a crash's reason may be a traceback
            shown = f"{outcome}: {' '.join(reason.split())[:200]}"
        if self.tty:
            width = 24
            filled = int(width * self.done / max(total, 1))
            bar = "#" * filled + "." * (width - filled)
            text = f"\r[{bar}] {head} {times}  {label}: {shown}"
            self.stream.write(text[:160].ljust(160))
            if self.done == total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{head}] {label}: {shown} ({times})\n")
        self.stream.flush()

    def say(self, text: str) -> None:
        """A message on its own line."""
        self.stream.write(("\n" if self.tty and self.done else "") + text + "\n")
        self.stream.flush()
