"""One GraphQL request over HTTP, and the mutation convention of CONTRACT §4 and §5."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx


class GatewayError(Exception):
    """A refusal: a top-level error, or the first of a payload's `userErrors`."""

    def __init__(self, code: str, message: str, answer: Answer) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.answer = answer


@dataclass
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> dict[str, Any] | None:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors") or []

    def raise_for_errors(self) -> None:
        if self.errors:
            first = self.errors[0]
            code = (first.get("extensions") or {}).get("code", "UNKNOWN")
            raise GatewayError(code, first.get("message", ""), self)


class Gateway:
    """The gateway's GraphQL endpoint, with a caller's credentials (or none)."""

    def __init__(self, http: httpx.AsyncClient, *, token: str | None = None,
                 api_key: str | None = None, path: str = "/graphql") -> None:
        self.http = http
        self.token = token
        self.api_key = api_key
        self.path = path

    def as_user(self, token: str) -> Gateway:
        return Gateway(self.http, token=token, path=self.path)

    def as_merchant_server(self, api_key: str) -> Gateway:
        return Gateway(self.http, api_key=api_key, path=self.path)

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        if self.api_key:
            headers["x-api-key"] = self.api_key
        return headers

    async def request(self, query: str, variables: dict[str, Any] | None = None,
                      headers: dict[str, str] | None = None) -> Answer:
        """Any document; the answer as it came. Every character is escaped in the JSON sent,
        so a test can send lone surrogates too."""
        body = json.dumps({"query": query, "variables": variables or {}}, ensure_ascii=True)
        response = await self.http.post(self.path, content=body,
                                        headers={**self.headers(), **(headers or {})})
        return Answer(response.status_code, response.json())

    async def query(self, query: str, variables: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
        """The data of a query; GatewayError on any top-level error."""
        answer = await self.request(query, variables)
        answer.raise_for_errors()
        return answer.data or {}

    async def mutate(self, mutation: str, field: str, input: dict[str, Any]
                     ) -> dict[str, Any]:
        """A mutation's payload (`$input` holds `input`); GatewayError on any error."""
        answer = await self.request(mutation, {"input": input})
        answer.raise_for_errors()
        payload = (answer.data or {})[field]
        if payload["userErrors"]:
            first = payload["userErrors"][0]
            raise GatewayError(first["code"], first["message"], answer)
        return payload
