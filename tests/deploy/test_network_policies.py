"""k8s/ network policy: nothing reaches a pod unless a policy says so; only the gateway is
reachable from outside (through the ingress controller, over TLS); each app reaches only its
data stores and the apps it calls; Prometheus scrapes every app."""

from typing import Any

import pytest
import yaml

from devstack.apps import ALL_APPS, AppSpec
from tests.deploy.manifests import REPO_ROOT, upstream_settings

K8S = REPO_ROOT / "k8s"
APPS = {spec.name: spec for spec in ALL_APPS}
STORES = {"postgres": 5432, "redis": 6379}
KAFKA_PEER = {"podSelector": {"matchLabels": {"strimzi.io/cluster": "platform", "strimzi.io/kind": "Kafka"}}}
INGRESS_CONTROLLER = "ingress-nginx"
MONITORING = "monitoring"


def _policies() -> dict[str, dict[str, Any]]:
    return {
        document["metadata"]["name"]: document
        for document in yaml.safe_load_all((K8S / "network-policies.yaml").read_text())
        if document
    }


POLICIES = _policies()


def _selected_app(peer: dict[str, Any]) -> str | None:
    if "namespaceSelector" in peer or "ipBlock" in peer:
        return None
    name: str | None = peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
    return name


def _namespace(peer: dict[str, Any]) -> str | None:
    name: str | None = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
    return name


def _ports(rule: dict[str, Any]) -> set[int]:
    return {port["port"] for port in rule["ports"]}


def _callers(spec: AppSpec) -> set[str]:
    """The apps that call this one, or fetch its keys to verify the tokens it signs."""
    callers = {other.name for other in ALL_APPS for _, callee in upstream_settings(other) if callee.name == spec.name}
    callers |= {other.name for other in ALL_APPS if spec.name in other.settings().caller_jwks_urls}
    if spec.name == "gateway":
        callers |= set(APPS) - {"gateway"}
    return callers


def _reached(spec: AppSpec) -> set[str]:
    return {other.name for other in ALL_APPS if spec.name in _callers(other)}


@pytest.fixture(params=ALL_APPS, ids=lambda spec: spec.name)
def app(request: pytest.FixtureRequest) -> AppSpec:
    spec: AppSpec = request.param
    return spec


def test_every_pod_refuses_what_no_policy_admits_and_apps_reach_only_dns_by_default() -> None:
    deny = POLICIES["default-deny"]["spec"]
    assert deny["podSelector"] == {}
    assert "Ingress" in deny["policyTypes"]
    assert not deny.get("ingress")
    egress = POLICIES["apps-default-deny-egress"]["spec"]
    assert egress["podSelector"] == {"matchLabels": {"app.kubernetes.io/part-of": "travel-platform"}}
    assert egress["policyTypes"] == ["Egress"]
    assert [_ports(rule) for rule in egress["egress"]] == [{53}]


def test_only_the_gateway_is_reachable_from_the_ingress_controller_and_only_over_tls() -> None:
    admitted_from_outside = {
        name
        for name, policy in POLICIES.items()
        for rule in policy["spec"].get("ingress", [])
        for peer in rule["from"]
        if _namespace(peer) == INGRESS_CONTROLLER
    }
    assert admitted_from_outside == {"gateway"}
    ingresses = [document for document in yaml.safe_load_all((K8S / "ingress.yaml").read_text()) if document]
    backends = {
        path["backend"]["service"]["name"]
        for ingress in ingresses
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"gateway"}
    for ingress in ingresses:
        hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
        assert hosts <= {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}


def test_each_app_is_called_only_by_its_callers_and_scraped_by_prometheus(app: AppSpec) -> None:
    policy = POLICIES[app.name]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": app.name}}
    port = app.settings().port
    callers: set[str] = set()
    scraped = False
    for rule in policy["ingress"]:
        assert _ports(rule) == {port}
        for peer in rule["from"]:
            name = _selected_app(peer)
            if name is not None:
                callers.add(name)
            elif _namespace(peer) == MONITORING:
                scraped = True
            else:
                assert app.name == "gateway"
                assert _namespace(peer) == INGRESS_CONTROLLER
    assert callers == _callers(app)
    assert scraped


def test_each_app_reaches_only_its_data_stores_kafka_and_the_apps_it_calls(app: AppSpec) -> None:
    policy = POLICIES[app.name]["spec"]
    assert "Egress" in policy["policyTypes"]
    reached: dict[str, set[int]] = {}
    for rule in policy["egress"]:
        for peer in rule["to"]:
            if peer == KAFKA_PEER:
                reached["kafka"] = _ports(rule)
            elif (name := _selected_app(peer)) is not None:
                reached[name] = _ports(rule)
            else:
                # The internet, outside the private ranges, for what calls out (Stripe, SMTP, webhooks).
                assert set(peer["ipBlock"]["except"]) >= {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}
    expected = {store: {port} for store, port in STORES.items()} | {"kafka": {9092}}
    expected |= {name: {APPS[name].settings().port} for name in _reached(app)}
    assert reached == expected


def test_the_data_stores_admit_only_the_platforms_apps() -> None:
    for store, port in STORES.items():
        spec = POLICIES[store]["spec"]
        assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": store}}
        assert [(_ports(rule), rule["from"]) for rule in spec["ingress"]] == [
            ({port}, [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "travel-platform"}}}])
        ]
