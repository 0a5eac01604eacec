"""The SMTP sender secures its connection as the settings say: STARTTLS or TLS from the first
byte, the server's certificate checked (here a self-signed one the test makes and trusts by
`smtp_tls_ca_file`), then AUTH with the username and password. Wrong credentials, a server
that does not offer the STARTTLS required, or a certificate not trusted, are a failed delivery,
never a message sent in the clear."""

import datetime as dt
import ipaddress
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from devstack.infra import free_port
from services.notification.email.sender import SmtpSender
from services.notification.notifications.domain import DeliveryFailed, OutgoingMessage
from services.notification.settings import NotificationSettings
from shared.settings import DevelopmentSecretInProduction

USERNAME, PASSWORD = "mailer", "correct horse battery staple"

# aiosmtpd warns of a server offering AUTH without STARTTLS: the implicit TLS one (TLS all
# along) and the plain one the sender must refuse to log in to.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _self_signed(directory: Path, name: str) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.crt", directory / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certificate(cert_file, key_file)


@dataclass
class Inbox:
    messages: list[bytes] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.messages.append(envelope.original_content or b"")
        return "250 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        valid = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USERNAME.encode(),
            PASSWORD.encode(),
        )
        if valid:
            self.logins.append(USERNAME)
        return AuthResult(success=valid, handled=False)


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return _self_signed(tmp_path, "mail")


def _server(inbox: Inbox, certificate: Certificate, *, implicit_tls: bool = False, starttls: bool = True) -> Controller:
    tls = certificate.server_context()
    options: dict[str, Any] = {
        "authenticator": inbox.authenticate,
        "auth_required": True,
        "auth_require_tls": True,
    }
    if implicit_tls:
        # aiosmtpd counts only STARTTLS as TLS for AUTH; here the whole connection is TLS.
        options |= {"ssl_context": tls, "auth_require_tls": False}
    elif starttls:
        options |= {"tls_context": tls, "require_starttls": True}
    else:
        # Plain only: AUTH offered without TLS, which a careful client never uses.
        options["auth_require_tls"] = False
    return Controller(inbox, hostname="127.0.0.1", port=free_port(), server_hostname="localhost", **options)


@pytest.fixture
def running() -> Iterator[list[Controller]]:
    controllers: list[Controller] = []
    yield controllers
    for controller in controllers:
        controller.stop()


def _start(running: list[Controller], controller: Controller) -> Controller:
    controller.start()
    running.append(controller)
    return controller


def _settings(controller: Controller, certificate: Certificate, **overrides: Any) -> NotificationSettings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": controller.port,
        "smtp_timeout_seconds": 5,
        "smtp_tls": "starttls",
        "smtp_tls_ca_file": str(certificate.cert_file),
        "smtp_username": USERNAME,
        "smtp_password": SecretStr(PASSWORD),
    }
    return NotificationSettings(**(values | overrides))


def _message() -> OutgoingMessage:
    content = (
        b"From: bookings@travel.example\r\nTo: ana@example.com\r\nSubject: Hello\r\n"
        b"Message-ID: <1@travel.example>\r\n\r\nHello Ana.\r\n"
    )
    return OutgoingMessage(
        delivery_id=uuid.uuid4(),
        channel="email",
        address="ana@example.com",
        content=content,
        idempotency_key="<1@travel.example>",
        attempts=1,
        queued_at=dt.datetime.now(dt.UTC),
    )


async def test_a_message_goes_over_starttls_with_auth_to_a_server_that_requires_both(
    certificate: Certificate, running: list[Controller]
) -> None:
    inbox = Inbox()
    server = _start(running, _server(inbox, certificate))

    await SmtpSender(_settings(server, certificate)).send(_message())

    assert inbox.logins == [USERNAME]
    [received] = inbox.messages
    assert b"Hello Ana." in received


async def test_a_message_goes_over_implicit_tls_with_auth(certificate: Certificate, running: list[Controller]) -> None:
    inbox = Inbox()
    server = _start(running, _server(inbox, certificate, implicit_tls=True))

    await SmtpSender(_settings(server, certificate, smtp_tls="tls")).send(_message())

    assert inbox.logins == [USERNAME]
    assert len(inbox.messages) == 1


async def test_wrong_credentials_are_a_delivery_failure(certificate: Certificate, running: list[Controller]) -> None:
    inbox = Inbox()
    server = _start(running, _server(inbox, certificate))

    with pytest.raises(DeliveryFailed, match="535"):
        await SmtpSender(_settings(server, certificate, smtp_password=SecretStr("wrong"))).send(_message())

    assert inbox.messages == []


async def test_without_credentials_a_server_requiring_auth_refuses_the_message(
    certificate: Certificate, running: list[Controller]
) -> None:
    inbox = Inbox()
    server = _start(running, _server(inbox, certificate))

    with pytest.raises(DeliveryFailed):
        await SmtpSender(_settings(server, certificate, smtp_username=None)).send(_message())

    assert inbox.messages == []


async def test_a_server_not_offering_the_required_starttls_gets_nothing_not_even_the_password(
    certificate: Certificate, running: list[Controller]
) -> None:
    inbox = Inbox()
    server = _start(running, _server(inbox, certificate, starttls=False))

    with pytest.raises(DeliveryFailed):
        await SmtpSender(_settings(server, certificate)).send(_message())

    assert (inbox.logins, inbox.messages) == ([], [])


async def test_a_certificate_the_sender_does_not_trust_fails_the_delivery(
    certificate: Certificate, running: list[Controller], tmp_path: Path
) -> None:
    inbox = Inbox()
    server = _start(running, _server(inbox, certificate))
    stranger = _self_signed(tmp_path, "stranger")

    with pytest.raises(DeliveryFailed):
        await SmtpSender(_settings(server, certificate, smtp_tls_ca_file=str(stranger.cert_file))).send(_message())

    assert (inbox.logins, inbox.messages) == ([], [])


def _production(**values: Any) -> NotificationSettings:
    real = {"twilio_auth_token": "real token", "unsubscribe_secret": "real secret"}
    return NotificationSettings(environment="production", **(real | values))


def test_production_refuses_the_development_smtp_password_only_when_it_would_log_in() -> None:
    _production().refuse_development_secrets_in_production()
    _production(smtp_username=USERNAME, smtp_password=SecretStr(PASSWORD)).refuse_development_secrets_in_production()

    with pytest.raises(DevelopmentSecretInProduction, match="smtp_password"):
        _production(smtp_username=USERNAME).refuse_development_secrets_in_production()
    with pytest.raises(DevelopmentSecretInProduction, match="unsubscribe_secret"):
        _production(
            unsubscribe_secret=NotificationSettings().unsubscribe_secret
        ).refuse_development_secrets_in_production()
