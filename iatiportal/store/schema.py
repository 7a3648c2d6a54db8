"""The one schema definition (SQLAlchemy Core) for SQLite and PostgreSQL.

Tables are named after IATI elements and columns after IATI attributes and codes. Every table
below ``activity`` carries ``activity_id`` so that a file's activities are replaced with one
delete per table. Narratives of every element, in every language, live in ``narrative``.
Alembic migrations in ``store/migrations`` must agree with this file (a test runs
``alembic check``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

AMOUNT_SCALE = Decimal(10000)


class Amount(TypeDecorator[Decimal]):
    """Money, exact to 1/10,000 on both databases.

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
        return int((value * AMOUNT_SCALE).to_integral_value(ROUND_HALF_EVEN))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)) / AMOUNT_SCALE
        return Decimal(value)


def _code(name: str, length: int = 40, **kw: Any) -> Column[Any]:
    return Column(name, String(length), **kw)


def _activity_fk() -> Column[Any]:
    return Column("activity_id", Integer, ForeignKey("activity.id", ondelete="CASCADE"),
                  nullable=False, index=True)


def _money_columns() -> list[Column[Any]]:
    return [
        Column("value", Amount()),
        _code("currency", 3),
        Column("value_date", Date),
    ]


def _org_columns(prefix: str) -> list[Column[Any]]:
    return [
        _code(f"{prefix}_ref", 200),
        _code(f"{prefix}_type", 10),
        _code(f"{prefix}_activity_id", 200),
    ]


source_file = Table(
    "source_file", metadata,
    Column("id", Integer, primary_key=True),
    Column("path", Text, nullable=False, unique=True),
    Column("sha256", String(64)),
    Column("size_bytes", BigInteger),
    _code("kind", 20),  # activities | organisations
    _code("iati_version", 10),
    _code("generated_datetime", 40),
    _code("status", 10, nullable=False),  # ok | failed
    Column("activity_count", Integer, nullable=False, default=0),
    Column("organisation_count", Integer, nullable=False, default=0),
    Column("ingested_at", DateTime),  # when this content was last stored
    Column("checked_at", DateTime),  # when the file was last read or found unchanged
    _code("error_rule", 40),
    Column("error_message", Text),
)

activity = Table(
    "activity", metadata,
    Column("id", Integer, primary_key=True),
    Column("source_file_id", Integer, ForeignKey("source_file.id"), nullable=False, index=True),
    Column("iati_identifier", String(300), nullable=False, index=True),
    Column("is_current", Boolean, nullable=False, default=True),
    Column("source_line", Integer),
    _code("iati_version", 10),
    _code("default_lang", 10),
    _code("default_currency", 3),
    Column("hierarchy", Integer),
    Column("humanitarian", Boolean),
    Column("last_updated_datetime", DateTime),
    Column("linked_data_uri", Text),
    _code("reporting_org_ref", 200, index=True),
    _code("reporting_org_type", 10),
    Column("secondary_reporter", Boolean),
    _code("activity_status", 10),
    _code("activity_scope", 10),
    _code("collaboration_type", 10),
    _code("default_flow_type", 10),
    _code("default_finance_type", 10),
    _code("default_aid_type", 10),
    _code("default_tied_status", 10),
    Column("start_planned", Date),
    Column("start_actual", Date),
    Column("end_planned", Date),
    Column("end_actual", Date),
    Column("schema_valid", Boolean),
    Index("ix_activity_current_identifier", "is_current", "iati_identifier"),
)

activity_xml = Table(
    "activity_xml", metadata,
    Column("activity_id", Integer, ForeignKey("activity.id", ondelete="CASCADE"),
           primary_key=True),
    Column("raw_xml", LargeBinary, nullable=False),
)

