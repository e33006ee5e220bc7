"""The pytest plugin, as a user's fresh project sees it (pytester, plugin loaded from its entry point).

The runs are in-process (``pytester.runpytest``), a tenth of the cost of a subprocess each, except
the one that must start from nothing: what loading the plugin imports can only be seen in a fresh
interpreter.
"""

from __future__ import annotations

import inspect
import re
import sys
from importlib import metadata
from types import ModuleType

import pytest

from fake_leaf import FakeLeaf

pytest_plugins = ["pytester"]


def _plugin_module() -> ModuleType:
    """The module pytest loads for the ``fake_leaf`` entry point, whatever its installed name."""
    (entry_point,) = metadata.entry_points(group="pytest11", name="fake_leaf")
    module: ModuleType = entry_point.load()
    return module


@pytest.mark.slow
def test_a_fresh_project_can_use_every_fixture_and_startup_imports_nothing_heavy(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_client="""
        import sys

        HEAVY = ("fake_leaf", "responses", "requests", "faker", "hypothesis", "httpx", "aiohttp")

        def test_a_run_that_uses_no_fixture_has_imported_nothing_heavy():
            assert [m for m in HEAVY if m in sys.modules] == []

        def test_everything(fake_leaf, leaf_base_url, leaf_token, leaf_session, leaf_clock, leaf_faker,
                            leaf_user, john_deere_credentials, make_leaf_user, make_john_deere_credentials,
                            john_deere_organizations):
            import datetime as dt
            import requests

            assert leaf_base_url == "https://api.withleaf.io"
            r = requests.get(f"{leaf_base_url}/services/usermanagement/api/users",
                             headers={"Authorization": f"Bearer {leaf_token}"})
            assert r.status_code == 200
            assert [u["id"] for u in r.json()] == [leaf_user["id"]]
            assert john_deere_credentials["status"] == "OK"
            assert john_deere_credentials["clientKey"].startswith("0oa")
            url = f"{fake_leaf.user_management_url}/users/{leaf_user['id']}/john-deere-credentials"
            assert leaf_session.get(url).json() == john_deere_credentials
            orgs = f"{fake_leaf.user_management_url}/users/{leaf_user['id']}/JohnDeere/organizations"
            assert leaf_session.get(orgs).json() == john_deere_organizations
            assert [o["status"] for o in john_deere_organizations] == ["SELECTED"]
            ada = make_leaf_user(name="Ada")
            assert ada["name"] == "Ada" and "@" in ada["email"]
            assert leaf_session.get(f"{fake_leaf.user_management_url}/users/{ada['id']}").json() == ada
            other = make_john_deere_credentials(clientEnvironment="PRODUCTION")
            assert other["clientEnvironment"] == "PRODUCTION"
            leaf_clock.advance(dt.timedelta(days=31))
            assert leaf_session.get(url).status_code == 200  # the session's token renews itself
            assert len(leaf_session.get(f"{url}/events", params={"size": 100}).json()) == 60
            assert leaf_faker.john_deere_scopes()[-1] == "offline_access"
    """)
    # no other plugin, so that whatever is imported was imported by fake-leaf's (loaded by its entry point name)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.run(sys.executable, "-m", "pytest", "-p", "fake_leaf", "-p", "no:cacheprovider",
                          "-o", "addopts=", "-v", "test_client.py")
    result.stdout.fnmatch_lines(["*test_a_run_that_uses_no_fixture_has_imported_nothing_heavy PASSED*",
                                 "*test_everything PASSED*"])
    result.assert_outcomes(passed=2)


def test_the_marker_options_are_fake_leafs_keyword_arguments() -> None:
    # the plugin spells them out so that loading it imports no fake_leaf; this keeps the copy true
    assert _plugin_module().OPTIONS == tuple(inspect.signature(FakeLeaf).parameters)


STATE_TESTS = """
    import requests
    import responses
    import pytest

    @pytest.mark.parametrize("i", range(8))
    def test_starts_empty(fake_leaf, leaf_session, i):
        url = f"{fake_leaf.user_management_url}/users"
        assert leaf_session.get(url).json() == []
        for _ in range(3):
            leaf_session.post(url, json={"name": f"from {i}"})
        assert len(leaf_session.get(url).json()) == 3

    @pytest.mark.parametrize("i", range(4))
    def test_nothing_stays_patched(i):
        assert requests.adapters.HTTPAdapter.send is responses._real_send
"""


