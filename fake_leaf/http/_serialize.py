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
    fields = c.fields
    for name, kind in _answer_plan(provider):
        if kind is _FIELD:
            body[name] = fields.get(name)
        elif kind is _ID:
            body[name] = c.id
        elif kind is _STATUS:
            body[name] = c.status.value
        elif kind is _CREATED:
            body[name] = leaf_timestamp(c.created_time)
        elif kind is _SCOPES:
            body[name] = {"scopes": list(c.scopes)}
        else:
            body[name] = c.access_token
    return body


# what each answer field of a provider is, worked out once per provider (most are body fields)
_FIELD, _ID, _STATUS, _CREATED, _SCOPES, _ACCESS_TOKEN = "field", "id", "status", "created", "scopes", "token"
_PLANS: dict[int, tuple[Provider, tuple[tuple[str, str], ...]]] = {}


def _answer_plan(provider: Provider) -> tuple[tuple[str, str], ...]:
    known = _PLANS.get(id(provider))
    if known is not None and known[0] is provider:
        return known[1]
    special = {"id": _ID, "status": _STATUS, "createdTime": _CREATED, "tokenMetadata": _SCOPES}
    if provider.oauth2:
        special["accessToken"] = _ACCESS_TOKEN
    plan = tuple((name, special.get(name, _FIELD)) for name in provider.answer_fields)
    if len(_PLANS) < 256:  # the provider is kept with its plan, so its id is not reused while cached
        _PLANS[id(provider)] = (provider, plan)
    return plan


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
    if not credentials:  # a new user's: every provider's field null
        body.update(_no_credentials(providers))
        return body
    for p in providers.values():
        c = credentials.get(p.name)
        body[p.user_field] = credentials_json(c, p) if c is not None else None
    return body


_NO_CREDENTIALS: dict[tuple[int, ...], tuple[tuple[Provider, ...], dict[str, None]]] = {}


def _no_credentials(providers: Mapping[str, Provider]) -> dict[str, None]:
    """Each provider's user field, null, in order: one dict for the providers a fake serves."""
    served = tuple(providers.values())
    key = tuple(map(id, served))
    known = _NO_CREDENTIALS.get(key)
    if known is not None:
        return known[1]
    nulls: dict[str, None] = {p.user_field: None for p in served}
    if len(_NO_CREDENTIALS) < 64:  # the providers are kept with it, so their ids are not reused while cached
        _NO_CREDENTIALS[key] = (served, nulls)
    return nulls


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
