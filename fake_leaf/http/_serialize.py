"""Engine snapshots as Leaf's JSON: field names, order and timestamp format, each shape declared once."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import json
from collections.abc import Mapping
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]

from fake_leaf.engine import Alert, CredentialEvent, Credentials, LeafUser, Provider
from fake_leaf.engine._models import OrganizationAlert, OrganizationStatus, ProviderOrganization
from fake_leaf.http._faults import Fault, InjectedFault
from fake_leaf.http._types import JournalEntry

_UTC = _dt.timezone.utc


@functools.lru_cache(maxsize=8192)  # an event's date is formatted at every read of its log: once is enough
def leaf_timestamp(when: _dt.datetime) -> str:
    """UTC with exactly six fractional digits and a literal Z."""
    # isoformat is several times cheaper than strftime, and an events page formats thirty of these
    return when.astimezone(_UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def credentials_json(c: Credentials, provider: Provider) -> dict[str, object]:
    """Exactly the provider's declared answer fields, in its order: never a field Leaf does not answer."""
    body: dict[str, object] = {}
    for name in provider.answer_fields:
        if name == "id":
            body[name] = c.id
        elif name == "status":
            body[name] = c.status.value
        elif name == "createdTime":
            body[name] = leaf_timestamp(c.created_time)
        elif name == "tokenMetadata":
            body[name] = {"scopes": list(c.scopes)}
        elif name == "accessToken" and provider.oauth2:
            body[name] = c.access_token
        else:
            body[name] = c.fields.get(name)
    return body


def user_json(user: LeafUser, credentials: Mapping[str, Credentials],
              providers: Mapping[str, Provider]) -> dict[str, object]:
    """The user's fields, then one field per provider: its credentials, or null."""
    body: dict[str, object] = {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "phone": user.phone,
        "address": user.address,
        "externalId": user.external_id,
    }
    for p in providers.values():
        c = credentials.get(p.name)
        body[p.user_field] = credentials_json(c, p) if c is not None else None
    return body


def event_json(e: CredentialEvent) -> dict[str, object]:
    return {
        "id": e.id,
        "createdDate": leaf_timestamp(e.created_date),
        "statusCode": e.status_code,
        "headers": e.headers,
        "body": e.body,
    }


# an event never changes: its JSON is written once, for the events pages that list it again and again
# (bounded: the newest texts up to 2 KiB each, at most 1,024 of them, about 2 MiB; a larger one is written each time)
_EVENT_TEXTS: dict[CredentialEvent, str] = {}
_EVENT_TEXTS_KEPT = 1024
_EVENT_TEXT_MAX = 2048


def events_json_text(events: list[CredentialEvent]) -> bytes:
    """``[event_json(e), ...]`` as ``dumps`` writes it."""
    texts = []
    for e in events:
        text = _EVENT_TEXTS.get(e)
        if text is None:
            text = json.dumps(event_json(e), separators=(",", ":"), ensure_ascii=False)
            if len(text) <= _EVENT_TEXT_MAX:
                if len(_EVENT_TEXTS) >= _EVENT_TEXTS_KEPT:
                    _EVENT_TEXTS.clear()
                _EVENT_TEXTS[e] = text
        texts.append(text)
    return f"[{','.join(texts)}]".encode()


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
# json's C encoder, made once (JSONEncoder.encode makes one per call: 2 us); answers are never circular
_C_ENCODE = None if c_make_encoder is None else c_make_encoder(
    None, _JSON.default, encode_basestring, None, ":", ",", False, False, True)


def dumps(data: object) -> bytes:
    """``json.dumps(data, separators=(",", ":"), ensure_ascii=False)`` in UTF-8."""
    if _C_ENCODE is None or isinstance(data, str):
        return _JSON.encode(data).encode("utf-8")
    return "".join(_C_ENCODE(data, 0)).encode("utf-8")


def alert_json(a: Alert | OrganizationAlert) -> dict[str, object]:
    """Leaf's alert payload: credential, provider, credentialId, message, status, type, timestamp; for an
    organization: leafUserId, provider, providerOrgId, providerOrgName, status, type, timestamp."""
    if isinstance(a, OrganizationAlert):
        return {
            "leafUserId": a.leaf_user_id,
            "provider": a.provider,
            "providerOrgId": a.provider_org_id,
            "providerOrgName": a.provider_org_name,
            "status": a.status.value,
            "type": a.type,
            "timestamp": leaf_timestamp(a.timestamp),
        }
    return {
        "credential": a.credential,
        "provider": a.provider,
        "credentialId": a.credential_id,
        "message": a.message,
        "status": a.status.value,
        "type": a.type,
        "timestamp": leaf_timestamp(a.timestamp),
    }


def organization_json(o: ProviderOrganization) -> dict[str, object]:
    """One organization of Leaf's sync management: providerOrgId, providerOrgName, status, managementUri."""
    return {"providerOrgId": o.provider_org_id, "providerOrgName": o.provider_org_name, "status": o.status.value,
            "managementUri": o.management_uri}


def organization_lists_json(organizations: list[ProviderOrganization], tells_connection: bool) -> dict[str, object]:
    """The connected and not-connected lists; a provider that does not tell them apart lists all as connected."""
    def entry(o: ProviderOrganization) -> dict[str, object]:
        return {"id": o.provider_org_id, "name": o.provider_org_name, "managementUri": o.management_uri}
    blocked = [o for o in organizations if tells_connection and o.status is OrganizationStatus.BLOCKED]
    return {"connectedOrganizations": [entry(o) for o in organizations if o not in blocked],
            "notConnectedOrganizations": [entry(o) for o in blocked]}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def fault_json(injected: InjectedFault) -> dict[str, object]:
    """A fault in force: its id, every ``Fault`` field, the route it matched and its hits."""
    body: dict[str, object] = {"id": injected.id}
    body.update({f.name: getattr(injected.fault, f.name) for f in dataclasses.fields(Fault)})
    body.update({"route": injected.template, "hits": injected.hits})
    return body


def journal_json(e: JournalEntry) -> dict[str, object]:
    """Every ``JournalEntry`` field under its camelCase name; bodies as text."""
    body: dict[str, object] = {}
    for f in dataclasses.fields(JournalEntry):
        value = getattr(e, f.name)
        body[_camel(f.name)] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return body
