"""SMS gateway: one interface, one aiohttp client. Nothing calls it but the outbox dispatcher."""

import asyncio
from typing import Protocol

import aiohttp


class SmsDeliveryFailed(Exception):
    """The gateway did not take the message; the dispatcher will try again later."""


class SmsGateway(Protocol):
    async def send(self, *, phone: str, body: str, reference: str) -> None: ...


class HttpSmsGateway:
    def __init__(self, base_url: str, sender: str, http: aiohttp.ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self.sender = sender
        self.http = http

    async def send(self, *, phone: str, body: str, reference: str) -> None:
        # The reference makes a retried send idempotent at the gateway.
        payload = {"gonderen": self.sender, "alici": "90" + phone, "mesaj": body, "referans": reference}
        try:
            async with self.http.post(f"{self.base_url}/sms/gonder", json=payload) as response:
                if response.status != 200:
                    raise SmsDeliveryFailed(f"gateway answered HTTP {response.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise SmsDeliveryFailed(f"gateway unreachable: {error!r}") from error
