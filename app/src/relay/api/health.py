"""Health endpoints: shallow /healthz for load balancers, deep /readyz for verification."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """The process and its event loop answer; 503 once SIGTERM started the drain."""
    if request.app.state.drain.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Postgres, Redis and S3 reachable; 503 names the failing ones."""
    checks = await request.app.state.readiness.check()
    failing = [name for name, result in checks.items() if result != "ok"]
    if failing:
        return JSONResponse(
            {
                "status": "unavailable",
                "failing": failing,
                "checks": checks,
                "message": f"not ready: {', '.join(failing)} unreachable",
            },
            status_code=503,
        )
    return JSONResponse({"status": "ready", "checks": checks})
