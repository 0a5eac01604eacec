"""A test double for Stripe Connect, run in front of localstripe, which has no Connect.

Development and tests only; production talks to Stripe itself. The payment service's Stripe
base address points here (clients keep paying at localstripe, `STRIPE_API_BASE`), and the double:

- answers the Connect endpoints payment calls, with Stripe-shaped JSON the official SDK parses:
  `POST /v1/accounts`, `GET /v1/accounts/{id}`, `POST /v1/account_links`, `POST /v1/transfers`,
  `GET /v1/transfers/{id}`, `POST /v1/transfers/{id}/reversals`, and `POST /v1/payouts`,
  `GET /v1/payouts/{id}` on a connected account (the `Stripe-Account` header). A POST with an
  `Idempotency-Key` is answered once and replayed after (`Idempotent-Replayed: true`); the same
  key with other parameters is refused with 400, as Stripe does;
- forwards every other request to localstripe as it came, except that it takes the Connect-only
  parameters off `POST /v1/payment_intents` (`transfer_data`, `application_fee_amount`,
  `transfer_group`, `on_behalf_of`) and `POST /v1/refunds` (`reverse_transfer`,
  `refund_application_fee`), which localstripe refuses, and puts them back on every answer about
  that intent or refund, so tests see what was asked;
- remembers the webhook endpoints registered through it (`POST /_config/webhooks/{id}`, also
  forwarded) and sends them Connect's `account.updated` and `payout.failed`, signed as Stripe signs.

It keeps no balances: a transfer or payout is accepted for any amount to an account it knows.

Control endpoints (not Stripe's), for tests and developers:

- `POST /_double/accounts/{id}/verify`: the account is fully verified (charges and payouts
  enabled, details submitted, nothing due). `POST /_double/accounts/{id}/status` with JSON
  `{charges_enabled?, payouts_enabled?, details_submitted?, currently_due?: [str]}` sets any of
  those. Both send `account.updated` to the registered endpoints and answer
  `{"account": ..., "event": ..., "deliveries": [{"url", "status"}]}` (the event, for a test that
  delivers it itself).
- `POST /_double/payouts/{id}/fail` with optional JSON `{failure_code?, failure_message?}`
  (default `account_closed`): the bank refused the payout; its status is `failed` and
  `payout.failed` goes to the registered endpoints, answered as above with `{"payout", "event",
  "deliveries"}`.
- `GET /_double/onboarding/{id}?return_url=`: where an account link leads; finishing onboarding
  there verifies the account and redirects to `return_url`.
- `POST /_double/faults` with JSON `{method, path, times, fault, status?}`: the next `times`
  requests to `method` `path` (exact, or a prefix when it ends with `*`) fail. `fault` is
  `error_before` (answer `status`, default 500, without forwarding or handling: nothing
  happened), `error_after` (handled or forwarded, then `status` instead of the answer),
  `drop_before` or `drop_after` (the connection is cut mid-answer, before or after the request
  took effect). `DELETE /_double/faults` clears them; `GET /_double/faults` lists what is left.
- `GET /_double/requests`: every request seen, in order: `{method, path, idempotency_key,
  stripe_account, status, replayed, fault}`; `DELETE /_double/requests` forgets them.
- `DELETE /_config/data` empties localstripe (forwarded) and the double alike.

Run it with `python -m devstack.stripe_connect_double --port PORT --upstream LOCALSTRIPE_URL`.
"""

import argparse
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

Fault = Literal["error_before", "error_after", "drop_before", "drop_after"]
FAULTS: tuple[str, ...] = ("error_before", "error_after", "drop_before", "drop_after")

# What localstripe refuses on these creates: kept by the double and put back on the answers.
CONNECT_ONLY_PARAMS = {
    "/v1/payment_intents": ("transfer_data", "application_fee_amount", "transfer_group", "on_behalf_of"),
    "/v1/refunds": ("reverse_transfer", "refund_application_fee"),
}
UNVERIFIED_REQUIREMENTS = [
    "business_profile.url",
    "external_account",
    "individual.verification.document",
    "tos_acceptance.date",
]


@dataclass
class InjectedFault:
    method: str
    path: str
    times: int
    fault: Fault
    status: int

    def matches(self, method: str, path: str) -> bool:
        if method != self.method:
            return False
        return path.startswith(self.path[:-1]) if self.path.endswith("*") else path == self.path


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


