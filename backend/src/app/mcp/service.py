"""Reads for the MCP server, built from the domains' own services and nothing else.

Every read of a project starts at :func:`project_context`, the API's own access guard: a project
the caller is not a member of is the same error as one that does not exist. Nothing here
writes; the only side effects are the guard's rate-limit counters in Redis.
"""

import hashlib
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Caller
from app.conversation import repository as conversation_repository
from app.conversation.questions import OpenQuestion
from app.documents import service as document_service
from app.documents.exceptions import DocumentNotFoundError
from app.documents.schemas import DocumentStatus, DocumentVersionRead
from app.documents.tracing import service as trace_service
from app.documents.tracing.schemas import TraceRead
from app.exports.paths import DOCUMENT_PATHS
from app.mcp import uris
from app.mcp.exceptions import InvalidArgumentsError
from app.mcp.resources import McpResources
from app.mcp.schemas import (
    DocumentResult,
    ItemResult,
    ManifestDocument,
    MemorySearchResult,
    OpenQuestions,
    ProjectList,
    ProjectManifest,
)
from app.memory import service as memory_service
from app.projects import service as project_service
from app.projects.dependencies import admit_member
from app.projects.scoping import ProjectContext
from app.projects.stages import STAGE_ORDER, DocumentType

# The API's own cap on one page of the project list.
PROJECT_LIST_LIMIT = 100


async def project_context(
    session: AsyncSession, resources: McpResources, caller: Caller, project_id: UUID
) -> ProjectContext:
    return await admit_member(session, resources, project_id, caller)


async def list_projects(session: AsyncSession, caller: Caller) -> ProjectList:
    projects = await project_service.list_projects(
        session, caller.user_id, limit=PROJECT_LIST_LIMIT
    )
    return ProjectList(projects=projects)


async def document_statuses(session: AsyncSession, context: ProjectContext) -> list[DocumentStatus]:
    return await document_service.statuses(session, context.project_id)


async def get_document(
    session: AsyncSession,
    context: ProjectContext,
    document_type: DocumentType,
    version: int | None,
) -> DocumentResult:
    active = await document_service.active(session, context.project_id, document_type)
    chosen = (
        active
        if version is None or version == active.version
        else await document_service.version(session, context.project_id, document_type, version)
    )
    return DocumentResult(
        project_id=context.project_id,
        document_type=document_type,
        version=chosen.version,
        active_version=active.version,
        author_agent=chosen.author_agent,
        reason=chosen.reason,
        created_at=chosen.created_at,
        content=chosen.content,
    )


async def manifest(session: AsyncSession, context: ProjectContext) -> ProjectManifest:
    files = []
    for document_type in STAGE_ORDER:
        active = await _active_or_none(session, context, document_type)
        files.append(_manifest_entry(context, document_type, active))
    return ProjectManifest(
        project=await project_service.read_project(session, context),
        generated_at=datetime.now(UTC),
        files=files,
    )


async def _active_or_none(
    session: AsyncSession, context: ProjectContext, document_type: DocumentType
) -> DocumentVersionRead | None:
    try:
        return await document_service.active(session, context.project_id, document_type)
    except DocumentNotFoundError:
        return None


def _manifest_entry(
    context: ProjectContext, document_type: DocumentType, active: DocumentVersionRead | None
) -> ManifestDocument:
    # The same path and digest as the export's manifest, so an agent can check one by the other.
    data = active.content.encode() if active is not None else None
    return ManifestDocument(
        path=DOCUMENT_PATHS[document_type],
        document_type=document_type,
        status="present" if data is not None else "absent",
        version=active.version if active is not None else None,
        sha256=hashlib.sha256(data).hexdigest() if data is not None else None,
        bytes=len(data) if data is not None else None,
        uri=uris.document_uri(context.project_id, document_type),
    )


async def search_memory(
    session: AsyncSession,
    resources: McpResources,
    context: ProjectContext,
    query: str,
    limit: int | None,
) -> MemorySearchResult:
    try:
        hits = await memory_service.search(
            session, resources.memory, context.project_id, query, limit=limit
        )
    except ValueError as error:  # a query of nothing but spaces and marks
        raise InvalidArgumentsError(str(error)) from None
    return MemorySearchResult(project_id=context.project_id, query=query, hits=hits)


async def open_questions(session: AsyncSession, context: ProjectContext) -> OpenQuestions:
    """The questions the expert with the floor asked and the user has not answered yet: the
    engine's own record of them (the one the reply parser checks answers against)."""
    state = await conversation_repository.find_state(session, context.project_id)
    pending = state.pending_questions if state is not None else None
    return OpenQuestions(
        project_id=context.project_id,
        stage=DocumentType((await project_service.load_project(session, context)).current_stage),
        expert=state.floor_agent if state is not None and pending else None,
        questions=[OpenQuestion.model_validate(item) for item in pending or []],
    )


async def trace(session: AsyncSession, context: ProjectContext) -> TraceRead:
    return await trace_service.trace(session, context.project_id)


async def item(session: AsyncSession, context: ProjectContext, item_id: str) -> ItemResult:
    found = await trace_service.trace(session, context.project_id)
    nodes = {node.id: node for node in found.nodes}
    node = nodes.get(item_id)
    if node is None:
        retired = " (it was retired)" if item_id in found.retired else ""
        raise InvalidArgumentsError(f"No item {item_id} in the active documents{retired}.")
    return ItemResult(
        item=node,
        serves=[nodes[target] for target in node.links if target in nodes],
        served_by=[other for other in found.nodes if item_id in other.links],
        retired_targets=[target for target in node.links if target not in nodes],
        stale=next((mark for mark in found.stale if mark.item == item_id), None),
    )
