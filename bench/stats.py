"""The one percentile that every benchmark reports."""


def percentile(values, q: float) -> float:
    """The value at rank q % of the sorted values (nearest rank, no interpolation): always
    one of the measured values. q = 50 is the median, q = 100 the maximum."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
