"""A submission takes two SQL statements, however many category rows and files it has: the draft's references
(residence, subject address, category pairs) read in one, and one that writes the rest (the session claimed
and marked as applied, the application, its category rows, attachment rows, history event and SMS)."""

from tests.applications.support import (
    PDF_MIME, PNG_MIME, pdf_bytes, png_bytes, submit_input, submit_multipart, wait_for_tracking_sms,
)
from tests.documents import SUBMIT
from tests.helpers import AYSE, MEHMET, ZEYNEP, sign_in_to_apply

STATEMENTS = 2  # references, and the write
STATEMENTS_REPEATED = 1  # the application the session made


def submission_statements(statements: list[str]) -> list[str]:
    """Leaves out the bearer-session lookup (and its idle-time touch) that comes before any operation."""
    return [s for s in statements if "token_hash" not in s and "last_seen_at" not in s]


async def category_rows(world, count: int) -> list[dict]:
    tree = (await world.gql("{ serviceCategories { id subcategories { id } } }"))["serviceCategories"]
    return [{"categoryId": c["id"], "subcategoryId": c["subcategories"][i % 2]["id"], "description": f"satır {i}"}
            for i, c in enumerate(tree[:count])]


async def counted_submit(world, token: str, form: dict, files=()) -> tuple[int, dict]:
    with world.statements as counter:
        if files:
            response = await submit_multipart(world, token, form, list(files))
        else:
            response = await world.post({"query": SUBMIT, "variables": {"input": form}}, token=token)
    result = response.json()["data"]["submitApplication"]
    assert result["__typename"] == "SubmitApplicationSuccess", result
    return len(submission_statements(counter.statements)), result


class TestSubmitStatements:
    async def test_one_category_row_or_five_take_the_same_statements(self, world):
        counts = []
        for person, phone, rows in ((AYSE, "5330000501", 1), (ZEYNEP, "5330000502", 5)):
            token = await sign_in_to_apply(world, person, phone)
            form = await submit_input(world, phone, categories=await category_rows(world, rows))
            count, result = await counted_submit(world, token, form)
            await wait_for_tracking_sms(world, phone, result["trackingNo"])
            counts.append(count)
        assert counts == [STATEMENTS, STATEMENTS]

    async def test_files_add_no_statement(self, world):
        phone = "5330000503"
        token = await sign_in_to_apply(world, MEHMET, phone)
        form = await submit_input(world, phone, categories=await category_rows(world, 3))
        files = [("kroki.png", png_bytes(), PNG_MIME), ("dilekce.pdf", pdf_bytes(), PDF_MIME)]
        count, result = await counted_submit(world, token, form, files)
        assert count == STATEMENTS
        rows = await world.sql(
            "SELECT count(*) FROM attachment JOIN application a ON a.id = application_id WHERE tracking_no = $1",
            result["trackingNo"])
        assert rows[0]["count"] == 2

    async def test_a_repeated_submit_reads_the_application_the_session_made(self, world):
        phone = "5330000504"
        token = await sign_in_to_apply(world, AYSE, phone)
        form = await submit_input(world, phone)
        _, first = await counted_submit(world, token, form)
        count, again = await counted_submit(world, token, form)
        assert again["trackingNo"] == first["trackingNo"]
        assert count == STATEMENTS_REPEATED
