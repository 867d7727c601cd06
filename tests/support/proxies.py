"""Small HTTP servers for the SMART app's safety tests.

* `CollapsingProxy` — a reverse proxy that, like a common launcher proxy, collapses every `//` of
  the request target into `/`, query string included (issue 18): `code=http://loinc.org|…` reaches
  the FHIR server as `code=http:/loinc.org|…`.
* `CannedServer` — answers every GET and POST with one fixed status and body (a port that is "open" but is
  no SMART server), to show that the app's error pages do not tell such ports apart.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


class _Server:
    handler: type[BaseHTTPRequestHandler]

    def start(self) -> Any:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _ProxyHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner: CollapsingProxy = self.server.owner  # type: ignore[attr-defined]
        target = re.sub("/{2,}", "/", self.path)
        owner.targets.append(target)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("authorization", "accept")}
        with requests.Session() as session:
            session.trust_env = False
            upstream = session.get(owner.upstream + target, headers=headers, timeout=10,
                                   allow_redirects=False)
        body = upstream.content
        self.send_response(upstream.status_code)
        self.send_header("Content-Type", upstream.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class CollapsingProxy(_Server):
    handler = _ProxyHandler

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.targets: list[str] = []


class _CannedHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner: CannedServer = self.server.owner  # type: ignore[attr-defined]
        owner.hits += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))  # a POST's form
        body = owner.body.encode()
        self.send_response(owner.status)
        self.send_header("Content-Type", owner.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


_CannedHandler.do_POST = _CannedHandler.do_GET  # type: ignore[method-assign]


class CannedServer(_Server):
    handler = _CannedHandler

    def __init__(self, status: int, body: str, content_type: str = "text/html") -> None:
        self.status, self.body, self.content_type = status, body, content_type
        self.hits = 0
