"""`make up`: the whole platform on this machine, in the foreground.

Ports and addresses come from the environment (each with a default): the gateway on
`GATEWAY_PORT` (8000), each service on `<SERVICE>_PORT`, `DATABASE_URL`, `REDIS_URL`,
`KAFKA_BOOTSTRAP_SERVERS` (else the dev broker on `BROKER_PORT`, default a free port),
`STRIPE_API_BASE` (localstripe, default http://127.0.0.1:8420; payment reaches it through the
Stripe Connect test double on `STRIPE_CONNECT_DOUBLE_PORT`, default a free port), the mail sink on
`MAIL_SINK_SMTP_PORT` (1025) and `MAIL_SINK_HTTP_PORT` (8025), the Twilio-compatible SMS sink on
`TWILIO_SINK_PORT` (8030), Prometheus on `PROMETHEUS_PORT` (default a free port) scraping every app.
"""

import asyncio
import json
import logging
import os
import shutil
import signal
import sys
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlsplit

import httpx

from devstack.apps import ALL_APPS, GATEWAY, SERVICES, AppSpec
from devstack.demo import DEMO_PROVIDER, DEMO_TRAVELER, load_demo_data
from devstack.infra import (
    Command,
    broker_command,
    ensure_database,
    ensure_postgres,
    ensure_redis,
    free_port,
    localstripe_command,
    mail_sink_command,
    stripe_connect_double_command,
    twilio_sink_command,
)
from devstack.prometheus import ensure_prometheus_installed, new_workdir
from devstack.prometheus import prepare as prepare_prometheus
from devstack.supervisor import Supervisor
from gateway.proxy.routes import PUBLIC_PREFIX
from gateway.settings import GatewaySettings
from shared.auth import SERVICE_JWKS_PATH
from shared.migrations import upgrade_to_head

logger = logging.getLogger("devstack")

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/travel"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_STRIPE_API_BASE = "http://127.0.0.1:8420"
DEV_STRIPE_WEBHOOK_SECRET = "whsec_devstack_localstripe"  # noqa: S105 (localstripe only)
# The account the SMS sink answers for (the sink only).
DEV_TWILIO_ACCOUNT_SID = "AC000000000000000000000000devstack"
DEV_TWILIO_AUTH_TOKEN = "devstack_twilio_sink_auth_token"  # noqa: S105


@dataclass(frozen=True)
class StackPlan:
    """Everything `make up` will run, and the environment every app gets."""

    infrastructure: list[Command]
    apps: list[tuple[AppSpec, Command]]
    app_environment: dict[str, str]
    endpoints: dict[str, str]
    # What Prometheus scrapes (app name -> host:port) and where it listens.
    scrape_targets: dict[str, str]
    prometheus_port: int


