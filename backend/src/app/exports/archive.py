"""The ZIP itself: its layout, its manifest, and the check that what was stored matches.

Pure and synchronous (CPU work on bytes): the job runs these in a thread. Every layout keeps
this much; the others add their own files beside it (see ``app.exports.layouts``).

    <project-slug>/README.md
    <project-slug>/01-idea/idea.md
    <project-slug>/02-specs/specs.md
    <project-slug>/03-architecture/architecture.md
    <project-slug>/04-plan/plan.md
    <project-slug>/traceability.md   every link between the documents' items, and the gaps
    <project-slug>/manifest.json
"""

import hashlib
import io
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pydantic import ValidationError

from app.exports.exceptions import ArchiveIntegrityError
from app.exports.formats import ExportFormat
from app.exports.layouts import LayoutFiles, LayoutSource, SourceDocument, render_layout
from app.exports.naming import ascii_slug, project_slug
from app.exports.outline import outline
from app.exports.paths import DOCUMENT_PATHS, MANIFEST_PATH, README_PATH
from app.exports.readme import IndexEntry, readme_language, render_readme
from app.exports.schemas import Manifest, ManifestFile, ManifestGap, ManifestProject
from app.exports.traceability import TRACEABILITY_PATH, render_traceability
from app.projects.stages import STAGE_ORDER, DocumentType

_FILE_MODE = 0o644 << 16


@dataclass(frozen=True, slots=True)
class ArchivedDocument:
    version: int
    content: str


@dataclass(frozen=True, slots=True)
class ArchiveRequest:
    export_id: UUID
    project_id: UUID
    project_name: str
    language: str | None
    requested_at: datetime
    generated_at: datetime
    documents: dict[DocumentType, ArchivedDocument]
    export_format: ExportFormat = ExportFormat.JEEX


@dataclass(frozen=True, slots=True)
class BuiltArchive:
    data: bytes
    manifest: Manifest

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _present(
    path: str, document_type: DocumentType | None, version: int | None, data: bytes
) -> ManifestFile:
    return ManifestFile(
        path=path,
        document_type=document_type,
        status="present",
        version=version,
        sha256=_digest(data),
        bytes=len(data),
    )


def _absent(document_type: DocumentType) -> ManifestFile:
    return ManifestFile(
        path=DOCUMENT_PATHS[document_type],
        document_type=document_type,
        status="absent",
        version=None,
        sha256=None,
        bytes=None,
    )


def _layout(request: ArchiveRequest) -> LayoutFiles:
    source = LayoutSource(
        project_name=request.project_name,
        slug=ascii_slug(request.project_name, request.project_id),
        generated_at=request.generated_at,
        documents={
            document_type: SourceDocument(document.version, outline(document.content))
            for document_type, document in request.documents.items()
        },
    )
    return render_layout(request.export_format, source)


def _file_contents(request: ArchiveRequest) -> dict[str, bytes]:
    """Every file but the manifest, by path inside the project folder, in archive order."""
    entries = []
    for document_type in STAGE_ORDER:
        document = request.documents.get(document_type)
        entries.append(
            IndexEntry(
                document_type=document_type,
                path=DOCUMENT_PATHS[document_type],
                content=document.content if document else None,
                version=document.version if document else None,
            )
        )
    readme = render_readme(request.project_name, request.language, request.generated_at, entries)
    files = {README_PATH: readme.encode()}
    for document_type in STAGE_ORDER:
        document = request.documents.get(document_type)
        if document is not None:
            files[DOCUMENT_PATHS[document_type]] = document.content.encode()
    files[TRACEABILITY_PATH] = render_traceability(
        {kind: (document.version, document.content) for kind, document in request.documents.items()}
    ).encode()
    return files


def _manifest(request: ArchiveRequest, files: dict[str, bytes], layout: LayoutFiles) -> Manifest:
    listed = [_present(README_PATH, None, None, files[README_PATH])]
    for document_type in STAGE_ORDER:
        document = request.documents.get(document_type)
        if document is None:
            listed.append(_absent(document_type))
        else:
            path = DOCUMENT_PATHS[document_type]
            listed.append(_present(path, document_type, document.version, files[path]))
    listed.append(_present(TRACEABILITY_PATH, None, None, files[TRACEABILITY_PATH]))
    listed += [_present(path, None, None, files[path]) for path in layout.files]
    return Manifest(
        export_id=request.export_id,
        project=ManifestProject(
            id=request.project_id,
            name=request.project_name,
            slug=project_slug(request.project_name, request.project_id),
        ),
        language=request.language,
        readme_language=readme_language(request.language),
        layout=request.export_format,
        requested_at=request.requested_at,
        generated_at=request.generated_at,
        files=listed,
        gaps=[
            ManifestGap(file=gap.file, missing=gap.missing, source=gap.source)
            for gap in layout.gaps
        ],
    )


def _manifest_bytes(manifest: Manifest) -> bytes:
    return (manifest.model_dump_json(indent=2) + "\n").encode()


def build_archive(request: ArchiveRequest) -> BuiltArchive:
    files = _file_contents(request)
    layout = _layout(request)
    clashes = set(files) & set(layout.files)
    if clashes or MANIFEST_PATH in layout.files:
        raise ValueError(f"the {request.export_format} layout overwrites {sorted(clashes)}")
    files.update({path: content.encode() for path, content in layout.files.items()})
    manifest = _manifest(request, files, layout)
    files[MANIFEST_PATH] = _manifest_bytes(manifest)
    # Every entry carries the generation time, so the same request packs to the same bytes.
    timestamp = request.generated_at.timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            entry = zipfile.ZipInfo(f"{manifest.project.slug}/{path}", date_time=timestamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = _FILE_MODE
            archive.writestr(entry, data)
    return BuiltArchive(data=buffer.getvalue(), manifest=manifest)


def verify_archive(data: bytes, expected: Manifest) -> None:
    """Re-read a stored archive: every file the manifest lists must be there with its hash and
    size, nothing else may be, and the manifest inside must be the one expected."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _verify_entries(archive, expected)
    # A damaged archive fails in whichever layer reads the damage first.
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        KeyError,
        # A damaged byte in an entry's name or in the manifest is no longer UTF-8.
        UnicodeDecodeError,
        ValidationError,
    ) as error:
        raise ArchiveIntegrityError(f"the archive cannot be read back: {error}") from error


def _verify_entries(archive: zipfile.ZipFile, expected: Manifest) -> None:
    broken = archive.testzip()
    if broken is not None:
        raise ArchiveIntegrityError(f"{broken}: CRC mismatch")
    root = expected.project.slug
    present = [item for item in expected.files if item.status == "present"]
    wanted = {f"{root}/{item.path}" for item in present} | {f"{root}/{MANIFEST_PATH}"}
    found = set(archive.namelist())
    if found != wanted:
        raise ArchiveIntegrityError(
            f"entries differ from the manifest: missing {sorted(wanted - found)}, "
            f"unexpected {sorted(found - wanted)}"
        )
    stored = Manifest.model_validate_json(archive.read(f"{root}/{MANIFEST_PATH}"))
    if stored != expected:
        raise ArchiveIntegrityError("manifest.json differs from the manifest built")
    for item in present:
        data = archive.read(f"{root}/{item.path}")
        if len(data) != item.bytes or _digest(data) != item.sha256:
            raise ArchiveIntegrityError(f"{item.path}: sha256 or size differs from the manifest")
