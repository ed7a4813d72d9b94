"""e-İçişleri single sign-on: one interface, one aiohttp client speaking OpenID Connect (authorization code
flow with PKCE).

e-İçişleri authenticates the person and vouches for them in a signed ID token; this client checks that token
with joserfc against the keys the provider publishes (signature, issuer, audience, expiry, nonce) and returns
only who the person is. What they may do is decided by our own user table (services/eicisleri_signin.py).
The discovery document and the keys are cached; a token signed by a key we do not know makes us fetch the
keys again, at most once per key id (the provider has rotated its keys, or the token is forged).
"""

import asyncio
import base64
import logging
import time
from typing import Protocol
from urllib.parse import quote_plus, urlencode

import aiohttp
from joserfc import jws, jwt
from joserfc.errors import (
    ExpiredTokenError, InvalidClaimError, InvalidKeyIdError, JoseError, MissingClaimError,
)
from joserfc.jwk import KeySet

from acikkapi.services.circuit import CircuitBreaker
from acikkapi.services.errors import DomainError, ServiceUnavailable, raises
from acikkapi.settings import Settings

log = logging.getLogger(__name__)
REMEMBERED_UNKNOWN_KEYS = 64
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class EIcisleriUnavailable(ServiceUnavailable):
    """e-İçişleri does not answer (or its circuit is open)."""

    message = "e-İçişleri servisine şu anda ulaşılamıyor. Lütfen daha sonra tekrar deneyiniz."


class EIcisleriCodeRefused(DomainError):
    """e-İçişleri refused to exchange the code: used already, expired, or not issued for this sign-in."""

    code = "EICISLERI_CODE_REFUSED"
    message = "e-İçişleri giriş kodunu kabul etmedi. Lütfen e-İçişleri ile yeniden giriş yapınız."


class EIcisleriTokenRefused(DomainError):
    """The ID token e-İçişleri sent fails a check; the subclasses name which."""

    code = "EICISLERI_TOKEN_REFUSED"
    message = "e-İçişleri'nden gelen kimlik bilgisi doğrulanamadı. Lütfen yeniden giriş yapınız."


class EIcisleriSignatureInvalid(EIcisleriTokenRefused):
    """The token is not signed by one of e-İçişleri's published keys (tampered, or signed by another key)."""

    code = "EICISLERI_SIGNATURE_INVALID"
    message = "e-İçişleri'nden gelen kimlik bilgisinin imzası doğrulanamadı. Lütfen yeniden giriş yapınız."


class EIcisleriIssuerWrong(EIcisleriTokenRefused):
    """The token was not issued by the configured e-İçişleri."""

    code = "EICISLERI_ISSUER_WRONG"
    message = "Kimlik bilgisi e-İçişleri tarafından düzenlenmemiş. Lütfen yeniden giriş yapınız."


class EIcisleriAudienceWrong(EIcisleriTokenRefused):
    """The token was issued for another application."""

    code = "EICISLERI_AUDIENCE_WRONG"
    message = "Kimlik bilgisi Açık Kapı için düzenlenmemiş. Lütfen yeniden giriş yapınız."


class EIcisleriTokenExpired(EIcisleriTokenRefused):
    """The token's time is up."""

    code = "EICISLERI_TOKEN_EXPIRED"
    message = "e-İçişleri kimlik bilgisinin süresi dolmuş. Lütfen yeniden giriş yapınız."


class EIcisleriNonceMismatch(EIcisleriTokenRefused):
    """The token was not issued for this sign-in (a replayed or injected token)."""

    code = "EICISLERI_NONCE_MISMATCH"
    message = "Kimlik bilgisi bu giriş isteği için düzenlenmemiş. Lütfen yeniden giriş yapınız."


CLAIM_ERRORS = {"iss": EIcisleriIssuerWrong, "aud": EIcisleriAudienceWrong, "nonce": EIcisleriNonceMismatch,
                "exp": EIcisleriTokenExpired}


class EIcisleri(Protocol):
    @raises(EIcisleriUnavailable)
    async def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        """Where to send the browser to sign in."""

    @raises(EIcisleriUnavailable, EIcisleriCodeRefused, EIcisleriTokenRefused, EIcisleriSignatureInvalid,
            EIcisleriIssuerWrong, EIcisleriAudienceWrong, EIcisleriTokenExpired, EIcisleriNonceMismatch)
    async def signed_in_person(self, *, code: str, code_verifier: str, nonce: str) -> str:
        """Exchange the code and check the ID token; the person's T.C. Kimlik No (the token's `sub`)."""