def plan_stack(env: dict[str, str]) -> StackPlan:
    database_url = env.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = env.get("REDIS_URL", DEFAULT_REDIS_URL)
    stripe_api_base = env.get("STRIPE_API_BASE", DEFAULT_STRIPE_API_BASE)
    smtp_port = int(env.get("MAIL_SINK_SMTP_PORT", "1025"))
    mail_http_port = int(env.get("MAIL_SINK_HTTP_PORT", "8025"))
    twilio_sink_port = int(env.get("TWILIO_SINK_PORT", "8030"))

    infrastructure: list[Command] = []
    bootstrap_servers = env.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap_servers:
        broker_port = int(env.get("BROKER_PORT") or free_port())
        bootstrap_servers = f"127.0.0.1:{broker_port}"
        infrastructure.append(broker_command(broker_port))
    infrastructure.append(localstripe_command(urlsplit(stripe_api_base).port or 8420))
    # Payment reaches localstripe through the Stripe Connect test double, which answers what
    # localstripe lacks (Connect); clients pay at localstripe itself.
    connect_double_port = int(env.get("STRIPE_CONNECT_DOUBLE_PORT") or free_port())
    payment_stripe_api_base = f"http://127.0.0.1:{connect_double_port}"
    infrastructure.append(stripe_connect_double_command(connect_double_port, upstream=stripe_api_base))
    infrastructure.append(mail_sink_command(smtp_port, mail_http_port))
    infrastructure.append(
        twilio_sink_command(twilio_sink_port, account_sid=DEV_TWILIO_ACCOUNT_SID, auth_token=DEV_TWILIO_AUTH_TOKEN)
    )

    app_environment = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "STRIPE_API_BASE": stripe_api_base,
        "PAYMENT_STRIPE_API_BASE": payment_stripe_api_base,
        "PAYMENT_STRIPE_WEBHOOK_SECRET": DEV_STRIPE_WEBHOOK_SECRET,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "NOTIFICATION_TWILIO_API_BASE": f"http://127.0.0.1:{twilio_sink_port}",
        "NOTIFICATION_TWILIO_ACCOUNT_SID": DEV_TWILIO_ACCOUNT_SID,
        "NOTIFICATION_TWILIO_AUTH_TOKEN": DEV_TWILIO_AUTH_TOKEN,
        "ENVIRONMENT": env.get("ENVIRONMENT", "development"),
    }
    with _Environment(env | app_environment):
        ports = {spec.name: spec.settings().port for spec in ALL_APPS}
    # Every app that calls a service over HTTP has a `<service>_url` setting; point it here.
    for caller in ALL_APPS:
        fields = type(caller.settings()).model_fields
        for spec in SERVICES:
            if f"{spec.name}_url" in fields:
                app_environment[f"{caller.name.upper()}_{spec.name.upper()}_URL"] = (
                    f"http://127.0.0.1:{ports[spec.name]}"
                )

    # The sink posts delivery statuses where Twilio would: through the gateway.
    app_environment["NOTIFICATION_SMS_STATUS_CALLBACK_URL"] = (
        f"http://127.0.0.1:{ports[GATEWAY.name]}{PUBLIC_PREFIX}/notifications/webhooks/twilio"
    )
    # Unsubscribe links in emails lead through the gateway too.
    app_environment["NOTIFICATION_PUBLIC_API_URL"] = f"http://127.0.0.1:{ports[GATEWAY.name]}{PUBLIC_PREFIX}"

    # Services verify the identity the gateway forwards with the gateway's public keys, and
    # that of a service calling on someone's behalf with that service's.
    app_environment["GATEWAY_JWKS_URL"] = f"http://127.0.0.1:{ports[GATEWAY.name]}{SERVICE_JWKS_PATH}"
    for spec in ALL_APPS:
        callers = spec.settings().caller_jwks_urls
        if callers:
            app_environment[f"{spec.name.upper()}_CALLER_JWKS_URLS"] = json.dumps(
                {caller: f"http://127.0.0.1:{ports[caller]}{SERVICE_JWKS_PATH}" for caller in callers}
            )

    apps = [(spec, _app_command(spec, ports[spec.name])) for spec in ALL_APPS]
    prometheus_port = int(env.get("PROMETHEUS_PORT") or free_port())
    endpoints = {
        "gateway": f"http://127.0.0.1:{ports[GATEWAY.name]}",
        **{spec.name: f"http://127.0.0.1:{ports[spec.name]}" for spec in SERVICES},
        "broker": bootstrap_servers,
        "localstripe": stripe_api_base,
        "stripe connect double": payment_stripe_api_base,
        "mail sink (SMTP)": f"127.0.0.1:{smtp_port}",
        "mail sink (messages)": f"http://127.0.0.1:{mail_http_port}/messages",
        "sms sink (messages)": f"http://127.0.0.1:{twilio_sink_port}/messages",
        "database": database_url,
        "redis": redis_url,
        "prometheus": f"http://127.0.0.1:{prometheus_port}",
    }
    scrape_targets = {spec.name: f"127.0.0.1:{ports[spec.name]}" for spec in ALL_APPS}
    return StackPlan(infrastructure, apps, app_environment, endpoints, scrape_targets, prometheus_port)


def _app_command(spec: AppSpec, port: int) -> Command:
    return Command(
        name=spec.name,
        argv=[
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            spec.factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            # Who the client is behind a proxy is the gateway's to say (GATEWAY_TRUSTED_PROXIES),
            # never uvicorn's, which would trust X-Forwarded-For from 127.0.0.1.
            "--no-proxy-headers",
            # On SIGTERM: stop accepting, let in-flight requests finish, then run the lifespan's
            # shutdown (the consumers and jobs); production gives it longer (k8s/).
            "--timeout-graceful-shutdown",
            "5",
            "--log-level",
            "warning",
        ],
        env={},
        ready_url=f"http://127.0.0.1:{port}/readyz",
    )


