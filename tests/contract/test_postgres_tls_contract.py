"""The control plane's in-cluster PostgreSQL, as rendered (server args and pg_hba.conf), run for real: a plaintext
TCP connection is refused by pg_hba, a TLS connection reaches authentication.

Uses the machine's PostgreSQL server binaries (Debian's postgresql, /usr/lib/postgresql/<v>/bin); skipped when they
are absent. The client is a minimal PostgreSQL wire-protocol client (SSLRequest, StartupMessage), so no driver is
needed. Rewrites: paths of the rendered TLS and config mounts point at per-test files (a test CA), and the server
runs as the machine's `postgres` account when the image's uid does not exist here.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

import pytest

from components.database_engines import PG_CONFIG_DIR, TLS_DIR
from tests.contract.stack_plans import FIXTURE_STACK_FILES, objects
from tests.contract.zenml_runtime import Pki, free_port

pytestmark = pytest.mark.contract

FIXTURE = next(p for p in FIXTURE_STACK_FILES if "airgapped-cp" in p.name)


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _startup(user: str, database: str) -> bytes:
    body = struct.pack("!I", 196608) + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in
                                                (("user", user), ("database", database))) + b"\0"
    return struct.pack("!I", len(body) + 4) + body


def _first_message(sock) -> tuple[bytes, bytes]:
    head = b""
    while len(head) < 5:
        chunk = sock.recv(5 - len(head))
        if not chunk:
            raise ConnectionError("closed")
        head += chunk
    kind, length = head[:1], struct.unpack("!I", head[1:5])[0]
    body = b""
    while len(body) < length - 4:
        body += sock.recv(length - 4 - len(body))
    return kind, body


def _connect(port: int, use_tls: bool, ca: Path, user: str, database: str) -> tuple[bytes, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        if use_tls:
            sock.sendall(struct.pack("!II", 8, 80877103))  # SSLRequest
            assert sock.recv(1) == b"S", "the server does not offer TLS"
            ctx = ssl.create_default_context(cafile=str(ca))
            sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        sock.sendall(_startup(user, database))
        return _first_message(sock)
    finally:
        sock.close()


@pytest.fixture
def pg_workdir():
    """A directory the unprivileged database user can traverse (pytest's tmp_path parents are root-only)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="zenml-pg-contract-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_control_plane_postgres_refuses_plaintext(pg_workdir):
    tmp_path = pg_workdir
    postgres, initdb = _bin("postgres"), _bin("initdb")
    if not (postgres and initdb):
        pytest.skip("PostgreSQL server binaries are not installed on this machine")
    objs = objects(FIXTURE)
    [sts] = [o for o in objs if o["kind"] == "StatefulSet" and o["metadata"]["namespace"].endswith("control-plane")]
    container = sts["spec"]["template"]["spec"]["containers"][0]
    [cm] = [o for o in objs if o["kind"] == "ConfigMap" and "pg_hba.conf" in (o.get("data") or {})]
    env = {e["name"]: e.get("value") for e in container["env"]}

    work = tmp_path / "pg"
    work.mkdir()
    pki = Pki.create(work / "tls")
    conf = work / "config"
    conf.mkdir()
    (conf / "pg_hba.conf").write_text(cm["data"]["pg_hba.conf"])
    (pki.server_key).chmod(0o600)
    data = work / "data"
    # The image's postgres user (uid 999) does not exist here: initdb needs a named user, so the machine's
    # `postgres` account runs the server (a rewrite of the uid only).
    import pwd

    try:
        account = pwd.getpwuid(int(sts["spec"]["template"]["spec"]["securityContext"].get("runAsUser", 999)))
    except KeyError:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("no unprivileged account to run PostgreSQL as")
    uid, gid = account.pw_uid, account.pw_gid
    run_as = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"] if os.geteuid() == 0 else []
    for p in [work, *work.rglob("*")]:
        if os.geteuid() == 0:
            os.chown(p, uid, gid)
    init = subprocess.run([*run_as, initdb, "-D", str(data), "-U", env["POSTGRES_USER"], "--auth=trust"],
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr[-2000:]
    args = [a.replace(TLS_DIR, str(pki.directory)).replace(PG_CONFIG_DIR, str(conf)) for a in container["args"]]
    port = free_port()
    log = open(work / "postgres.log", "w")
    proc = subprocess.Popen([*run_as, postgres, "-D", str(data), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
                             "-c", f"unix_socket_directories={work}", *args], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        user, db = env["POSTGRES_USER"], env["POSTGRES_DB"]
        kind, body = _connect(port, False, pki.ca_cert, user, db)
        assert kind == b"E" and b"no pg_hba.conf entry" in body and b"no encryption" in body, (kind, body)
        kind, body = _connect(port, True, pki.ca_cert, user, db)
        # 'R' with code 10 is AuthenticationSASL (scram-sha-256): TLS connections reach the password check.
        assert kind == b"R" and struct.unpack("!I", body[:4])[0] == 10, (kind, body, (work / "postgres.log").read_text())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
