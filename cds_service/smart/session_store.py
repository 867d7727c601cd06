"""Server-side state of the SMART app: pending launches and signed-in sessions.

Nothing secret ever reaches the browser. The browser holds two signed, HttpOnly, SameSite=Lax
cookies, each carrying only a random identifier:

* ``salvage_smart_launch`` — the OAuth ``state`` of a launch in progress (binds the callback to the
  browser that started the launch: login-CSRF protection). The launch itself (PKCE verifier, token
  endpoint, FHIR base) is a row of ``smart_launches``, valid for 10 minutes and deleted by the first
  callback that uses it (one-time).
* ``salvage_smart_session`` — the browser's session ids (up to 8, one per launch, newest first;
  each launch opens its own plan URL, ``/smart/plan/<handle>``, where the handle is a hash of its
  session id). Each is a 256-bit id. The row of ``smart_sessions`` is keyed by a hash
  of that id, and the access token is stored encrypted (Fernet) under a key derived from the same id:
  the database alone (a backup, a dump) yields no usable token. The row expires with the token.

The tables live in the service's own database (the feedback store's SQLAlchemy engine), so every
gunicorn worker sees the same launches and sessions. The cookie-signing key is the configured
``secret_key``; when none is configured, one random key is created once and kept in ``smart_keys``
(a per-process key would make worker A reject the cookies of worker B).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Boolean, Column, Float, MetaData, String, Table, Text, delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from cds_service.storage.database import prepare_schema

LAUNCH_TTL_S = 600  # an authorization round trip must finish within 10 minutes
DEFAULT_TOKEN_TTL_S = 3600  # when the token response carries no expires_in
MAX_SESSION_TTL_S = 12 * 3600  # never keep a token longer than a clinic day
SIGNING_KEY_NAME = "smart-cookie-signing-key"

metadata = MetaData()

launches_table = Table(
    "smart_launches",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("payload", Text, nullable=False),  # JSON of PendingLaunch
    Column("expires_at", Float, nullable=False, index=True),  # epoch seconds
)

sessions_table = Table(
    "smart_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("fhir_base", String(2048), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("scope", Text, nullable=False),
    Column("assessment_date", String(10)),
    Column("need_patient_banner", Boolean, nullable=False, default=True),
    Column("token_ciphertext", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

keys_table = Table(
    "smart_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)


@dataclass(frozen=True)
class PendingLaunch:
    """What the callback needs to finish one authorization (never shown to the browser)."""

    fhir_base: str
    token_endpoint: str
    code_verifier: str
    redirect_uri: str
    scope: str
    mode: str  # "ehr" | "standalone"
    nonce: str | None = None  # OpenID Connect nonce sent to authorize (when `openid` is asked)
    issuer: str | None = None  # the discovery document's issuer: the id_token's `iss`
    jwks_uri: str | None = None  # where the id_token's signing keys are


@dataclass(frozen=True)
class SmartSession:
    """A signed-in session: the FHIR server, the patient in context, and the access token."""

    fhir_base: str
    patient_id: str
    scope: str
    access_token: str
    assessment_date: str | None
    need_patient_banner: bool
    expires_at: float


def _hash(purpose: str, value: str) -> str:
    return hashlib.sha256(f"{purpose}|{value}".encode()).hexdigest()


def session_handle(session_id: str) -> str:
    """The public name of a session in its plan URL: a one-way hash of its id (the URL, in a
    history or a log, opens nothing without the browser's signed cookie)."""
    return _hash("handle", session_id)[:32]


def _fernet_for(session_id: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"salvage-cds smart access token").derive(session_id.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class SmartStore:
    def __init__(self, engine: Engine, signing_key: str) -> None:
        self.engine = engine
        self._launch_cookie = URLSafeSerializer(signing_key, salt="salvage-cds.smart-launch")
        self._session_cookie = URLSafeSerializer(signing_key, salt="salvage-cds.smart-session")

    @classmethod
    def open(cls, engine: Engine, secret_key: str | None) -> SmartStore:
        prepare_schema(engine)  # the Alembic migrations (cds_service/storage/migrations)
        return cls(engine, secret_key or _shared_signing_key(engine))

    # -- cookies -------------------------------------------------------------------------------
    def sign_state(self, state: str) -> str:
        return self._launch_cookie.dumps(state)

    def unsign_state(self, cookie: str | None) -> str | None:
        return _unsign(self._launch_cookie, cookie)

    def sign_session_ids(self, session_ids: list[str]) -> str:
        return self._session_cookie.dumps(list(session_ids))

    def unsign_session_ids(self, cookie: str | None) -> list[str]:
        if not cookie:
            return []
        try:
            value: Any = self._session_cookie.loads(cookie)
        except BadSignature:
            return []
        if not isinstance(value, list):
            return []
        return [v for v in value if isinstance(v, str) and v]

    # -- launches --------------------------------------------------------------------------------
    def save_launch(self, state: str, launch: PendingLaunch, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.engine.begin() as conn:
            conn.execute(delete(launches_table).where(launches_table.c.expires_at < now))
            conn.execute(insert(launches_table).values(
                state_hash=_hash("state", state),
                payload=json.dumps(asdict(launch)),
                expires_at=now + LAUNCH_TTL_S,
            ))

    def take_launch(self, state: str, *, now: float | None = None) -> PendingLaunch | None:
        """Return the launch of `state` and delete it (one-time use); None if unknown/expired."""
        now = time.time() if now is None else now
        key = _hash("state", state)
        with self.engine.begin() as conn:
            row = conn.execute(select(launches_table).where(launches_table.c.state_hash == key)).first()
            if row is None:
                return None
            deleted = conn.execute(delete(launches_table).where(launches_table.c.state_hash == key))
        if deleted.rowcount != 1 or row.expires_at < now:
            return None  # a concurrent callback won the race, or the launch is too old
        return PendingLaunch(**json.loads(row.payload))

    # -- sessions --------------------------------------------------------------------------------
    def create_session(self, *, fhir_base: str, patient_id: str, scope: str, access_token: str,
                       expires_in: int | None, assessment_date: str | None,
                       need_patient_banner: bool, now: float | None = None) -> str:
        """Store a session; return its id (to be signed into the cookie, never stored as is)."""
        now = time.time() if now is None else now
        ttl = DEFAULT_TOKEN_TTL_S if not expires_in or expires_in <= 0 else expires_in
        ttl = min(ttl, MAX_SESSION_TTL_S)
        session_id = secrets.token_urlsafe(32)
        ciphertext = _fernet_for(session_id).encrypt(access_token.encode()).decode()
        with self.engine.begin() as conn:
            conn.execute(delete(sessions_table).where(sessions_table.c.expires_at < now))
            conn.execute(insert(sessions_table).values(
                id_hash=_hash("session", session_id),
                fhir_base=fhir_base,
                patient_id=patient_id,
                scope=scope,
                assessment_date=assessment_date,
                need_patient_banner=need_patient_banner,
                token_ciphertext=ciphertext,
                created_at=now,
                expires_at=now + ttl,
            ))
        return session_id

    def load_session(self, session_id: str, *, now: float | None = None) -> SmartSession | None:
        now = time.time() if now is None else now
        with self.engine.connect() as conn:
            row = conn.execute(select(sessions_table).where(
                sessions_table.c.id_hash == _hash("session", session_id))).first()
        if row is None or row.expires_at < now:
            return None
        try:
            token = _fernet_for(session_id).decrypt(row.token_ciphertext.encode()).decode()
        except InvalidToken:
            return None
        return SmartSession(
            fhir_base=row.fhir_base,
            patient_id=row.patient_id,
            scope=row.scope,
            access_token=token,
            assessment_date=row.assessment_date,
            need_patient_banner=bool(row.need_patient_banner),
            expires_at=row.expires_at,
        )

    def delete_session(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions_table).where(
                sessions_table.c.id_hash == _hash("session", session_id)))

    def count(self) -> dict[str, int]:
        """Rows per table (tests and operators)."""
        with self.engine.connect() as conn:
            return {
                "launches": len(conn.execute(select(launches_table.c.state_hash)).all()),
                "sessions": len(conn.execute(select(sessions_table.c.id_hash)).all()),
            }


def _unsign(serializer: URLSafeSerializer, cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        value: Any = serializer.loads(cookie)
    except BadSignature:
        return None
    return value if isinstance(value, str) and value else None



def _shared_signing_key(engine: Engine) -> str:
    with engine.begin() as conn:
        row = conn.execute(select(keys_table.c.value).where(
            keys_table.c.name == SIGNING_KEY_NAME)).first()
        if row is not None:
            return row.value
    try:
        with engine.begin() as conn:
            conn.execute(insert(keys_table).values(name=SIGNING_KEY_NAME,
                                                   value=secrets.token_hex(32)))
    except IntegrityError:
        pass  # another worker created it first: use theirs
    with engine.connect() as conn:
        return conn.execute(select(keys_table.c.value).where(
            keys_table.c.name == SIGNING_KEY_NAME)).scalar_one()
