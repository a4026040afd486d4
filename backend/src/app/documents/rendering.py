"""Markdown → HTML preview that is safe to insert into the client's page.

Documents are written by language models and by users, so their Markdown is untrusted: it may
carry raw HTML, which the parser passes through untouched. Safety therefore comes from one place
only, the allowlist sanitiser (``nh3``, a binding of the Rust crate ammonia) that every rendered
document goes through. It parses the HTML as a browser would, so entity-encoded, mixed-case or
whitespace-padded ``javascript:`` URLs are decoded before they are checked.

Any member can write a document of half a million characters, so every pass here is linear in
it: the parser is GitHub's cmark-gfm (C, linear by design, releasing the GIL), and each pattern
below keeps its variable parts free of ``<``. The sanitiser is the one part that is not linear:
its time grows with the square of the element nesting depth, so a document nested deeper than
``MAX_NESTING`` is refused before it reaches the sanitiser.
"""

import html as html_entities
import re
import unicodedata

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

from app.documents.exceptions import DocumentTooComplexError

_ALLOWED_TAGS = frozenset(
    {
        *("h1", "h2", "h3", "h4", "h5", "h6"),
        *("p", "br", "hr", "blockquote"),
        *("ul", "ol", "li"),
        *("table", "thead", "tbody", "tr", "th", "td"),
        *("pre", "code"),
        "a",
        *("em", "strong", "del"),
    }
)

_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    **{heading: {"id"} for heading in ("h1", "h2", "h3", "h4", "h5", "h6")},
    "a": {"href", "title"},
    "th": {"align"},
    "td": {"align"},
    "pre": {"class"},
    "code": {"class"},
}

# Removed together with their content: their text is never meant to be read (scripts, styles)
# or belongs to an embedded document or widget that the preview does not show.
_DROPPED_WITH_CONTENT = frozenset(
    {
        *("script", "style", "template", "noscript", "title"),
        *("iframe", "frame", "frameset", "object", "embed", "applet"),
        *("svg", "math", "textarea", "select"),
    }
)

_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# Heading ids carry a prefix with a hyphen: no id can then name a DOM global (``location``,
# ``forms``) or a property a client script reads (DOM clobbering). Fragment links get the same
# prefix, so ``[top](#goals)`` still reaches the heading ``Goals``.
HEADING_ID_PREFIX = "h-"
_ALIGNMENTS = frozenset({"left", "right", "center"})
_CODE_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")

# cmark writes a Markdown image exactly like this (attribute values escaped, so without "<");
# excluding "<" from every variable part keeps the pattern linear.
_MARKDOWN_IMAGE = re.compile(r'<img src="[^"<]*" alt="(?P<alt>[^"<]*)"(?: title="[^"<]*")? />')

# cmark escapes a code block's text, so it holds no "<" and its own closing tags end it.
_MERMAID_BLOCK = re.compile(r'<pre><code class="language-mermaid">(?P<source>[^<]*)</code></pre>')

# A heading as cmark writes it (raw HTML headings carry attributes and are not matched), whole.
# Its text runs up to its own closing tag and may not cross another heading's opening, so a
# failed match stops at the next heading; the possessive parts never backtrack. ``split`` then
# hands back text, level and inner HTML in turn, without a match object per heading.
_WHOLE_HEADING = re.compile(r"<h([1-6])>((?:[^<]++|<(?!h[1-6]>|/h\1>))*+)</h\1>")
# Slugs are made for all headings of a document at once, joined by NUL: cmark writes none (it
# replaces NUL with U+FFFD), no tag, entity or normalisation crosses it, and no slug keeps it.
_HEADING_JOINT = "\x00"
_TAG_IN_HEADING = re.compile(r"<[^>\x00]*>")
_NOT_SLUG = re.compile(r"[^\w\s\x00-]")
_SLUG_GAPS = re.compile(r"[-\s]+")