@dataclass
class StripeConnectDouble:
    """The double's state: Connect objects, replays, webhook endpoints, faults and a request log."""

    upstream: str
    # Where the double itself is reached, for the links it hands out; known from the requests.
    base_url: str = ""
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    payouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Connect parameters taken off a forwarded create, by the created object's id.
    kept_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    replays: dict[tuple[str, str], tuple[str, Answer]] = field(default_factory=dict)
    webhooks: dict[str, tuple[str, str]] = field(default_factory=dict)
    faults: list[InjectedFault] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    # The app

    def app(self) -> Starlette:
        methods = ["GET", "POST", "DELETE"]
        routes = [
            Route("/_double/accounts/{account_id}/verify", self._verify, methods=["POST"]),
            Route("/_double/accounts/{account_id}/status", self._set_status, methods=["POST"]),
            Route("/_double/onboarding/{account_id}", self._finish_onboarding, methods=["GET"]),
            Route("/_double/payouts/{payout_id}/fail", self._fail_payout, methods=["POST"]),
            Route("/_double/faults", self._faults, methods=["GET", "POST", "DELETE"]),
            Route("/_double/requests", self._requests, methods=["GET", "DELETE"]),
            Route("/{path:path}", self._stripe, methods=methods),
        ]
        return Starlette(routes=routes)

    async def _stripe(self, request: Request) -> Response:
        method, path = request.method, request.url.path
        self.base_url = str(request.base_url).rstrip("/")
        logged: dict[str, Any] = {
            "method": method,
            "path": path,
            "idempotency_key": request.headers.get("idempotency-key"),
            "stripe_account": request.headers.get("stripe-account"),
            "status": None,
            "replayed": False,
            "fault": None,
        }
        self.requests.append(logged)
        fault = self._take_fault(method, path)
        if fault is not None:
            logged["fault"] = fault.fault
        if fault is not None and fault.fault in ("error_before", "drop_before"):
            return _failure(fault, logged)
        answer = await self._answer(request, logged)
        if fault is not None:
            return _failure(fault, logged)
        logged["status"] = answer.status_code
        return answer

    async def _answer(self, request: Request, logged: dict[str, Any]) -> Response:
        method, path = request.method, request.url.path
        params = _form(await request.body()) if method == "POST" else dict(request.query_params)
        handler = self._connect_handler(method, path)
        if handler is None:
            return await self._forward(request)
        key = request.headers.get("idempotency-key")
        if method == "POST" and key:
            scope = (request.headers.get("stripe-account") or "", key)
            fingerprint = json.dumps([path, params], sort_keys=True)
            if scope in self.replays:
                first_fingerprint, first = self.replays[scope]
                if first_fingerprint != fingerprint:
                    return _error(
                        400,
                        "idempotency_error",
                        "An idempotency key is used again with other parameters.",
                    )
                logged["replayed"] = True
                return JSONResponse(first.body, status_code=first.status, headers={"Idempotent-Replayed": "true"})
            answer = handler(path, params, request.headers.get("stripe-account"))
            self.replays[scope] = (fingerprint, answer)
        else:
            answer = handler(path, params, request.headers.get("stripe-account"))
        return JSONResponse(answer.body, status_code=answer.status)

    def _take_fault(self, method: str, path: str) -> InjectedFault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.matches(method, path):
                fault.times -= 1
                return fault
        return None

    # Connect endpoints

    def _connect_handler(self, method: str, path: str) -> Callable[[str, dict[str, Any], str | None], Answer] | None:
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "accounts"] and len(parts) in (2, 3):
            return self._create_account if method == "POST" and len(parts) == 2 else self._read_account
        if parts == ["v1", "account_links"] and method == "POST":
            return self._create_account_link
        if parts[:2] == ["v1", "transfers"]:
            if len(parts) == 4 and parts[3] == "reversals" and method == "POST":
                return self._reverse_transfer
            if len(parts) == 2 and method == "POST":
                return self._create_transfer
            if len(parts) == 3 and method == "GET":
                return self._read_transfer
        if parts[:2] == ["v1", "payouts"]:
            if len(parts) == 2 and method == "POST":
                return self._create_payout
            if len(parts) == 3 and method == "GET":
                return self._read_payout
        return None

    def _create_account(self, _: str, params: dict[str, Any], __: str | None) -> Answer:
        account_id = _new_id("acct")
        capabilities = params.get("capabilities", {})
        self.accounts[account_id] = {
            "id": account_id,
            "object": "account",
            "type": params.get("type", "express"),
            "country": params.get("country", "PT"),
            "email": params.get("email"),
            "default_currency": "eur",
            "business_type": params.get("business_type"),
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "capabilities": dict.fromkeys(capabilities, "inactive"),
            "requirements": _requirements(list(UNVERIFIED_REQUIREMENTS)),
            "settings": {"payouts": {"schedule": _schedule(params)}},
            "metadata": params.get("metadata", {}),
            "created": int(time.time()),
        }
        return Answer(200, self.accounts[account_id])

    def _read_account(self, path: str, _: dict[str, Any], __: str | None) -> Answer:
        account = self.accounts.get(path.rsplit("/", 1)[-1])
        return Answer(200, account) if account else _missing("account", path)

    def _create_account_link(self, _: str, params: dict[str, Any], __: str | None) -> Answer:
        account_id = str(params.get("account", ""))
        if account_id not in self.accounts:
            return _missing("account", account_id)
        created = int(time.time())
        # Each link is new, as Stripe's single-use links are.
        query = urlencode(
            {
                "link": secrets.token_hex(8),
                "return_url": params.get("return_url", ""),
                "refresh_url": params.get("refresh_url", ""),
            }
        )
        return Answer(
            200,
            {
                "object": "account_link",
                "created": created,
                "expires_at": created + 300,
                "url": f"{self.base_url}/_double/onboarding/{account_id}?{query}",
            },
        )

    def _create_transfer(self, _: str, params: dict[str, Any], __: str | None) -> Answer:
        destination = str(params.get("destination", ""))
        if destination not in self.accounts:
            return _missing("destination account", destination)
        transfer_id = _new_id("tr")
        self.transfers[transfer_id] = {
            "id": transfer_id,
            "object": "transfer",
            "amount": int(params["amount"]),
            "amount_reversed": 0,
            "currency": str(params["currency"]).lower(),
            "destination": destination,
            "transfer_group": params.get("transfer_group"),
            "source_transaction": params.get("source_transaction"),
            "reversed": False,
            "reversals": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/transfers/{transfer_id}/reversals",
            },
            "metadata": params.get("metadata", {}),
            "created": int(time.time()),
        }
        return Answer(200, self.transfers[transfer_id])

    def _read_transfer(self, path: str, _: dict[str, Any], __: str | None) -> Answer:
        transfer = self.transfers.get(path.rsplit("/", 1)[-1])
        return Answer(200, transfer) if transfer else _missing("transfer", path)

    def _reverse_transfer(self, path: str, params: dict[str, Any], __: str | None) -> Answer:
        transfer = self.transfers.get(path.strip("/").split("/")[2])
        if transfer is None:
            return _missing("transfer", path)
        left = transfer["amount"] - transfer["amount_reversed"]
        amount = int(params.get("amount", left))
        if not 0 < amount <= left:
            return Answer(
                400,
                {"error": {"type": "invalid_request_error", "message": f"A reversal of {amount} is more than {left}."}},
            )
        reversal = {
            "id": _new_id("trr"),
            "object": "transfer_reversal",
            "amount": amount,
            "currency": transfer["currency"],
            "transfer": transfer["id"],
            "metadata": params.get("metadata", {}),
            "created": int(time.time()),
        }
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        transfer["reversals"]["data"].append(reversal)
        return Answer(200, reversal)

    def _create_payout(self, _: str, params: dict[str, Any], stripe_account: str | None) -> Answer:
        if stripe_account not in self.accounts:
            return _missing("account (Stripe-Account header)", str(stripe_account))
        payout_id = _new_id("po")
        created = int(time.time())
        self.payouts[payout_id] = {
            "id": payout_id,
            "object": "payout",
            "amount": int(params["amount"]),
            "currency": str(params["currency"]).lower(),
            "status": "pending",
            "method": params.get("method", "standard"),
            "arrival_date": created + 2 * 86400,
            "account": stripe_account,
            "metadata": params.get("metadata", {}),
            "created": created,
        }
        return Answer(200, self.payouts[payout_id])

    def _read_payout(self, path: str, _: dict[str, Any], __: str | None) -> Answer:
        payout = self.payouts.get(path.rsplit("/", 1)[-1])
        return Answer(200, payout) if payout else _missing("payout", path)

    # Forwarding to localstripe

    async def _forward(self, request: Request) -> Response:
        method, path = request.method, request.url.path
        body = await request.body()
        kept: dict[str, Any] = {}
        connect_only = CONNECT_ONLY_PARAMS.get(path) if method == "POST" else None
        if connect_only:
            pairs = parse_qsl(body.decode(), keep_blank_values=True)
            taken = [(name, value) for name, value in pairs if _base_name(name) in connect_only]
            kept = _form(urlencode(taken).encode())
            body = urlencode([(name, value) for name, value in pairs if _base_name(name) not in connect_only]).encode()
        if method == "POST" and path.startswith("/_config/webhooks/"):
            fields = dict(parse_qsl(body.decode()))
            self.webhooks[path.rsplit("/", 1)[-1]] = (fields.get("url", ""), fields.get("secret", ""))
        if method == "DELETE" and path == "/_config/data":
            self._forget_everything()
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in ("host", "content-length", "stripe-account")
        }
        async with httpx.AsyncClient(base_url=self.upstream, timeout=30) as client:
            answer = await client.request(method, path, params=request.url.query, content=body, headers=headers)
        content = answer.content
        if answer.headers.get("content-type", "").startswith("application/json"):
            content = self._with_kept_params(answer.json(), kept)
        return Response(
            content, status_code=answer.status_code, media_type=answer.headers.get("content-type", "application/json")
        )

    def _with_kept_params(self, body: Any, kept: dict[str, Any]) -> bytes:
        if isinstance(body, dict) and isinstance(body.get("id"), str):
            if kept:
                self.kept_params[body["id"]] = _as_stripe_shape(kept)
            body.update(self.kept_params.get(body["id"], {}))
        return json.dumps(body).encode()

    def _forget_everything(self) -> None:
        self.accounts.clear()
        self.transfers.clear()
        self.payouts.clear()
        self.kept_params.clear()
        self.replays.clear()

    # Control

    async def _verify(self, request: Request) -> Response:
        return await self._change_account(
            request.path_params["account_id"],
            {"charges_enabled": True, "payouts_enabled": True, "details_submitted": True, "currently_due": []},
        )

    async def _set_status(self, request: Request) -> Response:
        return await self._change_account(request.path_params["account_id"], await request.json())

    async def _finish_onboarding(self, request: Request) -> Response:
        account_id = request.path_params["account_id"]
        await self._change_account(
            account_id,
            {"charges_enabled": True, "payouts_enabled": True, "details_submitted": True, "currently_due": []},
        )
        return_url = request.query_params.get("return_url")
        if return_url:
            return RedirectResponse(return_url, status_code=303)
        return JSONResponse({"account": self.accounts.get(account_id), "onboarding": "finished"})

    async def _fail_payout(self, request: Request) -> Response:
        payout = self.payouts.get(request.path_params["payout_id"])
        if payout is None:
            answer = _missing("payout", request.path_params["payout_id"])
            return JSONResponse(answer.body, status_code=answer.status)
        failure = await request.json() if await request.body() else {}
        payout["status"] = "failed"
        payout["failure_code"] = failure.get("failure_code", "account_closed")
        payout["failure_message"] = failure.get("failure_message", "The bank account has been closed.")
        event = self._event("payout.failed", account_id=payout["account"], subject=payout)
        deliveries = [await self._deliver(url, secret, event) for url, secret in self.webhooks.values()]
        return JSONResponse({"payout": payout, "event": event, "deliveries": deliveries})

    def _event(self, event_type: str, *, account_id: str, subject: dict[str, Any]) -> dict[str, Any]:
        """A Connect event about an object of a connected account, as Stripe sends it."""
        return {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": "2024-06-20",
            "type": event_type,
            "account": account_id,
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": len(self.webhooks),
            "data": {"object": subject},
        }

    async def _change_account(self, account_id: str, change: dict[str, Any]) -> Response:
        account = self.accounts.get(account_id)
        if account is None:
            answer = _missing("account", account_id)
            return JSONResponse(answer.body, status_code=answer.status)
        for flag in ("charges_enabled", "payouts_enabled", "details_submitted"):
            if flag in change:
                account[flag] = bool(change[flag])
        if "currently_due" in change:
            account["requirements"] = _requirements(list(change["currently_due"]))
        active = "active" if account["charges_enabled"] and account["payouts_enabled"] else "inactive"
        account["capabilities"] = dict.fromkeys(account["capabilities"], active)
        event = self._event("account.updated", account_id=account_id, subject=account)
        deliveries = [await self._deliver(url, secret, event) for url, secret in self.webhooks.values()]
        return JSONResponse({"account": account, "event": event, "deliveries": deliveries})

    async def _deliver(self, url: str, secret: str, event: dict[str, Any]) -> dict[str, Any]:
        payload = json.dumps(event).encode()
        timestamp = int(time.time())
        signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "Stripe-Signature": f"t={timestamp},v1={signature}"}
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(url, content=payload, headers=headers)
        except httpx.HTTPError as error:
            return {"url": url, "status": None, "error": str(error)}
        return {"url": url, "status": answer.status_code}

    async def _faults(self, request: Request) -> Response:
        if request.method == "POST":
            spec = await request.json()
            if spec.get("fault") not in FAULTS:
                return JSONResponse({"error": f"fault is one of {', '.join(FAULTS)}"}, status_code=400)
            self.faults.append(
                InjectedFault(
                    method=str(spec.get("method", "POST")).upper(),
                    path=str(spec["path"]),
                    times=int(spec.get("times", 1)),
                    fault=spec["fault"],
                    status=int(spec.get("status", 500)),
                )
            )
        elif request.method == "DELETE":
            self.faults.clear()
        self.faults = [fault for fault in self.faults if fault.times > 0]
        return JSONResponse(
            {"faults": [fault.__dict__ for fault in self.faults]},
            status_code=201 if request.method == "POST" else 200,
        )

    async def _requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.requests.clear()
        return JSONResponse({"requests": self.requests})


