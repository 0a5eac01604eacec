"""`make bench`: throughput and latency of seat holds (on inventory directly, spread over many
slots and all on one slot, and through the gateway), monthly calendar reads (cached and not),
the gateway's own overhead (one cheap read, through it and directly), the time for one change
to reach 1,000 WebSocket subscribers, and the time from a Stripe webhook's receipt to the
booking's confirmation.

It runs the whole platform on free ports against a database of its own, prints the figures,
and stops. Load goes to 127.0.0.1 only, bounded in count."""

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import stripe
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from devstack.apps import ALL_APPS
from devstack.infra import ensure_database, ensure_postgres, ensure_redis, free_ports
from devstack.stack import DEV_STRIPE_WEBHOOK_SECRET
from services.inventory.calendar.cache import calendar_changed
from shared.auth import INTERNAL_IDENTITY_HEADER
from shared.identity import Identity
from shared.testing import development_signer

BENCH_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/travel_bench"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/2"
HOLDS = 2000
CONCURRENCY = 50
SPREAD_SLOTS = 100
CALENDAR_READS = 2000
UNCACHED_CALENDAR_READS = 200
SUBSCRIBERS = 1000
FAN_OUTS = 5
CONFIRMATIONS = 20
OVERHEAD_READS = 1000
OVERHEAD_CLIENTS = (1, 10)


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

    def p95_line(self) -> str:
        return (
            f"{self.label:<34} {self.per_second:8.0f}/s   p50 {self.percentile(0.5):7.2f} ms"
            f"   p95 {self.percentile(0.95):7.2f} ms   (n={self.count})"
        )


def _overhead_line(label: str, direct: Figures, through: Figures) -> str:
    return (
        f"{label:<34} p50 +{through.percentile(0.5) - direct.percentile(0.5):.2f} ms"
        f" (x{through.percentile(0.5) / direct.percentile(0.5):.2f})"
        f"   p95 +{through.percentile(0.95) - direct.percentile(0.95):.2f} ms"
        f" (x{through.percentile(0.95) / direct.percentile(0.95):.2f})"
        f"   throughput x{through.per_second / direct.per_second:.2f}"
    )


