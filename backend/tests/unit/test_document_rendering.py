import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.documents.exceptions import DocumentTooComplexError
from app.documents.rendering import MAX_NESTING, _slugs, render_preview

ALLOWED_TAGS = {
    *("h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote", "ul", "ol", "li"),
    *("table", "thead", "tbody", "tr", "th", "td", "pre", "code", "a"),
    *("em", "strong", "del"),
}
ALLOWED_ATTRIBUTES = {
    **{heading: {"id"} for heading in ("h1", "h2", "h3", "h4", "h5", "h6")},
    "a": {"href", "title", "rel"},
    "th": {"align"},
    "td": {"align"},
    "pre": {"class"},
    "code": {"class"},
}
LINK_SCHEMES = {"http", "https", "mailto"}


@dataclass
class Element:
    tag: str
    attributes: dict[str, str | None]


@dataclass
class Parsed:
    elements: list[Element] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    text: str = ""

    def all(self, tag: str) -> list[Element]:
        return [element for element in self.elements if element.tag == tag]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parsed = Parsed()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parsed.elements.append(Element(tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data: str) -> None:
        self.parsed.comments.append(data)

    def handle_data(self, data: str) -> None:
        self.parsed.text += data


def parse(html: str) -> Parsed:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.parsed


def url_scheme(url: str) -> str | None:
    """The scheme a browser would see: it trims C0 controls and spaces, drops tabs/newlines."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip("".join(chr(c) for c in range(0x21))))
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", cleaned)
    return match.group(1).lower() if match else None


def assert_nothing_executable(html: str) -> None:
    parsed = parse(html)
    assert parsed.comments == []
    for element in parsed.elements:
        assert element.tag in ALLOWED_TAGS, element
        for name, value in element.attributes.items():
            assert not name.startswith("on"), element
            assert name in ALLOWED_ATTRIBUTES.get(element.tag, set()), element
            if name == "href":
                assert value is not None
                assert url_scheme(value) in {*LINK_SCHEMES, None}, element
            if name == "id":
                assert value is not None
                assert value.startswith("h-"), element


HOSTILE_DOCUMENTS = {
    "script block": "<script>alert(1)</script>\n\nText",
    "inline script": "Hello <script>alert(1)</script> world",
    "script split by markdown": "<scr<script>ipt>alert(1)</script>",
    "style element": "<style>body { display: none }</style>",
    "style attribute": '<p style="position:fixed;top:0">cover</p>',
    "iframe": '<iframe src="https://evil.example"></iframe>',
    "srcdoc iframe": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "svg onload": "<svg onload=alert(1)><circle r=1 /></svg>",
    "svg script": "<svg><script>alert(1)</script></svg>",
    "img onerror": "<img src=x onerror=alert(1)>",
    "img onerror with good src": '<img src="https://ok.example/a.png" onerror="alert(1)">',
    "a onclick": '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "body onload": "<body onload=alert(1)>",
    "details ontoggle": "<details open ontoggle=alert(1)>",
    "markdown javascript link": "[x](javascript:alert(1))",
    "mixed case scheme": "[x](jAvAsCrIpT:alert(1))",
    "entity encoded scheme": '<a href="&#106;avascript:alert(1)">x</a>',
    "hex entity scheme": '<a href="&#x6A;&#x61;vascript:alert(1)">x</a>',
    "encoded colon": '<a href="javascript&colon;alert(1)">x</a>',
    "decimal colon": '<a href="javascript&#58;alert(1)">x</a>',
    "whitespace prefixed": '<a href="  javascript:alert(1)">x</a>',
    "control prefixed": '<a href="&#x01;javascript:alert(1)">x</a>',
    "tab inside scheme": '<a href="java&#x09;script:alert(1)">x</a>',
    "newline inside scheme": '<a href="java\nscript:alert(1)">x</a>',
    "markdown reference link": "[x][evil]\n\n[evil]: javascript:alert(1)",
    "autolink": "<javascript:alert(1)>",
    "vbscript": '<a href="vbscript:msgbox(1)">x</a>',
    "data link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "data image": '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
    "markdown javascript image": "![x](javascript:alert(1))",
    "markdown data image": "![x](data:image/png;base64,AAAA)",
    "relative image": '<img src="/api/v1/auth/logout">',
    "srcset": '<img src="https://ok.example/a.png" srcset="javascript:alert(1) 1x">',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base href": '<base href="javascript:alert(1)//">',
    "form": '<form action="https://evil.example"><input name="password"><button>Go</button></form>',
    "formaction": '<button formaction="javascript:alert(1)">x</button>',
    "object": '<object data="https://evil.example/x.swf"></object>',
    "embed": '<embed src="https://evil.example/x.swf">',
    "link stylesheet": '<link rel="stylesheet" href="https://evil.example/x.css">',
    "math xlink": '<math><a xlink:href="javascript:alert(1)">x</a></math>',
    "template": "<template><img src=x onerror=alert(1)></template>",
    "noscript mutation": '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "comment hiding script": "<!--><script>alert(1)</script>-->",
    "html in a table cell": "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    "mermaid breaking out": "```mermaid\n</pre><script>alert(1)</script>\n```",
    "fake mermaid block in raw html": (
        '<pre><code class="language-mermaid"></code></pre><img src=x onerror=alert(1)>'
    ),
    "class and id injection": '<pre class="x"><code class="a b onload">c</code></pre>',
    "unclosed attribute": '<a href="https://ok.example" title="x onmouseover=alert(1) >y</a>',
}


@pytest.mark.parametrize("document", HOSTILE_DOCUMENTS.values(), ids=HOSTILE_DOCUMENTS.keys())
def test_a_hostile_document_renders_nothing_executable(document: str) -> None:
    assert_nothing_executable(render_preview(document))


def test_hostile_payloads_together_do_not_survive_as_markup() -> None:
    # One payload's unclosed raw HTML changes how Markdown reads the next ones; whatever is
    # left as text must stay text.
    html = render_preview("\n\n".join(HOSTILE_DOCUMENTS.values()))
    assert_nothing_executable(html)
    lowered = html.lower()
    for marker in ("<script", "<style", "<iframe", "<svg", "<form", "<object", "<embed", "<meta"):
        assert marker not in lowered


def test_a_scripts_content_is_dropped_not_shown_as_text() -> None:
    assert "alert" not in parse(render_preview("<script>alert(1)</script>Hello")).text


def test_a_table_renders_with_its_header_cells_and_alignment() -> None:
    html = render_preview("| Metric | Target |\n|:-------|-------:|\n| DAU | 1 000 |\n")
    parsed = parse(html)
    assert [cell.attributes for cell in parsed.all("th")] == [{"align": "left"}, {"align": "right"}]
    assert [cell.attributes for cell in parsed.all("td")] == [{"align": "left"}, {"align": "right"}]
    assert '<th align="left">Metric</th>' in html
    assert '<td align="right">1 000</td>' in html


def test_headings_get_ids_in_any_script() -> None:
    html = render_preview("# Goals and KPIs\n\n## Цели и метрики\n\n## Цели и метрики\n")
    assert [h.attributes["id"] for h in parse(html).elements if h.tag in {"h1", "h2"}] == [
        "h-goals-and-kpis",
        "h-цели-и-метрики",
        "h-цели-и-метрики_1",
    ]


def test_fenced_code_is_escaped_and_labelled_with_its_language() -> None:
    html = render_preview('```python\nprint("<b>&")\n```\n')
    assert '<pre><code class="language-python">print("&lt;b&gt;&amp;")\n</code></pre>' in html


def test_a_mermaid_block_is_kept_as_escaped_source_for_the_client() -> None:
    html = render_preview("```mermaid\ngraph TD;\n    A-->B\n```\n")
    assert html == '<pre class="mermaid">graph TD;\n    A--&gt;B\n</pre>'


def test_only_the_preview_own_classes_survive() -> None:
    html = render_preview('<pre class="mermaid x"><code class="language-js evil">1</code></pre>')
    assert parse(html).elements == [Element("pre", {}), Element("code", {})]


def test_links_keep_safe_urls_and_get_rel_noopener() -> None:
    html = render_preview(
        '[site](https://example.com/a?b=1 "Site") [mail](mailto:team@example.com) '
        "[doc](../architecture.md) [top](#goals)"
    )
    links = parse(html).all("a")
    assert [link.attributes.get("href") for link in links] == [
        "https://example.com/a?b=1",
        "mailto:team@example.com",
        "../architecture.md",
        "#h-goals",
    ]
    assert all(link.attributes["rel"] == "noopener noreferrer" for link in links)
    assert links[0].attributes["title"] == "Site"


def test_images_become_their_alt_text_and_load_nothing() -> None:
    html = render_preview(
        '![Schema](https://example.com/s.png "Схема") ![local](img/s.png) '
        '<img src="https://tracker.example/p.gif"> <img src="/api/v1/auth/logout">'
    )
    parsed = parse(html)
    assert parsed.all("img") == []
    assert parsed.text.split() == ["Schema", "local"]
    assert "example.com" not in html
    assert "tracker" not in html


def test_author_chosen_heading_ids_cannot_name_dom_globals() -> None:
    html = render_preview('<h2 id="location">a</h2>\n\n<h2 id="forms">b</h2>\n\n# forms\n')
    ids = [element.attributes.get("id") for element in parse(html).elements]
    assert ids == [None, None, "h-forms"]


def test_fragment_links_follow_the_heading_id_prefix() -> None:
    html = render_preview("# Goals\n\n[top](#goals) [same](#h-goals) [out](https://x.example/#a)")
    parsed = parse(html)
    assert parsed.all("h1")[0].attributes["id"] == "h-goals"
    hrefs = [link.attributes["href"] for link in parsed.all("a")]
    assert hrefs == ["#h-goals", "#h-goals", "https://x.example/#a"]


def test_section_markers_and_comments_are_not_in_the_output() -> None:
    html = render_preview("## Problem\n<!-- section:problem -->\n\nText <!-- note --> here.\n")
    assert "<!--" not in html
    assert "section:" not in html
    assert parse(html).text.split() == ["Problem", "Text", "here."]


def test_cyrillic_text_round_trips() -> None:
    text = "Сервис превращает «сырую» идею в пакет документов — быстро и понятно."
    html = render_preview(f"## Идея\n\n{text}\n\n- пункт **важный**\n")
    assert f"<p>{text}</p>" in html
    assert "<li>пункт <strong>важный</strong></li>" in html


def test_emphasis_quotes_and_rules_render() -> None:
    html = render_preview("*a* **b** <del>c</del>\n\n> quote\n\n---\n\nline  \nbreak")
    tags = [element.tag for element in parse(html).elements]
    assert tags == ["p", "em", "strong", "del", "blockquote", "p", "hr", "p", "br"]


def test_an_empty_document_renders_empty() -> None:
    assert render_preview("") == ""


_HALF_A_MILLION = 500_000
_TOO_DEEP = {
    "quotes": ">" * _HALF_A_MILLION,
    "lists": "".join("  " * depth + "- a\n" for depth in range(700)),
    "raw divs": "<div>" * (_HALF_A_MILLION // 5),
    "self-closed divs": "<div/>" * (_HALF_A_MILLION // 6),
    "stray closings first": "</b>" * 40_000 + "<div>" * 40_000,
}


@pytest.mark.parametrize("document", list(_TOO_DEEP.values()), ids=list(_TOO_DEEP))
def test_a_document_nested_past_the_limit_is_refused_quickly(document: str) -> None:
    started = time.perf_counter()
    with pytest.raises(DocumentTooComplexError) as refused:
        render_preview(document)
    assert time.perf_counter() - started <= 2.0
    assert refused.value.code == "document_too_complex"
    assert refused.value.details == {"max_nesting": MAX_NESTING}


def test_nesting_up_to_the_limit_still_renders() -> None:
    quotes = render_preview("> " * 100 + "deep")
    assert quotes.count("<blockquote>") == 100
    assert "deep" in quotes


def test_equal_headings_are_numbered_in_order() -> None:
    html = render_preview("# Plan\n\n# Plan\n\n# Plan\n\n# Plan_1\n")
    assert re.findall(r'id="([^"]+)"', html) == ["h-plan", "h-plan_1", "h-plan_2", "h-plan_1_1"]


# Text of the kinds a heading's inner HTML carries: entities (whole, cut short, or legacy ones
# without a semicolon), inline tags (closed and not), Greek sigma, combining marks, spaces.
_HEADING_PIECES = st.sampled_from(
    [
        "a",
        "Ж",
        "Σ",
        "ς",
        "e\u0301",
        "ﬁ",
        "①",
        "_1",
        "-",
        " ",
        "\t",
        "&amp;",
        "&amp",
        "&not",
        "it",
        "&#12",
        ";",
        "&",
        "<em>",
        "</em>",
        "<b",
        ">",
        "`",
        "'",
    ]
)
_HEADING_INNER = st.lists(_HEADING_PIECES, max_size=12).map("".join)


@given(st.lists(_HEADING_INNER, max_size=8))
def test_slugs_made_together_equal_slugs_made_one_by_one(headings: list[str]) -> None:
    # The renderer slugs a document's headings in one joined pass; nothing may leak between
    # neighbours through the joint.
    assert _slugs(headings) == [slug for heading in headings for slug in _slugs([heading])]


def test_a_heading_slug_keeps_words_of_any_script_and_drops_markup() -> None:
    assert _slugs(["Goals &amp; <em>KPIs</em>", "  Цели  и  ΟΔΟΣ ", "-a-", ""]) == [
        "goals-kpis",
        "цели-и-οδος",
        "-a-",
        "",
    ]
