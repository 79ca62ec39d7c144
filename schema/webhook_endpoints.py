"""Webhook endpoints (CONTRACT §14): their type, `webhookEventTypes` and their mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from core import endpoints as rules
from models.webhooks import EndpointStatus
from models.webhooks import WebhookEndpoint as EndpointModel
from resolvers import webhook_endpoints
from resolvers.webhook_endpoints import EndpointChange
from schema.context import caller_of
from schema.enums import documented
from schema.inputs import gateway_input
from schema.payloads import UserErrorType, payload

USER_ERRORS = "Why the operation was refused; empty when it succeeded."
INPUT = "What to do."
ENDPOINT_ID = "The webhook endpoint's id."
MANAGED = "OWNER or ADMIN (not an API key)."

WebhookEndpointStatus = documented(
    EndpointStatus, "WebhookEndpointStatus", "Whether an endpoint is sent its events.", {
        "ENABLED": "Its events are sent to it.",
        "DISABLED": "Nothing is sent; its events are held until recoverWebhookEndpoint.",
    })


@strawberry.type(description="A URL the merchant's events are POSTed to, signed with its own "
                             "secret (Standard Webhooks), for the event types it enables. "
                             "Read by the merchant's members.")
class WebhookEndpoint:
    id: strawberry.ID = strawberry.field(description=ENDPOINT_ID)
    url: str = strawberry.field(description="Where events are POSTed (http or https).")
    description: str | None = strawberry.field(description="A note for people.")
    enabled_events: list[str] = strawberry.field(
        description='["*"] (every event) or types from webhookEventTypes.')
    status: WebhookEndpointStatus = strawberry.field(description="ENABLED or DISABLED.")
    disabled_reason: str | None = strawberry.field(
        description="Why it was disabled (by the merchant, or after failing for "
                    "WEBHOOK_DISABLE_AFTER_SECONDS); null while enabled.")
    created_at: datetime = strawberry.field(
        description="When it was created: it is sent the events created after.")
    model: strawberry.Private[EndpointModel]

    @staticmethod
    def of(model: EndpointModel) -> WebhookEndpoint:
        return WebhookEndpoint(id=model.id, url=model.url, description=model.description,
                               enabled_events=list(model.enabled_events),
                               status=EndpointStatus(model.status),
                               disabled_reason=model.disabled_reason,
                               created_at=model.created_at, model=model)

    @strawberry.field(description="The key that signs its webhooks: whsec_ + base64 of 32 "
                                  "bytes. OWNER and ADMIN only; null for others.")
    async def secret(self, info: Info) -> str | None:
        return await webhook_endpoints.secret_seen_by(await caller_of(info), self.model)


@gateway_input(description="A new webhook endpoint.")
class CreateWebhookEndpointInput:
    merchant_id: strawberry.ID = strawberry.field(description="The merchant's id.")
    url: str = strawberry.field(description="An absolute http(s) URL on a public address.")
    enabled_events: list[str] | None = strawberry.field(
        default_factory=lambda: [rules.ALL_EVENTS],
        description='["*"] (every event, the default) or types from webhookEventTypes.')
    description: str | None = strawberry.field(default=None,
                                               description="A note, up to 500 characters.")


@gateway_input(description="Changes to a webhook endpoint; what is left out stays.")
class UpdateWebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description=ENDPOINT_ID)
    url: str | None = strawberry.field(default=None, description="A new URL.")
    enabled_events: list[str] | None = strawberry.field(
        default=None, description='["*"] or types from webhookEventTypes.')
    description: str | None = strawberry.field(default=None,
                                               description='A new note; "" removes it.')
    status: WebhookEndpointStatus | None = strawberry.field(
        default=None, description="DISABLED stops sending (its events are held); ENABLED "
                                  "sends new events again (held ones: recoverWebhookEndpoint).")


@gateway_input(description="The webhook endpoint to delete.")
class DeleteWebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description=ENDPOINT_ID)


@gateway_input(description="The webhook endpoint whose secret to replace.")
class RotateWebhookEndpointSecretInput:
    id: strawberry.ID = strawberry.field(description=ENDPOINT_ID)


@gateway_input(description="What to send an enabled webhook endpoint again.")
class RecoverWebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description=ENDPOINT_ID)
    since: datetime = strawberry.field(
        description="Events created from this moment on (at most 30 days back, with a zone).")


@strawberry.type(description="The result of a webhook endpoint mutation.")
class WebhookEndpointPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    webhook_endpoint: WebhookEndpoint | None = strawberry.field(
        default=None, description="The endpoint as it is now.")


@strawberry.type(description="The result of deleteWebhookEndpoint.")
class DeleteWebhookEndpointPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    ok: bool | None = strawberry.field(default=None, description="True when it was deleted.")


@strawberry.type(description="The result of recoverWebhookEndpoint.")
class RecoverWebhookEndpointPayload:
    user_errors: list[UserErrorType] = strawberry.field(description=USER_ERRORS)
    count: int | None = strawberry.field(default=None,
                                         description="How many events are sent again.")


def _endpoint(model: EndpointModel) -> dict:
    return {"webhook_endpoint": WebhookEndpoint.of(model)}


@strawberry.type
class WebhookEndpointQuery:
    @strawberry.field(description="Every event type the gateway emits: what enabledEvents "
                                  "may hold. No authentication needed.")
    def webhook_event_types(self) -> list[str]:
        return rules.event_types()


@strawberry.type
class WebhookEndpointMutation:
    @strawberry.mutation(description="Add a webhook endpoint (at most 16 per merchant). "
                                     f"{MANAGED} Errors: VALIDATION_ERROR (url, "
                                     "enabledEvents, the 17th), NOT_FOUND.")
    async def create_webhook_endpoint(
            self, info: Info,
            input: Annotated[CreateWebhookEndpointInput, strawberry.argument(description=INPUT)]
    ) -> WebhookEndpointPayload:
        action = webhook_endpoints.create(await caller_of(info), input.merchant_id, input.url,
                                          input.enabled_events, input.description)
        return await payload(WebhookEndpointPayload, action, _endpoint)

    @strawberry.mutation(description=f"Change a webhook endpoint. {MANAGED} Errors: "
                                     "VALIDATION_ERROR, NOT_FOUND.")
    async def update_webhook_endpoint(
            self, info: Info,
            input: Annotated[UpdateWebhookEndpointInput, strawberry.argument(description=INPUT)]
    ) -> WebhookEndpointPayload:
        change = EndpointChange(url=input.url, enabled_events=input.enabled_events,
                                description=input.description, status=input.status)
        action = webhook_endpoints.update(await caller_of(info), input.id, change)
        return await payload(WebhookEndpointPayload, action, _endpoint)

    @strawberry.mutation(description=f"Delete a webhook endpoint and what it is still owed. "
                                     f"{MANAGED} Errors: NOT_FOUND.")
    async def delete_webhook_endpoint(
            self, info: Info,
            input: Annotated[DeleteWebhookEndpointInput, strawberry.argument(description=INPUT)]
    ) -> DeleteWebhookEndpointPayload:
        action = webhook_endpoints.delete(await caller_of(info), input.id)
        return await payload(DeleteWebhookEndpointPayload, action, lambda ok: {"ok": ok})

    @strawberry.mutation(description="Replace an endpoint's secret; its webhooks are signed "
                                     "with the old and the new one for 24 hours. "
                                     f"{MANAGED} Errors: NOT_FOUND.")
    async def rotate_webhook_endpoint_secret(
            self, info: Info,
            input: Annotated[RotateWebhookEndpointSecretInput,
                             strawberry.argument(description=INPUT)]
    ) -> WebhookEndpointPayload:
        action = webhook_endpoints.rotate_secret(await caller_of(info), input.id)
        return await payload(WebhookEndpointPayload, action, _endpoint)

    @strawberry.mutation(description="Send an enabled endpoint every event created since "
                                     "`since` that it was meant for and never acknowledged, "
                                     "held ones included (the same webhook-id, a fresh round "
                                     f"of retries). {MANAGED} Errors: VALIDATION_ERROR "
                                     "(since), INVALID_STATE (disabled), NOT_FOUND.")
    async def recover_webhook_endpoint(
            self, info: Info,
            input: Annotated[RecoverWebhookEndpointInput, strawberry.argument(description=INPUT)]
    ) -> RecoverWebhookEndpointPayload:
        action = webhook_endpoints.recover(await caller_of(info), input.id, input.since)
        return await payload(RecoverWebhookEndpointPayload, action,
                             lambda count: {"count": count})
