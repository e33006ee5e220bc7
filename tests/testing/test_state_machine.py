"""The shipped state machine runs as users run it (its default client is plain requests)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from fake_leaf.testing.state_machine import LeafClientStateMachine

TestDefaultClient = LeafClientStateMachine.TestCase
TestDefaultClient.settings = settings(max_examples=25, stateful_step_count=25, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])


class _ClientThatAlwaysSaysOK(LeafClientStateMachine):
    def client_credential_status(self, leaf_user_id: str) -> str | None:
        return "OK"


def test_the_state_machine_catches_a_client_that_misreports() -> None:
    import pytest
    from hypothesis import Phase
    from hypothesis.stateful import run_state_machine_as_test

    with pytest.raises(AssertionError, match="the client reports"):
        run_state_machine_as_test(_ClientThatAlwaysSaysOK, settings=settings(
            max_examples=200, stateful_step_count=25, deadline=None, database=None,
            phases=[Phase.generate], suppress_health_check=[HealthCheck.too_slow]))