class HttpEIcisleri:
    def __init__(self, settings: Settings, http: aiohttp.ClientSession, breaker: CircuitBreaker) -> None:
        self.issuer = settings.eicisleri_issuer  # compared exactly, as OpenID Connect requires
        self.client_id = settings.eicisleri_client_id
        # client_secret_basic: each part form-encoded first (RFC 6749, 2.3.1)
        credentials = f"{quote_plus(settings.eicisleri_client_id)}:{quote_plus(settings.eicisleri_client_secret)}"
        self.client_auth = {"Authorization": f"Basic {base64.b64encode(credentials.encode()).decode()}"}
        self.redirect_uri = settings.eicisleri_redirect_uri
        self.leeway = settings.eicisleri_leeway_seconds
        self.cache_seconds = settings.eicisleri_cache_seconds
        self.http = http
        self.breaker = breaker
        self.fetching = asyncio.Lock()  # a cold cache is filled by one request; the others wait for it
        self.metadata: dict | None = None
        self.keys: KeySet | None = None
        self.fetched_at = 0.0
        self.unknown_kids: dict[str, None] = {}  # key ids we fetched the keys for, to no avail: oldest first

    @classmethod
    def of(cls, settings: Settings, http: aiohttp.ClientSession) -> "HttpEIcisleri":
        return cls(settings, http, CircuitBreaker.of("e-İçişleri", settings, failure=EIcisleriUnavailable))

    async def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        metadata, _ = await self._provider()
        query = urlencode({"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                           "scope": "openid profile", "state": state, "nonce": nonce,
                           "code_challenge": code_challenge, "code_challenge_method": "S256"})
        endpoint = metadata["authorization_endpoint"]
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def signed_in_person(self, *, code: str, code_verifier: str, nonce: str) -> str:
        metadata, keys = await self._provider()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "code_verifier": code_verifier}
        answer = await self._call("POST", metadata["token_endpoint"], data=form, headers=self.client_auth)
        if answer is None:
            raise EIcisleriCodeRefused()
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            log.warning("e-İçişleri answered the code exchange without an ID token")
            raise EIcisleriUnavailable()
        try:
            token = jwt.decode(id_token, keys, algorithms=["RS256"])
        except InvalidKeyIdError:
            token = await self._decode_with_fresh_keys(id_token)
        except JoseError as error:
            raise EIcisleriSignatureInvalid() from error
        registry = jwt.JWTClaimsRegistry(
            leeway=self.leeway, iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id}, nonce={"essential": True, "value": nonce},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True})
        try:
            registry.validate(token.claims)
        except ExpiredTokenError as error:
            raise EIcisleriTokenExpired() from error
        except (InvalidClaimError, MissingClaimError) as error:
            raise CLAIM_ERRORS.get(error.claim, EIcisleriTokenRefused)() from error
        except JoseError as error:  # issued in the future, not yet valid, …
            raise EIcisleriTokenRefused() from error
        subject = token.claims["sub"]
        if not isinstance(subject, str):
            raise EIcisleriTokenRefused()
        return subject

    async def _decode_with_fresh_keys(self, id_token: str) -> jwt.Token:
        """The token names a key we do not know: the provider may have rotated its keys. Fetched again once
        per unknown key id, so forged key ids cannot make us hammer the provider."""
        kid = str(jws.extract_compact(id_token.encode()).protected.get("kid"))
        if kid not in self.unknown_kids:
            self.unknown_kids[kid] = None
            if len(self.unknown_kids) > REMEMBERED_UNKNOWN_KEYS:
                del self.unknown_kids[next(iter(self.unknown_kids))]
            await self._provider(refresh=True)
        try:
            return jwt.decode(id_token, self.keys, algorithms=["RS256"])
        except JoseError as error:
            raise EIcisleriSignatureInvalid() from error

    async def _provider(self, *, refresh: bool = False) -> tuple[dict, KeySet]:
        """The discovery document and the published keys, from the cache while it is fresh."""
        fresh = self.metadata is not None and time.monotonic() - self.fetched_at < self.cache_seconds
        if fresh and not refresh:
            return self.metadata, self.keys
        fetched_at = self.fetched_at
        async with self.fetching:
            if self.fetched_at == fetched_at:  # nobody fetched while we waited for the lock
                metadata = await self._call("GET", f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
                if not metadata or metadata.get("issuer") != self.issuer or not all(
                        isinstance(metadata.get(name), str) for name in ENDPOINTS):
                    log.warning("e-İçişleri's discovery document names another issuer or is unreadable")
                    raise EIcisleriUnavailable()
                try:
                    keys = KeySet.import_key_set(await self._call("GET", metadata["jwks_uri"]) or {})
                except (JoseError, KeyError, TypeError, ValueError) as error:
                    log.warning("e-İçişleri's keys are unreadable: %r", error)
                    raise EIcisleriUnavailable() from error
                self.metadata, self.keys, self.fetched_at = metadata, keys, time.monotonic()
        return self.metadata, self.keys

    async def _call(self, method: str, url: str, **kwargs) -> dict | None:
        """The provider's JSON answer; None when it refused our request (4xx), which is no outage."""
        try:
            body = await self._request(method, url, **kwargs)
        except EIcisleriUnavailable:
            raise
        except ServiceUnavailable as error:  # the open breaker's refusal, said with e-İçişleri's name
            raise EIcisleriUnavailable() from error
        if body is not None and not isinstance(body, dict):
            raise EIcisleriUnavailable()
        return body

    async def _request(self, method: str, url: str, **kwargs) -> object:
        async with self.breaker.guard():  # while e-İçişleri is down, fail at once instead of waiting
            try:
                async with self.http.request(method, url, **kwargs) as response:
                    if response.status >= 500:
                        log.warning("e-İçişleri answered HTTP %s", response.status)
                        raise EIcisleriUnavailable()
                    if response.status != 200:
                        log.warning("e-İçişleri refused a request: HTTP %s", response.status)
                        return None
                    return await response.json(content_type=None)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                log.warning("e-İçişleri unreachable: %r", error)
                raise EIcisleriUnavailable() from error
