"""Attachments are written to a pending area and moved into place only once the submission has committed: a
submission whose commit fails leaves no file behind."""

from tests.applications.support import PNG_MIME, counts, png_bytes, stored_files, submit_input, submit_multipart
from tests.helpers import AYSE, sign_in_to_apply

MARK = "[kayıt reddedilecek]"
# The database refuses the commit (not any earlier statement) of an application whose subject carries MARK,
# as it would on a lost connection or a serialization failure at commit time.
FAIL_AT_COMMIT = [
    f"""CREATE FUNCTION refuse_marked_application() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.subject LIKE '%{MARK}%' THEN RAISE EXCEPTION 'commit refused'; END IF;
          RETURN NULL;
        END $$""",
    """CREATE CONSTRAINT TRIGGER refuse_marked_application AFTER INSERT ON application
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_marked_application()""",
]
UNDO = ["DROP TRIGGER refuse_marked_application ON application", "DROP FUNCTION refuse_marked_application()"]


async def test_a_submission_whose_commit_fails_leaves_no_file(world):
    phone = "5370000001"
    token = await sign_in_to_apply(world, AYSE, phone)
    before = await counts(world)
    files_before = stored_files(world)
    for statement in FAIL_AT_COMMIT:
        await world.sql(statement)
    try:
        response = await submit_multipart(
            world, token, await submit_input(world, phone, subject=f"Okul bahçesi {MARK}"),
            [("kroki.png", png_bytes(), PNG_MIME), ("plan.png", png_bytes(rgb=(1, 2, 3)), PNG_MIME)])
    finally:
        for statement in UNDO:
            await world.sql(statement)
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL_ERROR", error
    assert await counts(world) == before
    assert stored_files(world) == files_before


async def test_a_submission_that_commits_leaves_its_files_in_place_and_nothing_pending(world):
    phone = "5370000002"
    token = await sign_in_to_apply(world, AYSE, phone)
    files_before = stored_files(world)
    response = await submit_multipart(world, token, await submit_input(world, phone),
                                      [("kroki.png", png_bytes(rgb=(9, 9, 9)), PNG_MIME)])
    assert response.json()["data"]["submitApplication"]["__typename"] == "SubmitApplicationSuccess"
    [row] = await world.sql("SELECT storage_key FROM attachment WHERE application_id = "
                            "(SELECT id FROM application WHERE phone = $1)", phone)
    new = [path for path in stored_files(world) if path not in files_before]
    assert [(path.parent.name, path.name) for path in new] == [(row["storage_key"][:2], row["storage_key"])]