async def _place_holds(
    base_url: str, holders: Callable[[int], dict[str, str]], slot_ids: list[str], label: str
) -> Figures:
    """HOLDS holds round the slots; the n-th round's are placed by `holders(n)`, since a traveler
    holds a slot once at a time (fair use)."""
    latencies: list[float] = []
    queue: asyncio.Queue[tuple[str, dict[str, str]]] = asyncio.Queue()
    for index in range(HOLDS):
        queue.put_nowait((slot_ids[index % len(slot_ids)], holders(index // len(slot_ids))))

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            slot_id, headers = queue.get_nowait()
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


async def _read_calendars(base_url: str, listing_id: str, label: str) -> Figures:
    """Monthly calendars read over and over: after the first, every read is a cache hit."""
    month = date.today() + timedelta(days=40)
    latencies: list[float] = []
    remaining = list(range(CALENDAR_READS))

    async def worker(client: httpx.AsyncClient) -> None:
        while remaining:
            remaining.pop()
            started = time.perf_counter()
            response = await client.get(
                f"/listings/{listing_id}/calendar", params={"year": month.year, "month": month.month}
            )
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return Figures(label, CALENDAR_READS, elapsed, latencies)


async def _read_listing(base_url: str, listing_id: str, *, clients: int, label: str) -> Figures:
    """One cheap read (a listing, by id) over and over, `clients` at a time: what the gateway
    adds to it is its own cost (rate limit, identity, routing, the second hop)."""
    latencies: list[float] = []
    remaining = list(range(OVERHEAD_READS))

    async def worker(client: httpx.AsyncClient) -> None:
        while remaining:
            remaining.pop()
            started = time.perf_counter()
            response = await client.get(f"/listings/{listing_id}")
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        # Connections open before the clock starts, on both paths alike.
        await asyncio.gather(*(client.get(f"/listings/{listing_id}") for _ in range(clients)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return Figures(label, OVERHEAD_READS, elapsed, latencies)


async def _gateway_overhead(inventory_url: str, gateway_url: str, listing_id: str) -> list[tuple[Figures, Figures]]:
    """The same read directly and through the gateway, one client and then several."""
    pairs = []
    for clients in OVERHEAD_CLIENTS:
        direct = await _read_listing(inventory_url, listing_id, clients=clients, label=f"listing, inventory, {clients}")
        through = await _read_listing(gateway_url, listing_id, clients=clients, label=f"listing, gateway, {clients}")
        pairs.append((direct, through))
    return pairs


async def _read_uncached_calendars(base_url: str, listing_id: str, redis_url: str, label: str) -> Figures:
    """One client reading a calendar right after each invalidation: every read is computed."""
    month = date.today() + timedelta(days=40)
    latencies: list[float] = []
    redis = Redis.from_url(redis_url)
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            started_all = time.perf_counter()
            for _ in range(UNCACHED_CALENDAR_READS):
                await calendar_changed(redis, uuid.UUID(listing_id))
                started = time.perf_counter()
                response = await client.get(
                    f"/listings/{listing_id}/calendar", params={"year": month.year, "month": month.month}
                )
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
            elapsed = time.perf_counter() - started_all
    finally:
        await redis.aclose()
    return Figures(label, UNCACHED_CALENDAR_READS, elapsed, latencies)


async def _fan_out(inventory_url: str, holder: Callable[[], dict[str, str]], listing_id: str, slot_id: str) -> Figures:
    """Time from placing a hold to its change reaching each of 1,000 feed subscribers."""
    feed = inventory_url.replace("http://", "ws://") + f"/ws/availability?listing_id={listing_id}"
    sockets = await asyncio.gather(*(connect(feed, open_timeout=60) for _ in range(SUBSCRIBERS)))
    last_arrivals: list[float] = []
    every_arrival: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=inventory_url, timeout=30) as client:
            await _until_every_subscriber_hears(client, sockets, holder=holder, slot_id=slot_id)
            for _ in range(FAN_OUTS):
                started = time.perf_counter()

                async def arrival(socket: ClientConnection, started: float = started) -> float:
                    await socket.recv()
                    return time.perf_counter() - started

                waiting = asyncio.gather(*(arrival(socket) for socket in sockets))
                (
                    await client.post("/holds", json={"slot_id": slot_id, "adults": 1}, headers=holder())
                ).raise_for_status()
                arrivals = await asyncio.wait_for(waiting, timeout=60)
                every_arrival += arrivals
                last_arrivals.append(max(arrivals))
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets))
    return Figures(f"feed fan-out to {SUBSCRIBERS} subscribers", FAN_OUTS, sum(last_arrivals), every_arrival)


async def _until_every_subscriber_hears(
    client: httpx.AsyncClient, sockets: list[ClientConnection], *, holder: Callable[[], dict[str, str]], slot_id: str
) -> None:
    """Changes are made until each subscriber has heard one (a subscription may be a moment from
    being in place when the first is published), then what is left queued is drained, so the
    timed changes are the only ones a subscriber waits for."""
    heard = [asyncio.ensure_future(socket.recv()) for socket in sockets]
    async with asyncio.timeout(60):
        while not all(task.done() for task in heard):
            (await client.post("/holds", json={"slot_id": slot_id, "adults": 1}, headers=holder())).raise_for_status()
            await asyncio.wait(heard, timeout=0.5)
    await asyncio.sleep(0.5)
    for socket in sockets:
        with contextlib.suppress(TimeoutError):
            while True:
                await asyncio.wait_for(socket.recv(), timeout=0.001)


def _sign_up(client: httpx.Client, role: str) -> tuple[dict[str, str], str]:
    email = f"bench-{role}-{uuid.uuid4().hex[:8]}@example.com"
    password = "bench password 123"  # noqa: S105 (a throwaway account on the bench database)
    registered = client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "name": role, "role": role}
    )
    registered.raise_for_status()
    token = client.post("/api/v1/auth/token", json={"email": email, "password": password}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    return headers, client.get("/api/v1/auth/me", headers=headers).json()["id"]


def _slots(client: httpx.Client, provider: dict[str, str], *, count: int, capacity: int) -> tuple[str, list[str]]:
    """A listing running daily for `count` days; returns its id and its slots' ids."""
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
    return listing["id"], slot_ids


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
    asyncio.run(ensure_redis(BENCH_REDIS_URL))
    asyncio.run(ensure_database(BENCH_DATABASE_URL, recreate=True))
    *app_ports, stripe_port, smtp_port, mail_http_port, broker_port = free_ports(len(ALL_APPS) + 4)
    ports = {spec.name: port for spec, port in zip(ALL_APPS, app_ports, strict=True)}
    env = {
        **os.environ,
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
        "DATABASE_URL": BENCH_DATABASE_URL,
        "REDIS_URL": BENCH_REDIS_URL,
        "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
        "MAIL_SINK_SMTP_PORT": str(smtp_port),
        "MAIL_SINK_HTTP_PORT": str(mail_http_port),
        "BROKER_PORT": str(broker_port),
        # Every client is 127.0.0.1: the limits are raised, not lifted, so they are still counted.
        "GATEWAY_RATE_LIMIT_SCALE": "10000",
        "LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryFile() as log:
        platform = subprocess.Popen(
            [sys.executable, "-m", "devstack", "up"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_ready(ports, platform)
            _measure(ports, stripe_port)
        except Exception:
            # What the platform said is the first thing to read when a run fails.
            log.seek(0)
            print(log.read().decode(errors="replace")[-8000:], file=sys.stderr)
            raise
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
    inventory_url = f"http://127.0.0.1:{ports['inventory']}"
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        provider, _ = _sign_up(client, "provider")
        traveler, _ = _sign_up(client, "traveler")
        listing_id, slot_ids = _slots(client, provider, count=SPREAD_SLOTS, capacity=100_000)

        def direct_holder(_: int = 0) -> dict[str, str]:
            """A traveler of its own, as booking places holds for one: signed with its development
            key, for as long as the bench runs (booking's own tokens last a minute)."""
            traveler = Identity(user_id=uuid.uuid4(), email="bench@example.com", roles=("traveler",))
            token = development_signer("booking").sign(
                traveler, audience="inventory", now=datetime.now(UTC), ttl=timedelta(hours=1)
            )
            return {INTERNAL_IDENTITY_HEADER: token}

        spread = asyncio.run(
            _place_holds(inventory_url, direct_holder, slot_ids, f"holds, inventory, {SPREAD_SLOTS} slots")
        )
        one_slot = asyncio.run(_place_holds(inventory_url, direct_holder, slot_ids[:1], "holds, inventory, one slot"))
        travelers = [_sign_up(client, "traveler")[0] for _ in range(-(-HOLDS // SPREAD_SLOTS))]
        through = asyncio.run(
            _place_holds(
                f"{gateway_url}/api/v1",
                lambda round_: travelers[round_],
                slot_ids,
                f"holds, gateway, {SPREAD_SLOTS} slots",
            )
        )
        cached = asyncio.run(_read_calendars(f"{gateway_url}/api/v1", listing_id, "calendar month, gateway, cached"))
        uncached = asyncio.run(
            _read_uncached_calendars(
                f"{gateway_url}/api/v1", listing_id, BENCH_REDIS_URL, "calendar month, gateway, uncached"
            )
        )
        overhead = asyncio.run(_gateway_overhead(inventory_url, f"{gateway_url}/api/v1", listing_id))
        fan_out = asyncio.run(_fan_out(inventory_url, direct_holder, listing_id, slot_ids[2]))
        confirmations = [
            _webhook_to_confirmed(client, f"http://127.0.0.1:{stripe_port}", traveler, slot_ids[1])
            for _ in range(CONFIRMATIONS)
        ]
    confirmed = Figures("webhook receipt → confirmed", CONFIRMATIONS, sum(confirmations), confirmations)
    print(f"\nBenchmark ({HOLDS} holds each, {CONCURRENCY} concurrent clients, 127.0.0.1)")
    for figures in (spread, one_slot, through, cached):
        print(figures.line())
    print(f"{uncached.label:<34} {uncached.per_second:8.0f}/s   p50 {uncached.percentile(0.5):7.1f} ms   (1 client)")
    print(
        f"{'one slot / spread':<34} throughput x{one_slot.per_second / spread.per_second:.2f}"
        f"   p50 x{one_slot.percentile(0.5) / spread.percentile(0.5):.2f}"
    )
    print(
        f"{'gateway / direct':<34} throughput x{through.per_second / spread.per_second:.2f}"
        f"   p50 x{through.percentile(0.5) / spread.percentile(0.5):.2f}"
        f"   p99 x{through.percentile(0.99) / spread.percentile(0.99):.2f}"
    )
    print(f"{'cached / uncached calendar':<34} p50 x{cached.percentile(0.5) / uncached.percentile(0.5):.2f}")
    for (direct, through), clients in zip(overhead, OVERHEAD_CLIENTS, strict=True):
        print(direct.p95_line())
        print(through.p95_line())
        print(_overhead_line(f"gateway overhead, {clients} client(s)", direct, through))
    print(
        f"{fan_out.label:<34} last one {fan_out.seconds / FAN_OUTS * 1000:7.1f} ms (mean of {FAN_OUTS})"
        f"   each: p50 {fan_out.percentile(0.5):7.1f} ms   p99 {fan_out.percentile(0.99):7.1f} ms"
    )
    print(
        f"{confirmed.label:<34} p50 {confirmed.percentile(0.5):7.1f} ms   p99 {confirmed.percentile(0.99):7.1f} ms"
        f"   (n={CONFIRMATIONS})"
    )