narrative = Table(
    "narrative", metadata,
    Column("id", Integer, primary_key=True),
    Column("activity_id", Integer, ForeignKey("activity.id", ondelete="CASCADE"), index=True),
    Column("organisation_id", Integer, ForeignKey("organisation.id", ondelete="CASCADE"),
           index=True),
    _code("element", 60, nullable=False),  # e.g. title, result/title, transaction/description
    Column("owner_id", Integer),  # row id in the element's table; NULL for the activity itself
    _code("lang", 10),
    Column("text", Text, nullable=False),
    Index("ix_narrative_owner", "element", "owner_id"),
)

description = Table(
    "description", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("description_type", 10),
)

activity_date = Table(
    "activity_date", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("activity_date_type", 10, nullable=False),
    Column("iso_date", Date),
)

participating_org = Table(
    "participating_org", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("role", 10),
    _code("ref", 200, index=True),
    _code("type", 10),
    _code("org_activity_id", 200),
    _code("crs_channel_code", 20),
)

recipient_country = Table(
    "recipient_country", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("recipient_country_code", 10, nullable=False, index=True),
    Column("percentage", Numeric(9, 4)),
)

recipient_region = Table(
    "recipient_region", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("recipient_region_code", 40, nullable=False),
    _code("vocabulary", 10, nullable=False),
    Column("percentage", Numeric(9, 4)),
)

sector = Table(
    "sector", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("sector_code", 100, nullable=False),
    _code("vocabulary", 10, nullable=False),
    Column("vocabulary_uri", Text),
    Column("percentage", Numeric(9, 4)),
    Index("ix_sector_vocabulary_code", "vocabulary", "sector_code"),
)

tag = Table(
    "tag", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("tag_code", 200, nullable=False),
    _code("vocabulary", 10),
    Column("vocabulary_uri", Text),
)

policy_marker = Table(
    "policy_marker", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("policy_marker_code", 20, nullable=False),
    _code("vocabulary", 10, nullable=False),
    _code("significance", 10),
)

location = Table(
    "location", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("ref", 200),
    _code("location_reach", 10),
    _code("location_id_vocabulary", 20),
    _code("location_id_code", 200),
    Column("latitude", Float),
    Column("longitude", Float),
    _code("exactness", 10),
    _code("location_class", 10),
    _code("feature_designation", 20),
)

budget = Table(
    "budget", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("budget_type", 10),
    _code("budget_status", 10),
    Column("period_start", Date),
    Column("period_end", Date),
    *_money_columns(),
)

planned_disbursement = Table(
    "planned_disbursement", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("planned_disbursement_type", 10),
    Column("period_start", Date),
    Column("period_end", Date),
    *_money_columns(),
    *_org_columns("provider_org"),
    *_org_columns("receiver_org"),
)

transaction = Table(
    "transaction", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("transaction_ref", 200),
    Column("humanitarian", Boolean),
    _code("transaction_type", 10),
    Column("transaction_date", Date),
    *_money_columns(),
    *_org_columns("provider_org"),
    *_org_columns("receiver_org"),
    _code("disbursement_channel", 10),
    _code("sector_code", 100),
    _code("sector_vocabulary", 10),
    _code("recipient_country_code", 10),
    _code("recipient_region_code", 40),
    _code("recipient_region_vocabulary", 10),
    _code("flow_type", 10),
    _code("finance_type", 10),
    _code("aid_type", 10),
    _code("tied_status", 10),
    Index("ix_transaction_type_date", "transaction_type", "transaction_date"),
)

result = Table(
    "result", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("result_type", 10),
    Column("aggregation_status", Boolean),
)

indicator = Table(
    "indicator", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    Column("result_id", Integer, ForeignKey("result.id", ondelete="CASCADE"), nullable=False,
           index=True),
    _code("measure", 10),
    Column("ascending", Boolean),
    Column("aggregation_status", Boolean),
)

indicator_reference = Table(
    "indicator_reference", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    Column("indicator_id", Integer, ForeignKey("indicator.id", ondelete="CASCADE"),
           nullable=False),
    _code("vocabulary", 20),
    _code("code", 200),
)

