"""The data health page ``/-/data-health``: files, problems by rule, refused reference data and,
apart, the unusual reference values shown with a note."""

from __future__ import annotations

from sqlalchemy import Connection

from iatiportal.datasets import Dataset, Field
from iatiportal.datasets.context import Context
from iatiportal.i18n import gettext as _
from iatiportal.ingest import rulesets
from iatiportal.store import queries
from iatiportal.web.pages import table
from iatiportal.web.render import Page

FILES = Dataset(
    "files",
    "The files ingested, with their status.",
    (
        Field("path", "string", "The file's public name."),
        Field("status", "string", "stored, unchanged, failed or removed."),
        Field("kind", "string", "activities or organisations."),
        Field("iati_version", "string", "The IATI version the file declares."),
        Field("activity_count", "integer", "Activities stored from it."),
        Field("ingested_at", "datetime", "When it was last stored."),
        Field("error_rule", "string", "The rule that refused the file, if it failed."),
    ),
)
RULES = Dataset(
    "rules",
    "Problems found in the data, per rule.",
    (
        Field("rule", "string", "The rule's identifier (the IATI Validator's for the rule set's)."),
        Field("severity", "string", "error, warning or notice."),
        Field("problems", "integer", "How many problems."),
        Field("message", "string", "What an IATI Standard rule asks (none for the portal's own)."),
        Field("guidance", "string", "The IATI Standard page the rule refers to."),
    ),
)


def _reference_values(name: str, description: str, verb: str, message: str) -> Dataset:
    """Reference values that a sanity rule refused or noted at load (see ``reference``)."""
    return Dataset(
        name,
        description,
        (
            Field("rule", "string", f"The rule that {verb} the value."),
            Field("country_code", "string", "The country, ISO 3166-1 alpha-2."),
            Field("indicator", "string", "The indicator."),
            Field("year", "integer", "The year of the value."),
            Field("message", "string", message),
        ),
    )


REFUSED = _reference_values(
    "reference_refused", "Reference values refused at load, and why.", "refused",
    "Why it was refused.",
)  # fmt: skip
NOTES = _reference_values(
    "reference_notes", "Reference values unusual but possible: shown on the pages, with a note.",
    "noted", "What is unusual.",
)  # fmt: skip


def build(conn: Connection, ctx: Context) -> Page:
    health = queries.data_health(conn)
    for row in health["rules"]:
        standard_rule = rulesets.RULES.get(row["rule"])
        row["message"] = standard_rule.message if standard_rule else None
        row["guidance"] = standard_rule.link if standard_rule else None
    return Page(
        "data_health.html",
        _("Data health"),
        health,
        [
            table(FILES, health["files"]),
            table(RULES, health["rules"]),
            table(REFUSED, health["reference_refused"]),
            table(NOTES, health["reference_notes"]),
        ],
    )
