"""The methodology text as messages to translate: the paragraphs of a module's docstring.

The methodology page (``/about``) shows the docstring of ``iatiportal.store.money``, the text
the code documents, so that one source says how each figure is computed. Each of its
paragraphs is a message of the catalogs: ``extract_methodology`` is a Babel extractor
(``babel.cfg`` maps ``store/money.py`` to it) that yields the paragraphs exactly as the page
asks gettext for them (``paragraphs``), so changing the docstring changes the template of
messages, and the catalog tests fail until the catalogs are updated and translated.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from typing import IO, Any

from babel.messages.extract import extract_python

TRANSLATOR_COMMENT = (
    "A paragraph of the methodology page (/about), from the docstring of "
    "iatiportal/store/money.py. Keep its markup: the heading at the start between two "
    "asterisks, with its full stop (**Heading.** ), words between two asterisks (**…**), and "
    "every ``code`` span exactly as it is, between double backquotes (element names, "
    "attributes, codes, commands stay in English). Use the IATI Standard's terms of your "
    "language (budget, expenditure, disbursement, parent and child activity)."
)


def paragraphs(doc: str | None) -> list[str]:
    """The methodology of ``doc``: its paragraphs (blank-line separated, whitespace made
    single spaces) from the first that opens with a ``**heading.**`` on; the summary line
    and the note before them are for the code's readers."""
    blocks = [" ".join(block.split()) for block in (doc or "").split("\n\n")]
    blocks = [block for block in blocks if block]
    first = next((i for i, block in enumerate(blocks) if block.startswith("**")), len(blocks))
    return blocks[first:]


def extract_methodology(
    fileobj: IO[bytes],
    keywords: Any,  # Babel passes the names of the gettext functions (a view of its keywords)
    comment_tags: Collection[str],
    options: Any,
) -> Iterator[tuple[Any, ...]]:
    """Babel extractor: the messages of the Python file (as Babel's ``python`` method finds
    them), then each paragraph of the methodology in its module docstring."""
    # (lineno, function name, message, comments) as extract_python yields them.
    yield from extract_python(fileobj, keywords, comment_tags, options)
    fileobj.seek(0)
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    tree = ast.parse(source)
    doc = ast.get_docstring(tree, clean=False)
    if not doc:
        return
    for paragraph in paragraphs(doc):
        yield tree.body[0].lineno, None, paragraph, [TRANSLATOR_COMMENT]