@pytest.mark.parametrize("args", [("-p", "randomly", "-p", "no:cacheprovider", "--randomly-seed=1"),
                                  ("-p", "randomly", "--randomly-seed=2"),
                                  ("-p", "xdist", "-p", "fake_leaf", "-n", "2")])
@pytest.mark.slow
def test_state_never_leaks_between_tests(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                         args: tuple[str, ...]) -> None:
    if "-n" in args:  # each worker is a fresh interpreter: load only the plugins under test, not every one installed
        monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_state=STATE_TESTS)
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=12)
    if "-n" in args:
        result.stdout.fnmatch_lines(["*2 workers*"])


def test_a_tests_fake_is_freed_once_the_test_has_run(pytester: pytest.Pytester) -> None:
    # pytest keeps every collected item to the end of the session: a fake the item held would keep its state,
    # journal and all, for the whole run (a session of 3,000 such tests grew by 80 MB)
    pytester.makepyfile(test_freed="""
        import gc
        import weakref
        import pytest

        FAKES = []

        @pytest.mark.parametrize("i", range(3))
        def test_makes_state(fake_leaf, leaf_session, john_deere_credentials, i):
            FAKES.append(weakref.ref(fake_leaf))
            assert leaf_session.get(f"{fake_leaf.user_management_url}/users").status_code == 200

        def test_fails_and_shows_its_requests(fake_leaf, leaf_session):
            leaf_session.get(f"{fake_leaf.user_management_url}/users/nobody")
            assert False

        def test_the_fakes_before_are_gone():
            gc.collect()
            assert len(FAKES) == 3
            assert [ref() for ref in FAKES] == [None] * 3
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4, failed=1)
    # the fake goes after its test's reports: a failure still shows what the fake was asked
    result.stdout.fnmatch_lines(["*fake-leaf requests*", "*GET*/users/nobody -> 404*"])


def test_the_httpx_client_fixtures_load_certificates_once_a_session(pytester: pytest.Pytester) -> None:
    # httpx makes a TLS context for each client it builds (certifi's certificates: about 35 ms of CPU), which a
    # client the fake answers in-process never uses: the fixtures' clients share one
    pytester.makeconftest("""
        import ssl

        MADE = []
        _make = ssl.create_default_context

        def counting(*args, **kwargs):
            MADE.append(1)
            return _make(*args, **kwargs)

        ssl.create_default_context = counting
    """)
    pytester.makepyfile(test_clients="""
        import asyncio
        import pytest
        from conftest import MADE

        @pytest.mark.parametrize("i", range(5))
        def test_clients(leaf_httpx_client, leaf_async_client, i):
            assert leaf_httpx_client.get("/services/usermanagement/api/users").json() == []
            assert asyncio.run(leaf_async_client.get("/services/usermanagement/api/users")).json() == []

        def test_one_context_was_made():
            assert len(MADE) == 1
    """)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:xdist")
    result.assert_outcomes(passed=6)


def test_a_fake_set_up_outside_a_tests_run_fails_saying_why(pytester: pytest.Pytester) -> None:
    # a plugin that runs the tests itself, without pytest_runtest_protocol: the fixture cannot tell its test
    pytester.makeconftest("""
        import pytest
        from _pytest.runner import runtestprotocol

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtestloop(session):
            for i, item in enumerate(session.items):
                nextitem = session.items[i + 1] if i + 1 < len(session.items) else None
                runtestprotocol(item, nextitem=nextitem)
            return True
    """)
    pytester.makepyfile(test_outside="""
        def test_uses_the_fake(fake_leaf):
            pass
    """)
    # a fresh interpreter: in this one, this very test is running, and the fixture would take it for its own
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fake_leaf was set up outside a test's run (the pytest_runtest_protocol hook)*"])


MARKER_TESTS = """
    import datetime as dt
    import pytest

    pytestmark = pytest.mark.fake_leaf(base_url="https://module.test", on_duplicate_credentials="replace")

    def test_module_marker(fake_leaf):
        assert fake_leaf.base_url == "https://module.test"

    @pytest.mark.fake_leaf(base_url="https://class.test")
    class TestClass:
        def test_class_marker_wins_over_module(self, fake_leaf):
            assert fake_leaf.base_url == "https://class.test"

        @pytest.mark.fake_leaf(base_url="https://function.test")
        def test_function_marker_wins_over_class(self, fake_leaf, make_john_deere_credentials):
            assert fake_leaf.base_url == "https://function.test"
            first = make_john_deere_credentials()
            # the module's on_duplicate_credentials="replace" still applies
            body = {"clientKey": "k", "clientSecret": "s", "refreshToken": "r", "clientEnvironment": "STAGE"}
            user_id = fake_leaf.list_users()[0].id
            r = fake_leaf.create_john_deere_credentials(user_id, client_key="k", client_secret="s",
                                                        refresh_token="r")
            assert r.id != first["id"]

    def test_ini_default_applies(fake_leaf):
        assert fake_leaf.john_deere.refresh_token_rotation is True
"""


def test_marker_options_merge_closest_first_and_ini_defaults_apply(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfake_leaf_refresh_token_rotation = true\n")
    pytester.makepyfile(test_markers=MARKER_TESTS)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4)


def test_a_misspelt_option_fails_naming_the_known_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_typo="""
        import pytest

        @pytest.mark.fake_leaf(base_ur="https://x.test")
        def test_typo(fake_leaf):
            pass

        @pytest.mark.fake_leaf(on_duplicate_credentials="overwrite")
        def test_bad_value(fake_leaf):
            pass
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*unknown option(s) base_ur; the options are base_url, requests_mock, clock*"])
    result.stdout.fnmatch_lines(["*on_duplicate_credentials must be 'reject' or 'replace', got 'overwrite'*"])
    # the refusal names what the test gave, once: not the clock and seed the fixture adds, not a chained repeat
    result.stdout.fnmatch_lines(["fake_leaf options {'on_duplicate_credentials': 'overwrite'} (from "
                                 "@pytest.mark.fake_leaf and the fake_leaf_* ini options) were refused: *"])
    assert "ShiftedClock" not in result.stdout.str() and "During handling" not in result.stdout.str()


def test_an_unreadable_ini_value_fails_naming_the_option(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfake_leaf_rate_limit_per_minute = lots\n")
    pytester.makepyfile(test_ini="def test_it(fake_leaf):\n    pass\n")
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ini option fake_leaf_rate_limit_per_minute = 'lots' cannot be read:*"])


def test_a_yes_or_no_ini_value_that_reads_as_neither_fails_naming_the_option(pytester: pytest.Pytester) -> None:
    # "maybe" was read as false: the suite ran without the rotation it asked for
    pytester.makeini("[pytest]\nfake_leaf_refresh_token_rotation = maybe\n")
    pytester.makepyfile(test_ini="def test_it(fake_leaf):\n    pass\n")
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ini option fake_leaf_refresh_token_rotation = 'maybe' cannot be read: write true "
                                 "or false*"])
    pytester.makeini("[pytest]\nfake_leaf_refresh_token_rotation = Off\n")
    pytester.makepyfile(test_ini="def test_it(fake_leaf):\n"
                                 "    assert not fake_leaf.john_deere.refresh_token_rotation\n")
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_the_httpx_fixtures_without_httpx_fail_with_the_command_to_install_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_no_httpx="""
        import sys

        import pytest

        @pytest.fixture
        def no_httpx(monkeypatch):
            monkeypatch.setitem(sys.modules, "httpx", None)  # what a plain install has: no httpx to import

        def test_sync(no_httpx, leaf_httpx_client):
            pass

        def test_async(no_httpx, leaf_async_client):
            pass
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=2)
    for fixture in ("leaf_httpx_client", "leaf_async_client"):
        assert f'{fixture} needs httpx, which is not installed: pip install "fake-leaf[testing]"' in result.stdout.str()
    assert "During handling" not in result.stdout.str()


def test_a_failing_request_shows_the_request_and_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_failing="""
        def test_bad_post(fake_leaf, leaf_session, leaf_user):
            url = f"{fake_leaf.user_management_url}/users/{leaf_user['id']}/john-deere-credentials"
            r = leaf_session.post(url, json={"clientKey": "k", "clientEnvironment": "stage"})
            assert r.status_code == 201

        def test_engine_refusal(fake_leaf):
            fake_leaf.get_user("no-such-user")
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*fake-leaf requests*",
        "*POST /services/usermanagement/api/users/*/john-deere-credentials -> 400: clientSecret: is required;"
        " refreshToken: is required; clientEnvironment: must be one of STAGE or PRODUCTION exactly, got 'stage'*",
    ])
    result.stdout.fnmatch_lines(["*NotFoundError: Leaf user 'no-such-user' does not exist*"])
    assert "_backend.py" not in result.stdout.str()


