"""The web client (app/web, fingerprinted by `make web`): the page, its service worker and assets.

index.html and sw.js keep their names and are revalidated on every load (`no-cache`), so a deploy
reaches browsers at once; everything under /static/ carries a content hash in its name and is
cached for a year by the CacheControl middleware. The page gets this deployment's settings in a
meta tag (no inline script: the CSP forbids it) and, when Clerk is configured, Clerk's browser SDK.
"""

import html
import json
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from relay.errors import RelayError
from relay.settings import Settings

REVALIDATE = {"Cache-Control": "no-cache"}
CONFIG_TAG = '<meta name="relay-config" content="{}">'
# Clerk's documented script tag: the SDK from the instance's own Frontend API host, major version 5.
CLERK_SCRIPT = (
    '<script async crossorigin="anonymous" data-clerk-publishable-key="{key}" '
    'src="{origin}/npm/@clerk/clerk-js@5/dist/clerk.browser.js"></script>\n</head>'
)


def render_index(template: str, settings: Settings) -> str:
    config = {"environment": settings.environment, "clerkPublishableKey": settings.clerk_publishable_key}
    tag = f'<meta name="relay-config" content="{html.escape(json.dumps(config))}">'
    page = template.replace(CONFIG_TAG, tag)
    if settings.clerk_origin:
        key = html.escape(settings.clerk_publishable_key or "")
        page = page.replace("</head>", CLERK_SCRIPT.format(key=key, origin=settings.clerk_origin), 1)
    return page


def _not_built(web_dir: Path) -> RelayError:
    return RelayError(
        "web_client_not_built",
        f"the web client is not built in {web_dir}: run `make web` (or point RELAY_WEB_DIR at a build)",
        404,
    )


def install(api: FastAPI, settings: Settings) -> None:
    web_dir = settings.web_dir
    index_file = web_dir / "index.html"
    page = render_index(index_file.read_text(), settings) if index_file.is_file() else None
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def index() -> HTMLResponse:
        if page is None:
            raise _not_built(web_dir)
        return HTMLResponse(page, headers=REVALIDATE)

    @router.get("/sw.js")
    async def service_worker() -> FileResponse:
        if page is None:
            raise _not_built(web_dir)
        return FileResponse(web_dir / "sw.js", media_type="text/javascript", headers=REVALIDATE)

    api.include_router(router)
    if page is not None:
        api.mount("/static", StaticFiles(directory=web_dir / "static"), name="static")
