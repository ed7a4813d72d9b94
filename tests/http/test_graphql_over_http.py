"""The /graphql endpoint as seen by an HTTP client: the GraphQL-over-HTTP specification's negotiation and status
codes, cheap refusal of abusive requests, clean error bodies, the multipart CSRF guard and streaming upload limits."""

import json
import logging
import struct
import zlib

import httpx
import pytest
from graphql import get_introspection_query

from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.validation_cache import _get_validate_cache

from acikkapi.schema import MAX_CACHED_DOCUMENT
from acikkapi.schema.limits import INTROSPECTION_DEPTH
from tests.helpers import AYSE, SUBMIT, first_category, sign_in_to_apply

SETTINGS = {"graphiql": True}  # where GraphiQL is offered, anyone may introspect

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
LEAKS = ("Traceback", 'File "', "/work/", "site-packages", "SELECT ", "sqlalchemy", "asyncpg")
TURKISH_LETTERS = set("çğıöşüÇĞİÖŞÜ")
MiB = 1024 * 1024


# --- helpers -------------------------------------------------------------------------------------------------------

async def send(world, body: bytes | str, *, content_type: str | None = JSON, accept: str | None = GRAPHQL_RESPONSE,
               headers: dict | None = None) -> httpx.Response:
    """A raw POST to /graphql: the body exactly as given, only the headers asked for."""
    all_headers = {"X-Forwarded-For": world.new_address(), **(headers or {})}
    if content_type is not None:
        all_headers["Content-Type"] = content_type
    if accept is not None:
        all_headers["Accept"] = accept
    request = world.http.build_request("POST", "/graphql", content=body, headers=all_headers)
    if accept is None:
        del request.headers["Accept"]  # httpx would send */*
    return await world.http.send(request)


async def query(world, document: str, *, accept: str | None = GRAPHQL_RESPONSE, **request) -> httpx.Response:
    return await send(world, json.dumps({"query": document, **request}), accept=accept)


def media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def assert_no_leak(response: httpx.Response) -> None:
    for leak in LEAKS:
        assert leak not in response.text, f"{leak!r} leaked in {response.status_code}: {response.text[:500]}"


