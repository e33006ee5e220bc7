"""``fake-leaf verify``: run the contract scenarios against a Leaf-compatible URL and against the fake, compare.

Each request goes to the target (a Leaf sandbox, or anything that claims to be Leaf) and to an
in-process fake with the same login. The answers are compared by shape: status, content type,
fields, their types and formats, and the values the contract fixes (problem titles, messages and
error keys, statuses, echoed fields). Ids, tokens and timestamps are compared by format only.
Everything the run creates on the target is deleted at the end, whatever happens.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

import requests
import urllib3

from fake_leaf.adapters._senders import DeliveryPolicy, senders
from fake_leaf.engine import LeafBackend
from fake_leaf.http import HttpRequest, LeafApp

USERS = "/services/usermanagement/api/users"
HOOKS = "/services/alerts/api/alerts/webhooks"
TIMEOUT = 30.0  # seconds for one whole answer: connecting, sending, and reading all of it
MAX_ANSWER = 8 * 1024 * 1024  # bytes of one answer, once decompressed: a gzip bomb stops here
MAX_DEPTH = 64  # JSON nested deeper is compared as text
# values the contract fixes: compared as values; everything else only by type and format
CONTRACT_VALUES = frozenset({"status", "title", "message", "errorKey", "type", "clientEnvironment", "events",
                             "name", "email", "externalId", "phone", "address", "url", "statusCode"})
FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a UUID", re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")),
    ("a timestamp with six fractional digits and Z", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")),
    ("a timestamp without fraction, with Z", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")),
    # a JWT's header is base64url JSON, so it starts with eyJ ('{"'): Leaf's "error.http.401" is no JWT
    ("a JWT", re.compile(r"^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")),
)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    headers: Mapping[str, str]
    body: Any  # parsed JSON, the text when it is not JSON, None when empty


@dataclass
class Side:
    """One of the two APIs compared, with the ids it gave to what the run created."""

    label: str
    send: Callable[[str, str, bytes, dict[str, str]], Answer]
    token: str = ""
    ids: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, body: object = None, auth: str | None = "token") -> Answer:
        target = path.format(**self.ids)
        headers = {"Accept": "application/json"}
        if auth == "token":
            headers["Authorization"] = f"Bearer {self.token}"
        elif auth is not None:
            headers["Authorization"] = auth
        raw = b""
        if body is not None:
            raw = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        return self.send(method, target, raw, headers)


class HostileAnswerError(requests.RequestException):
    """An answer verify will not read: too large once decompressed, or not whole within the timeout."""


def _parse(status: int, headers: Mapping[str, str], content: bytes) -> Answer:
    lowered = {k.lower(): v for k, v in headers.items()}
    content_type = lowered.get("content-type", "").split(";")[0].strip()
    body: Any = None
    if content:
        text = content.decode("utf-8", "replace")
        body = text
        if _depth(text) <= MAX_DEPTH:  # deeper: kept as text, never parsed or walked
            try:
                body = json.loads(content)
            except (ValueError, RecursionError):
                pass
    return Answer(status, content_type, lowered, body)


def _depth(text: str) -> int:
    """How deeply brackets nest in ``text`` (strings included: an over-estimate, never an under-estimate)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _read_whole(response: requests.Response, what: str) -> bytes:
    """The answer's body, decompressed, within TIMEOUT seconds in all and MAX_ANSWER bytes."""
    cut = threading.Event()

    def cut_off() -> None:  # a trickling server: the read in progress ends on its shut connection
        cut.set()
        sock = getattr(getattr(response.raw, "connection", None), "sock", None)
        if sock is None:  # http.client handed the socket to the answer it reads (a closing connection)
            sock = getattr(getattr(getattr(getattr(response.raw, "_fp", None), "fp", None), "raw", None), "_sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        response.close()

    timer = threading.Timer(TIMEOUT, cut_off)
    timer.daemon = True
    timer.start()
    chunks, size = [], 0
    try:
        for chunk in response.raw.stream(16384, decode_content=True):
            size += len(chunk)
            if size > MAX_ANSWER:
                raise HostileAnswerError(f"{what}: the answer is over {MAX_ANSWER // (1024 * 1024)} MiB once "
                                         "decompressed; verify stopped reading it")
            chunks.append(chunk)
    except (OSError, ValueError, AttributeError, urllib3.exceptions.HTTPError) as e:
        if cut.is_set():
            raise HostileAnswerError(f"{what}: the answer did not arrive whole within {TIMEOUT:g} s") from None
        raise requests.ConnectionError(f"{what}: {e}") from None
    finally:
        timer.cancel()
    if cut.is_set():
        raise HostileAnswerError(f"{what}: the answer did not arrive whole within {TIMEOUT:g} s")
    return b"".join(chunks)


def target_side(base_url: str, session: requests.Session) -> Side:
    def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        with session.request(method, base_url + path, data=body or None, headers=headers, timeout=TIMEOUT,
                             allow_redirects=False, stream=True) as r:
            return _parse(r.status_code, r.headers, _read_whole(r, f"{method} {path}"))
    return Side("Leaf", send)


def fake_side(username: str, password: str) -> Side:
    backend = LeafBackend()
    backend.add_api_owner(username, password)
    app = LeafApp(backend, "https://api.withleaf.io")
    # in-process, unmocked: deliveries fail without any network call
    app.deliveries.senders.update(senders(DeliveryPolicy()))

    def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        parts = urlsplit(path)
        response = app.handle(HttpRequest(method, parts.path, parts.query, headers, body))
        return _parse(response.status, response.headers, response.body)
    return Side("fake-leaf", send)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    for name, pattern in FORMATS:
        if pattern.match(str(value)):
            return name
    return "a string"


def compare(where: str, leaf: Any, fake: Any, key: str | None = None) -> list[str]:
    """Every difference of shape (and of contract value) between Leaf's value and the fake's."""
    if key in CONTRACT_VALUES and not isinstance(leaf, (dict, list)) and leaf != fake:
        return [f"{where}: Leaf has {json.dumps(leaf)}, fake-leaf {json.dumps(fake)}"]
    if key == "events" and isinstance(leaf, list) and isinstance(fake, list) and leaf != fake:
        return [f"{where}: Leaf has {json.dumps(leaf)}, fake-leaf {json.dumps(fake)}"]
    if _kind(leaf) != _kind(fake):
        return [f"{where}: Leaf has {_kind(leaf)}, fake-leaf {_kind(fake)}"]
    if isinstance(leaf, dict) and isinstance(fake, dict):
        out = [f"{where}.{k}: Leaf has it ({_kind(leaf[k])}), fake-leaf does not" for k in leaf if k not in fake]
        out += [f"{where}.{k}: fake-leaf has it ({_kind(fake[k])}), Leaf does not" for k in fake if k not in leaf]
        for k in leaf:
            if k in fake:
                out += compare(f"{where}.{k}", leaf[k], fake[k], k)
        return out
    if isinstance(leaf, list) and isinstance(fake, list) and leaf and fake:
        return compare(f"{where}[0]", leaf[0], fake[0], key)  # one element's shape stands for all
    return []


_HEADER_NAMES = {"location": "Location", "x-total-count": "X-Total-Count", "link": "Link"}


def compare_answers(leaf: Answer, fake: Answer, deep: bool = True) -> list[str]:
    out = []
    if leaf.status != fake.status:
        out.append(f"status: Leaf answered {leaf.status}, fake-leaf {fake.status}")
    if leaf.content_type != fake.content_type and (leaf.body is not None or fake.body is not None):
        out.append(f"Content-Type: Leaf sent {leaf.content_type or 'none'}, fake-leaf {fake.content_type or 'none'}")
    for header in ("location", "x-total-count", "link"):  # where a created thing is; how a list pages
        if (header in leaf.headers) != (header in fake.headers):
            has, lacks = ("Leaf", "fake-leaf") if header in leaf.headers else ("fake-leaf", "Leaf")
            out.append(f"{_HEADER_NAMES[header]} header: {has} sent one, {lacks} did not")
    if deep:
        out += compare("body", leaf.body, fake.body)
    elif _kind(leaf.body) != _kind(fake.body):
        out.append(f"body: Leaf has {_kind(leaf.body)}, fake-leaf {_kind(fake.body)}")
    return out


class Verifier:
    """Runs the scenarios on both sides, prints each request's verdict, counts the differences."""

    def __init__(self, leaf: Side, fake: Side, out: TextIO) -> None:
        self.leaf, self.fake, self.out = leaf, fake, out
        self.requests = 0
        self.differences = 0
        self.created: list[tuple[str, str]] = []  # (path template, id key) to delete on Leaf, newest last

    def step(self, label: str, method: str, path: str, body: object = None, auth: str | None = "token",
             deep: bool = True) -> tuple[Answer, Answer]:
        leaf = self.leaf.call(method, path, body, auth)
        fake = self.fake.call(method, path, body, auth)
        found = compare_answers(leaf, fake, deep)
        self.requests += 1
        self.differences += len(found)
        self.out.write(f"  {'ok  ' if not found else 'DIFF'}  {method} {path} ({label})\n")
        for line in found:
            self.out.write(f"          - {line}\n")
        return leaf, fake

    def forget_if_gone(self, template: str, key: str, leaf: Answer) -> None:
        """Leaf deleted it (or never had it): nothing left to clean up."""
        if leaf.status < 300 or leaf.status == 404:
            self.created.remove((template, key))

    def remember(self, key: str, leaf: Answer, fake: Answer) -> bool:
        """Keep the id each side gave to what was just created; False when either did not create it."""
        ok = True
        for side, answer in ((self.leaf, leaf), (self.fake, fake)):
            if isinstance(answer.body, dict) and isinstance(answer.body.get("id"), str):
                side.ids[key] = answer.body["id"]
            else:
                ok = False
        return ok


def verify(base_url: str, username: str, password: str, *, allow_existing_users: bool = False,
           john_deere: Mapping[str, str] | None = None, webhook_url: str = "https://example.invalid/fake-leaf-verify",
           out: TextIO, session: requests.Session | None = None) -> int:
    """Run every scenario; 0 when Leaf and the fake agree, 1 on differences, 2 when refused or unreachable."""
    base_url = base_url.rstrip("/")
    with session or requests.Session() as http:
        leaf = target_side(base_url, http)
        fake = fake_side(username, password)
        v = Verifier(leaf, fake, out)
        out.write(f"fake-leaf verify: {base_url} as {username}, each answer compared with fake-leaf's\n")
        try:
            login = {"username": username, "password": password, "rememberMe": "true"}
            leaf_login, fake_login = v.step("log in", "POST", "/api/authenticate", login, auth=None)
            if leaf_login.status != 200 or not isinstance(leaf_login.body, dict) or "id_token" not in leaf_login.body:
                out.write(f"cannot log in at {base_url} (answer {leaf_login.status}); check --username and "
                          "--password\n")
                return 2
            leaf.token = str(leaf_login.body["id_token"])
            fake.token = str(fake_login.body["id_token"]) if isinstance(fake_login.body, dict) else ""
            existing = leaf.call("GET", f"{USERS}?size=1").body
            hooks = leaf.call("GET", HOOKS).body
            if (existing or hooks) and not allow_existing_users:
                out.write(f"refusing to run: the account at {base_url} already has Leaf users or webhooks. "
                          "verify creates and deletes its own; run it with a sandbox API owner of its own, "
                          "or pass --allow-existing-users (existing data is never touched).\n")
                return 2
            _scenarios(v, john_deere, webhook_url, webhooks_free=not hooks)
        except requests.RequestException as e:
            out.write(f"cannot reach {base_url}: {e}\n")
            return 2
        finally:
            _clean_up(v)
        out.write(f"{v.requests} requests compared, {v.differences} difference(s).\n")
        if v.differences:
            out.write("Please report this drift to fake-leaf (see the README, 'Checking the fake against Leaf') "
                      "with the output above: it shows shapes and fixed values only, never ids, tokens or "
                      "secrets.\n")
        return 1 if v.differences else 0


def _scenarios(v: Verifier, john_deere: Mapping[str, str] | None, webhook_url: str, webhooks_free: bool) -> None:
    tag = secrets.token_hex(4)
    v.step("log in with a wrong password", "POST", "/api/authenticate",
           {"username": "fake-leaf-verify@example.invalid", "password": "wrong"}, auth=None)
    v.step("no token", "GET", USERS, auth=None)
    v.step("a token that is not one", "GET", USERS, auth="Bearer not-a-token")
    user = {"name": "fake-leaf verify", "email": f"verify-{tag}@example.invalid", "externalId": f"verify-{tag}"}
    created = v.step("create a Leaf user", "POST", USERS, user)
    if not v.remember("user", *created):
        return
    v.created.append((f"{USERS}/{{user}}", "user"))
    v.step("get the user", "GET", f"{USERS}/{{user}}")
    v.step("an unknown user", "GET", f"{USERS}/00000000-0000-4000-8000-000000000000")
    _put_user(v, user)
    v.step("update the user partially", "PATCH", f"{USERS}/{{user}}", {"phone": "+1 555 0101", "address": None})
    v.step("find the user by externalId", "GET", f"{USERS}?externalId={user['externalId']}")
    creds = f"{USERS}/{{user}}/john-deere-credentials"
    v.step("credentials of a user without any", "GET", creds)
    v.step("events of a user without credentials", "GET", f"{creds}/events")
    v.step("delete credentials that do not exist", "DELETE", creds)
    v.step("credentials with an empty body", "POST", creds, {})
    v.step("credentials with a lower-case environment", "POST", creds,
           {"clientKey": "k", "clientSecret": "s", "refreshToken": "r", "clientEnvironment": "stage"})
    v.step("credentials for an unknown user", "POST",
           f"{USERS}/00000000-0000-4000-8000-000000000000/john-deere-credentials",
           {"clientKey": "k", "clientSecret": "s", "refreshToken": "r", "clientEnvironment": "STAGE"})
    if john_deere:
        v.step("create credentials with your John Deere values", "POST", creds, dict(john_deere))
        v.step("get the credentials", "GET", creds)
        v.step("the user embeds them", "GET", f"{USERS}/{{user}}")
        v.step("their events", "GET", f"{creds}/events")
        v.step("one page of their events, oldest first", "GET", f"{creds}/events?page=0&size=1&sort=createdDate,asc")
        v.step("a page of events past the end", "GET", f"{creds}/events?page=1000")
        v.step("events with a size that is not a number", "GET", f"{creds}/events?size=ten")
        _put_user(v, user, "replace the user, leaving the credentials out")
        v.step("credentials a PUT left out", "GET", creds)
        v.step("delete credentials already gone", "DELETE", creds)
    if webhooks_free:
        _webhook_scenarios(v, webhook_url)
    v.forget_if_gone(f"{USERS}/{{user}}", "user", v.step("delete the user", "DELETE", f"{USERS}/{{user}}")[0])
    v.step("get the deleted user", "GET", f"{USERS}/{{user}}")


def _put_user(v: Verifier, user: dict[str, str], label: str = "replace the user") -> None:
    # the body carries each side's own id: send it to each side separately, then compare
    leaf = v.leaf.call("PUT", USERS, {**user, "id": v.leaf.ids["user"], "phone": "+1 555 0100"})
    fake = v.fake.call("PUT", USERS, {**user, "id": v.fake.ids["user"], "phone": "+1 555 0100"})
    found = compare_answers(leaf, fake)
    v.requests += 1
    v.differences += len(found)
    v.out.write(f"  {'ok  ' if not found else 'DIFF'}  PUT {USERS} ({label})\n")
    for line in found:
        v.out.write(f"          - {line}\n")


def _webhook_scenarios(v: Verifier, webhook_url: str) -> None:
    hook = {"name": "fake-leaf verify", "url": webhook_url, "secret": secrets.token_urlsafe(16),
            "events": ["credentialsUnauthenticated"]}
    v.step("list webhooks", "GET", HOOKS)
    created = v.step("register a webhook", "POST", HOOKS, hook)
    if not v.remember("hook", *created):
        return
    v.created.append((f"{HOOKS}/{{hook}}", "hook"))
    v.step("get the webhook", "GET", f"{HOOKS}/{{hook}}")
    v.step("register its event twice", "POST", HOOKS, {**hook, "name": "twice"})
    v.step("an unknown event", "POST", HOOKS, {**hook, "events": ["fakeLeafVerifyNoSuchEvent"]})
    v.step("an event name Leaf dropped", "POST", HOOKS, {**hook, "events": ["newMachine"]})
    other = v.step("register one of Leaf's other events", "POST", HOOKS,
                   {**hook, "name": "fake-leaf verify 2", "events": ["machineCreated"]})
    if v.remember("hook2", *other):
        v.created.append((f"{HOOKS}/{{hook2}}", "hook2"))
        v.forget_if_gone(f"{HOOKS}/{{hook2}}", "hook2",
                         v.step("delete that webhook", "DELETE", f"{HOOKS}/{{hook2}}")[0])
    v.step("a webhook without url", "POST", HOOKS, {k: hook[k] for k in ("name", "secret", "events")})
    v.step("an unknown webhook", "GET", f"{HOOKS}/00000000-0000-4000-8000-000000000000")
    # the items depend on whether the URL answered: compare the envelope only
    v.step("failed calls", "GET", f"{HOOKS}/failed-calls", deep=False)
    v.forget_if_gone(f"{HOOKS}/{{hook}}", "hook", v.step("delete the webhook", "DELETE", f"{HOOKS}/{{hook}}")[0])
    v.step("get the deleted webhook", "GET", f"{HOOKS}/{{hook}}")


def _clean_up(v: Verifier) -> None:
    """Delete on the target whatever the run created and did not delete itself (a step failed midway)."""
    for template, key in reversed(v.created):
        if key not in v.leaf.ids:
            continue
        try:
            answer = v.leaf.call("DELETE", template)
            v.out.write(f"  cleaned up {template.split('/')[-2]} ({answer.status})\n")
        except requests.RequestException as e:
            v.out.write(f"  could not clean up {template.format(**v.leaf.ids)}: {e}; delete it by hand\n")
    v.created.clear()
