"""KVKK retention: what nobody needs any more is deleted once its period has passed (time passing is played by
back-dating rows and files), the identity service's answer is dropped wherever it can no longer be used, and
nothing still in use is touched."""

import asyncio
import hashlib
import os
import secrets
import sys
import time
import uuid
from pathlib import Path

import pytest

from acikkapi.db import make_engine, make_sessionmaker, to_asyncpg_url
from acikkapi.services import retention
from acikkapi.services.storage import FileSystemStorage
from tests.applications.support import PNG_MIME, png_bytes, submit_files, submit_input
from tests.documents import CANCEL, PROFILE, REGISTER, RESEND
from tests.helpers import (
    AKS_ANKARA, AYSE, istanbul_today, REQUEST_STAFF, sign_in_to_apply, sign_in_to_track, staff_sign_in, TRACKED,
)
from tests.outbox.support import queue
from tests.signin.support import apply_code, verify


@pytest.fixture
async def purge(world):
    """One retention sweep with the default periods: 7 days for challenges, 30 for sessions and outbox
    messages, 2 years for staff identity lookups, 24 hours of grace for files; 30 idle minutes."""
    engine = make_engine(to_asyncpg_url(world.db_url), pool_size=2)
    storage = FileSystemStorage(world.settings.storage_dir)
    yield lambda: retention.purge(make_sessionmaker(engine), storage, world.settings)
    await engine.dispose()


async def request_staff_code(world, staff: dict) -> uuid.UUID:
    data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": staff["tckn"], "phone": staff["phone"]}})
    return uuid.UUID(data["requestStaffCode"]["id"])


async def session_id(world, token: str) -> uuid.UUID:
    [row] = await world.sql("SELECT id FROM auth_session WHERE token_hash = $1",
                            hashlib.sha256(token.encode()).digest())
    return row["id"]


async def remaining(world, table: str, ids: list) -> list:
    """Those of `ids` still in `table`, in the order given."""
    found = {row["id"] for row in await world.sql(f"SELECT id FROM {table} WHERE id = ANY($1)", ids)}
    return [i for i in ids if i in found]


def storage_root(world) -> Path:
    return Path(world.settings.storage_dir).resolve()


def written_hours_ago(path: Path, hours: float) -> Path:
    then = time.time() - hours * 3600
    os.utime(path, (then, then))
    return path


def left_pending(world, hours_ago: float) -> Path:
    """A file in the pending area that no row records, as a process that died before its commit leaves it."""
    path = storage_root(world) / "pending" / secrets.token_hex(16)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes())
    return written_hours_ago(path, hours_ago)


async def submit_with_file(world, phone: str, content: bytes) -> int:
    token = await sign_in_to_apply(world, AYSE, phone)
    result = await submit_files(world, token, phone, [("kroki.png", content, PNG_MIME)])
    assert result["__typename"] == "SubmitApplicationSuccess", result
    await world.drain_outbox()  # the tracking-number SMS is out: a later code is the last message
    return result["trackingNo"]


async def attachment_path(world, tracking_no: int) -> Path:
    [row] = await world.sql("SELECT storage_key FROM attachment JOIN application ON application.id = application_id"
                            " WHERE tracking_no = $1", tracking_no)
    key = row["storage_key"]
    return storage_root(world) / key[:2] / key


async def test_a_challenge_is_deleted_a_week_after_it_was_created(world, purge):
    old, younger, fresh = [await request_staff_code(world, AKS_ANKARA) for _ in range(3)]
    await world.sql("UPDATE otp_challenge SET created_at = now() - interval '7 days 1 minute' WHERE id = $1", old)
    await world.sql("UPDATE otp_challenge SET created_at = now() - interval '6 days 23 hours' WHERE id = $1", younger)
    await purge()
    assert await remaining(world, "otp_challenge", [old, younger, fresh]) == [younger, fresh]


async def test_a_session_is_deleted_a_month_after_it_ended(world, purge):
    signed_out_long_ago, signed_out_lately, expired_long_ago, live = [
        await session_id(world, await staff_sign_in(world, AKS_ANKARA)) for _ in range(4)]
    await world.sql("UPDATE auth_session SET revoked_at = now() - interval '31 days' WHERE id = $1",
                    signed_out_long_ago)
    await world.sql("UPDATE auth_session SET revoked_at = now() - interval '29 days' WHERE id = $1", signed_out_lately)
    await world.sql("UPDATE auth_session SET created_at = now() - interval '32 days', "
                    "last_seen_at = now() - interval '32 days', expires_at = now() - interval '31 days' WHERE id = $1",
                    expired_long_ago)
    await world.sql("UPDATE auth_session SET created_at = now() - interval '40 days' WHERE id = $1", live)
    await purge()
    ids = [signed_out_long_ago, signed_out_lately, expired_long_ago, live]
    assert await remaining(world, "auth_session", ids) == [signed_out_lately, live]


