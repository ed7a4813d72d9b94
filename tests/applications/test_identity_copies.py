"""KVKK: the identity service's answer is kept with a code challenge and then with the applying session only
as long as it is needed: the challenge drops it when the session opens, the session when the application is
submitted."""

import hashlib

from tests.helpers import AYSE, REQUEST_APPLY, VERIFY, apply_input, sign_in_to_apply, submit

PROFILE = "{ applicantProfile { tcKimlikNo firstName } }"


async def session_row(world, token: str):
    [row] = await world.sql("SELECT * FROM auth_session WHERE token_hash = $1", hashlib.sha256(token.encode()).digest())
    return row


async def test_the_challenge_drops_its_copy_when_the_session_opens(world):
    phone = "5360000001"
    challenge = (await world.gql(REQUEST_APPLY, {"input": apply_input(AYSE, phone)}))["requestApplicationCode"]
    [row] = await world.sql("SELECT identity FROM otp_challenge WHERE id = $1::uuid", challenge["id"])
    assert row["identity"] is not None  # what the code will grant
    code = await world.last_code(phone)
    verified = (await world.gql(VERIFY, {"id": challenge["id"], "code": code}))["verifyCode"]
    assert verified["__typename"] == "SignedIn", verified
    [row] = await world.sql("SELECT identity FROM otp_challenge WHERE id = $1::uuid", challenge["id"])
    assert row["identity"] is None
    assert (await session_row(world, verified["token"]))["identity"] is not None
    profile = (await world.gql(PROFILE, token=verified["token"]))["applicantProfile"]
    assert profile["tcKimlikNo"] == AYSE["tckn"]


async def test_the_session_drops_its_copy_when_the_application_is_submitted(world):
    phone = "5360000002"
    token = await sign_in_to_apply(world, AYSE, phone)
    result = await submit(world, token, phone)
    assert result["__typename"] == "SubmitApplicationSuccess", result
    row = await session_row(world, token)
    assert row["application_id"] is not None  # it now only answers a repeated submit
    assert row["identity"] is None


async def test_a_refused_submission_keeps_the_copy_for_the_corrected_one(world):
    phone = "5360000003"
    token = await sign_in_to_apply(world, AYSE, phone)
    refused = await submit(world, token, phone, subject=" ")
    assert refused["__typename"] == "ValidationFailed", refused
    assert (await session_row(world, token))["identity"] is not None
    result = await submit(world, token, phone)
    assert result["__typename"] == "SubmitApplicationSuccess", result
    assert (await session_row(world, token))["identity"] is None
