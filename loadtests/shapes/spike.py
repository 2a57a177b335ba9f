"""A fifth of the peak, a jump to the peak within 10 s, and back down: does the service recover?"""

from loadtests.shapes.table import TableShape


class Spike(TableShape):
    stages = ((0.3, 0.2, None), (0.45, 1.0, 10), (0.7, 0.2, 10), (1.0, 0.2, None))
