"""An AWS SigV4 checkpoint for tests: verifies each request's signature with botocore's signer (an
implementation independent of the gateway's), then forwards it to an upstream (the mock
provider); a request whose signature does not verify gets Bedrock's own 403 and never reaches
the upstream.

    with SigV4Proxy(upstream_port=mock.port, credentials=CREDS) as proxy:
        ...  # point the gateway's bedrock cluster at 127.0.0.1:proxy.port
        assert proxy.verified == 1

What is checked, as AWS does: the `Authorization` header's form (`AWS4-HMAC-SHA256
Credential=<key id>/<date>/<region>/<service>/aws4_request, SignedHeaders=…, Signature=…`), a
known access key id, the scope's date, region (the checkpoint's) and service, `host` and `x-amz-date` among the
signed headers, the session token when the credentials have one (`x-amz-security-token`,
signed), `x-amz-date` within 5 minutes of now, and the signature itself: botocore's SigV4Auth
computes it over the method, the path as received (canonicalised by botocore, which
double-encodes it as Bedrock expects), the query, the signed headers and the body. Errors are
Bedrock's: `x-amzn-ErrorType` and `{"message": …}` (InvalidSignatureException,
UnrecognizedClientException, IncompleteSignatureException).
"""

from __future__ import annotations

import datetime
import hmac
import http.client
import json
import re
from http.server import BaseHTTPRequestHandler

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .local_server import LocalServer

AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r" ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?Signature=(?P<signature>[0-9a-f]{64})$")
MAX_SKEW = datetime.timedelta(minutes=5)
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your "
                      "AWS Secret Access Key and signing method. Consult the service documentation for details.")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


class Rejection(Exception):
    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type, self.message = error_type, message


def verify(method: str, host: str, path: str, headers: dict[str, str], body: bytes, credentials: Credentials,
           service: str, region: str, now: datetime.datetime | None = None) -> None:
    """Raises Rejection unless the request carries a valid SigV4 signature for `credentials`."""
    auth = headers.get("authorization")
    if not auth:
        raise Rejection("MissingAuthenticationTokenException", "Missing Authentication Token")
    m = AUTHORIZATION.match(auth)
    if not m:
        raise Rejection("IncompleteSignatureException", f"Authorization header requires 'Credential', "
                                                        f"'SignedHeaders' and 'Signature' parameters.")
    if m["key"] != credentials.access_key:
        raise Rejection("UnrecognizedClientException", "The security token included in the request is invalid.")
    signed = m["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed or signed != sorted(signed):
        raise Rejection("IncompleteSignatureException", "host and x-amz-date must be signed, in order")
    if credentials.token and ("x-amz-security-token" not in signed
                              or headers.get("x-amz-security-token") != credentials.token):
        raise Rejection("UnrecognizedClientException", "The security token included in the request is invalid.")
    if m["service"] != service:
        raise Rejection("InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'.")
    if m["region"] != region:
        raise Rejection("InvalidSignatureException", f"Credential should be scoped to a valid region, not '{m['region']}'.")
    stamp = headers.get("x-amz-date", "")
    try:
        when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise Rejection("IncompleteSignatureException", "Invalid x-amz-date") from None
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if abs(now - when) > MAX_SKEW:
        raise Rejection("InvalidSignatureException", f"Signature expired: {stamp} is now earlier than the allowed skew.")
    if m["date"] != stamp[:8]:
        raise Rejection("InvalidSignatureException", "Credential date does not match x-amz-date")
    missing = [h for h in signed if h != "host" and h not in headers]
    if missing:
        raise Rejection("InvalidSignatureException", f"signed headers missing: {missing}")

    # botocore signs what it is given: exactly the signed headers, at the request's own time.
    request = AWSRequest(method=method, url=f"https://{host}{path}", data=body,
                         headers={h: headers[h] if h != "host" else host for h in signed})
    request.context["timestamp"] = stamp
    signer = SigV4Auth(credentials, service, region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, m["signature"]):
        raise Rejection("InvalidSignatureException", SIGNATURE_MISMATCH)


class SigV4Proxy(LocalServer):
    def __init__(self, upstream_port: int, credentials: Credentials, service: str = "bedrock",
                 region: str = "us-east-1"):
        self.verified = 0
        self.rejected: list[str] = []
        # The last refused request, for a test's failure message.
        self.last_rejected: dict | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                self.handle_request()

            def do_GET(self):  # noqa: N802
                self.handle_request()

            def handle_request(self):
                body = self.read_body()
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    verify(self.command, headers.get("host", ""), self.path, headers, body, credentials, service, region)
                except Rejection as r:
                    proxy.rejected.append(r.error_type)
                    proxy.last_rejected = {"path": self.path, "headers": headers, "body": body}
                    data = json.dumps({"message": r.message}).encode()
                    self.send_response(403)
                    self.send_header("content-type", "application/json")
                    self.send_header("x-amzn-errortype", f"{r.error_type}:http://internal.amazon.com/coral/com.amazon.coral.service/")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                proxy.verified += 1
                self.forward(body, headers)

            def read_body(self) -> bytes:
                if "chunked" in self.headers.get("transfer-encoding", "").lower():
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return body
                        body += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("content-length") or 0))

            def forward(self, body: bytes, headers: dict[str, str]):
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                try:
                    sent = {k: v for k, v in headers.items() if k not in HOP_BY_HOP and k != "content-length"}
                    conn.request(self.command, self.path, body=body, headers={**sent, "content-length": str(len(body))})
                    resp = conn.getresponse()
                    self.send_response(resp.status)
                    chunked = resp.getheader("content-length") is None
                    for name, value in resp.getheaders():
                        if name.lower() not in HOP_BY_HOP:
                            self.send_header(name, value)
                    if chunked:
                        self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    while chunk := resp.read1(65536):
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
                        self.wfile.flush()
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                finally:
                    conn.close()

            def log_message(self, *args):
                pass

        self.serve(Handler)
