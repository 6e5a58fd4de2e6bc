"""Names are data: never pasted into SQL text."""

from __future__ import annotations

import pytest

import tracker

NAMES = ['x"; DROP TABLE runs; --', "ünïcødé 名前", "it's", "a?b%s%(x)s", "  spaced  "]


@pytest.mark.parametrize("name", NAMES)
def test_names_are_stored_as_given(db: tracker.Database, name: str) -> None:
    exp = db.experiment(name)
    with exp.run(name, params={name: name}, tags=[name]) as run:
        run.log({name: 1.0}, step=0)
        run[name] = name
    assert name in db.experiments()
    fresh = db.get_run(run.id)
    assert (fresh.name, fresh.experiment.name) == (name, name)
    assert fresh.params == {name: name}
    assert fresh.tags == [name]
    assert fresh[name] == name
    assert fresh.metrics() == {name: [(0, 1.0)]}
    frame = exp.runs_df()
    assert frame.loc[0, f"params.{name}"] == name and frame.loc[0, f"fields.{name}"] == name


@pytest.mark.parametrize("bad", ["", "a\x00b", 3, None])
def test_bad_names_raise_a_clear_error(db: tracker.Database, bad: object) -> None:
    with pytest.raises(tracker.TrackerError, match="names must be non-empty strings"):
        db.experiment(bad)  # type: ignore[arg-type]
