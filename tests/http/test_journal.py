"""The request journal stays bounded: in entries, in bytes, and emptied by a reset."""

from __future__ import annotations

import json

import pytest
import requests

from fake_leaf import FakeLeaf
from fake_leaf.http import HttpRequest
from fake_leaf.http._app import MAX_BODY
from fake_leaf.http._journal import MAX_BODY_BYTES, MAX_BYTES, MAX_ENTRIES, Journal
from fake_leaf.http._types import JournalEntry

JSON = {"Content-Type": "application/json"}
USERS = "/services/usermanagement/api/users"


def _post_users(leaf: FakeLeaf, body: bytes) -> int:
    request = HttpRequest("POST", "/services/usermanagement/api/users", "", {**leaf.headers, **JSON}, body)
    return leaf._app.handle(request).status  # noqa: SLF001 (the router alone: 300 bodies of 2 MiB)


def test_a_large_body_is_kept_truncated_with_a_marker_that_gives_its_size(leaf: FakeLeaf) -> None:
    body = json.dumps({"name": "x" * 500_000}).encode()
    assert _post_users(leaf, body) == 201
    kept = leaf.journal(method="POST")[0].request_body
    assert kept.startswith(body[:MAX_BODY_BYTES])
    assert kept.endswith(f"[fake-leaf journal: truncated, first {MAX_BODY_BYTES} of {len(body)} bytes kept]".encode())
    assert len(kept) < MAX_BODY_BYTES + 100
    shown = requests.get(f"{leaf.base_url}/_fake-leaf/journal").json()[0]["requestBody"]
    assert "truncated" in shown


def test_a_small_body_is_kept_whole(leaf: FakeLeaf) -> None:
    body = json.dumps({"name": "Ada"}).encode()
    assert _post_users(leaf, body) == 201
    assert leaf.journal()[0].request_body == body


def test_a_body_refused_as_too_large_is_not_kept(leaf: FakeLeaf) -> None:
    assert _post_users(leaf, b"x" * (MAX_BODY + 1)) == 413
    [entry] = leaf.journal()
    assert entry.status == 413
    assert entry.request_body == b""
    assert str(MAX_BODY + 1) in (entry.reason or "")


@pytest.mark.slow
def test_refused_bodies_of_2_mib_keep_the_journal_under_its_byte_bound(leaf: FakeLeaf) -> None:
    body = b"{" + b" " * (MAX_BODY - 2) + b"!"  # 2 MiB exactly, not JSON: each is a 400
    for _ in range(300):
        assert _post_users(leaf, body) == 400
    assert leaf._app.journal.bytes <= MAX_BYTES  # noqa: SLF001 (the bound is on bytes held)
    assert 0 < len(leaf.journal()) <= 300
    assert leaf.journal()[-1].status == 400  # the newest are kept, the oldest dropped


def test_the_journal_keeps_the_newest_entries_up_to_its_count() -> None:
    journal = Journal(max_entries=3)
    for i in range(5):
        journal.append(JournalEntry("GET", f"/{i}", "", 200, None))
    assert [e.path for e in journal] == ["/2", "/3", "/4"]


def test_the_journal_drops_the_oldest_past_its_bytes_but_keeps_the_newest() -> None:
    journal = Journal(max_bytes=250, max_body_bytes=100)
    for i in range(4):
        journal.append(JournalEntry("POST", f"/{i}", "", 201, None, request_body=b"a" * 100))
    assert [e.path for e in journal] == ["/2", "/3"]
    assert journal.bytes == 2 * (100 + len("POST") + len("/2"))  # bodies, and the texts too
    assert MAX_ENTRIES == 10_000


def test_reset_over_http_and_in_python_clear_the_journal(leaf: FakeLeaf, http: requests.Session) -> None:
    http.get(f"{leaf.user_management_url}/users")
    assert len(leaf.journal()) == 1
    assert requests.post(f"{leaf.base_url}/_fake-leaf/reset").status_code == 204
    assert leaf.journal() == []
    assert requests.get(f"{leaf.base_url}/_fake-leaf/journal").json() == []
    http.get(f"{leaf.user_management_url}/users")
    leaf.stop()
    leaf.reset()
    assert leaf.journal() == []
    leaf.start()


def test_a_huge_query_or_path_is_kept_cut_short_and_counted_against_the_bound() -> None:
    journal = Journal(max_bytes=100_000)
    query = "q=" + "x" * 65_000
    for _ in range(20):
        journal.append(JournalEntry("GET", "/users", query, 401, "no token"))
    kept = list(journal)
    assert len(kept) == 20  # 20 whole queries would be 1.3 MB, over the bound
    assert kept[0].query.startswith("q=xxx") and f"of {len(query)} characters kept" in kept[0].query
    assert journal.bytes <= 100_000


def test_requests_journaled_between_reads_appear_after_the_entries_read_before(leaf: FakeLeaf,
                                                                               http: requests.Session) -> None:
    http.get(f"{leaf.user_management_url}/users", params={"page": "0"})
    first = leaf.journal()
    http.post(f"{leaf.user_management_url}/users", json={"name": "Ada"})
    http.get(f"{leaf.user_management_url}/users/nobody")
    again = leaf.journal()
    assert again[:1] == first and again[0] is first[0]  # the entry read before is the same entry
    assert [(e.method, e.path, e.query, e.status) for e in again] == [
        ("GET", USERS, "page=0", 200), ("POST", USERS, "", 201), ("GET", f"{USERS}/nobody", "", 404)]
    assert again[1].request_body == b'{"name": "Ada"}' and json.loads(again[1].response_body)["name"] == "Ada"
    assert again[2].reason and again[2].leaf_user_id == "nobody" and again[2].route == f"{USERS}/{{leafUserId}}"


def test_the_journal_bounds_requests_recorded_as_it_bounds_entries() -> None:
    journal = Journal(max_entries=3, max_bytes=250, max_body_bytes=100)
    for i in range(4):
        journal.record("POST", f"/{i}", "", 201, None, "/{i}", None, b"a" * 100, b"", None)
    assert [e.path for e in journal] == ["/2", "/3"]
    assert journal.bytes == 2 * (100 + len("POST") + len("/2"))
    journal.record("GET", "/big", "", 200, None, None, None, b"", b"b" * 500, None)  # over the body bound: cut
    assert list(journal)[-1].response_body.startswith(b"b" * 100)
    assert b"first 100 of 500 bytes kept" in list(journal)[-1].response_body
