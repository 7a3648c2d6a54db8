"""Plain records that the parser yields; the store writes them.

Field names follow IATI element and attribute names. Codes are strings in their 2.0x form
(the parser maps 1.0x text codes); money values are Decimals; dates are ``datetime.date``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from iatiportal.ingest.spill import SpillList

Narratives = list[tuple[str | None, str]]
"""(language or None for the activity default, text) pairs, in document order."""


@dataclass(slots=True)
class Problem:
    severity: str  # "error" | "warning" | "info"
    rule: str
    message: str
    line: int | None = None
    iati_identifier: str | None = None


@dataclass(slots=True)
class OrgRef:
    ref: str | None = None
    type: str | None = None
    activity_id: str | None = None
    narratives: Narratives = field(default_factory=list)


@dataclass(slots=True)
class Description:
    type: str | None
    narratives: Narratives


@dataclass(slots=True)
class ActivityDate:
    type: str
    iso_date: dt.date | None
    narratives: Narratives = field(default_factory=list)


@dataclass(slots=True)
class ParticipatingOrg:
    role: str | None
    ref: str | None
    type: str | None
    activity_id: str | None
    crs_channel_code: str | None
    narratives: Narratives


@dataclass(slots=True)
class RecipientCountry:
    code: str
    percentage: Decimal | None
    narratives: Narratives


@dataclass(slots=True)
class RecipientRegion:
    code: str
    vocabulary: str
    percentage: Decimal | None
    narratives: Narratives


@dataclass(slots=True)
class Sector:
    code: str
    vocabulary: str
    vocabulary_uri: str | None
    percentage: Decimal | None
    narratives: Narratives


@dataclass(slots=True)
class Tag:
    code: str
    vocabulary: str | None
    vocabulary_uri: str | None
    narratives: Narratives


@dataclass(slots=True)
class PolicyMarker:
    code: str
    vocabulary: str
    significance: str | None
    narratives: Narratives


@dataclass(slots=True)
class Location:
    ref: str | None
    location_reach: str | None
    location_id_vocabulary: str | None
    location_id_code: str | None
    name: Narratives
    description: Narratives
    latitude: Decimal | None
    longitude: Decimal | None
    exactness: str | None
    location_class: str | None
    feature_designation: str | None


@dataclass(slots=True)
class Budget:
    type: str | None
    status: str | None
    period_start: dt.date | None
    period_end: dt.date | None
    value: Decimal | None
    currency: str | None
    value_date: dt.date | None


@dataclass(slots=True)
class PlannedDisbursement:
    type: str | None
    period_start: dt.date | None
    period_end: dt.date | None
    value: Decimal | None
    currency: str | None
    value_date: dt.date | None
    provider_org: OrgRef | None
    receiver_org: OrgRef | None


@dataclass(slots=True)
class Transaction:
    ref: str | None
    humanitarian: bool | None
    transaction_type: str | None
    transaction_date: dt.date | None
    value: Decimal | None
    currency: str | None
    value_date: dt.date | None
    description: Narratives
    provider_org: OrgRef | None
    receiver_org: OrgRef | None
    disbursement_channel: str | None
    sector_code: str | None
    sector_vocabulary: str | None
    recipient_country_code: str | None
    recipient_region_code: str | None
    recipient_region_vocabulary: str | None
    flow_type: str | None
    finance_type: str | None
    aid_type: str | None
    tied_status: str | None


@dataclass(slots=True)
class IndicatorValue:
    """A baseline, target or actual: value with optional year/date, comment and location refs."""

    value: str | None
    comment: Narratives
    year: int | None = None
    iso_date: dt.date | None = None


@dataclass(slots=True)
class IndicatorPeriod:
    period_start: dt.date | None
    period_end: dt.date | None
    targets: list[IndicatorValue]
    actuals: list[IndicatorValue]


@dataclass(slots=True)
class Indicator:
    measure: str | None
    ascending: bool | None
    aggregation_status: bool | None
    title: Narratives
    description: Narratives
    references: list[tuple[str | None, str | None]]
    baselines: list[IndicatorValue]
    periods: list[IndicatorPeriod]


@dataclass(slots=True)
class Result:
    type: str | None
    aggregation_status: bool | None
    title: Narratives
    description: Narratives
    indicators: list[Indicator]
    # IATI 2.03 result/reference: (vocabulary, code, vocabulary-uri); none before 2.03.
    references: list[tuple[str | None, str | None, str | None]] = field(default_factory=list)


@dataclass(slots=True)
class DocumentLink:
    url: str | None
    format: str | None
    title: Narratives
    categories: list[str]
    languages: list[str]
    document_date: dt.date | None


@dataclass(slots=True)
class RelatedActivity:
    ref: str
    type: str | None


@dataclass(slots=True)
class HumanitarianScope:
    type: str | None
    vocabulary: str | None
    vocabulary_uri: str | None
    code: str | None
    narratives: Narratives


@dataclass(slots=True)
class OtherIdentifier:
    ref: str | None
    type: str | None
    owner_org_ref: str | None
    owner_org_narratives: Narratives


@dataclass(slots=True)
class CountryBudgetItem:
    vocabulary: str | None
    code: str | None
    percentage: Decimal | None
    description: Narratives


@dataclass(slots=True)
class Activity:
    iati_identifier: str
    source_line: int | None
    iati_version: str | None
    default_lang: str | None = None
    default_currency: str | None = None
    hierarchy: int | None = None
    humanitarian: bool | None = None
    last_updated_datetime: dt.datetime | None = None
    linked_data_uri: str | None = None
    reporting_org: OrgRef = field(default_factory=OrgRef)
    secondary_reporter: bool | None = None
    activity_status: str | None = None
    activity_scope: str | None = None
    collaboration_type: str | None = None
    default_flow_type: str | None = None
    default_finance_type: str | None = None
    default_aid_type: str | None = None
    default_tied_status: str | None = None
    titles: Narratives = field(default_factory=list)
    descriptions: list[Description] = field(default_factory=list)
    activity_dates: list[ActivityDate] = field(default_factory=list)
    participating_orgs: list[ParticipatingOrg] = field(default_factory=list)
    recipient_countries: list[RecipientCountry] = field(default_factory=list)
    recipient_regions: list[RecipientRegion] = field(default_factory=list)
    sectors: list[Sector] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    policy_markers: list[PolicyMarker] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)
    planned_disbursements: list[PlannedDisbursement] = field(default_factory=list)
    # Kept one chunk at a time in memory: an activity can have 100,000 of them.
    transactions: SpillList[Transaction] = field(default_factory=SpillList)
    results: list[Result] = field(default_factory=list)
    document_links: list[DocumentLink] = field(default_factory=list)
    related_activities: list[RelatedActivity] = field(default_factory=list)
    humanitarian_scopes: list[HumanitarianScope] = field(default_factory=list)
    other_identifiers: list[OtherIdentifier] = field(default_factory=list)
    country_budget_items: list[CountryBudgetItem] = field(default_factory=list)
    schema_valid: bool | None = None
    raw_xml: bytes = b""
    problems: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class OrgBudgetLine:
    """A total-budget, recipient-org/-country/-region budget or total-expenditure."""

    kind: str  # total-budget | recipient-org-budget | recipient-country-budget | ...
    status: str | None
    period_start: dt.date | None
    period_end: dt.date | None
    value: Decimal | None
    currency: str | None
    value_date: dt.date | None
    recipient_ref: str | None = None
    recipient_vocabulary: str | None = None


@dataclass(slots=True)
class Organisation:
    organisation_identifier: str
    source_line: int | None
    iati_version: str | None
    default_currency: str | None = None
    default_lang: str | None = None
    last_updated_datetime: dt.datetime | None = None
    name: Narratives = field(default_factory=list)
    reporting_org: OrgRef = field(default_factory=OrgRef)
    budget_lines: list[OrgBudgetLine] = field(default_factory=list)
    schema_valid: bool | None = None
    raw_xml: bytes = b""
    problems: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class FileHeader:
    """What the root element of a file says."""

    kind: str  # "activities" | "organisations"
    iati_version: str | None
    generated_datetime: str | None
