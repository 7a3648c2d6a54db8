"""Publisher profiles: the neutral default, the shipped UN Women profile, portals, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from iatiportal.demo import demo_files
from iatiportal.profile import (
    Names,
    Portal,
    ProfileError,
    bundled,
    load_portal,
    load_profile,
)

MINIMAL = 'reporting_org_refs = ["XX-ONE"]\n'


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_profile_gives_neutral_labels_and_default_money_rules() -> None:
    profile = load_profile(None)
    assert profile.reporting_org_refs == ()
    assert profile.activity_label.get("en") == "Activity"
    assert profile.activity_label_plural.get("fr") == "Activités"
    assert profile.strategic_plan is None
    assert profile.money.budget_status == "prefer-committed"
    assert profile.money.disbursements_are_expenditure is False
    assert profile.region_name("99", "2") is None


def test_unwomen_profile() -> None:
    profile = load_profile(bundled("unwomen"))
    assert profile.key == "unwomen"
    assert profile.reporting_org_refs == ("XM-DAC-41146",)
    assert profile.name.get("fr") == "ONU Femmes"
    assert profile.activity_label.get("en") == "Outcome"
    assert profile.money.budget_status == "prefer-committed"
    assert profile.money.disbursements_are_expenditure is False
    plan = profile.strategic_plan
    assert plan is not None
    assert plan.sector_vocabulary == "99"
    assert [a.code for a in plan.impact_areas] == ["D1", "D2", "D3", "D4", "O1", "O2", "O3"]
    d3 = plan.impact_area("D3")
    assert d3 is not None
    assert d3.name.get("en") == "Ending violence against women"
    assert d3.name.get("fr") == "Élimination de la violence à l'égard des femmes"
    assert plan.impact_area("D9") is None
    assert profile.region_name("99", "4", "fr") == "Europe et Asie centrale"
    assert profile.region_name("1", "4") is None
    eca = profile.office("ECA")
    assert eca is not None
    assert eca.region == "4"


@pytest.mark.parametrize(
    ("identifier", "outcome", "area", "office"),
    [
        ("XM-DAC-41146-ALB_D_4.1", "D_4.1", "D4", "ALB"),
        ("XM-DAC-41146-PAP _O_1.1", "O_1.1", "O1", "PAP"),  # a space, as published
        ("XM-DAC-41146-ECA_D_2.1", "D_2.1", "D2", "ECA"),
        ("XM-DAC-41146-BDI_O_2.10", "O_2.10", "O2", "BDI"),
    ],
)
def test_unwomen_identifier_codes(identifier: str, outcome: str, area: str, office: str) -> None:
    plan = load_profile(bundled("unwomen")).strategic_plan
    assert plan is not None
    parts = plan.parse_identifier(identifier)
    assert parts is not None
    assert (parts.outcome_code, parts.impact_area_code, parts.office) == (outcome, area, office)


@pytest.mark.parametrize(
    "identifier", ["XM-DAC-41114-ALB_D_4.1", "XM-DAC-41146-ALB", "XM-DAC-41146-ALB_X_4.1"]
)
def test_identifiers_outside_the_pattern_have_no_codes(identifier: str) -> None:
    plan = load_profile(bundled("unwomen")).strategic_plan
    assert plan is not None
    assert plan.parse_identifier(identifier) is None


def test_unwomen_profile_covers_the_published_codes(shared: Path) -> None:
    """Every identifier of the real UN Women file parses; every vocabulary-99 region and
    impact-area code in it has a name, and every non-country office is listed."""
    profile = load_profile(bundled("unwomen"))
    plan = profile.strategic_plan
    assert plan is not None
    (path,) = (shared / "iati" / "unwomen").glob("*.xml")
    root = etree.parse(str(path)).getroot()
    activities = root.findall("iati-activity")
    assert len(activities) == 13
    for act in activities:
        ident = (act.findtext("iati-identifier") or "").strip()
        parts = plan.parse_identifier(ident)
        assert parts is not None, ident
        assert parts.outcome_code is not None
        assert ident.replace(" ", "").endswith(parts.outcome_code)
        for region in act.iterfind("recipient-region[@vocabulary='99']"):
            assert profile.region_name("99", region.get("code", "")) is not None, ident
        for sector in act.iterfind("sector[@vocabulary='99']"):
            assert plan.impact_area(sector.get("code", "")) is not None, ident
        if act.find("recipient-region") is not None:
            assert parts.office is not None
            assert profile.office(parts.office) is not None, ident


def test_names_fall_back_to_the_base_language_then_english() -> None:
    names = Names({"en": "Outcome", "fr": "Effet"})
    assert names.get("fr-CA") == "Effet"
    assert names.get("de") == "Outcome"
    assert Names({"es": "Efecto"}).get("en") == "Efecto"
    assert Names().get("en", "x") == "x"
    assert not Names()


def test_minimal_profile_takes_defaults_and_the_file_name(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, "ngo.toml", MINIMAL))
    assert profile.key == "ngo"
    assert profile.reporting_org_refs == ("XX-ONE",)
    assert profile.activity_label.get("en") == "Activity"
    assert profile.strategic_plan is None


def test_money_rules_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "donor.toml",
        MINIMAL + '[money]\nbudget_status = "committed"\ndisbursements_are_expenditure = true\n',
    )
    profile = load_profile(path)
    assert profile.money.budget_status == "committed"
    assert profile.money.disbursements_are_expenditure is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "reporting_org_refs: is required"),
        (MINIMAL + "activity_lable = 'Project'\n", "activity_lable: unknown key"),
        (MINIMAL + "[money]\nbudget_status = 'both'\n", "money.budget_status: must be one of"),
        (MINIMAL + "[money]\ndisbursements_are_expenditure = 'yes'\n", "must be true or false"),
        (MINIMAL + "[strategic_plan]\nidentifier_pattern = '(['\n", "not a regular expression"),
        (
            MINIMAL + "[strategic_plan]\nidentifier_pattern = '(?P<a>x)'\noutcome_code = '{b}'\n",
            "outcome_code: names groups the pattern lacks: ['b']",
        ),
        (MINIMAL + "[[regions]]\nname = 'Somewhere'\n", "regions[0].code: is required"),
        (MINIMAL + "name = 3\n", "name: must be a string or a table of languages"),
        ("reporting_org_refs = [", "not valid TOML"),
    ],
)
def test_bad_profiles_are_refused_with_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(ProfileError, match=r"bad\.toml") as caught:
        load_profile(path)
    assert message in str(caught.value)


def test_missing_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "absent.toml")


def test_portal_with_several_publishers(tmp_path: Path) -> None:
    other = write(
        tmp_path,
        "other.toml",
        'reporting_org_refs = ["XX-TWO", "XX-TWO-B"]\nactivity_label = "Project"\n',
    )
    portal = load_portal([bundled("unwomen"), other])
    assert portal.home.key == "unwomen"
    assert portal.home_org_refs == ("XM-DAC-41146", "XX-TWO", "XX-TWO-B")
    assert portal.for_org("XX-TWO-B").activity_label.get("en") == "Project"
    assert portal.for_org("XM-DAC-41146").key == "unwomen"
    assert portal.for_org("XX-UNKNOWN") is portal.default
    assert portal.for_org(None).activity_label.get("en") == "Activity"


def test_portal_without_profiles_is_neutral() -> None:
    portal = load_portal([])
    assert portal.home_org_refs == ()
    assert portal.home.activity_label.get("en") == "Activity"


def test_one_reporting_org_in_two_profiles_is_refused(tmp_path: Path) -> None:
    a = write(tmp_path, "a.toml", MINIMAL)
    b = write(tmp_path, "b.toml", MINIMAL)
    with pytest.raises(ProfileError, match="XX-ONE is in two profiles: a and b"):
        load_portal([a, b])
    assert Portal().home.key == "default"


# -- strategic plan outcomes, plan periods, progress narratives ------------------------------

PLAN = MINIMAL + (
    "[strategic_plan]\n"
    "identifier_pattern = '^XX-ONE-(?P<office>[A-Z]+)-(?P<n>\\d+)$'\n"
    "office = '{office}'\n"
)


def test_plan_outcomes_periods_and_progress_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ngo.toml",
        PLAN
        + "plan_outcome_code = 'P{n}'\n"
        + "plan_outcome_vocabulary = '98'\n"
        + "[[strategic_plan.impact_areas]]\ncode = 'A'\n"
        + "[[strategic_plan.outcomes]]\ncode = 'P1'\nimpact_area = 'A'\n"
        + "statement = { en = 'Girls go to school', fr = \"Les filles vont à l'école\" }\n"
        + "[[strategic_plan.outcomes]]\ncode = 'P2'\nstatement = 'Clean water'\n"
        + "[[strategic_plan.periods]]\nstart = 2018\nend = 2021\n"
        + "[[strategic_plan.periods]]\nstart = 2022\nend = 2025\n"
        + "[[strategic_plan.periods]]\nstart = 2020\nend = 2024\noffice = 'MLI'\n"
        + "[progress]\nsource = 'result-description'\nresult_type = '2'\n",
    )
    profile = load_profile(path)
    plan = profile.strategic_plan
    assert plan is not None
    p1 = plan.outcome("P1")
    assert p1 is not None and p1.impact_area == "A"
    assert (p1.statement.get("fr"), p1.statement.get("es")) == (
        "Les filles vont à l'école",
        "Girls go to school",
    )
    assert plan.outcome("P9") is None
    # From the identifier first, else from the sector vocabulary.
    assert plan.plan_outcome_of("XX-ONE-MLI-2", [("98", "P1")]) == "P2"
    assert plan.plan_outcome_of("elsewhere-7", [("1", "15150"), ("98", "P1")]) == "P1"
    assert plan.plan_outcome_of("elsewhere-7", [("1", "15150")]) is None
    # An office's own period comes before the one of every office; a year outside all: None.
    assert (plan.period_for("MLI", 2023).start, plan.period_for("MLI", 2025).start) == (
        2020,
        2022,
    )
    assert plan.period_for("SEN", 2023).label == "2022–2025"
    assert plan.period_for(None, 2019).label == "2018–2021"
    assert plan.period_for("SEN", 2030) is None and plan.period_for("SEN", None) is None
    assert profile.progress is not None
    assert (profile.progress.source, profile.progress.result_type) == ("result-description", "2")
    assert profile.progress.description_type is None


def test_activity_description_progress_needs_its_type(tmp_path: Path) -> None:
    text = MINIMAL + "[progress]\nsource = 'activity-description'\ndescription_type = '2'\n"
    progress = load_profile(write(tmp_path, "ngo.toml", text)).progress
    assert progress is not None
    assert (progress.source, progress.description_type, progress.result_type) == (
        "activity-description",
        "2",
        None,
    )
    assert load_profile(write(tmp_path, "none.toml", MINIMAL)).progress is None


def test_unwomen_profile_links_outcomes_to_the_plan() -> None:
    profile = load_profile(bundled("unwomen"))
    plan = profile.strategic_plan
    assert plan is not None
    assert plan.plan_outcome_of("XM-DAC-41146-MLI_D_4.1") == "SP_D_4.1"
    assert plan.plan_outcome_of("XM-DAC-41146-PAP _O_1.1") == "SP_O_1.1"
    assert plan.period_for("MLI", 2022) is not None
    # Sample wording is marked as such in both languages.
    for outcome in plan.outcomes:
        assert outcome.impact_area is not None and plan.impact_area(outcome.impact_area)
        assert outcome.statement.get("en").endswith("(sample wording)")
        assert outcome.statement.get("fr").endswith("(formulation fictive)")
    assert profile.progress is not None and profile.progress.source == "actual-comment"


BAD_PLAN = [
    (PLAN + "plan_outcome_code = 'P{m}'\n", "plan_outcome_code: names groups the pattern lacks"),
    (PLAN + "[[strategic_plan.outcomes]]\nstatement = 'x'\n", "outcomes[0].code: is required"),
    (PLAN + "[[strategic_plan.outcomes]]\ncode = 'P1'\n", "outcomes[0].statement: is required"),
    (
        PLAN + "[[strategic_plan.outcomes]]\ncode = 'P1'\nstatement = { en = ' ' }\n",
        "outcomes[0].statement: is required",
    ),
    (
        PLAN
        + "[[strategic_plan.outcomes]]\ncode = 'P1'\nstatement = 'x'\n" * 1
        + "[[strategic_plan.outcomes]]\ncode = 'P1'\nstatement = 'y'\n",
        "outcomes[1].code: P1 is given twice",
    ),
    (
        PLAN + "[[strategic_plan.outcomes]]\ncode = 'P1'\nstatement = 'x'\nimpact_area = 'Z'\n",
        "outcomes[0].impact_area: Z is not one of the impact areas",
    ),
    (
        PLAN + "[[strategic_plan.outcomes]]\ncode = 'P1'\nstatment = 'x'\n",
        "outcomes[0].statement: is required",
    ),
    (PLAN + "[[strategic_plan.periods]]\nstart = 2022\n", "periods[0].end: is required"),
    (
        PLAN + "[[strategic_plan.periods]]\nstart = '2022'\nend = 2025\n",
        "periods[0].start: must be a year",
    ),
    (
        PLAN + "[[strategic_plan.periods]]\nstart = 2022.5\nend = 2025\n",
        "periods[0].start: must be a year",
    ),
    (
        PLAN + "[[strategic_plan.periods]]\nstart = 2025\nend = 2022\n",
        "periods[0].end: 2022 is before start 2025",
    ),
    (
        PLAN
        + "[[strategic_plan.periods]]\nstart = 2018\nend = 2022\n"
        + "[[strategic_plan.periods]]\nstart = 2022\nend = 2025\n",
        "periods[1].start: 2022–2025 overlaps 2018–2022, also of every office",
    ),
    (
        PLAN
        + "[[strategic_plan.periods]]\nstart = 2020\nend = 2024\noffice = 'MLI'\n"
        + "[[strategic_plan.periods]]\nstart = 2023\nend = 2027\noffice = 'MLI'\n",
        "periods[1].start: 2023–2027 overlaps 2020–2024, also of office MLI",
    ),
    (
        PLAN + "[[strategic_plan.periods]]\nstart = 2022\nend = 2025\nofice = 'MLI'\n",
        "periods[0].ofice: unknown key",
    ),
    (MINIMAL + "[progress]\nresult_type = '2'\n", "progress.source: is required"),
    (MINIMAL + "[progress]\nsource = 'comments'\n", "progress.source: must be one of"),
    (
        MINIMAL + "[progress]\nsource = 'actual-comment'\nresult_type = '7'\n",
        "progress.result_type: must be one of",
    ),
    (
        MINIMAL + "[progress]\nsource = 'actual-comment'\nresult_type = 2\n",
        "progress.result_type: must be a non-empty string",
    ),
    (
        MINIMAL + "[progress]\nsource = 'activity-description'\n",
        'progress.description_type: is required with source = "activity-description"',
    ),
    (
        MINIMAL + "[progress]\nsource = 'activity-description'\ndescription_type = '9'\n",
        "progress.description_type: must be one of",
    ),
    (
        MINIMAL
        + "[progress]\nsource = 'activity-description'\ndescription_type = '1'\n"
        + "result_type = '2'\n",
        'progress.result_type: does not apply to source = "activity-description"',
    ),
    (
        MINIMAL + "[progress]\nsource = 'actual-comment'\ndescription_type = '1'\n",
        'progress.description_type: applies to source = "activity-description" only',
    ),
    (
        MINIMAL + "[progress]\nsource = 'actual-comment'\nlanguage = 'en'\n",
        "progress.language: unknown key",
    ),
    (MINIMAL + "progress = 'actual-comment'\n", "progress: must be a table"),
]


@pytest.mark.parametrize(("text", "message"), BAD_PLAN)
def test_bad_plan_and_progress_keys_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(ProfileError, match=r"bad\.toml") as caught:
        load_profile(path)
    assert message in str(caught.value)


# -- strategic plan indicators ----------------------------------------------------------------

INDICATORS = (
    PLAN
    + "indicator_vocabulary = '99'\n"
    + "[[strategic_plan.outcomes]]\ncode = 'P1'\nstatement = 'Girls go to school'\n"
)


def test_plan_indicators_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ngo.toml",
        INDICATORS
        + "[[strategic_plan.indicators]]\ncode = 'P1.a'\noutcome = 'P1'\nkind = 'common'\n"
        + "statement = { en = 'Girls enrolled', fr = 'Filles inscrites' }\n"
        + "[[strategic_plan.indicators]]\ncode = 'P1.b'\nkind = 'complementary'\n"
        + "statement = 'Schools built'\n"
        + "[[strategic_plan.indicators]]\ncode = 'P9'\nstatement = { fr = 'Eau potable' }\n",
    )
    plan = load_profile(path).strategic_plan
    assert plan is not None
    assert plan.indicator_vocabulary == "99"
    assert [(i.code, i.outcome, i.kind) for i in plan.indicators] == [
        ("P1.a", "P1", "common"),
        ("P1.b", None, "complementary"),
        ("P9", None, None),
    ]
    a = plan.indicator("P1.a")
    assert a is not None
    assert (a.statement.get("fr"), a.statement.get("es")) == ("Filles inscrites", "Girls enrolled")
    assert plan.indicator("P1.c") is None and plan.indicator(None) is None
    # The first reference code of the indicator vocabulary; other vocabularies are not it.
    assert plan.plan_indicator_of([("9", "4.1.1"), ("99", "P1.b"), ("99", "P1.a")]) == "P1.b"
    assert plan.plan_indicator_of([("99", "P7")]) == "P7"  # a code the profile lacks
    assert plan.plan_indicator_of([("9", "4.1.1"), (None, "P1.a")]) is None
    assert plan.plan_indicator_of([]) is None


def test_without_indicator_vocabulary_no_indicator_is_linked(tmp_path: Path) -> None:
    plan = load_profile(write(tmp_path, "ngo.toml", PLAN)).strategic_plan
    assert plan is not None
    assert (plan.indicator_vocabulary, plan.indicators) == (None, ())
    assert plan.plan_indicator_of([("99", "P1.a")]) is None


def test_unwomen_plan_indicators_cover_the_demo_references() -> None:
    plan = load_profile(bundled("unwomen")).strategic_plan
    assert plan is not None and plan.indicator_vocabulary == "99"
    root = etree.parse(str(_demo_activities())).getroot()
    codes = {
        r.get("code")
        for r in root.iter("reference")
        if r.getparent().tag == "indicator" and r.get("vocabulary") == "99"
    }
    assert codes, "the demo's indicators reference plan indicators"
    assert codes == {i.code for i in plan.indicators}
    outcomes = {o.code for o in plan.outcomes}
    for indicator in plan.indicators:
        assert indicator.outcome in outcomes
        # Sample wording is marked as such in both languages.
        assert indicator.statement.get("en").endswith("(sample wording)")
        assert indicator.statement.get("fr").endswith("(formulation fictive)")
    assert {i.kind for i in plan.indicators} == {"common", "complementary", None}


def _demo_activities() -> Path:
    return next(p for p in demo_files() if "activities" in p.name)


ONE = "[[strategic_plan.indicators]]\n"
BAD_INDICATORS = [
    (INDICATORS + ONE + "statement = 'x'\n", "indicators[0].code: is required"),
    (INDICATORS + ONE + "code = 'P1.a'\n", "indicators[0].statement: is required"),
    (
        INDICATORS + ONE + "code = 'P1.a'\nstatement = { en = ' ' }\n",
        "indicators[0].statement: is required",
    ),
    (
        INDICATORS + ONE + "code = 'P1.a'\nstatement = 'x'\n" + ONE + "code = 'P1.a'\n"
        "statement = 'y'\n",
        "indicators[1].code: P1.a is given twice",
    ),
    (
        INDICATORS + ONE + "code = 'P1.a'\nstatement = 'x'\noutcome = 'P2'\n",
        "indicators[0].outcome: P2 is not one of the plan outcomes",
    ),
    (
        INDICATORS + ONE + "code = 'P1.a'\nstatement = 'x'\nkind = 'core'\n",
        "indicators[0].kind: must be one of 'common', 'complementary'",
    ),
    (
        INDICATORS + ONE + "code = 'P1.a'\nstatement = 'x'\nkind = 'Common'\n",
        "indicators[0].kind: must be one of 'common', 'complementary'",
    ),
    (
        INDICATORS + ONE + "code = 'P1.a'\nstatement = 'x'\nbadge = 'common'\n",
        "strategic_plan.indicators[0].badge: unknown key",
    ),
    (
        PLAN + ONE + "code = 'P1.a'\nstatement = 'x'\n",
        "strategic_plan.indicator_vocabulary: is required with [[strategic_plan.indicators]]",
    ),
    (
        PLAN + "indicator_vocabulary = 99\n",
        "strategic_plan.indicator_vocabulary: must be a non-empty string",
    ),
    (PLAN + "indicator_vocabulary = '99'\nindicators = 'P1.a'\n", "must be an array of tables"),
]


@pytest.mark.parametrize(("text", "message"), BAD_INDICATORS)
def test_bad_plan_indicators_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(ProfileError, match=r"bad\.toml") as caught:
        load_profile(path)
    assert message in str(caught.value)


def test_no_branding_is_the_neutral_theme_and_it_is_readable() -> None:
    branding = load_profile(None).branding
    assert branding.logo is None and not branding.portal_name
    assert branding.colour_problems() == []


def test_unwomen_branding() -> None:
    branding = load_profile(bundled("unwomen")).branding
    assert branding.portal_name.get("fr") == "Portail de transparence d'ONU Femmes"
    assert (branding.primary, branding.accent) == ("#0076A3", "#009EDB")
    assert branding.logo is not None and branding.logo.is_file()
    assert branding.favicon is not None and branding.favicon.suffix == ".svg"
    assert [link.url for link in branding.footer_links] == [
        "https://www.unwomen.org/",
        "https://iatistandard.org/",
    ]
    assert branding.colour_problems() == []


def test_branding_reads_every_key(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    profile = load_profile(
        write(
            tmp_path,
            "org.toml",
            MINIMAL + "[branding]\n"
            'portal_name = "Open Org"\nlogo = "logo.png"\nprimary = "#1f4e79"\n'
            'accent = "#ffd166"\nintroduction = { en = "Hello", fr = "Bonjour" }\n'
            'disclaimer = "As published."\ndata_licence = "CC BY 4.0"\n'
            'data_licence_url = "https://creativecommons.org/licenses/by/4.0/"\n'
            '[[branding.footer_links]]\nlabel = "Home"\nurl = "https://example.org/"\n',
        )
    )
    b = profile.branding
    assert b.portal_name.get("fr") == "Open Org"
    assert b.logo == (tmp_path / "logo.png").resolve()
    assert (b.primary, b.on_primary, b.accent) == ("#1F4E79", "#FFFFFF", "#FFD166")
    assert b.introduction.get("fr") == "Bonjour"
    assert b.data_licence_url == "https://creativecommons.org/licenses/by/4.0/"
    assert b.footer_links[0].label.get() == "Home"


def test_unreadable_colours_are_refused_with_their_ratio(tmp_path: Path) -> None:
    # UN Women blue with white text: 3.04:1.
    path = write(tmp_path, "p.toml", MINIMAL + '[branding]\nprimary = "#009EDB"\n')
    with pytest.raises(ProfileError) as refused:
        load_profile(path)
    message = str(refused.value)
    assert "p.toml: branding.colours:" in message
    assert "on_primary #FFFFFF on primary #009EDB has a contrast of 3.04:1" in message
    assert "below the 4.5:1" in message

    path = write(tmp_path, "q.toml", MINIMAL + '[branding]\naccent = "#777777"\n')
    with pytest.raises(ProfileError, match=r"on_accent #1A1A1A on accent #777777 .* 3\.\d\d:1"):
        load_profile(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('primary = "blue"', r"branding\.primary: must be a colour as \"#RRGGBB\""),
        ('logo = "missing.svg"', r"branding\.logo: no file"),
        ('logo = "p.toml"', r"branding\.logo: must be an \.svg, \.png, \.ico file"),
        ('colour = "#000000"', r"branding\.colour: unknown key"),
        ('[[branding.footer_links]]\nlabel = "x"\nurl = "javascript:alert(1)"', r"url: must be"),
        ('[[branding.footer_links]]\nurl = "https://example.org/"', r"label: is required"),
    ],
)
def test_bad_branding_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, "p.toml", MINIMAL + "[branding]\n" + text + "\n")
    with pytest.raises(ProfileError, match=problem):
        load_profile(path)


def test_results_activity_vocabulary_is_read(tmp_path: Path) -> None:
    path = tmp_path / "linked.toml"
    path.write_text('reporting_org_refs = ["XX-1"]\n[results]\nactivity_vocabulary = "99"\n')
    assert load_profile(path).results.activity_vocabulary == "99"
    assert load_profile(None).results.activity_vocabulary is None
    assert load_profile(bundled("unwomen")).results.activity_vocabulary == "99"
    path.write_text('reporting_org_refs = ["XX-1"]\n[results]\nactivity_vocabular = "99"\n')
    with pytest.raises(ProfileError, match="activity_vocabular"):
        load_profile(path)
