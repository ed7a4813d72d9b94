"""Arguments of the right GraphQL type but outside their domain: an id no column can hold is answered like
any unknown id, a date out of range is refused with its field. None of them reaches the database."""

from datetime import date, timedelta

import pytest

from acikkapi.models import Application, District, Place, Province, Routing, ServiceCategory
from acikkapi.services.checks import fits, id_number
from tests.applications.support import counts, submit_input
from tests.documents import ANSWER, REGISTER
from tests.helpers import (
    AKS_ANKARA, AYSE, MEHMET, YETKILI_ANKARA, istanbul_today, sign_in_to_apply, staff_sign_in, submit,
)

INT32_EDGES = [-2**31, -45157, -32769, 32768, 2**31 - 1]


def test_fits_follows_the_column_type():
    assert fits(32767, Province.id) and not fits(32768, Province.id) and not fits(-32769, District.province_id)
    assert fits(2**31 - 1, Place.id) and not fits(2**31, ServiceCategory.id)
    assert fits(2**62, Application.tracking_no) and not fits(2**63, Application.tracking_no)
    assert fits(None, Province.id)


@pytest.mark.parametrize("text", ["²", "١٢", "1" * 5001, "-1", "2147483648", ""])
def test_an_id_no_row_can_have_is_no_number(text):
    assert id_number(text, Routing.id) is None


def test_an_id_a_row_can_have_is_its_number():
    assert (id_number("2147483647", Routing.id), id_number("007", Routing.id)) == (2**31 - 1, 7)


class TestIds:
    @pytest.mark.parametrize("routing_id", ["²", "1" * 5001])
    async def test_a_routing_id_of_other_digits_or_no_size_is_not_found(self, world, routing_id):
        token = await staff_sign_in(world, YETKILI_ANKARA)
        result = (await world.gql(ANSWER, {"input": {"routingId": routing_id, "answer": "Cevap."}},
                                  token=token))["answerRouting"]
        assert result["code"] == "NOT_FOUND", result


class TestReferenceQueries:
    @pytest.mark.parametrize("province_id", INT32_EDGES)
    async def test_districts_of_a_plate_code_no_province_can_have_are_none(self, world, province_id):
        data = await world.gql("query($id: Int!) { districts(provinceId: $id) { id name } }", {"id": province_id})
        assert data == {"districts": []}

    @pytest.mark.parametrize("district_id", INT32_EDGES)
    async def test_places_of_an_unknown_district_are_none(self, world, district_id):
        data = await world.gql("query($id: Int!) { places(districtId: $id) { id name } }", {"id": district_id})
        assert data == {"places": []}


class TestSubjectAddress:
    async def test_a_province_id_out_of_range_is_an_address_mismatch(self, world):
        token = await sign_in_to_apply(world, MEHMET, "5351100001")
        district = (await world.gql("{ districts(provinceId: 6) { id } }"))["districts"][0]["id"]
        place = (await world.gql("query($id: Int!) { places(districtId: $id) { id } }", {"id": district}))
        before = await counts(world)
        result = await submit(world, token, "5351100001", sameAsResidence=False, subjectAddress="Atatürk Cad. 1",
                              provinceId=-45157, districtId=district, placeId=place["places"][0]["id"])
        assert (result["__typename"], result["code"], result["field"]) == (
            "ValidationFailed", "VALIDATION_FAILED", "subjectAddress"), result
        assert await counts(world) == before
        # the refusal rolled back: the same verified code still submits a corrected form
        corrected = await submit(world, token, "5351100001")
        assert corrected["__typename"] == "SubmitApplicationSuccess", corrected


class TestArrivalDate:
    async def register(self, world, token: str, arrival: date, phone: str) -> dict:
        variables = {"input": {"tcKimlikNo": AYSE["tckn"], "arrivalDate": arrival.isoformat(),
                               "application": await submit_input(world, phone)}}
        return (await world.gql(REGISTER, variables, token=token))["registerApplication"]

    @pytest.mark.parametrize("arrival", [date.min, date(1900, 1, 1), istanbul_today() - timedelta(days=400)],
                             ids=["year 1", "1900", "400 days ago"])
    async def test_an_arrival_date_more_than_a_year_ago_is_refused(self, world, arrival):
        token = await staff_sign_in(world, AKS_ANKARA)
        before = await counts(world)
        result = await self.register(world, token, arrival, "5351100002")
        assert (result["code"], result["field"]) == ("VALIDATION_FAILED", "arrivalDate"), result
        assert result["message"] == "Başvuru Geliş Tarihi bir yıldan eski olamaz."
        assert await counts(world) == before

    async def test_an_arrival_date_within_the_year_is_accepted(self, world):
        token = await staff_sign_in(world, AKS_ANKARA)
        result = await self.register(world, token, istanbul_today() - timedelta(days=300), "5351100003")
        assert result["__typename"] == "SubmitApplicationSuccess", result
