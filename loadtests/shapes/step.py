"""Five equal steps up to the peak, each reached within 10 s and held."""

from loadtests.shapes.table import TableShape


class Step(TableShape):
    stages = ((0.2, 0.2, 10), (0.4, 0.4, 10), (0.6, 0.6, 10), (0.8, 0.8, 10), (1.0, 1.0, 10))