def _failure(fault: InjectedFault, logged: dict[str, Any]) -> Response:
    if fault.fault.startswith("drop"):
        logged["status"] = "dropped"
        return _CutResponse()
    logged["status"] = fault.status
    return _error(fault.status, "api_error", f"Injected {fault.fault} by the Stripe Connect test double.")


class _CutResponse(Response):
    """An answer that announces a body and is cut off before it: the client sees the connection drop."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG002
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
            }
        )
        # Returning with the body unfinished makes the server close the connection.
        await send({"type": "http.response.body", "body": b'{"id": ', "more_body": True})


def _error(status: int, error_type: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": error_type, "message": message}}, status_code=status)


def _missing(what: str, which: str) -> Answer:
    return Answer(
        404,
        {"error": {"type": "invalid_request_error", "code": "resource_missing", "message": f"No such {what}: {which}"}},
    )


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _requirements(currently_due: list[str]) -> dict[str, Any]:
    return {
        "currently_due": currently_due,
        "eventually_due": currently_due,
        "past_due": [],
        "pending_verification": [],
        "disabled_reason": "requirements.past_due" if currently_due else None,
        "current_deadline": None,
        "errors": [],
    }


def _schedule(params: dict[str, Any]) -> dict[str, Any]:
    asked = params.get("settings", {}).get("payouts", {}).get("schedule", {})
    return {"interval": asked.get("interval", "daily"), "delay_days": 2}


def _base_name(name: str) -> str:
    return name.split("[", 1)[0]


def _form(body: bytes) -> dict[str, Any]:
    """A form body as Stripe's SDKs encode it (`a[b][c]=v`, `a[0]=v`) back into nested values."""
    nested: dict[str, Any] = {}
    for name, value in parse_qsl(body.decode(), keep_blank_values=True):
        keys = name.replace("]", "").split("[")
        target = nested
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    shaped: dict[str, Any] = _lists_where_indexed(nested)
    return shaped


def _lists_where_indexed(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {key: _lists_where_indexed(item) for key, item in value.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def _as_stripe_shape(kept: dict[str, Any]) -> dict[str, Any]:
    """Kept parameters as Stripe shows them on the object: amounts as integers, flags as booleans."""
    shaped: dict[str, Any] = {}
    for name, value in kept.items():
        if name == "application_fee_amount":
            shaped[name] = int(value)
        elif name == "transfer_data":
            shaped[name] = {"destination": value.get("destination"), "amount": _int_or_none(value.get("amount"))}
        elif name in ("reverse_transfer", "refund_application_fee"):
            shaped[name] = value == "true"
        else:
            shaped[name] = value
    return shaped


def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None


def main() -> None:
    parser = argparse.ArgumentParser(description="A test double for Stripe Connect in front of localstripe.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="localstripe's base address")
    arguments = parser.parse_args()
    double = StripeConnectDouble(upstream=arguments.upstream.rstrip("/"))
    uvicorn.run(double.app(), host="127.0.0.1", port=arguments.port, log_level="warning")


if __name__ == "__main__":
    main()
