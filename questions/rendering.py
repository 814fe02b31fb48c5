"""Markdown to safe HTML: the one sanitiser every page uses.

Authored and imported text is stored as written and cleaned here, at render
time, so a bad import or a malicious author never reaches a browser: no
scripts, no event-handler attributes, no inline styles, and only http(s) and
mailto links.
"""

from __future__ import annotations

import functools
import threading

import markdown
import nh3

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h3", "h4", "h5", "table", "thead", "tbody", "tr", "th", "td",
    "sub", "sup", "kbd", "del",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


_converters = threading.local()  # a Markdown converter is not thread-safe: one per thread


def _converter() -> markdown.Markdown:
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = _converters.markdown = markdown.Markdown(
            extensions=["fenced_code", "tables", "sane_lists"]
        )
    return converter


@functools.lru_cache(maxsize=8192)
def render_markdown(text: str) -> str:
    """Render Markdown and sanitise the result. Raw HTML in the source is cleaned too.

    A pure function of the text, so it is memoised per process: a question page
    renders the same stems and options again and again. 8,192 entries hold a bank
    of several hundred questions (stem, options, rationales, explanation) in a few
    MB. On a miss the thread's converter is reset and reused: building a new one
    (loading its extensions) was half of each conversion's cost.
    """
    html = _converter().reset().convert(text or "")
    return sanitize_html(html)