def test_every_refusal_of_the_fake_shows_the_tests_frames_only(pytester: pytest.Pytester) -> None:
    # the README's promise, for refusals raised from each part of the engine (users, credentials, the
    # lifecycle, upstream controls, organizations, tokens), not only from the fake's front module
    pytester.makepyfile(test_refusals="""
        def test_user(fake_leaf):
            fake_leaf.get_user("no-such-user")

        def test_credentials(fake_leaf, leaf_user):
            fake_leaf.get_credentials("Trimble", leaf_user["id"])

        def test_events(fake_leaf):
            fake_leaf.john_deere_credential_events("no-such-user")

        def test_control(fake_leaf):
            fake_leaf.upstream("Trimble").revoke("no-such-user")

        def test_organizations(fake_leaf):
            fake_leaf.organizations("JohnDeere", "no-such-user")

        def test_login(fake_leaf):
            fake_leaf.login("nobody@example.com", "wrong")

        def test_duplicate(fake_leaf, leaf_user, john_deere_credentials):
            fake_leaf.create_john_deere_credentials(leaf_user["id"], client_key="k", client_secret="s",
                                                    refresh_token="r")
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=7)
    frames = [line for line in result.stdout.lines if re.search(r"fake_leaf[/\\].*\.py:\d+", line)]
    assert frames == []
    assert sum("test_refusals.py:" in line for line in result.stdout.lines) >= 7
    # and named as the test imports them, not by the private module they live in
    result.stdout.fnmatch_lines(["E * fake_leaf.NotFoundError: Leaf user 'no-such-user' does not exist*",
                                 "E * fake_leaf.BadCredentialsError: Bad credentials*",
                                 "E * fake_leaf.BusinessRuleError: Leaf user * already has John Deere credentials*"])
    assert "_errors." not in result.stdout.str()


def test_the_sample_data_repeats_with_the_same_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_seed="""
        def test_show(leaf_user, john_deere_credentials):
            print("USER", leaf_user["name"], leaf_user["email"], john_deere_credentials["clientKey"],
                  john_deere_credentials["clientSecret"])
    """)
    runs = [pytester.runpytest("-p", "no:randomly", "-s", "--fake-leaf-seed=42") for _ in range(2)]
    names = [[line for line in r.stdout.lines if "USER" in line] for r in runs]
    assert names[0] == names[1] and names[0]
    runs[0].stdout.fnmatch_lines(["fake-leaf: sample data seed 42 (repeat with --fake-leaf-seed=42)"])
    other = pytester.runpytest("-p", "no:randomly", "-s", "--fake-leaf-seed=43")
    assert [line for line in other.stdout.lines if "USER" in line] != names[0]


def test_a_fake_asked_for_late_is_its_own_tests_after_a_session_ran_inside_that_test(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_outer="""
        import pytest

        pytest_plugins = ["pytester"]

        @pytest.mark.fake_leaf(base_url="https://outer.example")
        def test_outer(request, pytester):
            pytester.makepyfile(test_inner='''
                import pytest

                @pytest.mark.fake_leaf(base_url="https://inner.example")
                def test_inner(fake_leaf):
                    assert fake_leaf.base_url == "https://inner.example"
            ''')
            pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)
            leaf = request.getfixturevalue("fake_leaf")  # after the inner session: the outer test's marker
            assert leaf.base_url == "https://outer.example"
            assert leaf.create_user(name="x").id  # and it is active
            assert False, "show the requests"
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: show the requests*", "*fake-leaf requests*",
                                 "0 request(s) to https://outer.example*"])


