"""Progress narratives on both databases: the query gives each outcome's narrative of a year in
the requested language, else the published one, as the sample XML (read here with lxml) holds
them; the country page's progress tab passes them on with the related plan outcomes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree
from sqlalchemy import Engine, select

from iatiportal.datasets.context import Context
from iatiportal.demo import DATA, demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store import progress
from iatiportal.store import schema as s
from iatiportal.store.filters import Filters
from iatiportal.store.load import ingest
from iatiportal.web.pages import country

ACTIVITIES = DATA / "XM-DAC-41146-sample-activities.xml"
OUTCOMES = "iati-activity[@hierarchy='1']"
"""The demo's outcomes: Mali's outputs, published as child activities (hierarchy 2), are listed
and counted under their outcome, whose money they split."""
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
YEARS = (2022, 2023, 2024)
UNWOMEN = load_portal([bundled("unwomen")])


def _activities() -> dict[str, etree._Element]:
    root = etree.parse(str(ACTIVITIES)).getroot()
    return {a.findtext("iati-identifier"): a for a in root.iterfind(OUTCOMES)}


def _texts(el: etree._Element | None) -> list[tuple[str | None, str]]:
    if el is None:
        return []
    return [(n.get(XML_LANG), n.text or "") for n in el.iterfind("narrative")]


def expected_comment(act: etree._Element, year: int) -> list[tuple[str | None, str]]:
    """The first actual comment of an outcome (result type 2) on a period of ``year``."""
    for period in act.xpath("result[@type='2']/indicator/period"):
        if period.xpath("string(period-start/@iso-date)")[:4] != str(year):
            continue
        for actual in period.iterfind("actual"):
            texts = _texts(actual.find("comment"))
            if texts:
                return texts
    return []


def pick(texts: list[tuple[str | None, str]], lang: str) -> tuple[str | None, str]:
    return next((t for t in texts if t[0] == lang), texts[0])


@pytest.fixture
def demo(engine: Engine) -> Iterator[Engine]:
    assert not ingest(engine, [str(p) for p in demo_files()]).failed
    yield engine


def _ids(engine: Engine) -> dict[str, int]:
    """The stored outcomes (their outputs' child activities publish no results)."""
    outcomes = _activities()
    with engine.connect() as conn:
        rows = conn.execute(select(s.activity.c.iati_identifier, s.activity.c.id)).all()
    return {identifier: aid for identifier, aid in rows if identifier in outcomes}


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_actual_comment_narratives_match_the_xml(demo: Engine, lang: str) -> None:
    ids = _ids(demo)
    xml = _activities()
    with demo.connect() as conn:
        for year in YEARS:
            found = progress.progress_narratives(
                conn, list(ids.values()), year, lang, source="actual-comment", result_type="2"
            )
            assert set(found) == set(ids.values())
            for identifier, activity_id in ids.items():
                published = expected_comment(xml[identifier], year)
                assert published, (identifier, year)
                got = found[activity_id]
                assert (got.lang, got.text) == pick(published, lang), (identifier, year)
                assert got.requested == (lang in {lg for lg, _t in published})
                assert list(got.languages) == [lg for lg, _t in published]
                assert str(year) in got.text
        # No year: a year-bound source finds nothing; a year without periods neither.
        assert progress.progress_narratives(conn, list(ids.values()), None, lang,
                                            source="actual-comment") == {}  # fmt: skip
        assert progress.progress_narratives(conn, list(ids.values()), 2019, lang,
                                            source="actual-comment") == {}  # fmt: skip


def test_other_sources_match_the_xml(demo: Engine) -> None:
    ids = _ids(demo)
    xml = _activities()
    with demo.connect() as conn:
        described = progress.progress_narratives(
            conn, list(ids.values()), None, "fr",
            source="activity-description", description_type="1",
        )  # fmt: skip
        absent = progress.progress_narratives(
            conn, list(ids.values()), 2023, "en",
            source="activity-description", description_type="4",
        )  # fmt: skip
        results = progress.progress_narratives(
            conn, list(ids.values()), 2023, "en", source="result-description"
        )
        outputs = progress.progress_narratives(
            conn, list(ids.values()), 2023, "en", source="actual-comment", result_type="1"
        )
    for identifier, activity_id in ids.items():
        act = xml[identifier]
        assert (described[activity_id].lang, described[activity_id].text) == pick(
            _texts(act.find("description[@type='1']")), "fr"
        )
        first_output = act.xpath(
            "result[@type='1']/indicator/period[starts-with(period-start/@iso-date, '2023')]"
            "/actual/comment"
        )[0]
        assert (outputs[activity_id].lang, outputs[activity_id].text) == pick(
            _texts(first_output), "en"
        )
    assert absent == {}
    # The sample publishes no result descriptions.
    assert not etree.parse(str(ACTIVITIES)).xpath("//result/description")
    assert results == {}


def test_unknown_source_is_refused(demo: Engine) -> None:
    with demo.connect() as conn, pytest.raises(ValueError, match="unknown progress"):
        progress.progress_narratives(conn, [1], 2023, "en", source="comments")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_progress_tab_context(demo: Engine, lang: str) -> None:
    ctx = Context(portal=UNWOMEN, filters=Filters(year=2023), language=lang)
    xml = _activities()
    plan = UNWOMEN.home.strategic_plan
    assert plan is not None
    with demo.connect() as conn:
        page = country.build(conn, ctx, "ML", "progress")
        overview = country.build(conn, ctx, "ML")
    assert page is not None and overview is not None
    found = page.context["progress"]
    assert (found["source"], found["year"]) == ("actual-comment", 2023)
    mali = sorted(i for i, a in xml.items() if a.xpath("recipient-country[@code='ML']"))
    assert [o["iati_identifier"] for o in found["outcomes"]] == mali
    assert [i["iati_identifier"] for i in page.context["items"]] == mali
    for outcome in found["outcomes"]:
        act = xml[outcome["iati_identifier"]]
        assert outcome["statement"] == pick(_texts(act.find("title")), lang)
        suffix = outcome["iati_identifier"].removeprefix("XM-DAC-41146-MLI_")
        related = outcome["plan_outcome"]
        assert related["code"] == f"SP_{suffix}"
        listed = plan.outcome(related["code"])
        assert listed is not None
        assert related["statement"] == (lang, listed.statement.get(lang))
        narrative = outcome["narrative"]
        assert (narrative["lang"], narrative["text"]) == pick(expected_comment(act, 2023), lang)
        assert narrative["requested"] is True
    for built in (page, overview):
        assert built.context["plan_period"] == {
            "start": 2022,
            "end": 2025,
            "office": None,
            "label": "2022–2025",
        }
