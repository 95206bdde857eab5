"""Who may call the emulator: SigV4-signed clients, and browsers only from origins a flag allows.

The emulator does not check signatures (any key works, as with moto), but like AWS it refuses
a request that carries no SigV4 authentication at all (an `Authorization: AWS4-HMAC-SHA256
Credential=.../<date>/<region>/<service>/aws4_request, SignedHeaders=..., Signature=...` header,
or the `X-Amz-Credential`/`X-Amz-Signature` query of a presigned URL; for S3 also SigV2, which
S3 in us-east-1 still accepts and boto3 uses for presigned S3 URLs), and answers a malformed
one with the service's own error. A browser sends `Origin` (and `Sec-Fetch-Site`) with every
cross-origin request, a boto3 client never does: such requests are refused unless their origin
was allowed (`--allow-origin`), so a web page cannot upload to S3 or start a training job.
Refusals are worded and shaped per protocol: JSON 1.1 (X-Amz-Target), sagemaker-runtime
(REST-JSON), the query protocol (STS, IAM: `Action=`), and S3 (XML) for the rest.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from starlette.responses import Response

_HEADER = re.compile(
    r"AWS4-HMAC-SHA256 Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request,\s*"
    r"SignedHeaders=[a-z0-9;\-]+,\s*Signature=[0-9a-zA-Z]+"
)
_SCOPE = re.compile(r"[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_S3_SIGV2_HEADER = re.compile(r"AWS [^:\s]+:\S+")
S3_SIGV2_REGION = "us-east-1"  # SigV2 names no region; S3 there still accepts it (boto3 presigns S3 with it)
RUNTIME_PATH = re.compile(r"^/endpoints/[^/]+/invocations$")


@dataclass(frozen=True)
class Caller:
    """The region and service a request was signed for."""

    region: str
    service: str


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused; `kind` is missing, malformed or origin."""

    kind: str
    detail: str = ""


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def authenticate(scope: dict[str, Any]) -> Caller | Refusal:
    """The caller named by the SigV4 header or presigned query, or why there is none."""
    authorization = _header(scope, b"authorization")
    if authorization is not None:
        match = _HEADER.fullmatch(authorization.strip())
        if match:
            return Caller(match.group(1), match.group(2))
        return (
            Caller(S3_SIGV2_REGION, "s3") if _S3_SIGV2_HEADER.fullmatch(authorization.strip()) else Refusal("malformed")
        )
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if all(query.get(name, [""])[0] for name in ("AWSAccessKeyId", "Signature", "Expires")):
        return Caller(S3_SIGV2_REGION, "s3")
    if "X-Amz-Credential" in query or "X-Amz-Signature" in query:
        match = _SCOPE.fullmatch(query.get("X-Amz-Credential", [""])[0])
        if (
            not match
            or not query.get("X-Amz-Signature", [""])[0]
            or query.get("X-Amz-Algorithm") != ["AWS4-HMAC-SHA256"]
        ):
            return Refusal("malformed")
        return Caller(match.group(1), match.group(2))
    return Refusal("missing")


def cross_origin(scope: dict[str, Any], allowed: list[str]) -> Refusal | None:
    """A refusal for a browser request from an origin not in `allowed` ("*" allows any)."""
    origin = _header(scope, b"origin")
    fetch_site = _header(scope, b"sec-fetch-site")
    if origin is None and fetch_site not in ("cross-site", "same-site"):
        return None
    if "*" in allowed or (origin is not None and origin in allowed):
        return None
    return Refusal("origin", origin or f"(Sec-Fetch-Site: {fetch_site})")


# ---- the refusal, in the wire format of the protocol the request speaks ------------------------

_MESSAGES = {
    # code for JSON services / sagemaker-runtime, code for query and S3 (XML), HTTP status, message
    "missing": (
        "MissingAuthenticationTokenException",
        "MissingAuthenticationToken",
        403,
        "Missing Authentication Token",
    ),
    "malformed": (
        "IncompleteSignatureException",
        "IncompleteSignature",
        400,
        "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters "
        "(AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...).",
    ),
    "origin": (
        "AccessDeniedException",
        "AccessDenied",
        403,
        "Cross-origin request from {detail} refused: sagemaker-emulator accepts browser requests only "
        "from origins given with --allow-origin (env SAGEMAKER_EMULATOR_ALLOW_ORIGINS).",
    ),
}
_S3 = {
    "missing": ("AccessDenied", 403, "Access Denied"),
    "malformed": (
        "AuthorizationHeaderMalformed",
        400,
        "The authorization header is malformed; the Credential is mal-formed; expecting "
        '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
    ),
}


def _is_query_protocol(scope: dict[str, Any], body: bytes) -> bool:
    form = (_header(scope, b"content-type") or "").startswith("application/x-www-form-urlencoded")
    query = scope.get("query_string", b"")
    return scope["path"] == "/" and (
        (form and b"Action=" in body) or query.startswith(b"Action=") or b"&Action=" in query
    )


def refusal_response(refusal: Refusal, scope: dict[str, Any], body: bytes) -> Response:
    json_code, xml_code, status, message = _MESSAGES[refusal.kind]
    message = message.format(detail=refusal.detail[:200])
    if RUNTIME_PATH.match(scope["path"]):
        return Response(
            json.dumps({"message": message}),
            status_code=status,
            media_type="application/json",
            headers={"x-amzn-ErrorType": json_code},
        )
    if _header(scope, b"x-amz-target") is not None:
        return Response(
            json.dumps({"__type": json_code, "message": message}),
            status_code=400,
            media_type="application/x-amz-json-1.1",
            headers={"x-amzn-ErrorType": json_code},
        )
    request_id = str(uuid.uuid4())
    if _is_query_protocol(scope, body):
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{xml_code}</Code><Message>{escape(message)}"
            f"</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Response(xml, status_code=status, media_type="text/xml")
    code, status, s3_message = _S3.get(refusal.kind, (xml_code, status, message))
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(s3_message)}'
        f"</Message><RequestId>{request_id}</RequestId></Error>"
    )
    return Response(xml, status_code=status, media_type="application/xml")
