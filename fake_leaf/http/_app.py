"""The router: a transport-agnostic request in, Leaf's response out."""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import math
import operator
import re
import threading
from collections.abc import Callable, Mapping
from typing import NamedTuple, TypeVar
from urllib.parse import unquote

from fake_leaf.engine import FakeLeafError, LeafBackend, Provider
from fake_leaf.engine._text import shorten
from fake_leaf.http import _problems as problems
from fake_leaf.http._context import CONTROL, USER_MANAGEMENT, Call, Route, is_control
from fake_leaf.http._delivery import Deliverer
from fake_leaf.http._faults import Fault, FaultRegistry, InjectedFault
from fake_leaf.http._handlers import authenticate_owner
from fake_leaf.http._journal import Journal
from fake_leaf.http._limits import RateLimit, RateLimiter
from fake_leaf.http._receivers import NAME, Receivers
from fake_leaf.http._routes import build_routes
from fake_leaf.http._serialize import alert_json, dumps
from fake_leaf.http._types import HttpRequest, HttpResponse, JournalEntry

_SIMILAR_CHARS = 256  # enough of a path to tell which route it resembles
_UTC = _dt.timezone.utc
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not strftime's: those follow the locale
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_BODY = 2 * 1024 * 1024  # Leaf's bodies are small JSON; a larger one is 413, on every transport


_Patterns = list[tuple[re.Pattern[str], str]]  # each template's pattern, and the template


class _RouteTable(NamedTuple):
    routes: tuple[Route, ...]
    # routes sharing a template share a pattern: match the path once, then pick the method
    by_template: dict[str, dict[str, Route]]
    patterns: _Patterns
    # the only patterns a path can match, in the table's order, by its number of segments and its last one
    # (``_shape``); those whose last segment is a parameter under (count, "")
    by_shape: dict[tuple[int, str], _Patterns]
    literal: dict[str, str]  # the templates without parameters, and them with a trailing slash: path -> template


def _shape(path: str) -> tuple[tuple[int, str], bool]:
    """A path's number of segments and last segment, one trailing slash aside; and whether its last segment is
    a parameter (of a template)."""
    if len(path) > 1 and path[-1] == "/":
        path = path[:-1]
    last = path[path.rfind("/") + 1:]
    return (path.count("/"), last), last.startswith("{")


def _literal_paths(by_template: dict[str, dict[str, Route]], patterns: _Patterns) -> dict[str, str]:
    """Each template without parameters, and it with a trailing slash, that no route before it matches."""
    literal = {}
    for template, methods in by_template.items():
        own = next(iter(methods.values())).pattern
        for path in (template, f"{template}/"):
            if "{" not in template and next(p for p, _ in patterns if p.match(path)) is own:
                literal[path] = template
    return literal


def _by_shape(patterns: _Patterns) -> dict[tuple[int, str], _Patterns]:
    shapes: dict[tuple[int, str], list[int]] = {}
    for i, (_, template) in enumerate(patterns):
        (count, last), variable = _shape(template)
        shapes.setdefault((count, "" if variable else last), []).append(i)
    for (count, last), found in shapes.items():
        if last:  # a path whose last segment is this one may also match a template ending with a parameter
            found.extend(shapes.get((count, ""), ()))
            found.sort()  # the table's order, as when every pattern was tried in turn
    return {shape: [patterns[i] for i in found] for shape, found in shapes.items()}


_tables: dict[tuple[str, ...], tuple[tuple[Provider, ...], _RouteTable]] = {}
_last_table: tuple[tuple[Provider, ...], _RouteTable] | None = None  # nearly every app of a run has the same


def _route_table(providers: tuple[Provider, ...]) -> _RouteTable:
    """Built once per provider set and shared (read-only) by every app: a fixture makes an app per test.

    Looked up by the providers' names and checked by identity: hashing 15 frozen providers field by
    field would cost more than the lookup saves. The last table used is tried first: comparing two tuples
    of the very same providers is one pass in C (equal items that are the same object are not compared).
    """
    global _last_table
    last = _last_table
    if last is not None and last[0] == providers:
        return last[1]
    key = tuple([p.name for p in providers])
    cached = _tables.get(key)
    if cached is not None and all(map(operator.is_, cached[0], providers)):  # as long: the names are the key
        _last_table = cached
        return cached[1]
    routes = tuple(build_routes(providers))
    by_template: dict[str, dict[str, Route]] = {}
    for r in routes:
        by_template.setdefault(r.template, {})[r.method] = r
    patterns = [(next(iter(methods.values())).pattern, template) for template, methods in by_template.items()]
    table = _RouteTable(routes, by_template, patterns, _by_shape(patterns), _literal_paths(by_template, patterns))
    if len(_tables) >= 16:  # a run has a few provider sets; tests that make new providers each time keep none
        _tables.clear()
    _tables[key] = _last_table = (providers, table)
    return table


