"""The layouts beyond JEEX's own: files mapped from the documents by code, no model involved,
so the same documents always give the same files."""

from collections.abc import Callable

from app.exports.formats import ExportFormat
from app.exports.layouts import agents, kiro, openspec, spec_kit
from app.exports.layouts.common import Gap, LayoutFiles, LayoutSource, SourceDocument

__all__ = ["Gap", "LayoutFiles", "LayoutSource", "SourceDocument", "render_layout"]

_RENDERERS: dict[ExportFormat, Callable[[LayoutSource], LayoutFiles]] = {
    ExportFormat.AGENTS: agents.render,
    ExportFormat.SPEC_KIT: spec_kit.render,
    ExportFormat.KIRO: kiro.render,
    ExportFormat.OPENSPEC: openspec.render,
}


def render_layout(export_format: ExportFormat, source: LayoutSource) -> LayoutFiles:
    """The layout's own files (the documents themselves are added by the archive)."""
    if export_format is ExportFormat.JEEX:
        return LayoutFiles()
    return _RENDERERS[export_format](source)
