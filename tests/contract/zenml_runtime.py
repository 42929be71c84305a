"""Run a rendered workspace server and its migration Job as local processes against a real MariaDB.

What is taken from the rendered objects as is: the container `command`, every `env` entry, the pod's
`runAsUser`/`runAsGroup`/`fsGroup`, the volume mounts, the in-cluster database's `my.cnf` (ConfigMap) and its
database/user names (StatefulSet env). What is rewritten, and only this (the test reports every rewrite):

* `secretKeyRef` values: Secrets are masked in plans, so each (Secret name, key) gets a deterministic test value
  (`secret_value`) of the shape the stack generates (64 alphanumerics, like `RandomPassword(length=64)`); the
  MariaDB user is created with the value the server resolves for its password reference, so a server pointed at
  the wrong Secret/key fails to log in, as it would in the cluster;
* mounted paths (`emptyDir`, Secret and ConfigMap volumes) map to per-test directories; env values under a mount
  path are rewritten to the same file below the mapped directory (e.g. `ZENML_STORE_SSL_CA`);
  Secret/ConfigMap keys named `ca.crt` hold the test CA that signed the local MariaDB's certificate;
* `ZENML_STORE_URL`: only host and port become 127.0.0.1:<MariaDB port>; scheme and database name are kept;
* the server command's `--host` becomes 127.0.0.1 (nothing listens beyond loopback) and `--port` a free port;
* `PATH` puts the ZenML venv's `bin` first (the image's PATH has its venv); `HOME` is a directory the server user
  cannot write (the container's root filesystem is read-only); `TMPDIR` points at the mapped `/tmp` mount.

Processes run as the pod's `runAsUser`/`runAsGroup` through `setpriv`, so a write outside the mounted volumes
fails here as it would in the read-only container.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[2]
STATUS_FILE = ROOT / ".venv-contract-status" / "status"
HARNESS = "bash tests/contract/contract-env.sh"


def harness_status() -> dict[str, str]:
    if not STATUS_FILE.exists():
        return {}
    out = {}
    for line in STATUS_FILE.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def secret_value(secret: str, key: str) -> str:
    """Deterministic stand-in for a generated secret: stable across restarts, different per (Secret, key)."""
    digest = hashlib.sha256(f"zenml-platform-contract/{secret}/{key}".encode()).hexdigest()
    return (digest + hashlib.sha256(digest.encode()).hexdigest())[:64]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- PKI ---------------------------------------------------------------------------------------------------------


@dataclass
class Pki:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def server_cert(self) -> Path:
        return self.directory / "tls.crt"

    @property
    def server_key(self) -> Path:
        return self.directory / "tls.key"

    @classmethod
    def create(cls, directory: Path) -> Pki:
        directory.mkdir(parents=True, exist_ok=True)
        pki = cls(directory)

        def run(*args: str) -> None:
            subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=zenml-platform contract test CA", "-keyout", "ca.key", "-out", "ca.crt")
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=127.0.0.1", "-keyout", "tls.key", "-out", "tls.csr")
        (directory / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        run("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "ext.cnf", "-out", "tls.crt")
        for f in directory.iterdir():
            f.chmod(0o644)
        return pki


# --- MariaDB -------------------------------------------------------------------------------------------------------


@dataclass
class MariaDB:
    """A private MariaDB instance on 127.0.0.1, with the stack's rendered server options where it has them."""

    directory: Path
    port: int = 0
    process: Optional[subprocess.Popen] = None

    @property
    def socket(self) -> Path:
        return self.directory / "mysqld.sock"

    def start(self, cnf: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        data = self.directory / "data"
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", "--user=root", f"--datadir={data}",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True,
        )
        (self.directory / "my.cnf").write_text(cnf)
        self.port = free_port()
        log = open(self.directory / "mariadb.log", "wb")
        self.process = subprocess.Popen(
            ["mariadbd", f"--defaults-file={self.directory / 'my.cnf'}", "--user=root", f"--datadir={data}",
             f"--socket={self.socket}", f"--port={self.port}", "--bind-address=127.0.0.1",
             f"--pid-file={self.directory / 'mysqld.pid'}", f"--log-error={self.directory / 'error.log'}"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {self.error_log()}")
            if self.socket.exists() and self.sql("SELECT 1", check=False).returncode == 0:
                return
            time.sleep(0.3)
        raise RuntimeError(f"mariadbd did not start: {self.error_log()}")

    def error_log(self) -> str:
        p = self.directory / "error.log"
        return p.read_text()[-3000:] if p.exists() else ""

    def sql(self, statement: str, check: bool = True, database: Optional[str] = None) -> subprocess.CompletedProcess:
        cmd = ["mariadb", "--no-defaults", "-uroot", f"--socket={self.socket}", "--batch", "--skip-column-names"]
        if database:
            cmd.append(database)
        return subprocess.run(cmd + ["-e", statement], capture_output=True, text=True, check=check)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def mysql_cnf_for_test(rendered_cnf: Optional[str], rendered_tls_dir: Optional[str], pki: Pki, tls: bool) -> str:
    """The stack's rendered MySQL options (TLS file paths pointed at the test PKI), or a minimal TLS config."""
    if rendered_cnf:
        text = rendered_cnf
        if rendered_tls_dir:
            text = (
                text.replace(f"{rendered_tls_dir}/ca.crt", str(pki.ca_cert))
                .replace(f"{rendered_tls_dir}/tls.crt", str(pki.server_cert))
                .replace(f"{rendered_tls_dir}/tls.key", str(pki.server_key))
            )
        return text
    lines = ["[mysqld]", "character-set-server=utf8mb4"]
    if tls:
        lines += [f"ssl_ca={pki.ca_cert}", f"ssl_cert={pki.server_cert}", f"ssl_key={pki.server_key}",
                  "require_secure_transport=ON"]
    return "\n".join(lines) + "\n"


# --- rendered pod -> local process ---------------------------------------------------------------------------------


@dataclass
class LocalPod:
    """The environment of one rendered container, resolved for a local process."""

    env: dict[str, str]
    rewrites: list[str]
    uid: int
    gid: int
    mounts: dict[str, Path]  # mountPath -> local directory


def materialize_pod(
    pod_spec: dict[str, Any],
    container: dict[str, Any],
    workdir: Path,
    pki: Pki,
    db_port: int,
    objects: list[dict[str, Any]],
    namespace: str,
) -> LocalPod:
    sc = pod_spec.get("securityContext", {})
    uid = int(container.get("securityContext", {}).get("runAsUser", sc.get("runAsUser", 65534)))
    gid = int(container.get("securityContext", {}).get("runAsGroup", sc.get("runAsGroup", uid)))
    fs_group = int(sc.get("fsGroup", gid))
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    rewrites: list[str] = []
    mounts: dict[str, Path] = {}
    for m in container.get("volumeMounts", []):
        vol = volumes[m["name"]]
        local = workdir / "volumes" / m["name"]
        if local.exists():
            mounts[m["mountPath"]] = local
            continue
        local.mkdir(parents=True, exist_ok=True)
        if "emptyDir" in vol:
            os.chown(local, uid, fs_group)
            local.chmod(0o770)
        elif "secret" in vol or "configMap" in vol:
            src = vol.get("secret") or vol.get("configMap")
            ref = src.get("secretName") or src.get("name")
            kind = "Secret" if "secret" in vol else "ConfigMap"
            source = _find(objects, kind, namespace, ref)
            keys = [i["key"] for i in src.get("items", [])] or list(((source or {}).get("data") or (source or {}).get("stringData") or {}).keys())
            paths = {i["key"]: i["path"] for i in src.get("items", [])}
            for key in keys:
                target = local / paths.get(key, key)
                if key == "ca.crt":
                    target.write_text(pki.ca_cert.read_text())
                elif kind == "ConfigMap" and source and isinstance(source.get("data", {}).get(key), str) and "[" not in source["data"][key]:
                    target.write_text(source["data"][key])
                else:
                    target.write_text(secret_value(ref, key))
                target.chmod(0o444)
            local.chmod(0o555)
        else:
            raise AssertionError(f"volume type of {m['name']} not supported by the contract harness: {vol}")
        mounts[m["mountPath"]] = local
        rewrites.append(f"mount {m['mountPath']} -> {local}")

    env: dict[str, str] = {}
    for e in container.get("env", []):
        name = e["name"]
        if "value" in e:
            value = str(e["value"])
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            value = secret_value(ref["name"], ref["key"])
            rewrites.append(f"{name}: secretKeyRef {ref['name']}/{ref['key']} -> deterministic test value")
        for mount_path, local in mounts.items():
            if value == mount_path or value.startswith(mount_path.rstrip("/") + "/"):
                new = str(local) + value[len(mount_path.rstrip("/")):]
                rewrites.append(f"{name}: {value} -> {new}")
                value = new
        if name == "ZENML_STORE_URL":
            # Not urlsplit: a host the offline plan cannot know is "[unknown]", which urlsplit takes for IPv6.
            scheme, rest = value.split("://", 1)
            netloc, sep, path = rest.partition("/")
            userinfo = netloc.rpartition("@")[0]
            new = f"{scheme}://{userinfo + '@' if userinfo else ''}127.0.0.1:{db_port}{sep}{path}"
            rewrites.append(f"{name}: {value} -> {new}")
            value = new
        env[name] = value
    return LocalPod(env=env, rewrites=rewrites, uid=uid, gid=gid, mounts=mounts)


def _find(objects: list[dict[str, Any]], kind: str, namespace: str, name: str) -> Optional[dict[str, Any]]:
    for o in objects:
        if o["kind"] == kind and o["metadata"].get("namespace") == namespace and o["metadata"].get("name") == name:
            return o
    return None


def process_env(pod: LocalPod, venv: Path, workdir: Path) -> dict[str, str]:
    home = workdir / "readonly-home"
    home.mkdir(exist_ok=True)
    home.chmod(0o555)
    base = {
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    if "/tmp" in pod.mounts:
        base["TMPDIR"] = str(pod.mounts["/tmp"])
    return {**base, **pod.env}


_RUNS_AS: dict[tuple[int, int, str], bool] = {}


def _can_run_as(uid: int, gid: int, python: str) -> bool:
    key = (uid, gid, python)
    if key not in _RUNS_AS:
        probe = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", python, "-c",
                                "import zenml"], capture_output=True)
        _RUNS_AS[key] = probe.returncode == 0
    return _RUNS_AS[key]


def as_user(pod: LocalPod, command: list[str], venv: Optional[Path] = None) -> list[str]:
    """Run as the pod's uid/gid when the harness can (root, and a ZenML venv that uid can read); else as is, and
    say so in the rewrites (the read-only-filesystem emulation is then weaker)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return command
    if venv is not None and not _can_run_as(pod.uid, pod.gid, str(venv / "bin" / "python")):
        pod.rewrites.append(f"runs as uid {os.geteuid()}: uid {pod.uid} cannot read {venv} (see contract-env.sh)")
        return command
    return ["setpriv", f"--reuid={pod.uid}", f"--regid={pod.gid}", "--clear-groups", "--inh-caps=-all", *command]


def server_command(rendered: list[str], port: int) -> tuple[list[str], list[str]]:
    cmd = list(rendered)
    rewrites = []
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if flag in cmd:
            i = cmd.index(flag)
            rewrites.append(f"command {flag} {cmd[i + 1]} -> {value}")
            cmd[i + 1] = value
        else:
            cmd += [flag, value]
            rewrites.append(f"command: added {flag} {value}")
    return cmd, rewrites


@dataclass
class Server:
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    process: Optional[subprocess.Popen] = None
    cwd: Optional[Path] = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        cwd=self.cwd, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, body = http("GET", f"{self.base}/health", timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"server did not answer /health within {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def log_tail(self, n: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""


def http(method: str, url: str, body: Any = None, token: Optional[str] = None, form: Optional[dict] = None,
         timeout: float = 30) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        status = exc.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def chown_tree(path: Path, uid: int, gid: int) -> None:
    for p in [path, *path.rglob("*")]:
        os.chown(p, uid, gid)


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
