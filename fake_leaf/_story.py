"""The fake's story for a failing test: requests with answers and reasons, credentials, events, alerts.

Told through hypothesis's ``note()`` when a ``with FakeLeaf()`` block fails inside a hypothesis
test, so the falsifying example comes with what the fake saw and did for it.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

from fake_leaf.engine import Alert, CredentialEvent, Credentials, LeafUser, NotFoundError, Provider

MAX_LINES = 60


class _Fake(Protocol):
    """What the story reads of a FakeLeaf (a protocol, so that this module does not import it)."""

    @property
    def providers(self) -> tuple[Provider, ...]: ...
    def journal(self) -> list[Any]: ...
    def list_users(self) -> list[LeafUser]: ...
    def get_credentials(self, provider: Provider, leaf_user_id: str) -> Credentials: ...
    def credential_events(self, provider: Provider, leaf_user_id: str) -> list[CredentialEvent]: ...
    def alerts(self) -> list[Alert]: ...


def story_lines(leaf: _Fake) -> list[str]:
    entries = leaf.journal()
    lines = [f"fake-leaf received {len(entries)} request(s):"]
    lines += [f"  {e}" for e in entries[-MAX_LINES:]]
    providers = leaf.providers
    for user in leaf.list_users():
        for provider in providers:  # every provider's credentials tell the same: status, then events
            try:
                credentials = leaf.get_credentials(provider, user.id)
            except NotFoundError:
                continue
            events = leaf.credential_events(provider, user.id)
            lines.append(f"{provider.label} credentials of {user.id}: {credentials.status.value}, {len(events)} "
                         "event(s), oldest first:")
            lines += [f"  {e.created_date:%Y-%m-%d %H:%M:%S} {provider.label} answered {e.status_code} {e.body[:100]}"
                      for e in reversed(events[:MAX_LINES])]
    alerts = leaf.alerts()
    lines += [f"alert: {a.type} at {a.timestamp:%Y-%m-%d %H:%M:%S}: {a.message}" for a in alerts[-MAX_LINES:]]
    return lines


def note_story_if_in_hypothesis(leaf: _Fake) -> None:
    """Add the story to hypothesis's report of the falsifying example (nothing outside hypothesis)."""
    if "hypothesis" not in sys.modules:  # never import it: plain users do not have it
        return
    from hypothesis import note
    from hypothesis.control import current_build_context

    try:
        final = current_build_context().is_final
    except Exception:  # not inside a hypothesis test
        return
    if final:  # hypothesis prints notes of the final, shrunk example only: build the story just then
        note("\n".join(story_lines(leaf)))
