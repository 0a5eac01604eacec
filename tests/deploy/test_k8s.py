"""k8s/, checked against the code: every app deployed on its port, probed, with real settings."""

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import k8s_rules
from devstack.apps import ALL_APPS, AppSpec
from tests.deploy.manifests import (
    REPO_ROOT,
    assert_env_names_are_settings,
    assert_every_secret_is_given,
    assert_runs_the_app,
    assert_the_gateway_alone_says_who_the_client_is,
    assert_trusts_its_callers,
    command_option,
    upstream_settings,
)

K8S = REPO_ROOT / "k8s"
RELEASE = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]


def _documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


@pytest.fixture(scope="module")
def resources() -> dict[tuple[str, str], dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for file_name in kustomization["resources"]:
        for document in _documents(K8S / file_name):
            found[(document["kind"], document["metadata"]["name"])] = document
    return found


@pytest.fixture(params=ALL_APPS, ids=lambda spec: spec.name)
def app(request: pytest.FixtureRequest) -> AppSpec:
    spec: AppSpec = request.param
    return spec


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk


def test_every_document_is_a_named_kubernetes_object() -> None:
    for path in K8S.glob("*.yaml"):
        for document in _documents(path):
            assert document.get("apiVersion"), path.name
            assert document.get("kind"), path.name
            if document["kind"] != "Kustomization":
                assert document["metadata"]["name"], path.name


def test_every_app_is_deployed_on_its_port_and_probed(
    resources: dict[tuple[str, str], dict[str, Any]], app: AppSpec
) -> None:
    deployment = resources[("Deployment", app.name)]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    port = assert_runs_the_app(app, container["command"])
    assert [entry["containerPort"] for entry in container["ports"]] == [port]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]

    service = resources[("Service", app.name)]
    assert service["spec"]["ports"][0]["targetPort"] == port
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert resources[("HorizontalPodAutoscaler", app.name)]["spec"]["scaleTargetRef"]["name"] == app.name


def test_every_app_migrates_itself_first_and_reads_only_its_settings(
    resources: dict[tuple[str, str], dict[str, Any]], app: AppSpec
) -> None:
    pod = resources[("Deployment", app.name)]["spec"]["template"]["spec"]
    migrate = pod["initContainers"][0]
    assert migrate["command"] == ["python", "-m", "shared.migrations", app.package]
    config = resources[("ConfigMap", "platform-config")]["data"]
    for container in (migrate, pod["containers"][0]):
        names = {entry["name"] for entry in container["env"]} | set(config)
        assert_env_names_are_settings(app, names)
        assert f"{app.name.upper()}_DATABASE_URL" in names
        assert container["image"] == f"travel-platform:{RELEASE}"


def test_every_app_is_given_each_secret_production_requires(
    resources: dict[tuple[str, str], dict[str, Any]], app: AppSpec
) -> None:
    container = resources[("Deployment", app.name)]["spec"]["template"]["spec"]["containers"][0]
    config = resources[("ConfigMap", "platform-config")]["data"]
    assert_every_secret_is_given(app, {entry["name"] for entry in container["env"]} | set(config))


