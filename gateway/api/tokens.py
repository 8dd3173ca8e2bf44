"""API tokens: shown once when made, stored only as their SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models import ApiToken, Role

PREFIX = "gwt_"
ROLES = (Role.ANALYST, Role.ADMIN)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(session: Session, name: str, role: Role, now: dt.datetime) -> tuple[ApiToken, str]:
    """A new token row and the token itself (256 random bits), which is never stored."""
    if role not in ROLES:
        raise ValueError(f"an API token's role is analyst or admin, not {role}")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=token_hash(token), role=role, created_at=now)
    session.add(row)
    session.flush()
    return row, token


def authenticate(session: Session, token: str) -> ApiToken | None:
    """The token's row when it exists and is not revoked."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    return session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None)
        )
    )


def revoke(session: Session, token_id: int, now: dt.datetime) -> bool:
    """Revoke a token; False when there is none with that id or it was revoked."""
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    return True
