"""The one schema definition (SQLAlchemy Core) for SQLite and PostgreSQL.

Tables are named after IATI elements and columns after IATI attributes and codes. Every table
below ``activity`` carries ``activity_id`` so that a file's activities are replaced with one
delete per table. Narratives of every element, in every language, live in ``narrative``.
Alembic migrations in ``store/migrations`` must agree with this file (a test runs
``alembic check``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from iatiportal.store.exact import exact_to_int, int_to_exact

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Exact(TypeDecorator[Decimal]):
    """Money and percentages, exact to 1/10,000 on both databases.

    PostgreSQL stores NUMERIC(24, 4). SQLite has no exact decimal type, so the value is
    stored as an integer count of 1/10,000 units; ``SUM`` of the column keeps this type in
    SQLAlchemy, so sums come back as exact Decimals too (correct to the cent).
    """

    impl = Numeric(24, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(24, 4, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return exact_to_int(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            # Same scale as PostgreSQL's NUMERIC(24, 4), so both print alike.
            return int_to_exact(int(value))
        return Decimal(value)


class SearchVector(TypeDecorator[str]):
    """PostgreSQL's ``tsvector`` of a search text row (``search_text.vector``); on SQLite a
    TEXT column left NULL, as FTS5's ``search_fts`` is the index there (``store.search``)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            # Imported here: a SQLite store's commands never load the PostgreSQL dialect.
            from sqlalchemy.dialects.postgresql import TSVECTOR  # noqa: PLC0415

            return dialect.type_descriptor(TSVECTOR())
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        # SQLite holds none: the snapshot's SQLite copy of a PostgreSQL store, written row by
        # row through this table, would otherwise take every vector along as text.
        return value if dialect.name == "postgresql" else None


def _code(name: str, **kw: Any) -> Column[Any]:
    # No length limit: real files put whole phrases where codes belong (a policy-marker code
    # "ENVIRONMENTALLY SUSTAINABLE GROWTH"), and that must not fail a file on PostgreSQL.
    return Column(name, String(), **kw)


