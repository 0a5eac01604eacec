"""`make bench`: throughput and latency of seat holds, placed on inventory directly and through
the gateway, and the time from a Stripe webhook's receipt to the booking's confirmation.

It runs the whole platform on free ports against a database of its own, prints the figures,
and stops. Load goes to 127.0.0.1 only, bounded in count."""

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import stripe

from devstack.apps import ALL_APPS
from devstack.infra import ensure_database, ensure_postgres, ensure_redis, free_ports
from devstack.stack import DEV_STRIPE_WEBHOOK_SECRET
from shared.auth import Identity
from shared.settings import AppSettings
from shared.testing import identity_headers

BENCH_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/travel_bench"
HOLDS = 2000
CONCURRENCY = 50
CONFIRMATIONS = 20


@dataclass(frozen=True)
class Figures:
    label: str
    count: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(len(ordered) * share), len(ordered) - 1)] * 1000

    def line(self) -> str:
        return (
            f"{self.label:<34} {self.per_second:8.0f}/s   p50 {self.percentile(0.5):7.1f} ms"
            f"   p99 {self.percentile(0.99):7.1f} ms   (n={self.count})"
        )


async def _place_holds(base_url: str, headers: dict[str, str], slot_ids: list[str], label: str) -> Figures:
    latencies: list[float] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for index in range(HOLDS):
        queue.put_nowait(slot_ids[index % len(slot_ids)])

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            slot_id = queue.get_nowait()
            started = time.perf_counter()
            response = await client.post("/holds", json={"slot_id": slot_id, "adults": 1}, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 201:
                raise RuntimeError(f"hold refused: {response.status_code} {response.text}")

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return Figures(label, HOLDS, elapsed, latencies)


def _sign_up(client: httpx.Client, role: str) -> tuple[dict[str, str], str]:
    email = f"bench-{role}-{uuid.uuid4().hex[:8]}@example.com"
    password = "bench password 123"  # noqa: S105 (a throwaway account on the bench database)
    registered = client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "name": role, "role": role}
    )
    registered.raise_for_status()
    token = client.post("/api/v1/auth/token", json={"email": email, "password": password}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}, registered.json()["id"]


def _slots(client: httpx.Client, provider: dict[str, str], *, count: int, capacity: int) -> list[str]:
    listing = client.post(
        "/api/v1/listings",
        json={
            "title": "Bench tour",
            "category": "tour",
            "city": "Lisbon",
            "country": "PT",
            "timezone": "Europe/Lisbon",
            "currency": "EUR",
            "base_price": "10.00",
        },
        headers=provider,
    ).json()
    start = date.today() + timedelta(days=2)
    client.post(
        f"/api/v1/listings/{listing['id']}/schedules",
        json={
            "start_time": "09:00",
            "duration_minutes": 60,
            "recurrence": "daily",
            "capacity": capacity,
            "valid_from": start.isoformat(),
            "valid_until": (start + timedelta(days=count - 1)).isoformat(),
        },
        headers=provider,
    ).raise_for_status()
    slot_ids = []
    for offset in range(count):
        day = (start + timedelta(days=offset)).isoformat()
        slots = client.get(f"/api/v1/listings/{listing['id']}/availability", params={"date": day}).json()["slots"]
        slot_ids += [slot["slot_id"] for slot in slots]
    return slot_ids


def _webhook_to_confirmed(client: httpx.Client, stripe_base: str, traveler: dict[str, str], slot_id: str) -> float:
    hold = client.post("/api/v1/holds", json={"slot_id": slot_id, "adults": 1}, headers=traveler).json()
    booking = client.post(
        "/api/v1/bookings",
        json={"hold_id": hold["id"], "contact": {"name": "Bench", "email": "bench@example.com"}},
        headers=traveler,
    ).json()
    intent_id = booking["payment"]["payment_intent_id"]
    with httpx.Client(base_url=stripe_base, auth=("sk_test_bench", "")) as stripe_api:
        stripe_api.post(f"/v1/payment_intents/{intent_id}", data={"payment_method": "pm_card_visa"})
        stripe_api.post(f"/v1/payment_intents/{intent_id}/confirm")
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": intent_id, "object": "payment_intent"}},
    }
    body = json.dumps(event)
    stamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{stamp}.{body}", DEV_STRIPE_WEBHOOK_SECRET)
    # Sent at once, ahead of localstripe's own delivery a second later: the clock starts here.
    started = time.perf_counter()
    client.post(
        "/api/v1/payments/webhooks/stripe", content=body, headers={"Stripe-Signature": f"t={stamp},v1={signature}"}
    ).raise_for_status()
    while client.get(f"/api/v1/bookings/{booking['id']}", headers=traveler).json()["status"] != "confirmed":
        if time.perf_counter() - started > 30:
            raise RuntimeError("booking not confirmed within 30 s")
        time.sleep(0.005)
    return time.perf_counter() - started


