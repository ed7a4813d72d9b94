"""Helpers shared by the tests in this package: real small files, multipart submissions, counts."""

import asyncio
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl

from tests.helpers import SUBMIT, apply, first_category

# ---------------------------------------------------------------------------------------------- files


def png_bytes(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid RGB PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def jpeg_bytes() -> bytes:
    """A valid baseline JFIF: an 8×8 mid-grey picture (one DC-only block)."""
    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    app0 = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = segment(0xDB, b"\x00" + b"\x01" * 64)
    sof0 = segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00")
    one_code = b"\x01" + b"\x00" * 15  # one code of length 1
    dht_dc = segment(0xC4, b"\x00" + one_code + b"\x00")  # DC table 0: category 0
    dht_ac = segment(0xC4, b"\x10" + one_code + b"\x00")  # AC table 0: EOB
    sos = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    scan = bytes([0b00111111])  # DC diff 0 ("0"), EOB ("0"), padded with ones
    return b"\xff\xd8" + app0 + dqt + sof0 + dht_dc + dht_ac + sos + scan + b"\xff\xd9"


def pdf_bytes(text: str = "Acik Kapi") -> bytes:
    """A valid one-page PDF with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def docx_bytes(text: str = "Başvuru eki") -> bytes:
    """A minimal WordprocessingML package, written the way Word orders it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'))
        package.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>'))
        package.writestr("word/document.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f'<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>'))
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A1"], sheet["B1"] = "Başvuru", 1047
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def elf_bytes() -> bytes:
    """The start of a 64-bit little-endian ELF executable."""
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 200


def exe_bytes() -> bytes:
    """The start of a Windows PE executable (MZ header)."""
    header = bytearray(b"MZ" + b"\x90\x00" + b"\x00" * 124)
    header[0x3C:0x40] = struct.pack("<I", 0x80)
    return bytes(header) + b"PE\x00\x00" + b"\x4c\x01" + b"\x00" * 100


def html_bytes() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


PNG_MIME = "image/png"
JPEG_MIME = "image/jpeg"
PDF_MIME = "application/pdf"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# ----------------------------------------------------------------------------------------- requests


async def submit_input(world, phone: str, **changes) -> dict:
    category, subcategory = await first_category(world)
    data = {"sameAsResidence": True, "phone": phone, "subject": "Okulun genel temizliği için yardım talebi.",
            "categories": [{"categoryId": category, "subcategoryId": subcategory}]}
    return {**data, **changes}


async def submit_multipart(world, token: str | None, variables_input: dict,
                           files: list[tuple[str, bytes, str]], *, preflight: bool = True):
    """submitApplication through the GraphQL multipart request spec; returns the httpx response.

    `files` are (client file name, bytes, client content type)."""
    variables_input = {**variables_input, "files": [None] * len(files)}
    operations = {"query": SUBMIT, "variables": {"input": variables_input}}
    mapping = {str(i): [f"variables.input.files.{i}"] for i in range(len(files))}
    headers = {"X-Forwarded-For": world.new_address()}
    if preflight:
        headers["GraphQL-Preflight"] = "1"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await world.http.post(
        "/graphql", headers=headers,
        data={"operations": json.dumps(operations), "map": json.dumps(mapping)},
        files=[(str(i), (name, content, content_type)) for i, (name, content, content_type) in enumerate(files)])


async def submit_files(world, token: str, phone: str, files: list[tuple[str, bytes, str]], **changes) -> dict:
    """The submitApplication payload of a multipart submission (fails the test on GraphQL errors); without
    files, a plain JSON request."""
    variables_input = await submit_input(world, phone, **changes)
    if files:
        response = await submit_multipart(world, token, variables_input, files)
    else:
        response = await world.post({"query": SUBMIT, "variables": {"input": variables_input}}, token=token)
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]["submitApplication"]


async def wait_for_tracking_sms(world, phone: str, tracking_no: int, timeout: float = 10) -> str:
    """The tracking-number SMS of `tracking_no` once it has reached `phone` (it leaves through the outbox, after
    the submission has answered)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = [m for m in await world.sms_to(phone) if f"takip numarası: {tracking_no}." in m]
        if found:
            assert len(found) == 1, found
            return found[0]
        assert asyncio.get_running_loop().time() < deadline, f"no tracking SMS for {tracking_no} to {phone}"
        await asyncio.sleep(0.05)


async def apply_and_wait(world, person: dict, phone: str, **changes) -> int:
    """helpers.apply, returning once the tracking SMS has arrived (so a later code is the last message)."""
    tracking_no = await apply(world, person, phone, **changes)
    await wait_for_tracking_sms(world, phone, tracking_no)
    return tracking_no


# ------------------------------------------------------------------------------------------- state


def stored_files(world) -> list[Path]:
    root = Path(world.settings.storage_dir)
    return sorted(path for path in root.rglob("*") if path.is_file())


async def counts(world) -> dict:
    row = (await world.sql(
        "SELECT (SELECT count(*) FROM application) AS applications,"
        " (SELECT count(*) FROM attachment) AS attachments,"
        " (SELECT count(*) FROM application_category) AS categories,"
        " (SELECT count(*) FROM application_event) AS events"))[0]
    return {**dict(row), "files": len(stored_files(world))}