async def test_a_finished_outbox_message_is_deleted_a_month_after_it_was_queued(world, purge):
    sent_long_ago, expired_long_ago, sent_lately, waiting = await queue(
        world, ["5380000001", "5380000002", "5380000003", "5380000004"])
    await world.drain_outbox()
    back_dated = ("UPDATE outbox_message SET created_at = now() - make_interval(days => $2), status = $3,"
                  " next_attempt_at = now() + interval '1 day' WHERE id = $1")
    await world.sql(back_dated, sent_long_ago, 31, "SENT")
    await world.sql(back_dated, expired_long_ago, 31, "EXPIRED")
    await world.sql(back_dated, sent_lately, 29, "SENT")
    await world.sql(back_dated, waiting, 31, "PENDING")  # its next try is tomorrow
    await purge()
    ids = [sent_long_ago, expired_long_ago, sent_lately, waiting]
    assert await remaining(world, "outbox_message", ids) == [sent_lately, waiting]


async def identities(world, table: str, ids: list) -> list[bool]:
    """Whether each of `ids` in `table` still holds the identity service's answer (each row must exist)."""
    held = {row["id"]: row["identity"] is not None
            for row in await world.sql(f"SELECT id, identity FROM {table} WHERE id = ANY($1)", ids)}
    return [held[i] for i in ids]


async def test_a_challenge_loses_the_identity_once_used_cancelled_or_left_expired(world, purge):
    phones = [f"538000030{n}" for n in range(5)]
    (live, live_code), (used, _), (cancelled, _), (expired_lately, _), (expired_long_ago, _) = [
        await apply_code(world, AYSE, phone) for phone in phones]
    assert (await world.gql(CANCEL, {"id": cancelled}))["cancelCode"]["__typename"] == "Done"
    await world.sql("UPDATE otp_challenge SET consumed_at = now() WHERE id = $1::uuid", used)  # kept its copy
    await world.sql("UPDATE otp_challenge SET expires_at = now() - interval '29 minutes',"
                    " last_sent_at = now() - interval '32 minutes' WHERE id = $1::uuid", expired_lately)
    await world.sql("UPDATE otp_challenge SET expires_at = now() - interval '31 minutes',"
                    " last_sent_at = now() - interval '34 minutes' WHERE id = $1::uuid", expired_long_ago)
    await purge()
    ids = [uuid.UUID(i) for i in (live, used, cancelled, expired_lately, expired_long_ago)]
    assert await identities(world, "otp_challenge", ids) == [True, False, False, True, False]
    # The code left expired has ended: a new code for it is refused, as for any used challenge.
    refused = (await world.gql(RESEND, {"id": expired_long_ago}))["resendCode"]
    assert refused["code"] == "CODE_INVALID", refused
    # The others still work: a new code for the one expired lately, and the live one, sign in with the identity.
    assert (await world.gql(RESEND, {"id": expired_lately}))["resendCode"]["__typename"] == "Challenge"
    resent_code = await world.last_code(phones[3], 2)
    for challenge_id, code in ((live, live_code), (expired_lately, resent_code)):
        signed_in = await verify(world, challenge_id, code)
        assert signed_in["__typename"] == "SignedIn", signed_in
        profile = (await world.gql(PROFILE, token=signed_in["token"]))["applicantProfile"]
        assert profile["tcKimlikNo"] == AYSE["tckn"]


async def test_a_session_loses_the_identity_once_it_has_ended(world, purge):
    phones = [f"538000040{n}" for n in range(5)]
    tokens = [await sign_in_to_apply(world, AYSE, phone) for phone in phones]
    live, idle_lately, idle, expired, revoked = [await session_id(world, token) for token in tokens]
    await world.sql("UPDATE auth_session SET last_seen_at = now() - interval '29 minutes' WHERE id = $1", idle_lately)
    await world.sql("UPDATE auth_session SET last_seen_at = now() - interval '31 minutes' WHERE id = $1", idle)
    await world.sql("UPDATE auth_session SET expires_at = now() - interval '1 minute' WHERE id = $1", expired)
    await world.sql("UPDATE auth_session SET revoked_at = now() WHERE id = $1", revoked)  # kept its copy
    await purge()
    ids = [live, idle_lately, idle, expired, revoked]
    assert await identities(world, "auth_session", ids) == [True, True, False, False, False]
    for token in tokens[:2]:
        profile = (await world.gql(PROFILE, token=token))["applicantProfile"]
        assert profile["tcKimlikNo"] == AYSE["tckn"]