def run() -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(ensure_postgres(BENCH_DATABASE_URL))
    asyncio.run(ensure_redis("redis://127.0.0.1:6379/2"))
    asyncio.run(ensure_database(BENCH_DATABASE_URL, recreate=True))
    *app_ports, stripe_port, smtp_port, mail_http_port, broker_port = free_ports(len(ALL_APPS) + 4)
    ports = {spec.name: port for spec, port in zip(ALL_APPS, app_ports, strict=True)}
    env = {
        **os.environ,
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
        "DATABASE_URL": BENCH_DATABASE_URL,
        "REDIS_URL": "redis://127.0.0.1:6379/2",
        "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
        "MAIL_SINK_SMTP_PORT": str(smtp_port),
        "MAIL_SINK_HTTP_PORT": str(mail_http_port),
        "BROKER_PORT": str(broker_port),
        "GATEWAY_TOKEN_RATE_LIMIT": "100000",
        "LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryFile() as log:
        platform = subprocess.Popen(
            [sys.executable, "-m", "devstack", "up"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_ready(ports, platform)
            _measure(ports, stripe_port)
        finally:
            platform.send_signal(signal.SIGTERM)
            platform.wait(timeout=60)
    return 0


def _wait_ready(ports: dict[str, int], platform: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    for port in ports.values():
        while True:
            if platform.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the platform did not start")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)


def _measure(ports: dict[str, int], stripe_port: int) -> None:
    gateway_url = f"http://127.0.0.1:{ports['gateway']}"
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        provider, _ = _sign_up(client, "provider")
        traveler, traveler_id = _sign_up(client, "traveler")
        slot_ids = _slots(client, provider, count=4, capacity=100_000)
        secret = AppSettings().internal_auth_secret
        direct_headers = identity_headers(
            Identity(user_id=uuid.UUID(traveler_id), email="bench@example.com", roles=("traveler",)), secret=secret
        )
        direct = asyncio.run(
            _place_holds(
                f"http://127.0.0.1:{ports['inventory']}", direct_headers, slot_ids, "holds, direct on inventory"
            )
        )
        through = asyncio.run(_place_holds(f"{gateway_url}/api/v1", traveler, slot_ids, "holds, through the gateway"))
        one_slot = asyncio.run(
            _place_holds(f"{gateway_url}/api/v1", traveler, slot_ids[:1], "holds, gateway, one hot slot")
        )
        confirmations = [
            _webhook_to_confirmed(client, f"http://127.0.0.1:{stripe_port}", traveler, slot_ids[1])
            for _ in range(CONFIRMATIONS)
        ]
    confirmed = Figures("webhook receipt → confirmed", CONFIRMATIONS, sum(confirmations), confirmations)
    print(f"\nBenchmark ({HOLDS} holds each, {CONCURRENCY} concurrent clients, 127.0.0.1)")
    for figures in (direct, through, one_slot):
        print(figures.line())
    print(
        f"{'gateway / direct':<34} throughput x{through.per_second / direct.per_second:.2f}"
        f"   p50 x{through.percentile(0.5) / direct.percentile(0.5):.2f}"
        f"   p99 x{through.percentile(0.99) / direct.percentile(0.99):.2f}"
    )
    print(
        f"{confirmed.label:<34} p50 {confirmed.percentile(0.5):7.1f} ms   p99 {confirmed.percentile(0.99):7.1f} ms"
        f"   (n={CONFIRMATIONS})"
    )
