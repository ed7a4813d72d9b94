"""`acikkapi demo` run as a developer runs it: its own process, its own embedded PostgreSQL, ended by a signal."""

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import httpx
import psutil
import pytest

STARTED = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


class Demo:
    """An `acikkapi demo` process on free ports, with its data in `data_dir`."""

    def __init__(self, data_dir: Path, **settings: str) -> None:
        self.data_dir = data_dir
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("ACIKKAPI_")}
        self.env.update({"ACIKKAPI_DATA_DIR": str(data_dir), "ACIKKAPI_PORT": "0",
                         "ACIKKAPI_IDENTITY_SIMULATOR_PORT": "0", "ACIKKAPI_SMS_SIMULATOR_PORT": "0",
                         "ACIKKAPI_EICISLERI_SIMULATOR_PORT": "0", **settings})
        self.stderr: list[str] = []

    async def __aenter__(self) -> "Demo":
        # cwd: no developer's .env file gets read
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "acikkapi.cli", "demo", cwd=self.data_dir.parent, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        self.port = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read_stderr())
        return self

    async def __aexit__(self, *exc) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        await self.reader

    async def _read_stderr(self) -> None:
        async for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            self.stderr.append(line)
            if (match := STARTED.search(line)) and not self.port.done():
                self.port.set_result(int(match.group(1)))
        if not self.port.done():
            self.port.set_exception(AssertionError("demo ended before serving:\n" + "\n".join(self.stderr)))

    async def exit_code(self) -> int:
        code = await asyncio.wait_for(self.process.wait(), 60)
        await self.reader
        return code

    @property
    def pg_dir(self) -> Path:
        return (self.data_dir / "pg").resolve()

    def postgres_processes(self) -> list[psutil.Process]:
        """Live processes of a PostgreSQL server on this demo's data directory."""
        found = []
        for process in psutil.process_iter(["cmdline", "status"]):
            if process.info["status"] != psutil.STATUS_ZOMBIE and str(self.pg_dir) in " ".join(
                    process.info["cmdline"] or []):
                found.append(process)
        return found


@pytest.fixture(autouse=True)
def no_server_outlives_the_test(tmp_path):
    """A failing test must not leave its PostgreSQL running on the shared machine."""
    yield
    for process in psutil.process_iter(["cmdline"]):
        if str(tmp_path.resolve()) in " ".join(process.info["cmdline"] or []):
            process.terminate()


async def test_sigterm_stops_the_demo_and_its_embedded_postgresql(tmp_path):
    async with Demo(tmp_path / "var") as demo:
        port = await asyncio.wait_for(demo.port, 90)
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{port}/health")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})
        postmaster = int((demo.pg_dir / "postmaster.pid").read_text().split()[0])
        assert psutil.pid_exists(postmaster)

        demo.process.send_signal(signal.SIGTERM)
        code = await demo.exit_code()

    assert not (demo.pg_dir / "postmaster.pid").exists()
    assert demo.postgres_processes() == []
    assert code == 128 + signal.SIGTERM
    assert not any("Traceback" in line for line in demo.stderr), "\n".join(demo.stderr)


async def test_a_taken_simulator_port_is_one_clear_line_and_leaves_no_postgresql(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        async with Demo(tmp_path / "var", ACIKKAPI_SMS_SIMULATOR_PORT=str(port)) as demo:
            assert await demo.exit_code() != 0

    assert demo.stderr[-1] == (f"acikkapi: the SMS simulator (ACIKKAPI_SMS_SIMULATOR_PORT) cannot listen on "
                               f"127.0.0.1:{port}: address already in use"), "\n".join(demo.stderr)
    assert not any("Traceback" in line for line in demo.stderr), "\n".join(demo.stderr)
    assert (demo.pg_dir / "PG_VERSION").exists()  # the database had started before the simulators
    assert demo.postgres_processes() == []
