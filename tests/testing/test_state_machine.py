"""The shipped state machine runs as users run it (its default client is plain requests)."""

from __future__ import annotations

from hypothesis import settings

from fake_leaf.testing.state_machine import LeafClientStateMachine

TestDefaultClient = LeafClientStateMachine.TestCase
TestDefaultClient.settings = settings(max_examples=10, stateful_step_count=20, deadline=None)
