"""The staff of the workflow tests (demo users, acikkapi/services/reference_data.py) and the steps they take."""

from urllib.parse import parse_qsl, urlsplit

from acikkapi.simulators.eicisleri import DEMO_PASSWORD
from tests.documents import COMPLETE_EICISLERI, START_EICISLERI, STAFF_APPLICATION
from tests.helpers import AKS_ANKARA, MIA_ANKARA, YETKILI_ANKARA  # noqa: F401

ANKARA, ISTANBUL = 6, 34
MILLI_EGITIM = 55461037  # ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ
KECIOREN_MILLI_EGITIM = 26746921  # KEÇİÖREN İLÇE MİLLÎ EĞİTİM MÜDÜRLÜĞÜ
SAGLIK = 41085047  # ANKARA İL SAĞLIK MÜDÜRLÜĞÜ

AKS_ISTANBUL = {"tckn": "10000000696", "phone": "5321000006"}
AKS_KECIOREN = {"tckn": "10000000764", "phone": "5321000007"}  # a kaymakamlık's office
AKS_CANKAYA = {"tckn": "10000000832", "phone": "5321000008"}  # another district's office
YETKILI_KECIOREN = {"tckn": "10000000900", "phone": "5321000009"}  # KEÇİÖREN İLÇE MİLLÎ EĞİTİM
YETKILI_SAGLIK = {"tckn": "10000001068", "phone": "5321000010"}  # a unit nothing is routed to
MIA_ISTANBUL = {"tckn": "10000001136"}
MIA_KECIOREN = {"tckn": "10000001204"}  # the kaymakam
ANALIST = {"tckn": "10000000528"}

AYSE_PHONE = "5350001047"


async def mia_sign_in(world, staff: dict) -> str:
    """The MİA signs in through the e-İçişleri simulator: start, its sign-in page, back with code and state."""
    started = (await world.gql(START_EICISLERI))["startEIcisleriSignIn"]
    page = urlsplit(started["authorizationUrl"])
    form = {**dict(parse_qsl(page.query)), "tckn": staff["tckn"], "parola": DEMO_PASSWORD}
    response = await world.http.post(f"{page.scheme}://{page.netloc}{page.path}", data=form)
    answer = dict(parse_qsl(urlsplit(response.headers["location"]).query))
    signed_in = (await world.gql(COMPLETE_EICISLERI, {"code": answer["code"], "state": answer["state"]}))[
        "completeEIcisleriSignIn"]
    assert signed_in["__typename"] == "SignedIn", signed_in
    return signed_in["token"]


async def step(world, token: str, document: str, **input) -> dict:
    """Run one workflow mutation; its payload (success or typed error)."""
    data = await world.gql(document, {"input": input}, token=token)
    return next(iter(data.values()))


async def done(world, token: str, document: str, **input) -> dict:
    payload = await step(world, token, document, **input)
    assert payload["__typename"] == "WorkflowStepDone", payload
    return payload


async def staff_view(world, token: str, tracking_no: int) -> dict:
    return (await world.gql(STAFF_APPLICATION, {"trackingNo": tracking_no}, token=token))["staffApplication"]
