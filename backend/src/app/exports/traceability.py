"""``traceability.md``: every link between the items of the exported versions, as a matrix,
and the gaps the trace shows in them. Read from the versions' own Markdown (the ids and arrows
are in it), so the file describes exactly the documents beside it."""

from collections.abc import Mapping

from app.documents.tracing.graph import GapKind, gaps_of
from app.documents.tracing.items import Node, read_nodes
from app.projects.stages import STAGE_ORDER, DocumentType

TRACEABILITY_PATH = "traceability.md"
_TEXT_CHARS = 120
_GAP_TEXTS = {
    GapKind.UNSERVED_GOAL: "no requirement serves it",
    GapKind.UNREALISED_REQUIREMENT: "no component or task serves it",
    GapKind.PURPOSELESS_TASK: "it serves nothing",
    GapKind.RETIRED_LINK: "it serves {target}, which is not in the documents any more",
}


def render_traceability(contents: Mapping[DocumentType, tuple[int, str]]) -> str:
    """``contents``: each exported document's version and Markdown."""
    documents = {
        document: read_nodes(content, document) for document, (_, content) in contents.items()
    }
    by_id = {node.id: node for nodes in documents.values() for node in nodes}
    exported = ", ".join(
        f"{document.value} v{contents[document][0]}"
        for document in STAGE_ORDER
        if document in contents
    )
    lines = [
        "# Traceability",
        "",
        f"Every link between the items of {exported or 'no document'}: each row is an item and "
        "one item it serves.",
        "",
        "| Item | Serves | Item text | Served item text |",
        "|---|---|---|---|",
    ]
    for document in STAGE_ORDER:
        for node in documents.get(document, ()):
            for target in node.links:
                served = by_id.get(target)
                lines.append(
                    f"| {node.id} | {target} | {_cell(node)} | "
                    f"{_cell(served) if served else '(retired)'} |"
                )
    gaps = gaps_of(documents)
    lines += ["", "## Gaps", ""]
    lines += [
        f"- {gap.item}: {_GAP_TEXTS[gap.kind].format(target=gap.target)}" for gap in gaps
    ] or ["None: every goal, requirement and task is covered."]
    return "\n".join(lines) + "\n"


def _cell(node: Node) -> str:
    text = node.text if len(node.text) <= _TEXT_CHARS else node.text[: _TEXT_CHARS - 1] + "…"
    return text.replace("\\", "\\\\").replace("|", "\\|")
