"""A fake ZenML Pro control plane on loopback that answers only the documented paths.

What a Pro workspace server (zenml 0.98.0) calls on its control plane, and where:
* `POST {api_url}/auth/login`: OAuth2 client-credentials login with the enrollment key
  (zenml/zen_server/cloud_utils.py `ZenMLCloudConnection._fetch_auth_token`); the audience must be the API URL.
* `PATCH {api_url}/workspace_status`: sent at start-up (`send_pro_workspace_status_update`).
* `GET {api_url}/users/authorize_server`: the external user-info URL (zenml/config/server_config.py).
A self-hosted control plane serves its API under `/api/v1` on the dashboard's host (docs.zenml.io, Pro pages
"Enroll Workspaces" and "Kubernetes with Helm"); the hosted one (https://cloudapi.zenml.io) at the root.
Anything else is a 404, so a workspace rendered against the wrong base path fails here as it would for real.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

TOKEN = "fake-control-plane-access-token"


@dataclass
class FakeControlPlane:
    api_prefix: str  # "/api/v1" (self-hosted) or "" (hosted)
    audience: str  # the API URL as the workspace must name it (its public form, not the loopback one)
    client_id: str  # the workspace ID
    client_secret: str  # the enrollment key
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    _server: Optional[ThreadingHTTPServer] = None

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeControlPlane:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _answer(self, status: int, body: dict) -> None:
                fake.requests.append((self.command, self.path, status))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                return self.headers.get("authorization") == f"Bearer {TOKEN}"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(min(length, 65536)).decode()
                if self.path != f"{fake.api_prefix}/auth/login":
                    return self._answer(404, {"detail": "Not Found"})
                form = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                expected = {
                    "grant_type": "client_credentials",
                    "client_id": fake.client_id,
                    "client_secret": fake.client_secret,
                    "audience": fake.audience,
                }
                wrong = sorted(k for k, v in expected.items() if form.get(k) != v)
                if wrong:
                    return self._answer(401, {"detail": f"invalid {', '.join(wrong)}"})
                return self._answer(200, {"access_token": TOKEN, "token_type": "bearer", "expires_in": 3600})

            def do_PATCH(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(min(length, 65536))
                if self.path.split("?")[0] != f"{fake.api_prefix}/workspace_status":
                    return self._answer(404, {"detail": "Not Found"})
                if not self._authorized():
                    return self._answer(401, {"detail": "Not authenticated"})
                return self._answer(200, {})

            def do_GET(self) -> None:
                if self.path.split("?")[0] != f"{fake.api_prefix}/users/authorize_server":
                    return self._answer(404, {"detail": "Not Found"})
                return self._answer(401 if not self._authorized() else 200, {})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.timeout = 5
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
