"""One OpenAPI document for the whole public API: the gateway's own routes and every
service's routes under their public /api/v1 paths, so clients generate one SDK from it."""

import asyncio
import copy
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.authorization.policy import Access, route_access
from gateway.identity.scopes import SCOPE_RULES, scopes_allow
from gateway.proxy.routes import PUBLIC_PREFIX, is_owned_by
from gateway.proxy.service import Upstreams
from shared.error_codes import (
    ACCOUNT_NOT_LINKABLE,
    BAD_GATEWAY,
    DEPENDENCY_UNAVAILABLE,
    FORBIDDEN,
    GATEWAY_TIMEOUT,
    IDP_EMAIL_NOT_VERIFIED,
    INSUFFICIENT_SCOPE,
    INVALID_API_KEY,
    INVALID_PATH,
    INVALID_TOKEN,
    PAYLOAD_TOO_LARGE,
    RATE_LIMITED,
    SERVICE_UNAVAILABLE,
    UNAUTHORIZED,
    ErrorCode,
)
from shared.openapi import HTTP_METHODS, add_problems, check_unique_operation_ids

REF_PREFIX = "#/components/schemas/"
# A service builds its document on the first fetch after it starts; booking's is large enough
# that on a busy machine this takes seconds, and a document left out is missing until the next.
FETCH_TIMEOUT_SECONDS = 10.0
_COUNT = {"type": "integer", "minimum": 0}
# What gateway/ratelimit tells every counted caller; absent when the limits could not be counted.
RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {"description": "Requests allowed in the window.", "schema": _COUNT},
    "RateLimit-Remaining": {"description": "Requests left in the window.", "schema": _COUNT},
    "RateLimit-Reset": {"description": "Seconds until the window resets.", "schema": _COUNT},
}
RETRY_AFTER = {"description": "Seconds to wait before trying again.", "schema": _COUNT}
# What the gateway itself answers for any operation, before or instead of the service's answer
# (a credential is checked wherever one is sent; an external identity may be refused a link).
GATEWAY_ANSWERS = (
    INVALID_PATH,
    INVALID_TOKEN,
    INVALID_API_KEY,
    INSUFFICIENT_SCOPE,
    IDP_EMAIL_NOT_VERIFIED,
    ACCOUNT_NOT_LINKABLE,
    RATE_LIMITED,
    DEPENDENCY_UNAVAILABLE,
)
SECURED_ANSWERS = (UNAUTHORIZED, FORBIDDEN)
PROXY_ANSWERS = (BAD_GATEWAY, SERVICE_UNAVAILABLE, GATEWAY_TIMEOUT)
BEARER = "bearerAuth"
API_KEY = "apiKey"
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from POST /api/v1/auth/token.",
    },
    API_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`ApiKey <key>`: a provider's key (POST /api/v1/auth/api-keys), for what its scopes cover.",
    },
}


@dataclass
class OpenApiCache:
    """The last merged document; kept for a while only if every service contributed."""

    ttl_seconds: float
    document: dict[str, Any] | None = None
    built_at: float = field(default=0.0)

    def fresh(self) -> dict[str, Any] | None:
        if self.document is not None and time.monotonic() - self.built_at < self.ttl_seconds:
            return self.document
        return None

    def keep(self, document: dict[str, Any]) -> None:
        if not document.get("x-missing-services"):
            self.document, self.built_at = document, time.monotonic()


async def _fetch(client: httpx.AsyncClient) -> dict[str, Any] | None:
    try:
        response = await client.get("/openapi.json", timeout=FETCH_TIMEOUT_SECONDS)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    document: dict[str, Any] = response.json()
    return document


def _rewrite_refs(node: Any, renamed: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                REF_PREFIX + renamed.get(value[len(REF_PREFIX) :], value[len(REF_PREFIX) :])
                if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX)
                else _rewrite_refs(value, renamed)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item, renamed) for item in node]
    return node


