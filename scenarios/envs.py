"""Framework environments: one uv virtual environment per framework version, under `.envs/`.

Each environment holds one framework (its adapter's `requirements`) and the worker's own
minimum (numpy), nothing of the others, and is keyed by what is resolved into it: the
committed lock `adapters/locks/<name>.txt` when it matches the adapter's requirements, the
requirement strings otherwise (a `--with` override, a wheel's bytes), plus a hash of the
sources of any project package the adapter asks for (the reference tracker is copied in
from the working tree, so an edit to `tracker/` never runs against stale code). Frameworks
whose resolved requirements are the same (the floors, `null`) share one environment.

The manager side: it never imports a framework, and learns what an adapter declares by
running the worker's `--describe` mode with this interpreter.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "scenarios" / "worker.py"
LOCKS = ROOT / "adapters" / "locks"
# bump when the build recipe changes, so every environment is rebuilt
FORMAT = 1
WORKER_REQUIREMENT = "numpy"  # the worker's own minimum: workloads build arrays with it
MARKER = "trackbench-env.json"  # written last: an environment without it is incomplete
PYVER = f"{sys.version_info.major}.{sys.version_info.minor}"


class EnvError(Exception):
    """An environment could not be described, locked or built, or is not built yet."""


def envs_root() -> Path:
    """Where environments live: $TRACKBENCH_ENVS, or `.envs/` in the project (git-ignored)."""
    return Path(os.environ.get("TRACKBENCH_ENVS") or ROOT / ".envs")


@functools.lru_cache(maxsize=32)
def _describe(names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-I", os.fspath(WORKER), "--describe", *names],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise EnvError(f"describing adapters failed: {proc.stderr.strip()[-2000:]}")
    described: dict[str, dict[str, Any]] = json.loads(proc.stdout)
    return described


def describe(names: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """What each adapter declares (all registered ones by default), without importing any.

    An adapter whose module cannot be imported gets {"error": "..."} instead.
    """
    return _describe(tuple(names))


def declared(name: str) -> dict[str, Any]:
    """What one adapter declares; EnvError if its module is missing or broken."""
    info = describe([name])[name]
    if "error" in info:
        raise EnvError(f"framework {name!r}: {info['error']}")
    return info


def dist_name(requirement: str) -> str:
    """The normalized distribution name of a requirement string or a wheel path."""
    if requirement.endswith(".whl"):
        requirement = Path(requirement).name.split("-")[0]
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise EnvError(f"cannot read a package name in {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def distribution(info: dict[str, Any]) -> str:
    """A framework's own distribution: its adapter's first requirement, whose installed
    version its results record; "" for one with none (the floors, the working tree's tracker)."""
    if info.get("project_packages") or not info.get("requirements"):
        return ""
    return dist_name(info["requirements"][0])


# `mlflow@2.11.0`: framework mlflow with its distribution at 2.11.0, beside a plain `mlflow`
LABEL_SEP = "@"
_NAME = r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)"
_EXACT = re.compile(_NAME + r"\s*(\[[^\]]*\])?\s*===?\s*([A-Za-z0-9.+!_-]+)\s*")


def exact_version(requirement: str) -> str:
    """The one version a requirement installs (`NAME==V`, or a wheel's); EnvError for a range,
    which could install another version on each machine."""
    if requirement.endswith(".whl"):
        parts = Path(requirement).name.split("-")
        if len(parts) >= 5:  # name-version(-build)-python-abi-platform.whl
            return parts[1]
        raise EnvError(
            f"{requirement!r} is not a wheel's file name (NAME-VERSION-...-PLATFORM.whl)"
        )
    match = _EXACT.fullmatch(requirement)
    if not match:
        raise EnvError(
            f"{requirement!r} is not one version: give NAME==VERSION or a .whl, so that every "
            f"run of the suite measures the version its results are labelled with"
        )
    return match[3]


def own_requirement(info: dict[str, Any], requirement: str) -> str:
    """One version of a framework's own distribution (`exact_version`), the name spelled as
    its adapter spells it: one version makes one environment however it was typed."""
    match = _EXACT.fullmatch(requirement)
    if requirement.endswith(".whl") or not match:
        return requirement
    name = re.match(_NAME, info["requirements"][0])
    return f"{name[1] if name else match[1]}{match[2] or ''}=={match[3]}"


