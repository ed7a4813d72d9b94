"""SMS gateway: one interface, one aiohttp client. Nothing calls it but the outbox dispatcher."""

import asyncio
from typing import Protocol

import aiohttp

from acikkapi.services.circuit import CircuitBreaker
from acikkapi.services.errors import ServiceUnavailable
from acikkapi.settings import Settings


class SmsDeliveryFailed(Exception):
    """The gateway did not take the message; the dispatcher will try again later."""


class SmsGatewayFailing(SmsDeliveryFailed):
    """The gateway itself failed (5xx, timeout, no connection): counts toward opening its circuit breaker."""


class SmsGateway(Protocol):
    async def send(self, *, phone: str, body: str, reference: str) -> None: ...


class HttpSmsGateway:
    """The gateway behind a circuit breaker. A hung gateway counts as failing when the client session's
    timeout (`http_timeout_seconds`) ends the call, so keep it below the outbox's send timeout: the
    dispatcher's own timeout cancels the call, which says nothing about the gateway."""

    def __init__(self, base_url: str, sender: str, http: aiohttp.ClientSession,
                 breaker: CircuitBreaker | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.sender = sender
        self.http = http
        self.breaker = breaker or CircuitBreaker("SMS", failure=SmsGatewayFailing)

    @classmethod
    def of(cls, settings: Settings, http: aiohttp.ClientSession) -> "HttpSmsGateway":
        return cls(settings.sms_url, settings.sms_sender, http,
                   CircuitBreaker.of("SMS", settings, failure=SmsGatewayFailing))

    async def send(self, *, phone: str, body: str, reference: str) -> None:
        # The reference makes a retried send idempotent at the gateway.
        payload = {"gonderen": self.sender, "alici": "90" + phone, "mesaj": body, "referans": reference}
        try:
            async with self.breaker.guard():  # while the gateway is down, fail at once instead of waiting
                await self._post(payload)
        except ServiceUnavailable as error:  # only the open breaker raises it: the message keeps its backoff
            raise SmsDeliveryFailed("circuit breaker open: the gateway was not asked") from error

    async def _post(self, payload: dict) -> None:
        try:
            async with self.http.post(f"{self.base_url}/sms/gonder", json=payload) as response:
                if response.status >= 500:
                    raise SmsGatewayFailing(f"gateway answered HTTP {response.status}")
                if response.status != 200:  # this message was refused; says nothing about the gateway
                    raise SmsDeliveryFailed(f"gateway answered HTTP {response.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise SmsGatewayFailing(f"gateway unreachable: {error!r}") from error
