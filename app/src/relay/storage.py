"""The uploads bucket: presigned POSTs for browser uploads, HEAD checks, and short-lived read URLs.

Reads go through CloudFront signed URLs when RELAY_CDN_* is set (production: the bucket is private
behind OAC), and through S3 presigned GETs otherwise (local mode, moto). Neither the local emulator
nor a presigned GET's `X-Amz-Expires` is checked by moto, which is why the service re-checks every
object at `complete` and tests verify signatures offline (README "Uploads").
"""

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from relay.settings import Settings

log = logging.getLogger(__name__)
# Raster images are shown inline; any other type (HTML, SVG, PDF...) is served as a download so it
# never runs in a browser under our origin.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def content_disposition(content_type: str, ascii_name: str, name: str | None = None) -> str:
    """RFC 6266: `filename` is a plain ASCII name that every client reads. When the user's name is
    not that name, `filename*` carries it too, UTF-8 percent-encoded (RFC 8187), for the clients
    that read it (every current browser): without it "履歴書.pdf" downloads as "pdf"."""
    kind = "inline" if content_type in INLINE_TYPES else "attachment"
    value = f'{kind}; filename="{ascii_name}"'
    if name is not None and name != ascii_name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


@dataclass(frozen=True)
class StoredObject:
    size: int
    content_type: str
    content_disposition: str | None


class Storage:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.bucket = settings.s3_bucket
        if settings.cdn_domain is not None and not settings.cdn_signing:
            log.warning(
                "RELAY_CDN_DOMAIN is set but RELAY_CDN_PRIVATE_KEY or RELAY_CDN_KEY_PAIR_ID is not: files "
                "are served by S3 presigned GET URLs until the CloudFront signer's key is configured "
                "(pulumi config set --secret relay:cdnSignerPrivateKeyPem, see docs/platform-engineers.md)"
            )

    @cached_property
    def _s3(self):
        endpoint = str(self._settings.s3_endpoint_url) if self._settings.s3_endpoint_url else None
        return boto3.client(
            "s3",
            region_name=self._settings.s3_region,
            endpoint_url=endpoint,
            config=Config(
                signature_version="s3v4", connect_timeout=2, read_timeout=10, retries={"max_attempts": 2}
            ),
        )

    @cached_property
    def _cdn_signer(self) -> CloudFrontSigner | None:
        settings = self._settings
        if not settings.cdn_signing:
            return None
        key = serialization.load_pem_private_key(
            settings.cdn_private_key.get_secret_value().encode(), password=None
        )

        def rsa_signer(message: bytes) -> bytes:
            return key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 (CloudFront's scheme)

        return CloudFrontSigner(settings.cdn_key_pair_id, rsa_signer)

    def presigned_post(self, key: str, content_type: str, size: int, disposition: str) -> dict[str, Any]:
        """A POST policy that admits exactly this key, type, disposition and size (AWS enforces it)."""
        fields = {"Content-Type": content_type, "Content-Disposition": disposition}
        conditions: list[Any] = [
            {"Content-Type": content_type},
            {"Content-Disposition": disposition},
            ["content-length-range", size, size],
        ]
        return self._s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=self._settings.upload_url_seconds,
        )

    async def head(self, key: str) -> StoredObject | None:
        try:
            answer = await asyncio.to_thread(self._s3.head_object, Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return StoredObject(
            size=int(answer["ContentLength"]),
            content_type=answer.get("ContentType", ""),
            content_disposition=answer.get("ContentDisposition"),
        )

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._s3.delete_object, Bucket=self.bucket, Key=key)

    async def delete_many(self, keys: list[str]) -> list[str]:
        """Remove up to 1,000 objects in one call; returns the keys S3 confirmed (a missing one counts)."""
        answer = await asyncio.to_thread(
            self._s3.delete_objects,
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": False},
        )
        for failure in answer.get("Errors", []):
            log.warning("object %s not deleted: %s", failure.get("Key"), failure.get("Message"))
        return [item["Key"] for item in answer.get("Deleted", [])]

    async def read(self, key: str) -> bytes:
        answer = await asyncio.to_thread(self._s3.get_object, Bucket=self.bucket, Key=key)
        return await asyncio.to_thread(answer["Body"].read)

    def read_url(self, key: str, content_type: str, ascii_name: str, name: str | None = None) -> str:
        """A short-lived URL: CloudFront signed (canned policy) or S3 presigned GET."""
        seconds = self._settings.download_url_seconds
        signer = self._cdn_signer
        if signer is not None:
            expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
            url = f"https://{self._settings.cdn_domain}/{quote(key)}"
            return signer.generate_presigned_url(url, date_less_than=expires)
        return self._s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": content_disposition(content_type, ascii_name, name),
                "ResponseContentType": content_type,
            },
            ExpiresIn=seconds,
        )
