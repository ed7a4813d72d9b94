"""Every try at a code counts: concurrent, aliased and batched verifyCode calls."""

import asyncio

from tests.helpers import AYSE, VERIFY, ZEYNEP
from tests.signin.support import FATMA, apply_code, challenge_row, other_code, verify


def aliased_verifies(count: int) -> str:
    fields = "\n".join(
        f"""  try{n}: verifyCode(challengeId: $id, code: $code{n}) {{
    __typename
    ... on SignedIn {{ token }}
    ... on Error {{ code message }}
  }}""" for n in range(count))
    variables = ", ".join(f"$code{n}: String!" for n in range(count))
    return f"mutation($id: ID!, {variables}) {{\n{fields}\n}}"


class TestConcurrentVerifyCode:
    async def test_twenty_concurrent_right_codes_open_exactly_one_session(self, world):
        challenge_id, code = await apply_code(world, AYSE, "5320000201")
        body = {"query": VERIFY, "variables": {"id": challenge_id, "code": code}}
        responses = await asyncio.gather(*(world.post(body) for _ in range(20)))
        assert all(response.status_code == 200 for response in responses)
        results = [response.json() for response in responses]
        assert all("errors" not in result for result in results), results
        payloads = [result["data"]["verifyCode"] for result in results]
        signed_in = [p for p in payloads if p["__typename"] == "SignedIn"]
        refused = [p for p in payloads if p["__typename"] != "SignedIn"]
        assert len(signed_in) == 1, payloads
        assert len(refused) == 19
        assert all((p["__typename"], p["code"]) == ("CodeInvalid", "CODE_INVALID") for p in refused), refused
        sessions = await world.sql("SELECT count(*) AS n FROM auth_session WHERE phone = $1", "5320000201")
        assert sessions[0]["n"] == 1


class TestCountingEveryAttempt:
    async def test_aliased_wrong_codes_in_one_request_each_use_a_try(self, world):
        challenge_id, code = await apply_code(world, ZEYNEP, "5320000211")
        variables = {"id": challenge_id, **{f"code{n}": other_code(code, n + 1) for n in range(5)}}
        data = await world.gql(aliased_verifies(5), variables)
        assert [data[f"try{n}"]["code"] for n in range(5)] == ["CODE_WRONG"] * 5, data
        assert (await challenge_row(world, challenge_id))["attempts"] == 5
        result = await verify(world, challenge_id, code)
        assert (result["__typename"], result["code"]) == ("TooManyAttempts", "TOO_MANY_ATTEMPTS")

    async def test_aliased_right_code_after_five_wrong_ones_is_refused(self, world):
        challenge_id, code = await apply_code(world, FATMA, "5320000212")
        codes = [other_code(code, n + 1) for n in range(5)] + [code]
        variables = {"id": challenge_id, **{f"code{n}": c for n, c in enumerate(codes)}}
        data = await world.gql(aliased_verifies(6), variables)
        assert data["try5"]["__typename"] == "TooManyAttempts", data
        assert data["try5"]["code"] == "TOO_MANY_ATTEMPTS"
        assert (await challenge_row(world, challenge_id))["consumed_at"] is None

    async def test_batched_wrong_codes_each_use_a_try(self, world):
        challenge_id, code = await apply_code(world, AYSE, "5320000213")
        batch = [{"query": VERIFY, "variables": {"id": challenge_id, "code": other_code(code, n + 1)}}
                 for n in range(world.settings.max_batch_operations)]
        assert len(batch) == 5
        response = await world.post(batch)
        assert response.status_code == 200, response.text
        results = response.json()
        assert isinstance(results, list) and len(results) == 5, results
        assert [r["data"]["verifyCode"]["code"] for r in results] == ["CODE_WRONG"] * 5, results
        assert (await challenge_row(world, challenge_id))["attempts"] == 5
        result = await verify(world, challenge_id, code)
        assert (result["__typename"], result["code"]) == ("TooManyAttempts", "TOO_MANY_ATTEMPTS")

    async def test_batch_over_the_limit_is_refused_without_using_tries(self, world):
        challenge_id, code = await apply_code(world, ZEYNEP, "5320000214")
        batch = [{"query": VERIFY, "variables": {"id": challenge_id, "code": other_code(code, n + 1)}}
                 for n in range(world.settings.max_batch_operations + 1)]
        response = await world.post(batch)
        assert response.status_code in (400, 413), response.text
        assert (await challenge_row(world, challenge_id))["attempts"] == 0
        assert (await verify(world, challenge_id, code))["__typename"] == "SignedIn"
