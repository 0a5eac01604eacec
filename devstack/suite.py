"""`make test` on the whole suite: its parts run side by side, each in a pytest process of its own
with a database, a Redis database, a broker and ports of its own, so none sees another's data.

The e2e tier (tests/) starts the whole platform once and spends most of its time waiting on it
(events, relays, retries); the shared, gateway and service tiers run their apps in process.
Neither needs the other, so they run at the same time. Their outputs are kept apart: each
part's output is printed whole once it ends, and a summary line per part comes last.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

# pytest's exit code when a part has no test that the given options select.
NO_TESTS_COLLECTED = 5
# How long a part may take to stop after Ctrl-C (its platform stops in its fixtures' teardown).
STOP_GRACE_SECONDS = 60.0


@dataclass(frozen=True)
class Part:
    """A part of the suite: the test paths its pytest process runs."""

    name: str
    paths: tuple[str, ...]


# Every path of pyproject's `testpaths` in exactly one part.
PARTS = (
    Part("services", ("shared/tests", "gateway/tests", "services")),
    Part("platform", ("tests",)),
)


@dataclass(frozen=True)
class PartRun:
    """A part as it runs: where its data lives and what pytest is told."""

    part: Part
    database_url: str
    redis_url: str
    argv: list[str]
    env: dict[str, str]


def redis_url_with_database(redis_url: str, number: int) -> str:
    return urlsplit(redis_url)._replace(path=f"/{number}").geturl()


def redis_database_number(redis_url: str) -> int:
    path = urlsplit(redis_url).path.lstrip("/")
    return int(path) if path else 0


def plan_parts(
    parts: Sequence[Part], pytest_args: list[str], *, database_url: str, redis_url: str, base_env: dict[str, str]
) -> list[PartRun]:
    """One run per part: the database named after the suite's with the part's name added, the
    Redis databases numbered on from the suite's (one each, then a spare for the test that starts
    a platform of its own), and each part's junit report beside the one asked for."""
    first = redis_database_number(redis_url)
    spare_redis_url = redis_url_with_database(redis_url, first + len(parts))
    runs = []
    for index, part in enumerate(parts):
        part_database_url = f"{database_url}_{part.name}"
        part_redis_url = redis_url_with_database(redis_url, first + index)
        env = base_env | {
            "DATABASE_URL": part_database_url,
            "REDIS_URL": part_redis_url,
            "SPARE_REDIS_URL": spare_redis_url,
            "ENVIRONMENT": "test",
            # Progress reaches the part's log as it happens, for whoever follows it.
            "PYTHONUNBUFFERED": "1",
        }
        argv = [sys.executable, "-m", "pytest", *_per_part_reports(pytest_args, part.name), *part.paths]
        runs.append(PartRun(part, part_database_url, part_redis_url, argv, env))
    return runs


def _per_part_reports(pytest_args: list[str], name: str) -> list[str]:
    """`--junitxml report.xml` becomes `report.<part>.xml`: parts must not write one file."""
    rewritten: list[str] = []
    takes_path = False
    for arg in pytest_args:
        if takes_path:
            rewritten.append(_part_report_path(arg, name))
            takes_path = False
            continue
        option, equals, path = arg.partition("=")
        if option in ("--junitxml", "--junit-xml"):
            if equals:
                rewritten.append(f"{option}={_part_report_path(path, name)}")
                continue
            takes_path = True
        rewritten.append(arg)
    return rewritten


def _part_report_path(path: str, name: str) -> str:
    report = Path(path)
    return str(report.with_name(f"{report.stem}.{name}{report.suffix}"))


def selects_own_tests(pytest_args: list[str]) -> bool:
    """Whether the arguments name test files or node ids (then one process runs just those)."""
    return any(not arg.startswith("-") and Path(arg.split("::")[0]).exists() for arg in pytest_args)


def combined_exit_code(codes: Sequence[int]) -> int:
    """The suite's exit code: the first failing part's, else 0; a part with nothing selected
    only counts when no part had anything."""
    ran = [code for code in codes if code != NO_TESTS_COLLECTED]
    if not ran:
        return NO_TESTS_COLLECTED
    return next((code for code in ran if code != 0), 0)


def stops_at_first_failure(pytest_args: list[str]) -> bool:
    return any(arg in ("-x", "--exitfirst") or re.fullmatch(r"-[a-wyzA-Z]*x[a-zA-Z]*", arg) for arg in pytest_args)


def summary_line(line: str) -> str:
    """pytest's closing line without its frame of `=`."""
    return line.strip().strip("=").strip()


