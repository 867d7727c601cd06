"""Authentication of CDS clients (CDS Hooks 2.0, "Trusting CDS Clients")."""

from __future__ import annotations

import logging

from flask import Request

from cds_service.config import ServiceConfig
from cds_service.errors import Unauthorized
from cds_service.security.clients import ClientRegistry
from cds_service.security.jwt_auth import JwtAuthenticator

log = logging.getLogger("salvage_cds.security")


class DevModeAuthenticator:
    """`salvage-cds serve --dev` only: accepts every caller, and says so on every request."""

    def authenticate(self, request: Request) -> None:
        log.warning("authentication is DISABLED (dev mode): request accepted without a JWT")


class NoClientsAuthenticator:
    """Secure default when no CDS client is configured: nobody is trusted."""

    def authenticate(self, request: Request) -> None:
        log.warning("request refused: no trusted CDS client is configured")
        raise Unauthorized("authentication required")


def build_authenticator(
    config: ServiceConfig,
) -> DevModeAuthenticator | NoClientsAuthenticator | JwtAuthenticator:
    """Dev mode (auth off) only when asked for; otherwise JWT authentication of the clients in
    `config.jwt_clients_file` — and with no client configured, nobody gets in."""
    if not config.auth_required:
        return DevModeAuthenticator()
    clients = ClientRegistry.load(config.jwt_clients_file)
    if not len(clients):
        return NoClientsAuthenticator()
    return JwtAuthenticator(config, clients)
