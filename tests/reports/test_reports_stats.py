"""Statistics against numbers computed by hand (see the comments for the arithmetic)."""

from __future__ import annotations

import statistics

import pytest

from reports import stats
from reports.stats import Ratio, Summary


def test_three_samples_use_the_range() -> None:
    s = stats.summarize([3.0, 1.0, 2.0])
    # sorted 1 2 3: median 2; q1 at rank 0.5 -> 1.5; q3 at rank 1.5 -> 2.5
    assert (s.n, s.median, s.q1, s.q3, s.iqr) == (3, 2.0, 1.5, 2.5, 1.0)
    assert (s.low, s.high, s.kind) == (1.0, 3.0, stats.RANGE)


def test_four_samples_even_median_and_quartiles() -> None:
    s = stats.summarize([4, 1, 3, 2])
    # median (2+3)/2; q1 at rank 0.75 -> 1.75; q3 at rank 2.25 -> 3.25
    assert (s.median, s.q1, s.q3) == (2.5, 1.75, 3.25)
    assert (s.low, s.high, s.kind) == (1.0, 4.0, stats.RANGE)


def test_quartiles_agree_with_the_standard_library() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    s = stats.summarize(values)
    # rank 1.25 -> 22.5, rank 3.75 -> 47.5
    assert (s.median, s.q1, s.q3) == (35.0, 22.5, 47.5)
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    assert (s.q1, s.q3) == (q1, q3)


def test_five_samples_get_a_bootstrap_interval() -> None:
    # The median of a resample of 1..5 is 1 when >= 3 of 5 draws are 1:
    # P = 10*.2^3*.8^2 + 5*.2^4*.8 + .2^5 = 0.0579 > 0.025, so the 2.5th percentile is 1;
    # by symmetry the 97.5th is 5.
    s = stats.summarize([5, 4, 3, 2, 1])
    assert (s.median, s.q1, s.q3, s.kind) == (3.0, 2.0, 4.0, stats.CI95)
    assert (s.low, s.high) == (1.0, 5.0)


def test_seven_samples_bootstrap_interval_is_narrower_than_the_range() -> None:
    # Resample 1..7: P(median <= 1) = P(>= 4 of 7 draws are 1) = 0.0101 < 0.025,
    # P(median <= 2) = P(>= 4 of 7 draws <= 2) = 0.0994 > 0.025: the 2.5th percentile is 2,
    # and by symmetry the 97.5th is 6.
    s = stats.summarize(range(1, 8))
    assert (s.low, s.high, s.kind) == (2.0, 6.0, stats.CI95)


def test_bootstrap_of_two_values() -> None:
    # medians of resamples of (0, 1): 0 w.p. 1/4, 0.5 w.p. 1/2, 1 w.p. 1/4
    assert stats.bootstrap_interval([0.0, 1.0], seed=1) == (0.0, 1.0)


def test_bootstrap_is_seeded() -> None:
    values = [1.0, 1.5, 2.0, 7.0, 8.5, 9.0, 11.0]
    first = stats.bootstrap_interval(values, seed=42, resamples=50)
    assert stats.bootstrap_interval(values, seed=42, resamples=50) == first
    others = {stats.bootstrap_interval(values, seed=s, resamples=50) for s in range(10)}
    assert len(others) > 1  # the seed matters
    assert all(min(values) <= lo <= hi <= max(values) for lo, hi in others)


def test_constant_samples_have_a_point_interval() -> None:
    s = stats.summarize([7.0] * 6)
    assert (s.median, s.iqr, s.low, s.high) == (7.0, 0.0, 7.0, 7.0)


def test_bad_samples_are_refused() -> None:
    with pytest.raises(ValueError):
        stats.summarize([])
    with pytest.raises(ValueError):
        stats.summarize([1.0, float("nan")])


def _s(median: float, low: float, high: float) -> Summary:
    return Summary(3, median, low, high, low, high, stats.RANGE)


def test_ratio_beyond_the_noise() -> None:
    r = stats.ratio(_s(2.0, 1.0, 3.0), _s(4.0, 3.5, 5.0))
    # 2/4; low 1/5; high 3/3.5; the intervals 1..3 and 3.5..5 do not overlap
    assert r == Ratio(0.5, 0.2, 3.0 / 3.5, within_noise=False)
    assert stats.format_ratio(r) == "0.500x"


def test_ratio_within_the_noise_is_marked() -> None:
    r = stats.ratio(_s(1.04, 0.9, 1.2), _s(1.0, 0.95, 1.1))
    assert r.within_noise
    assert stats.format_ratio(r) == "~1.04x"


def test_touching_intervals_overlap() -> None:
    assert stats.ratio(_s(2.0, 1.5, 3.0), _s(4.0, 3.0, 5.0)).within_noise


def test_ratio_with_zero() -> None:
    assert stats.ratio(_s(0.0, 0.0, 0.0), _s(0.0, 0.0, 0.0)).value == 1.0
    assert stats.ratio(_s(1.0, 1.0, 1.0), _s(0.0, 0.0, 0.0)).value == float("inf")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1563.4, "1563"),
        (64.63, "64.6"),
        (1.126, "1.13"),
        (1.0, "1.00"),
        (0.05234, "0.0523"),
        (0.5, "0.500"),
        (0.0, "0.00"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert stats.format_number(value) == text
