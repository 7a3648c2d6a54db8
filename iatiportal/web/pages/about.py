"""The methodology page ``/about``: the text of the money module, in the page's language.

Each paragraph of ``iatiportal.store.money``'s docstring is a message of the catalogs
(``iatiportal.i18n_extract``); the translated text keeps the docstring's markup, read here: a
``**heading.**`` at the start, ``**words**`` in bold, ````code```` spans. A paragraph with
no translation in the page's language is shown in English, marked as such.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from iatiportal import i18n
from iatiportal.datasets.context import Context
from iatiportal.i18n import gettext as _
from iatiportal.i18n_extract import paragraphs
from iatiportal.store import money
from iatiportal.web.render import Page

# "**Budget.** From ...": the heading without its full stop (Latin, Arabic or Chinese).
HEADING = re.compile(r"\*\*(?P<heading>[^*]+?)[.。]?\*\*\s*(?P<rest>.*)", re.DOTALL)


def parts(text: str) -> list[dict[str, str]]:
    """``text`` as runs of plain text, ``code`` (between double backquotes) and ``strong``
    (between two asterisks, outside code)."""
    out: list[dict[str, str]] = []
    for i, span in enumerate(text.split("``")):
        if i % 2 == 1:
            out.append({"kind": "code", "text": span})
            continue
        for j, run in enumerate(span.split("**")):
            if run:
                out.append({"kind": "strong" if j % 2 == 1 else "text", "text": run})
    return [part for part in out if part["text"]]


def paragraph(text: str, language: str | None) -> dict[str, Any]:
    """One paragraph of the methodology, translated or not (``language``: its language
    where it is not the page's, else None)."""
    heading = ""
    found = HEADING.fullmatch(text)
    if found and found["rest"]:
        heading, text = found["heading"].strip(), found["rest"]
    return {"heading": heading or None, "parts": parts(text), "lang": language}


def build(conn: Connection, ctx: Context) -> Page:
    methodology = []
    for source in paragraphs(money.__doc__):
        translated = _(source)
        fallback = translated == source and ctx.language != i18n.DEFAULT_LANGUAGE
        methodology.append(paragraph(translated, i18n.DEFAULT_LANGUAGE if fallback else None))
    return Page("about.html", _("About and methodology"), {"methodology": methodology})
