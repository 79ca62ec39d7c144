"""GraphQL documents and helpers for the webhook endpoint tests (CONTRACT §14)."""

from __future__ import annotations

from models.webhooks import EndpointDelivery, WebhookEndpoint
from tests.helpers import ERRORS, gql, payload_of

ENDPOINT_FIELDS = "id url description enabledEvents status secret disabledReason createdAt"
CREATE_ENDPOINT = f"""mutation($input: CreateWebhookEndpointInput!) {{
  createWebhookEndpoint(input: $input) {{ webhookEndpoint {{ {ENDPOINT_FIELDS} }} {ERRORS} }} }}"""
UPDATE_ENDPOINT = f"""mutation($input: UpdateWebhookEndpointInput!) {{
  updateWebhookEndpoint(input: $input) {{ webhookEndpoint {{ {ENDPOINT_FIELDS} }} {ERRORS} }} }}"""
DELETE_ENDPOINT = f"""mutation($input: DeleteWebhookEndpointInput!) {{
  deleteWebhookEndpoint(input: $input) {{ ok {ERRORS} }} }}"""
ROTATE_ENDPOINT = f"""mutation($input: RotateWebhookEndpointSecretInput!) {{
  rotateWebhookEndpointSecret(input: $input) {{ webhookEndpoint {{ {ENDPOINT_FIELDS} }}
  {ERRORS} }} }}"""
RECOVER_ENDPOINT = f"""mutation($input: RecoverWebhookEndpointInput!) {{
  recoverWebhookEndpoint(input: $input) {{ count {ERRORS} }} }}"""
ENDPOINTS = f"""query($id: ID!) {{ merchant(id: $id) {{
  webhookEndpoints {{ {ENDPOINT_FIELDS} }} settings {{ webhookUrl webhookSecret }} }} }}"""
EVENT_TYPES = "{ webhookEventTypes }"
REDELIVER_TO = f"""mutation($input: RedeliverEventInput!) {{ redeliverEvent(input: $input) {{
  event {{ id deliveryState }} {ERRORS} }} }}"""


async def create_endpoint(client, shop, url: str, events: list[str] | None = None,
                          **fields) -> dict:
    values = {"merchantId": shop.merchant_id, "url": url, **fields}
    if events is not None:
        values["enabledEvents"] = events
    created = payload_of(await gql(client, CREATE_ENDPOINT, {"input": values},
                                   token=shop.owner.token), "createWebhookEndpoint")
    assert created["userErrors"] == [], created
    return created["webhookEndpoint"]


async def update_endpoint(client, shop, endpoint_id: str, **fields) -> dict:
    return payload_of(await gql(client, UPDATE_ENDPOINT, {"input": {"id": endpoint_id,
                                                                    **fields}},
                                token=shop.owner.token), "updateWebhookEndpoint")


async def delivery_states(event_id: str) -> dict[str, str]:
    """What each endpoint is owed of the event: {endpoint id: state}."""
    return dict(await EndpointDelivery.filter(event_id=event_id).values_list(
        "endpoint_id", "state"))


async def delivery_state(event_id: str) -> str | None:
    """The event's one delivery's state (a merchant with one endpoint)."""
    states = list((await delivery_states(event_id)).values())
    return states[0] if states else None


async def leased(event_id: str) -> bool:
    return await EndpointDelivery.filter(event_id=event_id, lease_until__isnull=False).exists()


async def default_endpoint(merchant_id: str) -> WebhookEndpoint:
    return await WebhookEndpoint.get(merchant_id=merchant_id, is_default=True)