def merge_documents(
    gateway_document: dict[str, Any], service_documents: dict[str, dict[str, Any] | None]
) -> dict[str, Any]:
    """The gateway's document plus each service's public paths; a schema name two services
    use for different shapes is prefixed with the service's name in the second one."""
    merged = copy.deepcopy(gateway_document)
    merged["info"] = {**merged.get("info", {}), "title": "Travel platform API"}
    paths: dict[str, Any] = merged.setdefault("paths", {})
    for path, item in list(paths.items()):
        if path.startswith(PUBLIC_PREFIX + "/"):
            paths[path] = _public_operations(path[len(PUBLIC_PREFIX) :], item, proxied=False)
    components: dict[str, Any] = merged.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    missing: list[str] = []

    for service, document in sorted(service_documents.items()):
        if document is None:
            missing.append(service)
            continue
        own_schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
        renamed = {
            name: f"{service.capitalize()}_{name}"
            for name, schema in own_schemas.items()
            if name in schemas and schemas[name] != _rewrite_refs(schema, {})
        }
        for name, schema in own_schemas.items():
            schemas[renamed.get(name, name)] = _rewrite_refs(schema, renamed)
        for kind, entries in document.get("components", {}).items():
            if kind != "schemas":
                components.setdefault(kind, {}).update(entries)
        for path, item in document.get("paths", {}).items():
            if is_owned_by(service, path):
                public = _public_operations(path, _rewrite_refs(item, renamed), proxied=True)
                if public:
                    paths[PUBLIC_PREFIX + path] = public

    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    merged["x-missing-services"] = missing
    check_unique_operation_ids(merged)
    return merged


def _public_operations(path: str, item: dict[str, Any], *, proxied: bool) -> dict[str, Any]:
    """The operations of a service's path item that the gateway serves, each saying who may
    call it (its security, and its roles as `x-roles`) and what the gateway may answer on its
    behalf; the others are left out."""
    public: dict[str, Any] = {}
    for key, operation in item.items():
        if key not in HTTP_METHODS:
            public[key] = operation
            continue
        found = route_access(key.upper(), path)
        if found is not None:
            access = found[1]
            public[key] = _with_gateway_answers(
                _with_access(operation, access, key_scopes=_scopes_covering(key.upper(), path)),
                secured=not access.public,
                proxied=proxied,
            )
    return public if any(key in HTTP_METHODS for key in public) else {}


def _scopes_covering(method: str, path: str) -> list[str]:
    return [scope for scope in SCOPE_RULES if scopes_allow([scope], method, PUBLIC_PREFIX + path)]


def _with_access(operation: dict[str, Any], access: Access, *, key_scopes: list[str]) -> dict[str, Any]:
    who = f"Who may call it: {access.describe()}."
    if key_scopes and not access.public:
        who += f" With an API key: scope {' or '.join(key_scopes)}."
    described = f"{operation['description']}\n\n{who}" if operation.get("description") else who
    security: list[dict[str, list[str]]] = []
    if not access.public:
        security = [{BEARER: []}]
        if key_scopes:
            security.append({API_KEY: []})
    return operation | {
        "security": security,
        "x-roles": list(access.roles),
        "x-api-key-scopes": key_scopes if not access.public else [],
        "description": described,
    }


def _with_gateway_answers(operation: dict[str, Any], *, secured: bool, proxied: bool) -> dict[str, Any]:
    """The operation with the errors the gateway answers for it, and the rate-limit headers it
    puts on every answer (with `Retry-After` on a 429)."""
    answered = copy.deepcopy(operation)
    codes: list[ErrorCode] = [*GATEWAY_ANSWERS]
    if secured:
        codes += SECURED_ANSWERS
    if proxied:
        codes += PROXY_ANSWERS
        if "requestBody" in answered:
            codes.append(PAYLOAD_TOO_LARGE)
    add_problems(answered, *codes)
    for status, response in answered["responses"].items():
        headers = response.setdefault("headers", {})
        headers.update(RATE_LIMIT_HEADERS)
        if status in ("429", "503"):
            headers["Retry-After"] = RETRY_AFTER | {"required": status == "429"}
    return answered


async def build_merged_document(gateway_document: dict[str, Any], upstreams: Upstreams) -> dict[str, Any]:
    names = sorted(upstreams.clients)
    fetched = await asyncio.gather(*(_fetch(upstreams.clients[name]) for name in names))
    return merge_documents(gateway_document, dict(zip(names, fetched, strict=True)))