@dataclass
class _Process:
    run: PartRun
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]
    started_at: float
    ended_at: float | None = None
    interrupted_at: float | None = None
    terminated: bool = False

    @property
    def seconds(self) -> float:
        return (self.ended_at or time.monotonic()) - self.started_at


def run_parts(
    runs: list[PartRun], *, exit_first: bool = False, log_dir: Path | None = None, output: IO[str] = sys.stdout
) -> int:
    """Run every part at once, print each part's output whole as it ends, then one line per part;
    Ctrl-C or SIGTERM stops every part (its fixtures stop what it started) before returning.
    Each part's output is also kept in `log_dir` (a new temporary folder unless given)."""
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="devstack-test-"))
    stop_requested: list[int] = []

    def request_stop(signum: int, _frame: object) -> None:
        stop_requested.append(signum)

    previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    processes: list[_Process] = []
    try:
        for run in runs:
            log_path = log_dir / f"{run.part.name}.log"
            log = log_path.open("wb")
            # A session of its own: a Ctrl-C reaches only this runner, which passes it on to each
            # part once (pytest then stops its platform in teardown) and no part is left behind.
            process = subprocess.Popen(
                run.argv,
                env=run.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            processes.append(_Process(run, process, log_path, log, time.monotonic()))
            print(f"[{run.part.name}] {' '.join(run.part.paths)}: output in {log_path}", file=output, flush=True)
        while any(running.ended_at is None for running in processes):
            time.sleep(0.2)
            for running in processes:
                if running.ended_at is None and running.process.poll() is not None:
                    running.ended_at = time.monotonic()
                    running.log.close()
                    _reap_leftovers(running.process)
                    _print_part(running, output)
                    if exit_first and running.process.returncode not in (0, NO_TESTS_COLLECTED):
                        stop_requested.append(signal.SIGINT)
            if stop_requested:
                _stop(processes, forcibly=len(stop_requested) > 1)
    finally:
        for running in processes:
            if running.ended_at is None:
                _stop_now(running)
                running.ended_at = time.monotonic()
                running.log.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    codes = [running.process.returncode for running in processes]
    print("", file=output)
    for running in processes:
        last = _last_line(running.log_path)
        print(
            f"[{running.run.part.name}] exit {running.process.returncode} after {running.seconds:.0f}s: {last}",
            file=output,
            flush=True,
        )
    return combined_exit_code(codes)


def _stop(processes: list[_Process], *, forcibly: bool) -> None:
    """Ctrl-C to every running part, once; its process group terminated if it is still running
    after the grace period, or at once on a second request; killed 10 s after that."""
    now = time.monotonic()
    for running in processes:
        if running.ended_at is not None or running.process.poll() is not None:
            continue
        if running.interrupted_at is None:
            running.interrupted_at = now
            with contextlib.suppress(ProcessLookupError):
                os.kill(running.process.pid, signal.SIGINT)
        elif not running.terminated and (forcibly or now - running.interrupted_at > STOP_GRACE_SECONDS):
            running.terminated = True
            running.interrupted_at = now
            with contextlib.suppress(ProcessLookupError):
                os.killpg(running.process.pid, signal.SIGTERM)
        elif running.terminated and now - running.interrupted_at > 10:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(running.process.pid, signal.SIGKILL)


def _stop_now(running: _Process) -> None:
    """Ctrl-C, then SIGTERM to its process group after the grace period, then SIGKILL."""
    for signum, grace in ((signal.SIGINT, STOP_GRACE_SECONDS), (signal.SIGTERM, 10.0), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            if signum == signal.SIGINT:
                os.kill(running.process.pid, signum)
            else:
                os.killpg(running.process.pid, signum)
        try:
            running.process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _reap_leftovers(process: subprocess.Popen[bytes]) -> None:
    """Whatever the part started in its own process group and left running (a broker whose
    fixture never got to stop it) ends with it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)


def _print_part(running: _Process, output: IO[str]) -> None:
    name = running.run.part.name
    code = running.process.returncode
    rule = "=" * 20
    print(f"\n{rule} [{name}] {' '.join(running.run.part.paths)} {rule}", file=output, flush=True)
    output.write(running.log_path.read_text(errors="replace"))
    print(f"{rule} [{name}] ended with exit {code} after {running.seconds:.0f}s {rule}", file=output, flush=True)


def _last_line(log_path: Path) -> str:
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    return summary_line(lines[-1]) if lines else "no output"
