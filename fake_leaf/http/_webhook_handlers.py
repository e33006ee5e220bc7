"""Leaf's alerts service under ``/services/alerts/api/alerts``: webhooks and their failed calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fake_leaf.http._context import CONTROL, Call, Route, ok
from fake_leaf.http._serialize import leaf_timestamp
from fake_leaf.http._types import HttpResponse

if TYPE_CHECKING:  # the alerts service's module loads when a webhook route is first called
    from fake_leaf.engine._webhooks import FailedCall, Webhook, WebhookDelivery

ALERTS = "/services/alerts/api/alerts"


def webhook_json(w: Webhook) -> dict[str, object]:
    return {"id": w.id, "events": list(w.events), "name": w.name, "secret": w.secret, "url": w.url}


def failed_call_json(f: FailedCall) -> dict[str, object]:
    item: dict[str, object] = {
        "apiOwner": f.api_owner,
        "createdAt": f.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),  # Leaf's failed calls carry no fraction
        "url": f.url,
        "requestBody": f.request_body,
    }
    if f.connection_error is not None:
        item["connectionError"] = f.connection_error
    else:
        item["status"] = f.status
        item["response"] = f.response
    return item


def create_webhook(call: Call) -> HttpResponse:
    webhook = call.backend.webhooks.register(call.owner, call.json_body(), call.request.transport)
    return ok(201, webhook_json(webhook), {"Location": f"{call.base_url}{ALERTS}/webhooks/{webhook.id}"})


def list_webhooks(call: Call) -> HttpResponse:
    return ok(200, [webhook_json(w) for w in call.backend.webhooks.list_webhooks(call.owner)])


def get_webhook(call: Call) -> HttpResponse:
    return ok(200, webhook_json(call.backend.webhooks.get_webhook(call.owner, call.params["webhookId"])))


def delete_webhook(call: Call) -> HttpResponse:
    call.backend.webhooks.delete_webhook(call.owner, call.params["webhookId"])
    return HttpResponse(204)


def list_failed_calls(call: Call) -> HttpResponse:
    return ok(200, {"items": [failed_call_json(f) for f in call.backend.webhooks.failed_calls(call.owner)]})


def delivery_json(d: WebhookDelivery) -> dict[str, object]:
    return {"deliveryId": d.delivery_id, "webhookId": d.webhook_id, "apiOwner": d.api_owner, "url": d.url,
            "attempt": d.attempt, "event": d.event, "sentAt": leaf_timestamp(d.sent_at),
            "body": d.body.decode("utf-8", "replace"), "headers": dict(d.headers), "status": d.status,
            "response": d.response, "connectionError": d.connection_error}


def list_webhook_deliveries(call: Call) -> HttpResponse:
    """GET /_fake-leaf/webhook-deliveries: every attempt, for a test in another language."""
    return ok(200, [delivery_json(d) for d in call.backend.webhooks.deliveries()])


def routes() -> list[Route]:
    """The alerts service's lines of the route table, and the control plane's read of the deliveries."""
    hooks = f"{ALERTS}/webhooks"  # failed-calls before {webhookId}: the first matching template wins
    return [
        Route("POST", hooks, create_webhook, summary="Register a webhook", success=201, request="WebhookInput",
              response="Webhook"),
        Route("GET", hooks, list_webhooks, summary="List the webhooks", response="[Webhook]"),
        Route("GET", f"{hooks}/failed-calls", list_failed_calls, summary="The failed deliveries",
              response="FailedCalls"),
        Route("GET", f"{hooks}/{{webhookId}}", get_webhook, summary="Get a webhook", response="Webhook"),
        Route("DELETE", f"{hooks}/{{webhookId}}", delete_webhook, summary="Delete a webhook", success=204),
        Route("GET", f"{CONTROL}/webhook-deliveries", list_webhook_deliveries, authenticated=False,
              summary="Every delivery attempt to every webhook, oldest first", response="[WebhookDelivery]"),
    ]
