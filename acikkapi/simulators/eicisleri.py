"""A local stand-in for e-İçişleri single sign-on: a real OpenID Connect provider over HTTP.

GET  /.well-known/openid-configuration → the discovery document
GET  /jwks                             → the public signing keys (RSA, made at start, each with a `kid`)
GET  /giris?response_type=code&client_id&redirect_uri&scope=openid&state&nonce&code_challenge
         &code_challenge_method=S256   → the sign-in page (T.C. Kimlik No and password)
POST /giris (the page's form: the same parameters, plus `tckn` and `parola`)
                                       → 302 to redirect_uri?code=…&state=… (tests post it directly)
POST /token  grant_type=authorization_code, code, redirect_uri, code_verifier; the client authenticates with
             HTTP Basic or client_id/client_secret in the form → {id_token, access_token, token_type, expires_in}
GET  /donus?code&state                 → the demo's return page, standing in for the web front end: shows
                                         the completeEIcisleriSignIn mutation to run in GraphiQL
POST /_kontrol {down: bool, delay: float} → the back channel (discovery, keys, token) answers 503, or slowly
POST /_kontrol {next_token: "wrong_audience" | "wrong_issuer" | "expired" | "tampered" | "unknown_key" |
                "replay"}              → the next ID token is bad that way (a replay is the last token again)
POST /_kontrol {rotate: true}          → a new signing key, published beside the old one, signs from now on
GET  /_kontrol                         → the state, with how often the discovery, keys and token were asked for
"""

import asyncio
import base64
import hashlib
import html
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote_plus, urlencode

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

DEMO_PASSWORD = "eicisleri"
CODE_SECONDS = 60
TOKEN_SECONDS = 300
BAD_TOKENS = ("wrong_audience", "wrong_issuer", "expired", "tampered", "unknown_key", "replay")

# e-İçişleri knows every ministry employee; Açık Kapı lets in those of its own users whose role signs in here.
# The first three are the demo's MİA, user admin and analyst (acikkapi/services/reference_data.py); the AKS
# signs in by SMS code, the next one has no Açık Kapı account, then two MİA of other offices and the user
# admins of the ministry and of İstanbul.
# Numbers pass the checksum and are fictitious.
ACCOUNTS = [
    {"tckn": "10000000382", "ad": "SELİM", "soyad": "YURT", "unvan": "Vali Yardımcısı (Ankara)"},
    {"tckn": "10000000450", "ad": "DERYA", "soyad": "KOÇ", "unvan": "Yetki İşlemleri Görevlisi (Ankara)"},
    {"tckn": "10000000528", "ad": "KEREM", "soyad": "AKSOY", "unvan": "Veri Analiz Görevlisi (Ankara)"},
    {"tckn": "10000000078", "ad": "ELİF", "soyad": "ARSLAN", "unvan": "Açık Kapı Sorumlusu (Ankara)"},
    {"tckn": "29000000056", "ad": "AHMET", "soyad": "TEKİN", "unvan": "Şube Müdürü (Açık Kapı kullanıcısı değil)"},
    {"tckn": "10000001136", "ad": "ORHAN", "soyad": "BALCI", "unvan": "Vali Yardımcısı (İstanbul)"},
    {"tckn": "10000001204", "ad": "NİHAN", "soyad": "ATEŞ", "unvan": "Kaymakam (Keçiören)"},
    {"tckn": "10000001372", "ad": "ZEYNEP", "soyad": "AYDIN", "unvan": "Yetki İşlemleri Görevlisi (Bakanlık)"},
    {"tckn": "10000001440", "ad": "LEVENT", "soyad": "GÜNEŞ", "unvan": "Yetki İşlemleri Görevlisi (İstanbul)"},
]


def new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex[:16], "use": "sig", "alg": "RS256"})


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class Grant:
    """An authorization code waiting to be exchanged."""

    account: dict
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    expires: float


