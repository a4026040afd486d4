"""AGENTS.md at the archive's root, for a coding agent: what the project is, where each
document lives, the stack and conventions the architecture decided, and how to work through
the plan. The four documents stay beside it in their usual folders.

Its shape is checked by a test (``tests/unit/test_export_layouts.py``): the four ``##``
sections below, in this order, each document linked by its path.
"""

from app.exports.layouts.common import NOT_STATED, LayoutFiles, LayoutSource, section_block
from app.exports.paths import DOCUMENT_PATHS, MANIFEST_PATH
from app.projects.stages import STAGE_ORDER, DocumentType

AGENTS_PATH = "AGENTS.md"
HEADINGS = (
    "## Project",
    "## Documents",
    "## Stack and conventions",
    "## How to work through the plan",
)
_CONVENTION_KEYS = ("stack", "patterns", "trade_offs")
_STANDARD_KEYS = ("coding_standards", "definition_of_done")
_WORKFLOW = (
    "1. Read the idea and the specifications before changing code; they say what to build "
    "and the standards it must meet.",
    "2. Follow the architecture's stack and conventions above; a change to them belongs in "
    f"`{DOCUMENT_PATHS[DocumentType.ARCHITECTURE]}` first.",
    f"3. Take the tasks of `{DOCUMENT_PATHS[DocumentType.PLAN]}` in order, one at a time; a task "
    "is done when its acceptance criteria hold and the tests pass.",
    "4. Tick a task's checkbox (`- [x]`) in the plan when it is done.",
)


def _documents(source: LayoutSource) -> list[str]:
    lines = [HEADINGS[1], ""]
    for document_type in STAGE_ORDER:
        path = DOCUMENT_PATHS[document_type]
        document = source.documents.get(document_type)
        if document is None:
            lines.append(f"- `{path}` ({document_type.value}): not written yet")
            continue
        title = document.outline.title or document_type.value
        lines.append(
            f"- [`{path}`]({path}) ({document_type.value}, version {document.version}): {title}"
        )
    lines += ["", f"`{MANIFEST_PATH}` lists every file with its SHA-256.", ""]
    return lines


def _conventions(source: LayoutSource, files: LayoutFiles) -> list[str]:
    lines = [HEADINGS[2], ""]
    decided = source.sections(DocumentType.ARCHITECTURE, _CONVENTION_KEYS)
    if not decided:
        files.gap(AGENTS_PATH, "stack and conventions", DocumentType.ARCHITECTURE)
        lines += [NOT_STATED, ""]
    for section in decided + source.sections(DocumentType.SPECS, _STANDARD_KEYS):
        lines += section_block(section, "###")
    return lines


def _workflow(source: LayoutSource, files: LayoutFiles) -> list[str]:
    lines = [HEADINGS[3], "", *_WORKFLOW, ""]
    checklist = source.checklist()
    if not checklist:
        files.gap(AGENTS_PATH, "tasks", DocumentType.PLAN)
        return [*lines, f"The plan has no checklist yet. {NOT_STATED}", ""]
    lines += ["Tasks, as the plan lists them:", ""]
    lines += [f"- [{'x' if item.done else ' '}] {item.text}" for _, item in checklist]
    return [*lines, ""]


def render(source: LayoutSource) -> LayoutFiles:
    files = LayoutFiles()
    lines = [f"# AGENTS.md: {source.project_name}", "", HEADINGS[0], ""]
    if source.summary is None:
        files.gap(AGENTS_PATH, "project summary", DocumentType.IDEA)
    lines += [source.summary or NOT_STATED, ""]
    lines += _documents(source) + _conventions(source, files) + _workflow(source, files)
    files.files[AGENTS_PATH] = "\n".join(lines)
    return files
