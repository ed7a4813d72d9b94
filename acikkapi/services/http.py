"""The one aiohttp client session that every outgoing call shares."""

import aiohttp


def client_session(timeout_seconds: float) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        raise_for_status=False,
        headers={"User-Agent": "acikkapi/0.1"},
    )
