"""A path with `.`, `..` or empty segments, plain or percent-encoded, is refused at the gateway's
door (400 in the api.md error body) before its route policy or any service sees it."""

import http.client

import pytest

from tests.running_platform import PlatformPorts


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/listings/../admin/fees",
        "/api/v1/listings/%2e%2e/admin/fees",
        "/api/v1/bookings/x%2F..%2F..%2Fadmin%2Ffees",
        "/api/v1//admin/fees",
    ],
)
def test_a_path_that_would_change_routing_is_400_at_the_gateway(platform: PlatformPorts, path: str) -> None:
    # By hand, as an attacker would: HTTP clients resolve dot segments before sending.
    connection = http.client.HTTPConnection("127.0.0.1", platform.apps["gateway"], timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read().decode()
    finally:
        connection.close()
    assert response.status == 400, body
    assert response.getheader("content-type", "").startswith("application/problem+json")
    assert '"error_code":"INVALID_PATH"' in body.replace(" ", "")
