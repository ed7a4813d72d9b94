"""A staff lookup of a person by T.C. Kimlik No (services/staff_lookups.py): recorded and counted before the
call, the call outside any transaction, its outcome recorded after."""

from acikkapi.context import Context
from acikkapi.models import LookupPurpose
from acikkapi.services import staff_lookups
from acikkapi.services.errors import raises
from acikkapi.services.identity import Person


@raises(*staff_lookups.start_lookup.raises, *staff_lookups.found_person.raises)
async def person_of(context: Context, tckn: str, purpose: LookupPurpose, *, province_id: int | None = None,
                    same_as_residence: bool = False) -> Person:
    async with context.mutation() as session:
        lookup_id = await staff_lookups.start_lookup(session, context.settings, officer=context.actor.user,
                                                     tckn=tckn, purpose=purpose)
    outcome, person = await staff_lookups.look_up_applicant(context.services.identity, tckn,
                                                            province_id=province_id,
                                                            same_as_residence=same_as_residence)
    async with context.mutation() as session:
        await staff_lookups.finish_lookup(session, lookup_id, outcome)
    return staff_lookups.found_person(outcome, person)
