"""A bad day: the database does not answer. Clients are told so (DATABASE_UNAVAILABLE), never internals, and
nothing is logged as a bug."""

SETTINGS = {"database_url": "postgresql://nobody@127.0.0.1:9/nowhere"}  # nothing listens on port 9

LEAKS = ("Traceback", "asyncpg", "sqlalchemy", "127.0.0.1:9", "nowhere", "SELECT", "/work/", 'File "')


def assert_masked(body: dict) -> None:
    error = body["errors"][0]
    assert error["extensions"]["code"] == "DATABASE_UNAVAILABLE", body
    assert error["message"].startswith("Sistem şu anda yanıt veremiyor")
    assert not any(leak in str(body) for leak in LEAKS), body


async def test_a_query_gets_a_masked_error(world):
    response = await world.post({"query": "{ provinces { id } }"})
    assert response.status_code == 200
    assert_masked(response.json())


async def test_a_mutation_gets_a_masked_error(world):
    response = await world.post({"query": 'mutation { requestStaffCode(input: {tcKimlikNo: "10000000078", '
                                          'phone: "5321000001"}) { __typename } }'})
    assert response.status_code == 200
    assert_masked(response.json())


async def test_a_signed_request_gets_503(world):
    response = await world.post({"query": "{ me { firstName } }"}, token="x" * 43)
    assert (response.status_code, response.headers["retry-after"]) == (503, "5")
    assert response.headers["content-type"].startswith("application/json")
    assert_masked(response.json())


async def test_health_says_unavailable(world):
    response = await world.http.get("/health")
    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})
