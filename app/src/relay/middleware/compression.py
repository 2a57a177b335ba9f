"""Response compression: brotli when the client accepts it, else gzip; only above ~1 KiB.

Built on starlette's GZip responders, which already skip responses that carry a Content-Encoding
(engine.io compresses its own long-polling payloads, prometheus-client its exposition), partial
responses and already-compressed media types (images, zip, event streams). brotli-asgi was the
other candidate; it compresses images and zip files again, and its gzip fallback runs at level 9.
Streaming bodies are flushed chunk by chunk, so nothing is held back from the client.
"""

import anyio.to_thread
import brotli
from starlette.middleware.gzip import GZipResponder, IdentityResponder
from starlette.types import ASGIApp, Receive, Scope, Send

MINIMUM_SIZE = 1024
# Bodies above this are compressed in a worker thread so a large export does not stall the loop.
THREAD_MINIMUM_SIZE = 128 * 1024
BROTLI_QUALITY = 4  # dynamic content: a fraction of the CPU of the default 11, most of the gain
GZIP_LEVEL = 6


class BrotliResponder(IdentityResponder):
    content_encoding = "br"

    def __init__(self, app: ASGIApp, minimum_size: int) -> None:
        super().__init__(app, minimum_size)
        self._compressor: brotli.Compressor | None = None

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if len(body) >= THREAD_MINIMUM_SIZE:
            return await anyio.to_thread.run_sync(self._compress, body, more_body)
        return self._compress(body, more_body)

    def _compress(self, body: bytes, more_body: bool) -> bytes:
        if self._compressor is None:
            self._compressor = brotli.Compressor(quality=BROTLI_QUALITY, mode=brotli.MODE_TEXT)
        compressed = self._compressor.process(body)
        return compressed + (self._compressor.flush() if more_body else self._compressor.finish())


def accepted_encodings(scope: Scope) -> frozenset[str]:
    """Content codings in Accept-Encoding, without those given q=0."""
    accepted: set[str] = set()
    for name, value in scope["headers"]:
        if name != b"accept-encoding":
            continue
        for item in value.decode("latin-1").split(","):
            coding, _, params = item.partition(";")
            if not _refused(params):
                accepted.add(coding.strip().lower())
    return frozenset(accepted)


def _refused(params: str) -> bool:
    """True for a q=0 weight ("not acceptable"); a malformed weight is ignored."""
    name, _, weight = params.strip().partition("=")
    if name.strip().lower() != "q":
        return False
    try:
        return float(weight) == 0
    except ValueError:
        return False


class Compression:
    def __init__(self, app: ASGIApp, *, minimum_size: int = MINIMUM_SIZE) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accepted = accepted_encodings(scope)
        responder: ASGIApp
        if "br" in accepted:
            responder = BrotliResponder(self.app, self.minimum_size)
        elif "gzip" in accepted:
            responder = GZipResponder(
                self.app, self.minimum_size, GZIP_LEVEL, thread_minimum_size=THREAD_MINIMUM_SIZE
            )
        else:
            responder = IdentityResponder(self.app, self.minimum_size)
        await responder(scope, receive, send)
