"""The addresses of the MCP resources, built and read in one place.

jeex://projects                                              the caller's projects
jeex://projects/{project_id}/manifest                        the package as it stands
jeex://projects/{project_id}/documents/{type}                a document's active version
jeex://projects/{project_id}/documents/{type}/versions/{n}   any version of it
"""

import re
from dataclasses import dataclass
from uuid import UUID

from app.mcp.exceptions import UnknownResourceError
from app.projects.stages import DocumentType

PROJECTS_URI = "jeex://projects"
MANIFEST_TEMPLATE = "jeex://projects/{project_id}/manifest"
DOCUMENT_TEMPLATE = "jeex://projects/{project_id}/documents/{document_type}"
VERSION_TEMPLATE = "jeex://projects/{project_id}/documents/{document_type}/versions/{version}"

_PROJECT = r"jeex://projects/(?P<project>[0-9a-fA-F-]{36})"
_DOCUMENT = _PROJECT + r"/documents/(?P<type>[a-z]+)(?:/versions/(?P<version>[1-9][0-9]{0,8}))?"
_MANIFEST_PATTERN = re.compile(_PROJECT + "/manifest")
_DOCUMENT_PATTERN = re.compile(_DOCUMENT)


@dataclass(frozen=True, slots=True)
class ProjectsTarget:
    pass


@dataclass(frozen=True, slots=True)
class ManifestTarget:
    project_id: UUID


@dataclass(frozen=True, slots=True)
class DocumentTarget:
    project_id: UUID
    document_type: DocumentType
    version: int | None


Target = ProjectsTarget | ManifestTarget | DocumentTarget


def manifest_uri(project_id: UUID) -> str:
    return MANIFEST_TEMPLATE.format(project_id=project_id)


def document_uri(project_id: UUID, document_type: DocumentType, version: int | None = None) -> str:
    if version is None:
        return DOCUMENT_TEMPLATE.format(project_id=project_id, document_type=document_type.value)
    return VERSION_TEMPLATE.format(
        project_id=project_id, document_type=document_type.value, version=version
    )


def parse(uri: str) -> Target:
    """What ``uri`` names; an address of no resource of ours is an error that says so."""
    if uri == PROJECTS_URI:
        return ProjectsTarget()
    if found := _MANIFEST_PATTERN.fullmatch(uri):
        return ManifestTarget(project_id=_project_id(found["project"], uri))
    if found := _DOCUMENT_PATTERN.fullmatch(uri):
        try:
            document_type = DocumentType(found["type"])
        except ValueError:
            raise UnknownResourceError(uri) from None
        version = int(found["version"]) if found["version"] is not None else None
        return DocumentTarget(_project_id(found["project"], uri), document_type, version)
    raise UnknownResourceError(uri)


def _project_id(text: str, uri: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise UnknownResourceError(uri) from None
