"""What tests do to the simulated John Deere, named by the Leaf user whose credential it touches."""

from __future__ import annotations

from functools import partial
from typing import Literal

from fake_leaf.engine import JOHN_DEERE, LeafBackend
from fake_leaf.engine._errors import hide_refusals
from fake_leaf.engine._john_deere import SimulatedJohnDeere

__tracebackhide__ = hide_refusals  # pytest shows the test's frames for the fake's refusals

Environment = Literal["STAGE", "PRODUCTION"]
ENVIRONMENTS: tuple[Environment, ...] = ("STAGE", "PRODUCTION")


class JohnDeereControls:
    """``leaf.john_deere``: drive John Deere's side. Each change applies from the fake's now on."""

    def __init__(self, backend: LeafBackend, api_owner: str) -> None:
        self._backend = backend
        self._owner = api_owner

    def _on(self, leaf_user_id: str, api_owner: str | None) -> tuple[str, str, str]:
        return api_owner or self._owner, leaf_user_id, JOHN_DEERE.name

    def revoke_refresh_token(self, leaf_user_id: str, *, api_owner: str | None = None) -> None:
        """The grower withdrew access: the next refresh answers 400 invalid_grant."""
        self._backend.control_credential_provider(
            *self._on(leaf_user_id, api_owner),
            lambda sim, c: sim.revoke_refresh_token(c.client_environment, c.refresh_token))

    def rotate_client_secret(self, leaf_user_id: str, *, api_owner: str | None = None) -> str:
        """The app's secret changed at John Deere: the next refresh answers 401 invalid_client.

        Returns the new secret (post it with a new credential to recover).
        """
        return self._backend.control_credential_provider(
            *self._on(leaf_user_id, api_owner),
            lambda sim, c: sim.rotate_client_secret(c.client_environment, c.client_key))

    def withdraw_scope(self, leaf_user_id: str, scope: str, *, api_owner: str | None = None) -> None:
        """The grower took back a scope: platform calls answer 403 (MISSING_PERMISSION)."""
        self._backend.control_credential_provider(
            *self._on(leaf_user_id, api_owner),
            lambda sim, c: sim.withdraw_scope(c.client_environment, c.refresh_token, scope))

    def restore_scope(self, leaf_user_id: str, scope: str, *, api_owner: str | None = None) -> None:
        self._backend.control_credential_provider(
            *self._on(leaf_user_id, api_owner),
            lambda sim, c: sim.restore_scope(c.client_environment, c.refresh_token, scope))

    def disconnect_organization(self, leaf_user_id: str, *, api_owner: str | None = None) -> None:
        """The organization is no longer connected to the app: platform calls answer 403."""
        self._backend.control_credential_provider(
            *self._on(leaf_user_id, api_owner),
            lambda sim, c: sim.set_organization_connected(c.client_environment, c.refresh_token, False))

    def connect_organization(self, leaf_user_id: str, *, api_owner: str | None = None) -> None:
        self._backend.control_credential_provider(
            *self._on(leaf_user_id, api_owner),
            lambda sim, c: sim.set_organization_connected(c.client_environment, c.refresh_token, True))

    def start_outage(self, status_code: int = 503, *, environment: Environment | None = None) -> None:
        """John Deere answers ``status_code`` (5xx or 429) until ``end_outage``; both environments by default."""
        for env in (environment,) if environment else ENVIRONMENTS:
            self._backend.control_provider(JOHN_DEERE.name, partial(_start_outage, env=env, status_code=status_code))

    def end_outage(self, *, environment: Environment | None = None) -> None:
        for env in (environment,) if environment else ENVIRONMENTS:
            self._backend.control_provider(JOHN_DEERE.name, partial(_end_outage, env=env))

    @property
    def refresh_token_rotation(self) -> bool:
        """Whether each refresh hands out a new refresh token (John Deere does not say; off by default)."""
        return self._backend.control_provider(JOHN_DEERE.name, lambda sim: sim.refresh_token_rotation)

    @refresh_token_rotation.setter
    def refresh_token_rotation(self, on: bool) -> None:
        def switch(sim: SimulatedJohnDeere) -> None:
            sim.refresh_token_rotation = on
        self._backend.control_provider(JOHN_DEERE.name, switch)


def _start_outage(sim: SimulatedJohnDeere, env: str, status_code: int) -> None:
    sim.start_outage(env, status_code)


def _end_outage(sim: SimulatedJohnDeere, env: str) -> None:
    sim.end_outage(env)