def test_fake_leaf_set_up_from_a_tests_own_thread_is_that_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_thread="""
        import threading

        import pytest

        @pytest.mark.fake_leaf(base_url="https://threaded.example")
        def test_from_a_thread(request):
            made = []
            thread = threading.Thread(target=lambda: made.append(request.getfixturevalue("fake_leaf")))
            thread.start()
            thread.join()
            assert [leaf.base_url for leaf in made] == ["https://threaded.example"]
            assert made[0].create_user(name="x").id
    """)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_leaf_clock_works_inside_freezegun(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_clock="""
        import datetime as dt
        from freezegun import freeze_time

        def test_revoked(fake_leaf, leaf_session, john_deere_credentials, leaf_user, leaf_clock):
            url = f"{fake_leaf.user_management_url}/users/{leaf_user['id']}/john-deere-credentials"
            with freeze_time("2027-01-01") as frozen:
                fake_leaf.john_deere.revoke_refresh_token(leaf_user["id"])
                frozen.tick(dt.timedelta(hours=12))
                leaf_clock.advance(dt.timedelta(hours=12))
                assert leaf_session.get(url).json()["status"] == "UNAUTHENTICATED"
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_faults_and_rate_limits_through_the_marker_and_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfake_leaf_rate_limit_per_minute = 3\n")
    pytester.makepyfile(test_faults="""
        import pytest
        from fake_leaf import Fault, RateLimit

        def test_ini_rate_limit(fake_leaf, leaf_session):
            url = f"{fake_leaf.user_management_url}/users"
            assert [leaf_session.get(url).status_code for _ in range(4)] == [200, 200, 200, 429]

        @pytest.mark.fake_leaf(faults=[Fault("http_error", status=503, times=1)], rate_limit=RateLimit(100))
        def test_marker_fault(fake_leaf, leaf_session):
            url = f"{fake_leaf.user_management_url}/users"
            assert [leaf_session.get(url).status_code for _ in range(5)] == [503, 200, 200, 200, 200]

        def test_fixture_fault(fake_leaf, leaf_session):
            fake_leaf.inject("connection_error", times=1)
            import requests
            with pytest.raises(requests.ConnectionError):
                leaf_session.get(f"{fake_leaf.user_management_url}/users")
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3)


