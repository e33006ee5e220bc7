"""pytest fixtures for fake-leaf. They only wire the public ``fake_leaf`` API into pytest.

One main fixture (``fake_leaf``), options through one marker (``@pytest.mark.fake_leaf(...)``, the
same keyword arguments as ``FakeLeaf(...)``) and suite-wide defaults through ini options.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import random
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests

from fake_leaf import FakeLeaf, ManualClock, RateLimit, ShiftedClock

if TYPE_CHECKING:
    from faker import Faker

    from fake_leaf.adapters._receiver import WebhookReceiver
    from fake_leaf.adapters._server import LeafServer

MARKER = "fake_leaf"
OPTIONS: tuple[str, ...] = tuple(p for p in inspect.signature(FakeLeaf).parameters)
# ini name -> (FakeLeaf option, how to read the ini text)
INI: dict[str, tuple[str, Callable[[str], Any]]] = {
    "fake_leaf_base_url": ("base_url", str),
    "fake_leaf_on_duplicate_credentials": ("on_duplicate_credentials", str),
    "fake_leaf_put_without_credentials": ("put_without_credentials", str),
    "fake_leaf_check_interval_hours": ("check_interval", lambda text: dt.timedelta(hours=float(text))),
    "fake_leaf_refresh_token_rotation": ("refresh_token_rotation",
                                         lambda text: text.strip().lower() in ("1", "true", "yes", "on")),
    "fake_leaf_rate_limit_per_minute": ("rate_limit", lambda text: RateLimit(int(text))),
}
_SEED_KEY = pytest.StashKey[int]()
_LEAF_KEY = pytest.StashKey[FakeLeaf]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fake-leaf")
    group.addoption("--fake-leaf-seed", type=int, default=None,
                    help="seed of the sample data fake-leaf's fixtures make (printed in the header)")
    for name, (option, _) in INI.items():
        parser.addini(name, f"default for FakeLeaf({option}=...)", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(**options): options of the fake_leaf fixture, the keyword "
                                       f"arguments of FakeLeaf: {', '.join(OPTIONS)}")
    worker_input = getattr(config, "workerinput", None)  # a pytest-xdist worker takes the controller's seed
    seed = config.getoption("--fake-leaf-seed")
    if worker_input is not None and "fake_leaf_seed" in worker_input:
        seed = worker_input["fake_leaf_seed"]
    config.stash[_SEED_KEY] = seed if seed is not None else random.SystemRandom().randrange(2**32)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput["fake_leaf_seed"] = node.config.stash[_SEED_KEY]


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.stash[_SEED_KEY]
    return f"fake-leaf: sample data seed {seed} (repeat with --fake-leaf-seed={seed})"


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Ini defaults, then markers from the module down to the test: the closest wins."""
    options: dict[str, Any] = {}
    for name, (option, read) in INI.items():
        text = request.config.getini(name)
        if text:
            try:
                options[option] = read(str(text))
            except ValueError as e:
                pytest.fail(f"ini option {name} = {text!r} cannot be read: {e}", pytrace=False)
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # farthest first
        if marker.args:
            pytest.fail(f"@pytest.mark.{MARKER} takes keyword arguments only, got {marker.args!r}", pytrace=False)
        unknown = sorted(set(marker.kwargs) - set(OPTIONS))
        if unknown:
            pytest.fail(f"@pytest.mark.{MARKER}: unknown option(s) {', '.join(unknown)}; "
                        f"the options are {', '.join(OPTIONS)}", pytrace=False)
        options.update(marker.kwargs)
    return options


@pytest.fixture
def fake_leaf(request: pytest.FixtureRequest) -> Iterator[FakeLeaf]:
    """An active FakeLeaf for one test; nothing patched and no state kept after it."""
    options = _options(request)
    options.setdefault("clock", ShiftedClock())
    try:
        leaf = FakeLeaf(**options)
    except (TypeError, ValueError) as e:
        pytest.fail(f"fake_leaf options {options!r} were refused: {e}", pytrace=False)
    request.node.stash[_LEAF_KEY] = leaf
    with leaf:
        yield leaf


@pytest.fixture
def leaf_base_url(fake_leaf: FakeLeaf) -> str:
    """The fake's base URL (``https://api.withleaf.io`` unless an option says otherwise)."""
    return fake_leaf.base_url


@pytest.fixture
def leaf_token(fake_leaf: FakeLeaf) -> str:
    """A bearer token of the default API owner, valid for 30 days of the fake's time."""
    return fake_leaf.token


@pytest.fixture
def leaf_session(fake_leaf: FakeLeaf) -> Iterator[requests.Session]:
    """A ``requests.Session`` that sends a valid bearer token with every request."""
    with requests.Session() as session:
        session.auth = fake_leaf.auth
        yield session