def split_label(label: str) -> tuple[str, str]:
    """(framework, version) of a label such as `mlflow@2.11.0`; the version is "" for the pin."""
    name, _, version = label.partition(LABEL_SEP)
    return name, version


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sources_hash(package: str) -> str:
    """A hash of a project package's source files (paths and bytes, caches excluded)."""
    digest = hashlib.sha256()
    base = ROOT / package
    if not base.is_dir():
        raise EnvError(f"project package {package!r} not found at {base}")
    for path in sorted(base.rglob("*")):
        if "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo") or not path.is_file():
            continue
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
        digest.update(_file_sha(path).encode())
    return digest.hexdigest()


def requirements_for(info: dict[str, Any], with_: Sequence[str] = ()) -> tuple[str, ...]:
    """The adapter's requirements with `with_` overrides applied and the worker's numpy added."""
    reqs = list(info["requirements"])
    for extra in with_:
        if extra.endswith(".whl"):
            wheel = Path(extra).expanduser().resolve()
            if not wheel.is_file():
                raise EnvError(f"no wheel at {wheel}")
            extra = os.fspath(wheel)
        name = dist_name(extra)
        for i, req in enumerate(reqs):
            if dist_name(req) == name:
                reqs[i] = extra
                break
        else:
            reqs.append(extra)
    if not any(dist_name(r) == dist_name(WORKER_REQUIREMENT) for r in reqs):
        reqs.append(WORKER_REQUIREMENT)
    return tuple(reqs)


def lock_path(name: str) -> Path:
    """The committed lock of framework `name`."""
    return LOCKS / f"{name}.txt"


def _lock_header(reqs: Sequence[str]) -> dict[str, str]:
    return {"requirements": " ".join(reqs), "python": PYVER}


def _read_lock(path: Path) -> tuple[dict[str, str], str]:
    """A lock file's `# key: value` header and its pinned lines (comments stripped)."""
    header: dict[str, str] = {}
    pins: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line[2:].partition(": ")
        if line.startswith("# ") and key in ("requirements", "python") and not pins:
            header[key] = value.strip()
        stripped = line.split("#", 1)[0].strip()
        if stripped:
            pins.append(stripped)
    return header, "\n".join(pins) + "\n"


