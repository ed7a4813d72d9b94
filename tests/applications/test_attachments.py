"""Dosyalar: attachments through the GraphQL multipart request spec, checked by content, stored under
generated names."""

import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.applications.support import (
    DOCX_MIME, JPEG_MIME, PDF_MIME, PNG_MIME, XLSX_MIME, counts, docx_bytes, elf_bytes, exe_bytes, html_bytes,
    jpeg_bytes, pdf_bytes, png_bytes, stored_files, submit_files, submit_input, submit_multipart, xlsx_bytes,
)
from tests.helpers import AYSE, SUBMIT, sign_in_to_apply

KEY = re.compile(r"[0-9a-f]{32}")

FILE_TYPES = [
    ("kroki.png", png_bytes, PNG_MIME),
    ("fotograf.jpg", jpeg_bytes, JPEG_MIME),
    ("Fotoğraf Çekimi.JPEG", jpeg_bytes, JPEG_MIME),
    ("dilekçe.pdf", pdf_bytes, PDF_MIME),
    ("ek-belge.docx", docx_bytes, DOCX_MIME),
    ("liste.xlsx", xlsx_bytes, XLSX_MIME),
]


async def attachments_of(world, tracking_no: int) -> list:
    return await world.sql(
        "SELECT attachment.* FROM attachment JOIN application ON application.id = attachment.application_id "
        "WHERE application.tracking_no = $1 ORDER BY attachment.file_name", tracking_no)


def stored_path(world, key: str) -> Path:
    return Path(world.settings.storage_dir).resolve() / key[:2] / key


def assert_stored(world, row, content: bytes) -> None:
    """The row's bytes are kept under a generated key inside the storage directory."""
    assert KEY.fullmatch(row["storage_key"]), row["storage_key"]
    path = stored_path(world, row["storage_key"])
    assert path.is_file()
    assert path.read_bytes() == content
    assert row["size"] == len(content)
    assert row["sha256"] == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("case, name, make, mime", [(i, *t) for i, t in enumerate(FILE_TYPES)],
                         ids=[t[0] for t in FILE_TYPES])
async def test_an_allowed_file_is_accepted_and_stored_under_a_generated_name(world, case, name, make, mime):
    phone = f"53300002{case:02d}"
    content = make()
    token = await sign_in_to_apply(world, AYSE, phone)
    before = stored_files(world)
    # the client's own content type is not trusted either way
    result = await submit_files(world, token, phone, [(name, content, "application/octet-stream")])
    assert result["__typename"] == "SubmitApplicationSuccess", result
    rows = await attachments_of(world, result["trackingNo"])
    assert len(rows) == 1
    row = rows[0]
    assert row["file_name"] == name
    assert row["content_type"] == mime
    assert_stored(world, row, content)
    new = [path for path in stored_files(world) if path not in before]
    assert [path.name for path in new] == [row["storage_key"]]
    assert name not in {path.name for path in stored_files(world)}


async def test_the_content_type_is_decided_by_the_content(world):
    phone = "5330000220"
    token = await sign_in_to_apply(world, AYSE, phone)
    files = [("fotograf.jpg", jpeg_bytes(), "image/png"), ("kroki.png", png_bytes(), "text/html"),
             ("belge.pdf", pdf_bytes(), "application/x-msdownload")]
    result = await submit_files(world, token, phone, files)
    assert result["__typename"] == "SubmitApplicationSuccess", result
    types = {row["file_name"]: row["content_type"] for row in await attachments_of(world, result["trackingNo"])}
    assert types == {"fotograf.jpg": JPEG_MIME, "kroki.png": PNG_MIME, "belge.pdf": PDF_MIME}


@pytest.mark.parametrize("case, client_name, shown", [
    (0, "../../etc/passwd.png", "passwd.png"),
    (1, "..\\..\\..\\windows\\win.png", "win.png"),
    (2, "/tmp/acikkapi-kacak.png", "acikkapi-kacak.png"),
    (3, "../" * 10 + "tmp/acikkapi-kacak2.png", "acikkapi-kacak2.png"),
])
async def test_a_client_path_in_the_file_name_does_not_escape(world, case, client_name, shown):
    phone = f"53300002{30 + case}"
    content = png_bytes(rgb=(case, 1, 2))
    token = await sign_in_to_apply(world, AYSE, phone)
    before = stored_files(world)
    result = await submit_files(world, token, phone, [(client_name, content, "image/png")])
    assert result["__typename"] == "SubmitApplicationSuccess", result
    [row] = await attachments_of(world, result["trackingNo"])
    assert row["file_name"] == shown
    assert_stored(world, row, content)
    root = Path(world.settings.storage_dir).resolve()
    new = [path for path in stored_files(world) if path not in before]
    assert len(new) == 1 and new[0].resolve().is_relative_to(root)
    for escaped in (root / client_name.replace("\\", "/"), Path("/tmp/acikkapi-kacak.png"),
                    Path("/tmp/acikkapi-kacak2.png"), root.parent / "etc" / "passwd.png"):
        resolved = escaped.resolve()
        assert not (resolved.is_file() and resolved.read_bytes() == content), resolved


