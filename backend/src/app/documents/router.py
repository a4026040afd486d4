from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status
from fastapi.responses import HTMLResponse
from pydantic import WithJsonSchema

from app.core.deps import JobQueueDep, RedisDep, SessionDep, get_resources, read_only
from app.core.errors import error_responses, json_error_responses
from app.documents import service as document_service
from app.documents.constants import MAX_VERSION
from app.documents.diffing import DocumentDiff
from app.documents.exceptions import PreconditionRequiredError
from app.documents.quality import QualityReport
from app.documents.resources import DocumentResources
from app.documents.schemas import (
    DocumentEdit,
    DocumentStatus,
    DocumentVersionRead,
    RollbackRequest,
    VersionSummary,
)
from app.projects import service as project_service
from app.projects.dependencies import ProjectEditor, ProjectViewer
from app.projects.stages import DocumentType

router = APIRouter(prefix="/projects/{project_id}/documents", tags=["documents"])

Resources = Annotated[DocumentResources, Depends(get_resources)]
_READ = error_responses(401, 403, 404)
_WRITE = error_responses(401, 403, 404, 412, 422, 428)
# One ETag of this API ("3", or 3 as some clients send it); anything else is refused by
# validation (422) before the handler runs.
_ETAG_PATTERN = r'^"?[0-9]{1,9}"?$'
IfMatch = Annotated[
    str | None,
    Header(
        pattern=_ETAG_PATTERN,
        description='The ETag of the version you edited, e.g. "3"; required (428 without it).',
    ),
    # A header is absent or a string, never JSON null (which clients would send as "null").
    WithJsonSchema({"type": "string", "pattern": _ETAG_PATTERN}),
]
# The preview is untrusted content rendered as HTML: nothing may run, load or frame it.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _etag(version: int) -> str:
    return f'"{version}"'


def _expected_version(if_match: str | None) -> int:
    if if_match is None:
        raise PreconditionRequiredError
    return int(if_match.strip().strip('"'))


@router.get("", response_model=list[DocumentStatus], responses=_READ)
@read_only
async def list_documents(context: ProjectViewer, session: SessionDep) -> list[DocumentStatus]:
    """The four documents and their active versions (null until written)."""
    return await document_service.statuses(session, context.project_id)


@router.get("/{document_type}", response_model=DocumentVersionRead, responses=_READ)
@read_only
async def get_document(
    document_type: DocumentType, context: ProjectViewer, session: SessionDep, response: Response
) -> DocumentVersionRead:
    """The active (latest) version; its ETag is what a manual edit sends in If-Match."""
    document = await document_service.active(session, context.project_id, document_type)
    response.headers["ETag"] = _etag(document.version)
    return document


@router.put("/{document_type}", response_model=DocumentVersionRead, responses=_WRITE)
async def edit_document(
    document_type: DocumentType,
    data: DocumentEdit,
    context: ProjectEditor,
    session: SessionDep,
    resources: Resources,
    queue: JobQueueDep,
    response: Response,
    if_match: IfMatch = None,
) -> DocumentVersionRead:
    """Save a manual edit as a new version; 412 when the document moved on meanwhile."""
    document = await document_service.edit(
        session,
        context.project_id,
        document_type,
        expected_version=_expected_version(if_match),
        content=data.content,
        reason=data.reason,
        user_id=context.user_id,
        after_person_version=resources.after_person_version,
        queue=queue,
    )
    response.headers["ETag"] = _etag(document.version)
    return document


@router.get("/{document_type}/versions", response_model=list[VersionSummary], responses=_READ)
@read_only
async def list_versions(
    document_type: DocumentType, context: ProjectViewer, session: SessionDep
) -> list[VersionSummary]:
    """Every version, newest first, without content."""
    return await document_service.versions(session, context.project_id, document_type)


@router.get(
    "/{document_type}/versions/{version}", response_model=DocumentVersionRead, responses=_READ
)
@read_only
async def get_version(
    document_type: DocumentType,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    context: ProjectViewer,
    session: SessionDep,
    response: Response,
) -> DocumentVersionRead:
    document = await document_service.version(session, context.project_id, document_type, version)
    response.headers["ETag"] = _etag(document.version)
    return document


@router.get("/{document_type}/diff", response_model=DocumentDiff, responses=_READ)
@read_only
async def diff_versions(
    document_type: DocumentType,
    context: ProjectViewer,
    session: SessionDep,
    from_version: Annotated[int, Query(alias="from", ge=1, le=MAX_VERSION)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=MAX_VERSION)],
) -> DocumentDiff:
    """Unified diff plus structured hunks with word-level marks."""
    return await document_service.diff(
        session,
        context.project_id,
        document_type,
        from_version=from_version,
        to_version=to_version,
    )


@router.post(
    "/{document_type}/rollback",
    response_model=DocumentVersionRead,
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE,
)
async def rollback_document(
    document_type: DocumentType,
    data: RollbackRequest,
    context: ProjectEditor,
    session: SessionDep,
    resources: Resources,
    queue: JobQueueDep,
    response: Response,
    if_match: IfMatch = None,
) -> DocumentVersionRead:
    """Make an earlier version's content current again, as a new version."""
    document = await document_service.rollback(
        session,
        context.project_id,
        document_type,
        to_version=data.version,
        expected_version=None if if_match is None else _expected_version(if_match),
        reason=data.reason,
        user_id=context.user_id,
        after_person_version=resources.after_person_version,
        queue=queue,
    )
    response.headers["ETag"] = _etag(document.version)
    return document


@router.get(
    "/{document_type}/preview",
    response_class=HTMLResponse,
    # The page is HTML, its errors JSON like everywhere else.
    responses=json_error_responses(401, 403, 404, 413, 422, 429, 500, 503),
)
async def preview_document(
    document_type: DocumentType,
    context: ProjectViewer,
    session: SessionDep,
    redis: RedisDep,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
) -> HTMLResponse:
    """Sanitised HTML of the active version (or ``version``); mermaid blocks are left as
    ``<pre class="mermaid">`` for the client to draw."""
    html = await document_service.preview(
        session, redis, context.project_id, context.user_id, document_type, version
    )
    return HTMLResponse(
        html,
        headers={"Content-Security-Policy": PREVIEW_CSP, "X-Content-Type-Options": "nosniff"},
    )


@router.get(
    "/{document_type}/quality",
    response_model=QualityReport,
    responses=json_error_responses(401, 403, 404, 413, 422, 429, 500, 503),
)
async def document_quality(
    document_type: DocumentType,
    context: ProjectViewer,
    session: SessionDep,
    redis: RedisDep,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
) -> QualityReport:
    """Readability (where the language is supported), size, and the section checklist."""
    return await document_service.quality(
        session,
        redis,
        context.project_id,
        context.user_id,
        document_type,
        version,
        (await project_service.load_project(session, context)).language,
    )
