"""docker-compose.yml, checked against the code: every app, its command, port and settings."""

from typing import Any

import pytest
import yaml

from devstack.apps import ALL_APPS, SERVICES, AppSpec
from tests.deploy.manifests import (
    REPO_ROOT,
    assert_each_signer_is_trusted_by_the_services_it_calls,
    assert_env_names_are_settings,
    assert_every_secret_is_given,
    assert_runs_the_app,
    assert_the_gateway_alone_says_who_the_client_is,
    assert_trusts_its_callers,
    command_option,
    upstream_settings,
)

REQUIRED_PLATFORM_ENV = {"DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "ENVIRONMENT", "GATEWAY_JWKS_URL"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return document


@pytest.fixture(params=ALL_APPS, ids=lambda spec: spec.name)
def app(request: pytest.FixtureRequest) -> AppSpec:
    spec: AppSpec = request.param
    return spec


def test_every_app_runs_its_factory_on_its_port_with_a_readiness_check(compose: dict[str, Any], app: AppSpec) -> None:
    service = compose["services"][app.name]
    port = assert_runs_the_app(app, service["command"])
    healthcheck = " ".join(service["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/readyz" in healthcheck


def test_every_app_gets_only_variables_its_settings_read(compose: dict[str, Any], app: AppSpec) -> None:
    environment = compose["services"][app.name]["environment"]
    assert set(environment) >= REQUIRED_PLATFORM_ENV
    assert_env_names_are_settings(app, set(environment))
    assert environment["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert environment["ENVIRONMENT"] == "production"


def test_every_app_is_given_each_secret_production_requires(compose: dict[str, Any], app: AppSpec) -> None:
    assert_every_secret_is_given(app, set(compose["services"][app.name]["environment"]))


def test_the_gateway_reaches_each_service_at_its_compose_name_and_port(compose: dict[str, Any]) -> None:
    environment = compose["services"]["gateway"]["environment"]
    for spec in SERVICES:
        assert environment[f"GATEWAY_{spec.name.upper()}_URL"] == f"http://{spec.name}:{spec.settings().port}"
    assert compose["services"]["gateway"]["ports"] == ["8000:8000"]


def test_the_gateway_reads_the_client_address_past_its_trusted_proxies_only(compose: dict[str, Any]) -> None:
    gateway = compose["services"]["gateway"]
    assert_the_gateway_alone_says_who_the_client_is(
        gateway["command"], gateway["environment"]["GATEWAY_TRUSTED_PROXIES"]
    )


def test_every_app_reaches_the_services_it_calls_at_their_compose_names(compose: dict[str, Any], app: AppSpec) -> None:
    environment = compose["services"][app.name]["environment"]
    for variable, callee in upstream_settings(app):
        assert environment.get(variable) == f"http://{callee.name}:{callee.settings().port}", variable


def test_every_app_verifies_the_identities_of_its_callers_at_their_compose_names(
    compose: dict[str, Any], app: AppSpec
) -> None:
    assert_each_signer_is_trusted_by_the_services_it_calls()
    environment = compose["services"][app.name]["environment"]
    assert_trusts_its_callers(app, environment, lambda callee: f"http://{callee.name}:{callee.settings().port}")


def test_dependencies_exist_and_apps_wait_for_migrations(compose: dict[str, Any], app: AppSpec) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on missing {dependency}"
    depends_on = services[app.name]["depends_on"]
    assert depends_on["migrate"] == {"condition": "service_completed_successfully"}


def test_the_migration_job_migrates_every_app(compose: dict[str, Any]) -> None:
    command = compose["services"]["migrate"]["command"]
    assert command[:3] == ["python", "-m", "shared.migrations"]
    assert set(command[3:]) == {spec.package for spec in ALL_APPS}


def test_kafka_runs_in_kraft_mode_without_zookeeper(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "zookeeper" not in yaml.safe_dump(compose).lower()
    advertised = kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"].split("//")[1]
    assert compose["services"]["inventory"]["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == advertised


def test_the_image_is_built_from_the_runtime_lock_as_a_non_root_user() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile
    assert "requirements.lock" in dockerfile
    assert "requirements-dev.lock" not in dockerfile
    assert "\nUSER 10001" in dockerfile
    for folder in ("shared", "gateway", "services"):
        assert f"COPY {folder} ./{folder}" in dockerfile


def test_every_image_is_pinned_to_a_tag_never_latest(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service.get("image") or compose["x-app"]["image"]
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image}"


def test_the_declared_topics_exist_before_any_app_starts(compose: dict[str, Any], app: AppSpec) -> None:
    services = compose["services"]
    command = services["topics"]["command"]
    assert command[:4] == ["python", "-m", "shared.events.topics", "create"]
    assert (
        command_option(command, "--bootstrap-servers")
        == services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"].split("//")[1]
    )
    assert services[app.name]["depends_on"]["topics"] == {"condition": "service_completed_successfully"}
    assert "KAFKA_CREATE_TOPICS" not in services[app.name]["environment"]


def test_prometheus_scrapes_every_app_and_grafana_reads_it(compose: dict[str, Any]) -> None:
    services = compose["services"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in services["prometheus"]["volumes"]}
    config = yaml.safe_load((REPO_ROOT / mounts["/etc/prometheus/prometheus.yml"]).read_text())
    targets = {
        target for job in config["scrape_configs"] for group in job["static_configs"] for target in group["targets"]
    }
    assert targets == {f"{spec.name}:{spec.settings().port}" for spec in ALL_APPS}

    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert mounts["/etc/prometheus/rules"] == "./ops/prometheus/rules", "the rules promtool tests"

    grafana = services["grafana"]
    grafana_mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in grafana["volumes"]}
    provisioning = REPO_ROOT / grafana_mounts["/etc/grafana/provisioning"]
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert [source["url"] for source in datasources] == ["${PROMETHEUS_URL}"]
    assert grafana["environment"]["PROMETHEUS_URL"] == "http://prometheus:9090"
    dashboards = yaml.safe_load((provisioning / "dashboards" / "travel.yml").read_text())["providers"]
    assert grafana_mounts[dashboards[0]["options"]["path"]] == "./ops/grafana/dashboards"


def test_notification_sends_email_to_the_mail_sink_unless_told_otherwise(compose: dict[str, Any]) -> None:
    environment = compose["services"]["notification"]["environment"]
    assert environment["NOTIFICATION_SMTP_HOST"] == "${SMTP_HOST:-mailpit}"
    assert compose["services"]["mailpit"]["image"].startswith("axllent/mailpit:v")
    assert environment["NOTIFICATION_SMTP_PORT"] == "${SMTP_PORT:-1025}"
