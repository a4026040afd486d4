from fastapi import APIRouter, Response, status

from app.health import service as health_service
from app.health.resources import HealthResourcesDep
from app.health.schemas import Liveness, Readiness

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", response_model=Liveness, summary="The process is up")
async def live() -> Liveness:
    return Liveness()


@router.get(
    "/ready",
    response_model=Readiness,
    summary="PostgreSQL, Redis and Qdrant all answer",
    responses={503: {"model": Readiness, "description": "Names the parts that failed."}},
)
async def ready(resources: HealthResourcesDep, response: Response) -> Readiness:
    readiness = await health_service.check_readiness(resources)
    if readiness.failed:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return readiness
