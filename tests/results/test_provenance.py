"""Where a suite ran: a commit git could not read is unknown, never clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from results import provenance
from results import schema as S
from results.cells import SuiteRun


def test_this_checkout_has_a_commit_and_a_dirty_flag() -> None:
    info = provenance.commit_info()
    assert len(info[S.COMMIT]) == 40 and isinstance(info[S.DIRTY], bool)
    assert S.GIT_ERROR not in info


def test_without_git_the_commit_is_unknown_not_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")  # no git to run
    info = provenance.machine_info()
    assert info[S.COMMIT] == "unknown" and info[S.DIRTY] is None
    assert info[S.GIT_ERROR].startswith("git rev-parse: ")
    assert "git status: " in info[S.GIT_ERROR]


def test_outside_a_repository_the_commit_is_unknown_not_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(provenance, "ROOT", tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    info = provenance.commit_info()
    assert info[S.COMMIT] == "unknown" and info[S.DIRTY] is None
    assert "not a git repository" in info[S.GIT_ERROR]


def test_an_unknown_dirty_flag_is_shown_as_unknown() -> None:
    def label(**params: object) -> str:
        return SuiteRun("s", "m", {S.COMMIT: "abc", **params}, None).commit_label

    assert label(**{S.DIRTY: None}) == "abc+dirty?"
    assert label(**{S.DIRTY: True}) == "abc+dirty" and label(**{S.DIRTY: False}) == "abc"
    assert label() == "abc"  # a suite from before the flag was kept
