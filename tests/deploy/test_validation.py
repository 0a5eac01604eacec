"""Every manifest and the compose file validate offline: Kubernetes' own objects against the
API's schemas (kubernetes-validate, strict: an unknown field fails), the operators' custom
resources against tests/deploy/crd_schemas, and docker-compose.yml against the compose spec."""

import json
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from referencing import Registry, Resource

from tests.deploy.manifests import REPO_ROOT

K8S = REPO_ROOT / "k8s"
CRD_SCHEMAS = Path(__file__).parent / "crd_schemas"
# The oldest Kubernetes the manifests must work on (sidecar-free probes, autoscaling/v2, ...).
KUBERNETES_VERSION = "1.30"
CUSTOM_GROUPS = ("kafka.strimzi.io/", "monitoring.coreos.com/")


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [
        (f"{file_name}:{document['kind']}/{document['metadata']['name']}", document)
        for file_name in kustomization["resources"]
        for document in yaml.safe_load_all((K8S / file_name).read_text())
        if document
    ]


MANIFESTS = _manifests()
CORE = [(name, document) for name, document in MANIFESTS if not document["apiVersion"].startswith(CUSTOM_GROUPS)]
CUSTOM = [(name, document) for name, document in MANIFESTS if document["apiVersion"].startswith(CUSTOM_GROUPS)]


@pytest.mark.parametrize(("name", "document"), CORE, ids=[name for name, _ in CORE])
def test_every_kubernetes_object_validates_against_the_api_schema(name: str, document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


@cache
def _crd_registry() -> Registry:
    common = json.loads((CRD_SCHEMAS / "common.json").read_text())
    registry: Registry = Registry().with_resource("common.json", Resource.from_contents(common))
    return registry


def _crd_validator(document: dict[str, Any]) -> jsonschema.Draft7Validator:
    group_version = document["apiVersion"].replace("/", "-")
    path = CRD_SCHEMAS / f"{document['kind'].lower()}-{group_version}.json"
    assert path.exists(), f"no schema for {document['kind']} ({document['apiVersion']}) in {CRD_SCHEMAS.name}/"
    return jsonschema.Draft7Validator(json.loads(path.read_text()), registry=_crd_registry())


@pytest.mark.parametrize(("name", "document"), CUSTOM, ids=[name for name, _ in CUSTOM])
def test_every_custom_resource_validates_against_its_crds_schema(name: str, document: dict[str, Any]) -> None:
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in _crd_validator(document).iter_errors(document)
    ]
    assert not errors, errors


def test_a_misspelt_field_of_a_custom_resource_is_caught() -> None:
    topic = next(document for _, document in CUSTOM if document["kind"] == "KafkaTopic")
    misspelt = {**topic, "spec": {**topic["spec"], "replica": 3}}
    assert list(_crd_validator(misspelt).iter_errors(misspelt))


def test_the_compose_file_validates_against_the_compose_spec() -> None:
    # check-jsonschema vendors the compose spec's schema (its `vendor.compose-spec`).
    schema = json.loads(files("check_jsonschema").joinpath("builtin_schemas/vendor/compose-spec.json").read_text())
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in jsonschema.Draft7Validator(schema).iter_errors(compose)
    ]
    assert not errors, errors


def test_a_misspelt_field_of_a_kubernetes_object_is_caught() -> None:
    deployment = next(document for _, document in CORE if document["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    misspelt = {**deployment, "spec": {**deployment["spec"], "template": {"spec": {**pod, "terminationGrace": 1}}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSION, strict=True)