@dataclass(frozen=True)
class EnvSpec:
    """One environment: what goes in, how it is keyed, and where it lives."""

    label: str
    requirements: tuple[str, ...]
    lock: Path | None  # the lock installed exactly, or None to resolve the requirements
    lock_note: str  # "locked", or why not
    packages: tuple[str, ...]  # project packages copied in from the working tree
    key: str
    root: Path
    # with project packages: the key of the same environment without them, built once and
    # hard-linked into each snapshot, so an edit to tracker/ rebuilds in about a second
    deps_key: str = ""
    deps_label: str = ""

    @property
    def deps(self) -> EnvSpec | None:
        """The environment of the requirements alone, under the project packages' snapshot."""
        if not self.packages:
            return None
        return replace(self, label=self.deps_label, packages=(), key=self.deps_key)

    @property
    def path(self) -> Path:
        """The environment's folder."""
        return self.root / f"{self.label}-{self.key[:12]}"

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        return self.path / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        """The environment's site-packages folder."""
        return self.path / "lib" / f"python{PYVER}" / "site-packages"

    def info(self) -> dict[str, Any] | None:
        """What the build recorded (versions, timings, size), or None if not built."""
        try:
            data: dict[str, Any] = json.loads((self.path / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if data.get("key") == self.key else None

    def state(self) -> str:
        """ready, missing, incomplete (a build stopped half way) or failed (last build)."""
        if self.info() is not None and self.python.exists():
            return "ready"
        if self.path.with_suffix(".failed").exists():
            return "failed"
        return "incomplete" if self.path.exists() else "missing"


def spec_for(
    name: str, with_: Sequence[str] = (), *, info: dict[str, Any] | None = None
) -> EnvSpec:
    """The environment framework `name` runs in, with `with_` overriding its requirements."""
    info = info if info is not None else declared(name)
    reqs = requirements_for(info, with_)
    packages = tuple(info.get("project_packages", ()))
    digest = hashlib.sha256(
        f"format={FORMAT}\npython={sys.implementation.name}-{PYVER}-{platform.machine()}\n".encode()
    )
    lock: Path | None = None
    path = lock_path(name)
    if with_:
        note = "unlocked: --with"
    elif not path.exists():
        note = "unlocked: no lock"
    else:
        header, pins = _read_lock(path)
        if header != _lock_header(reqs):
            note = "unlocked: lock out of date"
        else:
            lock, note = path, "locked"
            digest.update(b"lock\n" + pins.encode())
    if lock is None:
        for req in reqs:
            digest.update(b"req\n" + req.encode() + b"\n")
            if req.endswith(".whl"):
                digest.update(_file_sha(Path(req)).encode())
    deps_key = digest.hexdigest()
    for package in packages:
        digest.update(f"package {package} {sources_hash(package)}\n".encode())
    # named for what is in it; the same requirements make the same environment, shared
    plain = dist_name(reqs[0]) if info["requirements"] else "base"
    label = packages[0] if packages else plain
    return EnvSpec(
        label, reqs, lock, note, packages, digest.hexdigest(), envs_root(), deps_key, plain
    )


def uv_command() -> list[str]:
    """How to run uv: the `uv` on PATH, else the one installed beside this interpreter."""
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        from uv import find_uv_bin  # the PyPI package's locator; no framework

        return [find_uv_bin()]
    except ImportError as exc:
        raise EnvError("uv is needed to build environments: pip install uv") from exc


def _uv_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["UV_PYTHON_DOWNLOADS"] = "never"  # nothing but the package registries is reachable
    env["UV_NO_PROGRESS"] = "1"
    return env


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, env=_uv_env(), **kwargs)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-1500:]
        raise EnvError(f"{' '.join(argv[:3])} ... failed ({proc.returncode}): {tail}")
    return proc


def base_python() -> str:
    """The interpreter environments are made from: $TRACKBENCH_PYTHON, else this one's base."""
    base: str = getattr(sys, "_base_executable", None) or sys.executable
    return os.environ.get("TRACKBENCH_PYTHON") or base


def _tree_bytes(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _link_copy(source: Path, target: Path) -> None:
    """Copy a built environment by hard links, rewriting the files that name its path."""
    shutil.copytree(source, target, symlinks=True, copy_function=os.link)
    old, new = os.fspath(source).encode(), os.fspath(target).encode()
    for path in [*target.joinpath("bin").iterdir(), target / "pyvenv.cfg"]:
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if old in data:  # script shebangs, activate scripts: a new file, not the shared link
            path.unlink()
            path.write_bytes(data.replace(old, new))
            path.chmod(0o755)


def _build_once(spec: EnvSpec) -> None:
    uv = uv_command()
    shutil.rmtree(spec.path, ignore_errors=True)
    deps = spec.deps
    if deps is not None:
        build(deps)
        _link_copy(deps.path, spec.path)
        (spec.path / MARKER).unlink()
        _copy_packages(spec)
        return
    _run([*uv, "venv", "--quiet", "--python", base_python(), os.fspath(spec.path)])
    python = os.fspath(spec.python)
    # compiled at install, so no import is ever timed with a compile in it
    if spec.lock is not None:
        _run([*uv, "pip", "sync", "--quiet", "--compile-bytecode", "--python", python,
              os.fspath(spec.lock)])  # fmt: skip
    else:
        _run([*uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", python,
              *spec.requirements])  # fmt: skip
    _copy_packages(spec)


def _copy_packages(spec: EnvSpec) -> None:
    python = os.fspath(spec.python)
    for package in spec.packages:
        target = spec.site_packages / package
        shutil.copytree(
            ROOT / package, target, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]")
        )
        _run([python, "-I", "-m", "compileall", "-q", os.fspath(target)])


