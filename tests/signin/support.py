"""Helpers shared by the sign-in test modules (documents, SMS bookkeeping, valid T.C. numbers)."""

import asyncio
import hashlib
import hmac
import itertools
import uuid

from acikkapi.services.tckn import is_valid_tckn
from acikkapi.simulators.identity import PEOPLE
from tests.documents import CANCEL, ME, REQUEST_APPLY, REQUEST_STAFF, REQUEST_TRACKING, RESEND, SIGN_OUT  # noqa: F401
from tests.helpers import VERIFY, apply_input

FATMA = next(p for p in PEOPLE if p["ad"] == "FATMA")
HASAN = next(p for p in PEOPLE if p["ad"] == "HASAN")
ISMAIL = next(p for p in PEOPLE if p["ad"] == "İSMAİL")


def other_code(code: str, step: int = 1) -> str:
    """A six-digit code that is certainly not `code`."""
    return f"{(int(code) + step) % 10**6:06d}"


def valid_tcknumbers(start: int):
    """Valid-checksum T.C. numbers (none of the demo people or staff) from the 9-digit prefix `start`."""
    for prefix in itertools.count(start):
        d = [int(c) for c in str(prefix)]
        tenth = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
        eleventh = (sum(d) + tenth) % 10
        number = f"{prefix}{tenth}{eleventh}"
        assert is_valid_tckn(number)
        yield number


def wrong_checksum(tckn: str) -> str:
    """`tckn` with its last digit changed, so the checksum fails."""
    wrong = tckn[:-1] + str((int(tckn[-1]) + 1) % 10)
    assert not is_valid_tckn(wrong)
    return wrong


async def outbox_count(world) -> int:
    return (await world.sql("SELECT count(*) AS n FROM outbox_message"))[0]["n"]


async def all_sms_count(world) -> int:
    response = await world.http.get(f"{world.sms_url}/sms/mesajlar")
    return len(response.json())


class SmsWatch:
    """Snapshot of every SMS queued and delivered, to prove that a request sent nothing."""

    def __init__(self, world) -> None:
        self.world = world

    async def __aenter__(self) -> "SmsWatch":
        await self.world.drain_outbox()  # earlier messages have left
        self.queued = await outbox_count(self.world)
        self.delivered = await all_sms_count(self.world)
        return self

    async def __aexit__(self, *exc) -> None:
        pass

    async def assert_nothing_sent(self) -> None:
        assert await outbox_count(self.world) == self.queued, "an SMS was queued"
        await self.world.drain_outbox()
        assert await all_sms_count(self.world) == self.delivered, "an SMS was delivered"


async def challenge_row(world, challenge_id: str):
    rows = await world.sql("SELECT * FROM otp_challenge WHERE id = $1", uuid.UUID(challenge_id))
    assert len(rows) == 1
    return rows[0]


def _any_code_matches(key: bytes, challenge_id: str, code_hash: bytes) -> bool:
    prefix = f"{challenge_id}:".encode()
    return any(hmac.compare_digest(hmac.digest(key, prefix + b"%06d" % n, "sha256"), code_hash)
               for n in range(10**6))


async def no_code_can_verify(world, challenge_id: str) -> bool:
    """True when none of the 10⁶ six-digit codes hashes to the challenge's stored code_hash."""
    row = await challenge_row(world, challenge_id)
    return not await asyncio.to_thread(_any_code_matches, world.settings.code_key, challenge_id,
                                       bytes(row["code_hash"]))


def turkish_title(name: str) -> str:
    """"MEHMET ALİ" → "Mehmet Ali" (str.title() would leave a combining dot after the i)."""
    return " ".join(word[0] + word[1:].replace("I", "ı").replace("İ", "i").lower() for word in name.split())


def person_input(person: dict, phone: str, **changes) -> dict:
    return apply_input(person, phone, firstName=turkish_title(person["ad"]), **changes)


async def request_apply(world, person: dict, phone: str, **kwargs) -> dict:
    data = await world.gql(REQUEST_APPLY, {"input": person_input(person, phone)}, **kwargs)
    return data["requestApplicationCode"]


async def request_staff(world, tckn: str, phone: str, **kwargs) -> dict:
    data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": tckn, "phone": phone}}, **kwargs)
    return data["requestStaffCode"]


async def request_tracking(world, tracking_no: int, tckn: str, **kwargs) -> dict:
    data = await world.gql(REQUEST_TRACKING, {"input": {"trackingNo": tracking_no, "tcKimlikNo": tckn}}, **kwargs)
    return data["requestTrackingCode"]


async def verify(world, challenge_id: str, code: str, **kwargs) -> dict:
    return (await world.gql(VERIFY, {"id": challenge_id, "code": code}, **kwargs))["verifyCode"]


async def apply_code(world, person: dict, phone: str) -> tuple[str, str]:
    """Ask for an APPLY code; returns (challenge id, the code from the SMS)."""
    before = len(await world.sms_to(phone))
    challenge = await request_apply(world, person, phone)
    assert challenge["__typename"] == "Challenge", challenge
    return challenge["id"], await world.last_code(phone, before + 1)


def sha256(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
