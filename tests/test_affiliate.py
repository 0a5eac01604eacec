"""Affiliate links through the gateway: the partners that suit a listing, with the platform's
partner ids; the tracked link redirects to the partner and counts every click."""

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.flows import LISTING, sign_up
from tests.running_platform import PlatformPorts


@pytest.fixture
def gateway(platform: PlatformPorts) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30)


def _listing(gateway: httpx.Client, **fields: str) -> str:
    created = gateway.post("/api/v1/listings", json=LISTING | fields, headers=sign_up(gateway, "provider"))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_a_meal_gets_table_partners_whose_tracked_links_redirect_and_count_clicks(gateway: httpx.Client) -> None:
    listing_id = _listing(gateway, category="meal", title="Fado dinner", city="Porto")
    answer = gateway.get("/api/v1/affiliate/links", params={"listing_id": listing_id})
    assert answer.status_code == 200, answer.text
    links = {link["partner"]: link for link in answer.json()["items"]}
    assert set(links) == {"opentable", "resy"}
    opentable = links["opentable"]
    target = urlsplit(opentable["target_url"])
    assert (target.netloc, parse_qs(target.query)) == ("www.opentable.com", {"term": ["Porto"], "ref": ["travel-dev"]})
    assert links["resy"]["target_url"].startswith("https://resy.com/cities/porto?")
    again = gateway.get("/api/v1/affiliate/links", params={"listing_id": listing_id}).json()["items"]
    assert [link["code"] for link in again] == [link["code"] for link in answer.json()["items"]], "codes are stable"

    # Anyone may follow a link, signed in or not; twenty at once are twenty clicks.
    with ThreadPoolExecutor(max_workers=10) as pool:
        followed = list(pool.map(lambda _: gateway.get(opentable["url"]), range(20)))
    assert {(response.status_code, response.headers["location"]) for response in followed} == {
        (302, opentable["target_url"])
    }
    counts = {
        link["partner"]: link["clicks"]
        for link in gateway.get("/api/v1/affiliate/links", params={"listing_id": listing_id}).json()["items"]
    }
    assert counts == {"opentable": 20, "resy": 0}


def test_a_tour_gets_activity_partners_searched_by_its_title(gateway: httpx.Client) -> None:
    listing_id = _listing(gateway, category="tour", title="Sunset kayak tour", city="Lisbon")
    links = {
        link["partner"]: link
        for link in gateway.get("/api/v1/affiliate/links", params={"listing_id": listing_id}).json()["items"]
    }
    assert set(links) == {"getyourguide", "viator"}
    assert parse_qs(urlsplit(links["viator"]["target_url"]).query)["text"] == ["Sunset kayak tour Lisbon"]


def test_unknown_links_and_listings_are_404_and_bad_codes_422(gateway: httpx.Client) -> None:
    assert gateway.get("/api/v1/r/NoSuchCode1").status_code == 404
    missing = gateway.get("/api/v1/affiliate/links", params={"listing_id": "7d8f61a4-3c55-4cf2-b7a0-111111111111"})
    assert (missing.status_code, missing.json()["error_code"]) == (404, "NOT_FOUND")
    hostile = gateway.get("/api/v1/r/%27%3B--")
    assert (hostile.status_code, hostile.json()["error_code"]) == (422, "VALIDATION_ERROR")
