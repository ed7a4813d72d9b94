"""Multipart uploads at the HTTP edge: who may send a body at all (decided before it is read), how many are read
at once, and the Turkish, coded refusals of a file too large or too many files."""

import asyncio
import json

import httpx
import pytest

from tests.applications.support import counts, pdf_bytes, png_bytes
from tests.helpers import (
    AKS_ANKARA, AYSE, MIA_ANKARA, SUBMIT, first_category, sign_in_to_apply, staff_session, staff_sign_in,
)

SETTINGS = {"max_concurrent_uploads": 1}

GRAPHQL_RESPONSE = "application/graphql-response+json"
MiB = 1024 * 1024
BOUNDARY = "acikkapi-test-sinir"

REGISTER = """
mutation($input: RegisterApplicationInput!) {
  registerApplication(input: $input) { __typename ... on Error { code } }
}"""


def part(name: str, content: bytes, *, file_name: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{file_name}"' if file_name is not None else "")
    kind = "\r\nContent-Type: application/octet-stream" if file_name is not None else ""
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}{kind}\r\n\r\n".encode() + content + b"\r\n"


def operations(document: str, variables: dict, file_path: str, count: int) -> bytes:
    """The `operations` and `map` parts for `count` files placed at `file_path`.0, .1, …"""
    mapping = {str(i): [f"{file_path}.{i}"] for i in range(count)}
    return (part("operations", json.dumps({"query": document, "variables": variables}).encode())
            + part("map", json.dumps(mapping).encode()))


async def submit_operations(world, phone: str, count: int) -> bytes:
    category, subcategory = await first_category(world)
    application = {"sameAsResidence": True, "phone": phone, "subject": "Yol bakım ve onarım talebi.",
                   "categories": [{"categoryId": category, "subcategoryId": subcategory}], "files": [None] * count}
    return operations(SUBMIT, {"input": application}, "variables.input.files", count)


def headers(world, token: str | None = None) -> dict:
    result = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Accept": GRAPHQL_RESPONSE,
              "GraphQL-Preflight": "1", "X-Forwarded-For": world.new_address()}
    if token:
        result["Authorization"] = f"Bearer {token}"
    return result


async def post(world, body, token: str | None = None) -> httpx.Response:
    return await world.http.post("/graphql", content=body, headers=headers(world, token))


def assert_refused(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:500])
    body = response.json()
    assert "data" not in body, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, body
    return error