async def test_a_staff_identity_lookup_is_deleted_two_years_after_it_was_made(world, purge):
    token = await staff_sign_in(world, AKS_ANKARA)
    for phone in ("5380000501", "5380000502", "5380000503"):
        data = {"tcKimlikNo": AYSE["tckn"], "arrivalDate": istanbul_today().isoformat(),
                "application": await submit_input(world, phone)}
        result = (await world.gql(REGISTER, {"input": data}, token=token))["registerApplication"]
        assert result["__typename"] == "SubmitApplicationSuccess", result
    old, younger, fresh = [row["id"] for row in await world.sql(
        "SELECT l.id FROM identity_lookup l JOIN app_user u ON u.id = l.user_id WHERE u.tckn = $1 ORDER BY l.id",
        AKS_ANKARA["tckn"])]
    await world.sql("UPDATE identity_lookup SET created_at = now() - interval '731 days' WHERE id = $1", old)
    await world.sql("UPDATE identity_lookup SET created_at = now() - interval '729 days' WHERE id = $1", younger)
    await purge()
    assert await remaining(world, "identity_lookup", [old, younger, fresh]) == [younger, fresh]


async def test_a_pending_file_no_row_records_is_deleted_after_the_grace_period(world, purge):
    old, fresh = left_pending(world, hours_ago=25), left_pending(world, hours_ago=23)
    await purge()
    assert not old.exists()
    assert fresh.exists()


async def test_a_file_whose_row_is_gone_is_deleted_after_the_grace_period(world, purge):
    kept = await submit_with_file(world, "5380000101", png_bytes(rgb=(1, 1, 1)))
    removed = await submit_with_file(world, "5380000102", png_bytes(rgb=(2, 2, 2)))
    kept_path = written_hours_ago(await attachment_path(world, kept), 48)
    removed_path = written_hours_ago(await attachment_path(world, removed), 48)
    await world.sql("DELETE FROM application WHERE tracking_no = $1", removed)
    await purge()
    assert not removed_path.exists()
    assert kept_path.exists()


async def test_a_pending_file_whose_row_exists_is_moved_into_place(world, purge):
    phone, content = "5380000201", png_bytes(rgb=(3, 3, 3))
    tracking_no = await submit_with_file(world, phone, content)
    in_place = await attachment_path(world, tracking_no)
    pending = storage_root(world) / "pending" / in_place.name
    in_place.rename(pending)  # the process died between the commit and the move
    token = await sign_in_to_track(world, tracking_no, AYSE, phone)
    [file] = (await world.gql(TRACKED, token=token))["trackedApplication"]["files"]
    assert (await world.http.get(file["downloadUrl"])).status_code == 404  # only files in place are served
    purged = await purge()
    assert purged.promoted == 1
    assert in_place.read_bytes() == content and not pending.exists()
    download = await world.http.get(file["downloadUrl"])
    assert download.status_code == 200 and download.content == content


async def test_the_purge_command_sweeps_once(world):
    old = await request_staff_code(world, AKS_ANKARA)
    await world.sql("UPDATE otp_challenge SET created_at = now() - interval '8 days' WHERE id = $1", old)
    stray = left_pending(world, hours_ago=25)
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acikkapi.cli", "purge", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "ACIKKAPI_DATABASE_URL": world.db_url,
             "ACIKKAPI_STORAGE_DIR": str(world.settings.storage_dir)})
    out, err = await command.communicate()
    assert command.returncode == 0, err.decode()
    assert out.decode().startswith("deleted: 1 code challenges"), out.decode()
    assert await remaining(world, "otp_challenge", [old]) == []
    assert not stray.exists()


async def test_an_export_goes_with_its_workbook_once_expired_and_one_that_stopped_moving_fails(world, purge):
    exported = FileSystemStorage(world.settings.exports_dir)
    files = {}
    for name in ("expired", "fresh"):
        key, path = exported.new_pending()
        path.write_bytes(b"PK")
        await exported.promote(key)
        files[name] = (key, exported.root / key[:2] / key)
    rows = await world.sql(
        "INSERT INTO export_job (user_id, file_name, status, storage_key, updated_at, expires_at)"
        " SELECT (SELECT min(id) FROM app_user), 'r.xlsx', status, key, now() - stopped, now() + expires"
        " FROM (VALUES ('DONE', $1, interval '1 hour', interval '-1 minute'),"
        "              ('DONE', $2, interval '1 hour', interval '1 hour'),"
        "              ('RUNNING', NULL, interval '20 minutes', NULL),"
        "              ('RUNNING', NULL, interval '1 minute', NULL)) AS job(status, key, stopped, expires)"
        " RETURNING id", files["expired"][0], files["fresh"][0])
    expired, fresh, stopped, running = [row["id"] for row in rows]
    purged = await purge()
    assert purged.exports == 1
    assert await remaining(world, "export_job", [expired, fresh, stopped, running]) == [fresh, stopped, running]
    assert not files["expired"][1].exists() and files["fresh"][1].exists()
    states = {row["id"]: (row["status"], row["expires_at"] is not None)
              for row in await world.sql("SELECT id, status, expires_at FROM export_job")}
    assert states[stopped] == ("FAILED", True) and states[running] == ("RUNNING", False)