def test_leaf_server_serves_the_same_fake_over_http(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_server="""
        import httpx

        def test_server(fake_leaf, leaf_server, leaf_user, leaf_token):
            r = httpx.get(f"{leaf_server.user_management_url}/users/{leaf_user['id']}",
                          headers={"Authorization": f"Bearer {leaf_token}"})
            assert r.status_code == 200 and r.json()["id"] == leaf_user["id"]
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)


SAMPLE_TESTS = """
    import pytest

    def test_the_fixtures_make_realistic_data(leaf_user, john_deere_credentials, make_leaf_user,
                                              make_john_deere_credentials):
        first, last = leaf_user["name"].split(" ")
        assert leaf_user["email"].startswith(f"{first.lower()}.{last.lower()}")
        assert leaf_user["phone"].startswith("+1 ") and leaf_user["address"].count(", ") == 2
        assert "Farm #" in leaf_user["externalId"]
        assert john_deere_credentials["clientKey"].startswith("0oa") and len(john_deere_credentials["clientKey"]) == 20
        assert len(john_deere_credentials["refreshToken"]) == 43
        assert make_leaf_user(name="Ada")["name"] == "Ada"
        assert make_john_deere_credentials()["status"] == "OK"

    def test_leaf_faker(leaf_faker):
        pass
"""


def test_the_fixtures_work_without_faker_and_leaf_faker_says_how_to_get_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import sys
        import pytest

        @pytest.fixture(autouse=True)
        def no_faker(monkeypatch):
            monkeypatch.setitem(sys.modules, "faker", None)  # `import faker` fails, as if it were not installed
    """)
    pytester.makepyfile(test_sample=SAMPLE_TESTS)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    assert 'leaf_faker needs faker, which is not installed: pip install "fake-leaf[testing]"' in result.stdout.str()
    assert "During handling" not in result.stdout.str()  # the message alone, not the ImportError behind it


