"""Every app's `/metrics` carries the process and GC series, its database pool, each
background job's passes and heartbeat, and the depth of its dead-letter topics."""

import asyncio
import uuid
from typing import ClassVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shared.app import AppResources, BackgroundJob, create_app, job_pass
from shared.events.consumer import ConsumerSpec
from shared.events.envelope import dead_letter_topic_for
from shared.events.kafka import create_producer
from shared.settings import AppSettings


class DemoSettings(AppSettings):
    service_name: ClassVar[str] = "demo"
    db_schema: ClassVar[str] = "public"


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def test_metrics_show_the_process_the_pool_and_each_jobs_passes_and_heartbeat(
    database_url: str, redis_url: str, bootstrap_servers: str
) -> None:
    passes = 0
    failed_once = asyncio.Event()

    async def sweep(resources: AppResources) -> None:
        nonlocal passes
        while True:
            async with job_pass():
                passes += 1
                if passes == 3:
                    failed_once.set()
                    raise RuntimeError("the third pass fails")
            await asyncio.sleep(0.01)

    settings = DemoSettings(
        database_url=database_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=bootstrap_servers,
        database_pool_size=4,
        relay_enabled=False,
        consumers_enabled=False,
    )
    app = create_app(settings, title="Demo", background_jobs=[BackgroundJob("sweep", sweep)])

    async with app.router.lifespan_context(app):
        await asyncio.wait_for(failed_once.wait(), timeout=5)
        while passes < 5:
            await asyncio.sleep(0.01)
        resources: AppResources = app.state.resources
        async with (
            resources.engine.connect(),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client,
        ):
            text = (await client.get("/metrics")).text

    runs = _samples(text, "background_job_runs_total")
    assert runs[(("job", "sweep"), ("outcome", "failed"))] == 1
    assert runs[(("job", "sweep"), ("outcome", "ok"))] >= 3
    heartbeat = _samples(text, "background_job_last_success_timestamp_seconds")[(("job", "sweep"),)]
    assert heartbeat > 1_700_000_000

    connections = _samples(text, "db_pool_connections")
    assert connections[(("state", "checked_out"),)] >= 1
    assert set(connections) == {(("state", "checked_out"),), (("state", "idle"),), (("state", "overflow"),)}
    assert _samples(text, "db_pool_size")[()] == 4

    assert _samples(text, "process_resident_memory_bytes")[()] > 0
    assert _samples(text, "process_cpu_seconds_total")[()] > 0
    assert any(name == "python_gc_collections_total" for name in _names(text))
    assert "python_info" in _names(text)


def _names(text: str) -> set[str]:
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


async def test_metrics_show_how_many_messages_wait_in_each_dead_letter_topic(
    database_url: str, redis_url: str, bootstrap_servers: str
) -> None:
    spec = ConsumerSpec(name=f"demo-{uuid.uuid4().hex[:8]}", topics=("demo.events",), handlers={})
    dead_letters = dead_letter_topic_for(spec.name)
    settings = DemoSettings(
        database_url=database_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=bootstrap_servers,
        relay_enabled=False,
        consumers_enabled=False,
        metrics_lag_interval_seconds=0.1,
    )
    app = create_app(settings, title="Demo", consumers=[spec])
    producer = create_producer(bootstrap_servers, client_id="dead-letter-test")

    async def depth(client: httpx.AsyncClient) -> float | None:
        return _samples((await client.get("/metrics")).text, "dead_letter_topic_messages").get(
            (("topic", dead_letters),)
        )

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client,
    ):
        async with asyncio.timeout(20):
            while await depth(client) != 0:  # the app made the topic, and found it empty
                await asyncio.sleep(0.1)
            await producer.start()
            try:
                for _ in range(2):
                    await producer.send_and_wait(dead_letters, b"poison")
            finally:
                await producer.stop()
            while await depth(client) != 2:
                await asyncio.sleep(0.1)
