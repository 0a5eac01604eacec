"""Who the client is when the gateway stands behind proxies of its own.

The connection's peer is the client unless it is one of `GATEWAY_TRUSTED_PROXIES` (a load
balancer, an ingress). Then X-Forwarded-For is read from the right: each hop a trusted proxy
appended names the one before it, until an address that is not a trusted proxy, which is the
client. Whatever an untrusted peer writes in X-Forwarded-For changes nothing, so a client
cannot pick the address its rate limits are counted by. Rate limits, logs and the chain passed
on to the services all use the one address this finds.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.requests import HTTPConnection

Network = IPv4Network | IPv6Network
UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True)
class ForwardedClient:
    """The client's address, and the forwarding chain up to it (what the services are told:
    their last hop is the client)."""

    address: str
    chain: tuple[str, ...]


def _parsed(address: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(address)
    except ValueError:
        return None


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    parsed = _parsed(address)
    return parsed is not None and any(parsed in network for network in trusted)


def forwarded_client(peer: str, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> ForwardedClient:
    """The client behind `peer`, given the X-Forwarded-For header values it sent."""
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    chain = [*hops, peer]
    client = len(chain) - 1
    # A trusted hop vouches for the address before it, if that is an address at all.
    while client > 0 and _is_trusted(chain[client], trusted) and _parsed(chain[client - 1]) is not None:
        client -= 1
    return ForwardedClient(address=chain[client], chain=tuple(chain[: client + 1]))


def client_of(connection: HTTPConnection) -> ForwardedClient:
    """The client of a request or WebSocket handshake to the gateway."""
    trusted: Sequence[Network] = connection.app.state.trusted_proxies
    peer = connection.client.host if connection.client else UNKNOWN_ADDRESS
    return forwarded_client(peer, connection.headers.getlist("x-forwarded-for"), trusted)