@dataclass
class EIcisleriSimulator:
    """One registered client (Açık Kapı), the signing keys and the codes in flight. `issuer` is set once the
    server listens (it names its own address); the client's redirect URI is the return page below."""

    client_id: str
    client_secret: str
    issuer: str = ""
    accounts: list[dict] = field(default_factory=lambda: ACCOUNTS)
    keys: list[RSAKey] = field(default_factory=lambda: [new_key()])
    foreign_key: RSAKey = field(default_factory=new_key)  # never published: signs the "unknown_key" tokens
    grants: dict[str, Grant] = field(default_factory=dict)
    state: dict = field(default_factory=lambda: {"down": False, "delay": 0.0, "next_token": None})
    counts: dict = field(default_factory=lambda: {"discovery": 0, "jwks": 0, "token": 0})
    last_token: str | None = None

    @property
    def return_uri(self) -> str:
        return f"{self.issuer}/donus"

    def id_token(self, account: dict, nonce: str | None) -> str:
        bad, self.state["next_token"] = self.state["next_token"], None
        if bad == "replay" and self.last_token:
            return self.last_token
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": account["tckn"], "aud": self.client_id, "iat": now,
                  "exp": now + TOKEN_SECONDS, "auth_time": now, "jti": uuid.uuid4().hex,
                  "name": f"{account['ad']} {account['soyad']}", "given_name": account["ad"],
                  "family_name": account["soyad"]}
        if nonce is not None:
            claims["nonce"] = nonce
        if bad == "wrong_audience":
            claims["aud"] = "baska-uygulama"
        elif bad == "wrong_issuer":
            claims["iss"] = "https://sahte-eicisleri.example"
        elif bad == "expired":
            claims.update(iat=now - 3600, exp=now - 1800)
        key = self.foreign_key if bad == "unknown_key" else self.keys[-1]
        token = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)
        if bad == "tampered":  # someone else's number in the payload, the original signature kept
            header, payload, signature = token.split(".")
            other = next(a for a in self.accounts if a["tckn"] != account["tckn"])
            payload = base64.urlsafe_b64encode(json.dumps({**claims, "sub": other["tckn"]}).encode())
            token = ".".join([header, payload.rstrip(b"=").decode(), signature])
        self.last_token = token
        return token


