"""Where the archive keeps its fixed files, inside the project folder, whatever the layout."""

from app.projects.stages import STAGE_ORDER, DocumentType

README_PATH = "README.md"
MANIFEST_PATH = "manifest.json"
DOCUMENT_PATHS: dict[DocumentType, str] = {
    document_type: f"{number:02d}-{document_type.value}/{document_type.value}.md"
    for number, document_type in enumerate(STAGE_ORDER, start=1)
}
