"""Rows of one file's records, with ids allocated here, ready for bulk inserts.

Ids are allocated from each table's next free id, read at the start of the file's
transaction (which holds the store's write lock), so parents and children go in with plain
multi-row inserts and no round trip per row. This module runs in the parsing workers: it
imports no database code (a worker's memory stays small); ``store.write`` inserts the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from iatiportal.ingest import records as r
from iatiportal.store.exact import SQLITE_CONVERTERS

FLUSH_ROWS = 5_000
"""Rows a parsing worker gathers before it hands them to the writer. A batch is held whole in
the worker until it is sent: at 20,000 rows each worker peaked at 85-97 MiB on the 69 MB
benchmark file and the process tree at 275 MiB; at 5,000, 62-67 MiB and 216 MiB, in no more
time (issue 14; 2,000 saves 5 MiB more per worker for more processor time)."""
FIRST_FLUSH_ROWS = 2_000
"""The first batch is small so that the writer starts while the parsers warm up."""

Rows = dict[str, list[dict[str, Any]]]
"""Rows by table name, as built."""

Batch = dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]
"""Rows by table name, ready for the driver: (column names, value tuples)."""

Conversions = dict[str, dict[str, str]]
"""Columns whose values the database stores in another form: table -> column -> kind
(a key of ``exact.SQLITE_CONVERTERS``). Planned from the schema by ``store.write``."""


class RowBuffer:
    """Rows waiting to be inserted, with ids allocated from ``next_ids``.

    ``part=(k, n)``: the k-th of n buffers filled in parallel takes the ids k, k + n, ...
    above ``next_ids``, so the parts never collide (and the gaps stay as small as the
    difference between the parts' sizes).
    """

    def __init__(
        self,
        next_ids: dict[str, int],
        part: tuple[int, int] = (0, 1),
        conversions: Conversions | None = None,
    ) -> None:
        self.rows: Rows = defaultdict(list)
        self.count = 0
        index, self.step = part
        self.next_ids = {name: first + index for name, first in next_ids.items()}
        self.conversions = conversions or {}

    def add(self, table: str, row: dict[str, Any]) -> int:
        row_id = self.next_ids[table]
        self.next_ids[table] = row_id + self.step
        row["id"] = row_id
        self.rows[table].append(row)
        self.count += 1
        return row_id

    def take(self) -> Batch:
        """The buffered rows as value tuples in the database's forms; the buffer empties.

        Converting here, in the parsing workers, leaves the writer nothing to do per row.
        """
        batch: Batch = {}
        for table, rows in self.rows.items():
            if not rows:
                continue
            columns = tuple(rows[0])
            get = itemgetter(*columns)
            kinds = self.conversions.get(table, {})
            plan = [(i, SQLITE_CONVERTERS[kinds[c]]) for i, c in enumerate(columns) if c in kinds]
            if not plan:
                batch[table] = (columns, list(map(get, rows)))
                continue
            values: list[tuple[Any, ...]] = []
            append = values.append
            for row in rows:
                value = list(get(row))
                for i, convert in plan:
                    v = value[i]
                    if v is not None:
                        value[i] = convert(v)
                append(tuple(value))
            batch[table] = (columns, values)
        self.rows, self.count = defaultdict(list), 0
        return batch


def _narratives(
    buf: RowBuffer,
    activity_id: int | None,
    organisation_id: int | None,
    element: str,
    owner_id: int | None,
    items: r.Narratives,
) -> None:
    # RowBuffer.add inlined: a file has more narratives than rows of any other kind.
    rows = buf.rows["narrative"]
    next_id, step = buf.next_ids["narrative"], buf.step
    for lang, text in items:
        rows.append(
            {
                "activity_id": activity_id,
                "organisation_id": organisation_id,
                "element": element,
                "owner_id": owner_id,
                "lang": lang,
                "text": text,
                "id": next_id,
            }
        )
        next_id += step
    buf.next_ids["narrative"] = next_id
    buf.count += len(items)


def _org(prefix: str, org: r.OrgRef | None) -> dict[str, Any]:
    if org is None:
        return {f"{prefix}_ref": None, f"{prefix}_type": None, f"{prefix}_activity_id": None}
    return {
        f"{prefix}_ref": org.ref,
        f"{prefix}_type": org.type,
        f"{prefix}_activity_id": org.activity_id,
    }


_DATE_COLUMNS = {"1": "start_planned", "2": "start_actual", "3": "end_planned", "4": "end_actual"}


def add_activity(
    buf: RowBuffer, act: r.Activity, source_file_id: int, flush_rows: int | None = None
) -> Iterator[Batch]:
    """Buffer the rows of one activity. With ``flush_rows``, whenever the buffer holds that
    many rows among the activity's transactions, the rows so far are taken and yielded as a
    batch (the activity's own row is in the first): an activity of 100,000 transactions is
    not held as 400,000 rows at once (issue 10). The rows are buffered as it is iterated."""
    dates: dict[str, Any] = dict.fromkeys(_DATE_COLUMNS.values())
    for d in act.activity_dates:
        column = _DATE_COLUMNS.get(d.type)
        if column is not None and dates[column] is None:
            dates[column] = d.iso_date
    aid = buf.add(
        "activity",
        {
            "source_file_id": source_file_id,
            "iati_identifier": act.iati_identifier,
            "is_current": True,
            "source_line": act.source_line,
            "iati_version": act.iati_version,
            "default_lang": act.default_lang,
            "default_currency": act.default_currency,
            "hierarchy": act.hierarchy,
            "humanitarian": act.humanitarian,
            "last_updated_datetime": act.last_updated_datetime,
            "linked_data_uri": act.linked_data_uri,
            "reporting_org_ref": act.reporting_org.ref,
            "reporting_org_type": act.reporting_org.type,
            "secondary_reporter": act.secondary_reporter,
            "activity_status": act.activity_status,
            "activity_scope": act.activity_scope,
            "collaboration_type": act.collaboration_type,
            "default_flow_type": act.default_flow_type,
            "default_finance_type": act.default_finance_type,
            "default_aid_type": act.default_aid_type,
            "default_tied_status": act.default_tied_status,
            "schema_valid": act.schema_valid,
            **dates,
        },
    )
    buf.rows["activity_xml"].append({"activity_id": aid, "raw_xml": act.raw_xml})
    buf.count += 1

    def narr(element: str, owner: int | None, items: r.Narratives) -> None:
        if items:
            _narratives(buf, aid, None, element, owner, items)

    narr("title", None, act.titles)
    narr("reporting-org", None, act.reporting_org.narratives)
    for desc in act.descriptions:
        narr(
            "description",
            buf.add("description", {"activity_id": aid, "description_type": desc.type}),
            desc.narratives,
        )
    for ad in act.activity_dates:
        buf.add(
            "activity_date",
            {"activity_id": aid, "activity_date_type": ad.type, "iso_date": ad.iso_date},
        )
    for p in act.participating_orgs:
        narr(
            "participating-org",
            buf.add(
                "participating_org",
                {
                    "activity_id": aid,
                    "role": p.role,
                    "ref": p.ref,
                    "type": p.type,
                    "org_activity_id": p.activity_id,
                    "crs_channel_code": p.crs_channel_code,
                },
            ),
            p.narratives,
        )
    for c in act.recipient_countries:
        buf.add(
            "recipient_country",
            {"activity_id": aid, "recipient_country_code": c.code, "percentage": c.percentage},
        )
    for g in act.recipient_regions:
        buf.add(
            "recipient_region",
            {
                "activity_id": aid,
                "recipient_region_code": g.code,
                "vocabulary": g.vocabulary,
                "percentage": g.percentage,
            },
        )
    for sec in act.sectors:
        narr(
            "sector",
            buf.add(
                "sector",
                {
                    "activity_id": aid,
                    "sector_code": sec.code,
                    "vocabulary": sec.vocabulary,
                    "vocabulary_uri": sec.vocabulary_uri,
                    "percentage": sec.percentage,
                },
            ),
            sec.narratives,
        )
    for tg in act.tags:
        narr(
            "tag",
            buf.add(
                "tag",
                {
                    "activity_id": aid,
                    "tag_code": tg.code,
                    "vocabulary": tg.vocabulary,
                    "vocabulary_uri": tg.vocabulary_uri,
                },
            ),
            tg.narratives,
        )
    for pm in act.policy_markers:
        buf.add(
            "policy_marker",
            {
                "activity_id": aid,
                "policy_marker_code": pm.code,
                "vocabulary": pm.vocabulary,
                "significance": pm.significance,
            },
        )
    for loc in act.locations:
        lid = buf.add(
            "location",
            {
                "activity_id": aid,
                "ref": loc.ref,
                "location_reach": loc.location_reach,
                "location_id_vocabulary": loc.location_id_vocabulary,
                "location_id_code": loc.location_id_code,
                "latitude": float(loc.latitude) if loc.latitude is not None else None,
                "longitude": float(loc.longitude) if loc.longitude is not None else None,
                "exactness": loc.exactness,
                "location_class": loc.location_class,
                "feature_designation": loc.feature_designation,
            },
        )
        narr("location/name", lid, loc.name)
        narr("location/description", lid, loc.description)
    for b in act.budgets:
        buf.add(
            "budget",
            {
                "activity_id": aid,
                "budget_type": b.type,
                "budget_status": b.status,
                "period_start": b.period_start,
                "period_end": b.period_end,
                "value": b.value,
                "currency": b.currency,
                "value_date": b.value_date,
            },
        )
    for pd in act.planned_disbursements:
        pid = buf.add(
            "planned_disbursement",
            {
                "activity_id": aid,
                "planned_disbursement_type": pd.type,
                "period_start": pd.period_start,
                "period_end": pd.period_end,
                "value": pd.value,
                "currency": pd.currency,
                "value_date": pd.value_date,
                **_org("provider_org", pd.provider_org),
                **_org("receiver_org", pd.receiver_org),
            },
        )
        if pd.provider_org:
            narr("planned-disbursement/provider-org", pid, pd.provider_org.narratives)
        if pd.receiver_org:
            narr("planned-disbursement/receiver-org", pid, pd.receiver_org.narratives)
    for t in act.transactions:
        tid = buf.add(
            "transaction",
            {
                "activity_id": aid,
                "transaction_ref": t.ref,
                "humanitarian": t.humanitarian,
                "transaction_type": t.transaction_type,
                "transaction_date": t.transaction_date,
                "value": t.value,
                "currency": t.currency,
                "value_date": t.value_date,
                **_org("provider_org", t.provider_org),
                **_org("receiver_org", t.receiver_org),
                "disbursement_channel": t.disbursement_channel,
                "sector_code": t.sector_code,
                "sector_vocabulary": t.sector_vocabulary,
                "recipient_country_code": t.recipient_country_code,
                "recipient_region_code": t.recipient_region_code,
                "recipient_region_vocabulary": t.recipient_region_vocabulary,
                "flow_type": t.flow_type,
                "finance_type": t.finance_type,
                "aid_type": t.aid_type,
                "tied_status": t.tied_status,
            },
        )
        narr("transaction/description", tid, t.description)
        if t.provider_org:
            narr("transaction/provider-org", tid, t.provider_org.narratives)
        if t.receiver_org:
            narr("transaction/receiver-org", tid, t.receiver_org.narratives)
        if flush_rows is not None and buf.count >= flush_rows:
            yield buf.take()
    for res in act.results:
        rid = buf.add(
            "result",
            {
                "activity_id": aid,
                "result_type": res.type,
                "aggregation_status": res.aggregation_status,
            },
        )
        narr("result/title", rid, res.title)
        narr("result/description", rid, res.description)
        for vocabulary, code, vocabulary_uri in res.references:
            buf.add(
                "result_reference",
                {
                    "activity_id": aid,
                    "result_id": rid,
                    "vocabulary": vocabulary,
                    "code": code,
                    "vocabulary_uri": vocabulary_uri,
                },
            )
        for ind in res.indicators:
            iid = buf.add(
                "indicator",
                {
                    "activity_id": aid,
                    "result_id": rid,
                    "measure": ind.measure,
                    "ascending": ind.ascending,
                    "aggregation_status": ind.aggregation_status,
                },
            )
            narr("indicator/title", iid, ind.title)
            narr("indicator/description", iid, ind.description)
            for vocabulary, code in ind.references:
                buf.add(
                    "indicator_reference",
                    {
                        "activity_id": aid,
                        "indicator_id": iid,
                        "vocabulary": vocabulary,
                        "code": code,
                    },
                )
            for bl in ind.baselines:
                narr(
                    "baseline/comment",
                    buf.add(
                        "baseline",
                        {
                            "activity_id": aid,
                            "indicator_id": iid,
                            "year": bl.year,
                            "iso_date": bl.iso_date,
                            "value": bl.value,
                        },
                    ),
                    bl.comment,
                )
            for per in ind.periods:
                perid = buf.add(
                    "indicator_period",
                    {
                        "activity_id": aid,
                        "indicator_id": iid,
                        "period_start": per.period_start,
                        "period_end": per.period_end,
                    },
                )
                for tv in per.targets:
                    narr(
                        "target/comment",
                        buf.add(
                            "target",
                            {
                                "activity_id": aid,
                                "period_id": perid,
                                "value": tv.value,
                            },
                        ),
                        tv.comment,
                    )
                for av in per.actuals:
                    narr(
                        "actual/comment",
                        buf.add(
                            "actual",
                            {
                                "activity_id": aid,
                                "period_id": perid,
                                "value": av.value,
                            },
                        ),
                        av.comment,
                    )
    for doc in act.document_links:
        did = buf.add(
            "document_link",
            {
                "activity_id": aid,
                "url": doc.url,
                "format": doc.format,
                "document_date": doc.document_date,
            },
        )
        narr("document-link/title", did, doc.title)
        for cat in doc.categories:
            buf.add(
                "document_link_category",
                {"activity_id": aid, "document_link_id": did, "category_code": cat},
            )
        for language in doc.languages:
            buf.add(
                "document_link_language",
                {"activity_id": aid, "document_link_id": did, "language_code": language},
            )
    for rel in act.related_activities:
        buf.add(
            "related_activity",
            {"activity_id": aid, "ref": rel.ref, "related_activity_type": rel.type},
        )
    for hs in act.humanitarian_scopes:
        narr(
            "humanitarian-scope",
            buf.add(
                "humanitarian_scope",
                {
                    "activity_id": aid,
                    "humanitarian_scope_type": hs.type,
                    "vocabulary": hs.vocabulary,
                    "vocabulary_uri": hs.vocabulary_uri,
                    "code": hs.code,
                },
            ),
            hs.narratives,
        )
    for oi in act.other_identifiers:
        narr(
            "other-identifier/owner-org",
            buf.add(
                "other_identifier",
                {
                    "activity_id": aid,
                    "ref": oi.ref,
                    "other_identifier_type": oi.type,
                    "owner_org_ref": oi.owner_org_ref,
                },
            ),
            oi.owner_org_narratives,
        )
    for cbi in act.country_budget_items:
        narr(
            "budget-item/description",
            buf.add(
                "country_budget_item",
                {
                    "activity_id": aid,
                    "vocabulary": cbi.vocabulary,
                    "budget_item_code": cbi.code,
                    "percentage": cbi.percentage,
                },
            ),
            cbi.description,
        )


def add_organisation(buf: RowBuffer, org: r.Organisation, source_file_id: int) -> int:
    oid = buf.add(
        "organisation",
        {
            "source_file_id": source_file_id,
            "organisation_identifier": org.organisation_identifier,
            "is_current": True,
            "source_line": org.source_line,
            "iati_version": org.iati_version,
            "default_currency": org.default_currency,
            "default_lang": org.default_lang,
            "last_updated_datetime": org.last_updated_datetime,
            "reporting_org_ref": org.reporting_org.ref,
            "reporting_org_type": org.reporting_org.type,
            "schema_valid": org.schema_valid,
            "raw_xml": org.raw_xml,
        },
    )
    _narratives(buf, None, oid, "organisation/name", None, org.name)
    _narratives(buf, None, oid, "organisation/reporting-org", None, org.reporting_org.narratives)
    for line in org.budget_lines:
        buf.add(
            "organisation_budget",
            {
                "organisation_id": oid,
                "element": line.kind,
                "budget_status": line.status,
                "period_start": line.period_start,
                "period_end": line.period_end,
                "value": line.value,
                "currency": line.currency,
                "value_date": line.value_date,
                "recipient_ref": line.recipient_ref,
                "recipient_vocabulary": line.recipient_vocabulary,
            },
        )
    return oid
