"""Framework environments: keying, locks, state, real builds (small ones) and the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from scenarios import envs
from scenarios.cli import main

NO_REQS: dict[str, list[str]] = {"requirements": [], "project_packages": []}


@pytest.fixture
def envs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environments built by the test go into a throwaway folder (the uv cache is shared)."""
    root = tmp_path / "envs"
    monkeypatch.setenv("TRACKBENCH_ENVS", str(root))
    return root


@pytest.fixture
def locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty locks folder in place of adapters/locks."""
    folder = tmp_path / "locks"
    folder.mkdir()
    monkeypatch.setattr(envs, "LOCKS", folder)
    return folder


def test_dist_name_normalizes() -> None:
    assert envs.dist_name("Comet_ML==3.58.8") == "comet-ml"
    assert envs.dist_name("neptune<2") == "neptune"
    assert envs.dist_name("zope.interface[x]>=5") == "zope-interface"
    assert envs.dist_name("/wheels/mlflow-2.22.5-py3-none-any.whl") == "mlflow"


def test_with_replaces_or_adds_and_numpy_is_added_once(tmp_path: Path) -> None:
    info = {"requirements": ["mlflow==3.17.2", "setuptools<81"]}
    assert envs.requirements_for(info) == ("mlflow==3.17.2", "setuptools<81", "numpy")
    assert envs.requirements_for(info, ["MLflow==2.22.5", "rich"]) == (
        "MLflow==2.22.5", "setuptools<81", "rich", "numpy",
    )  # fmt: skip
    wheel = tmp_path / "mlflow-9.9.9-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    assert envs.requirements_for(info, [str(wheel)])[0] == str(wheel)
    assert envs.requirements_for({"requirements": ["numpy==1.26.4"]}) == ("numpy==1.26.4",)
    with pytest.raises(envs.EnvError, match="no wheel at"):
        envs.requirements_for(info, [str(tmp_path / "missing-1.0-py3-none-any.whl")])


def test_same_resolved_requirements_share_one_environment() -> None:
    paths = {envs.spec_for(name).path for name in ("sqlite", "numpy", "null")}
    assert len(paths) == 1
    assert envs.spec_for("null").lock_note == "locked"
    assert envs.spec_for("tracker").path != envs.spec_for("null").path


def test_lock_keys_the_environment(locks: Path, tmp_path: Path) -> None:
    info = {"requirements": ["pkg==1"], "project_packages": []}
    unlocked = envs.spec_for("x", info=info)
    assert (unlocked.lock, unlocked.lock_note) == (None, "unlocked: no lock")
    lock = locks / "x.txt"
    lock.write_text("# made by hand\n# requirements: pkg==1 numpy\n# python: 3.11\npkg==1\n")
    first = envs.spec_for("x", info=info)
    assert (first.lock, first.lock_note) == (lock, "locked")
    assert first.key != unlocked.key
    # comments do not change the key, pins do
    lock.write_text("# other words\n# requirements: pkg==1 numpy\n# python: 3.11\n"
                    "pkg==1\n    # via -r -\n")  # fmt: skip
    assert envs.spec_for("x", info=info).key == first.key
    lock.write_text(lock.read_text() + "dep==2\n")
    assert envs.spec_for("x", info=info).key != first.key
    # a lock made for other requirements is not used
    lock.write_text("# requirements: pkg==0 numpy\n# python: 3.11\npkg==0\n")
    assert envs.spec_for("x", info=info).lock_note == "unlocked: lock out of date"
    assert envs.spec_for("x", ["pkg==2"], info=info).lock_note == "unlocked: --with"


def test_project_sources_key_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(envs, "ROOT", tmp_path)
    package = tmp_path / "fakepkg"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("X = 1\n")
    info = {"requirements": [], "project_packages": ["fakepkg"]}
    first = envs.spec_for("null", info=info)
    (package / "__pycache__" / "junk.pyc").write_bytes(b"ignored")
    assert envs.spec_for("null", info=info).key == first.key
    (package / "__init__.py").write_text("X = 2\n")
    second = envs.spec_for("null", info=info)
    assert second.key != first.key
    assert second.deps_key == first.deps_key == envs.spec_for("null", info=NO_REQS).key
    assert second.path.name.startswith("fakepkg-")
    assert second.deps is not None and second.deps.path == envs.spec_for("null").path


@pytest.mark.slow
def test_build_state_and_snapshot(envs_root: Path, tmp_path: Path, monkeypatch) -> None:
    """A real build (numpy only, from the lock), then a project package snapshot over it."""
    base = envs.spec_for("null")
    assert base.state() == "missing"
    info = envs.build(base)
    assert base.state() == "ready"
    assert info["attempts"] == 1 and info["build_seconds"] > 0 and info["lock_note"] == "locked"
    # one framework (here none) plus the worker's numpy: nothing else
    assert [line.split("==")[0] for line in info["installed"]] == ["numpy"]
    compiled = list((base.site_packages / "numpy" / "__pycache__").glob("__init__.cpython-*.pyc"))
    assert compiled, "bytecode was not compiled at install"
    assert envs.build(base)["built_at"] == info["built_at"]  # ready: not rebuilt
    assert envs.python_for("null") == base.python

    monkeypatch.setattr(envs, "ROOT", tmp_path)
    (tmp_path / "fakepkg").mkdir()
    (tmp_path / "fakepkg" / "__init__.py").write_text("X = 41\n")
    pkg_info = {"requirements": [], "project_packages": ["fakepkg"]}
    snap = envs.spec_for("null", info=pkg_info)
    built = envs.build(snap)
    assert built["build_seconds"] < 10  # hard links over the ready base, no reinstall
    (tmp_path / "fakepkg" / "__init__.py").write_text("X = 42\n")  # the working tree moves on
    out = subprocess.run(
        [str(snap.python), "-I", "-c", "import fakepkg, numpy; print(fakepkg.X, fakepkg.__file__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert out[0] == "41" and out[1].startswith(str(snap.site_packages))
    assert list((snap.site_packages / "fakepkg" / "__pycache__").glob("*.pyc"))
    assert (base.path / envs.MARKER).exists()  # the shared base is untouched

    (base.path / envs.MARKER).unlink()
    assert base.state() == "incomplete"
    with pytest.raises(envs.EnvError, match="is incomplete"):
        envs.python_for("null")


def test_failed_build_is_retried_once_then_recorded(envs_root: Path, tmp_path: Path) -> None:
    wheel = tmp_path / "broken-1.0-py3-none-any.whl"
    wheel.write_bytes(b"this is not a zip file")
    spec = envs.spec_for("null", [str(wheel)])
    messages: list[str] = []
    with pytest.raises(envs.EnvError, match="failed twice"):
        envs.build(spec, echo=messages.append)
    assert len(messages) == 2 and messages[1].startswith("base: build attempt 2 failed")
    assert spec.state() == "failed"
    record = spec.path.with_suffix(".failed").read_text()
    assert "attempt 1:" in record and "attempt 2:" in record


def test_describe_never_imports_a_framework_here() -> None:
    described = envs.describe(["null", "adapters.nowhere:Nothing"])
    assert described["null"]["fidelity"] == "unverified"
    assert described["null"]["requirements"] == []
    assert "No module named 'adapters.nowhere'" in described["adapters.nowhere:Nothing"]["error"]
    with pytest.raises(envs.EnvError, match=r"adapters\.nowhere"):
        envs.declared("adapters.nowhere:Nothing")


def test_cli_lists_states(envs_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["envs", "null", "tracker"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["FRAMEWORK", "STATE", "ENVIRONMENT", "LOCK"]
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert rows["null"][1] == "missing" and rows["null"][2].startswith("base-")
    assert rows["tracker"][2].startswith("tracker-")


def test_cli_rejects_bad_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["envs", "nope"]) == 2
    assert "unknown framework 'nope'" in capsys.readouterr().err
    assert main(["envs", "--build", "--with", "numpy==2.0.0"]) == 2
    assert "--with needs the framework" in capsys.readouterr().err


def test_prune_keeps_current_environments(envs_root: Path) -> None:
    current = envs.spec_for("null").path
    current.mkdir(parents=True)
    (envs_root / "mlflow-000000000000").mkdir()
    (envs_root / "mlflow-000000000000.lock").write_text("")
    removed = envs.prune()
    assert {p.name for p in removed} == {"mlflow-000000000000", "mlflow-000000000000.lock"}
    assert current.exists()


def test_lock_files_are_committed_for_this_issue_s_adapters() -> None:
    for name in ("tracker", "sqlite", "numpy", "null"):
        header, pins = envs._read_lock(envs.lock_path(name))
        assert header["python"] == envs.PYVER
        assert "numpy==" in pins
    assert json.dumps(envs.describe(["tracker"])["tracker"]["project_packages"]) == '["tracker"]'
