"""The tracking view loads in a fixed number of SQL statements, however many rows the application has."""

from tests.applications.support import (
    DOCX_MIME, JPEG_MIME, PDF_MIME, PNG_MIME, docx_bytes, jpeg_bytes, pdf_bytes, png_bytes, submit_files,
    wait_for_tracking_sms,
)
from tests.helpers import AYSE, TRACKED, ZEYNEP, sign_in_to_apply, sign_in_to_track

# The bearer session, then the whole view: one indexed lookup and one statement with its child rows.
STATEMENTS = 2


async def count_tracked_statements(world, token: str) -> tuple[list[str], dict]:
    await world.gql(TRACKED, token=token)  # warm-up: pool connections, caches
    with world.statements as counter:
        view = (await world.gql(TRACKED, token=token))["trackedApplication"]
    return list(counter.statements), view


async def apply_with(world, person, phone, categories, files) -> int:
    token = await sign_in_to_apply(world, person, phone)
    result = await submit_files(world, token, phone, files, categories=categories)
    assert result["__typename"] == "SubmitApplicationSuccess", result
    await wait_for_tracking_sms(world, phone, result["trackingNo"])
    return result["trackingNo"]


async def test_tracked_application_statement_count_does_not_grow_with_rows(world):
    tree = (await world.gql("{ serviceCategories { id subcategories { id } } }"))["serviceCategories"]
    rows = [{"categoryId": c["id"], "subcategoryId": c["subcategories"][i % 2]["id"], "description": f"satır {i}"}
            for i, c in enumerate(tree[:5])]

    small_phone, large_phone = "5330000401", "5330000402"
    small_no = await apply_with(world, AYSE, small_phone, rows[:1], [("kroki.png", png_bytes(), PNG_MIME)])
    large_no = await apply_with(world, ZEYNEP, large_phone, rows, [
        ("1.png", png_bytes(), PNG_MIME), ("2.jpg", jpeg_bytes(), JPEG_MIME),
        ("3.pdf", pdf_bytes(), PDF_MIME), ("4.docx", docx_bytes(), DOCX_MIME)])
    # more history rows for the large one, as later steps of the process would add
    await world.sql(
        "INSERT INTO application_event (application_id, action, status, actor_label, public) "
        "SELECT id, 'SUBMITTED', s, 'AKS', true FROM application, unnest($2::text[]) AS s WHERE tracking_no = $1",
        large_no, ["YONLENDIRILDI", "CEVAPLANDI"])

    small_token = await sign_in_to_track(world, small_no, AYSE, small_phone)
    small_statements, small = await count_tracked_statements(world, small_token)
    large_token = await sign_in_to_track(world, large_no, ZEYNEP, large_phone)
    large_statements, large = await count_tracked_statements(world, large_token)
    small_count, large_count = len(small_statements), len(large_statements)

    assert (len(small["categories"]), len(small["files"]), len(small["history"])) == (1, 1, 1)
    assert (len(large["categories"]), len(large["files"]), len(large["history"])) == (5, 4, 3)
    assert small_count == large_count, (small_count, large_count)
    assert large_count == STATEMENTS, (large_count, large_statements)
