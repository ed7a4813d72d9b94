"""Short-lived signed links for downloads and printable reports, bound to the session that asked for them.

A link proves only that a live session was shown the object a moment ago; the download route still checks
that the session is alive and may see the object.
"""

import hashlib
import hmac
import time
import uuid
from urllib.parse import urlencode


def _signature(key: bytes, path: str, session_id: uuid.UUID, expires: int) -> str:
    message = f"{path}|{session_id}|{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_path(key: bytes, path: str, session_id: uuid.UUID, lifetime_seconds: int, *,
                base_url: str) -> str:
    """An absolute link to `path` under `base_url` (the public address); the signature covers the path only."""
    expires = int(time.time()) + lifetime_seconds
    query = urlencode({"s": str(session_id), "e": expires, "sig": _signature(key, path, session_id, expires)})
    return f"{base_url.rstrip('/')}{path}?{query}"


def check_signed(key: bytes, path: str, session: str, expires: str, signature: str) -> uuid.UUID | None:
    """The session id of a valid, unexpired link; None otherwise."""
    try:
        session_id, expires_at = uuid.UUID(session), int(expires)
    except ValueError:
        return None
    if expires_at < time.time():
        return None
    if not hmac.compare_digest(_signature(key, path, session_id, expires_at), signature):
        return None
    return session_id
