"""API keys: created once (the secret is shown only then), stored as a SHA-256 hash.

A key reads ``cad_<prefix>_<secret>``; the prefix finds the row, the hash of the whole
key is compared in constant time. Keys are high-entropy random strings, so a plain
SHA-256 (not a slow password hash) is the right tool.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from cadence.store.errors import NotFoundError
from cadence.store.tables import api_keys_table, utcnow

SCOPES = ("read", "write", "admin")
KEY_PREFIX = "cad_"


@dataclass(frozen=True)
class ApiKeyInfo:
    name: str
    prefix: str
    scopes: tuple[str, ...]
    revoked: bool


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(engine: Engine, name: str, scopes: tuple[str, ...]) -> tuple[str, ApiKeyInfo]:
    """A new key with ``scopes``; returns the full key (shown once) and its info."""
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise ValueError(
            f"scopes must be a non-empty subset of {', '.join(SCOPES)}, got {scopes!r}"
        )
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(24)}"
    ordered = tuple(s for s in SCOPES if s in scopes)
    with engine.begin() as conn:
        conn.execute(
            api_keys_table.insert().values(
                name=name,
                prefix=prefix,
                key_hash=_hash(key),
                scopes=",".join(ordered),
                created_at=utcnow(),
            )
        )
    return key, ApiKeyInfo(name, prefix, ordered, False)


def verify_key(engine: Engine, key: str) -> ApiKeyInfo | None:
    """The key's info when it is valid and not revoked, else None."""
    parts = key.split("_")
    if len(parts) < 3 or not key.startswith(KEY_PREFIX):
        return None
    prefix = parts[1]
    t = api_keys_table
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.prefix == prefix)).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(key)):
        return None
    return ApiKeyInfo(row.name, row.prefix, tuple(row.scopes.split(",")), False)


def revoke_key(engine: Engine, prefix: str) -> None:
    t = api_keys_table
    with engine.begin() as conn:
        n = conn.execute(
            update(t)
            .where(t.c.prefix == prefix, t.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        ).rowcount
    if not n:
        raise NotFoundError(f"no active API key with prefix {prefix!r}")


def list_keys(engine: Engine) -> list[ApiKeyInfo]:
    t = api_keys_table
    with engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.created_at)).all()
    return [
        ApiKeyInfo(r.name, r.prefix, tuple(r.scopes.split(",")), r.revoked_at is not None)
        for r in rows
    ]
