"""The methodology page ``/about``: the text of the money module (in English)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from iatiportal.datasets.context import Context
from iatiportal.i18n import gettext as _
from iatiportal.store import money
from iatiportal.web.render import Page


def build(conn: Connection, ctx: Context) -> Page:
    paragraphs: list[dict[str, Any]] = []
    for block in (money.__doc__ or "").split("\n\n")[1:]:
        text = " ".join(block.split())
        heading, _sep, rest = text.partition(".** ")
        if text.startswith("**") and rest:
            heading, text = heading.removeprefix("**"), rest
        else:
            heading, text = "", text.replace("**", "")
        if text:
            # ``literal`` spans (element names, codes) are shown as code.
            spans = text.split("``")
            parts = [{"code": i % 2 == 1, "text": span} for i, span in enumerate(spans) if span]
            paragraphs.append({"heading": heading or None, "text": "".join(spans), "parts": parts})
    return Page("about.html", _("About and methodology"), {"methodology": paragraphs})
