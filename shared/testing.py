"""Helpers for the tests of every app (imported by tests only)."""

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from aiokafka import ConsumerRecord
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.auth import (
    GATEWAY_ISSUER,
    INTERNAL_IDENTITY_HEADER,
    SERVICE_ROLES,
    IdentityVerifier,
    ServiceSigner,
    TrustedIssuer,
    public_jwk,
    sign_gateway_identity,
)
from shared.events.envelope import EventEnvelope, topic_for
from shared.identity import Identity, Role
from shared.settings import AppSettings, development_service_key, private_key_of
from shared.tracing import install_provider, instrument_libraries, uninstrument_libraries

# The gateway's key in the services' own tests, which run without a gateway.
TEST_GATEWAY_KEY = Ed25519PrivateKey.generate()
TEST_GATEWAY_KID = "test-gateway"


def make_identity(*roles: Role) -> Identity:
    user_id = uuid.uuid4()
    return Identity(
        user_id=user_id, email=f"{roles[0] if roles else 'user'}-{user_id.hex[:8]}@example.com", roles=roles
    )


class StaticKeys:
    """A fixed set of public keys (JWKs), where a running app would fetch a JWKS."""

    def __init__(self, jwks: Sequence[Mapping[str, str]]) -> None:
        self._keys = {jwk["kid"]: jwt.PyJWK(dict(jwk)) for jwk in jwks}

    async def get(self, kid: str) -> jwt.PyJWK | None:
        return self._keys.get(kid)


def gateway_verifier(jwks: Sequence[Mapping[str, str]], *, audience: str) -> IdentityVerifier:
    """What the service `audience` checks the gateway's tokens with, given the gateway's JWKS."""
    return IdentityVerifier(audience=audience, issuers={GATEWAY_ISSUER: TrustedIssuer(StaticKeys(jwks), roles=None)})


def development_signer(service: str) -> ServiceSigner:
    """The key a service signs with when none is set (development and tests)."""
    return ServiceSigner(service, private_key_of(development_service_key(service)))


def verifier_trusting_test_keys(settings: AppSettings) -> IdentityVerifier:
    """The app's verifier with the keys known here instead of fetched: the test gateway's, and
    the development key of each service the app trusts."""
    gateway_jwk = public_jwk(TEST_GATEWAY_KEY.public_key(), kid=TEST_GATEWAY_KID)
    issuers = {GATEWAY_ISSUER: TrustedIssuer(StaticKeys([gateway_jwk]), roles=None)}
    issuers |= {caller: trusted_development_key(caller) for caller in settings.caller_jwks_urls}
    return IdentityVerifier(audience=settings.service_name, issuers=issuers)


def trusted_development_key(service: str) -> TrustedIssuer:
    """A service trusted by its development key, with the roles it may act as."""
    signer = development_signer(service)
    return TrustedIssuer(StaticKeys(signer.jwks()["keys"]), roles=frozenset(SERVICE_ROLES[service]))


def trust_test_keys(app: FastAPI, settings: AppSettings) -> None:
    """Let `app` verify `identity_headers` and its callers' development keys without a gateway."""
    app.state.identity_verifier = verifier_trusting_test_keys(settings)


def identity_headers(identity: Identity, *, audience: str) -> dict[str, str]:
    """The identity header the gateway would send the service `audience` for `identity`,
    signed with the test gateway's key (see `trust_test_keys`)."""
    signed = sign_gateway_identity(
        identity,
        private_key=TEST_GATEWAY_KEY,
        kid=TEST_GATEWAY_KID,
        audience=audience,
        now=datetime.now(UTC),
        ttl=timedelta(minutes=5),
    )
    return {INTERNAL_IDENTITY_HEADER: signed}


@contextlib.contextmanager
def gateway_jwks_served() -> Iterator[str]:
    """The test gateway's JWKS served on a free port of 127.0.0.1, for apps run as processes
    (their `GATEWAY_JWKS_URL`); yields its URL."""
    document = json.dumps({"keys": [public_jwk(TEST_GATEWAY_KEY.public_key(), kid=TEST_GATEWAY_KID)]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def consumer_record(envelope: EventEnvelope, offset: int) -> ConsumerRecord[bytes, bytes]:
    """The envelope as a consumer reads it off its producer's topic, at `offset`: for tests that
    hand records to a consumer without a broker between."""
    value = envelope.to_bytes()
    return ConsumerRecord(
        topic=topic_for(envelope.producer),
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=envelope.key.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(envelope.key),
        serialized_value_size=len(value),
        headers=(),
    )


class _WhileCollecting(SimpleSpanProcessor):
    """Keeps spans only while a test collects them: the provider stays for the rest of the
    test process, whose other tests' spans would otherwise pile up in memory."""

    collecting = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.collecting:
            super().on_end(span)


_SPANS = InMemorySpanExporter()
_COLLECTOR = _WhileCollecting(_SPANS)


@contextlib.contextmanager
def collected_spans() -> Iterator[InMemorySpanExporter]:
    """The spans finished in this test process during the block. An SDK provider is installed
    the first time (OpenTelemetry allows one a process), and the apps built after that are
    traced into it."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(_COLLECTOR)
        install_provider(provider)
    else:
        instrument_libraries(provider)
    _SPANS.clear()
    _COLLECTOR.collecting = True
    try:
        yield _SPANS
    finally:
        _COLLECTOR.collecting = False
        _SPANS.clear()
        uninstrument_libraries()
