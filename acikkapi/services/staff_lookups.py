"""Identity lookups by number by staff (KVKK): every one recorded, a few per hour, refused in one way.

A staff member may ask the identity service about anyone by T.C. Kimlik No alone. So each lookup is written
down before the call (who, whose, why; the outcome once known), counted against an hourly allowance, and
every refusal reads the same: whether nobody has that number or the person lives in another province is
not for the asker to learn.
"""

from datetime import timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from acikkapi.models import IdentityLookup, LookupOutcome, LookupPurpose, User
from acikkapi.services.errors import DomainError, RateLimited, ServiceUnavailable, raises
from acikkapi.services.identity import IdentityNotFound, IdentityService, Person
from acikkapi.settings import Settings

REFUSED = (LookupOutcome.NOT_FOUND, LookupOutcome.OTHER_PROVINCE)


class IdentityLookupRefused(DomainError):
    """A staff identity lookup was refused; one answer whatever the reason."""

    code = "IDENTITY_LOOKUP_REFUSED"
    message = "Bu T.C. Kimlik No ile başvuru kaydı yapılamıyor."


class TooManyIdentityLookups(RateLimited):
    """The officer has used up the hour's identity lookups."""

    code = "TOO_MANY_IDENTITY_LOOKUPS"
    message = ("Bir saat içinde yapabileceğiniz kimlik sorgulama sayısına ulaştınız. "
               "Lütfen daha sonra tekrar deneyiniz.")


@raises(TooManyIdentityLookups)
async def start_lookup(session: AsyncSession, settings: Settings, *, officer: User, tckn: str,
                       purpose: LookupPurpose) -> int:
    """Record a lookup about to be made; refused when the officer has used up the hour's allowance."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"lookup:{officer.id}"})
    made = await session.scalar(
        select(func.count()).select_from(IdentityLookup)
        .where(IdentityLookup.user_id == officer.id, IdentityLookup.created_at > func.now() - timedelta(hours=1)))
    if made >= settings.staff_identity_lookups_per_hour:
        raise TooManyIdentityLookups()
    lookup = IdentityLookup(user_id=officer.id, tckn=tckn, purpose=purpose)
    session.add(lookup)
    await session.flush()
    return lookup.id


async def look_up_applicant(identity: IdentityService, tckn: str, *, province_id: int | None,
                            same_as_residence: bool) -> tuple[LookupOutcome, Person | None]:
    """Ask the identity service (outside any transaction). A residence in another province is refused only
    when it would be the subject address; an address the officer picks is checked as the officer's input."""
    try:
        person = await identity.lookup(tckn)
    except IdentityNotFound:
        return LookupOutcome.NOT_FOUND, None
    except ServiceUnavailable:
        return LookupOutcome.UNAVAILABLE, None
    if same_as_residence and person.residence.province_code != province_id:
        return LookupOutcome.OTHER_PROVINCE, person
    return LookupOutcome.FOUND, person


async def finish_lookup(session: AsyncSession, lookup_id: int, outcome: LookupOutcome) -> None:
    await session.execute(update(IdentityLookup).where(IdentityLookup.id == lookup_id).values(outcome=outcome))


@raises(IdentityLookupRefused, ServiceUnavailable)
def found_person(outcome: LookupOutcome, person: Person | None) -> Person:
    """The person, or the one refusal every outcome but FOUND gets (an outage stays an outage)."""
    if outcome is LookupOutcome.UNAVAILABLE:
        raise ServiceUnavailable()
    if outcome in REFUSED or person is None:
        raise IdentityLookupRefused(field="tcKimlikNo")
    return person
