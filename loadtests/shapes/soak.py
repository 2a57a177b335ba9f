"""A short ramp, then the peak for hours: token refresh, leaks, reconnects (e.g. DURATION=4h)."""

from loadtests.shapes.table import TableShape


class Soak(TableShape):
    stages = ((0.02, 1.0, None), (1.0, 1.0, None))
    reset_stats_after_first_stage = True
