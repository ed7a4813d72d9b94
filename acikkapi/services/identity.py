"""Identity and address sharing service (KPS/MERNİS): one interface, one aiohttp client.

The service compares the name, surname and the mother's maiden surname's initials itself; we never see
the mother's surname. A match returns the identity and the residence address.
"""

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import date
from typing import Protocol

import aiohttp

from acikkapi.services.circuit import CircuitBreaker
from acikkapi.services.errors import DomainError, ServiceUnavailable
from acikkapi.settings import Settings

log = logging.getLogger(__name__)


class IdentityMismatch(DomainError):
    """The identity service did not confirm the name, surname and mother's initials."""

    code = "IDENTITY_MISMATCH"
    message = "Girdiğiniz bilgiler uyumsuzdur. Lütfen kontrol edin."


@dataclass(frozen=True)
class ResidenceAddress:
    province_code: int
    province: str
    district: str
    place: str
    address: str


@dataclass(frozen=True)
class Person:
    tckn: str
    first_name: str
    last_name: str
    birth_date: date | None
    gender: str | None  # "ERKEK" | "KADIN"
    residence: ResidenceAddress

    def as_json(self) -> dict:
        data = asdict(self)
        data["birth_date"] = self.birth_date.isoformat() if self.birth_date else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Person":
        birth = data.get("birth_date")
        return cls(
            tckn=data["tckn"], first_name=data["first_name"], last_name=data["last_name"],
            birth_date=date.fromisoformat(birth) if birth else None, gender=data.get("gender"),
            residence=ResidenceAddress(**data["residence"]),
        )


class IdentityNotFound(DomainError):
    """The identity service has no person with this number."""

    code = "IDENTITY_NOT_FOUND"
    message = "Bu T.C. Kimlik No ile kimlik kaydı bulunamadı."


class IdentityService(Protocol):
    async def verify(self, *, tckn: str, first_name: str, last_name: str,
                     mother_initials: str) -> Person: ...

    async def lookup(self, tckn: str) -> Person:
        """Identity and residence by number alone: for staff registering a written application."""


class HttpIdentityService:
    def __init__(self, base_url: str, http: aiohttp.ClientSession, breaker: CircuitBreaker | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.breaker = breaker or CircuitBreaker("identity")

    @classmethod
    def of(cls, settings: Settings, http: aiohttp.ClientSession) -> "HttpIdentityService":
        return cls(settings.identity_url, http, CircuitBreaker.of("identity", settings))

    async def verify(self, *, tckn: str, first_name: str, last_name: str, mother_initials: str) -> Person:
        body = await self._post("/kimlik/dogrula", {"tckn": tckn, "ad": first_name, "soyad": last_name,
                                                    "anne_kizlik_soyadi_harfleri": mother_initials})
        if not body.get("eslesme"):
            raise IdentityMismatch()
        return self._person(body)

    async def lookup(self, tckn: str) -> Person:
        body = await self._post("/kimlik/sorgula", {"tckn": tckn})
        if not body.get("bulundu"):
            raise IdentityNotFound(field="tcKimlikNo")
        return self._person(body)

    async def _post(self, path: str, payload: dict) -> dict:
        async with self.breaker.guard():  # while the service is down, fail at once instead of waiting
            try:
                async with self.http.post(f"{self.base_url}{path}", json=payload) as response:
                    if response.status >= 500:
                        log.warning("identity service answered HTTP %s", response.status)
                        raise ServiceUnavailable()
                    if response.status == 200:
                        return await response.json()
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                log.warning("identity service unreachable: %r", error)
                raise ServiceUnavailable() from error
        # It answered, refusing our request (4xx): not an outage, so the breaker does not count it, and no
        # client can open the breaker for everyone by sending what the service refuses.
        log.warning("identity service refused a request: HTTP %s", response.status)
        raise ServiceUnavailable()

    @staticmethod
    def _person(body: dict) -> Person:
        try:
            return parse_person(body["kisi"])
        except (KeyError, TypeError, ValueError) as error:
            log.warning("identity service sent an unreadable person: %r", error)
            raise ServiceUnavailable() from error


def parse_person(kisi: dict) -> Person:
    adres = kisi["ikamet_adresi"]
    birth = kisi.get("dogum_tarihi")
    return Person(
        tckn=str(kisi["tckn"]), first_name=kisi["ad"], last_name=kisi["soyad"],
        birth_date=date.fromisoformat(birth) if birth else None, gender=kisi.get("cinsiyet"),
        residence=ResidenceAddress(
            province_code=int(adres["il_kodu"]), province=adres["il"], district=adres["ilce"],
            place=adres["mahalle"], address=adres["acik_adres"],
        ),
    )