class TestWhoMayUpload:
    async def test_an_anonymous_multipart_request_is_refused_in_turkish(self, world):
        before = await counts(world)
        body = await submit_operations(world, "5320000601", 1) + part("0", png_bytes(), file_name="a.png")
        error = assert_refused(await post(world, body + f"--{BOUNDARY}--\r\n".encode()), 403, "UPLOAD_NOT_ALLOWED")
        assert error["message"].startswith("Dosya yalnızca başvuru oturumunda"), error
        assert await counts(world) == before

    async def test_an_anonymous_upload_is_refused_before_its_body_is_read(self, world):
        # Five 9 MiB files: each under the per-file limit, together well under the request limit.
        head = await submit_operations(world, "5320000602", 5)
        chunk = b"\0" * (256 * 1024)
        pieces = [head]
        for i in range(5):
            pieces.append(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{i}\"; filename=\"{i}.pdf\"\r\n"
                          f"Content-Type: application/pdf\r\n\r\n".encode())
            pieces.extend([chunk] * (9 * MiB // len(chunk)))
            pieces.append(b"\r\n")
        pieces.append(f"--{BOUNDARY}--\r\n".encode())
        total, sent = sum(len(piece) for piece in pieces), 0

        async def body():
            nonlocal sent
            for piece in pieces:
                sent += len(piece)
                yield piece

        try:
            response = await post(world, body())
        except (httpx.WriteError, httpx.ReadError, httpx.RemoteProtocolError):
            response = None  # the server answered and hung up without reading the rest
        if response is not None:
            assert_refused(response, 403, "UPLOAD_NOT_ALLOWED")
        assert sent < total / 2, f"{sent} of {total} bytes were read for an anonymous request"

    async def test_a_mia_may_not_upload(self, world):
        token = await staff_session(world, MIA_ANKARA["tckn"])
        body = await submit_operations(world, "5320000603", 1) + part("0", png_bytes(), file_name="a.png")
        assert_refused(await post(world, body + f"--{BOUNDARY}--\r\n".encode(), token), 403, "UPLOAD_NOT_ALLOWED")

    async def test_an_aks_may_upload(self, world):
        token = await staff_sign_in(world, AKS_ANKARA)
        category, subcategory = await first_category(world)
        application = {"sameAsResidence": True, "phone": "5320000604", "subject": "Banko başvurusu.",
                       "categories": [{"categoryId": category, "subcategoryId": subcategory}], "files": [None]}
        variables = {"input": {"tcKimlikNo": "123", "arrivalDate": "2024-01-02", "application": application}}
        body = (operations(REGISTER, variables, "variables.input.application.files", 1)
                + part("0", pdf_bytes(), file_name="dilekce.pdf") + f"--{BOUNDARY}--\r\n".encode())
        response = await post(world, body, token)
        assert response.status_code == 200, response.text[:500]
        body = response.json()
        assert "errors" not in body and body["data"]["registerApplication"]["__typename"], body  # it ran

    async def test_an_applicant_may_upload(self, world):
        token = await sign_in_to_apply(world, AYSE, "5320000605")
        body = (await submit_operations(world, "5320000605", 1) + part("0", png_bytes(), file_name="kroki.png")
                + f"--{BOUNDARY}--\r\n".encode())
        response = await post(world, body, token)
        assert response.status_code == 200, response.text[:500]
        assert response.json()["data"]["submitApplication"]["__typename"] == "SubmitApplicationSuccess"


class TestConcurrentUploads:
    async def test_an_upload_past_the_bound_gets_503_with_retry_after_until_one_ends(self, world):
        assert world.settings.max_concurrent_uploads == 1
        holder = await sign_in_to_apply(world, AYSE, "5320000611")
        prober = await sign_in_to_apply(world, AYSE, "5320000612")
        head_sent, release = asyncio.Event(), asyncio.Event()

        async def slow_body():
            yield await submit_operations(world, "5320000611", 1) + part("0", b"", file_name="kroki.png")[:-2]
            head_sent.set()  # httpx asks for more once the head is on the wire
            await release.wait()
            yield png_bytes() + f"\r\n--{BOUNDARY}--\r\n".encode()

        async def probe() -> httpx.Response:
            # categories that do not exist: refused after the files are read, the session stays usable
            body = operations(SUBMIT, {"input": {"sameAsResidence": True, "phone": "5320000612", "subject": "Konu",
                                                 "categories": [{"categoryId": 999, "subcategoryId": 999}],
                                                 "files": [None]}}, "variables.input.files", 1)
            return await post(world, body + part("0", png_bytes(), file_name="a.png") + f"--{BOUNDARY}--\r\n".encode(),
                              prober)

        slow = asyncio.create_task(post(world, slow_body(), holder))
        await head_sent.wait()
        deadline = asyncio.get_running_loop().time() + 10
        while (response := await probe()).status_code != 503:
            # the probe went through before the held upload reached the server; try again
            assert response.status_code == 200 and not slow.done(), response.text[:500]
            assert asyncio.get_running_loop().time() < deadline, "the held upload never took its slot"
        assert "tekrar deneyiniz" in assert_refused(response, 503, "UPLOADS_BUSY")["message"]
        assert response.headers["retry-after"] == str(world.settings.upload_retry_after_seconds)

        release.set()
        held = await slow
        assert held.status_code == 200, held.text[:500]
        assert held.json()["data"]["submitApplication"]["__typename"] == "SubmitApplicationSuccess"
        after = await probe()
        assert after.status_code == 200, after.text[:500]
        assert after.json()["data"]["submitApplication"]["__typename"] == "ValidationFailed"


class TestRefusedFiles:
    @pytest.mark.parametrize("sent_name, shown", [("rapor.pdf", "rapor.pdf"), ("d%C3%BCz%C3%A7e.pdf", "düzçe.pdf")])
    async def test_a_file_over_the_limit_is_refused_naming_it(self, world, sent_name, shown):
        token = await sign_in_to_apply(world, AYSE, "5320000621")
        before = await counts(world)
        content = pdf_bytes() + b"\0" * world.settings.max_file_bytes
        body = (await submit_operations(world, "5320000621", 1) + part("0", content, file_name=sent_name)
                + f"--{BOUNDARY}--\r\n".encode())
        error = assert_refused(await post(world, body, token), 413, "FILE_TOO_LARGE")
        assert error["message"] == f"“{shown}” 10MB sınırını aşıyor."
        assert await counts(world) == before

    async def test_more_files_than_allowed_are_refused_in_turkish(self, world):
        limit = world.settings.max_files_per_request
        token = await sign_in_to_apply(world, AYSE, "5320000622")
        before = await counts(world)
        body = await submit_operations(world, "5320000622", limit + 1)
        for i in range(limit + 1):
            body += part(str(i), png_bytes(rgb=(i, 0, 0)), file_name=f"{i}.png")
        error = assert_refused(await post(world, body + f"--{BOUNDARY}--\r\n".encode(), token), 400,
                               "TOO_MANY_FILES")
        assert error["message"] == f"En fazla {limit} dosya eklenebilir."
        assert await counts(world) == before
