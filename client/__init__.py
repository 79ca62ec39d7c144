"""A small GraphQL client for the gateway, shared by the demo, the bench and the tests."""

from client.graphql import Answer, Gateway, GatewayError
from client.onboarding import Merchant, onboard

__all__ = ["Answer", "Gateway", "GatewayError", "Merchant", "onboard"]
