"""Statistics over repetitions: median, quartiles, a bootstrap 95% interval, noise-aware ratios.

Standard library only, so the numbers can be checked by hand and the module imports fast.

- Quartiles interpolate linearly between order statistics (NumPy's default, and
  `statistics.quantiles(method="inclusive")`).
- The interval of a median is a percentile bootstrap: RESAMPLES resamples drawn with a
  generator seeded by the caller, the 2.5th and 97.5th percentiles of their medians. With
  fewer than MIN_FOR_INTERVAL samples a bootstrap says little, so the interval is the range
  (minimum to maximum) and is labelled as such.
- The order-statistic interval of a median (what `trackbench compare` uses) needs no
  resampling: the k-th smallest to the k-th largest sample, with the largest k whose
  chance of covering the true median (1 - 2 P(Binomial(n, 1/2) < k), any continuous
  distribution) is at least 95%. Below 6 samples no k reaches 95%: the interval is the range,
  and its coverage says how much less it promises (75% with 3 samples).
- A ratio a/b carries the interval from the most favourable to the least favourable pair of
  bounds (a.low / b.high .. a.high / b.low). When the two intervals overlap the ratio is
  within the noise: it is shown with a `~` and never claimed as a difference. Given a
  minimum effect e, it is also within the noise unless its whole interval lies beyond
  1 + e or below 1 / (1 + e) (symmetric, so swapping a and b gives the same verdict).
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MIN_FOR_INTERVAL = 5
RESAMPLES = 2000
CONFIDENCE = 0.95
CI95 = "ci95"
RANGE = "range"
ORDER_STATISTIC = "order statistic"


@dataclass(frozen=True)
class Summary:
    """Median and spread of one configuration's repetitions."""

    n: int
    median: float
    q1: float
    q3: float
    low: float  # lower end of the interval: bootstrap 2.5th percentile, or the minimum
    high: float
    kind: str  # CI95, RANGE or ORDER_STATISTIC

    @property
    def iqr(self) -> float:
        """The interquartile range, q3 - q1."""
        return self.q3 - self.q1

    def overlaps(self, other: Summary) -> bool:
        """Whether the two intervals share any value."""
        return self.low <= other.high and other.low <= self.high


@dataclass(frozen=True)
class Ratio:
    """A ratio of two medians, its interval, and whether it is within the noise."""

    value: float
    low: float
    high: float
    within_noise: bool


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th quantile (0..1) of sorted values, interpolating linearly between ranks."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def bootstrap_interval(
    samples: Sequence[float], seed: int, resamples: int = RESAMPLES
) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the median, from a generator seeded with `seed`."""
    values = list(samples)
    if not values:
        raise ValueError("bootstrap of no samples")
    rng = random.Random(seed)
    n = len(values)
    medians = sorted(statistics.median(rng.choices(values, k=n)) for _ in range(resamples))
    tail = (1 - CONFIDENCE) / 2
    return percentile(medians, tail), percentile(medians, 1 - tail)


def order_coverage(n: int, k: int) -> float:
    """The chance that the k-th smallest to the k-th largest of n samples cover the median."""
    return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n


def order_rank(n: int) -> int:
    """The largest k whose order-statistic interval of n samples covers the median with 95%
    or more; 1 (the range) when none does."""
    k = 1
    while 2 * (k + 1) <= n + 1 and order_coverage(n, k + 1) >= CONFIDENCE:
        k += 1
    return k


def summarize(samples: Sequence[float], seed: int = 0, interval: str = CI95) -> Summary:
    """Median, quartiles and interval: with `interval=CI95` a bootstrap 95% (the range below
    5 samples), with ORDER_STATISTIC the order-statistic interval of the median."""
    values = sorted(float(v) for v in samples)
    if not values:
        raise ValueError("summary of no samples")
    if any(math.isnan(v) for v in values):
        raise ValueError("NaN among the samples")
    median = statistics.median(values)
    q1, q3 = percentile(values, 0.25), percentile(values, 0.75)
    if interval == ORDER_STATISTIC:
        k = order_rank(len(values))
        return Summary(len(values), median, q1, q3, values[k - 1], values[-k], ORDER_STATISTIC)
    if len(values) < MIN_FOR_INTERVAL:
        return Summary(len(values), median, q1, q3, values[0], values[-1], RANGE)
    low, high = bootstrap_interval(values, seed)
    return Summary(len(values), median, q1, q3, low, high, CI95)


def _div(a: float, b: float) -> float:
    if b == 0:
        return 1.0 if a == 0 else math.inf
    return a / b


def ratio(a: Summary, b: Summary, min_effect: float = 0.0) -> Ratio:
    """a.median / b.median, with the interval spanned by the two intervals' bounds; within
    the noise when the intervals overlap or the interval does not clear `min_effect`."""
    low, high = _div(a.low, b.high), _div(a.high, b.low)
    beyond = low > 1 + min_effect or high < 1 / (1 + min_effect)
    return Ratio(_div(a.median, b.median), low, high, within_noise=a.overlaps(b) or not beyond)


def format_number(value: float) -> str:
    """Three significant digits without exponents: 0.0523, 1.13, 64.6, 1563."""
    if math.isinf(value) or math.isnan(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1 or magnitude == 0:
        return f"{value:.2f}"
    # below 1: three significant digits, however many zeros come first
    decimals = 2 - math.floor(math.log10(magnitude))
    return f"{value:.{decimals}f}"


def format_ratio(r: Ratio) -> str:
    """`3.27x`, or `~1.04x` when the intervals overlap (within the noise, not claimed)."""
    return ("~" if r.within_noise else "") + format_number(r.value) + "x"
