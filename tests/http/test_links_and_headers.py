"""What the report page and downloads are served with: absolute links from the public base URL, a policy that lets
nothing run on the report page, sandboxed downloads, no referrer, and an access log without signatures."""

import base64
import hashlib
import logging
import re
from urllib.parse import urlsplit

import pytest

from acikkapi.cli import PathOnlyAccessLog
from tests.applications.support import PDF_MIME, pdf_bytes
from tests.applications.test_tracking import apply_with_files, tracked
from tests.helpers import AYSE, sign_in_to_track


@pytest.fixture(scope="module")
async def view(world) -> dict:
    """Ayşe's tracked application with one file, seen through a tracking session."""
    phone = "5330000901"
    tracking_no = await apply_with_files(world, AYSE, phone, [("dilekçe.pdf", pdf_bytes(), PDF_MIME)])
    return await tracked(world, await sign_in_to_track(world, tracking_no, AYSE, phone))


async def test_links_are_absolute_under_the_public_base_url(world, view):
    assert world.settings.public_base_url == world.base_url
    file_url, report_url = view["files"][0]["downloadUrl"], view["reportUrl"]
    for url, path in ((file_url, f"/files/{view['files'][0]['id']}"),
                      (report_url, f"/reports/applications/{view['trackingNo']}")):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == world.base_url, url
        assert parts.path == path
        assert (await world.http.get(url)).status_code == 200, url


async def test_the_report_page_runs_nothing_and_sends_no_referrer(world, view):
    response = await world.http.get(view["reportUrl"])
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives  # falls back to 'none'
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["referrer-policy"] == "no-referrer"
    page = response.text
    assert "<script" not in page.lower()
    assert not re.search(r"\son[a-z]+\s*=", page, re.IGNORECASE), "an inline event handler is left"
    assert "Ctrl+P" in page  # printing is the browser's own command
    # the page's one style block is the one the policy allows
    [style] = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert directives["style-src"] == f"'sha256-{digest}'"


async def test_a_download_is_sandboxed_and_sends_no_referrer(world, view):
    response = await world.http.get(view["files"][0]["downloadUrl"])
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == "sandbox"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"


class TestAccessLog:
    @pytest.fixture
    def access_lines(self, caplog):
        """The lines uvicorn's access logger writes for this test's requests (as `serve` configures it)."""
        logger = logging.getLogger("uvicorn.access")
        caplog.set_level(logging.INFO, logger="uvicorn.access")
        logger.addHandler(caplog.handler)  # uvicorn's own logging setup keeps it from propagating
        try:
            yield lambda: [record.getMessage() for record in caplog.records if record.name == "uvicorn.access"]
        finally:
            logger.removeHandler(caplog.handler)

    async def test_a_signed_link_is_logged_without_its_query(self, world, view, access_lines):
        url = view["files"][0]["downloadUrl"]
        signature = dict(part.split("=") for part in urlsplit(url).query.split("&"))["sig"]
        logger = logging.getLogger("uvicorn.access")
        quiet = PathOnlyAccessLog()
        logger.addFilter(quiet)
        try:
            assert (await world.http.get(url)).status_code == 200
        finally:
            logger.removeFilter(quiet)
        [line] = [line for line in access_lines() if "/files/" in line]
        assert f'"GET /files/{view["files"][0]["id"]} HTTP/1.1" 200' in line, line
        assert signature not in line and "?" not in line, line

    async def test_without_the_filter_uvicorn_would_log_the_signature(self, world, view, access_lines):
        url = view["files"][0]["downloadUrl"]
        assert (await world.http.get(url)).status_code == 200
        [line] = [line for line in access_lines() if "/files/" in line]
        assert "sig=" in line  # why the filter exists
