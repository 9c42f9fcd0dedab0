"""Plan views. `json.plan_document` builds the canonical, masked document once; the text and
Markdown renderers read only that document (STYLE rule 2)."""

from reconciler.render.json import dumps, loads, plan_document, plan_from_document, summary
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text

__all__ = [
    "dumps",
    "loads",
    "plan_document",
    "plan_from_document",
    "render_markdown",
    "render_text",
    "summary",
]
