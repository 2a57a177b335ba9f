"""Read URLs verified offline: moto checks neither an S3 presigned GET's expiry nor CloudFront
signatures, so the signature and the expiry inside each URL are checked here with the keys."""

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from relay.storage import Storage, content_disposition
from tests.utils.s3_server import CREDENTIALS
from tests.utils.settings import make_settings


def _cloudfront_b64decode(value: str) -> bytes:
    return base64.b64decode(value.replace("-", "+").replace("_", "=").replace("~", "/"))


@pytest.fixture
def cdn_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cdn_storage(cdn_key: rsa.RSAPrivateKey) -> Storage:
    pem = cdn_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings = make_settings(
        "redis://127.0.0.1:1/0",
        s3_bucket="relay-uploads",
        cdn_domain="files.relay.test",
        cdn_key_pair_id="K2JCJMDEHXQW5F",
        cdn_private_key=pem,
        download_url_seconds=120,
    )
    return Storage(settings)


def test_cloudfront_url_is_signed_with_the_key_pair_and_expires_after_the_setting(cdn_key) -> None:
    url = _cdn_storage(cdn_key).read_url("uploads/u/abc/a b.pdf", "application/pdf", "a_b.pdf")
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "files.relay.test",
        "/uploads/u/abc/a%20b.pdf",
    )
    assert query["Key-Pair-Id"] == "K2JCJMDEHXQW5F"
    expires = int(query["Expires"])
    assert 110 <= expires - time.time() <= 125
    resource = url.split("?")[0]
    policy = json.dumps(
        {"Statement": [{"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}]},
        separators=(",", ":"),
    ).encode()
    signature = _cloudfront_b64decode(query["Signature"])
    cdn_key.public_key().verify(signature, policy, padding.PKCS1v15(), hashes.SHA1())
    later = policy.replace(str(expires).encode(), str(expires + 3600).encode())
    with pytest.raises(InvalidSignature):  # stretching the expiry breaks the signature
        cdn_key.public_key().verify(signature, later, padding.PKCS1v15(), hashes.SHA1())


def test_a_cdn_private_key_needs_its_domain_and_must_be_a_pem_key(cdn_key) -> None:
    pem = cdn_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ValueError, match="RELAY_CDN_DOMAIN"):
        make_settings("redis://127.0.0.1:1/0", cdn_private_key=pem)
    with pytest.raises(ValueError, match="not an unencrypted PEM private key"):
        make_settings("redis://127.0.0.1:1/0", cdn_domain="f.test", cdn_key_pair_id="K1", cdn_private_key="x")


def test_without_the_private_key_reads_fall_back_to_s3_presigned_urls(monkeypatch) -> None:
    """Infra sets the domain and key id always, the private key once the secret exists."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    settings = make_settings("redis://127.0.0.1:1/0", cdn_domain="files.relay.test", cdn_key_pair_id="K1")
    url = Storage(settings).read_url("uploads/u/abc/a.png", "image/png", "a.png")
    assert "X-Amz-Signature=" in url and "files.relay.test" not in url


def _recomputed_signature(url: str) -> str:
    """SigV4 of the URL's own canonical request, with the test credentials and its X-Amz-Date."""
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    unsigned = url.split("&X-Amz-Signature=")[0]
    request = AWSRequest(method="GET", url=unsigned)
    request.context["timestamp"] = query["X-Amz-Date"]
    credentials = Credentials(CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    auth = S3SigV4QueryAuth(credentials, "s3", "us-east-1", expires=int(query["X-Amz-Expires"]))
    return auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)


def test_s3_presigned_get_is_sigv4_signed_expires_per_setting_and_forces_download(monkeypatch) -> None:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    settings = make_settings("redis://127.0.0.1:1/0", s3_bucket="relay-uploads", download_url_seconds=90)
    url = Storage(settings).read_url("uploads/u/abc/page.html", "text/html", "page.html")
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "90"
    assert (
        abs(time.mktime(time.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ")) - time.mktime(time.gmtime()))
        < 60
    )
    assert query["response-content-disposition"] == 'attachment; filename="page.html"'
    assert query["X-Amz-Signature"] == _recomputed_signature(url)
    tampered = url.replace("X-Amz-Expires=90", "X-Amz-Expires=604800")
    assert _recomputed_signature(tampered) != query["X-Amz-Signature"]


@pytest.mark.parametrize(
    ("name", "fallback", "expected"),
    [
        ("a.pdf", "a.pdf", 'attachment; filename="a.pdf"'),
        (
            "履歴書.pdf",
            "pdf",
            "attachment; filename=\"pdf\"; filename*=UTF-8''%E5%B1%A5%E6%AD%B4%E6%9B%B8.pdf",
        ),
        (
            'a"; b=c.pdf',
            "a_b_c.pdf",
            "attachment; filename=\"a_b_c.pdf\"; filename*=UTF-8''a%22%3B%20b%3Dc.pdf",
        ),
    ],
)
def test_content_disposition_names_the_file_in_ascii_and_as_given(name, fallback, expected) -> None:
    """RFC 6266: the quoted ASCII fallback, and filename* (RFC 8187) when the name is not that."""
    assert content_disposition("application/pdf", fallback, name) == expected


def test_s3_presigned_get_carries_the_name_as_given(monkeypatch) -> None:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    settings = make_settings("redis://127.0.0.1:1/0", s3_bucket="relay-uploads")
    url = Storage(settings).read_url(
        "uploads/u/abc/resume.pdf", "application/pdf", "resume.pdf", "résumé.pdf"
    )
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    assert query["response-content-disposition"] == (
        "attachment; filename=\"resume.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    )