# every answer carries one: written once per second of the fake's clock (that second, the next, the text)
_last_date: tuple[_dt.datetime, _dt.datetime, str] | None = None
_SECOND = _dt.timedelta(seconds=1)


def _http_date(now: _dt.datetime) -> str:
    """``now`` as an HTTP-date, to the second."""
    global _last_date
    if now.tzinfo is not _UTC:
        now = now.astimezone(_UTC)
    now = now.replace(microsecond=0)
    text = (f"{_DAYS[now.weekday()]}, {now.day:02d} {_MONTHS[now.month - 1]} {now.year:04d} "
            f"{now.hour:02d}:{now.minute:02d}:{now.second:02d} GMT")
    try:
        _last_date = (now, now + _SECOND, text)
    except OverflowError:  # the last second a datetime holds: written each time
        pass
    return text


T = TypeVar("T")
_made = threading.Lock()  # what an app makes when first used, made once however many threads ask


class LeafApp:
    """Serves one backend under one base URL; the adapters only translate to and from it."""

    def __init__(self, backend: LeafBackend, base_url: str, rate_limit: RateLimit | None = None) -> None:
        self.backend = backend
        self.base_url = base_url.rstrip("/")
        table = _route_table(tuple(backend.providers.values()))
        self.routes = table.routes
        self.limiter = RateLimiter(rate_limit) if rate_limit is not None else None
        # made when first used (a fixture makes an app per test, and many tests never fault or read the journal)
        self._faults: FaultRegistry | None = None
        self._journal: Journal | None = None
        self._receivers: Receivers | None = None
        backend.alert_payload = alert_json
        if (webhooks := backend.webhooks_in_use()) is not None:
            webhooks.alert_payload = alert_json
        self.deliveries = Deliverer(backend)  # the adapters give it their senders
        self._by_template = table.by_template
        self._patterns = table.patterns
        self._by_shape = table.by_shape
        self._literal = table.literal

    @property
    def faults(self) -> FaultRegistry:
        found = self._faults
        return found if found is not None else self._make_once("_faults", FaultRegistry)

    @property
    def journal(self) -> Journal:
        found = self._journal
        return found if found is not None else self._make_once("_journal", Journal)

    @property
    def receivers(self) -> Receivers:
        """The fake's own webhook receivers: ``/_fake-leaf/receivers/{name}``."""
        found = self._receivers
        return found if found is not None else self._make_once("_receivers", Receivers)

    def _make_once(self, name: str, make: Callable[[], T]) -> T:
        """The attribute ``name``, made by ``make`` the first time (once, however many threads ask)."""
        with _made:
            found: T | None = getattr(self, name)
            if found is None:
                found = make()
                setattr(self, name, found)
            return found

    def implemented(self) -> list[str]:
        """'METHOD /path' for every route, as the not-implemented message lists them."""
        return [f"{r.method} {r.template}" for r in self.routes]

    def resolve_template(self, path: str) -> str:
        """The one route template that is ``path`` or ends with it (``/users/{leafUserId}``)."""
        path = path.rstrip("/")
        found = sorted({t for t in self._by_template if t == path or (t.endswith(path) and path.startswith("/"))})
        exact = [t for t in found if t == path or t == f"{USER_MANAGEMENT}{path}"]
        if len(exact) == 1:
            return exact[0]
        if len(found) > 1:
            raise ValueError(f"{path!r} names more than one route: {', '.join(found)}; give more of the path")
        if not found:
            # a route is named as the fake lists it, short ('/users/{leafUserId}') or whole; the closest is
            # found with every parameter's name set aside, so '/users/{id}' finds '/users/{leafUserId}'
            names = {re.sub(r"\{[^}]*\}", "{}", name): name
                     for t in self._by_template for name in (t, t.removeprefix(USER_MANAGEMENT))}
            close = difflib.get_close_matches(re.sub(r"\{[^}]*\}", "{}", path), names, n=1, cutoff=0.6)
            hint = f" (did you mean {names[close[0]]!r}?)" if close else ""
            raise ValueError(f"{path!r} names no route{hint}; the routes are {', '.join(sorted(self._by_template))}")
        return found[0]

    def inject(self, fault: Fault) -> InjectedFault:
        template = self.resolve_template(fault.path) if fault.path else None
        if is_control(template):
            raise ValueError(f"{fault.path!r} is the control plane, which faults never touch; fault a Leaf route")
        return self.faults.add(fault, template)

    def journal_entries(self, method: str | None = None, path: str | None = None,
                        leaf_user_id: str | None = None) -> list[JournalEntry]:
        """The journal, oldest first, narrowed by method, route (as ``inject`` takes it) and user id."""
        template = self.resolve_template(path) if path is not None else None
        return [e for e in list(self.journal)
                if (method is None or e.method == method.upper())
                and (template is None or e.route == template)
                and (leaf_user_id is None or e.leaf_user_id == leaf_user_id)]

    def take_locally(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, str] | None:
        """A delivery to one of the fake's own receivers, without a socket: (status, answer), or None if the
        path names none."""
        prefix = f"{CONTROL}/receivers/"
        name = path[len(prefix):] if path.startswith(prefix) else ""
        if not NAME.fullmatch(name):
            return None
        status = self.receivers.take(name, body, headers, self.backend.now())
        return status, dumps({"received": status == 200}).decode()

    def handle(self, request: HttpRequest, *, deliver: bool = True) -> HttpResponse:
        """Answer one request; then send the webhook deliveries due, unless ``deliver`` is False (a server
        that sends them itself once the answer is out: ``deliveries.run_due()``)."""
        response = self._handle(request)
        # Leaf sends one; from the fake's clock, so an HTTP-date Retry-After is read against the fake's time
        if "Date" not in response.headers:
            response.headers["Date"] = self.http_date()
        if deliver:  # after the engine's lock is released: a receiver may call back into the fake
            self.deliveries.run_due()
        return response

    def http_date(self) -> str:
        """The fake's now as an HTTP-date (RFC 9110 5.6.7): ``Sun, 01 Mar 2026 00:00:00 GMT``."""
        try:
            now = self.backend.now()
        except FakeLeafError:  # a clock out of Leaf's range: the request's own answer says so
            now = _dt.datetime.now(_UTC)
        last = _last_date
        if last is not None and last[0] <= now < last[1]:  # the second last written
            return last[2]
        return _http_date(now)

    def _handle(self, request: HttpRequest) -> HttpResponse:
        path = request.path or "/"
        method = request.method  # case-sensitive (RFC 9110 9.1): "delete" is not DELETE
        template, params = self._match(path)
        control = template is not None and template.startswith(CONTROL)  # the test's side: never faulted, not journaled
        if control or (template is not None and template.endswith("/failed-calls")):
            # what the control plane and failed-calls read includes every delivery due by now, and those in flight
            self.deliveries.run_due()
            self.deliveries.settle()
        size = len(request.body)
        if request.declared_size is not None and request.declared_size > size:
            size = request.declared_size
        too_large = size > MAX_BODY
        faults = None if control else self._faults
        fault = None if faults is None else faults.firing(method, template, after=False)
        if fault is not None and fault.answers_instead:
            response = _faulted(fault, path)
        elif too_large:
            response = problems.too_large(size, MAX_BODY, path)
        else:
            try:
                response = self._dispatch(request, path, template, params)
            except Warning as e:  # the test's warning filters made one of the fake's warnings an error
                response = problems.warning_as_error(f"{type(e).__name__}: {e}", path)
            except Exception as e:  # never let a bug of the fake crash the user's test: a 500 that says so
                response = problems.internal_error(f"{type(e).__name__}: {e}", path)
            later = None if faults is None else faults.firing(method, template, after=True)
            if later is not None:
                response = _faulted(later, path, response)
                fault = later
            elif fault is not None:
                response = _faulted(fault, path, response)
        if not control:  # the journal is of what a client asked Leaf; control requests are the test's own
            status = response.status
            (self._journal or self.journal).record(
                method, path, request.query, status, _reason(response) if status >= 400 else None, template,
                params.get("leafUserId"), b"" if too_large else request.body,  # a body refused for its size is not kept
                response.body, fault.kind if fault is not None else None)
        if method == "HEAD":
            return for_method(method, response)
        return response

    def _match(self, path: str) -> tuple[str | None, dict[str, str]]:
        template = self._literal.get(path)
        if template is not None:  # a route without parameters, spelt as its template
            return template, {}
        end = len(path) - 1
        if end < 0 or path[end] == "\n":  # "$" also matches before a final newline: every pattern tried
            candidates = self._patterns
        else:  # only the few patterns of the path's shape (``_shape``, written out: this runs for every request)
            if end and path[end] == "/":
                end -= 1
            start = path.rfind("/", 0, end + 1)
            count = path.count("/", 0, end + 1)
            by_shape = self._by_shape
            candidates = by_shape.get((count, path[start + 1:end + 1])) or by_shape.get((count, "")) or []
        for pattern, template in candidates:
            match = pattern.match(path)
            if match is not None:
                params = match.groupdict()
                for name, value in params.items():
                    if "%" in value:  # unquote's own shortcut, without its call
                        params[name] = unquote(value)
                return template, params
        return None, {}

    def _dispatch(self, request: HttpRequest, path: str, template: str | None,
                  params: dict[str, str]) -> HttpResponse:
        method = request.method
        if template is None:
            return problems.not_implemented(method, path, self.implemented(), self._closest(method, path))
        methods = self._by_template[template]
        route = methods.get("GET" if method == "HEAD" else method)
        if route is None:
            allowed = sorted({*methods, *(["HEAD"] if "GET" in methods else [])})
            return problems.method_not_allowed(method, path, allowed)
        call = Call(request, path.rstrip("/") or "/", params, self.backend, request.base_url or self.base_url,
                    route.provider, app=self)
        try:
            # one request is one engine operation: a list never meets a user deleted halfway through it
            with self.backend.atomic():
                if route.authenticated:
                    call.owner = authenticate_owner(call)
                    if self.limiter is not None:
                        wait = self.limiter.admit(call.owner, self.backend.now())
                        if wait is not None:
                            return problems.rate_limited(self.limiter.limit, math.ceil(wait.total_seconds()))
                return route.handler(call)
        except FakeLeafError as e:  # every refusal carries its status; the catalogue shapes its body
            return problems.for_error(e, call.path)

    def _closest(self, method: str, path: str) -> list[str]:
        """The three routes most like the request, each with why it did not match.

        Most alike by difflib's ratio over the path's first characters; its cheap upper bound
        (``quick_ratio``) rules most routes out first, so a 404 costs little even for a long path.
        """
        segments = path.rstrip("/").split("/")
        matcher = difflib.SequenceMatcher(None)
        matcher.set_seq2(path[:_SIMILAR_CHARS])  # difflib caches what it learns of the path

        def bonus(route: Route) -> float:
            return 0.01 if route.method == method else 0.0

        bounds = []
        for i, route in enumerate(self.routes):
            matcher.set_seq1(route.template)
            bounds.append((matcher.quick_ratio() + bonus(route), i, route))
        bounds.sort(key=lambda b: (-b[0], b[1]))
        best: list[tuple[float, int, Route]] = []
        for bound, i, route in bounds:
            if len(best) >= 3 and bound < best[2][0]:
                break  # no route left can beat (or tie with) the third
            matcher.set_seq1(route.template)
            best.append((matcher.ratio() + bonus(route), i, route))
            best.sort(key=lambda b: (-b[0], b[1]))
            del best[3:]
        return [f"{r.method} {r.template} ({_why_not(r, method, segments)})" for _, _, r in best]


