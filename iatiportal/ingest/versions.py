"""What differs between IATI versions, as data.

One parser reads every version (STYLE.md): 1.0x text codes and the 2010 pilot format's words
are mapped here to the 2.0x codes. Keys are lower-cased, so ``Funding`` and ``funding`` map alike;
codes that are already 2.0x codes pass through unchanged.
"""

from __future__ import annotations

CODE_MAPS: dict[str, dict[str, str]] = {
    # TransactionType 1.0x (C, D, E, IF, IR, LR, R, QP, QS, CG) and pilot words.
    "transaction-type": {
        "if": "1",
        "c": "2",
        "d": "3",
        "e": "4",
        "ir": "5",
        "lr": "6",
        "r": "7",
        "qp": "8",
        "qs": "9",
        "cg": "10",
        "incoming funds": "1",
        "commitment": "2",
        "disbursement": "3",
        "expenditure": "4",
        "interest repayment": "5",
        "loan repayment": "6",
        "reimbursement": "7",
    },
    # OrganisationRole 1.0x words.
    "organisation-role": {
        "funding": "1",
        "accountable": "2",
        "extending": "3",
        "implementing": "4",
    },
    # ActivityDateType 1.0x words; the pilot's bare start/end are read as planned dates.
    "activity-date-type": {
        "start-planned": "1",
        "start-actual": "2",
        "end-planned": "3",
        "end-actual": "4",
        "start": "1",
        "end": "3",
    },
    # ActivityStatus words used by the pilot format.
    "activity-status": {
        "pipeline": "1",
        "identification": "1",
        "pipeline/identification": "1",
        "implementation": "2",
        "on going": "2",
        "ongoing": "2",
        "completion": "3",
        "finalisation": "3",
        "post-completion": "4",
        "closed": "4",
        "cancelled": "5",
        "suspended": "6",
    },
    # SectorVocabulary 1.0x text codes.
    "sector-vocabulary": {
        "dac": "1",
        "dac-3": "2",
        "cofog": "3",
        "nace": "5",
        "ntee": "6",
        "ro": "99",
        "ro2": "98",
    },
    # PolicyMarkerVocabulary 1.0x text codes.
    "policy-marker-vocabulary": {"dac": "1", "ro": "99"},
    # RegionVocabulary 1.0x text codes.
    "region-vocabulary": {"dac": "1", "un": "2", "ro": "99"},
    # ResultType 1.0x words.
    "result-type": {"output": "1", "outcome": "2", "impact": "3", "other": "9"},
    # IndicatorMeasure 1.0x words.
    "indicator-measure": {
        "unit": "1",
        "percentage": "2",
        "nominal": "3",
        "ordinal": "4",
        "qualitative": "5",
    },
    # BudgetType 1.0x words; the pilot's budget-planned type="annual" is an original budget.
    "budget-type": {"original": "1", "revised": "2", "annual": "1"},
    # TiedStatus, FlowType words of the pilot.
    "tied-status": {"partially tied": "3", "tied": "4", "untied": "5"},
    "flow-type": {"oda": "10", "oof": "20"},
}

ELEMENT_ALIASES: dict[str, str] = {
    # The 2010 pilot called budgets "budget-planned".
    "budget-planned": "budget",
}

PILOT_VERSIONS = frozenset({"1.0", "1", "1.00"})
"""Root versions of the 2010 pilot format (and of files claiming 1.00)."""

SCHEMA_FOR_VERSION: dict[str, str] = {
    "1.00": "1.01",
    "1.0": "1.01",
    "1": "1.01",
    "1.01": "1.01",
    "1.02": "1.02",
    "1.03": "1.03",
    "1.04": "1.04",
    "1.05": "1.05",
    "2.01": "2.01",
    "2.02": "2.02",
    "2.03": "2.03",
}
LATEST_VERSION = "2.03"


def map_code(kind: str, value: str | None) -> str | None:
    """The 2.0x code for ``value`` of codelist ``kind`` (unchanged when already 2.0x)."""
    if value is None:
        return None
    return CODE_MAPS[kind].get(value.lower(), value)