def test_leaf_faker_gives_a_test_the_same_values_whatever_ran_before_it(pytester: pytest.Pytester) -> None:
    # one Faker serves the whole run, reseeded for each test: a test's values depend on the seed and its id only
    pytester.makepyfile(test_faker="""
        def test_first(leaf_faker):
            print("FIRST", leaf_faker.name(), leaf_faker.unique.random_int(1, 3))

        def test_second(leaf_faker):
            print("SECOND", leaf_faker.name(), leaf_faker.john_deere_client_key(), leaf_faker.unique.random_int(1, 3))
    """)
    both = pytester.runpytest("-p", "no:randomly", "-s", "--fake-leaf-seed=7")
    alone = pytester.runpytest("-p", "no:randomly", "-s", "--fake-leaf-seed=7", "test_faker.py::test_second")
    both.assert_outcomes(passed=2)
    def printed(result: pytest.RunResult, what: str) -> list[str]:
        return [line[line.index(what):].rstrip(".") for line in result.stdout.lines if what in line]

    second = printed(both, "SECOND")
    assert second and second == printed(alone, "SECOND")
    first = printed(both, "FIRST")
    assert first and first[0].split()[1:-1] != second[0].split()[1:-2]


def test_the_fixtures_data_is_neither_journaled_nor_faulted_nor_rate_limited(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfake_leaf_rate_limit_per_minute = 1\n")
    pytester.makepyfile(test_journal="""
        import pytest
        from fake_leaf import Fault

        @pytest.mark.fake_leaf(faults=[Fault("http_error", status=503, times=1)])
        def test_the_client_meets_the_fault(fake_leaf, leaf_session, leaf_user, john_deere_credentials):
            url = f"{fake_leaf.user_management_url}/users/{leaf_user['id']}/john-deere-credentials"
            assert [leaf_session.get(url).status_code for _ in range(3)] == [503, 200, 429]
            assert [(e.method, e.status) for e in fake_leaf.journal()] == [("GET", 503), ("GET", 200), ("GET", 429)]
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_a_factory_given_a_bad_field_fails_the_test_saying_which_and_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_refused="""
        def test_bad_user(make_leaf_user):
            make_leaf_user(email=5)

        def test_bad_credentials(fake_leaf, leaf_user, make_john_deere_credentials):
            make_john_deere_credentials(leaf_user["id"], clientEnvironment="stage")
            assert False, "not reached"
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["*fake-leaf refused to create a Leaf user: email: must be a string or null, got a number*"])
    result.stdout.fnmatch_lines(["*fake-leaf refused to create John Deere credentials for Leaf user '*': "
                                 "clientEnvironment: must be one of STAGE or PRODUCTION*got 'stage'*"])
    assert "not reached" not in result.stdout.str()
    # told once: the refusal is not printed again as the exception the failure was raised while handling
    told = [line for line in result.stdout.lines if line.startswith("fake-leaf refused to create John Deere")]
    assert len(told) == 1 and "During handling" not in result.stdout.str()


def test_every_provider_through_the_provider_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_providers="""
        import pytest
        from fake_leaf import PROVIDERS

        @pytest.mark.parametrize("leaf_provider", PROVIDERS, indirect=True)
        def test_credentials_of_each_provider(fake_leaf, leaf_session, leaf_user, leaf_provider, leaf_credentials):
            url = f"{fake_leaf.user_management_url}/users/{leaf_user['id']}/{leaf_provider.path_segment}"
            assert leaf_session.get(url).json() == leaf_credentials
            assert leaf_credentials["status"] == "OK"
            assert list(leaf_credentials) == list(leaf_provider.answer_fields)

        def test_john_deere_unless_parametrised(leaf_provider, leaf_credentials):
            assert leaf_provider.name == "JohnDeere" and "clientKey" in leaf_credentials

        @pytest.mark.parametrize("leaf_provider", ["sentera"], indirect=True)
        def test_a_slug_names_a_provider(leaf_provider):
            assert leaf_provider.name == "Sentera"

        def test_make_credentials_for_any_provider(fake_leaf, make_credentials):
            mine = make_credentials("Trimble", clientId="my-app")
            assert mine["clientId"] == "my-app" and set(mine) >= {"clientSecret", "refreshToken"}
            user = fake_leaf.create_user(name="Ada")
            assert make_credentials("raven-slingshot", user.id)["status"] == "OK"

        def test_an_unknown_provider_fails_naming_the_known_ones(make_credentials):
            make_credentials("Nowhere")

        def test_a_refused_field_fails_naming_it(make_credentials):
            make_credentials("CNHI", clientEnvironment="moon")
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=len(__import__("fake_leaf").PROVIDERS) + 3, failed=2)
    result.stdout.fnmatch_lines(["*fake-leaf knows no provider 'Nowhere'; the providers are JohnDeere, *",
                                 "*clientEnvironment: must be one of STAGE or PRODUCTION exactly, got 'moon'*"])
    assert sum(line.startswith("fake-leaf knows no provider 'Nowhere'") for line in result.stdout.lines) == 1
    assert "During handling" not in result.stdout.str()


@pytest.mark.slow
def test_a_session_of_servers_and_receivers_keeps_no_thread_socket_or_fake(pytester: pytest.Pytester) -> None:
    # every fixture that starts something (a server, a receiver over HTTP, an async client) stops it after its
    # test: a session of thousands of them must not end with thousands of threads or sockets
    pytester.makepyfile(test_session="""
        import asyncio
        import gc
        import os
        import threading
        import time
        import weakref
        import pytest
        import requests

        HOOKS = "/services/alerts/api/alerts/webhooks"
        START = {}
        KEPT = []

        def _open():
            return threading.active_count(), len(os.listdir("/proc/self/fd"))

        def test_first():
            START["open"] = _open()

        @pytest.mark.parametrize("i", range(5))
        def test_over_http(fake_leaf, leaf_server, leaf_webhook_receiver, i):
            KEPT.extend([weakref.ref(fake_leaf), weakref.ref(leaf_server), weakref.ref(leaf_webhook_receiver)])
            with requests.Session() as session:
                session.auth = fake_leaf.auth
                r = session.post(f"{leaf_server.url}{HOOKS}", json={"name": "n", "url": leaf_webhook_receiver.url,
                                 "secret": "s", "events": ["credentialsUnauthenticated"]})
            assert r.status_code == 201
            assert [d.ok for d in fake_leaf.webhook_deliveries()] == [True]

        @pytest.mark.parametrize("i", range(5))
        def test_in_process(fake_leaf, leaf_session, leaf_webhook_receiver, leaf_async_client, make_credentials, i):
            KEPT.extend([weakref.ref(fake_leaf), weakref.ref(leaf_webhook_receiver), weakref.ref(leaf_async_client)])
            make_credentials("Trimble")
            assert asyncio.run(leaf_async_client.get(f"{fake_leaf.user_management_url}/users")).status_code == 200

        def test_last():
            deadline = time.monotonic() + 5  # a server's worker threads end just after its stop
            while _open() != START["open"] and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _open() == START["open"]
            gc.collect()
            assert len(KEPT) == 30
            assert [ref() for ref in KEPT] == [None] * 30
    """)
    if not sys.platform.startswith("linux"):
        pytest.skip("open files are counted in /proc")
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:xdist")
    result.assert_outcomes(passed=12)


@pytest.mark.parametrize("hours", ["inf", "1e20"])
def test_a_check_interval_too_large_to_be_a_duration_fails_naming_the_option(pytester: pytest.Pytester,
                                                                             hours: str) -> None:
    # timedelta(hours=inf) raises OverflowError, which the plugin did not read as an unreadable value
    pytester.makeini(f"[pytest]\nfake_leaf_check_interval_hours = {hours}\n")
    pytester.makepyfile(test_ini="def test_it(fake_leaf):\n    pass\n")
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*ini option fake_leaf_check_interval_hours = '{hours}' cannot be read:*"])
