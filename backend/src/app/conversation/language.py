"""Correcting the project's language while the team has not yet written in it.

The Product Manager detects the language from the first message, and a small model can get it
wrong (a Russian idea taken for English). An owner may correct it, through the API or with the
chat command ``/language <code>``, until the team has written a document: the first answer's
restructured idea (``idea`` v1) is the user's own text, so it does not lock the language; any
later version of any document does. From then on the documents, the project memory and the
export are in that language, and changing it would leave them mixed.

The correction locks the conversation state, which every run step holds while it commits, so
no version can be written between the check and the change. Agents read the language at each
step, so the next model call uses the new one. Memory written under the old language is moved
to the new one by a job queued after the commit (see :func:`app.memory.service.follow_language`).
"""

from functools import partial

from saq import Queue
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversation import repository as conversation_repository
from app.conversation.exceptions import LanguageLockedError, LanguageUnknownError
from app.conversation.languages import ISO_639_1
from app.core.db import after_commit
from app.documents import repository as document_repository
from app.memory import jobs as memory_jobs
from app.projects import transitions as stage_transitions
from app.projects.scoping import AccessibleProjectID
from app.projects.stages import DocumentType


async def correct_language(
    session: AsyncSession, queue: Queue, project_id: AccessibleProjectID, code: str
) -> None:
    if code not in ISO_639_1:
        raise LanguageUnknownError(
            f'"{code}" is not an ISO 639-1 language code (such as en, ru, de).',
            details={"language": code},
        )
    await conversation_repository.state(session, project_id)
    if await team_has_written(session, project_id):
        raise LanguageLockedError(
            "The project's language can change only until the team writes a document; "
            "a document has been written in it.",
        )
    previous = await stage_transitions.correct_language(session, project_id, code)
    if previous is not None and previous != code:
        after_commit(session, partial(memory_jobs.enqueue_language_change, queue, project_id))


async def team_has_written(session: AsyncSession, project_id: AccessibleProjectID) -> bool:
    """Whether any document has a version beyond the first answer's restructured idea."""
    latest = await document_repository.latest_of_each(session, project_id)
    return any(row.document_type != DocumentType.IDEA.value or row.version > 1 for row in latest)
