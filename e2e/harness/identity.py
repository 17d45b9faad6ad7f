"""Cloud identity endpoints speaking their documented contracts, for tests (stdlib only).

    with IdentityServer(expires_in=3600) as idp:
        ...  # point the gateway's `gcp-metadata` / `azure-imds` clusters at 127.0.0.1:idp.port
        assert idp.fetches == 1

- GCP metadata server: `GET /computeMetadata/v1/instance/service-accounts/<account>/token` with
  `Metadata-Flavor: Google` (else 403, as the real one) → `{"access_token", "expires_in",
  "token_type"}` and the response header `Metadata-Flavor: Google`;
- Azure IMDS: `GET /metadata/identity/oauth2/token?api-version=…&resource=…` with `Metadata: true`
  (else 400) → `{"access_token", "expires_in", "expires_on", "resource", "token_type"}`, numbers as
  strings, as IMDS writes them.
- AWS container credentials (ECS task roles; EKS Pod Identity): `GET <any path under
  /v2/credentials/ or /v1/credentials>`, with `Authorization: <token>` when the server was given
  one (else 401) → `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"}` with
  the credentials it was given (so a SigV4 checkpoint can verify what is signed with them).
Tokens are numbered (`ya29.gcp-1`, `eyJ0.azure-1`, …) so a test sees which fetch a request used.
`short_lived` maps a GCP service account to its own token lifetime; `failing = True` answers
500; every request is kept in `requests`. It binds 127.0.0.1 on a free
port, serves from a daemon thread, and stops when the context ends.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

from .local_server import LocalServer

GCP_PATH = "/computeMetadata/v1/instance/service-accounts/"
IMDS_PATH = "/metadata/identity/oauth2/token"


class IdentityServer(LocalServer):
    def __init__(self, expires_in: int = 3600, short_lived: dict[str, int] | None = None,
                 aws_credentials: tuple[str, str, str] | None = None, aws_authorization: str | None = None):
        self.expires_in = expires_in
        self.aws_credentials = aws_credentials
        self.aws_authorization = aws_authorization
        self.short_lived = short_lived or {}
        self.failing = False
        self.requests: list[dict] = []
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                url = urllib.parse.urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append({"path": self.path, "headers": headers})
                if url.path.startswith(GCP_PATH) and url.path.endswith("/token"):
                    if headers.get("metadata-flavor") != "Google":
                        return self.answer(403, {"error": "missing Metadata-Flavor: Google"})
                    account = url.path[len(GCP_PATH):].removesuffix("/token")
                    lifetime = server.short_lived.get(account, server.expires_in)
                    return self.token(lambda n: {"access_token": f"ya29.gcp-{n}", "expires_in": lifetime,
                                                 "token_type": "Bearer"}, {"Metadata-Flavor": "Google"})
                if url.path.startswith(("/v2/credentials/", "/v1/credentials")) and server.aws_credentials:
                    if server.aws_authorization and headers.get("authorization") != server.aws_authorization:
                        return self.answer(401, {"message": "unauthorized"})
                    key_id, secret, token = server.aws_credentials
                    expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + server.expires_in))
                    return self.token(lambda n: {"AccessKeyId": key_id, "SecretAccessKey": secret, "Token": token,
                                                 "Expiration": expiration, "RoleArn": "arn:aws:iam::123456789012:role/gateway"})
                if url.path == IMDS_PATH:
                    query = urllib.parse.parse_qs(url.query)
                    if headers.get("metadata") != "true":
                        return self.answer(400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
                    if "api-version" not in query or "resource" not in query:
                        return self.answer(400, {"error": "invalid_request"})
                    expires_on = int(time.time()) + server.expires_in
                    return self.token(lambda n: {"access_token": f"eyJ0.azure-{n}", "expires_in": str(server.expires_in),
                                                 "expires_on": str(expires_on), "resource": query["resource"][0],
                                                 "token_type": "Bearer"})
                self.answer(404, {"error": "not found"})

            def token(self, body, headers=None):
                if server.failing:
                    return self.answer(500, {"error": "identity endpoint failing (test)"})
                server.fetches += 1
                self.answer(200, body(server.fetches), headers)

            def answer(self, status: int, body: dict, headers: dict | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.serve(Handler)
