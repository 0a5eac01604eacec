"""`/metrics`: requests by route template and status, latency, in flight, outbox lag."""

import asyncio
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.inventory.main import build_app
from services.inventory.settings import InventorySettings
from shared.migrations import upgrade_to_head


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


async def test_metrics_count_requests_by_route_template_and_report_outbox_lag(
    database_url: str, redis_url: str, bootstrap_servers: str
) -> None:
    settings = InventorySettings(
        database_url=database_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=bootstrap_servers,
        metrics_lag_interval_seconds=0.1,
    )
    await asyncio.to_thread(upgrade_to_head, Path("services/inventory/migrations"), database_url=database_url)
    app = build_app(settings)

    @app.get("/__test__/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
            for item_id in (1, 2, 3):
                assert (await client.get(f"/__test__/items/{item_id}")).status_code == 200
            assert (await client.get("/__test__/items/not-a-number")).status_code == 422
            await asyncio.sleep(0.3)
            text = (await client.get("/metrics")).text

    requests = {
        (labels["route"], labels["status"]): value
        for labels, value in _samples(text, "http_requests_total")
        if labels["service"] == "inventory"
    }
    assert requests[("/__test__/items/{item_id}", "200")] == 3
    assert requests[("/__test__/items/{item_id}", "422")] == 1
    assert not any(route == "/__test__/items/1" for route, _ in requests), "raw paths must not become labels"
    latency_counts = [
        value
        for labels, value in _samples(text, "http_request_duration_seconds_count")
        if labels["route"] == "/__test__/items/{item_id}"
    ]
    assert latency_counts == [4]
    assert _samples(text, "http_requests_in_flight")
    assert _samples(text, "outbox_pending_events") == [({}, 0.0)]
