"""ASGI application factory."""

from fastapi import FastAPI

from relay.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    api = FastAPI(title="Relay", openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)

    @api.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Shallow liveness: the process and its event loop answer."""
        return {"status": "ok"}

    api.state.settings = settings
    return api