DISGUISED = [
    ("program.pdf", elf_bytes(), "application/pdf"),
    ("resim.png", elf_bytes(), "image/png"),
    ("dilekce.pdf", exe_bytes(), "application/pdf"),
    ("sayfa.pdf", html_bytes(), "application/pdf"),
    ("sayfa.png", html_bytes(), "image/png"),
    ("belge.docx", pdf_bytes(), DOCX_MIME),
    ("foto.jpg", png_bytes(), "image/jpeg"),
    ("tablo.xlsx", docx_bytes(), XLSX_MIME),
]


WRONG_EXTENSIONS = [
    ("notlar.txt", b"Merhaba, bu bir metin dosyasidir.\n", "text/plain"),
    ("kurulum.exe", exe_bytes(), "application/x-msdownload"),
    ("kroki.png.exe", png_bytes(), "image/png"),
    ("uzantisiz", pdf_bytes(), "application/pdf"),
    ("sayfa.html", html_bytes(), "text/html"),
]


REFUSED = DISGUISED + WRONG_EXTENSIONS


@pytest.mark.parametrize("case, name, content, client_type", [(i, *d) for i, d in enumerate(REFUSED)],
                         ids=[d[0] for d in REFUSED])
async def test_a_disguised_or_disallowed_file_is_refused_and_nothing_is_stored(world, case, name, content,
                                                                               client_type):
    phone = f"53300002{40 + case}"
    token = await sign_in_to_apply(world, AYSE, phone)
    before = await counts(world)
    files_before = stored_files(world)
    result = await submit_files(world, token, phone, [(name, content, client_type)])
    assert (result["__typename"], result["code"], result["field"]) == (
        "FileTypeNotAllowed", "FILE_TYPE_NOT_ALLOWED", "files"), result
    assert f"“{name}”" in result["message"], result  # the citizen learns which file it was
    assert await counts(world) == before
    assert stored_files(world) == files_before


async def test_several_files_in_one_submission(world):
    phone = "5330000270"
    token = await sign_in_to_apply(world, AYSE, phone)
    files = [("1-kroki.png", png_bytes(), PNG_MIME), ("2-fotograf.jpg", jpeg_bytes(), JPEG_MIME),
             ("3-dilekce.pdf", pdf_bytes(), PDF_MIME), ("4-ek.docx", docx_bytes(), DOCX_MIME),
             ("5-liste.xlsx", xlsx_bytes(), XLSX_MIME)]
    before = await counts(world)
    result = await submit_files(world, token, phone, files)
    assert result["__typename"] == "SubmitApplicationSuccess", result
    rows = await attachments_of(world, result["trackingNo"])
    assert [(row["file_name"], row["content_type"]) for row in rows] == [(n, t) for n, _, t in files]
    for row, (_, content, _) in zip(rows, files):
        assert_stored(world, row, content)
    assert len({row["storage_key"] for row in rows}) == len(files)
    after = await counts(world)
    assert after["attachments"] - before["attachments"] == len(files)
    assert after["files"] - before["files"] == len(files)


async def test_a_multipart_request_without_the_preflight_header_is_refused(world):
    phone = "5330000271"
    token = await sign_in_to_apply(world, AYSE, phone)
    before = await counts(world)
    response = await submit_multipart(world, token, await submit_input(world, phone),
                                      [("kroki.png", png_bytes(), PNG_MIME)], preflight=False)
    assert response.status_code == 400, response.text
    assert await counts(world) == before


async def submit_with_disposition(world, token: str, phone: str, file_params: str, content: bytes) -> dict:
    """A multipart submission whose one file part has exactly `file_params` in its Content-Disposition, the way
    clients other than browsers write file names."""
    boundary = "acikkapi-ad-siniri"
    operations = {"query": SUBMIT, "variables": {"input": {**await submit_input(world, phone), "files": [None]}}}
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{json.dumps(operations)}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n"
            f"{json.dumps({'0': ['variables.input.files.0']})}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; {file_params}\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    response = await world.http.post("/graphql", content=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "GraphQL-Preflight": "1",
        "Authorization": f"Bearer {token}", "X-Forwarded-For": world.new_address()})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]["submitApplication"]


ENCODED_NAMES = [
    ('filename="dilek%C3%A7e.pdf"', "dilekçe.pdf"),  # RFC 7578 §4.2
    ("filename*=UTF-8''dilek%C3%A7e%20%C3%B6rne%C4%9Fi.pdf", "dilekçe örneği.pdf"),  # RFC 5987, no plain name
    ("filename=\"dilekce.pdf\"; filename*=utf-8'tr'%C5%9Fikay%C3%A8t.pdf", "şikayèt.pdf"),  # the extended one wins
    ('filename="..%2F..%2Fetc%2Fpasswd.pdf"', "passwd.pdf"),  # decoded, then stripped of its path
    ('filename="y%FCzde-100%.pdf"', "y%FCzde-100%.pdf"),  # not UTF-8 once decoded: kept as sent
]


@pytest.mark.parametrize("case, params, shown", [(i, *e) for i, e in enumerate(ENCODED_NAMES)],
                         ids=[e[1] for e in ENCODED_NAMES])
async def test_a_percent_encoded_file_name_is_decoded(world, case, params, shown):
    phone = f"53300002{80 + case}"
    token = await sign_in_to_apply(world, AYSE, phone)
    content = pdf_bytes(f"ad {case}")
    result = await submit_with_disposition(world, token, phone, params, content)
    assert result["__typename"] == "SubmitApplicationSuccess", result
    [row] = await attachments_of(world, result["trackingNo"])
    assert row["file_name"] == shown
    assert_stored(world, row, content)