def assert_refused(response: httpx.Response, status: int, *, code: str | None = None,
                   media: str = GRAPHQL_RESPONSE) -> dict:
    """An error response: the status, the media type, a JSON body of `errors` with a code and no `data`."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert media_type(response) == media, response.headers
    body = response.json()
    assert "data" not in body, body
    assert body["errors"] and isinstance(body["errors"][0]["extensions"]["code"], str), body
    if code is not None:
        assert body["errors"][0]["extensions"]["code"] == code, body
    assert_no_leak(response)
    return body


def assert_not_executed(response: httpx.Response, fragment: str) -> None:
    """A GraphQL request error (parse/validation): 400, `errors` mentioning `fragment`, no `data`."""
    assert response.status_code == 400, (response.status_code, response.text[:500])
    assert media_type(response) == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body, str(body)[:500]
    assert any(fragment in error["message"] for error in body["errors"]), body
    assert_no_leak(response)


def png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1×1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte + one red pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def submit_operations(category: tuple[int, int] = (1, 1), phone: str = "5320000099") -> str:
    application = {"sameAsResidence": True, "phone": phone, "subject": "Okul bahçesinin aydınlatılması talebi.",
                   "categories": [{"categoryId": category[0], "subcategoryId": category[1]}], "files": [None]}
    return json.dumps({"query": SUBMIT, "variables": {"input": application}})


FILE_MAP = json.dumps({"0": ["variables.input.files.0"]})


async def post_multipart(world, *, phone: str = "5320000099", headers: dict | None = None) -> httpx.Response:
    operations = submit_operations(await first_category(world), phone)
    return await world.http.post(
        "/graphql", data={"operations": operations, "map": FILE_MAP},
        files={"0": ("dilekce.png", png_1x1(), "image/png")},
        headers={"X-Forwarded-For": world.new_address(), "Accept": GRAPHQL_RESPONSE, **(headers or {})})


async def apply_session(world, phone: str) -> dict:
    """The Authorization header of a fresh APPLY session, the one kind of citizen session that may upload."""
    return {"Authorization": f"Bearer {await sign_in_to_apply(world, AYSE, phone)}"}


def deep_introspection(levels: int) -> str:
    """`__schema { types { fields { type { ofType { … } } } } }` with `levels` nested ofType."""
    inner = "name"
    for _ in range(levels):
        inner = f"ofType {{ {inner} }}"
    return f"{{ __schema {{ types {{ fields {{ type {{ {inner} }} }} }} }} }}"


def aliases(count: int, selection: str) -> str:
    return "{ " + " ".join(f"a{i}: {selection}" for i in range(count)) + " }"


# --- 1. the GraphQL-over-HTTP specification ------------------------------------------------------------------------

class TestContentNegotiation:
    async def test_a_post_accepting_graphql_response_json_gets_it(self, world):
        response = await query(world, "{ __typename }")
        assert response.status_code == 200
        assert media_type(response) == GRAPHQL_RESPONSE
        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_a_post_without_accept_gets_application_json(self, world):
        response = await query(world, "{ __typename }", accept=None)
        assert "accept" not in response.request.headers
        assert response.status_code == 200
        assert media_type(response) == JSON
        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_a_request_error_without_accept_is_200_without_data(self, world):
        response = await query(world, "{ __typename", accept=None)
        assert response.status_code == 200
        assert media_type(response) == JSON
        body = response.json()
        assert "data" not in body and body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED", body

    async def test_a_post_accepting_application_json_gets_application_json(self, world):
        response = await query(world, "{ __typename }", accept=JSON)
        assert response.status_code == 200
        assert media_type(response) == JSON
        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_a_post_accepting_anything_gets_application_json(self, world):
        response = await query(world, "{ __typename }", accept="*/*")
        assert response.status_code == 200
        assert media_type(response) == JSON
        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_naming_graphql_response_json_beside_anything_gets_it(self, world):
        response = await query(world, "{ __typename }", accept=f"{GRAPHQL_RESPONSE}, */*;q=0.8")
        assert response.status_code == 200
        assert media_type(response) == GRAPHQL_RESPONSE

    async def test_the_preferred_quality_wins(self, world):
        response = await query(world, "{ __typename }", accept=f"{GRAPHQL_RESPONSE};q=0.5, {JSON}")
        assert response.status_code == 200
        assert media_type(response) == JSON

    async def test_a_post_accepting_only_text_plain_is_not_acceptable(self, world):
        response = await query(world, "{ __typename }", accept="text/plain")
        assert_refused(response, 406, code="NOT_ACCEPTABLE", media=JSON)

    async def test_a_json_body_with_a_charset_parameter_is_accepted(self, world):
        response = await send(world, json.dumps({"query": "{ __typename }"}), content_type=f"{JSON}; charset=utf-8")
        assert response.status_code == 200
        assert response.json() == {"data": {"__typename": "Query"}}


class TestRequestErrorsAndStatusCodes:
    async def test_a_syntax_error_is_400_without_data(self, world):
        assert_not_executed(await query(world, "{ __typename"), "Syntax Error")

    async def test_an_unknown_field_is_400_without_data(self, world):
        response = await query(world, "{ noSuchField }")
        assert_not_executed(response, "noSuchField")
        assert response.json()["errors"][0]["locations"]

    async def test_a_syntax_error_accepting_application_json_is_200_without_data(self, world):
        response = await query(world, "{ __typename", accept=JSON)
        assert response.status_code == 200
        assert media_type(response) == JSON
        body = response.json()
        assert "data" not in body and body["errors"], body
        assert_no_leak(response)

    async def test_an_unknown_field_accepting_application_json_is_200_without_data(self, world):
        response = await query(world, "{ noSuchField }", accept=JSON)
        assert response.status_code == 200
        assert media_type(response) == JSON
        body = response.json()
        assert "data" not in body and body["errors"], body
        assert_no_leak(response)

    async def test_an_execution_error_is_200_with_null_data_and_a_turkish_unauthenticated_error(self, world):
        response = await query(world, "{ applicantProfile { tcKimlikNo } }")
        assert response.status_code == 200
        assert media_type(response) == GRAPHQL_RESPONSE
        body = response.json()
        assert "data" in body and body["data"] is None, body
        [error] = body["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert error["path"] == ["applicantProfile"]
        assert TURKISH_LETTERS & set(error["message"]) and "giriş" in error["message"], error
        assert_no_leak(response)

    async def test_a_get_query_works(self, world):
        response = await world.http.get("/graphql", params={"query": "{ __typename }"},
                                        headers={"Accept": GRAPHQL_RESPONSE})
        assert response.status_code == 200
        assert media_type(response) == GRAPHQL_RESPONSE
        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_a_get_mutation_is_405_with_an_allow_header(self, world):
        response = await world.http.get("/graphql", params={"query": "mutation { signOut { __typename } }"},
                                        headers={"Accept": GRAPHQL_RESPONSE})
        assert_refused(response, 405, code="METHOD_NOT_ALLOWED")
        assert "POST" in response.headers["allow"]

    @pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
    async def test_a_post_of_an_unsupported_content_type_is_415(self, world, content_type):
        body = json.dumps({"query": "{ __typename }"}) if content_type == "text/plain" else "query=%7B__typename%7D"
        response = await send(world, body, content_type=content_type)
        assert_refused(response, 415, code="UNSUPPORTED_MEDIA_TYPE")

    async def test_malformed_json_is_400(self, world):
        response = await send(world, '{"query": "{ __typename }"')
        assert_refused(response, 400, code="BAD_REQUEST")

    @pytest.mark.parametrize("body", [
        '"abc"', "123", "null", "[1,2]", "{}", '{"query": 5}', '{"query": null}',
        '{"query":"{__typename}","variables":"x"}', '{"query":"{__typename}","variables":[1]}',
        '{"query":"{__typename}","operationName":5}', '{"query":"{__typename}","extensions":"x"}',
    ])
    async def test_json_that_is_not_a_graphql_request_is_a_client_error(self, world, body):
        response = await send(world, body)
        assert 400 <= response.status_code < 500, (body, response.status_code, response.text[:500])
        assert media_type(response) in (GRAPHQL_RESPONSE, JSON)
        assert "data" not in response.json()
        assert isinstance(response.json()["errors"][0]["extensions"]["code"], str), response.text
        assert_no_leak(response)


# --- 2. abuse limits, refused before execution ---------------------------------------------------------------------

class TestAbuseLimits:
    async def test_a_query_deeper_than_the_limit_is_refused(self, world):
        levels = world.settings.max_query_depth + 1
        document = "{ " + "provinces { districts { " * (levels // 2 + 1) + "id" + " } }" * (levels // 2 + 1) + " }"
        response = await query(world, document)
        assert response.status_code == 400
        assert "data" not in response.json()
        assert any(error["extensions"]["code"] == "QUERY_TOO_DEEP" for error in response.json()["errors"])

    async def test_an_introspection_deeper_than_the_standard_query_is_refused(self, world):
        response = await query(world, deep_introspection(INTROSPECTION_DEPTH))
        assert_not_executed(response, "derinliği")
        assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"

    async def test_a_hostile_nesting_of_introspection_fields_is_refused(self, world):
        inner = "name"
        for _ in range(INTROSPECTION_DEPTH // 2):
            inner = f"fields {{ type {{ {inner} }} }}"
        response = await query(world, f"{{ __schema {{ types {{ {inner} }} }} }}")
        assert response.status_code == 400
        body = response.json()
        assert "data" not in body
        assert any(error["extensions"]["code"] == "QUERY_TOO_DEEP" for error in body["errors"]), body

    async def test_the_standard_introspection_query_runs(self, world):
        response = await query(world, get_introspection_query(descriptions=True))
        assert response.status_code == 200, response.text[:500]
        body = response.json()
        assert "errors" not in body, body["errors"]
        names = {t["name"] for t in body["data"]["__schema"]["types"]}
        assert {"Query", "Mutation", "SubmitApplicationInput", "Upload"} <= names

    async def test_a_query_within_the_depth_limit_runs(self, world):
        response = await query(world, "{ serviceCategories { id subcategories { id } } }")
        assert response.status_code == 200 and "errors" not in response.json(), response.text[:500]

    async def test_more_aliases_than_the_limit_are_refused_in_turkish_with_a_code(self, world):
        document = aliases(world.settings.max_aliases + 5, "__typename")
        response = await query(world, document)
        assert_not_executed(response, "takma ad (alias)")
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "TOO_MANY_ALIASES"
        assert f"en fazla {world.settings.max_aliases}" in error["message"]

    async def test_aliased_database_fields_past_the_limit_run_no_sql(self, world):
        with world.statements as statements:
            await query(world, "{ provinces { id } }")
        assert statements.statements, "the statement counter should see a province query"
        with world.statements as statements:
            response = await query(world, aliases(world.settings.max_aliases + 5, "provinces { id }"))
        assert_not_executed(response, "alias")
        assert statements.statements == []

    async def test_aliases_within_the_limit_run(self, world):
        response = await query(world, aliases(world.settings.max_aliases, "__typename"))
        assert response.status_code == 200 and "errors" not in response.json(), response.text[:500]

    async def test_a_document_with_more_tokens_than_the_limit_is_refused(self, world):
        document = "{ " + "__typename " * (world.settings.max_tokens + 10) + "}"
        assert_not_executed(await query(world, document), "tokens")

    async def test_a_long_document_is_answered_but_never_kept_in_the_document_caches(self, world):
        # Each cached document keeps its text: a long one is parsed and validated anew, so 1,024 of them up to
        # the body limit each cannot fill memory.
        caches = (_get_parse_cache(1024), _get_validate_cache(1024))
        long_document = "{ __typename }" + " " * (MAX_CACHED_DOCUMENT + 1) + "# " + world.new_address()
        short_document = "{ __typename } # " + world.new_address()
        before = [cache.cache_info().currsize for cache in caches]
        for _ in range(2):
            response = await query(world, long_document)
            assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}
        assert [cache.cache_info().currsize for cache in caches] == before
        assert (await query(world, short_document)).status_code == 200
        assert [cache.cache_info().currsize for cache in caches] == [size + 1 for size in before]

    async def test_a_body_above_the_limit_with_a_content_length_is_413(self, world):
        padding = " " * (world.settings.max_body_bytes + 1)
        response = await send(world, '{"query": "{ __typename }"' + padding + "}")
        assert_refused(response, 413, code="PAYLOAD_TOO_LARGE")

    async def test_a_chunked_body_above_the_limit_is_413(self, world):
        async def body():
            yield b'{"query": "{ __typename }"'
            for _ in range(world.settings.max_body_bytes // (64 * 1024) + 2):
                yield b" " * (64 * 1024)
            yield b"}"

        response = await world.http.post("/graphql", content=body(),
                                         headers={"Content-Type": JSON, "Accept": GRAPHQL_RESPONSE})
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert_refused(response, 413, code="PAYLOAD_TOO_LARGE")

    async def test_a_batch_within_the_limit_returns_a_list(self, world):
        count = world.settings.max_batch_operations
        response = await send(world, json.dumps([{"query": "{ __typename }"}] * count))
        assert response.status_code == 200
        assert media_type(response) == GRAPHQL_RESPONSE
        assert response.json() == [{"data": {"__typename": "Query"}}] * count

    async def test_a_batch_above_the_limit_is_400(self, world):
        count = world.settings.max_batch_operations + 1
        response = await send(world, json.dumps([{"query": "{ __typename }"}] * count))
        assert_refused(response, 400, code="BAD_REQUEST")


# --- 3. no internals in any response -------------------------------------------------------------------------------

BAD_REQUESTS = {
    "syntax error": ('{"query": "{ __typename"}', JSON, GRAPHQL_RESPONSE),
    "unknown field": ('{"query": "{ noSuchField }"}', JSON, JSON),
    "unauthenticated": ('{"query": "{ applicantProfile { tcKimlikNo } }"}', JSON, GRAPHQL_RESPONSE),
    "tracking unauthenticated": ('{"query": "{ trackedApplication { trackingNo } }"}', JSON, GRAPHQL_RESPONSE),
    "bad variables": ('{"query": "query($id: Int!) { districts(provinceId: $id) { id } }", '
                      '"variables": {"id": "altı"}}', JSON, GRAPHQL_RESPONSE),
    "malformed json": ('{"query":', JSON, GRAPHQL_RESPONSE),
    "not an object": ("[1,2]", JSON, GRAPHQL_RESPONSE),
    "query not a string": ('{"query": 5}', JSON, GRAPHQL_RESPONSE),
    "variables not an object": ('{"query":"{__typename}","variables":"x"}', JSON, GRAPHQL_RESPONSE),
    "operationName not a string": ('{"query":"{__typename}","operationName":5}', JSON, GRAPHQL_RESPONSE),
    "unknown operationName": ('{"query":"query A {__typename}","operationName":"B"}', JSON, GRAPHQL_RESPONSE),
    "unsupported content type": ('{"query":"{__typename}"}', "text/plain", GRAPHQL_RESPONSE),
    "not acceptable": ('{"query":"{__typename}"}', JSON, "text/plain"),
    "multipart without preflight": ("--x\r\n", "multipart/form-data; boundary=x", GRAPHQL_RESPONSE),
}


class TestNoInternalsLeak:
    @pytest.mark.parametrize("name", BAD_REQUESTS)
    async def test_an_error_response_carries_no_trace_sql_or_path(self, world, name):
        body, content_type, accept = BAD_REQUESTS[name]
        response = await send(world, body, content_type=content_type, accept=accept)
        assert response.status_code < 500, (name, response.status_code, response.text[:500])
        assert response.json()["errors"], response.text
        assert_no_leak(response)

    async def test_a_broken_multipart_with_preflight_carries_no_trace(self, world):
        response = await send(world, "--x\r\nnot a part", content_type="multipart/form-data; boundary=x",
                              headers={"GraphQL-Preflight": "1", **await apply_session(world, "5320000501")})
        assert_refused(response, 400, code="BAD_REQUEST")


# --- 4. the multipart CSRF guard -----------------------------------------------------------------------------------

class TestMultipartPreflight:
    async def test_a_multipart_post_without_a_preflight_header_is_400(self, world):
        response = await post_multipart(world)
        assert_refused(response, 400, code="BAD_REQUEST")

    async def test_a_multipart_post_with_a_preflight_header_is_parsed_and_executed(self, world):
        response = await post_multipart(world, phone="5320000502", headers={
            "GraphQL-Preflight": "1", **await apply_session(world, "5320000502")})
        assert response.status_code == 200, response.text[:500]
        assert media_type(response) == GRAPHQL_RESPONSE
        body = response.json()
        assert "errors" not in body, body
        payload = body["data"]["submitApplication"]
        assert payload["__typename"] == "SubmitApplicationSuccess", payload


# --- 5. an oversized upload is refused while it streams ------------------------------------------------------------

class TestStreamingUploadLimit:
    async def test_a_file_over_the_limit_is_refused_with_413_before_the_body_ends(self, world):
        boundary = "acikkapi-boundary"
        chunk = b"\0" * (64 * 1024)
        file_chunks = (world.settings.max_file_bytes + MiB) // len(chunk)  # 11 MiB of file data
        extra_chunks = 40 * MiB // len(chunk)  # then up to 40 MiB more
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{submit_operations()}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{FILE_MAP}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"b%C3%BCy%C3%BCk.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + png_1x1()
        tail = f"\r\n--{boundary}--\r\n".encode()
        total = len(head) + (file_chunks + extra_chunks) * len(chunk) + len(tail)
        sent = 0

        async def body():
            nonlocal sent
            for piece in [head, *[chunk] * (file_chunks + extra_chunks), tail]:
                sent += len(piece)
                yield piece

        signed_in = await apply_session(world, "5320000503")
        try:
            response = await world.http.post(
                "/graphql", content=body(),
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "Accept": GRAPHQL_RESPONSE,
                         "GraphQL-Preflight": "1", "X-Forwarded-For": world.new_address(), **signed_in})
        except (httpx.WriteError, httpx.ReadError, httpx.RemoteProtocolError):
            response = None  # the server hung up mid-upload: also a refusal, as long as it came early
        if response is not None:
            assert_refused(response, 413, code="FILE_TOO_LARGE")
            assert response.json()["errors"][0]["message"] == "“büyük.png” 10MB sınırını aşıyor."
        assert sent < total, f"the whole {total}-byte body was read ({sent} bytes sent) although the file " \
                             f"passed {world.settings.max_file_bytes} bytes after the first {len(head)}"


# --- 6. a client's own mistake is a client error with a stable code, never "unexpected" ---------------------------

TRACKING_CODE = """
mutation($input: RequestTrackingCodeInput!) {
  requestTrackingCode(input: $input) { __typename }
}"""


@pytest.fixture
def error_log(caplog):
    """Records of the server's error loggers (the server runs in this process)."""
    caplog.set_level(logging.ERROR, logger="acikkapi")
    return lambda: [record for record in caplog.records
                    if record.name.startswith("acikkapi") and record.levelno >= logging.ERROR]


