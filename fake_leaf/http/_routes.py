"""The one route table: every adapter, the OpenAPI document and the "what does the fake implement"
message read it. Each part of the HTTP layer contributes its own lines."""

from __future__ import annotations

from collections.abc import Iterable

from fake_leaf.engine import PROVIDERS, Provider
from fake_leaf.http import _control, _handlers, _organization_handlers, _webhook_handlers
from fake_leaf.http._context import Route


def build_routes(providers: Iterable[Provider] = PROVIDERS) -> list[Route]:
    providers = tuple(providers)
    listed = [p.name for p in providers if p.organizations is not None]
    managed = [p.name for p in providers if p.organizations is not None and p.organizations.sync_management]
    return [*_handlers.routes(providers), *_organization_handlers.routes(listed, managed),
            *_webhook_handlers.routes(), *_control.routes(providers)]
