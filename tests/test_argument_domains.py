"""Arguments of the right GraphQL type but outside their domain: an id no column can hold is answered like
any unknown id, a date out of range is refused with its field. None of them reaches the database."""

import pytest

from acikkapi.models import Application, District, Place, Province, ServiceCategory
from acikkapi.services.checks import fits
from tests.applications.support import counts
from tests.helpers import MEHMET, sign_in_to_apply, submit

INT32_EDGES = [-2**31, -45157, -32769, 32768, 2**31 - 1]


def test_fits_follows_the_column_type():
    assert fits(32767, Province.id) and not fits(32768, Province.id) and not fits(-32769, District.province_id)
    assert fits(2**31 - 1, Place.id) and not fits(2**31, ServiceCategory.id)
    assert fits(2**62, Application.tracking_no) and not fits(2**63, Application.tracking_no)
    assert fits(None, Province.id)


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
            "ValidationError", "VALIDATION_FAILED", "subjectAddress"), result
        assert await counts(world) == before
        # the refusal rolled back: the same verified code still submits a corrected form
        corrected = await submit(world, token, "5351100001")
        assert corrected["__typename"] == "SubmitApplicationSuccess", corrected

