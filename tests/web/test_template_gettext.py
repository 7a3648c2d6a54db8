"""Templates' ``_()`` (web.app.template_gettext): Jinja's newstyle gettext without its
wrappers, its answers kept per language (issue 14). Kept answers must follow the page's
language, and a message is still a format string, escaped as Jinja escapes it."""

from __future__ import annotations

import pytest

from iatiportal import i18n
from iatiportal.web.app import _environment


def render(source: str, language: str, **values: object) -> str:
    token = i18n.current_language.set(language)
    try:
        # A template from a string is autoescaped, as every page.
        env = _environment()
        return env.from_string(source).render(**values)
    finally:
        i18n.current_language.reset(token)


def test_kept_answers_follow_the_page_language() -> None:
    source = "{{ _('Year') }}"
    assert [render(source, lang) for lang in ("fr", "ar", "en", "fr", "en")] == [
        "Année",
        "السنة",
        "Year",
        "Année",
        "Year",
    ]


def test_messages_stay_format_strings_with_and_without_values() -> None:
    showing = "{{ _('Showing %(first)s – %(last)s of %(total)s', first=1, last=10, total=11) }}"
    assert render(showing, "fr") == "Affichage de 1 à 10 sur 11"
    assert render(showing, "en") == "Showing 1 – 10 of 11"
    # Without values a message is formatted too: "%%" is one "%", as Jinja's newstyle does.
    assert render("{{ _('100 %%') }}", "en") == "100 %"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_values_are_escaped_the_message_is_not(language: str) -> None:
    source = "{{ _('Showing %(first)s – %(last)s of %(total)s', first=x, last=2, total=3) }}"
    out = render(source, language, x="<b>")
    assert "&lt;b&gt;" in out
    assert "<b>" not in out
