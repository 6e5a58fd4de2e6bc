"""Runs, logs and flushes from any thread: nothing lost, nothing written twice."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import tracker

THREADS = 8
STEPS = 1000


def _in_threads(work: Callable[[int], None]) -> list[BaseException]:
    """Run work(i) in THREADS threads started together; the exceptions they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def body(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_threads_each_logging_into_their_own_run(db_url: str) -> None:
    db = tracker.connect(db_url, flush_every_rows=300, flush_every_seconds=0.01)
    exp = db.experiment("threads")
    runs: dict[int, tracker.Run] = {}

    def work(i: int) -> None:
        run = runs[i] = exp.run(f"t{i}", params={"thread": i})
        chance = random.Random(i)
        for step in range(STEPS):
            run.log({"a": float(step), "b": float(i)}, step=step)
            if chance.random() < 0.01:
                run.flush()
            if step == STEPS // 2:
                run[f"half-{i}"] = step
        run.end()

    assert _in_threads(work) == []
    db.close()
    with tracker.connect(db_url) as reader:
        stored = reader.experiment("threads").runs()
        assert sorted(run.name or "" for run in stored) == [f"t{i}" for i in range(THREADS)]
        for run in stored:
            i = run.params["thread"]
            assert run.status == "COMPLETED"
            assert run.metrics() == {
                "a": [(s, float(s)) for s in range(STEPS)],
                "b": [(s, float(i)) for s in range(STEPS)],
            }
            assert run[f"half-{i}"] == STEPS // 2


def test_threads_logging_into_one_run(db_url: str) -> None:
    db = tracker.connect(db_url, flush_every_rows=300, flush_every_seconds=0.01)
    run = db.experiment("threads").run()

    def work(i: int) -> None:
        chance = random.Random(i)
        for step in range(STEPS):
            run.log({f"t{i}": float(step)}, step=step)
            if chance.random() < 0.01:
                run.flush()
            if chance.random() < 0.01:
                run[f"field-{i}"] = step

    assert _in_threads(work) == []
    run.end()
    db.close()
    with tracker.connect(db_url) as reader:
        stored = reader.get_run(run.id)
        assert stored.metrics() == {
            f"t{i}": [(s, float(s)) for s in range(STEPS)] for i in range(THREADS)
        }


def test_default_steps_from_threads_are_never_shared(tmp_path) -> None:
    db = tracker.connect(tmp_path / "t.db", flush_every_rows=100)
    run = db.experiment("threads").run()
    assert _in_threads(lambda i: [run.log({"x": float(i)}) for _ in range(STEPS)]) == []
    run.end()
    steps = [step for step, _ in db.get_run(run.id).metrics()["x"]]
    assert steps == list(range(THREADS * STEPS))
    db.close()
