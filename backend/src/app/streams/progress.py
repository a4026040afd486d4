"""The snapshot a client loads before subscribing to a project's events: stage statuses, each
document's active version, the run being worked on and the newest event id."""

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.documents.schemas import DocumentStatus
from app.events.publisher import EventPublisher
from app.projects.schemas import StageRead
from app.projects.scoping import AccessibleProjectID, ProjectContext
from app.projects.stages import STAGE_ORDER, DocumentType
from app.streams.schemas import ActiveRun, ProjectProgress

# One round trip for the whole snapshot: stage statuses, each document's latest version and
# the run being worked on (the oldest open one).
_PROGRESS = text(
    """
    SELECT p.current_stage,
           (SELECT json_agg(json_build_object(
                       'stage', s.stage, 'status', s.status,
                       'started_at', s.started_at, 'completed_at', s.completed_at)
                   ORDER BY array_position(ARRAY['idea', 'specs', 'architecture', 'plan'],
                                           s.stage::text))
              FROM project_stage s WHERE s.project_id = p.id) AS stages,
           (SELECT json_agg(json_build_object(
                       'document_type', d.document_type, 'active_version', d.version,
                       'updated_at', d.created_at))
              FROM (SELECT DISTINCT ON (document_type) document_type, version, created_at
                      FROM document_version WHERE project_id = p.id
                     ORDER BY document_type, version DESC) d) AS documents,
           (SELECT json_build_object(
                       'id', r.id, 'kind', r.kind, 'status', r.status, 'stage', r.stage,
                       'message_id', r.message_id, 'created_at', r.created_at,
                       'started_at', r.started_at)
              FROM agent_execution r
             WHERE r.project_id = p.id AND r.status IN ('queued', 'running')
             ORDER BY r.id
             LIMIT 1) AS active_run
      FROM project p
     WHERE p.id = :project_id
    """
)


async def progress_snapshot(
    session: AsyncSession, project_id: AccessibleProjectID
) -> Row[
    tuple[
        str,
        list[dict[str, object]] | None,
        list[dict[str, object]] | None,
        dict[str, object] | None,
    ]
]:
    result = await session.execute(_PROGRESS, {"project_id": project_id})
    return result.one()


async def progress(
    session: AsyncSession, events: EventPublisher, context: ProjectContext
) -> ProjectProgress:
    # The event id is read before the database: a change that commits in between is then
    # already in the snapshot and its event replays after last_event_id (seen twice, harmless).
    # Read the other way round, its event could fall before last_event_id and never be seen.
    last_event_id = await events.last_event_id(context.project_id)
    current_stage, stages, documents, active_run = await progress_snapshot(
        session, context.project_id
    )
    written = {item["document_type"]: item for item in documents or []}
    return ProjectProgress(
        current_stage=DocumentType(current_stage),
        stages=[StageRead.model_validate(item) for item in stages or []],
        documents=[
            DocumentStatus.model_validate(written[document_type])
            if document_type in written
            else DocumentStatus(document_type=document_type, active_version=None, updated_at=None)
            for document_type in STAGE_ORDER
        ],
        active_run=ActiveRun.model_validate(active_run) if active_run else None,
        last_event_id=last_event_id,
    )