baseline = Table(
    "baseline", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    Column("indicator_id", Integer, ForeignKey("indicator.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("year", Integer),
    Column("iso_date", Date),
    Column("value", Text),
)

indicator_period = Table(
    "indicator_period", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    Column("indicator_id", Integer, ForeignKey("indicator.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("period_start", Date),
    Column("period_end", Date),
)


def _period_value(name: str) -> Table:
    return Table(
        name, metadata,
        Column("id", Integer, primary_key=True), _activity_fk(),
        Column("period_id", Integer, ForeignKey("indicator_period.id", ondelete="CASCADE"),
               nullable=False, index=True),
        Column("value", Text),
    )


target = _period_value("target")
actual = _period_value("actual")

document_link = Table(
    "document_link", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    Column("url", Text),
    _code("format", 100),
    Column("document_date", Date),
)

document_link_category = Table(
    "document_link_category", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    Column("document_link_id", Integer, ForeignKey("document_link.id", ondelete="CASCADE"),
           nullable=False),
    _code("category_code", 10, nullable=False),
)

document_link_language = Table(
    "document_link_language", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    Column("document_link_id", Integer, ForeignKey("document_link.id", ondelete="CASCADE"),
           nullable=False),
    _code("language_code", 10, nullable=False),
)

related_activity = Table(
    "related_activity", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("ref", 300, nullable=False, index=True),
    _code("related_activity_type", 10),
)

humanitarian_scope = Table(
    "humanitarian_scope", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("humanitarian_scope_type", 10),
    _code("vocabulary", 10),
    Column("vocabulary_uri", Text),
    _code("code", 200),
)

other_identifier = Table(
    "other_identifier", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("ref", 300),
    _code("other_identifier_type", 10),
    _code("owner_org_ref", 200),
)

country_budget_item = Table(
    "country_budget_item", metadata,
    Column("id", Integer, primary_key=True), _activity_fk(),
    _code("vocabulary", 10),
    _code("budget_item_code", 40),
    Column("percentage", Numeric(9, 4)),
)

organisation = Table(
    "organisation", metadata,
    Column("id", Integer, primary_key=True),
    Column("source_file_id", Integer, ForeignKey("source_file.id"), nullable=False, index=True),
    Column("organisation_identifier", String(300), nullable=False, index=True),
    Column("is_current", Boolean, nullable=False, default=True),
    Column("source_line", Integer),
    _code("iati_version", 10),
    _code("default_currency", 3),
    _code("default_lang", 10),
    Column("last_updated_datetime", DateTime),
    _code("reporting_org_ref", 200),
    _code("reporting_org_type", 10),
    Column("schema_valid", Boolean),
    Column("raw_xml", LargeBinary, nullable=False),
)

organisation_budget = Table(
    "organisation_budget", metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation_id", Integer, ForeignKey("organisation.id", ondelete="CASCADE"),
           nullable=False, index=True),
    # total-budget | recipient-org-budget | recipient-country-budget |
    # recipient-region-budget | total-expenditure
    _code("element", 40, nullable=False),
    _code("budget_status", 10),
    Column("period_start", Date),
    Column("period_end", Date),
    *_money_columns(),
    _code("recipient_ref", 200),
    _code("recipient_vocabulary", 10),
)

problem = Table(
    "problem", metadata,
    Column("id", Integer, primary_key=True),
    Column("source_file_id", Integer, ForeignKey("source_file.id"), index=True),
    Column("file_path", Text, nullable=False),
    Column("line", Integer),
    Column("iati_identifier", String(300), index=True),
    _code("severity", 10, nullable=False),  # error | warning | info
    _code("rule", 60, nullable=False),
    Column("message", Text, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
)

ACTIVITY_CHILD_TABLES: tuple[Table, ...] = (
    narrative, description, activity_date, participating_org, recipient_country,
    recipient_region, sector, tag, policy_marker, location, budget, planned_disbursement,
    transaction, actual, target, indicator_period, baseline,
    indicator_reference, indicator, result, document_link_category, document_link_language,
    document_link, related_activity, humanitarian_scope, other_identifier,
    country_budget_item, activity_xml,
)
"""Tables holding rows of an activity, children before parents (the order of deletes)."""
