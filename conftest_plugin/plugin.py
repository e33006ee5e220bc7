"""pytest fixtures for fake-leaf. They only wire ``fake_leaf`` into pytest.

One main fixture (``fake_leaf``), options through one marker (``@pytest.mark.fake_leaf(...)``, the
same keyword arguments as ``FakeLeaf(...)``) and suite-wide defaults through ini options.

Every pytest run of a project that has fake-leaf installed loads this module, so it imports nothing
heavy: ``fake_leaf``, ``requests`` and faker are imported by the first fixture that needs them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import weakref
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ._sample import SampleData

if TYPE_CHECKING:
    import ssl
    from collections.abc import Awaitable

    import httpx
    import requests
    from faker import Faker

    from fake_leaf import FakeLeaf, LeafServer, ManualClock, Provider, RateLimit, ShiftedClock, WebhookReceiver

MARKER = "fake_leaf"
# FakeLeaf's keyword arguments, spelt out so that startup needs no import of fake_leaf
# (a test keeps them equal to FakeLeaf.__init__'s)
OPTIONS: tuple[str, ...] = ("base_url", "requests_mock", "clock", "on_duplicate_credentials",
                            "put_without_credentials", "check_interval", "refresh_token_rotation",
                            "john_deere_stage_default", "seed", "rate_limit", "faults", "username", "password",
                            "providers", "webhook_timeout")


def _rate_limit(text: str) -> RateLimit:
    from fake_leaf import RateLimit

    return RateLimit(int(text))


def _flag(text: str) -> bool:
    word = text.strip().lower()
    if word not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ValueError("write true or false (also yes/no, on/off, 1/0)")
    return word in ("1", "true", "yes", "on")


# ini name -> (FakeLeaf option, how to read the ini text)
INI: dict[str, tuple[str, Callable[[str], Any]]] = {
    "fake_leaf_base_url": ("base_url", str),
    "fake_leaf_on_duplicate_credentials": ("on_duplicate_credentials", str),
    "fake_leaf_put_without_credentials": ("put_without_credentials", str),
    "fake_leaf_check_interval_hours": ("check_interval", lambda text: dt.timedelta(hours=float(text))),
    "fake_leaf_refresh_token_rotation": ("refresh_token_rotation", _flag),
    "fake_leaf_john_deere_stage_default": ("john_deere_stage_default", _flag),
    "fake_leaf_rate_limit_per_minute": ("rate_limit", _rate_limit),
}
_SEED_KEY = pytest.StashKey[int]()
_LEAF_KEY = pytest.StashKey["FakeLeaf"]()
# each fake's sample data, seeded for its test by the fake_leaf fixture
_SAMPLES: weakref.WeakKeyDictionary[FakeLeaf, SampleData] = weakref.WeakKeyDictionary()
_FAKER_KEY = pytest.StashKey["Faker"]()  # one per session, reseeded for each test
_INI_KEY = pytest.StashKey["dict[str, Any] | str"]()  # the ini defaults, read once per session


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


def _ini_options(config: pytest.Config) -> dict[str, Any] | str:
    """The ini defaults as FakeLeaf options, or why one cannot be read; read once per session."""
    cached = config.stash.get(_INI_KEY, None)
    if cached is not None:
        return cached
    options: dict[str, Any] = {}
    found: dict[str, Any] | str = options
    for name, (option, read) in INI.items():
        text = config.getini(name)
        if text:
            try:
                options[option] = read(str(text))
            except (ValueError, OverflowError) as e:  # OverflowError: a check interval of inf hours
                found = f"ini option {name} = {text!r} cannot be read: {e}"
                break
    config.stash[_INI_KEY] = found
    return found


def _options(item: pytest.Item) -> dict[str, Any]:
    """Ini defaults, then markers from the module down to the test: the closest wins."""
    ini = _ini_options(item.config)
    if isinstance(ini, str):
        pytest.fail(ini, pytrace=False)
    options = dict(ini)  # each test's own copy: a marker's options are the test's
    for marker in reversed(list(item.iter_markers(MARKER))):  # farthest first
        if marker.args:
            pytest.fail(f"@pytest.mark.{MARKER} takes keyword arguments only, got {marker.args!r}", pytrace=False)
        unknown = sorted(set(marker.kwargs) - set(OPTIONS))
        if unknown:
            pytest.fail(f"@pytest.mark.{MARKER}: unknown option(s) {', '.join(unknown)}; "
                        f"the options are {', '.join(OPTIONS)}", pytrace=False)
        options.update(marker.kwargs)
    return options


# The tests whose protocol (setup, call, teardown) runs, innermost last: a test may run a whole pytest session
# inside it (pytester). fake_leaf and leaf_faker read their test's markers, seed and stash from it instead of asking
# for ``request``: pytest 9 makes a fixture definition each time ``request`` is asked for (about 0.06 ms a test).
# One stack for the process: pytest runs one test at a time, and a test's own threads see their test.
_RUNNING: list[pytest.Item] = []


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, None]:
    _RUNNING.append(item)
    try:
        yield
    finally:
        _RUNNING.pop()
        # the test's fake stays on its item for the reports (its requests, shown when a phase fails), and goes
        # once they are made: pytest keeps every item to the session's end, and the fake would keep its state
        if _LEAF_KEY in item.stash:
            del item.stash[_LEAF_KEY]


def _running_test(fixture: str) -> pytest.Item:
    __tracebackhide__ = True
    if not _RUNNING:
        pytest.fail(f"{fixture} was set up outside a test's run (the pytest_runtest_protocol hook): a plugin that "
                    "runs tests its own way must run them through that hook", pytrace=False)
    return _RUNNING[-1]


@pytest.fixture
def fake_leaf() -> Iterator[FakeLeaf]:
    """An active FakeLeaf for one test; nothing patched and no state kept after it."""
    from fake_leaf import FakeLeaf, ShiftedClock

    item = _running_test("fake_leaf")
    options = _options(item)
    given_names = set(options)
    options.setdefault("clock", ShiftedClock())
    seed = _test_seed(item)
    options.setdefault("seed", seed)  # the values the fake makes repeat with the run's seed, as the sample data do
    try:
        leaf = FakeLeaf(**options)
    except (TypeError, ValueError) as e:
        refused: str | None = f"{e}"  # failed outside the except: pytest would print the error twice, chained
    else:
        refused = None
    if refused is not None:
        given = {name: value for name, value in options.items() if name in given_names}
        pytest.fail(f"fake_leaf options {given!r} (from @pytest.mark.{MARKER} and the fake_leaf_* ini options) "
                    f"were refused: {refused}", pytrace=False)
    item.stash[_LEAF_KEY] = leaf
    _SAMPLES[leaf] = SampleData(seed)
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
    import requests

    with requests.Session() as session:
        session.auth = fake_leaf.auth
        yield session


_TLS: list[ssl.SSLContext] = []  # the one TLS context of the fixtures' httpx clients, made when first needed


def _tls_context() -> ssl.SSLContext:
    """The TLS context the fixtures' httpx clients share. httpx makes one for each client it builds, loading
    certifi's certificates (about 35 ms of CPU a test); the fake answers them in-process and never uses it.
    Made once, as httpx makes its own (``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` honoured)."""
    if not _TLS:
        import httpx

        make = getattr(httpx, "create_ssl_context", None)
        if make is not None:
            _TLS.append(make())
        else:  # pragma: no cover  # an httpx without it
            import ssl

            _TLS.append(ssl.create_default_context())
    return _TLS[0]


def _httpx(fixture: str) -> Any:
    __tracebackhide__ = True
    try:
        import httpx
    except ImportError:
        pass  # failed below, outside the except: pytest would print the ImportError too, chained
    else:
        return httpx
    pytest.fail(f'{fixture} needs httpx, which is not installed: pip install "fake-leaf[testing]" '
                "(the other fixtures work without it)", pytrace=False)


@pytest.fixture
def leaf_httpx_client(fake_leaf: FakeLeaf) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` on the fake's base URL that sends a valid bearer token with every request."""
    httpx = _httpx("leaf_httpx_client")
    from fake_leaf import HttpxBearerAuth as BearerAuth

    with httpx.Client(base_url=fake_leaf.base_url, auth=BearerAuth(lambda: fake_leaf.token),
                      verify=_tls_context()) as client:
        yield client


@pytest.fixture
def leaf_async_client(fake_leaf: FakeLeaf) -> Iterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` on the fake's base URL, authenticated like ``leaf_httpx_client``.

    A plain fixture, so an async test under pytest-asyncio or anyio can use it alike; the active fake
    serves it in-process, so it holds no connection to the fake's host, and it is closed after the test.
    """
    httpx = _httpx("leaf_async_client")
    from fake_leaf import HttpxBearerAuth as BearerAuth

    client = httpx.AsyncClient(base_url=fake_leaf.base_url, auth=BearerAuth(lambda: fake_leaf.token),
                               verify=_tls_context())
    yield client
    if not client.is_closed:
        import asyncio

        try:
            asyncio.run(client.aclose())
        except RuntimeError:  # a loop still running here, or the client's pool belongs to the test's closed loop
            pass


@pytest.fixture
def leaf_async_sleep(leaf_clock: ShiftedClock | ManualClock) -> Callable[[float], Awaitable[None]]:
    """``await leaf_async_sleep(90)``: an async client's sleep; moves the fake's clock, then lets other tasks run."""

    async def sleep(seconds: float) -> None:
        leaf_clock.advance(dt.timedelta(seconds=max(0.0, seconds)))
        try:
            import anyio  # asyncio or trio, whichever runs the test
        except ImportError:
            import asyncio

            await asyncio.sleep(0)
        else:
            await anyio.sleep(0)

    return sleep


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
    from fake_leaf import ManualClock, ShiftedClock

    clock = fake_leaf.clock
    if not isinstance(clock, (ShiftedClock, ManualClock)):
        pytest.fail("leaf_clock needs the fake's clock to be a ShiftedClock (the default) or a ManualClock; "
                    f"this test gave clock={clock!r}", pytrace=False)
    return clock


def _test_seed(item: pytest.Item) -> int:
    """The test's own seed: the run's seed and the test's id, so a test's data does not depend on the others."""
    digest = hashlib.sha256(f"{item.config.stash[_SEED_KEY]}:{item.nodeid}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _faker_class() -> type[Faker] | None:
    try:
        from faker import Faker
    except ImportError:
        return None
    return Faker


@pytest.fixture
def leaf_webhook_receiver(request: pytest.FixtureRequest, fake_leaf: FakeLeaf) -> Iterator[WebhookReceiver]:
    """A URL for a webhook that records what arrives (``received``) and can fail (``fail_next(n)``).

    In-process it is a ``responses`` callback beside the fake; in a test using ``leaf_server`` it is
    a small HTTP server on 127.0.0.1 (register the webhook through the server, so it sends real POSTs).
    """
    from fake_leaf import HttpReceiver, InProcessReceiver

    over_http = "leaf_server" in request.fixturenames  # also one asked for already with getfixturevalue
    with HttpReceiver() if over_http else InProcessReceiver(fake_leaf) as receiver:
        yield receiver


@pytest.fixture
def leaf_faker() -> Faker:
    """A Faker with fake-leaf's provider, seeded from the run's seed and the test's id (needs faker).

    One Faker serves the whole run, reseeded (and its ``unique`` cleared) for each test: a provider a
    test adds to it stays for the tests after it.
    """
    item = _running_test("leaf_faker")
    faker = item.config.stash.get(_FAKER_KEY, None)
    if faker is None:  # building a Faker costs milliseconds (~27 providers): once per session
        faker_class = _faker_class()
        if faker_class is None:
            pytest.fail('leaf_faker needs faker, which is not installed: pip install "fake-leaf[testing]" '
                        "(the other fixtures work without it)", pytrace=False)
        from fake_leaf.testing.faker import LeafProvider

        faker = faker_class()
        faker.add_provider(LeafProvider)
        item.config.stash[_FAKER_KEY] = faker
    faker.seed_instance(_test_seed(item))
    faker.unique.clear()
    return faker


def _sample_of(leaf: FakeLeaf) -> SampleData:
    sample = _SAMPLES.get(leaf)
    if sample is None:  # a fake_leaf fixture of the project's own: data that repeat, though not with the seed
        sample = _SAMPLES[leaf] = SampleData(0)
    return sample


def _create(leaf: FakeLeaf, body: dict[str, Any], what: str, leaf_user_id: str | None = None,
            provider: Provider | str = "JohnDeere") -> dict[str, Any]:
    __tracebackhide__ = True
    from fake_leaf import FakeLeafError

    try:
        return leaf.create_as_json(body, leaf_user_id, provider)
    except FakeLeafError as e:
        refused = f"{e}"  # failed below, outside the except: pytest would print the refusal twice, chained
    pytest.fail(f"fake-leaf refused to create {what}: {refused}", pytrace=False)


def _make_user(leaf: FakeLeaf, fields: dict[str, Any]) -> dict[str, Any]:
    __tracebackhide__ = True
    return _create(leaf, {**_sample_of(leaf).leaf_user(), **fields}, "a Leaf user")


def _make_credentials(leaf: FakeLeaf, leaf_user_id: str, fields: dict[str, Any],
                      provider: Provider | str = "JohnDeere") -> dict[str, Any]:
    __tracebackhide__ = True
    from fake_leaf import FakeLeafError

    refused: str | None = None
    try:
        chosen = leaf.provider(provider)
    except FakeLeafError as e:
        refused = f"{e}"  # failed below, outside the except: pytest would print the refusal twice, chained
    if refused is not None:
        pytest.fail(refused, pytrace=False)
    body = {**_sample_of(leaf).credentials_body(chosen), **fields}
    return _create(leaf, body, f"{chosen.label} credentials for Leaf user {leaf_user_id!r}", leaf_user_id, chosen)


# The factories and the two ready-made fixtures need no `request` and no factory fixture in between:
# each fixture a test pulls in costs it about 0.1 ms of pytest's own work.
@pytest.fixture
def make_leaf_user(fake_leaf: FakeLeaf) -> Callable[..., dict[str, Any]]:
    """``make_leaf_user(name=..., ...)``: a Leaf user from sample data, your fields winning; the JSON of POST /users."""
    def make(**fields: Any) -> dict[str, Any]:
        __tracebackhide__ = True
        return _make_user(fake_leaf, fields)
    return make


@pytest.fixture
def make_john_deere_credentials(fake_leaf: FakeLeaf) -> Callable[..., dict[str, Any]]:
    """``make_john_deere_credentials(leaf_user_id=None, **fields)``: sample credentials; the JSON of the POST.

    Without a user id it makes a new Leaf user first.
    """
    def make(leaf_user_id: str | None = None, **fields: Any) -> dict[str, Any]:
        __tracebackhide__ = True
        return _make_credentials(fake_leaf, leaf_user_id or _make_user(fake_leaf, {})["id"], fields)
    return make


@pytest.fixture
def leaf_user(fake_leaf: FakeLeaf) -> dict[str, Any]:
    """A Leaf user made in the fake, as ``POST /users`` answers it."""
    return _make_user(fake_leaf, {})


@pytest.fixture
def john_deere_credentials(fake_leaf: FakeLeaf, leaf_user: dict[str, Any]) -> dict[str, Any]:
    """John Deere credentials (status OK) of ``leaf_user``, as the POST answers them."""
    return _make_credentials(fake_leaf, leaf_user["id"], {})


@pytest.fixture
def john_deere_organizations(fake_leaf: FakeLeaf, leaf_user: dict[str, Any],
                             john_deere_credentials: dict[str, Any]) -> list[dict[str, Any]]:
    """The organizations of ``john_deere_credentials``' account (one, SELECTED, at first), as
    ``GET /users/{leafUserId}/JohnDeere/organizations`` answers them.

    Change the account with ``fake_leaf.upstream("JohnDeere").add_organization(leaf_user["id"], ...)``
    (and block_organization, unblock_organization, remove_organization).
    """
    from fake_leaf.http._serialize import organization_json

    return [organization_json(o) for o in fake_leaf.organizations("JohnDeere", leaf_user["id"])]


@pytest.fixture
def make_credentials(fake_leaf: FakeLeaf) -> Callable[..., dict[str, Any]]:
    """``make_credentials(provider, leaf_user_id=None, **fields)``: any provider's sample credentials; the JSON.

    ``provider`` is a name ("Trimble"), a slug ("climate-field-view") or a ``Provider``. Without a
    user id it makes a new Leaf user first.
    """
    def make(provider: Provider | str, leaf_user_id: str | None = None, **fields: Any) -> dict[str, Any]:
        __tracebackhide__ = True
        return _make_credentials(fake_leaf, leaf_user_id or _make_user(fake_leaf, {})["id"], fields, provider)
    return make


@pytest.fixture
def leaf_provider(request: pytest.FixtureRequest, fake_leaf: FakeLeaf) -> Provider:
    """A provider: John Deere, unless the test parametrises it (a name, a slug or a ``Provider``):
    ``@pytest.mark.parametrize("leaf_provider", ["Trimble", "Sentera"], indirect=True)``, or every one
    with ``fake_leaf.PROVIDERS``."""
    __tracebackhide__ = True
    from fake_leaf import FakeLeafError

    try:
        return fake_leaf.provider(getattr(request, "param", "JohnDeere"))
    except FakeLeafError as e:
        refused = f"{e}"  # failed below, outside the except: pytest would print the refusal twice, chained
    pytest.fail(refused, pytrace=False)


@pytest.fixture
def leaf_credentials(fake_leaf: FakeLeaf, leaf_user: dict[str, Any], leaf_provider: Provider) -> dict[str, Any]:
    """``leaf_provider``'s credentials (status OK) of ``leaf_user``, as the POST answers them."""
    return _make_credentials(fake_leaf, leaf_user["id"], {}, leaf_provider)


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
