from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from app.core.deps import JobQueueDep, SessionDep, read_only
from app.core.errors import error_responses
from app.exports import service as export_service
from app.exports.formats import ExportFormat
from app.exports.models import ExportStatus
from app.exports.naming import content_disposition
from app.exports.resources import ExportResourcesDep
from app.exports.schemas import ExportCreate, ExportRead
from app.projects.dependencies import ProjectEditor, ProjectViewer

router = APIRouter(prefix="/projects/{project_id}/exports", tags=["exports"])

_READ = error_responses(401, 403, 404, 422)
_DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The ZIP, streamed, named after the project in `Content-Disposition`; "
        "its ETag is the archive's SHA-256.",
    },
    **error_responses(401, 403, 404, 409, 410, 422),
}


def _download_path(request: Request, export: ExportRead) -> str:
    return request.url_for(
        "download_export", project_id=export.project_id, export_id=export.id
    ).path


def _with_download_path(request: Request, export: ExportRead) -> ExportRead:
    if export.status is not ExportStatus.READY:
        return export
    return export.model_copy(update={"download_path": _download_path(request, export)})


@router.post(
    "",
    response_model=ExportRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 403, 404, 422),
)
async def request_export(
    context: ProjectEditor,
    session: SessionDep,
    resources: ExportResourcesDep,
    queue: JobQueueDep,
    request: Request,
    response: Response,
    body: Annotated[ExportCreate | None, Body()] = None,
) -> ExportRead:
    """Pack the active version of every document as a ZIP, in the layout `format` names (no
    body: `jeex`). What it holds is fixed now; follow `export.progress` and `export.ready` on
    the event stream, or poll the `Location`. Asking again for the same content in the same
    layout answers the export already made (or on its way)."""
    settings = resources.settings
    export_format = body.format if body is not None else ExportFormat.JEEX
    export = await export_service.request_export(
        session, queue, settings.exports, settings.worker, context, export_format
    )
    response.headers["Location"] = request.url_for(
        "get_export", project_id=export.project_id, export_id=export.id
    ).path
    return _with_download_path(request, export)


@router.get("", response_model=list[ExportRead], responses=_READ)
@read_only
async def list_exports(
    context: ProjectViewer,
    session: SessionDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[ExportRead]:
    """The project's exports, newest first."""
    exports = await export_service.list_exports(session, context, limit=limit)
    return [_with_download_path(request, export) for export in exports]


@router.get("/{export_id}", response_model=ExportRead, responses=_READ)
@read_only
async def get_export(
    export_id: UUID, context: ProjectViewer, session: SessionDep, request: Request
) -> ExportRead:
    """The export's status; `download_path` while it can be downloaded."""
    export = await export_service.get_export(session, context, export_id)
    return _with_download_path(request, export)


@router.delete(
    "/{export_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404, 422),
)
async def delete_export(
    export_id: UUID, context: ProjectEditor, session: SessionDep, resources: ExportResourcesDep
) -> Response:
    """Remove the export and its archive now rather than at expiry."""
    await export_service.delete_export(session, resources.export_storage, context, export_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{export_id}/download", response_class=StreamingResponse, responses=_DOWNLOAD)
async def download_export(
    export_id: UUID, context: ProjectViewer, session: SessionDep, resources: ExportResourcesDep
) -> StreamingResponse:
    """The archive, while it is kept (409 before it is ready, 410 once it expired)."""
    download = await export_service.open_download(
        session, resources.export_storage, context, export_id
    )
    return StreamingResponse(
        download.archive.chunks(),
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(
                download.file_name, download.ascii_file_name
            ),
            "Content-Length": str(download.archive.size),
            "ETag": f'"{download.sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
        # Also when the client goes away mid-download and the chunks are never all read.
        background=BackgroundTask(download.archive.aclose),
    )
