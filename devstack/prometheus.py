"""Prometheus for the dev stack and the tests: Debian's `prometheus` package (installed if
missing), run as our own process with the config of ops/prometheus/ and a data dir of its own;
the scrape targets are written as file_sd targets from the stack's plan."""

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from devstack.apps import REPO_ROOT
from devstack.infra import Command, InfrastructureMissing

OPS_PROMETHEUS = REPO_ROOT / "ops" / "prometheus"
CONFIG_TEMPLATE = OPS_PROMETHEUS / "prometheus.yml"
RULES_DIR = OPS_PROMETHEUS / "rules"
TARGETS_FILE = "targets.json"


def ensure_prometheus_installed() -> None:
    """`prometheus` and `promtool` are on PATH, installing Debian's package if they are not."""
    if shutil.which("prometheus") and shutil.which("promtool"):
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise InfrastructureMissing(
            "Prometheus is not installed. Install Debian's package as root: "
            "apt-get install -y --no-install-recommends prometheus"
        )
    install = ["apt-get", "install", "-y", "--no-install-recommends", "prometheus"]
    result = _apt(install)
    if result.returncode != 0:
        # A fresh machine's package lists may not know the package yet.
        _apt(["apt-get", "update"])
        result = _apt(install)
    if result.returncode != 0 or not shutil.which("prometheus"):
        raise InfrastructureMissing(
            "Installing Prometheus failed (apt-get install prometheus): "
            f"{result.stderr.decode(errors='replace')[-500:]}"
        )


def _apt(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(argv, env=env, capture_output=True, check=False)


def render_config(*, targets_dir: Path, scrape_interval: str, evaluation_interval: str) -> dict[str, Any]:
    """ops/prometheus/prometheus.yml with the intervals asked for and absolute paths for the
    rules and the targets (Prometheus resolves relative ones against the config's own folder)."""
    config: dict[str, Any] = yaml.safe_load(CONFIG_TEMPLATE.read_text())
    config["global"]["scrape_interval"] = scrape_interval
    config["global"]["evaluation_interval"] = evaluation_interval
    config["rule_files"] = [str(RULES_DIR / "*.yml")]
    for job in config["scrape_configs"]:
        for sd in job.get("file_sd_configs", []):
            sd["files"] = [str(targets_dir / Path(pattern).name) for pattern in sd["files"]]
    return config


def write_targets(directory: Path, apps: dict[str, str]) -> None:
    """One file_sd group per app (name -> host:port), labelled with the app it scrapes."""
    groups = [{"targets": [address], "labels": {"app": name}} for name, address in apps.items()]
    (directory / TARGETS_FILE).write_text(json.dumps(groups, indent=2))


def prepare(
    workdir: Path, apps: dict[str, str], *, port: int, scrape_interval: str = "15s", evaluation_interval: str = "15s"
) -> Command:
    """Write the config and targets under `workdir` and say how to run Prometheus on `port`."""
    workdir.mkdir(parents=True, exist_ok=True)
    write_targets(workdir, apps)
    config = render_config(
        targets_dir=workdir, scrape_interval=scrape_interval, evaluation_interval=evaluation_interval
    )
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return Command(
        name="prometheus",
        argv=[
            "prometheus",
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        env={},
        ready_url=f"http://127.0.0.1:{port}/-/ready",
    )


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="travel-prometheus-"))


class PrometheusProcess:
    """A Prometheus owned by the caller (the tests), started from the same config as `make up`'s."""

    def __init__(
        self, port: int, apps: dict[str, str], *, scrape_interval: str = "1s", evaluation_interval: str = "1s"
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._workdir = new_workdir()
        ensure_prometheus_installed()
        self._command = prepare(
            self._workdir,
            apps,
            port=port,
            scrape_interval=scrape_interval,
            evaluation_interval=evaluation_interval,
        )
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, *, within_seconds: float = 30) -> None:
        self._process = subprocess.Popen(self._command.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + within_seconds
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"Prometheus was not ready at {self.url} after {within_seconds}s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
        shutil.rmtree(self._workdir, ignore_errors=True)