@contextlib.contextmanager
def _build_lock(spec: EnvSpec) -> Iterator[None]:
    # two test sessions (or engineers) building the same environment take turns
    spec.root.mkdir(parents=True, exist_ok=True)
    with open(spec.path.with_suffix(".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(
    spec: EnvSpec,
    *,
    force: bool = False,
    retries: int = 1,
    echo: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build `spec` unless it is ready (or `force`), retrying `retries` times; its info."""
    say = echo or (lambda _msg: None)
    with _build_lock(spec):
        info = spec.info()
        if info is not None and not force and spec.python.exists():
            return info
        failed = spec.path.with_suffix(".failed")
        errors = []
        for attempt in range(1, retries + 2):
            started = time.perf_counter()
            try:
                _build_once(spec)
            except (EnvError, OSError) as exc:
                errors.append(f"attempt {attempt}: {exc}")
                say(f"{spec.label}: build attempt {attempt} failed: {str(exc)[-300:]}")
                continue
            seconds = time.perf_counter() - started
            freeze = _run([*uv_command(), "pip", "freeze", "--python", os.fspath(spec.python)])
            info = {
                "key": spec.key,
                "label": spec.label,
                "requirements": list(spec.requirements),
                "lock": os.fspath(spec.lock) if spec.lock else None,
                "lock_note": spec.lock_note,
                "packages": list(spec.packages),
                "python": PYVER,
                "build_seconds": round(seconds, 3),
                "attempts": attempt,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "size_bytes": _tree_bytes(spec.path),
                "installed": freeze.stdout.split(),
            }
            (spec.path / MARKER).write_text(json.dumps(info, indent=1), encoding="utf-8")
            failed.unlink(missing_ok=True)
            return info
        failed.write_text("\n".join(errors), encoding="utf-8")
        raise EnvError(f"building the {spec.label} environment failed twice: {errors[-1]}")


def ensure(
    name: str, with_: Sequence[str] = (), echo: Callable[[str], None] | None = None
) -> EnvSpec:
    """The ready environment of framework `name`, built first if needed."""
    spec = spec_for(name, with_)
    build(spec, echo=echo)
    return spec


def build_command(name: str, with_: Sequence[str] = ()) -> str:
    """The `trackbench envs --build` command that builds framework `name`'s environment."""
    return shlex.join(
        ["trackbench", "envs", "--build", name, *(a for w in with_ for a in ("--with", w))]
    )


def python_for(name: str, with_: Sequence[str] = ()) -> Path:
    """The interpreter of framework `name`'s environment; EnvError if it is not built."""
    spec = spec_for(name, with_)
    if spec.state() != "ready":
        raise EnvError(
            f"the {name} environment is {spec.state()}: run `{build_command(name, with_)}`"
        )
    return spec.python


def write_lock(name: str, *, info: dict[str, Any] | None = None) -> Path:
    """Resolve framework `name`'s requirements with `uv pip compile` into its committed lock."""
    info = info if info is not None else declared(name)
    reqs = requirements_for(info)
    base = [*uv_command(), "pip", "compile", "-", "--quiet", "--no-header",
            "--python-version", PYVER]  # fmt: skip
    try:
        # markers for every platform, so the lock also installs on another machine
        out = _run([*base, "--universal"], input="\n".join(reqs) + "\n").stdout
        scope = "universal"
    except EnvError:
        out = _run(base, input="\n".join(reqs) + "\n").stdout
        scope = f"{sys.platform}-{platform.machine()} only"
    version = _run([*uv_command(), "--version"]).stdout.strip()
    header = _lock_header(reqs)
    text = (
        f"# Lock for the {name!r} environment: `trackbench envs --lock {name}` ({version},"
        f" {scope}).\n" + "".join(f"# {k}: {v}\n" for k, v in header.items()) + out
    )
    path = lock_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def prune() -> list[Path]:
    """Remove environments no registered framework's current key points to; what went."""
    keep = set()
    for name, info in describe().items():
        if "error" not in info:
            with contextlib.suppress(EnvError):
                spec = spec_for(name, info=info)
                keep.add(spec.path.name)
                if spec.deps is not None:
                    keep.add(spec.deps.path.name)
    removed = []
    root = envs_root()
    for path in sorted(root.glob("*")) if root.exists() else []:
        stem = path.name.removesuffix(".lock").removesuffix(".failed")
        if stem not in keep:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed
