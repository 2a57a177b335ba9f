"""A failing test captures itself: its id, its output and its servers' logs land in
reports/failures/<time>-<test>/, and the run prints where (tests/utils/failure_capture.py)."""

from pathlib import Path

import pytest

from tests.utils import failure_capture

pytest_plugins = ("pytester",)


def test_a_failure_leaves_its_output_and_server_logs_behind(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "topology" / "logs"
    logs.mkdir(parents=True)
    (logs / "replica-r1.log").write_text("replica r1 said this\n")
    monkeypatch.setattr(failure_capture, "FAILURES", tmp_path / "failures")
    pytester.makeconftest(
        f"""
import pytest
from pathlib import Path
from types import SimpleNamespace

pytest_plugins = ("tests.utils.failure_capture",)

@pytest.fixture
def topology():
    return SimpleNamespace(layout=SimpleNamespace(logs=Path({str(logs)!r})))
"""
    )
    pytester.makepyfile(
        test_flaky="""
def test_passes(topology):
    pass

def test_fails(topology):
    print("what the test printed")
    assert 1 == 2
"""
    )
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=1, failed=1)
    (captured,) = (tmp_path / "failures").iterdir()
    assert "test_fails" in captured.name
    failure = (captured / "failure.txt").read_text()
    assert "test_flaky.py::test_fails" in failure
    assert "what the test printed" in failure
    assert (captured / "replica-r1.log").read_text() == "replica r1 said this\n"
    result.stdout.fnmatch_lines(["*failures captured*", f"*{captured}*"])
