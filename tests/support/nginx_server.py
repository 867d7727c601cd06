"""Debian's nginx in front of the service for the tests: `deploy/nginx-salvage-cds.conf` as
shipped, with only its ports and certificate paths replaced, under a throw-away prefix.

scripts/test.sh installs Debian's `nginx`; without it the tests skip (fail under CI). A
self-signed certificate for 127.0.0.1 is made with `cryptography`.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import ROOT
from tests.support.processes import free_port, stop_process_group

SITE = ROOT / "deploy" / "nginx-salvage-cds.conf"
TEMP_DIRS = ("body", "proxy", "fastcgi", "uwsgi", "scgi")

MAIN_CONF = """pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
"""


@dataclass
class Nginx:
    https_url: str
    http_url: str
    certificate: str  # for requests' verify=
    process: subprocess.Popen
    prefix: Path

    def stop(self) -> None:
        stop_process_group(self.process)
        shutil.rmtree(self.prefix, ignore_errors=True)


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                       else None)
    if found is None:
        message = "nginx is not installed (Debian package 'nginx')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def self_signed(prefix: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = prefix / "cert.pem", prefix / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx-salvage-cds.conf no longer has {old!r} once"
    return text.replace(old, new)


def site_for_test(https_port: int, http_port: int, upstreams: tuple[int, int],
                  cert: Path, key: Path) -> str:
    text = SITE.read_text("utf-8")
    text = replace_once(text, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    text = replace_once(text, "listen 80;", f"listen 127.0.0.1:{http_port};")
    text = replace_once(text, "/etc/ssl/certs/cds.example.org.pem", str(cert))
    text = replace_once(text, "/etc/ssl/private/cds.example.org.key", str(key))
    text = replace_once(text, "server 127.0.0.1:8081 ", f"server 127.0.0.1:{upstreams[0]} ")
    return replace_once(text, "server 127.0.0.1:8082 ", f"server 127.0.0.1:{upstreams[1]} ")


def _give_to_worker_user(prefix: Path) -> None:
    """nginx's workers drop root for `nobody`: they write the temp directories."""
    if os.geteuid() != 0:
        return
    nobody = pwd.getpwnam("nobody")
    for name in TEMP_DIRS:
        os.chown(prefix / name, nobody.pw_uid, nobody.pw_gid)


def start_nginx(upstreams: tuple[int, int], https_port: int | None = None) -> Nginx:
    binary = nginx_binary()
    prefix = Path(tempfile.mkdtemp(prefix="salvage-nginx-"))
    os.chmod(prefix, 0o755)
    for name in TEMP_DIRS:
        (prefix / name).mkdir()
    _give_to_worker_user(prefix)
    cert, key = self_signed(prefix)
    https_port, http_port = https_port or free_port(), free_port()
    (prefix / "site.conf").write_text(site_for_test(https_port, http_port, upstreams, cert, key))
    (prefix / "nginx.conf").write_text(MAIN_CONF.format(prefix=prefix))
    command = [binary, "-p", str(prefix), "-e", str(prefix / "error.log"),
               "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t: {checked.stderr}")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {process.stderr.read() if process.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=0.5).close()
            return Nginx(f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}",
                         str(cert), process, prefix)
        except OSError:
            time.sleep(0.1)
    stop_process_group(process)
    raise RuntimeError("nginx did not start listening within 15 s")
