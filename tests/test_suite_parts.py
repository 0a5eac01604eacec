"""`make test` runs the suite in parts side by side (devstack/suite.py): every test in exactly one
part, each part on data of its own, one exit code and every part's output for the whole run."""

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

from devstack.suite import (
    PARTS,
    Part,
    PartRun,
    combined_exit_code,
    plan_parts,
    run_parts,
    selects_own_tests,
    stops_at_first_failure,
)
from tests.running_platform import REPO_ROOT


def test_every_test_path_of_the_suite_is_in_exactly_one_part() -> None:
    testpaths = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"]
    in_parts = [path for part in PARTS for path in part.paths]
    assert sorted(in_parts) == sorted(testpaths)


def test_each_part_has_a_database_and_a_redis_database_of_its_own_and_they_share_a_spare() -> None:
    runs = plan_parts(
        [Part("one", ("a",)), Part("two", ("b", "c"))],
        ["-q", "--junitxml=reports/suite.xml", "--junit-xml", "other.xml"],
        database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/travel_suite",
        redis_url="redis://127.0.0.1:6379/8",
        base_env={"PATH": "/bin", "DATABASE_URL": "postgresql+asyncpg://elsewhere/travel"},
    )

    assert [run.env["DATABASE_URL"] for run in runs] == [
        "postgresql+asyncpg://postgres@127.0.0.1:5432/travel_suite_one",
        "postgresql+asyncpg://postgres@127.0.0.1:5432/travel_suite_two",
    ]
    assert [run.env["REDIS_URL"] for run in runs] == ["redis://127.0.0.1:6379/8", "redis://127.0.0.1:6379/9"]
    assert {run.env["SPARE_REDIS_URL"] for run in runs} == {"redis://127.0.0.1:6379/10"}
    assert all(run.env["PATH"] == "/bin" and run.env["ENVIRONMENT"] == "test" for run in runs)
    assert runs[0].argv[3:] == ["-q", "--junitxml=reports/suite.one.xml", "--junit-xml", "other.one.xml", "a"]
    assert runs[1].argv[-2:] == ["b", "c"]


def test_arguments_that_name_tests_run_those_in_one_process_and_options_alone_run_the_parts() -> None:
    assert selects_own_tests(["tests/test_suite_parts.py", "-q"])
    assert selects_own_tests(["-x", "shared/tests/test_errors.py::test_anything"])
    assert not selects_own_tests(["-q", "-p", "no:cacheprovider", "-k", "booking", "--durations=30"])


def test_the_suite_fails_with_the_first_failing_part_and_a_part_with_nothing_selected_does_not_count() -> None:
    assert combined_exit_code([0, 0]) == 0
    assert combined_exit_code([0, 1]) == 1
    assert combined_exit_code([2, 1]) == 2
    assert combined_exit_code([5, 0]) == 0
    assert combined_exit_code([5, 1]) == 1
    assert combined_exit_code([5, 5]) == 5
    assert stops_at_first_failure(["-q", "-x"])
    assert stops_at_first_failure(["-qx"])
    assert not stops_at_first_failure(["-q", "--maxfail=3"])


def _part_run(tmp_path: Path, name: str, test_source: str) -> PartRun:
    test_file = tmp_path / name / f"test_{name}.py"
    test_file.parent.mkdir()
    test_file.write_text(textwrap.dedent(test_source))
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(test_file.parent)]
    return PartRun(Part(name, (str(test_file),)), "", "", [*argv, str(test_file)], dict(os.environ))


def test_a_failing_part_fails_the_run_and_every_part_prints_its_output_and_a_summary_line(tmp_path: Path) -> None:
    passing = _part_run(tmp_path, "passing", "def test_passes():\n    assert True\n")
    failing = _part_run(tmp_path, "failing", "def test_fails():\n    assert 1 + 1 == 3, 'the failure shows'\n")
    output = io.StringIO()

    assert run_parts([passing, failing], log_dir=tmp_path, output=output) == 1

    text = output.getvalue()
    assert "the failure shows" in text
    summary = {line.split(" ")[0]: line for line in text.splitlines() if line.startswith("[") and " exit " in line}
    assert summary.keys() == {"[passing]", "[failing]"}
    assert summary["[passing]"].startswith("[passing] exit 0 after")
    assert "1 passed in" in summary["[passing]"]
    assert summary["[failing]"].startswith("[failing] exit 1 after")
    assert "1 failed" in summary["[failing]"]


def test_ctrl_c_stops_every_part_and_what_it_started(tmp_path: Path) -> None:
    """A part that started a process of its own is stopped with it; the run ends interrupted."""
    pid_file = tmp_path / "child.pid"
    script = f"""
        import subprocess, sys, time
        from pathlib import Path

        def test_waits():
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            Path({str(pid_file)!r}).write_text(str(child.pid))
            time.sleep(600)
        """
    (tmp_path / "test_waits.py").write_text(textwrap.dedent(script))
    runner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
                import os, sys
                from pathlib import Path
                from devstack.suite import Part, PartRun, run_parts
                argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", {str(tmp_path)!r}]
                run = PartRun(Part("waits", ()), "", "", argv, dict(os.environ))
                sys.exit(run_parts([run], log_dir=Path({str(tmp_path)!r})))
            """),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(pid_file.read_text())

    runner.send_signal(signal.SIGINT)
    output, _ = runner.communicate(timeout=60)

    assert runner.returncode == 2, output.decode()
    assert b"[waits] exit 2 after" in output
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the part's own process outlived the run"


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"
