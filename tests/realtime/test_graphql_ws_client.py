"""The `graphql-ws` npm package, the client a browser or a Node service uses, against our /graphql: it signs in
with the session token, subscribes, hears a step as it commits, and ends with the protocol's close code when the
session is refused or ends (tests/realtime/js/subscribe.mjs)."""

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.documents import SIGN_OUT
from tests.helpers import AKS_ANKARA, staff_session
from tests.workflow.support import register

JS = Path(__file__).parent / "js"
WAIT_SECONDS = 30  # for the client to start, connect and hear: Node starts slowly on a busy machine

# CI installs Node.js and the client's packages (.ci/run) and sets ACIKKAPI_TEST_NODE: there a missing node
# fails the test instead of skipping it.
pytestmark = pytest.mark.skipif(shutil.which("node") is None and os.environ.get("ACIKKAPI_TEST_NODE") != "required",
                                reason="Node.js (node) is not installed")


class NodeClient:
    """tests/realtime/js/subscribe.mjs run with `node`, its lines read as they come."""

    def __init__(self, world, token: str, *, events: int = 1) -> None:
        assert (JS / "node_modules" / "graphql-ws").is_dir(), f"the client's packages are missing: run `npm ci` in {JS}"
        self.args = [world.base_url.replace("http://", "ws://") + "/graphql", str(events), str(WAIT_SECONDS * 1000)]
        self.env = {**os.environ, "ACIKKAPI_TOKEN": token}
        self.lines: list[dict] = []

    async def __aenter__(self) -> "NodeClient":
        self.process = await asyncio.create_subprocess_exec(
            shutil.which("node") or "node", "subscribe.mjs", *self.args, cwd=JS, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        return self

    async def __aexit__(self, *exc) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def line(self) -> dict:
        """The next line it printed; fails with its error output if it ended without one."""
        raw = await asyncio.wait_for(self.process.stdout.readline(), WAIT_SECONDS)
        if not raw:
            stderr = (await self.process.stderr.read()).decode(errors="replace")
            pytest.fail(f"the client ended after {self.lines}: {stderr}")
        self.lines.append(json.loads(raw))
        return self.lines[-1]

    async def exit_code(self) -> int:
        return await asyncio.wait_for(self.process.wait(), WAIT_SECONDS)


async def test_the_graphql_ws_client_hears_a_registration_of_its_office(world):
    token = await staff_session(world, AKS_ANKARA["tckn"])
    async with NodeClient(world, token) as client:
        assert await client.line() == {"ready": True}  # the server has its subscription
        tracking_no = await register(world, token)
        assert await client.line() == {"event": {"trackingNo": tracking_no, "action": "SUBMITTED",
                                                 "status": "HAVUZDA"}}
        assert await client.exit_code() == 0


async def test_a_token_that_is_no_session_ends_the_client_with_4403(world):
    async with NodeClient(world, "oturum-olmayan-bir-anahtar") as client:
        closed = await client.line()
        assert await client.exit_code() == 1
    assert closed["closed"] == 4403 and closed["reason"], client.lines


async def test_signing_out_ends_the_client_with_4403(world):
    token = await staff_session(world, AKS_ANKARA["tckn"])
    async with NodeClient(world, token) as client:
        assert await client.line() == {"ready": True}
        await world.gql(SIGN_OUT, token=token)
        closed = await client.line()
        assert await client.exit_code() == 1
    assert closed["closed"] == 4403, client.lines
