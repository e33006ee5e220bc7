"""Engine snapshots as Leaf's JSON: field names, order and timestamp format."""

from __future__ import annotations

import datetime as _dt
import json

from fake_leaf.engine import CredentialEvent, Credentials, LeafUser, Provider
from fake_leaf.engine._models import _Alert


def leaf_timestamp(when: _dt.datetime) -> str:
    """UTC with exactly six fractional digits and a literal Z."""
    return when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def credentials_json(c: Credentials) -> dict[str, object]:
    return {
        "id": c.id,
        "status": c.status.value,
        "createdTime": leaf_timestamp(c.created_time),
        "tokenMetadata": {"scopes": list(c.scopes)},
        "clientKey": c.client_key,
        "clientSecret": c.client_secret,
        "accessToken": c.access_token,
        "refreshToken": c.refresh_token,
        "clientEnvironment": c.client_environment,
    }


def user_json(user: LeafUser, credentials: dict[str, Credentials], providers: list[Provider]) -> dict[str, object]:
    body: dict[str, object] = {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "phone": user.phone,
        "address": user.address,
        "externalId": user.external_id,
    }
    for p in providers:
        c = credentials.get(p.name)
        body[p.user_field] = credentials_json(c) if c is not None else None
    return body


def event_json(e: CredentialEvent) -> dict[str, object]:
    return {
        "id": e.id,
        "createdDate": leaf_timestamp(e.created_date),
        "statusCode": e.status_code,
        "headers": e.headers,
        "body": e.body,
    }


def dumps(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def alert_json(a: _Alert) -> dict[str, object]:
    """Leaf's alert payload: credential, provider, credentialId, message, status, type, timestamp."""
    return {
        "credential": a.credential,
        "provider": a.provider,
        "credentialId": a.credential_id,
        "message": a.message,
        "status": a.status.value,
        "type": a.type,
        "timestamp": leaf_timestamp(a.timestamp),
    }
