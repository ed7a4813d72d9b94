"""The client's address behind a trusted proxy: read once, checked, and counted per IPv6 /64 by the rate limits;
`acikkapi serve` will not trust every peer's X-Forwarded-For."""

import os
import subprocess
import sys

import pytest

from tests.helpers import AYSE, REQUEST_APPLY, apply_input

SETTINGS = {"otp_hourly_limit_per_client": 2}


async def request_code_from(world, address: str, phone: str) -> dict:
    data = await world.gql(REQUEST_APPLY, {"input": apply_input(AYSE, phone)}, address=address)
    return data["requestApplicationCode"]


async def stored_addresses(world, phones: list[str]) -> list[str]:
    rows = await world.sql("SELECT host(client_ip) AS ip FROM otp_challenge WHERE phone = ANY($1) "
                           "ORDER BY created_at", phones)
    return [row["ip"] for row in rows]


class TestForwardedAddress:
    @pytest.mark.parametrize("forwarded", ["not-an-ip", "10.0.0.300", "unknown", "::1::2", "[2001:db8::1"])
    async def test_an_address_that_is_not_an_ip_is_refused_with_400(self, world, forwarded):
        response = await world.post({"query": REQUEST_APPLY, "variables": {"input": apply_input(AYSE, "5320000701")}},
                                    address=forwarded)
        assert response.status_code == 400, response.text[:500]
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": "INVALID_CLIENT_ADDRESS"}
        assert error["message"] == "İsteğin geldiği adres okunamadı."

    async def test_an_ipv4_address_with_a_port_is_taken_without_it(self, world):
        result = await request_code_from(world, "192.0.2.17:4711", "5320000702")
        assert result["__typename"] == "Challenge", result
        assert await stored_addresses(world, ["5320000702"]) == ["192.0.2.17"]

    async def test_ipv6_addresses_of_one_64_share_their_limit(self, world):
        phones = ["5320000711", "5320000712", "5320000713"]
        assert (await request_code_from(world, "2001:db8:1:2::1", phones[0]))["__typename"] == "Challenge"
        assert (await request_code_from(world, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", phones[1]))["__typename"] == \
            "Challenge"
        refused = await request_code_from(world, "[2001:db8:1:2::ffff]:443", phones[2])
        assert (refused["__typename"], refused["code"]) == ("RateLimited", "RATE_LIMITED"), refused
        assert await stored_addresses(world, phones) == ["2001:db8:1:2::", "2001:db8:1:2::"]

    async def test_the_next_64_has_its_own_limit(self, world):
        assert (await request_code_from(world, "2001:db8:1:3::1", "5320000714"))["__typename"] == "Challenge"

    async def test_an_ipv4_mapped_ipv6_address_counts_as_the_ipv4_address(self, world):
        result = await request_code_from(world, "::ffff:198.51.100.7", "5320000715")
        assert result["__typename"] == "Challenge", result
        assert await stored_addresses(world, ["5320000715"]) == ["198.51.100.7"]


class TestServeRefusesToTrustEveryone:
    @pytest.mark.parametrize("trusted", ["*", "10.0.0.1, *", "0.0.0.0/0", "10.0.0.1,::/0", "::0/0", "0.0.0.0/00"])
    def test_serve_with_a_wildcard_proxy_list_stops_with_one_line(self, tmp_path, trusted):
        env = {**os.environ, "ACIKKAPI_FORWARDED_ALLOW_IPS": trusted, "ACIKKAPI_SECRET_KEY": "x" * 40,
               # nothing listens there: were the check missing, serve would fail later, differently
               "ACIKKAPI_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nowhere"}
        result = subprocess.run([sys.executable, "-m", "acikkapi.cli", "serve"], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert lines == ["acikkapi serve: ACIKKAPI_FORWARDED_ALLOW_IPS must list the proxies' addresses, not everyone "
                         "(anyone could then choose the client address the rate limits count)"], result.stderr
