"""How deliveries leave the fake: through `requests` in-process, or as real HTTP POSTs over a socket."""

from __future__ import annotations

import http.client
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from fake_leaf.http._delivery import Sender

if TYPE_CHECKING:  # the alerts service's module loads when it is first used, not with the fake
    from fake_leaf.engine._webhooks import Outcome, PendingAttempt

MAX_RESPONSE = 10_000  # characters of the receiver's answer kept in a failed call
USER_AGENT = "fake-leaf (Leaf alerts)"


class _MocksOnly(HTTPAdapter):
    """An adapter whose real send never opens a connection.

    `responses` patches ``HTTPAdapter.send`` itself, so the user's mocks and callbacks still see
    every delivery; only a URL nobody mocked falls through to here, and fails as a refused connection.
    """

    def get_connection_with_tls_context(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise requests.ConnectionError(
            f"no `responses` mock answered POST {request.url}, and in-process fake-leaf never sends a delivery "
            "to the network: mock the URL (or use the leaf_webhook_receiver fixture), or register the webhook "
            "through fake-leaf's server to get real HTTP POSTs", request=request)

    def get_connection(self, url: Any, proxies: Any = None) -> Any:  # requests before 2.32
        raise requests.ConnectionError(f"no `responses` mock answered POST {url}, and in-process fake-leaf never "
                                       "sends a delivery to the network")


def _outcome(status: int | None = None, response: str | None = None,
             connection_error: str | None = None) -> Outcome:
    from fake_leaf.engine._webhooks import Outcome  # loaded already: a delivery was due

    return Outcome(status, response, connection_error)


def in_process_sender(pending: PendingAttempt, timeout: float) -> Outcome:
    """POST through `requests`, so the test's `responses` mocks receive it; unmocked is a refused connection.

    `responses` ignores timeouts, so the POST runs in a worker thread: a callback that hangs is a
    failed call after ``timeout`` seconds, and the test goes on.
    """
    result: list[Outcome] = []
    worker = threading.Thread(target=lambda: result.append(_post(pending, timeout)), daemon=True,
                              name=f"fake-leaf delivery to {pending.url}")
    worker.start()
    worker.join(timeout)
    return result[0] if result else _outcome(connection_error=f"no answer from {pending.url} within {timeout} s")


def _post(pending: PendingAttempt, timeout: float) -> Outcome:
    with requests.Session() as session:
        session.mount("http://", _MocksOnly())
        session.mount("https://", _MocksOnly())
        session.headers["User-Agent"] = USER_AGENT
        try:
            r = session.post(pending.url, data=pending.body, headers=dict(pending.headers), timeout=timeout,
                             allow_redirects=False)
        except requests.RequestException as e:
            return _outcome(connection_error=f"{type(e).__name__}: {_first_line(e)}")
        except Exception as e:  # the test's own callback raised: the delivery failed, the test goes on
            return _outcome(connection_error=f"the receiver raised {type(e).__name__}: {e}")
        return _outcome(r.status_code, r.text[:MAX_RESPONSE])


def http_sender(pending: PendingAttempt, timeout: float) -> Outcome:
    """A real HTTP POST to the URL the webhook registered, and nowhere else: redirects are not followed."""
    url = urlsplit(pending.url)
    connection_type = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    try:
        connection = connection_type(url.hostname or "", url.port, timeout=timeout)
    except (ValueError, OSError) as e:
        return _outcome(connection_error=f"{type(e).__name__}: {e}")
    try:
        connection.request("POST", target, body=pending.body,
                           headers={**pending.headers, "User-Agent": USER_AGENT})
        answer = connection.getresponse()
        text = answer.read(MAX_RESPONSE * 4).decode("utf-8", "replace")[:MAX_RESPONSE]
        return _outcome(answer.status, text)
    except TimeoutError:
        return _outcome(connection_error=f"no answer from {pending.url} within {timeout} s")
    except (OSError, http.client.HTTPException) as e:
        return _outcome(connection_error=f"{type(e).__name__}: {e}")
    finally:
        connection.close()


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


SENDERS: dict[str, Sender] = {"in-process": in_process_sender, "http": http_sender}
