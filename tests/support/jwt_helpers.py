"""Test CDS clients: keys generated at test time, JWK Sets, signed tokens, a tiny jku server."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm, get_default_algorithms

ISS = "https://ehr.test.example/cds-client"
TENANT = "tenant-1"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private: Any

    @property
    def public_jwk(self) -> dict[str, Any]:
        algorithm = ECAlgorithm if self.alg.startswith("ES") else RSAAlgorithm
        jwk = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


def ec_key(kid: str, alg: str = "ES384") -> SigningKey:
    curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[alg]
    return SigningKey(kid, alg, ec.generate_private_key(curve))


def rsa_key(kid: str, alg: str = "RS384") -> SigningKey:
    return SigningKey(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.public_jwk for k in keys]}


def claims_for(aud: str | list[str], *, iss: str = ISS, lifetime: int = 300, iat_offset: int = 0,
               **extra: Any) -> dict[str, Any]:
    now = int(time.time()) + iat_offset
    claims: dict[str, Any] = {"iss": iss, "aud": aud, "exp": now + lifetime, "iat": now,
                              "jti": str(uuid.uuid4())}
    claims.update(extra)
    return {k: v for k, v in claims.items() if v is not None}


def sign(key: SigningKey, claims: Mapping[str, Any], *, alg: str | None = None,
         headers: Mapping[str, Any] | None = None) -> str:
    header: dict[str, Any] = {"kid": key.kid, "typ": "JWT"}
    header.update(headers or {})
    return jwt.encode(dict(claims), key.private, algorithm=alg or key.alg, headers=header)


def b64url(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign_raw(key: SigningKey, header: Mapping[str, Any], claims: Any) -> str:
    """A JWS with exactly this header (any members, any values), signed with `key.alg`."""
    signing_input = f"{b64url(dict(header))}.{b64url(claims)}".encode()
    algorithm = get_default_algorithms()[key.alg]
    signature = algorithm.sign(signing_input, algorithm.prepare_key(key.private))
    return f"{signing_input.decode()}.{b64url(signature)}"


def token_for(key: SigningKey, aud: str | list[str], *, headers: Mapping[str, Any] | None = None,
              **claim_kw: Any) -> str:
    return sign(key, claims_for(aud, **claim_kw), headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def write_clients_file(directory: Path, clients: list[dict[str, Any]], **top: Any) -> Path:
    path = directory / "cds-clients.json"
    path.write_text(json.dumps({**top, "clients": clients}, indent=2), "utf-8")
    return path


# --- a JWK Set endpoint for the jku tests (a key-set server, not a FHIR server) ----------------
@dataclass
class JwksServer:
    routes: dict[str, Callable[[], tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.httpd is not None
        host, port = self.httpd.server_address[:2]
        return f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve_json(self, path: str, document: Any) -> str:
        body = json.dumps(document).encode()
        self.routes[path] = lambda: (200, {"Content-Type": "application/json"}, body)
        return self.url(path)

    def serve(self, path: str, status: int, headers: dict[str, str], body: bytes = b"",
              delay_s: float = 0.0) -> str:
        def respond() -> tuple[int, dict[str, str], bytes]:
            if delay_s:
                time.sleep(delay_s)
            return status, headers, body
        self.routes[path] = respond
        return self.url(path)

    def start(self) -> JwksServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.hits[path] = server.hits.get(path, 0) + 1
                route = server.routes.get(path)
                status, headers, body = route() if route else (404, {}, b"")
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True,
                         name="jwks-server").start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
