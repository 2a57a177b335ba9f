"""The base of every shape: a table of stages, scaled to the run's -u (peak) and -t (total).

A stage is (ends_at, users, reach_seconds): until `ends_at` (a fraction of the run time) hold
`users` (a fraction of the peak), reached within `reach_seconds` of the stage's start, or spread
over the whole stage when None. `use_common_options` lets locust pass -u and -t to the shape
instead of ignoring them.
"""

from typing import ClassVar

from locust import LoadTestShape


class TableShape(LoadTestShape):
    abstract = True
    use_common_options = True
    stages: ClassVar[tuple[tuple[float, float, float | None], ...]] = ()
    # Ramp and soak measure the hold: the stats restart when the first stage ends, plus
    # SETTLE_SECONDS, since the users started last are still joining and connecting then (their
    # ramp-time calls landed in the 1,000-user runs' hold: 2-5 joins and connects at 300-550 ms).
    reset_stats_after_first_stage: ClassVar[bool] = False
    SETTLE_SECONDS: ClassVar[float] = 15.0
    _stats_reset = False

    def _peak_and_total(self) -> tuple[int, float]:
        options = self.runner.environment.parsed_options
        if not options.run_time:
            raise ValueError(f"{type(self).__name__} needs the run time: -t / DURATION")
        return options.num_users, float(options.run_time)

    def tick(self) -> tuple[int, float] | None:
        peak, total = self._peak_and_total()
        now = self.get_run_time()
        measured_from = self.stages[0][0] * total + self.SETTLE_SECONDS
        if self.reset_stats_after_first_stage and not self._stats_reset and now >= measured_from:
            self.runner.stats.reset_all()
            self._stats_reset = True
        began = 0.0
        for ends_at, users, reach_seconds in self.stages:
            end = ends_at * total
            if now < end:
                target = round(users * peak)
                span = reach_seconds or max(end - began, 1)
                change = abs(target - self.get_current_user_count())
                return target, max(change / max(span - (now - began), 1), 1)
            began = end
        return None
