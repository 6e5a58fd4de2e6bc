"""`trackbench report`, `trackbench compare` and `trackbench export`.

The heavy work (pandas, matplotlib) is imported when a subcommand runs, so registering these
subcommands keeps `trackbench --help` fast.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from results.database import DEFAULT_DB

DEFAULT_OUT = "report"


def register(subparsers: Any) -> None:
    """Add the report, compare and export subcommands."""
    p = subparsers.add_parser(
        "report",
        help="write the HTML and Markdown report with its images",
        description="Write index.html (opens offline), report.md and img/ (PNG and SVG) "
        "from a results database: per scenario medians with spread, ratios to the fastest "
        "and to the reference tracker, plots, fidelity, failures and their reasons.",
    )
    _db_option(p)
    p.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"output directory (default: {DEFAULT_OUT})",
    )
    _suite_option(p, "suites to report (default: the latest suite of each machine)")
    p.add_argument(
        "--combine",
        action="store_true",
        help="pool the --suite suites of each machine into one table (they must have run the "
        "same commit): e.g. a rerun with a larger budget beside the first run",
    )
    _seed_option(p)
    p.set_defaults(func=cmd_report)

    c = subparsers.add_parser(
        "compare",
        help="compare two suites: per configuration NEW/OLD with its interval",
        description="Compare two suites, each given as a suite id in --db or as a database "
        "(path or URL, whose latest suite is used). A difference is claimed only when both "
        "sides have 3 or more ok samples, the medians' order-statistic intervals do not "
        "overlap and the NEW/OLD interval clears --min-effect; claims are listed first. "
        "Values measured with the load average above the CPU count are marked. Suites from "
        "different machines are shown side by side, each framework also against the fastest "
        "on its own machine, and no change of time is claimed unless --force.",
    )
    c.add_argument("old", metavar="OLD", help="suite id in --db, or a database path or URL")
    c.add_argument("new", metavar="NEW", help="suite id in --db, or a database path or URL")
    _db_option(c)
    c.add_argument(
        "--force",
        action="store_true",
        help="judge changes between suites from different machines anyway",
    )
    c.add_argument(
        "--metric",
        default="headline_ns",
        metavar="FIELD",
        help="the field to compare (default: headline_ns, each scenario's headline: "
        "tracking_ns, read_ns for readback, wall_ns in schema 1; e.g. cpu_ns, peak_rss_bytes)",
    )
    c.add_argument(
        "--min-effect",
        type=float,
        default=10.0,
        metavar="PCT",
        help="the smallest change claimed, in percent: the whole NEW/OLD interval must lie "
        "above 1 + PCT/100 or below 1 / (1 + PCT/100) (default: 10)",
    )
    c.add_argument(
        "--out",
        metavar="FILE",
        help="also write the comparison to FILE: CSV for .csv, JSON for .json, else Markdown",
    )
    c.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit with status 1 when a regression is claimed or something newly failed",
    )
    c.set_defaults(func=cmd_compare)

    e = subparsers.add_parser(
        "export",
        help="write the raw samples (one row per cell) as CSV and Parquet",
        description="Write DIR/cells.csv and DIR/cells.parquet: one row per cell with the "
        "results schema's columns, for analysis elsewhere.",
    )
    _db_option(e)
    e.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"output directory (default: {DEFAULT_OUT})",
    )
    _suite_option(e, "suites to export (default: all)")
    e.set_defaults(func=cmd_export)


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=DEFAULT_DB,
        metavar="URL",
        help=f"results database, a path or URL (default: {DEFAULT_DB})",
    )


def _suite_option(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--suite", action="append", metavar="ID", help=text + "; repeatable")


def _seed_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the bootstrap's generator (default: 0)"
    )


def report_command(args: argparse.Namespace) -> str:
    """The command line that makes the same report again."""
    argv = ["trackbench", "report", "--db", args.db, "--out", args.out]
    for sid in args.suite or ():
        argv += ["--suite", sid]
    if args.combine:
        argv.append("--combine")
    if args.seed:
        argv += ["--seed", str(args.seed)]
    return shlex.join(argv)


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report."""
    from reports import analysis, render
    from results.cells import load
    from results.errors import need

    need("matplotlib", "report")
    results = load(args.db)
    sections = analysis.sections(results, args.suite, combine=args.combine)
    out = Path(args.out)
    report = render.build(results, sections, out, report_command(args), seed=args.seed)
    titles = "; ".join(s.title for s in sections)
    print(
        f"wrote {report.html}, {report.markdown} and {len(report.images)} figures "
        f"(PNG and SVG) in {out / render.IMG_DIR}: {titles}"
    )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two suites."""
    from reports import compare
    from results.errors import UsageError

    if args.metric not in compare.METRICS:
        known = ", ".join(compare.METRICS)
        raise UsageError(f"cannot compare {args.metric!r}: choose one of {known}")
    # below 1% a claimed change could print as 1.00x
    if not 1 <= args.min_effect <= 1000:
        raise UsageError(f"--min-effect is a percentage from 1 to 1000, not {args.min_effect:g}")
    min_effect = args.min_effect / 100
    kind = compare.out_format(args.out) if args.out else None
    _, old = compare.resolve(args.old, args.db)
    _, new = compare.resolve(args.new, args.db)
    claim = old.machine == new.machine or args.force
    changes = compare.compare(old, new, args.metric, min_effect, claim)
    text = compare.format_changes(old, new, changes, args.metric, args.force, min_effect)
    sys.stdout.write(text)
    if args.out:
        if kind == "csv":
            text = compare.as_csv(changes, args.metric)
        elif kind == "json":
            text = compare.as_json(old, new, changes, args.metric, args.force, min_effect)
        Path(args.out).write_text(text, "utf-8")
    worse = {compare.REGRESSION, compare.NEW_FAILURE}
    return 1 if args.fail_on_regression and any(c.kind in worse for c in changes) else 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the raw samples."""
    from reports import export
    from results.cells import load

    results = load(args.db)
    csv_path, parquet_path, n = export.export(results, Path(args.out), args.suite)
    print(f"wrote {n} cells to {csv_path} and {parquet_path}")
    return 0
