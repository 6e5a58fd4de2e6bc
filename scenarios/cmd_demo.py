"""`trackbench demo`: a small tour of the reference tracker into a SQLite file."""

from __future__ import annotations

import argparse
import math
from typing import Any


def register(sub: Any) -> None:
    """Add the `demo` subcommand."""
    parser = sub.add_parser("demo", help="log a small training run with the reference tracker")
    parser.add_argument("--db", default="results/demo.db", help="database URL or path")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Log two runs, one fine-tuning the other, and print what was stored."""
    from results.database import open_for_writing  # creates the file's folder, one-line errors

    db = open_for_writing(args.db)
    exp = db.experiment("demo")
    with exp.run("pretrain", params={"lr": 0.1, "epochs": 3}, tags=["demo"]) as base:
        for step in range(300):
            base.log({"loss": math.exp(-step / 100), "lr": 0.1}, step=step)
        base["note"] = "pretraining"
    with exp.run("finetune", params={"lr": 0.01}, links={"finetunes": base.id}) as tuned:
        for step in range(100):
            tuned.log({"loss": 0.05 * math.exp(-step / 50)}, step=step)
    print(exp.runs_df().to_string())
    print(exp.metrics_df().groupby(["run_id", "name"])["value"].agg(["count", "last"]))
    db.close()
    return 0
