"""Markdown → HTML preview that is safe to insert into the client's page.

Documents are written by language models and by users, so their Markdown is untrusted: it may
carry raw HTML, and python-markdown passes raw HTML through untouched. Safety therefore comes
from one place only, the allowlist sanitiser (``nh3``, a binding of the Rust crate ammonia) that
every rendered document goes through. It parses the HTML as a browser would, so entity-encoded,
mixed-case or whitespace-padded ``javascript:`` URLs are decoded before they are checked.
"""

import re

import markdown
import nh3
from markdown.extensions.toc import slugify_unicode

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

# python-markdown writes a Markdown image exactly like this (attribute values escaped, so
# without "<"); excluding "<" from every variable part keeps the pattern linear.
_MARKDOWN_IMAGE = re.compile(r'<img alt="(?P<alt>[^"<]*)" src="[^"<]*"(?: title="[^"<]*")? ?/?>')

# fenced_code escapes the block's text, so the first closing tag pair is the block's own end.
_MERMAID_BLOCK = re.compile(
    r'<pre><code class="language-mermaid">(?P<source>.*?)</code></pre>', re.DOTALL
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


def _heading_id(value: str, separator: str) -> str:
    return HEADING_ID_PREFIX + slugify_unicode(value, separator)


def _images_as_text(html: str) -> str:
    """An image becomes its alt text: the preview loads nothing, from anywhere.

    External images are tracking pixels and a way out for data a prompt injection put into
    a URL; same-origin ones would make every reader's browser call the API. No image store
    exists, so no image is worth either. Raw ``<img>`` tags are dropped by the sanitiser."""
    return _MARKDOWN_IMAGE.sub(r"\g<alt>", html)


def _markdown_to_html(markdown_text: str) -> str:
    # A Markdown instance keeps state between conversions, so each call gets its own: calls
    # run concurrently in worker threads.
    converter = markdown.Markdown(
        extensions=["tables", "toc", "fenced_code"],
        extension_configs={
            # Headings in any language get readable ids (the default slugify drops non-ASCII).
            "toc": {"slugify": _heading_id},
            # Alignment as an attribute, because the sanitiser drops every style attribute.
            "tables": {"use_align_attribute": True},
        },
        output_format="html",
    )
    return converter.convert(markdown_text)


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
    Section markers and other HTML comments are removed.
    """
    html = _images_as_text(_mermaid_for_client(_markdown_to_html(markdown_text)))
    return _SANITISER.clean(html)