class TestClientMistakes:
    @pytest.mark.parametrize("tracking_no", ["bir", 2**31, 2**40, 1.5])
    async def test_a_tracking_number_of_the_wrong_type_is_a_400_bad_user_input(self, world, error_log,
                                                                                 tracking_no):
        variables = {"input": {"trackingNo": tracking_no, "tcKimlikNo": AYSE["tckn"]}}
        response = await query(world, TRACKING_CODE, variables=variables)
        body = assert_refused(response, 400, code="BAD_USER_INPUT")
        [error] = body["errors"]
        assert error["message"] == "“$input” değişkeninin değeri geçersiz.", error
        assert "trackingNo" in error["extensions"]["detail"]
        assert error_log() == []

    async def test_with_application_json_it_is_200_without_data(self, world, error_log):
        variables = {"input": {"trackingNo": "bir", "tcKimlikNo": AYSE["tckn"]}}
        response = await query(world, TRACKING_CODE, variables=variables, accept=JSON)
        body = assert_refused(response, 200, code="BAD_USER_INPUT", media=JSON)
        assert body["errors"][0]["message"] == "“$input” değişkeninin değeri geçersiz."
        assert error_log() == []

    async def test_an_int_literal_over_32_bits_is_a_400_bad_user_input(self, world, error_log):
        document = 'mutation { requestTrackingCode(input: {trackingNo: 99999999999, tcKimlikNo: "1"}) { __typename } }'
        body = assert_refused(await query(world, document), 400, code="BAD_USER_INPUT")
        assert "99999999999" in body["errors"][0]["extensions"]["detail"]
        assert error_log() == []

    @pytest.mark.parametrize("files", [["not-a-file"], [{"name": "x.pdf"}], [1]])
    async def test_a_file_in_a_json_request_is_a_400_invalid_upload_even_anonymously(self, world, error_log, files):
        variables = {"input": {"sameAsResidence": True, "phone": "5320000099", "subject": "Konu",
                               "categories": [{"categoryId": 1, "subcategoryId": 1}], "files": files}}
        body = assert_refused(await query(world, SUBMIT, variables=variables), 400, code="INVALID_UPLOAD")
        assert "multipart" in body["errors"][0]["message"]
        assert error_log() == []

    async def test_a_file_in_a_json_request_of_a_signed_in_applicant_is_refused_the_same(self, world, error_log):
        token = await sign_in_to_apply(world, AYSE, "5320000504")
        variables = {"input": {"sameAsResidence": True, "phone": "5320000504", "subject": "Konu",
                               "categories": [{"categoryId": 1, "subcategoryId": 1}], "files": ["not-a-file"]}}
        response = await send(world, json.dumps({"query": SUBMIT, "variables": variables}),
                              headers={"Authorization": f"Bearer {token}"})
        assert_refused(response, 400, code="INVALID_UPLOAD")
        assert error_log() == []

    @pytest.mark.parametrize("document, code", [
        ("{ __typename", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
    ])
    async def test_every_request_error_has_a_code(self, world, document, code):
        assert_refused(await query(world, document), 400, code=code)


# --- 7. introspection where GraphiQL is offered ---------------------------------------------------------------------

class TestGraphiQL:
    async def test_the_graphiql_page_is_served_to_a_browser(self, world):
        response = await world.http.get("/graphql", headers={"Accept": "text/html"})
        assert response.status_code == 200
        assert media_type(response) == "text/html"
        assert "graphiql" in response.text.lower()


# --- 8. /graphql answers are never cached ----------------------------------------------------------------------------

class TestNoStore:
    @pytest.mark.parametrize("document", ["{ __typename }", "{ __typename", "{ applicantProfile { tcKimlikNo } }"])
    async def test_every_graphql_answer_says_no_store(self, world, document):
        response = await query(world, document)
        assert response.headers["cache-control"] == "no-store"

    async def test_a_refused_request_says_no_store(self, world):
        response = await send(world, "{}", content_type="text/plain")
        assert response.status_code == 415
        assert response.headers["cache-control"] == "no-store"
