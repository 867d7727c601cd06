"""Trusted-client helpers for operators and integrators: a key pair with its JWK Set and the
clients-file entry (`salvage-cds client new`), and a signed test JWT (`salvage-cds token`).

Keys are EC P-384 (ES384, the CDS Hooks 2.0 example algorithm) or RSA 3072 (RS384). The key id
is the RFC 7638 thumbprint of the public key, so a token signed with the private key names the key
the service finds in the JWK Set. The private key is written 0600 and never printed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ALGORITHMS = ("ES384", "RS384")
DEFAULT_LIFETIME_S = 300  # the replay window allows at most jti_cache_seconds
PRIVATE_MODE = 0o600


class ClientKeyError(ValueError):
    """A key file cannot be read or used; the message says which and why."""


@dataclass(frozen=True)
class NewClient:
    private_key: Path
    jwks: Path
    entry: dict[str, Any]  # for the "clients" list of the clients file


def slug(iss: str) -> str:
    """A file-name stem from an issuer URL: https://ehr.example.org/cds -> ehr.example.org-cds."""
    text = re.sub(r"^[a-z]+://", "", iss.strip().lower())
    return re.sub(r"[^a-z0-9.]+", "-", text).strip("-.") or "client"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(public_jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of an EC or RSA public key."""
    members = ("crv", "kty", "x", "y") if public_jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({m: public_jwk[m] for m in members}, separators=(",", ":"),
                           sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def public_jwk(private_key: Any, alg: str) -> dict[str, Any]:
    algorithm = ECAlgorithm if alg.startswith("ES") else RSAAlgorithm
    jwk: dict[str, Any] = algorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": thumbprint(jwk), "alg": alg, "use": "sig"}


def _generate(alg: str) -> Any:
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def _write_private(path: Path, private_key: Any) -> None:
    pem = private_key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def new_client(iss: str, out_dir: Path, *, name: str | None = None,
               alg: str = "ES384") -> NewClient:
    """Writes <stem>.private.pem (0600) and <stem>.jwks.json; refuses to overwrite a key."""
    if not re.match(r"^https?://[^\s/]+", iss):
        raise ClientKeyError(f"--iss must be the client's issuer URL (https://...), got {iss!r}")
    if alg not in ALGORITHMS:
        raise ClientKeyError(f"--alg must be one of {', '.join(ALGORITHMS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = slug(iss)
    private_path, jwks_path = out_dir / f"{stem}.private.pem", out_dir / f"{stem}.jwks.json"
    for path in (private_path, jwks_path):
        if path.exists():
            raise ClientKeyError(f"{path} exists: move it away or choose another --out")
    private_key = _generate(alg)
    _write_private(private_path, private_key)
    jwks_path.write_text(json.dumps({"keys": [public_jwk(private_key, alg)]}, indent=2) + "\n",
                         "utf-8")
    entry = {"name": name or stem, "iss": iss, "jwks_file": str(jwks_path.resolve())}
    (out_dir / f"{stem}.client.json").write_text(json.dumps(entry, indent=2) + "\n", "utf-8")
    return NewClient(private_path, jwks_path, entry)


def load_private_key(path: Path) -> tuple[Any, str]:
    """The key of a PEM file and its algorithm (ES384 for P-384, RS384 for RSA)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ClientKeyError(f"{path}: cannot read it ({exc.strerror})") from None
    except (ValueError, TypeError) as exc:
        raise ClientKeyError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP384R1):
        return key, "ES384"
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        return key, "RS384"
    raise ClientKeyError(f"{path}: needs an EC P-384 or an RSA (>= 2048 bits) private key")


def issuer_beside(key_path: Path) -> str | None:
    """The iss of the client entry `client new` wrote next to the key, if there is one."""
    entry = key_path.with_name(key_path.name.replace(".private.pem", ".client.json"))
    if entry == key_path or not entry.exists():
        return None
    try:
        iss = json.loads(entry.read_text("utf-8")).get("iss")
    except (OSError, ValueError, AttributeError):
        return None
    return iss if isinstance(iss, str) else None


def sign_token(key_path: Path, aud: str, *, iss: str | None = None,
               lifetime_s: int = DEFAULT_LIFETIME_S, tenant: str | None = None) -> str:
    """A CDS Hooks 2.0 client JWT for one endpoint (`aud`), with a fresh jti."""
    key, alg = load_private_key(key_path)
    iss = iss or issuer_beside(key_path)
    if not iss:
        raise ClientKeyError(f"no issuer: give --iss (no {key_path.stem}.client.json beside "
                             "the key)")
    if not re.match(r"^https?://\S+$", aud):
        raise ClientKeyError(f"--aud must be the endpoint URL the token is for, got {aud!r}")
    if lifetime_s <= 0:
        raise ClientKeyError("--lifetime must be a positive number of seconds")
    now = int(time.time())
    claims: dict[str, Any] = {"iss": iss, "sub": iss, "aud": aud, "iat": now,
                              "exp": now + lifetime_s, "jti": str(uuid.uuid4())}
    if tenant:
        claims["tenant"] = tenant
    headers = {"typ": "JWT", "kid": public_jwk(key, alg)["kid"]}
    return jwt.encode(claims, key, algorithm=alg, headers=headers)
