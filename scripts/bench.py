"""Throughput of hot read paths over HTTP, against a running `acikkapi demo` server.

    .venv/bin/acikkapi demo &          # in another terminal
    .venv/bin/python scripts/bench.py  # --seconds 10 --concurrency 8

It applies once as a demo citizen (codes are read from the SMS simulator), opens a tracking session, then
hammers a few queries and prints requests per second and latency percentiles for each.
"""

import argparse
import asyncio
import re
import statistics
import time

import httpx

PERSON = {"tcKimlikNo": "10000000146", "firstName": "Ayşe", "lastName": "Yılmaz", "motherMaidenInitials": "KA"}
PHONE = "5329999999"


async def gql(client: httpx.AsyncClient, query: str, variables: dict | None = None, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def code(client: httpx.AsyncClient, sms_url: str, seen: int) -> str:
    for _ in range(100):
        messages = [m["mesaj"] for m in (await client.get(f"{sms_url}/sms/mesajlar", params={"alici": "90" + PHONE})).json()]
        codes = [m for m in messages if "onay kodunuz" in m]
        if len(codes) > seen:
            return re.search(r"(\d{6})", codes[-1]).group(1)
        await asyncio.sleep(0.1)
    raise RuntimeError("no code arrived")


async def codes_seen(client: httpx.AsyncClient, sms_url: str) -> int:
    messages = (await client.get(f"{sms_url}/sms/mesajlar", params={"alici": "90" + PHONE})).json()
    return sum("onay kodunuz" in m["mesaj"] for m in messages)


async def verified(client, sms_url, challenge_id, seen: int) -> str:
    data = await gql(client, 'mutation($i: ID!, $c: String!) { verifyCode(challengeId: $i, code: $c) '
                             '{ ... on SignedIn { token } ... on Error { code message } } }',
                     {"i": challenge_id, "c": await code(client, sms_url, seen)})
    return data["verifyCode"]["token"]


async def setup(client: httpx.AsyncClient, sms_url: str) -> str:
    seen = await codes_seen(client, sms_url)
    data = await gql(client, "mutation($i: RequestApplicationCodeInput!) { requestApplicationCode(input: $i) "
                             "{ ... on Challenge { id } ... on Error { code message } } }",
                     {"i": {**PERSON, "phone": PHONE}})
    if "id" not in data["requestApplicationCode"]:
        raise SystemExit(f"cannot sign in to apply: {data['requestApplicationCode']} (use a fresh data dir)")
    token = await verified(client, sms_url, data["requestApplicationCode"]["id"], seen)
    categories = await gql(client, "{ serviceCategories { id subcategories { id } } }")
    rows = [{"categoryId": c["id"], "subcategoryId": c["subcategories"][0]["id"]}
            for c in categories["serviceCategories"][:5]]
    submitted = await gql(client, "mutation($i: SubmitApplicationInput!) { submitApplication(input: $i) "
                                  "{ ... on SubmitApplicationSuccess { trackingNo } ... on Error { code message } } }",
                          {"i": {"sameAsResidence": True, "phone": PHONE, "subject": "Ölçüm", "categories": rows}},
                          token=token)
    tracking_no = submitted["submitApplication"]["trackingNo"]
    seen = await codes_seen(client, sms_url)
    data = await gql(client, "mutation($i: RequestTrackingCodeInput!) { requestTrackingCode(input: $i) "
                             "{ ... on Challenge { id } } }",
                     {"i": {"trackingNo": tracking_no, "tcKimlikNo": PERSON["tcKimlikNo"]}})
    return await verified(client, sms_url, data["requestTrackingCode"]["id"], seen)


async def measure(client, name: str, query: str, token: str | None, seconds: float, concurrency: int) -> None:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await gql(client, query, token=token)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95)]
    print(f"{name:28} {len(latencies) / seconds:8.1f} req/s   p50 {statistics.median(latencies) * 1000:6.1f} ms"
          f"   p95 {p95 * 1000:6.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--sms-url", default="http://127.0.0.1:8102")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=args.url, limits=limits, timeout=30) as client:
        token = await setup(client, args.sms_url)
        await measure(client, "__typename", "{ __typename }", None, args.seconds, args.concurrency)
        await measure(client, "serviceCategories", "{ serviceCategories { id name subcategories { id name } } }",
                      None, args.seconds, args.concurrency)
        await measure(client, "trackedApplication",
                      "{ trackedApplication { trackingNo status categories { category subcategory } "
                      "files { fileName } history { status at } } }", token, args.seconds, args.concurrency)


if __name__ == "__main__":
    asyncio.run(main())
