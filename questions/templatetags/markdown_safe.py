from django import template
from django.utils.safestring import SafeString, mark_safe

from questions.rendering import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    """``{{ question.stem|markdown }}``: Markdown rendered and sanitised."""
    return mark_safe(render_markdown(text))  # noqa: S308 - output of the nh3 sanitiser


@register.filter(name="safe_url")
def safe_url(url: str) -> str:
    """The URL if it is http(s), else an empty string: no javascript: or data: links."""
    value = str(url or "").strip()
    return value if value.lower().startswith(("https://", "http://")) else ""
