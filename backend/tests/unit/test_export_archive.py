import io
import zipfile
from datetime import UTC, datetime
from uuid import UUID

import pytest

from app.exports.archive import (
    ArchivedDocument,
    ArchiveRequest,
    build_archive,
    verify_archive,
)
from app.exports.exceptions import ArchiveIntegrityError
from app.exports.traceability import render_traceability
from app.projects.stages import DocumentType

REQUEST = ArchiveRequest(
    export_id=UUID("01a216b0-f8ec-7a9f-a728-591f4f5214f0"),
    project_id=UUID("01a216b0-f832-7132-9e92-d642360ba8f3"),
    project_name="Coffee",
    language="en",
    requested_at=datetime(2026, 11, 26, 7, 0, tzinfo=UTC),
    generated_at=datetime(2026, 11, 26, 7, 1, tzinfo=UTC),
    documents={
        DocumentType.IDEA: ArchivedDocument(version=2, content="# Idea\n\nCoffee.\n"),
        DocumentType.PLAN: ArchivedDocument(version=1, content="# Plan\n"),
    },
)


def _rewrite(data: bytes, change: dict[str, bytes | None], add: dict[str, bytes]) -> bytes:
    """The same archive with entries replaced (None: dropped) or added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            replacement = change.get(info.filename, source.read(info))
            if info.filename in change and replacement is None:
                continue
            assert replacement is not None
            target.writestr(info.filename, replacement)
        for name, content in add.items():
            target.writestr(name, content)
    return out.getvalue()


def test_the_same_request_packs_to_the_same_bytes() -> None:
    first, second = build_archive(REQUEST), build_archive(REQUEST)
    assert first.data == second.data
    assert first.sha256 == second.sha256
    verify_archive(first.data, first.manifest)


def test_documents_keep_their_folders_in_stage_order() -> None:
    names = zipfile.ZipFile(io.BytesIO(build_archive(REQUEST).data)).namelist()
    assert names == [
        "coffee/README.md",
        "coffee/01-idea/idea.md",
        "coffee/04-plan/plan.md",
        "coffee/traceability.md",
        "coffee/manifest.json",
    ]


@pytest.mark.parametrize(
    ("change", "add", "reason"),
    [
        ({"coffee/01-idea/idea.md": b"# Tampered\n"}, {}, "sha256"),
        ({"coffee/04-plan/plan.md": None}, {}, "missing"),
        ({}, {"coffee/extra.md": b"x"}, "unexpected"),
        ({"coffee/manifest.json": b"{}"}, {}, "cannot be read back"),
    ],
)
def test_verification_finds_every_kind_of_damage(
    change: dict[str, bytes | None], add: dict[str, bytes], reason: str
) -> None:
    built = build_archive(REQUEST)
    with pytest.raises(ArchiveIntegrityError, match=reason):
        verify_archive(_rewrite(built.data, change, add), built.manifest)


def test_a_manifest_that_differs_is_refused() -> None:
    built = build_archive(REQUEST)
    other = built.manifest.model_copy(update={"language": "de"})
    with pytest.raises(ArchiveIntegrityError, match="differs from the manifest built"):
        verify_archive(built.data, other)


def test_not_a_zip_is_refused() -> None:
    with pytest.raises(ArchiveIntegrityError, match="cannot be read back"):
        verify_archive(b"PK\x03\x04 not really", build_archive(REQUEST).manifest)


def test_the_traceability_matrix_has_a_row_per_link_and_the_gaps() -> None:
    specs = (
        "# Specs\n\n## DoD\n<!-- section:definition_of_done -->\n"
        "- **R-1** Tests pass | on CI → G-1\n- **R-2** Reviewed → G-1, G-2\n"
    )
    matrix = render_traceability(
        {
            DocumentType.IDEA: (2, "# Idea\n\n<!-- section:goals_kpis -->\n- **G-1** Grow\n"),
            DocumentType.SPECS: (4, specs),
        }
    )
    rows = [line for line in matrix.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1:] == [
        "| R-1 | G-1 | Tests pass \\| on CI | Grow |",
        "| R-2 | G-1 | Reviewed | Grow |",
        "| R-2 | G-2 | Reviewed | (retired) |",
    ]
    assert "items of idea v2, specs v4" in matrix
    assert "- R-2: it serves G-2, which is not in the documents any more" in matrix