def _activity_fk() -> Column[Any]:
    return Column(
        "activity_id",
        Integer,
        ForeignKey("activity.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def _money_columns() -> list[Column[Any]]:
    return [
        Column("value", Exact()),
        _code("currency"),
        Column("value_date", Date),
    ]


def _org_columns(prefix: str) -> list[Column[Any]]:
    return [
        _code(f"{prefix}_ref"),
        _code(f"{prefix}_type"),
        _code(f"{prefix}_activity_id"),
    ]


source_file = Table(
    "source_file",
    metadata,
    Column("id", Integer, primary_key=True),
    # The public name: a redacted URL or a path below the folder the operator named (never an
    # absolute path); which file it is, is the digest of its private location (migration 0008).
    Column("path", Text, nullable=False),
    Column("location_key", String(), nullable=False, unique=True),
    Column("sha256", String()),
    Column("size_bytes", BigInteger),
    # The local file's modification time when it was last read (NULL for a URL): with the same
    # size, the file is taken as unchanged without hashing it (migration 0025; --force reads).
    Column("mtime_ns", BigInteger),
    _code("kind"),  # activities | organisations
    _code("iati_version"),
    _code("generated_datetime"),
    _code("status", nullable=False),  # ok | failed
    Column("activity_count", Integer, nullable=False, default=0),
    Column("organisation_count", Integer, nullable=False, default=0),
    Column("ingested_at", DateTime),  # when this content was last stored
    Column("checked_at", DateTime),  # when the file was last read or found unchanged
    _code("error_rule"),
    Column("error_message", Text),
)

activity = Table(
    "activity",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_file_id", Integer, ForeignKey("source_file.id"), nullable=False, index=True),
    Column("iati_identifier", String(), nullable=False, index=True),
    Column("is_current", Boolean, nullable=False, default=True),
    Column("source_line", Integer),
    _code("iati_version"),
    _code("default_lang"),
    _code("default_currency"),
    Column("hierarchy", Integer),
    Column("humanitarian", Boolean),
    Column("last_updated_datetime", DateTime),
    Column("linked_data_uri", Text),
    _code("reporting_org_ref", index=True),
    _code("reporting_org_type"),
    Column("secondary_reporter", Boolean),
    _code("activity_status"),
    _code("activity_scope"),
    _code("collaboration_type"),
    _code("default_flow_type"),
    _code("default_finance_type"),
    _code("default_aid_type"),
    _code("default_tied_status"),
    Column("start_planned", Date),
    Column("start_actual", Date),
    Column("end_planned", Date),
    Column("end_actual", Date),
    Column("schema_valid", Boolean),
    Index("ix_activity_current_identifier", "is_current", "iati_identifier"),
)

activity_xml = Table(
    "activity_xml",
    metadata,
    Column("activity_id", Integer, ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True),
    Column("raw_xml", LargeBinary, nullable=False),
)

narrative = Table(
    "narrative",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("activity_id", Integer, ForeignKey("activity.id", ondelete="CASCADE")),
    Column(
        "organisation_id", Integer, ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    ),
    _code("element", nullable=False),  # e.g. title, result/title, transaction/description
    Column("owner_id", Integer),  # row id in the element's table; NULL for the activity itself
    _code("lang"),
    Column("text", Text, nullable=False),
    Index("ix_narrative_owner", "element", "owner_id"),
    # The titles of a page of activities (activity_id IN (...) AND element = 'title'); also
    # every lookup by activity alone.
    Index("ix_narrative_activity_element", "activity_id", "element"),
)

description = Table(
    "description",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("description_type"),
)

activity_date = Table(
    "activity_date",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("activity_date_type", nullable=False),
    Column("iso_date", Date),
)

participating_org = Table(
    "participating_org",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("role"),
    _code("ref", index=True),
    _code("type"),
    # Indexed: the funding links of a changed activity (store.chains, incremental).
    _code("org_activity_id", index=True),
    _code("crs_channel_code"),
)

recipient_country = Table(
    "recipient_country",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("recipient_country_code", nullable=False, index=True),
    Column("percentage", Exact()),
)

recipient_region = Table(
    "recipient_region",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("recipient_region_code", nullable=False),
    _code("vocabulary", nullable=False),
    Column("percentage", Exact()),
)

sector = Table(
    "sector",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("sector_code", nullable=False),
    _code("vocabulary", nullable=False),
    Column("vocabulary_uri", Text),
    Column("percentage", Exact()),
    Index("ix_sector_vocabulary_code", "vocabulary", "sector_code"),
)

tag = Table(
    "tag",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("tag_code", nullable=False),
    _code("vocabulary"),
    Column("vocabulary_uri", Text),
)

policy_marker = Table(
    "policy_marker",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("policy_marker_code", nullable=False),
    _code("vocabulary", nullable=False),
    _code("significance"),
)

location = Table(
    "location",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("ref"),
    _code("location_reach"),
    _code("location_id_vocabulary"),
    _code("location_id_code"),
    Column("latitude", Float),
    Column("longitude", Float),
    _code("exactness"),
    _code("location_class"),
    _code("feature_designation"),
)

budget = Table(
    "budget",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("budget_type"),
    _code("budget_status"),
    Column("period_start", Date),
    Column("period_end", Date),
    *_money_columns(),
)

planned_disbursement = Table(
    "planned_disbursement",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("planned_disbursement_type"),
    Column("period_start", Date),
    Column("period_end", Date),
    *_money_columns(),
    *_org_columns("provider_org"),
    *_org_columns("receiver_org"),
)

transaction = Table(
    "transaction",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("transaction_ref"),
    Column("humanitarian", Boolean),
    _code("transaction_type"),
    Column("transaction_date", Date),
    *_money_columns(),
    *_org_columns("provider_org"),
    *_org_columns("receiver_org"),
    _code("disbursement_channel"),
    _code("sector_code"),
    _code("sector_vocabulary"),
    _code("recipient_country_code"),
    _code("recipient_region_code"),
    _code("recipient_region_vocabulary"),
    _code("flow_type"),
    _code("finance_type"),
    _code("aid_type"),
    _code("tied_status"),
    Index("ix_transaction_type_date", "transaction_type", "transaction_date"),
    # The activities a transaction links to: the disbursements to a changed activity join an
    # incremental refresh (facts.scope), and its funding links are made again (store.chains).
    Index("ix_transaction_provider_org_activity_id", "provider_org_activity_id"),
    Index("ix_transaction_receiver_org_activity_id", "receiver_org_activity_id"),
    # A funding partner's activities (store.filters, the partner filter: its incoming funds):
    # without it every incoming transaction of the store was read for each partner's page.
    # Only the transactions that name a provider are in it.
    Index(
        "ix_transaction_provider_org_ref",
        "provider_org_ref",
        "transaction_type",
        sqlite_where=text("provider_org_ref IS NOT NULL"),
        postgresql_where=text("provider_org_ref IS NOT NULL"),
    ),
)

result = Table(
    "result",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("result_type"),
    Column("aggregation_status", Boolean),
)

result_reference = Table(
    "result_reference",
    metadata,
    # IATI 2.03 result/reference: a code of the result in a vocabulary (ResultVocabulary; 99:
    # the reporting organisation's own). A profile's [results] activity_vocabulary reads such a
    # code as the identifier of the activity that carries the result's money.
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    Column(
        "result_id",
        Integer,
        ForeignKey("result.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _code("vocabulary"),
    _code("code"),
    Column("vocabulary_uri", Text),
)

indicator = Table(
    "indicator",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    Column(
        "result_id",
        Integer,
        ForeignKey("result.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _code("measure"),
    Column("ascending", Boolean),
    Column("aggregation_status", Boolean),
)

indicator_reference = Table(
    "indicator_reference",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    Column(
        "indicator_id",
        Integer,
        ForeignKey("indicator.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _code("vocabulary"),
    _code("code"),
)

baseline = Table(
    "baseline",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    Column(
        "indicator_id",
        Integer,
        ForeignKey("indicator.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("year", Integer),
    Column("iso_date", Date),
    Column("value", Text),
)

indicator_period = Table(
    "indicator_period",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    Column(
        "indicator_id",
        Integer,
        ForeignKey("indicator.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("period_start", Date),
    Column("period_end", Date),
)


def _period_value(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        _activity_fk(),
        Column(
            "period_id",
            Integer,
            ForeignKey("indicator_period.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        Column("value", Text),
    )


target = _period_value("target")
actual = _period_value("actual")

document_link = Table(
    "document_link",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    Column("url", Text),
    _code("format"),
    Column("document_date", Date),
)

document_link_category = Table(
    "document_link_category",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    Column(
        "document_link_id",
        Integer,
        ForeignKey("document_link.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _code("category_code", nullable=False),
)

document_link_language = Table(
    "document_link_language",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    Column(
        "document_link_id",
        Integer,
        ForeignKey("document_link.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _code("language_code", nullable=False),
)

related_activity = Table(
    "related_activity",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("ref", nullable=False, index=True),
    _code("related_activity_type"),
)

humanitarian_scope = Table(
    "humanitarian_scope",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("humanitarian_scope_type"),
    _code("vocabulary"),
    Column("vocabulary_uri", Text),
    _code("code"),
)

other_identifier = Table(
    "other_identifier",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("ref"),
    _code("other_identifier_type"),
    _code("owner_org_ref"),
)

country_budget_item = Table(
    "country_budget_item",
    metadata,
    Column("id", Integer, primary_key=True),
    _activity_fk(),
    _code("vocabulary"),
    _code("budget_item_code"),
    Column("percentage", Exact()),
)

organisation = Table(
    "organisation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_file_id", Integer, ForeignKey("source_file.id"), nullable=False, index=True),
    Column("organisation_identifier", String(), nullable=False, index=True),
    Column("is_current", Boolean, nullable=False, default=True),
    Column("source_line", Integer),
    _code("iati_version"),
    _code("default_currency"),
    _code("default_lang"),
    Column("last_updated_datetime", DateTime),
    _code("reporting_org_ref"),
    _code("reporting_org_type"),
    Column("schema_valid", Boolean),
    Column("raw_xml", LargeBinary, nullable=False),
)

organisation_budget = Table(
    "organisation_budget",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "organisation_id",
        Integer,
        ForeignKey("organisation.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # total-budget | recipient-org-budget | recipient-country-budget |
    # recipient-region-budget | total-expenditure
    _code("element", nullable=False),
    _code("budget_status"),
    Column("period_start", Date),
    Column("period_end", Date),
    *_money_columns(),
    _code("recipient_ref"),
    _code("recipient_vocabulary"),
)

problem = Table(
    "problem",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_file_id", Integer, ForeignKey("source_file.id"), index=True),
    Column("file_path", Text, nullable=False),
    Column("line", Integer),
    Column("iati_identifier", String()),
    _code("severity", nullable=False),  # error | warning | info
    _code("rule", nullable=False),
    Column("message", Text, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    # An activity's problems, by line (migration 0028); also any lookup by identifier.
    Index("ix_problem_activity", "iati_identifier", "source_file_id", "line"),
)

ACTIVITY_CHILD_TABLES: tuple[Table, ...] = (
    narrative,
    description,
    activity_date,
    participating_org,
    recipient_country,
    recipient_region,
    sector,
    tag,
    policy_marker,
    location,
    budget,
    planned_disbursement,
    transaction,
    actual,
    target,
    indicator_period,
    baseline,
    indicator_reference,
    indicator,
    result_reference,
    result,
    document_link_category,
    document_link_language,
    document_link,
    related_activity,
    humanitarian_scope,
    other_identifier,
    country_budget_item,
    activity_xml,
)
"""Tables holding rows of an activity, children before parents (the order of deletes)."""


# -- Money facts: derived tables, rebuilt by iatiportal.store.facts.refresh after each ingest --
# They hold no foreign keys: they are emptied and refilled as a whole, and a file's ingest
# deletes activities before the refresh that follows it. See iatiportal/store/money.py for the
# rules that make them.


def _fact_columns(*, per_activity: bool, orgs: bool = True) -> list[Column[Any]]:
    """The dimensions every money fact carries (``orgs`` False: without the provider and
    receiver organisations, for the money summaries)."""
    activity = [Column("activity_id", Integer, nullable=False)] if per_activity else []
    # Migrations 0007 and 0022 added two flags to the facts and totals of stores holding rows,
    # so with a default of false there; a new store is made from this schema and must be the
    # same (test_migrations). The summaries were made later (0027) with every column.
    added = false() if orgs else None
    organisations = [
        _code("provider_org_ref"),  # incoming funds
        Column("provider_org_name", Text),
        # commitments, disbursements, expenditure: the transaction's receiver-org @ref and its
        # first narrative (NULL: not published; see the money rules in store/money.py)
        _code("receiver_org_ref"),
        Column("receiver_org_name", Text),
    ]
    return [
        *activity,
        _code("reporting_org_ref"),
        _code("measure", nullable=False),  # budget | incoming | commitment | disbursement | ...
        Column("year", Integer),  # NULL: a budget without period, a transaction without date
        _code("currency"),  # NULL: neither the value nor the activity names one
        _code("budget_status"),  # budgets: 1 indicative (also when not given) | 2 committed
        # budgets: a committed budget of the same activity and period exists
        Column("budget_superseded", Boolean, nullable=False, default=False),
        *(organisations if orgs else ()),
        # disbursements: passed on to an activity we hold that reports its own disbursements
        # or expenditure (its receiver-org @receiver-activity-id), so never counted as
        # expenditure (the money rules in store/money.py, "Money passed between activities")
        Column("passed_on", Boolean, nullable=False, default=False, server_default=added),
        _code("recipient_country_code"),
        _code("recipient_region_code"),
        _code("recipient_region_vocabulary"),
        # NULL: as published. A target currency (USD, EUR): a copy of the money converted to it
        # at the value date, in ``currency`` = the target; or, when no rate was found
        # (``rate_missing``), the money as published, counted and flagged, never dropped.
        _code("converted_to"),
        Column("rate_missing", Boolean, nullable=False, default=False, server_default=added),
        # The transaction's @humanitarian, else its activity's (budgets: the activity's);
        # NULL: neither says (see the money rules in iatiportal/store/money.py).
        Column("humanitarian", Boolean),
    ]


money_fact = Table(
    "money_fact",
    metadata,
    Column("id", Integer, primary_key=True),
    *_fact_columns(per_activity=True),
    # The transaction's own sector, when it gives one (it replaces the activity's sectors
    # of that vocabulary in money_fact_sector).
    _code("transaction_sector_vocabulary"),
    _code("transaction_sector_code"),
    Column("value", Exact(), nullable=False),
    Index("ix_money_fact_activity", "activity_id", "measure"),
    Index("ix_money_fact_country", "recipient_country_code", "measure", "year"),
    Index("ix_money_fact_region", "recipient_region_code", "measure", "year"),
    Index("ix_money_fact_provider", "provider_org_ref", "measure"),
)
"""Money per activity, measure, year and currency, split by recipient country or region."""

money_fact_sector = Table(
    "money_fact_sector",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("money_fact_id", Integer, nullable=False),  # its other dimensions are there
    _code("sector_vocabulary", nullable=False),
    _code("sector_code", nullable=False),
    Column("value", Exact(), nullable=False),
    Index("ix_money_fact_sector_fact", "money_fact_id", "sector_vocabulary"),
    Index("ix_money_fact_sector_code", "sector_vocabulary", "sector_code"),
)
"""Each money_fact row split again by the sectors of each vocabulary the activity uses."""

money_total = Table(
    "money_total",
    metadata,
    Column("id", Integer, primary_key=True),
    *_fact_columns(per_activity=False),
    Column("value", Exact(), nullable=False),
    Column("fact_count", Integer),  # how many money_fact rows the sum has (0: the row goes)
    # The group's dimensions as one text (facts._group_key): what an incremental refresh looks
    # the groups it changes up by. A hash index on PostgreSQL (a B-tree would refuse a key
    # longer than a third of a page, and names are free text).
    Column("group_key", Text, nullable=False),
    Index("ix_money_total_measure_year", "measure", "year"),
    Index("ix_money_total_country", "recipient_country_code", "measure", "year"),
    Index("ix_money_total_region", "recipient_region_code", "measure", "year"),
    Index("ix_money_total_provider", "provider_org_ref", "measure"),
    Index("ix_money_total_group_key", "group_key", postgresql_using="hash"),
)
"""money_fact summed over activities: what pages without an activity dimension read."""

money_total_sector = Table(
    "money_total_sector",
    metadata,
    Column("id", Integer, primary_key=True),
    *_fact_columns(per_activity=False),
    _code("sector_vocabulary", nullable=False),
    _code("sector_code", nullable=False),
    Column("value", Exact(), nullable=False),
    Column("fact_count", Integer),  # how many money_fact_sector rows the sum has
    Column("group_key", Text, nullable=False),  # as in money_total (with the sector)
    Index("ix_money_total_sector_code", "sector_vocabulary", "sector_code", "measure", "year"),
    Index("ix_money_total_sector_country", "recipient_country_code", "sector_vocabulary"),
    Index("ix_money_total_sector_group_key", "group_key", postgresql_using="hash"),
)
"""money_fact_sector summed over activities (money without a sector of a vocabulary is the
difference from money_total)."""

money_summary = Table(
    "money_summary",
    metadata,
    Column("id", Integer, primary_key=True),
    *_fact_columns(per_activity=False, orgs=False),
    Column("value", Exact(), nullable=False),
    Column("fact_count", Integer),  # as in money_total
    Column("group_key", Text, nullable=False),  # as in money_total (of these dimensions)
    Index("ix_money_summary_measure_year", "measure", "year"),
    Index("ix_money_summary_country", "recipient_country_code", "measure", "year"),
    Index("ix_money_summary_region", "recipient_region_code", "measure", "year"),
    Index("ix_money_summary_group_key", "group_key", postgresql_using="hash"),
)
"""money_total summed over the provider and receiver organisations: what the questions that
name neither read (a country's or a year's totals). A transaction's receiver is nearly as many
groups as transactions, so money_total keeps about a row per fact, and a country's totals read
all of them (issue 14: 2,700 rows for one country of an 18,000-activity store, 11 here)."""

money_summary_sector = Table(
    "money_summary_sector",
    metadata,
    Column("id", Integer, primary_key=True),
    *_fact_columns(per_activity=False, orgs=False),
    _code("sector_vocabulary", nullable=False),
    _code("sector_code", nullable=False),
    Column("value", Exact(), nullable=False),
    Column("fact_count", Integer),
    Column("group_key", Text, nullable=False),
    Index("ix_money_summary_sector_code", "sector_vocabulary", "sector_code", "measure", "year"),
    Index("ix_money_summary_sector_country", "recipient_country_code", "sector_vocabulary"),
    Index("ix_money_summary_sector_group_key", "group_key", postgresql_using="hash"),
)
"""money_total_sector summed over the provider and receiver organisations (as money_summary)."""

participating_funder = Table(
    "participating_funder",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("activity_id", Integer, nullable=False, index=True),
    _code("reporting_org_ref"),
    _code("ref"),
    Column("name", Text),
    # The span of years in which the activity has budgets or transactions (NULL: none).
    Column("first_year", Integer),
    Column("last_year", Integer),
)
"""Funding partners named only as participating-org role 1, by activities that publish no
incoming funds (their partners are listed without amounts)."""

activity_implementer = Table(
    "activity_implementer",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("activity_id", Integer, nullable=False, index=True),
    # "participating-org" (role 4, year NULL) or "receiver-org" (of disbursements and
    # expenditure, by year of the transaction date, else of the value date; NULL: neither).
    Column("role", String(), nullable=False),
    _code("ref"),
    Column("name", Text),
    Column("year", Integer),
    Column("n", Integer, nullable=False),
)
"""The implementing partners a current activity names, each (role, ref, first name, year) once
with how many times (``n``): what a page's implementing partners read, instead of every
transaction of the activities with a narrative looked up for each."""

activity_year = Table(
    "activity_year",
    metadata,
    Column("activity_id", Integer, primary_key=True),
    Column("year", Integer, primary_key=True),
    Index("ix_activity_year_year", "year"),
)
"""The calendar years in which a current activity has budgets or transactions (before parents
give way to their children): what the search's Year facet and filter read."""

activity_descendant = Table(
    "activity_descendant",
    metadata,
    Column("ancestor_id", Integer, primary_key=True),
    Column("descendant_id", Integer, primary_key=True),
    Index("ix_activity_descendant_descendant", "descendant_id"),
)
"""Every current activity's descendants by the money rules' parent and child links (same
reporting org, any depth; links that form a cycle left out): the money of an activity asked for
by name is its own and its descendants', and a descendant is listed under its ancestor, not as
an outcome of its own."""

country_activities = Table(
    "country_activities",
    metadata,
    Column("id", Integer, primary_key=True),
    _code("reporting_org_ref"),
    _code("recipient_country_code", nullable=False),
    Column("activities", Integer, nullable=False),
)
"""How many current activities of each reporting organisation name each recipient country
(the Country selector and country list; rebuilt with the money facts): ``activity_country``
summed."""

activity_country = Table(
    "activity_country",
    metadata,
    Column("activity_id", Integer, primary_key=True),
    _code("recipient_country_code", primary_key=True),
    _code("reporting_org_ref"),
    # False: a descendant of another activity, counted under it, not on its own.
    Column("counted", Boolean, nullable=False),
    Index("ix_activity_country_org_country", "recipient_country_code", "reporting_org_ref"),
)
"""Each current activity and recipient country it names, as the last refresh of the derived
tables counted it in ``country_activities``: what an incremental refresh takes away from the
counts for the activities it works on (their rows as they were) before adding their new ones."""

activity_link = Table(
    "activity_link",
    metadata,
    Column("parent_id", Integer, primary_key=True),
    Column("child_id", Integer, primary_key=True),
    Index("ix_activity_link_child", "child_id"),
)
"""The money rules' parent and child links between current activities (same reporting org,
cycles included): what an incremental refresh follows to find the activities whose figures
depend on a changed one, as the links were before the change."""

funding_link = Table(
    "funding_link",
    metadata,
    # One row per funder activity (A) and funded activity (B) that IATI links (rebuilt with
    # the money facts by iatiportal.store.chains): A's commitments or disbursements with
    # receiver-activity-id B, B's incoming funds with provider-activity-id A, or only a
    # participating-org/@activity-id or related-activity between them.
    Column("id", Integer, primary_key=True),
    Column("funder_identifier", String(), nullable=False, index=True),
    Column("funded_identifier", String(), nullable=False, index=True),
    # The current activity of each identifier (NULL: no file we hold defines it).
    Column("funder_activity_id", Integer),
    Column("funded_activity_id", Integer),
    _code("funder_reporting_org_ref", index=True),
    _code("funded_reporting_org_ref", index=True),
    _code("evidence", nullable=False),  # both | funder | funded | declared
    # A's side: its disbursements to B (type 3), else its commitments (type 2).
    _code("funder_measure"),  # disbursement | commitment | NULL (A published no such money)
    Column("funder_value", Exact()),  # NULL: no amount, or amounts in several currencies
    _code("funder_currency"),
    Column("funder_value_usd", Exact()),  # NULL: an amount without a rate (or no amount)
    Column("funder_transactions", Integer, nullable=False, default=0),
    # B's side: its incoming funds (type 1) from A.
    Column("funded_value", Exact()),
    _code("funded_currency"),
    Column("funded_value_usd", Exact()),
    Column("funded_transactions", Integer, nullable=False, default=0),
    # Both sides published money: same currency and amounts within 1 % of the larger one.
    Column("amounts_agree", Boolean),
)
"""Funding links between activities across publishers (issue 15): the evidence of each
side, and links to activities we do not hold."""

derive_pending = Table(
    "derive_pending",
    metadata,
    Column("id", Integer, primary_key=True),
    # An activity row stored or deleted since the derived tables were last brought up to date
    # (all NULL: rebuild everything, as after migration 0013).
    Column("activity_id", Integer),
    Column("iati_identifier", String()),
    _code("reporting_org_ref"),
)
"""What changed since the last refresh of the derived tables, written in the ingest's own
transaction (``facts.note_file``) and emptied by the refresh that takes it into account."""

reference_value = Table(
    "reference_value",
    metadata,
    # Country context that is not IATI (World Bank income group, UN LDC status, UNDP GII and
    # GDI, UN population by sex, UN M49 region), loaded by `iatiportal reference load`. Every
    # value keeps its source, edition and year; values that fail a sanity rule are kept with
    # the rule and its message and never displayed; unusual ones are shown with a note.
    Column("id", Integer, primary_key=True),
    _code("country_code", nullable=False),  # ISO 3166-1 alpha-2
    _code("indicator", nullable=False),  # see iatiportal.reference.INDICATORS
    Column("year", Integer),  # NULL: a status without a year (a list as of its edition)
    Column("number", Exact()),
    Column("text", Text),
    Column("source", Text, nullable=False),
    _code("edition", nullable=False),
    Column("source_file", Text, nullable=False),
    _code("refused_rule"),  # NULL: shown
    Column("refused_message", Text),
    _code("note_rule"),  # not NULL: unusual but possible, shown with the note
    Column("note_message", Text),
    Column("loaded_at", DateTime, nullable=False),
    Index("ix_reference_value_country", "country_code", "indicator", "year"),
)

exchange_rate = Table(
    "exchange_rate",
    metadata,
    # Loaded by `iatiportal rates load`: how many US dollars one unit of ``currency`` was worth
    # on ``rate_date`` (a monthly or daily rate), and where that came from.
    Column("id", Integer, primary_key=True),
    _code("currency", nullable=False),
    Column("rate_date", Date, nullable=False),
    Column("usd_per_unit", Float, nullable=False),
    Column("source", Text, nullable=False),
    Index("ix_exchange_rate_currency_date", "currency", "rate_date", unique=True),
)

money_refresh = Table(
    "money_refresh",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("refreshed_at", DateTime, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("facts", Integer, nullable=False),
    Column("sector_facts", Integer, nullable=False),
)
"""When the money facts were last rebuilt (one row)."""

store_version = Table(
    "store_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("content_version", Integer, nullable=False),
    Column("changed_at", DateTime, nullable=False),
    CheckConstraint("id = 1", name="ck_store_version_one_row"),
)
"""The store's version (one row): every writer raises ``version`` in its own transaction (see
``store.version``), so a reader knows its pages are old by reading one integer.
``content_version`` is the ``version`` of the last change to what the store holds; a re-check
of unchanged files (new ``checked_at``) does not raise it, so the bulk snapshot is not rebuilt
for one."""

registry_publisher = Table(
    "registry_publisher",
    metadata,
    # The IATI organisation identifier of a publisher registered with the IATI Registry (its
    # publisher_iati_id): rules 1.14.8 and 1.18.8 spare it (iatiportal.store.registry).
    Column("org_id", String(), primary_key=True),
    Column("loaded_at", DateTime, nullable=False),
)

refresh_source = Table(
    "refresh_source",
    metadata,
    Column("id", Integer, primary_key=True),
    # Which file: source_file.location_key of the URL (the digest of its redacted form).
    Column("location_key", String(), nullable=False, unique=True),
    Column("url", Text, nullable=False),  # the redacted URL, as source_file.path shows it
    _code("publisher"),  # the IATI Registry publisher it was listed under; NULL: the sources file
    _code("dataset"),  # the registry's name of the dataset
    Column("etag", Text),
    Column("last_modified", Text),
    Column("sha256", String()),  # of the last body downloaded
    Column("checked_at", DateTime),  # when the server last answered (200 or 304)
    Column("changed_at", DateTime),  # when the server last sent a new body
)
"""What ``iatiportal refresh`` remembers of each URL it downloads (see ``iatiportal.refresh``):
the validators the server sent, for the next conditional GET, and the digest of the body, so an
unchanged file is not ingested again; the registry dataset, to tell when it is gone."""

search_text = Table(
    "search_text",
    metadata,
    # One row per current activity: what full-text search reads. SQLite indexes it with the
    # FTS5 table search_fts, PostgreSQL with the GIN index ix_search_text_tsv on ``vector``
    # (migrations 0003 and 0024); both are outside this metadata (alembic check skips them,
    # see migrations/env.py).
    Column("activity_id", Integer, ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    # PostgreSQL: to_tsvector('simple', title || ' ' || body), stored when the row is written
    # (store.search.VECTOR) so that a search neither parses the text again to match and rank
    # nor misses the index; NULL on SQLite.
    Column("vector", SearchVector()),
)
