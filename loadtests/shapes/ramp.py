"""Ramp to the peak over the first fifth of the run, then hold it (the capacity run)."""

from loadtests.shapes.table import TableShape


class Ramp(TableShape):
    stages = ((0.2, 1.0, None), (1.0, 1.0, None))
    reset_stats_after_first_stage = True
