"""`trackbench envs`: list, build, lock and prune the framework environments."""

from __future__ import annotations

import argparse
from typing import Any

from results.errors import UsageError
from scenarios import envs


def register(subparsers: Any) -> None:
    """Add the `envs` subcommand."""
    parser = subparsers.add_parser(
        "envs",
        help="list, build, lock or prune the framework environments",
        description="One uv virtual environment per framework version, under .envs/. "
        "Without an action, list them and their state.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="frameworks (default: all)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--build", action="store_true", help="build missing environments")
    action.add_argument("--lock", action="store_true", help="re-resolve and write the locks")
    action.add_argument("--prune", action="store_true", help="remove unused environments")
    parser.add_argument("--force", action="store_true", help="with --build: rebuild ready ones")
    add_with_argument(parser)
    parser.set_defaults(func=main)


def add_with_argument(
    parser: argparse.ArgumentParser, *, many: bool = False, note: str = ""
) -> None:
    """The `--with` option: another version or a local wheel instead of the pinned one.

    With `many`, one --with takes several REQs (for a command without positional names,
    which they would swallow).
    """
    parser.add_argument(
        "--with",
        dest="with_",
        action="extend" if many else "append",
        nargs="+" if many else None,
        default=[],
        metavar="REQ",
        help="install REQ (e.g. mlflow==2.22.5, or a path to a .whl) instead of the "
        f"framework's pinned requirement of the same name; repeatable{note}",
    )


def _names(args: argparse.Namespace) -> tuple[list[str], dict[str, dict[str, Any]]]:
    described = envs.describe()
    unknown = [n for n in args.names if n not in described]
    if unknown:
        raise UsageError(f"unknown framework {unknown[0]!r}; known: {', '.join(described)}")
    if args.with_ and not args.names:
        raise UsageError("--with needs the framework(s) it applies to, e.g. `envs mlflow --with`")
    names = args.names or list(described)
    return names, described


def _size(info: dict[str, Any] | None) -> str:
    return f"{info['size_bytes'] / 1e6:.0f} MB" if info else "-"


def _version(spec: envs.EnvSpec, info: dict[str, Any] | None) -> str:
    if not info:
        return "-"
    if spec.packages:
        return "working tree"
    wanted = envs.dist_name(spec.requirements[0])
    for line in info.get("installed", []):
        name, _, version = line.partition("==")
        if name and envs.dist_name(name) == wanted:
            return version
    return "-"


def main(args: argparse.Namespace) -> int:
    """Run the `envs` subcommand."""
    if args.prune:
        for path in envs.prune():
            print(f"removed {path}")
        return 0
    names, described = _names(args)
    failures = 0
    rows = [("FRAMEWORK", "STATE", "ENVIRONMENT", "LOCK", "BUILD", "SIZE", "VERSION", "NOTE")]
    for name in names:
        info = described[name]
        if "error" in info:
            failures += args.build or args.lock
            rows.append((name, "no adapter", "-", "-", "-", "-", "-", info["error"][:80]))
            continue
        try:
            if args.lock:
                print(f"{name}: wrote {envs.write_lock(name, info=info)}")
                continue
            spec = envs.spec_for(name, args.with_, info=info)
            if args.build:
                was = spec.state()
                built = envs.build(spec, force=args.force, echo=print)
                if was == "ready" and not args.force:
                    print(f"{name}: ready ({spec.path.name})")
                else:
                    print(
                        f"{name}: built {spec.path.name} in {built['build_seconds']:.1f} s "
                        f"(attempt {built['attempts']}, {_size(built)})"
                    )
                continue
        except envs.EnvError as exc:
            failures += 1
            print(f"{name}: {exc}")
            continue
        built_info = spec.info()
        rows.append(
            (
                name,
                spec.state(),
                spec.path.name,
                spec.lock_note,
                f"{built_info['build_seconds']:.1f} s" if built_info else "-",
                _size(built_info),
                _version(spec, built_info),
                f"broken: {info['broken']}" if info.get("broken") else "",
            )
        )
    if len(rows) > 1:
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))
    return 1 if failures else 0
