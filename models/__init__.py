"""Tortoise models, one module per aggregate."""

MODEL_MODULES = [
    "models.users",
    "models.merchants",
    "models.api_keys",
    "models.payment_intents",
    "models.events",
    "models.webhooks",
    "models.money",
]