def test_the_gateway_reaches_each_service_by_its_kubernetes_service(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    container = resources[("Deployment", "gateway")]["spec"]["template"]["spec"]["containers"][0]
    upstreams = {entry["name"]: entry["value"] for entry in container["env"] if "value" in entry}
    for spec in ALL_APPS:
        if spec.name == "gateway":
            continue
        service_port = resources[("Service", spec.name)]["spec"]["ports"][0]["port"]
        assert upstreams[f"GATEWAY_{spec.name.upper()}_URL"] == f"http://{spec.name}:{service_port}"


def test_the_gateway_reads_the_client_address_past_its_trusted_proxies_only(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    container = resources[("Deployment", "gateway")]["spec"]["template"]["spec"]["containers"][0]
    values = {entry["name"]: entry["value"] for entry in container["env"] if "value" in entry}
    assert_the_gateway_alone_says_who_the_client_is(container["command"], values["GATEWAY_TRUSTED_PROXIES"])


def test_every_app_reaches_the_services_it_calls_by_their_kubernetes_services(
    resources: dict[tuple[str, str], dict[str, Any]], app: AppSpec
) -> None:
    container = resources[("Deployment", app.name)]["spec"]["template"]["spec"]["containers"][0]
    values = {entry["name"]: entry["value"] for entry in container["env"] if "value" in entry}
    for variable, callee in upstream_settings(app):
        service_port = resources[("Service", callee.name)]["spec"]["ports"][0]["port"]
        assert values.get(variable) == f"http://{callee.name}:{service_port}", variable


def test_every_app_verifies_the_identities_of_its_callers_at_their_kubernetes_services(
    resources: dict[tuple[str, str], dict[str, Any]], app: AppSpec
) -> None:
    container = resources[("Deployment", app.name)]["spec"]["template"]["spec"]["containers"][0]
    config = resources[("ConfigMap", "platform-config")]["data"]
    values = config | {entry["name"]: entry["value"] for entry in container["env"] if "value" in entry}

    def address(callee: AppSpec) -> str:
        return f"http://{callee.name}:{resources[('Service', callee.name)]['spec']['ports'][0]['port']}"

    assert_trusts_its_callers(app, values, address)


def test_kafka_is_kraft_with_a_topic_per_producing_app(resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    kafka = resources[("Kafka", "platform")]
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    assert "zookeeper" not in kafka["spec"]
    for spec in ALL_APPS:
        topic = resources[("KafkaTopic", spec.settings().events_topic)]
        assert topic["spec"]["replicas"] >= 3
    bootstrap = resources[("ConfigMap", "platform-config")]["data"]["KAFKA_BOOTSTRAP_SERVERS"]
    assert bootstrap.startswith(f"{kafka['metadata']['name']}-kafka-bootstrap:")


def _containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    pod = document["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def test_every_image_has_the_release_tag_never_latest(resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert [image["newTag"] for image in kustomization["images"]] == [RELEASE]
    images = [
        container["image"]
        for document in resources.values()
        if document["kind"] in {"Deployment", "Job", "StatefulSet", "DaemonSet"}
        for container in _containers(document)
    ]
    assert images
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name, image
        assert tag not in {"", "latest"}, image


def test_every_app_starts_before_it_is_probed_and_drains_before_it_stops(
    resources: dict[tuple[str, str], dict[str, Any]], app: AppSpec
) -> None:
    pod = resources[("Deployment", app.name)]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    port = app.settings().port
    assert container["startupProbe"]["httpGet"] == {"path": "/readyz", "port": port}
    readiness_bound = app.settings().readiness_timeout_seconds
    for probe in ("startupProbe", "readinessProbe"):
        assert container[probe]["timeoutSeconds"] > readiness_bound, f"{probe} gives up before the checks do"

    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = float(command_option(container["command"], "--timeout-graceful-shutdown"))
    assert pod["terminationGracePeriodSeconds"] > float(pre_stop[1]) + drain


def test_the_database_connections_of_every_pod_at_full_scale_fit_postgresqls_budget(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    annotations = resources[("ConfigMap", "platform-config")]["metadata"]["annotations"]
    budget = int(annotations["travel-platform/postgres-max-connections"]) - int(
        annotations["travel-platform/postgres-reserved-connections"]
    )
    needed = 0
    for spec in ALL_APPS:
        deployment = resources[("Deployment", spec.name)]
        autoscaler = resources.get(("HorizontalPodAutoscaler", spec.name))
        replicas = autoscaler["spec"]["maxReplicas"] if autoscaler else deployment["spec"]["replicas"]
        surge = deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        environment = {entry["name"]: entry["value"] for entry in container["env"] if "value" in entry}
        prefix = spec.name.upper()
        settings = type(spec.settings())(
            database_pool_size=environment[f"{prefix}_DATABASE_POOL_SIZE"],
            database_max_overflow=environment[f"{prefix}_DATABASE_MAX_OVERFLOW"],
        )
        overflow = settings.database_max_overflow
        assert overflow is not None
        migrate = len(deployment["spec"]["template"]["spec"].get("initContainers", []))
        needed += (replicas + surge) * (settings.database_pool_size + overflow + migrate)
    assert needed <= budget, f"{needed} connections at full scale, PostgreSQL budgets {budget}"


def test_kubernetes_runs_exactly_the_tested_prometheus_rules() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    if not k8s_rules.rule_files():
        # No ops rules yet: no generated object either, only monitoring.yaml's own.
        assert not k8s_rules.MANIFEST.exists()
        return
    assert k8s_rules.MANIFEST.name in kustomization["resources"]
    assert k8s_rules.MANIFEST.read_text() == k8s_rules.render(), "run: python -m devstack.k8s_rules"


def test_prometheus_scrapes_every_app_labelled_by_its_name(resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    monitor = resources[("PodMonitor", "travel-platform")]["spec"]
    assert monitor["selector"] == {"matchLabels": {"app.kubernetes.io/part-of": "travel-platform"}}
    [endpoint] = monitor["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
    assert {"sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], "targetLabel": "app"} in endpoint[
        "relabelings"
    ]
    for spec in ALL_APPS:
        deployment = resources[("Deployment", spec.name)]
        pod = deployment["spec"]["template"]
        assert pod["metadata"]["labels"]["app.kubernetes.io/part-of"] == "travel-platform"
        assert pod["spec"]["containers"][0]["ports"][0]["name"] == "http"
