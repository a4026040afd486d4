"""What a render process holds before its first render, loaded once in the fork server.

Each render process is forked from the fork server, so what this module loads at import is
already in memory when a process starts, instead of costing each process's first render: the
renderer, the quality report and textstat's dictionaries for every supported language.
"""

from app.documents import quality, rendering

__all__ = ["quality", "rendering"]

quality.load_readability_dictionaries()
