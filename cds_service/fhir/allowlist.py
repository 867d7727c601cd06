"""The fhirServer guard: which FHIR servers this service may contact (and send tokens to).

A CDS client names the FHIR server in each call, and the service would send the patient's bearer
token there: an unchecked URL is both an SSRF vector and a token leak. Every URL is checked against
the configured allowlist — scheme, host, port and path prefix — before any request is made, and
``next`` links are held to the same rule.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class ServerNotAllowed(ValueError):
    """The URL may not be contacted; the message says why (safe to show: no token in it)."""


# Percent-encoded characters that would let a path climb out of an allowlisted prefix once a
# server decodes them: "." (%2E, dot segments), "/" (%2F) and "\\" (%5C, a separator to some).
_ENCODED_DOT = re.compile(r"%2e", re.IGNORECASE)
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c)", re.IGNORECASE)


def refuse_path_tricks(path: str) -> None:
    """A path that would change under RFC 3986 remove_dot_segments (after decoding %2E), or that
    hides a separator, is refused rather than normalised: `/fhir/%2e%2e/admin` is below `/fhir`
    as text but `/admin` to the server (issue 16, item 1). The same rule holds for fhirServer,
    paging links, SMART issuers and every allowlist entry, since all are parsed here."""
    if "\\" in path or _ENCODED_SEPARATOR.search(path):
        raise ServerNotAllowed("the URL path contains an encoded or backslash separator")
    segments = _ENCODED_DOT.sub(".", path).split("/")
    if any(segment in (".", "..") for segment in segments):
        raise ServerNotAllowed("the URL path contains a dot segment ('.' or '..')")


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int | None  # None: any port (an allowlist entry written as "http://host:*")
    path: str  # normalised: no trailing slash

    @classmethod
    def parse(cls, url: str, *, allow_any_port: bool = False) -> Origin:
        url = url.strip()
        any_port = False
        if allow_any_port:
            scheme_host, sep, rest = url.partition(":*")
            if sep and (rest == "" or rest.startswith("/")):
                url, any_port = scheme_host + rest, True
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ServerNotAllowed(f"not a valid URL ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ServerNotAllowed("only http(s) URLs are allowed")
        if parts.username or parts.password:
            raise ServerNotAllowed("credentials in the URL are not allowed")
        host = (parts.hostname or "").lower()
        if not host:
            raise ServerNotAllowed("the URL has no host")
        refuse_path_tricks(parts.path)
        if any_port:
            return cls(scheme, host, None, parts.path.rstrip("/"))
        return cls(scheme, host, port or DEFAULT_PORTS[scheme], parts.path.rstrip("/"))

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    def contains(self, other: Origin) -> bool:
        """True when `other` is this origin or below its path (at a segment boundary)."""
        if (self.scheme, self.host) != (other.scheme, other.host):
            return False
        if self.port is not None and self.port != other.port:
            return False
        return other.path == self.path or other.path.startswith(self.path + "/")


@dataclass(frozen=True)
class FhirAllowlist:
    entries: tuple[Origin, ...]
    allow_insecure_loopback: bool

    @classmethod
    def from_config(cls, prefixes: tuple[str, ...], allow_insecure_loopback: bool) -> FhirAllowlist:
        return cls(tuple(Origin.parse(p, allow_any_port=True) for p in prefixes),
                   allow_insecure_loopback)

    def check(self, url: str) -> Origin:
        """Return the parsed origin of an allowed URL; raise ServerNotAllowed otherwise."""
        origin = Origin.parse(url)
        if origin.scheme != "https" and not (origin.is_loopback and self.allow_insecure_loopback):
            raise ServerNotAllowed("https is required for a non-loopback FHIR server")
        if not any(entry.contains(origin) for entry in self.entries):
            raise ServerNotAllowed("the FHIR server is not on this service's allowlist")
        return origin

    def same_server(self, base: Origin, url: str) -> bool:
        """A paging link may only point below the FHIR base the call named."""
        try:
            return base.contains(Origin.parse(url))
        except ServerNotAllowed:
            return False
