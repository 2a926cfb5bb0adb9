"""``Body (HTML)``: Shopify's product description, cleaned before it comes anywhere near a page.

nh3 (Rust's ammonia) keeps the basic formatting below and drops everything else: scripts
and styles with their content, event attributes (``onclick``), ``javascript:`` links,
iframes, forms. The catalog's description is plain text (the product page escapes it and
keeps line breaks), so the cleaned HTML is then written out as text with its structure:
paragraphs and headings as blank-line separated blocks, ``<br>`` as a line break, list items
as "• " lines.
"""

from __future__ import annotations

from html.parser import HTMLParser

import nh3

KEPT_TAGS = frozenset({
    "p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "h1", "h2", "h3", "h4",
    "h5", "h6", "blockquote", "a", "span", "div", "table", "thead", "tbody", "tr", "td", "th",
})
KEPT_ATTRIBUTES = {"a": {"href", "title"}}
_BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol",
                     "table", "tr"})


def sanitise(html: str) -> str:
    """The basic formatting of ``html``, nothing that runs or restyles the page."""
    return nh3.clean(html, tags=set(KEPT_TAGS), attributes={
        tag: set(names) for tag, names in KEPT_ATTRIBUTES.items()},
        url_schemes={"http", "https", "mailto"}, link_rel="noopener nofollow")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []

    def _end_line(self, blank: bool = False) -> None:
        text = " ".join("".join(self.line).split())
        self.line = []
        if text:
            self.lines.append(text)
        if blank and self.lines and self.lines[-1] != "":
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._end_line()
        elif tag == "li":
            self._end_line()
            self.line.append("• ")
        elif tag in ("td", "th"):
            self.line.append(" ")
        elif tag in _BLOCKS:
            self._end_line(blank=True)

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self._end_line()
        elif tag in _BLOCKS:
            self._end_line(blank=True)

    def handle_data(self, data: str) -> None:
        self.line.append(data)


def as_text(html: str) -> str:
    """The description as the catalog keeps it: sanitised, then plain text by lines."""
    parser = _Text()
    parser.feed(sanitise(html))
    parser.close()
    parser._end_line()
    while parser.lines and parser.lines[-1] == "":
        parser.lines.pop()
    while parser.lines and parser.lines[0] == "":
        parser.lines.pop(0)
    return "\n".join(parser.lines)
