"""API owners and their bearer tokens: JHipster-shaped JWTs (HS512; ``sub``, ``auth``, ``exp``)."""

from __future__ import annotations

import base64
import datetime as _dt
import hmac
import json

from fake_leaf.engine import _errors as err
from fake_leaf.engine._models import _Owner
from fake_leaf.engine._state import EngineState

__tracebackhide__ = err.hide_refusals  # pytest shows the test's frames for the fake's refusals

TOKEN_LIFETIME = _dt.timedelta(hours=24)
REMEMBER_ME_TOKEN_LIFETIME = _dt.timedelta(days=30)
_VERIFIED_TOKENS_KEPT = 1024  # a test suite uses a handful; a fuzzer's forged tokens are never kept


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_JWT_HEADER = _b64(json.dumps({"alg": "HS512"}, separators=(",", ":")).encode())


class Tokens(EngineState):
    def add_api_owner(self, username: str, password: str) -> None:
        """Register an API owner who can log in with ``username`` and ``password``."""
        if not username or not password:
            raise ValueError("an API owner needs a non-empty username and password")
        with self._lock:
            if username in self._owners:
                raise ValueError(f"API owner {username!r} already exists")
            self._owners[username] = _Owner(username, password)
            self._users_by_owner[username] = {}

    def api_owners(self) -> list[str]:
        with self._lock:
            return list(self._owners)

    def authenticate(self, username: str, password: str, remember_me: bool = False) -> str:
        """Log in: a token for the owner, or BadCredentialsError."""
        with self._lock:
            owner = self._owners.get(username)
            if owner is None or not hmac.compare_digest(owner.password.encode("utf-8", "surrogatepass"),
                                                        password.encode("utf-8", "surrogatepass")):
                raise err.BadCredentialsError(username)
            lifetime = REMEMBER_ME_TOKEN_LIFETIME if remember_me else TOKEN_LIFETIME
            return self.issue_token(username, lifetime)

    def issue_token(self, username: str, lifetime: _dt.timedelta) -> str:
        """A JHipster-shaped JWT for an existing owner."""
        with self._lock:
            if username not in self._owners:
                raise ValueError(f"no API owner {username!r}")
            exp = int((self.now() + lifetime).timestamp())
        # json.dumps({"sub": ..., "auth": "ROLE_USER", "exp": ...}, separators=(",", ":")), written directly
        payload = _b64(f'{{"sub":{json.dumps(username)},"auth":"ROLE_USER","exp":{exp}}}'.encode())
        signing_input = f"{_JWT_HEADER}.{payload}"
        token = f"{signing_input}.{self._sign(signing_input)}"
        self._remember_verified(token, (username, exp))  # its first request need not check the signature again
        return token

    def _sign(self, signing_input: str) -> str:
        return _b64(hmac.digest(self._secret, signing_input.encode("ascii"), "sha512"))

    def owner_for_token(self, token: str) -> str:
        """The API owner a bearer token stands for, or NotAuthenticatedError saying why not."""
        verified = self._verified_tokens.get(token)
        if verified is None:
            verified = self._verify(token)
            self._remember_verified(token, verified)
        owner, exp = verified
        with self._lock:
            if self.now().timestamp() >= exp:
                expired = _dt.datetime.fromtimestamp(exp, _dt.timezone.utc).isoformat()
                raise err.NotAuthenticatedError(f"the bearer token expired at {expired}; log in again")
            if owner not in self._owners:
                raise err.NotAuthenticatedError(f"API owner {owner!r} no longer exists")
            return owner

    def _remember_verified(self, token: str, verified: tuple[str, int]) -> None:
        if len(self._verified_tokens) >= _VERIFIED_TOKENS_KEPT:
            self._verified_tokens.clear()
        self._verified_tokens[token] = verified

    def _verify(self, token: str) -> tuple[str, int]:
        """The owner and expiry a token of this fake's signs, or NotAuthenticatedError."""
        parts = token.split(".")
        if len(parts) != 3 or not token.isascii():
            raise err.NotAuthenticatedError("the bearer token is not a JWT (three dot-separated parts)")
        signing_input = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(signing_input), parts[2]):
            raise err.NotAuthenticatedError("the bearer token was not issued by this fake (log in first): a token of "
                                            "another FakeLeaf, or of this one before a reset, is not valid here, "
                                            "and while two fakes of one host are active the last entered answers")
        claims = json.loads(_unb64(parts[1]))
        return str(claims["sub"]), int(claims["exp"])
