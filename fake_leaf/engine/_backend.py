"""The state engine: API owners, tokens, Leaf users, provider credentials and their events.

It knows nothing of HTTP. ``LeafBackend`` is the parts over one state object (``_state.py``):
tokens, users, credentials and events, background processing. One re-entrant lock guards all
state: every public method is atomic.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from fake_leaf._clock import recover
from fake_leaf.engine._config import ConfigsPart
from fake_leaf.engine._credentials import CredentialsPart
from fake_leaf.engine._errors import hide_refusals
from fake_leaf.engine._lifecycle import EVENT_RETENTION
from fake_leaf.engine._models import Timing
from fake_leaf.engine._organizations import OrganizationsPart
from fake_leaf.engine._tokens import REMEMBER_ME_TOKEN_LIFETIME, TOKEN_LIFETIME, Tokens
from fake_leaf.engine._upstream import ACCESS_TOKEN_LIFETIME
from fake_leaf.engine._users import Users

if TYPE_CHECKING:
    from fake_leaf.engine._webhooks import Webhooks

__tracebackhide__ = hide_refusals  # pytest shows the test's frames for the fake's refusals


class LeafBackend(Tokens, Users, CredentialsPart, OrganizationsPart, ConfigsPart):
    """All of one fake's state and its rules. Create one per fake; share it only on purpose."""

    @property
    def timing(self) -> Timing:
        """The check interval (an option), the token lifetimes and the events window."""
        return Timing(self.options.check_interval, ACCESS_TOKEN_LIFETIME, TOKEN_LIFETIME, REMEMBER_ME_TOKEN_LIFETIME,
                      EVENT_RETENTION)

    @functools.cached_property
    def webhooks(self) -> Webhooks:
        """The alerts service: it reads the alert log from a cursor. Made, and its module loaded, on first use."""
        from fake_leaf.engine._webhooks import Webhooks

        return Webhooks(self)

    def webhooks_in_use(self) -> Webhooks | None:
        """The alerts service if anything has used it yet; else None (and so nothing to deliver)."""
        found: Webhooks | None = self.__dict__.get("webhooks")
        return found

    def clear(self) -> None:
        """Forget every Leaf user, credential, event and alert, and the upstreams' state; owners stay.

        A ShiftedClock that reads out of the usable range gets its offset back to zero.
        """
        with self._lock:
            recover(self.clock)
            self._new_world()
            webhooks = self.webhooks_in_use()
            if webhooks is not None:
                webhooks.clear()