def _why_not(route: Route, method: str, segments: list[str]) -> str:
    wanted = route.template.split("/")
    if len(wanted) != len(segments):
        return f"the path has {len(segments) - 1} segments, the route {len(wanted) - 1}"
    for i, (have, want) in enumerate(zip(segments, wanted, strict=True)):
        if not (want.startswith("{") or have == want):
            return f"segment {i} is {shorten(have, 100)!r}, the route has {want!r}"
    return f"the method is {shorten(method)}, the route takes {route.method}"


def _faulted(fault: Fault, path: str, response: HttpResponse | None = None) -> HttpResponse:
    """The answer under a fault: made here (it answers instead), or the handler's ``response``, changed."""
    if fault.unanswered:
        return HttpResponse(0, fault=fault.kind, hold=fault.hold)
    if fault.answers_instead:
        return problems.injected_error(fault.status, path, fault.headers, fault.body)
    assert response is not None
    response.delay += fault.added_delay
    if fault.truncates:
        response.body = response.body[: max(1, len(response.body) // 2)] if response.body else b"{"
    return response


def for_method(method: str, response: HttpResponse) -> HttpResponse:
    """HEAD: the GET's status and headers, its Content-Length included, and no body, on every transport."""
    if method == "HEAD" and response.body:
        response.headers.setdefault("Content-Length", str(len(response.body)))
        response.body = b""
    return response


def _reason(response: HttpResponse) -> str:
    """The detail of a problem body (and the fake's own reason header, when there is one)."""
    try:
        data = json.loads(response.body)
        detail = str(data.get("detail") or data.get("message") or "")
    except (ValueError, AttributeError):
        detail = response.body[:200].decode("utf-8", "replace")
    extra = response.headers.get("X-Fake-Leaf-Reason")
    return f"{detail} ({extra})" if extra else detail