class _Environment:
    """Temporarily make `values` the process environment (settings classes read it)."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values
        self._saved: dict[str, str] = {}

    def __enter__(self) -> None:
        self._saved = dict(os.environ)
        os.environ.update(self._values)

    def __exit__(self, *_: object) -> None:
        os.environ.clear()
        os.environ.update(self._saved)


async def prepare_data_stores(plan: StackPlan) -> None:
    """PostgreSQL and Redis answer, the database exists, every app's schema is migrated."""
    await ensure_postgres(plan.app_environment["DATABASE_URL"])
    await ensure_redis(plan.app_environment["REDIS_URL"])
    await ensure_database(plan.app_environment["DATABASE_URL"])
    for spec, _ in plan.apps:
        await asyncio.to_thread(upgrade_to_head, spec.migrations_dir, database_url=plan.app_environment["DATABASE_URL"])


async def run_stack(plan: StackPlan, *, output: IO[str] | None = None) -> None:
    """Start everything, print where it is, and run until SIGINT or SIGTERM."""
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop_requested.set)

    await prepare_data_stores(plan)
    await asyncio.to_thread(ensure_prometheus_installed)
    # Its config and samples live for this run only, in a folder of their own.
    prometheus_dir = new_workdir()
    prometheus = prepare_prometheus(prometheus_dir, plan.scrape_targets, port=plan.prometheus_port)
    supervisor = Supervisor(output=output)
    os.environ.update(plan.app_environment)
    try:
        for command in [*plan.infrastructure, prometheus]:
            await supervisor.start(command)
        await asyncio.gather(*(supervisor.wait_ready(command) for command in [*plan.infrastructure, prometheus]))
        for _, command in plan.apps:
            await supervisor.start(command)
        await asyncio.gather(*(supervisor.wait_ready(command, within_seconds=90) for _, command in plan.apps))
        await register_stripe_webhook(
            plan.app_environment["PAYMENT_STRIPE_API_BASE"],
            url=f"{plan.endpoints['gateway']}/api/v1/payments/webhooks/stripe",
            secret=DEV_STRIPE_WEBHOOK_SECRET,
        )
        demo = os.environ.get("DEMO_DATA", "1") != "0"
        if demo:
            await asyncio.to_thread(load_demo_data, plan.endpoints["gateway"])
        _print_endpoints(plan)
        _print_accounts(demo=demo)
        print("Ctrl-C stops everything.", flush=True)
        await stop_requested.wait()
        print("Stopping the platform...", flush=True)
    finally:
        await supervisor.stop_all()
        shutil.rmtree(prometheus_dir, ignore_errors=True)
    print("Stopped.", flush=True)


async def register_stripe_webhook(stripe_api_base: str, *, url: str, secret: str) -> None:
    """Point localstripe's webhooks at the gateway, as the Stripe dashboard does in production;
    registered through the Connect test double, which sends its own events there too."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.post(
            f"{stripe_api_base}/_config/webhooks/platform",
            data={"url": url, "secret": secret},
            auth=("sk_test_dev", ""),
        )
        response.raise_for_status()


def _print_accounts(*, demo: bool) -> None:
    settings = GATEWAY.settings()
    assert isinstance(settings, GatewaySettings)
    lines = [f"  admin     {settings.bootstrap_admin_email} / {settings.bootstrap_admin_password}"]
    if demo:
        lines += [
            f"  provider  {DEMO_PROVIDER['email']} / {DEMO_PROVIDER['password']}",
            f"  traveler  {DEMO_TRAVELER['email']} / {DEMO_TRAVELER['password']}",
        ]
    print("Accounts (development only):\n" + "\n".join(lines), flush=True)


def _print_endpoints(plan: StackPlan) -> None:
    width = max(len(name) for name in plan.endpoints)
    lines = [f"  {name.ljust(width)}  {where}" for name, where in plan.endpoints.items()]
    print("The platform is up:\n" + "\n".join(lines), flush=True)