# Deeper than any document a person writes (a browser's parser stops nesting at 512), and
# shallow enough that the sanitiser's quadratic cost stays in milliseconds.
MAX_NESTING = 256
# No "<" inside a tag: an unclosed "<a" must not make every later "<a" scan to the end.
_VOID_TAGS = (
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
)
# The edge of every element but a void one (which never nests): its one group is "/" when it
# closes. One group, so ``findall`` hands back plain strings, with no match objects to build.
_NESTING_TAG_EDGE = re.compile(
    rf"<(/?)(?!(?:{'|'.join(_VOID_TAGS)})(?![A-Za-z0-9]))[A-Za-z][A-Za-z0-9]*[^<>]*>",
    re.IGNORECASE,
)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Narrow the allowlisted attributes to the values the preview produces itself."""
    if attribute == "class":
        if tag == "pre":
            return value if value == "mermaid" else None
        return value if _CODE_LANGUAGE_CLASS.fullmatch(value) else None
    if attribute == "align":
        return value if value in _ALIGNMENTS else None
    if attribute == "id":
        # Only the ids the renderer made; an id written as raw HTML without the prefix goes.
        return value if value.startswith(HEADING_ID_PREFIX) else None
    if tag == "a" and attribute == "href":
        target = value.strip()
        if target.startswith("#") and not target.startswith(f"#{HEADING_ID_PREFIX}"):
            return f"#{HEADING_ID_PREFIX}{target[1:]}"
    return value


# The sanitiser keeps no per-document state, so one instance is shared by all worker threads.
_SANITISER = nh3.Cleaner(
    tags=set(_ALLOWED_TAGS),
    clean_content_tags=set(_DROPPED_WITH_CONTENT),
    attributes=_ALLOWED_ATTRIBUTES,
    attribute_filter=_filter_attribute,
    strip_comments=True,
    link_rel="noopener noreferrer",
    url_schemes=set(_LINK_SCHEMES),
)


def _slugs(headings_html: list[str]) -> list[str]:
    """Readable in any script: word characters of every language stay, the rest goes.

    One pass over all headings joined, so half a million characters of headings cost a few
    passes in C rather than a Python call per heading."""
    if not headings_html:
        return []
    text = html_entities.unescape(_TAG_IN_HEADING.sub("", _HEADING_JOINT.join(headings_html)))
    text = _NOT_SLUG.sub("", unicodedata.normalize("NFKC", text)).lower()
    stripped = _HEADING_JOINT.join(slug.strip() for slug in text.split(_HEADING_JOINT))
    return _SLUG_GAPS.sub("-", stripped).split(_HEADING_JOINT)


class _HeadingIds:
    """``slug``, then ``slug_1``, ``slug_2``…: each base remembers its next number, so a
    document of a thousand equal headings costs a thousand steps, not half a million."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._next: dict[str, int] = {}

    def claim(self, slug: str) -> str:
        number = self._next.get(slug, 0)
        candidate = slug if number == 0 else f"{slug}_{number}"
        while candidate in self._taken:
            number += 1
            candidate = f"{slug}_{number}"
        self._next[slug] = number + 1
        self._taken.add(candidate)
        return candidate


def _with_heading_ids(html: str) -> str:
    """Give each heading an id from its text: ``h-`` and a slug, numbered where it repeats."""
    # [text, level, inner, text, level, inner, …, text]
    parts = _WHOLE_HEADING.split(html)
    levels, inners = parts[1::3], parts[2::3]
    ids = _HeadingIds()
    slugs = [ids.claim(HEADING_ID_PREFIX + slug) for slug in _slugs(inners)]
    pieces = [
        f'{before}<h{level} id="{slug}">{inner}</h{level}>'
        for before, level, slug, inner in zip(parts[0:-1:3], levels, slugs, inners, strict=True)
    ]
    pieces.append(parts[-1])
    return "".join(pieces)


def _refuse_deep_nesting(html: str) -> None:
    # Counted as a browser's parser nests: a "/>" on any element but a void one opens it, and
    # stray closing tags cannot pay in advance for openings to come.
    depth = 0
    for closing in _NESTING_TAG_EDGE.findall(html):
        if closing:
            depth = depth - 1 if depth else 0
            continue
        depth += 1
        if depth > MAX_NESTING:
            raise DocumentTooComplexError(MAX_NESTING)


def _images_as_text(html: str) -> str:
    """An image becomes its alt text: the preview loads nothing, from anywhere.

    External images are tracking pixels and a way out for data a prompt injection put into
    a URL; same-origin ones would make every reader's browser call the API. No image store
    exists, so no image is worth either. Raw ``<img>`` tags are dropped by the sanitiser."""
    return _MARKDOWN_IMAGE.sub(r"\g<alt>", html)


def _markdown_to_html(markdown_text: str) -> str:
    # UNSAFE keeps raw HTML (and section markers) for the sanitiser to judge, as before; tables
    # write their alignment as an attribute, because the sanitiser drops every style attribute.
    html: str = cmarkgfm.markdown_to_html_with_extensions(
        markdown_text, options=Options.CMARK_OPT_UNSAFE, extensions=["table", "strikethrough"]
    )
    return html.rstrip("\n")


def _mermaid_for_client(html: str) -> str:
    """Hand mermaid diagrams to the client as ``<pre class="mermaid">`` with escaped source."""
    return _MERMAID_BLOCK.sub(r'<pre class="mermaid">\g<source></pre>', html)


def render_preview(markdown_text: str) -> str:
    """Render a document's Markdown to sanitised HTML for the preview.

    Tables, heading ids and fenced code are rendered; a ```` ```mermaid ```` block becomes
    ``<pre class="mermaid">`` holding its escaped source, for the client to draw. Nothing that
    can run in a browser survives: no scripts, styles, frames, forms, event handlers, ``style``
    attributes or URLs other than http(s), mailto and relative ones. Nothing loads either:
    images become their alt text. Heading ids start with ``h-``, and so do fragment links.
    Section markers and other HTML comments are removed. A document nested deeper than
    ``MAX_NESTING`` elements raises ``DocumentTooComplexError``.
    """
    html = _markdown_to_html(markdown_text)
    _refuse_deep_nesting(html)
    html = _images_as_text(_mermaid_for_client(_with_heading_ids(html)))
    return _SANITISER.clean(html)
