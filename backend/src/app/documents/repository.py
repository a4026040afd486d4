from sqlalchemy import RowMapping, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.documents.models import DocumentVersion
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType


async def latest(
    session: AsyncSession, project_id: AccessibleProjectID, document_type: DocumentType
) -> DocumentVersion | None:
    result = await session.execute(
        select(DocumentVersion)
        .where(
            DocumentVersion.project_id == project_id,
            DocumentVersion.document_type == document_type,
        )
        .order_by(DocumentVersion.version.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


# Built once, from table columns (a Core statement: none of the ORM's compile and loading
# steps): what GET …/documents/{type} answers (no trace items, no entity).
_version = DocumentVersion.__table__.c
_ACTIVE = (
    select(
        _version.document_type,
        _version.version,
        _version.author_user_id,
        _version.author_agent,
        _version.reason,
        _version.source_message_ids,
        _version.parent_version,
        _version.created_at,
        _version.content,
    )
    .where(
        _version.project_id == bindparam("project_id"),
        _version.document_type == bindparam("document_type"),
    )
    .order_by(_version.version.desc())
    .limit(1)
)


async def read_latest(
    session: AsyncSession, project_id: AccessibleProjectID, document_type: DocumentType
) -> RowMapping | None:
    """The latest version's fields as ``DocumentVersionRead`` names them, or None."""
    result = await session.execute(
        _ACTIVE, {"project_id": project_id, "document_type": document_type}
    )
    return result.mappings().one_or_none()


async def get_version(
    session: AsyncSession,
    project_id: AccessibleProjectID,
    document_type: DocumentType,
    version: int,
) -> DocumentVersion | None:
    result = await session.execute(
        select(DocumentVersion).where(
            DocumentVersion.project_id == project_id,
            DocumentVersion.document_type == document_type,
            DocumentVersion.version == version,
        )
    )
    return result.scalar_one_or_none()


async def list_versions(
    session: AsyncSession, project_id: AccessibleProjectID, document_type: DocumentType
) -> list[DocumentVersion]:
    result = await session.execute(
        select(DocumentVersion)
        .where(
            DocumentVersion.project_id == project_id,
            DocumentVersion.document_type == document_type,
        )
        .order_by(DocumentVersion.version.desc())
    )
    return list(result.scalars())


async def latest_of_each(
    session: AsyncSession, project_id: AccessibleProjectID
) -> list[DocumentVersion]:
    result = await session.execute(
        select(DocumentVersion)
        .where(DocumentVersion.project_id == project_id)
        .distinct(DocumentVersion.document_type)
        .order_by(DocumentVersion.document_type, DocumentVersion.version.desc())
    )
    return list(result.scalars())


async def add(
    session: AsyncSession, project_id: AccessibleProjectID, version: DocumentVersion
) -> None:
    if version.project_id != project_id:
        raise ValueError("a document version must be added under its own project")
    session.add(version)
    await session.flush()
    await session.refresh(version)