def create_eicisleri_app(provider: EIcisleriSimulator) -> web.Application:
    by_tckn = {account["tckn"]: account for account in provider.accounts}

    back_channel = {"/.well-known/openid-configuration": "discovery", "/jwks": "jwks", "/token": "token"}

    @web.middleware
    async def outage(request: web.Request, handler):
        if request.path in back_channel:
            provider.counts[back_channel[request.path]] += 1  # every request that reached the provider
            if provider.state["delay"]:
                await asyncio.sleep(provider.state["delay"])
            if provider.state["down"]:
                return web.json_response({"error": "temporarily_unavailable"}, status=503)
        return await handler(request)

    async def discovery(request: web.Request) -> web.Response:
        issuer = provider.issuer
        return web.json_response({
            "issuer": issuer, "authorization_endpoint": f"{issuer}/giris", "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks", "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "grant_types_supported": ["authorization_code"], "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "name", "given_name", "family_name", "nonce", "auth_time"],
        })

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response(KeySet(provider.keys).as_dict(private=False))

    def refusal(params) -> str | None:
        """Why the request cannot even be answered by a redirect (RFC 6749 4.1.2.1): shown on the page."""
        if params.get("client_id") != provider.client_id:
            return "Bu uygulama e-İçişleri'ne kayıtlı değil."
        if params.get("redirect_uri") != provider.return_uri:
            return "Dönüş adresi bu uygulama için kayıtlı değil."
        return None

    def redirect(params, **answer: str) -> web.HTTPFound:
        """Back to the client with `answer` (a code or an error) and the client's state."""
        state = {"state": params["state"]} if "state" in params else {}
        return web.HTTPFound(f"{params['redirect_uri']}?{urlencode({**answer, **state})}")

    async def sign_in_page(request: web.Request) -> web.Response:
        params = request.query if request.method == "GET" else await request.post()
        if problem := refusal(params):
            return page("Hatalı istek", f"<p class=hata>{html.escape(problem)}</p>", status=400)
        if params.get("response_type") != "code" or "openid" not in params.get("scope", "").split():
            raise redirect(params, error="unsupported_response_type")
        if "code_challenge" in params and params.get("code_challenge_method") != "S256":
            raise redirect(params, error="invalid_request")
        error = ""
        if request.method == "POST":
            account = by_tckn.get(params.get("tckn", "").strip())
            if account is not None and secrets.compare_digest(params.get("parola", ""), DEMO_PASSWORD):
                code = secrets.token_urlsafe(32)
                provider.grants[code] = Grant(account, params["redirect_uri"], params.get("nonce"),
                                              params.get("code_challenge"), time.monotonic() + CODE_SECONDS)
                raise redirect(params, code=code)
            error = "<p class=hata>T.C. Kimlik No veya parola hatalı.</p>"
        hidden = "".join(f'<input type=hidden name="{html.escape(name)}" value="{html.escape(value)}">'
                         for name, value in params.items() if name not in ("tckn", "parola"))
        rows = "".join(f"<tr><td>{a['tckn']}</td><td>{html.escape(a['ad'])} {html.escape(a['soyad'])}</td>"
                       f"<td>{html.escape(a['unvan'])}</td></tr>" for a in provider.accounts)
        return page("e-İçişleri Giriş", f"""{error}
<form method=post action="/giris">{hidden}
<label>T.C. Kimlik No <input name=tckn inputmode=numeric maxlength=11 required autofocus></label>
<label>Parola <input name=parola type=password required></label>
<button>Giriş</button></form>
<h2>Deneme hesapları (parola: {DEMO_PASSWORD})</h2>
<table><tr><th>T.C. Kimlik No</th><th>Ad Soyad</th><th>Unvan</th></tr>{rows}</table>""",
                    status=401 if error else 200)

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.headers.get("Authorization", "").startswith("Basic "):
            try:
                basic = base64.b64decode(request.headers["Authorization"][6:]).decode()
            except ValueError:
                basic = ":"
            client_id, _, client_secret = map(unquote_plus, basic.partition(":"))
        if client_id != provider.client_id or not secrets.compare_digest(client_secret or "", provider.client_secret):
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "authorization_code":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        grant = provider.grants.pop(form.get("code", ""), None)  # single use: gone whatever happens next
        if (grant is None or grant.expires < time.monotonic() or form.get("redirect_uri") != grant.redirect_uri
                or (grant.code_challenge and s256(form.get("code_verifier", "")) != grant.code_challenge)):
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response({"id_token": provider.id_token(grant.account, grant.nonce),
                                  "access_token": secrets.token_urlsafe(32), "token_type": "Bearer",
                                  "expires_in": TOKEN_SECONDS}, headers={"Cache-Control": "no-store"})

    async def return_page(request: web.Request) -> web.Response:
        if "error" in request.query:
            return page("Giriş yapılamadı", f"<p class=hata>{html.escape(request.query['error'])}</p>", status=400)
        arguments = json.dumps(request.query.get("code", "")), json.dumps(request.query.get("state", ""))
        mutation = (f"mutation {{\n  completeEIcisleriSignIn(code: {arguments[0]}, state: {arguments[1]}) {{\n"
                    "    __typename\n    ... on SignedIn { token expiresAt }\n    ... on Error { code message }\n"
                    "  }\n}")
        return page("e-İçişleri girişi tamamlandı", f"""
<p>e-İçişleri kimliğinizi doğruladı. Açık Kapı oturumunu açmak için aşağıdaki sorguyu Açık Kapı GraphiQL
ekranında (ör. http://127.0.0.1:8000/graphql) çalıştırın ve dönen <code>token</code> değerini
<code>Authorization: Bearer …</code> başlığıyla gönderin. Kod bir dakika içinde, bir kez kullanılabilir.</p>
<pre>{html.escape(mutation)}</pre>""")

    async def control(request: web.Request) -> web.Response:
        if request.method == "POST":
            changes = await request.json()
            if changes.pop("rotate", False):
                provider.keys.append(new_key())
            if changes.get("next_token") not in (None, *BAD_TOKENS):
                return web.json_response({"hata": f"bilinmeyen next_token: {changes['next_token']}"}, status=400)
            provider.state.update(changes)
        return web.json_response({**provider.state, "counts": provider.counts,
                                  "kids": [key.kid for key in provider.keys]})

    app = web.Application(middlewares=[outage])
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/jwks", jwks)
    app.router.add_route("*", "/giris", sign_in_page)
    app.router.add_post("/token", token)
    app.router.add_get("/donus", return_page)
    app.router.add_route("*", "/_kontrol", control)
    return app


def page(title: str, body: str, *, status: int = 200) -> web.Response:
    return web.Response(status=status, content_type="text/html", charset="utf-8", text=f"""<!doctype html>
<html lang=tr><meta charset=utf-8><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:46rem;margin:2rem auto}}label{{display:block;margin:.5rem 0}}
.hata{{color:#b00}}td,th{{padding:.2rem .6rem;text-align:left}}pre{{background:#eee;padding:1rem}}</style>
<h1>{html.escape(title)}</h1>
<p><small>Yerel e-İçişleri benzetimi: yalnızca geliştirme ve deneme içindir.</small></p>
{body}</html>""", headers={"Cache-Control": "no-store",
                                  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
