"""One generated IATI 2.03 activity with thousands of transactions and long lists of other
kinds (issue 10: one huge activity must not take the server down), written by the tests that
need it. What the tests expect is read back from the XML with lxml, never from the portal."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

IDENTIFIER = "XX-BIG-1"
SMALL = "XX-SMALL-1"
EXT = "http://example.org/extension"


def _narratives(en: str, fr: str | None = None) -> str:
    out = f'<narrative xml:lang="en">{escape(en)}</narrative>'
    if fr is not None:
        out += f'<narrative xml:lang="fr">{escape(fr)}</narrative>'
    return out


def write(
    path: Path,
    transactions: int,
    *,
    budgets: int = 60,
    indicators: int = 25,
    periods: int = 30,
    messy: bool = False,
    identifier: str = IDENTIFIER,
) -> Path:
    """Write one activity (and, after it, a small one) to ``path``.

    Transaction k (from 0) is incoming funds (type 1) when k % 3 == 0, else expenditure (4),
    dated in 2020-2024, worth 1000 + k + 0.25 USD, described "Payment k" (English) and
    "Paiement k" (French). Budgets are committed, one per month from January 2020. ``messy``
    adds what real files have: a comment between transactions, an extension element (its
    namespace declared on the root), a transaction with a value that is not a number and
    one without a type, and transactions after the document-link (out of the schema's order).
    """
    w: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<iati-activities version="2.03" xmlns:ext="{EXT}">\n',
        '<iati-activity xml:lang="en" default-currency="USD" '
        'last-updated-datetime="2024-06-01T00:00:00Z">\n',
        f"  <iati-identifier>{identifier}</iati-identifier>\n",
        f'  <reporting-org ref="XX-ORG" type="40">{_narratives("Reporter")}</reporting-org>\n',
        f"  <title>{_narratives('A big activity', 'Une grande activité')}</title>\n",
        f'  <description type="1">{_narratives("Many payments.")}</description>\n',
    ]
    for n in range(3):
        w.append(
            f'  <participating-org ref="XX-DONOR-{n}" role="1" type="10">'
            f"{_narratives(f'Donor {n}')}</participating-org>\n"
        )
    w += [
        '  <activity-status code="2"/>\n',
        '  <activity-date iso-date="2020-01-01" type="2"/>\n',
        '  <activity-date iso-date="2024-12-31" type="3"/>\n',
        '  <recipient-country code="ML" percentage="100"/>\n',
        '  <sector vocabulary="1" code="15170" percentage="100"/>\n',
    ]
    for b in range(budgets):
        year, month = 2020 + b // 12, 1 + b % 12
        w.append(
            f'  <budget type="1" status="2"><period-start iso-date="{year}-{month:02d}-01"/>'
            f'<period-end iso-date="{year}-{month:02d}-28"/>'
            f'<value currency="USD" value-date="{year}-{month:02d}-01">{500 + b}</value>'
            "</budget>\n"
        )

    def transaction(k: int) -> str:
        year, month, day = 2020 + k % 5, 1 + k % 12, 1 + k % 28
        kind = "1" if k % 3 == 0 else "4"
        value = f"{1000 + k}.25"
        type_el = f'<transaction-type code="{kind}"/>'
        extension = ""
        if messy and k == 1500:
            value = "12x"
        if messy and k == 1700:
            type_el = ""
        if messy and k == 1234:
            extension = '<ext:note ext:kind="check">checked</ext:note>'
        return (
            f'  <transaction ref="T{k}">{type_el}'
            f'<transaction-date iso-date="{year}-{month:02d}-{day:02d}"/>'
            f'<value currency="USD" value-date="{year}-{month:02d}-{day:02d}">{value}</value>'
            f"<description>{_narratives(f'Payment {k}', f'Paiement {k}')}</description>"
            f'<provider-org ref="XX-DONOR-{k % 3}">{_narratives(f"Donor {k % 3}")}</provider-org>'
            f"<receiver-org>{_narratives(f'Partner {k}')}</receiver-org>{extension}"
            "</transaction>\n"
        )

    late = 3 if messy else 0
    for k in range(transactions - late):
        if messy and k == 1100:
            w.append("  <!-- a comment between transactions -->\n")
        w.append(transaction(k))
    w.append(
        '  <document-link format="text/html" url="https://example.org/big">'
        f"<title>{_narratives('Project page')}</title>"
        '<category code="A01"/></document-link>\n'
    )
    w += [transaction(k) for k in range(transactions - late, transactions)]
    w.append(f'  <result type="1"><title>{_narratives("Outputs")}</title>\n')
    for i in range(indicators):
        w.append(f'    <indicator measure="1" ascending="1"><title>{_narratives(f"Indicator {i}")}')
        w.append('</title><baseline year="2019" value="0"/>\n')
        for p in range(periods):
            year, month = 2020 + p // 12, 1 + p % 12
            w.append(
                f'      <period><period-start iso-date="{year}-{month:02d}-01"/>'
                f'<period-end iso-date="{year}-{month:02d}-28"/>'
                f'<target value="{10 * (p + 1)}"/><actual value="{9 * (p + 1) + i}"/></period>\n'
            )
        w.append("    </indicator>\n")
    w.append("  </result>\n</iati-activity>\n")
    w += [
        '<iati-activity xml:lang="en" default-currency="EUR">\n',
        f"  <iati-identifier>{SMALL}</iati-identifier>\n",
        f'  <reporting-org ref="XX-ORG" type="40">{_narratives("Reporter")}</reporting-org>\n',
        f"  <title>{_narratives('A small activity')}</title>\n",
        f'  <description type="1">{_narratives("Two payments.")}</description>\n',
        f'  <participating-org ref="XX-DONOR-0" role="1">{_narratives("Donor 0")}'
        "</participating-org>\n",
        '  <activity-status code="2"/>\n',
        '  <activity-date iso-date="2021-01-01" type="2"/>\n',
        transaction(0).replace('currency="USD" ', ""),
        transaction(1).replace('currency="USD" ', ""),
        "</iati-activity>\n</iati-activities>\n",
    ]
    path.write_text("".join(w), encoding="utf-8")
    return path
