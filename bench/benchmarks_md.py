"""BENCHMARKS.md's generated section: what lies between its two markers.

Both ``run_all`` (after a run) and ``report`` (re-rendering the last run) rewrite it.
"""

from pathlib import Path

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def rewrite(path: Path, section: str) -> None:
    """Replace what is between the markers; without markers, put the section after the title."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{section.rstrip()}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        title, _, body = text.partition("\n")
        text = f"{title}\n\n{block}\n{body}"
    path.write_text(text)
