"""The web UI's session: a signed cookie naming an API key by id, never holding the key, and the secret that signs it.

A login (``POST /login`` with a raw API key) verifies the key with the service's key store and sets the cookie
``rw_session`` to ``itsdangerous``'s timestamped signature of ``{"sid", "kid"}``: ``sid`` is 16 random bytes (the
CSRF token is bound to it, :mod:`ragwright.ui.csrf`), ``kid`` the key's public id. The cookie is HttpOnly,
SameSite=Lax, Secure over HTTPS, and expires after ``[ui] session_hours``; the signature's timestamp enforces the
same expiry on the server, whatever the browser keeps.

A live session is stored nowhere but in its cookie: every request re-reads the key by id (:mod:`ragwright.ui.auth`), so
a revoked key ends all its sessions on its next request, on every replica. Logging out records the session's ``sid``
as ended until the cookie's expiry (:mod:`ragwright.service.ended_sessions`), so a copy of the cookie is refused too.

The signing secret (:func:`signing_secret`) is ``[ui] session_secret`` (an ``env:``/``file:`` reference shared by
every replica) or, on one host, ``<data_dir>/ui-session.secret``: 32 random bytes written once, 0600, by whichever
process gets there first (every ``serve --workers N`` process then reads the same file). With a ``[redis] url`` the
deployment has replicas on several hosts, each with its own data directory, so the file would differ per host: then
the secret must be configured, and until it is the UI refuses logins (:class:`~ragwright.errors.ConfigError`).

Example::

    codec = SessionCodec(b"secret" * 6, max_age=3600)
    cookie = codec.dumps(Session.new("a1b2c3d4e5f6"))
    codec.loads(cookie)               # Session(sid=..., key_id="a1b2c3d4e5f6"), or None when forged or expired
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ragwright.config import Settings
from ragwright.errors import ConfigError
from ragwright.private_files import FILE_MODE, private_dir
from ragwright.secret_refs import resolve_secret

COOKIE = "rw_session"
SECRET_FILE = "ui-session.secret"
_SALT = "ragwright.ui.session"


@dataclass(frozen=True, slots=True)
class Session:
    """One login: a random session id and the id of the API key it logged in with."""

    sid: str
    key_id: str

    @classmethod
    def new(cls, key_id: str) -> Session:
        return cls(sid=secrets.token_urlsafe(16), key_id=key_id)


class SessionCodec:
    """Sign and check session cookies with one secret; ``max_age`` seconds after signing a cookie is refused."""

    def __init__(self, secret: bytes, *, max_age: float) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret must be at least 32 bytes")
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.secret = secret
        self.max_age = max_age

    def dumps(self, session: Session) -> str:
        return str(self._serializer.dumps({"sid": session.sid, "kid": session.key_id}))

    def loads(self, cookie: str | None) -> Session | None:
        """The session in ``cookie``, or None when it is missing, forged, malformed or older than ``max_age``."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=int(self.max_age))
        except (BadSignature, SignatureExpired):  # SignatureExpired is a BadSignature; named for the reader
            return None
        if not isinstance(data, dict):
            return None
        sid, kid = data.get("sid"), data.get("kid")
        if not isinstance(sid, str) or not isinstance(kid, str) or not sid or not kid:
            return None
        return Session(sid=sid, key_id=kid)

    def expired(self, cookie: str | None) -> bool:
        """Whether ``cookie`` is a genuine session that has only run out (for the login page's message)."""
        if not cookie:
            return False
        try:
            self._serializer.loads(cookie, max_age=int(self.max_age))
        except SignatureExpired:
            return True
        except BadSignature:
            return False
        return False


def signing_secret(settings: Settings) -> bytes:
    """The secret that signs session cookies (see the module); ``ConfigError`` when replicas share none."""
    ref = settings.ui.session_secret
    if ref is not None:
        value = resolve_secret(ref) or ""
        if len(value) < 32:
            raise ConfigError(f"ui.session_secret {ref.partition(':')[0]}:... must hold at least 32 characters")
        return value.encode("utf-8")
    if settings.redis.url is not None:
        raise ConfigError(
            "this deployment has replicas ([redis] url) but no shared [ui] session_secret: set it to an env:VAR or "
            "file:PATH reference holding 32+ random characters, the same on every replica"
        )
    return _secret_file(Path(settings.data_dir) / SECRET_FILE)


def _secret_file(path: Path) -> bytes:
    """Read ``path``, first creating it with 32 random bytes (hex, 0600) if missing; the first writer wins a race."""
    try:
        value = path.read_bytes().strip()
        if len(value) >= 32:
            return value
    except FileNotFoundError:
        pass
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    try:
        os.write(fd, secrets.token_hex(32).encode("ascii"))
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic, and fails when another process linked its own first: then theirs is used
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    value = path.read_bytes().strip()
    if len(value) < 32:
        raise ConfigError(f"{path} holds fewer than 32 characters: delete it to have a new one made")
    return value
