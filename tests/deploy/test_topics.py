"""Kafka topics are declared, with the cluster's replication, and never created by a production app."""

import importlib
from pathlib import Path

import pytest
import yaml
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from pydantic import ValidationError
from redis.asyncio import Redis

from devstack.apps import ALL_APPS
from shared.app import AppResources
from shared.db import create_engine, create_session_factory
from shared.events.consumer import ConsumerSpec
from shared.events.envelope import dead_letter_topic_for
from shared.events.kafka import create_producer
from shared.events.outbox import OutboxRelay
from shared.events.topics import TOPICS, create, render
from shared.metrics import AppMetrics
from shared.settings import AppSettings
from tests.deploy.manifests import REPO_ROOT

K8S = REPO_ROOT / "k8s"


def _cluster_min_insync_replicas() -> int:
    for document in yaml.safe_load_all((K8S / "kafka.yaml").read_text()):
        if document and document["kind"] == "Kafka":
            return int(document["spec"]["kafka"]["config"]["min.insync.replicas"])
    raise AssertionError("k8s/kafka.yaml has no Kafka cluster")


def test_the_topic_manifests_are_rendered_from_the_declarations() -> None:
    assert Path(K8S / "kafka-topics.yaml").read_text() == render(), "run: python -m shared.events.topics render"


def test_every_topic_survives_a_broker_down_with_the_clusters_min_insync_replicas() -> None:
    cluster_min_insync = _cluster_min_insync_replicas()
    for document in yaml.safe_load_all((K8S / "kafka-topics.yaml").read_text()):
        spec = document["spec"]
        name = document["metadata"]["name"]
        min_insync = int(spec["config"].get("min.insync.replicas", cluster_min_insync))
        assert min_insync >= cluster_min_insync, name
        assert spec["replicas"] >= min_insync + 1, f"{name}: one broker down and writes to it fail"


async def _consumer_names(app: FastAPI, settings: AppSettings) -> set[str]:
    """The names of the app's consumers, building those that need the app's clients with
    clients that are never connected."""
    spec_names = set()
    engine = create_engine(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none", schema="public")
    session_factory = create_session_factory(engine)
    producer = create_producer("127.0.0.1:1", client_id="topics-test")
    resources = AppResources(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        redis=Redis.from_url("redis://127.0.0.1:1/0"),
        producer=producer,
        relay=OutboxRelay(session_factory=session_factory, producer=producer, lock_name="unused"),
        metrics=AppMetrics("topics-test"),
    )
    for source in app.state.consumer_sources:
        spec = source if isinstance(source, ConsumerSpec) else source(resources)
        spec_names.add(spec.name)
    await engine.dispose()
    await resources.redis.aclose()
    return spec_names


async def test_every_apps_topic_and_every_consumers_dead_letter_topic_is_declared() -> None:
    declared = {topic.name for topic in TOPICS}
    needed: set[str] = set()
    for spec in ALL_APPS:
        settings = spec.settings()
        app: FastAPI = importlib.import_module(f"{spec.package}.main").build_app(settings)
        needed.add(settings.events_topic)
        needed |= {dead_letter_topic_for(name) for name in await _consumer_names(app, settings)}
    assert needed == declared


def test_apps_create_topics_in_development_and_test_but_never_in_production() -> None:
    settings_class = type(ALL_APPS[0].settings())
    assert settings_class(environment="development").creates_topics
    assert settings_class(environment="test").creates_topics
    assert not settings_class(environment="production").creates_topics
    assert not settings_class(environment="development", kafka_create_topics=False).creates_topics
    with pytest.raises(ValidationError, match="kafka_create_topics"):
        settings_class(environment="production", kafka_create_topics=True)


async def test_creating_the_declared_topics_on_a_broker_makes_every_one_and_can_run_again(
    bootstrap_servers: str,
) -> None:
    await create(bootstrap_servers, replication_factor=1)
    await create(bootstrap_servers, replication_factor=1)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    assert {topic.name for topic in TOPICS} <= existing
