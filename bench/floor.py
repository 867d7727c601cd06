"""The floor: the least any service must do with a hook call — receive the POST body, parse the
JSON, answer a small JSON — as a minimal Flask app served exactly like the service (gunicorn,
gthread, the same worker and thread counts). What the service costs beyond it is its own work.

    python -m bench.floor --port 8099 --workers 5 --threads 4
"""

from __future__ import annotations

import argparse
from typing import Any

from flask import Flask, jsonify, request


def create_floor_app() -> Flask:
    app = Flask("bench-floor")

    @app.post("/<path:_path>")
    def parse_only(_path: str) -> Any:
        body = request.get_json(force=True)
        return jsonify({"cards": [], "members": len(body)})

    @app.get("/health")
    def health() -> Any:
        return jsonify({"status": "ok"})

    return app


def main(argv: list[str] | None = None) -> int:
    from gunicorn.app.base import BaseApplication

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:  # the service's gunicorn settings (cds_service/ops/cli.py)
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", None)

        def load(self) -> Any:
            app = create_floor_app()
            app.config["MAX_CONTENT_LENGTH"] = None
            return app

    Server().run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