@pytest.fixture
def leaf_server(fake_leaf: FakeLeaf) -> Iterator[LeafServer]:
    """The test's fake over real HTTP on a free port: ``leaf_server.url``, ``leaf_server.user_management_url``."""
    with fake_leaf.server() as server:
        yield server


@pytest.fixture
def leaf_clock(fake_leaf: FakeLeaf) -> ShiftedClock | ManualClock:
    """The fake's clock: ``leaf_clock.advance(timedelta(days=1))`` moves the fake's time in one call.

    It follows freezegun and time-machine too: under them, the fake's time is theirs plus the offset.
    """
    clock = fake_leaf.clock
    if not isinstance(clock, (ShiftedClock, ManualClock)):
        pytest.fail("leaf_clock needs the fake's clock to be a ShiftedClock (the default) or a ManualClock; "
                    f"this test gave clock={clock!r}", pytrace=False)
    return clock


@pytest.fixture
def leaf_webhook_receiver(request: pytest.FixtureRequest, fake_leaf: FakeLeaf) -> Iterator[WebhookReceiver]:
    """A URL for a webhook that records what arrives (``received``) and can fail (``fail_next(n)``).

    In-process it is a ``responses`` callback beside the fake; in a test using ``leaf_server`` it is
    a small HTTP server on 127.0.0.1 (register the webhook through the server, so it sends real POSTs).
    """
    from fake_leaf.adapters._receiver import HttpReceiver, InProcessReceiver

    over_http = "leaf_server" in request.fixturenames
    with HttpReceiver() if over_http else InProcessReceiver(fake_leaf) as receiver:
        yield receiver


@pytest.fixture
def leaf_faker(request: pytest.FixtureRequest) -> Faker:
    """A Faker with fake-leaf's provider, seeded from the run's seed and the test's id."""
    from faker import Faker

    from fake_leaf.testing.faker import LeafProvider

    faker = Faker()
    faker.add_provider(LeafProvider)
    run_seed = request.config.stash[_SEED_KEY]
    digest = hashlib.sha256(f"{run_seed}:{request.node.nodeid}".encode()).digest()
    faker.seed_instance(int.from_bytes(digest[:8], "big"))
    return faker


def _created(response: requests.Response, what: str) -> dict[str, Any]:
    __tracebackhide__ = True
    if response.status_code != 201:
        pytest.fail(f"fake-leaf refused to create {what}: {response.request.method} {response.request.url} "
                    f"-> {response.status_code} {response.text}", pytrace=False)
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def make_leaf_user(fake_leaf: FakeLeaf, leaf_session: requests.Session,
                   leaf_faker: Faker) -> Callable[..., dict[str, Any]]:
    """``make_leaf_user(name=..., ...)``: POST /users with sample data, your fields winning; the JSON."""
    def make(**fields: Any) -> dict[str, Any]:
        body = {**leaf_faker.leaf_user(), **fields}
        return _created(leaf_session.post(f"{fake_leaf.user_management_url}/users", json=body), "a Leaf user")
    return make


@pytest.fixture
def make_john_deere_credentials(fake_leaf: FakeLeaf, leaf_session: requests.Session, leaf_faker: Faker,
                                make_leaf_user: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``make_john_deere_credentials(leaf_user_id=None, **fields)``: POST sample credentials; the JSON.

    Without a user id it makes a new Leaf user first.
    """
    def make(leaf_user_id: str | None = None, **fields: Any) -> dict[str, Any]:
        user_id = leaf_user_id or make_leaf_user()["id"]
        body = {**leaf_faker.john_deere_credentials_body(), **fields}
        url = f"{fake_leaf.user_management_url}/users/{user_id}/john-deere-credentials"
        return _created(leaf_session.post(url, json=body), "John Deere credentials")
    return make


@pytest.fixture
def leaf_user(make_leaf_user: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A Leaf user made through the fake, as the API returned it."""
    return make_leaf_user()


@pytest.fixture
def john_deere_credentials(leaf_user: dict[str, Any],
                           make_john_deere_credentials: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """John Deere credentials (status OK) of ``leaf_user``, as the API returned them."""
    return make_john_deere_credentials(leaf_user["id"])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    # (fake-leaf's modules set __tracebackhide__, so its refusals show the test's own frames)
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    leaf = item.stash.get(_LEAF_KEY, None)
    if leaf is not None and report.failed:
        entries = leaf.journal()
        errors = [e for e in entries if e.status >= 400]
        lines = [f"{len(entries)} request(s) to {leaf.base_url}; {len(errors)} answered with an error:"]
        lines += [f"  {e}" for e in errors[-20:]]
        lines.append("the last requests:")
        lines += [f"  {e}" for e in entries[-10:]]
        report.sections.append(("fake-leaf requests", "\n".join(lines)))
