"""Verifying AWS Signature Version 4 on incoming requests, with hmac and hashlib only.

The steps (as the public SigV4 documentation gives them): rebuild the canonical request from
the method, path, query, the signed headers and the SHA-256 of the body; hash it into the
string to sign with the date and credential scope; derive the signing key from the secret
and the scope; compare signatures in constant time. The date must be within the allowed
skew of the server's clock, and the body's hash is recomputed, so a changed body fails.
"""

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
_SPACES = re.compile(r"\s+")


class SignatureProblem(Exception):
    """The request's signature does not hold; ``code`` is the error name to answer with."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str  # as sent, percent-encoded
    query_string: str  # as sent
    headers: Mapping[str, str]  # case-insensitive lookup
    body: bytes


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    date: str
    region: str
    service: str


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_query(query_string: str) -> str:
    pairs = []
    for part in query_string.split("&") if query_string else []:
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((_encode(unquote(key)), _encode(unquote(value))))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def canonical_path(path: str) -> str:
    # Each segment encoded once more, as signers of services other than S3 do.
    return quote(path or "/", safe="/~")


def canonical_request(request: SignedRequest, signed_headers: list[str]) -> str:
    lines = []
    for name in signed_headers:
        value = request.headers.get(name)
        if value is None:
            raise SignatureProblem(
                "IncompleteSignatureException", f"the signed header {name} is missing"
            )
        lines.append(f"{name}:{_SPACES.sub(' ', value.strip())}\n")
    return "\n".join(
        [
            request.method.upper(),
            canonical_path(request.path),
            canonical_query(request.query_string),
            "".join(lines),
            ";".join(signed_headers),
            _sha256(request.body),
        ]
    )


def signing_key(secret: str, credential: Credential) -> bytes:
    key = _hmac(("AWS4" + secret).encode(), credential.date)
    key = _hmac(key, credential.region)
    key = _hmac(key, credential.service)
    return _hmac(key, "aws4_request")


def parse_authorization(header: str) -> tuple[Credential, list[str], str]:
    match = _AUTHORIZATION.match(header.strip()) if header else None
    if match is None:
        raise SignatureProblem(
            "MissingAuthenticationTokenException",
            "the request must be signed with AWS Signature Version 4 (AWS4-HMAC-SHA256)",
        )
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureProblem(
            "IncompleteSignatureException",
            "Credential must be KEY/DATE/REGION/SERVICE/aws4_request",
        )
    signed = match["signed"].split(";")
    if "host" not in signed or signed != sorted(signed):
        raise SignatureProblem(
            "IncompleteSignatureException", "SignedHeaders must be sorted and include host"
        )
    return Credential(*parts[:4]), signed, match["signature"]


def verify(
    request: SignedRequest,
    *,
    secret_for: Callable[[str], str | None],
    service: str,
    max_skew: timedelta,
    now: datetime | None = None,
) -> str:
    """The access key id of a correctly signed request; SignatureProblem otherwise."""
    credential, signed_headers, signature = parse_authorization(
        request.headers.get("authorization", "")
    )
    if "x-amz-date" not in signed_headers:
        raise SignatureProblem("IncompleteSignatureException", "x-amz-date must be signed")
    amz_date = request.headers.get("x-amz-date", "")
    try:
        moment = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureProblem(
            "IncompleteSignatureException", "x-amz-date must be YYYYMMDDTHHMMSSZ"
        ) from None
    now = now or datetime.now(UTC)
    if abs(now - moment) > max_skew:
        raise SignatureProblem(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is not within {int(max_skew.total_seconds())} "
            f"seconds of the server time {now.strftime('%Y%m%dT%H%M%SZ')}",
        )
    if credential.date != amz_date[:8]:
        raise SignatureProblem(
            "InvalidSignatureException", "the credential scope's date is not the request's date"
        )
    if credential.service != service:
        raise SignatureProblem(
            "InvalidSignatureException",
            f"the credential scope names service {credential.service!r}, not {service!r}",
        )
    secret = secret_for(credential.access_key_id)
    if secret is None:
        raise SignatureProblem(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    scope = f"{credential.date}/{credential.region}/{credential.service}/aws4_request"
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            amz_date,
            scope,
            _sha256(canonical_request(request, signed_headers).encode()),
        ]
    )
    expected = hmac.new(
        signing_key(secret, credential), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise SignatureProblem(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        )
    return credential.access_key_id
