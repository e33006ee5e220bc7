"""What tests do to a provider's simulated upstream, named by the Leaf user whose credential it touches.

``UpstreamControls`` is the one way to drive any provider (``leaf.upstream("Trimble")``); the HTTP
control plane calls the same methods. ``JohnDeereControls`` adds John Deere's own words for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TypeVar

from fake_leaf.engine._backend import LeafBackend
from fake_leaf.engine._errors import UnsupportedControlError, hide_refusals
from fake_leaf.engine._models import Credentials, CredentialStatus
from fake_leaf.engine._upstream import SimulatedUpstream
from fake_leaf.engine.providers import Provider
from fake_leaf.engine.providers._base import UpstreamOrganization

__tracebackhide__ = hide_refusals  # pytest shows the test's frames for the fake's refusals

T = TypeVar("T")


class UpstreamControls:
    """Drive one provider's upstream. Each change applies from the fake's now on.

    What each control means follows the provider's upstream: ``revoke`` withdraws an OAuth2 grant
    (the next refresh answers 400 ``invalid_grant``), or revokes an API key or disables an account
    (401); ``rotate_secret`` changes the client secret (401 ``invalid_client``), the shared secret or
    the password (401); ``withdraw_permission`` takes back a scope, or with no scope the whole access
    (an organization's connection, a key's or account's permission): 403, MISSING_PERMISSION.
    """

    def __init__(self, backend: LeafBackend, api_owner: str, provider: Provider | str) -> None:
        self._backend = backend
        self._owner = api_owner
        self.provider = backend.provider(provider.name if isinstance(provider, Provider) else provider)

    def _on(self, leaf_user_id: str, api_owner: str | None,
            action: Callable[[SimulatedUpstream, Mapping[str, str]], T]) -> T:
        return self._backend.control_credential_upstream(api_owner or self._owner, leaf_user_id,
                                                         self.provider.name, action)

    def revoke(self, leaf_user_id: str, *, api_owner: str | None = None) -> None:
        """The grower withdrew the grant, or the key or account was revoked: UNAUTHENTICATED at the next check."""
        self._on(leaf_user_id, api_owner, lambda up, fields: up.revoke(fields))

    def rotate_secret(self, leaf_user_id: str, *, api_owner: str | None = None) -> str:
        """The client secret, shared secret or password changed upstream; returns the new one."""
        return self._on(leaf_user_id, api_owner, lambda up, fields: up.rotate_secret(fields))

    def withdraw_permission(self, leaf_user_id: str, scope: str | None = None, *,
                            api_owner: str | None = None) -> None:
        """Take back ``scope``, or with None the whole access: calls answer 403 (MISSING_PERMISSION)."""
        self._on(leaf_user_id, api_owner, lambda up, fields: up.withdraw(fields, scope))

    def restore_permission(self, leaf_user_id: str, scope: str | None = None, *,
                           api_owner: str | None = None) -> None:
        self._on(leaf_user_id, api_owner, lambda up, fields: up.restore(fields, scope))

    def start_outage(self, status_code: int = 503, *, environment: str | None = None) -> None:
        """The upstream answers ``status_code`` (5xx or 429) until ``end_outage``; every environment by default."""
        for env in (environment,) if environment else self.provider.environments:
            self._backend.control_upstream(self.provider.name, partial(SimulatedUpstream.start_outage,
                                                                       environment=env, status_code=status_code))

    def end_outage(self, *, environment: str | None = None) -> None:
        for env in (environment,) if environment else self.provider.environments:
            self._backend.control_upstream(self.provider.name, partial(SimulatedUpstream.end_outage, environment=env))

    # -- the grower's account's organizations (John Deere, Trimble): Leaf's list follows at its next check or
    #    sync, each change an alert (providerOrganizationCreated, ...Blocked, ...Removed)

    def organizations(self, leaf_user_id: str, *, api_owner: str | None = None) -> list[UpstreamOrganization]:
        """The organizations of the account behind the user's credential, as the provider holds them."""
        return list(self._on(leaf_user_id, api_owner, lambda up, fields: up.account_organizations(fields)))

    def add_organization(self, leaf_user_id: str, name: str, *, org_id: str | None = None,
                         api_owner: str | None = None) -> str:
        """The grower's account gains an organization, connected to the application; returns its id."""
        return self._on(leaf_user_id, api_owner, lambda up, fields: up.add_organization(fields, name, org_id))

    def remove_organization(self, leaf_user_id: str, org_id: str, *, api_owner: str | None = None) -> None:
        """The organization leaves the grower's account."""
        self._on(leaf_user_id, api_owner, lambda up, fields: up.remove_organization(fields, org_id))

    def block_organization(self, leaf_user_id: str, org_id: str, *, api_owner: str | None = None) -> None:
        """The grower withdrew the application's access to the organization: BLOCKED at the next sync (and
        MISSING_PERMISSION when no organization is left to reach)."""
        self._on(leaf_user_id, api_owner, lambda up, fields: up.block_organization(fields, org_id))

    def unblock_organization(self, leaf_user_id: str, org_id: str, *, api_owner: str | None = None) -> None:
        """The grower granted the access again (through the managementUri): PREVIEW at the next sync."""
        self._on(leaf_user_id, api_owner, lambda up, fields: up.unblock_organization(fields, org_id))

    @property
    def refresh_token_rotation(self) -> bool:
        """Whether each refresh hands out a new refresh token (OAuth2 upstreams; off by default)."""
        return self._backend.control_upstream(self.provider.name, lambda up: up.refresh_token_rotation)

    @refresh_token_rotation.setter
    def refresh_token_rotation(self, on: bool) -> None:
        if not self.provider.oauth2:
            raise UnsupportedControlError(f"{self.provider.label}'s upstream is not OAuth2: "
                                          "it has no refresh tokens to rotate")

        def switch(up: SimulatedUpstream) -> None:
            up.refresh_token_rotation = on
        self._backend.control_upstream(self.provider.name, switch)

    def run_check(self, leaf_user_id: str, *, api_owner: str | None = None) -> Credentials:
        """Run a background check of the user's credentials now (the schedule is unchanged)."""
        return self._backend.run_check(api_owner or self._owner, leaf_user_id, self.provider.name)

    def set_status(self, leaf_user_id: str, status: CredentialStatus | str, *,
                   api_owner: str | None = None) -> Credentials:
        """Set the status as a check would (alert included, no event), for tests that skip the cause."""
        return self._backend.set_status(api_owner or self._owner, leaf_user_id, self.provider.name,
                                        CredentialStatus(status))


class JohnDeereControls(UpstreamControls):
    """``leaf.john_deere``: John Deere's upstream, with its own words for the controls."""

    def revoke_refresh_token(self, leaf_user_id: str, *, api_owner: str | None = None) -> None:
        """The grower withdrew access: the next refresh answers 400 invalid_grant."""
        self.revoke(leaf_user_id, api_owner=api_owner)

    def rotate_client_secret(self, leaf_user_id: str, *, api_owner: str | None = None) -> str:
        """The app's secret changed at John Deere: the next refresh answers 401 invalid_client.

        Returns the new secret (post it with a new credential to recover).
        """
        return self.rotate_secret(leaf_user_id, api_owner=api_owner)

    def withdraw_scope(self, leaf_user_id: str, scope: str, *, api_owner: str | None = None) -> None:
        """The grower took back a scope: platform calls answer 403 (MISSING_PERMISSION)."""
        self.withdraw_permission(leaf_user_id, scope, api_owner=api_owner)

    def restore_scope(self, leaf_user_id: str, scope: str, *, api_owner: str | None = None) -> None:
        self.restore_permission(leaf_user_id, scope, api_owner=api_owner)

    def disconnect_organization(self, leaf_user_id: str, *, api_owner: str | None = None) -> None:
        """The account's organizations are no longer connected to the app: platform calls answer 403
        (MISSING_PERMISSION), and each organization is BLOCKED at the next sync."""
        self.withdraw_permission(leaf_user_id, api_owner=api_owner)

    def connect_organization(self, leaf_user_id: str, *, api_owner: str | None = None) -> None:
        self.restore_permission(leaf_user_id, api_owner=api_owner)
