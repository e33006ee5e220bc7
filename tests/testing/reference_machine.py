"""The kit's state machine wired to the reference client, as a user wires theirs: one hook per call; polling, or
also told by Leaf's alerts webhook."""

from __future__ import annotations

from typing import Any, ClassVar

from fake_leaf.testing.state_machine import Decision, LeafClientStateMachine
from tests.reference_client import LeafClient


class ReferenceClientMachine(LeafClientStateMachine):
    client_class: ClassVar[type[LeafClient]] = LeafClient

    def __init__(self) -> None:
        super().__init__()
        self.client = self.client_class(self.leaf.base_url, self.leaf.username, self.leaf.password,
                                        session=self.session, sleep=self.sleep, now=self.leaf.now)

    def client_login(self) -> None:
        self.client.login()

    def client_renew_token(self) -> None:
        self.client.renew_token()

    def client_create_user(self, body: dict[str, Any]) -> str:
        return self.client.create_user(body)

    def client_get_user(self, leaf_user_id: str) -> dict[str, Any] | None:
        return self.client.get_user(leaf_user_id)

    def client_delete_user(self, leaf_user_id: str) -> None:
        self.client.delete_user(leaf_user_id)

    def client_list_users(self) -> list[str]:
        return [u["id"] for u in self.client.list_users()]

    def client_connect(self, leaf_user_id: str, body: dict[str, Any]) -> None:
        self.client.connect(leaf_user_id, body)

    def client_disconnect(self, leaf_user_id: str) -> None:
        self.client.disconnect(leaf_user_id)

    def client_get_credential(self, leaf_user_id: str) -> str | None:
        return self.client.status(leaf_user_id)

    def client_read_events(self, leaf_user_id: str) -> list[str] | None:
        events = self.client.events(leaf_user_id)
        return None if events is None else [e["id"] for e in events]

    def client_decide(self, leaf_user_id: str, status: str) -> Decision:
        return self.client.decide(leaf_user_id, status)  # type: ignore[return-value]

    def client_read_organizations(self, leaf_user_id: str) -> dict[str, str] | None:
        found = self.client.organizations(leaf_user_id)
        return None if found is None else {o["providerOrgId"]: o["status"] for o in found}

    def client_select_organizations(self, leaf_user_id: str, organizations: dict[str, str]) -> None:
        self.client.select_organizations(leaf_user_id, organizations)


class WebhookReferenceClientMachine(ReferenceClientMachine):
    """The same client told by Leaf's alerts webhook: its receiver, what it acted on, its newest alerts."""

    def client_register_webhook(self, url: str) -> None:
        self.client.register_webhook(url)

    def client_receive_alert(self, body: bytes, headers: dict[str, str]) -> int:
        return self.client.receive_alert(body, headers)

    def client_alerts_acted_on(self) -> list[dict[str, Any]]:
        return list(self.client.alerts_acted_on)

    def client_alert_view(self) -> dict[str, dict[str, Any]]:
        return dict(self.client.newest_alerts)
