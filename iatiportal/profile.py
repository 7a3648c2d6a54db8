"""Publisher profiles: whose portal this is and how its data reads, from a small TOML file.

A profile describes one publisher (one or more reporting-org refs): what one activity is
called ("Outcome" for UN Women, neutrally "Activity"), how activities link to its strategic
plan (a sector vocabulary whose codes are impact areas, codes parsed from the activity
identifier, an indicator reference vocabulary whose codes are plan indicators), names of its own
region and office codes, and two money rules: which budget status counts and whether
disbursements count as expenditure.

A portal can hold several publishers: ``load_portal`` reads one profile file per publisher and
answers ``Portal.for_org(ref)`` with the matching profile, or with the neutral default for a
reporting org that has none. ``load_profile(None)`` is that neutral default, with which every
page works for any publisher.

The file format (every key optional except where said; unknown keys are refused so that a typo
does not silently change a figure)::

    key = "unwomen"                       # short id of the profile (default: the file name)
    reporting_org_refs = ["XM-DAC-41146"] # the publisher's reporting-org refs (required)
    name = { en = "UN Women", fr = "ONU Femmes" }
    activity_label = { en = "Outcome", fr = "Effet" }
    activity_label_plural = { en = "Outcomes", fr = "Effets" }

    [money]
    budget_status = "prefer-committed"    # or "committed" / "indicative"
    disbursements_are_expenditure = false # count transaction type 3 with type 4
    core_providers = ["XM-DAC-41146"]     # incoming funds from these are core resources
                                          # (default: the publisher's own reporting-org refs)

    [strategic_plan]
    name = { en = "Strategic Plan 2018–2021" }
    sector_vocabulary = "99"              # sector codes of this vocabulary are impact areas
    identifier_pattern = '...'            # regex with named groups, searched in the identifier
    outcome_code = "{kind}_{number}"      # built from the pattern's groups
    impact_area_code = "{kind}{area}"
    office = "{office}"

    plan_outcome_code = "SP_{kind}_{number}"  # the plan outcome an activity relates to, built
                                          # from the pattern's groups (D_4.1 -> SP_D_4.1)
    plan_outcome_vocabulary = "98"        # or: sector codes of this vocabulary are plan outcome
                                          # codes (used where the identifier gives none)
    indicator_vocabulary = "99"           # indicator reference codes (indicator/reference
                                          # @vocabulary @code) of this vocabulary are plan
                                          # indicator codes; required with [[...indicators]]

    [[strategic_plan.impact_areas]]
    code = "D1"
    name = { en = "...", fr = "..." }

    [[strategic_plan.outcomes]]           # the plan's outcomes ("Related to SP_D_4.1: ...")
    code = "SP_D_4.1"                     # required, unique
    statement = { en = "...", fr = "..." }  # required
    impact_area = "D4"                    # optional: one of the impact areas above

    [[strategic_plan.indicators]]         # the plan's indicators ("Strategic plan indicator
                                          # SP_D_4.1_A: ..." under an activity's indicator)
    code = "SP_D_4.1_A"                   # required, unique
    statement = { en = "...", fr = "..." }  # required
    outcome = "SP_D_4.1"                  # optional: one of the plan outcomes above
    kind = "common"                       # optional: "common" or "complementary" (the
                                          # Common/Complementary badge)

    [[strategic_plan.periods]]            # plan periods, in whole years
    start = 2022                          # required
    end = 2025                            # required, not before start
    office = "MLI"                        # optional: that office's own period (e.g. its
                                          # Strategic Note); without: every office's period.
                                          # Periods of one office (or two global ones) must not
                                          # overlap, so that a year has one current period.

    [progress]                            # where the publisher puts progress narratives
    source = "actual-comment"             # required, one of:
      # "actual-comment": the comment of an indicator period's actual; the narrative of a year
      #   is the first comment (results, indicators, periods in published order) on a period
      #   starting in that year;
      # "result-description": a result's description; the narrative of a year is that of the
      #   first result with an indicator period starting in that year (publishers that repeat a
      #   result per year, as UN Women does);
      # "activity-description": the activity's description of one type, the same every year.
    result_type = "2"                     # ResultType code of the results read (default: any);
                                          # not with "activity-description"
    description_type = "2"                # DescriptionType code; required with, and only with,
                                          # "activity-description"

    [results]                             # what the publisher says in its results
    activity_vocabulary = "99"            # a result's reference (IATI 2.03 result/reference)
      # of this vocabulary whose code is the IATI identifier of an activity of the same
      # reporting organisation links the result to that activity: the result's budget,
      # expenditure and budget utilisation are that activity's (with its descendants', by the
      # money rules), over the years the page shows. Publishers who publish each output as a
      # child activity (hierarchy 2) carrying its money say so this way.

    [[regions]]                           # names of the publisher's own region codes
    vocabulary = "99"
    code = "2"
    name = { en = "Arab States", fr = "États arabes" }

    [[offices]]                           # office codes found in identifiers
    code = "RAS"
    region = "2"                          # optional: the region code it serves
    name = { en = "Arab States Regional Office" }

    [branding]                            # how the portal looks (the first profile's is used)
    portal_name = { en = "UN Women Transparency Portal", fr = "..." }
    logo = "unwomen-logo.svg"             # SVG or PNG, relative to the profile file
    favicon = "unwomen-favicon.svg"       # SVG, PNG or ICO, relative to the profile file
    primary = "#0076A3"                   # header, buttons, links (#RRGGBB)
    on_primary = "#FFFFFF"                # text on primary (default white)
    accent = "#009EDB"                    # stripes, the selected tab, highlights
    on_accent = "#1A1A1A"                 # text on accent (default near-black)
    introduction = { en = "..." }         # a paragraph on the home page
    disclaimer = { en = "..." }           # the footer's disclaimer
    data_licence = { en = "..." }         # the licence of the data, in the footer
    data_licence_url = "https://..."

    [[branding.footer_links]]             # the organisation's links, in the footer
    label = { en = "About UN Women" }
    url = "https://www.unwomen.org/en/about-us"

Colours must be readable: text on ``primary`` and on ``accent`` and ``primary`` as link text
on the white page each need the WCAG 2.1 AA contrast of 4.5:1, or the profile is refused
(ProfileError naming both colours and the ratio). Without ``[branding]`` the portal has the
neutral theme of :class:`Branding`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

BudgetStatusRule = Literal["prefer-committed", "committed", "indicative"]
BUDGET_STATUS_RULES: tuple[BudgetStatusRule, ...] = ("prefer-committed", "committed", "indicative")
"""``prefer-committed``: per activity and budget period, a committed budget (status 2) replaces
an indicative one (status 1); ``committed``: only status 2 counts; ``indicative``: only status 1
(or no status, which IATI defines as indicative) counts."""

DEFAULT_LANG = "en"


class ProfileError(ValueError):
    """A profile file that cannot be used (the message names the file and the key)."""


@dataclass(frozen=True)
class Names:
    """A label in several languages; ``get`` falls back to English, then to any language."""

    by_lang: Mapping[str, str] = field(default_factory=dict)

    def get(self, lang: str = DEFAULT_LANG, default: str = "") -> str:
        if lang in self.by_lang:
            return self.by_lang[lang]
        base = lang.split("-", 1)[0].lower()
        for candidate in (base, DEFAULT_LANG):
            if candidate in self.by_lang:
                return self.by_lang[candidate]
        return next(iter(self.by_lang.values()), default)

    def pick(self, lang: str = DEFAULT_LANG) -> tuple[str, str] | None:
        """(language, label) as ``get`` chooses it, saying which language it is in."""
        base = lang.split("-", 1)[0].lower()
        for candidate in (lang, base, DEFAULT_LANG):
            if candidate in self.by_lang:
                return candidate, self.by_lang[candidate]
        return next(iter(self.by_lang.items()), None)

    def __bool__(self) -> bool:
        return bool(self.by_lang)


@dataclass(frozen=True)
class ImpactArea:
    code: str
    name: Names


@dataclass(frozen=True)
class PlanOutcome:
    """One outcome of the strategic plan: its code and statement."""

    code: str
    statement: Names
    impact_area: str | None = None


PlanIndicatorKind = Literal["common", "complementary"]
PLAN_INDICATOR_KINDS: tuple[PlanIndicatorKind, ...] = ("common", "complementary")
"""The model portal's "Common" / "Complementary" badges. What they mean is the publisher's to
say; our reading (not stated in the shared data): common indicators are shared with other
organisations' plans (the common chapter of the UNDP, UNFPA, UNICEF and UN Women strategic
plans), complementary ones are the plan's own beside them."""


@dataclass(frozen=True)
class PlanIndicator:
    """One indicator of the strategic plan: its code, statement, plan outcome and kind."""

    code: str
    statement: Names
    outcome: str | None = None
    kind: PlanIndicatorKind | None = None


@dataclass(frozen=True)
class PlanPeriod:
    """A plan period in whole years, of one office or (office None) of every office."""

    start: int
    end: int
    office: str | None = None

    def __contains__(self, year: object) -> bool:
        return isinstance(year, int) and self.start <= year <= self.end

    def overlaps(self, other: PlanPeriod) -> bool:
        return self.start <= other.end and other.start <= self.end

    @property
    def label(self) -> str:
        return f"{self.start}–{self.end}"


@dataclass(frozen=True)
class IdentifierParts:
    """What the strategic plan's pattern reads from one activity identifier."""

    outcome_code: str | None
    impact_area_code: str | None
    office: str | None
    plan_outcome_code: str | None = None


@dataclass(frozen=True)
class StrategicPlan:
    name: Names
    sector_vocabulary: str | None
    impact_areas: tuple[ImpactArea, ...]
    identifier_pattern: re.Pattern[str] | None = None
    outcome_code: str | None = None
    impact_area_code: str | None = None
    office: str | None = None
    plan_outcome_code: str | None = None
    plan_outcome_vocabulary: str | None = None
    outcomes: tuple[PlanOutcome, ...] = ()
    periods: tuple[PlanPeriod, ...] = ()
    indicator_vocabulary: str | None = None
    indicators: tuple[PlanIndicator, ...] = ()

    def impact_area(self, code: str) -> ImpactArea | None:
        return next((a for a in self.impact_areas if a.code == code), None)

    def outcome(self, code: str | None) -> PlanOutcome | None:
        """The plan outcome of this code (None for an unknown code: the page shows the code)."""
        return next((o for o in self.outcomes if o.code == code), None)

    def indicator(self, code: str | None) -> PlanIndicator | None:
        """The plan indicator of this code (None for an unknown code: the page shows the
        code)."""
        return next((i for i in self.indicators if i.code == code), None)

    def plan_indicator_of(self, references: Iterable[tuple[str | None, str | None]]) -> str | None:
        """The code of the plan indicator an activity's indicator is linked to: its first
        reference code (``indicator/reference``, as (vocabulary, code)) in
        ``indicator_vocabulary``; None without one.

        >>> plan = load_profile(bundled("unwomen")).strategic_plan
        >>> plan.plan_indicator_of([("1", "5.5.1"), ("99", "SP_D_1.1_A")])
        'SP_D_1.1_A'
        """
        if self.indicator_vocabulary is None:
            return None
        return next(
            (c for v, c in references if v == self.indicator_vocabulary and c and c.strip()),
            None,
        )

    def plan_outcome_of(
        self, identifier: str, sectors: Iterable[tuple[str | None, str | None]] = ()
    ) -> str | None:
        """The code of the plan outcome an activity relates to: built from its identifier
        (``plan_outcome_code``), else its sector code in ``plan_outcome_vocabulary``.

        >>> plan = load_profile(bundled("unwomen")).strategic_plan
        >>> plan.plan_outcome_of("XM-DAC-41146-MLI_D_4.1")
        'SP_D_4.1'
        """
        parts = self.parse_identifier(identifier)
        if parts is not None and parts.plan_outcome_code is not None:
            return parts.plan_outcome_code
        if self.plan_outcome_vocabulary is not None:
            for vocabulary, code in sectors:
                if vocabulary == self.plan_outcome_vocabulary and code:
                    return code
        return None

    def period_for(self, office: str | None, year: int | None) -> PlanPeriod | None:
        """The plan period of ``office`` that holds ``year``: the office's own, else the one
        of every office; None where no period holds the year (or the year is None)."""
        if year is None:
            return None
        own = [p for p in self.periods if office is not None and p.office == office]
        every = [p for p in self.periods if p.office is None]
        return next((p for p in (*own, *every) if year in p), None)

    def parse_identifier(self, identifier: str) -> IdentifierParts | None:
        """The outcome code, impact area and office encoded in an identifier, if it matches.

        >>> plan = load_profile(bundled("unwomen")).strategic_plan
        >>> plan.parse_identifier("XM-DAC-41146-PAP _O_1.1")  # doctest: +NORMALIZE_WHITESPACE
        IdentifierParts(outcome_code='O_1.1', impact_area_code='O1', office='PAP',
                        plan_outcome_code='SP_O_1.1')
        """
        if self.identifier_pattern is None:
            return None
        match = self.identifier_pattern.search(identifier)
        if match is None:
            return None
        groups = {k: v for k, v in match.groupdict().items() if v is not None}

        def build(template: str | None) -> str | None:
            if template is None:
                return None
            try:
                return template.format(**groups)
            except KeyError:
                return None

        return IdentifierParts(
            build(self.outcome_code),
            build(self.impact_area_code),
            build(self.office),
            build(self.plan_outcome_code),
        )


@dataclass(frozen=True)
class Region:
    vocabulary: str
    code: str
    name: Names


@dataclass(frozen=True)
class Office:
    code: str
    name: Names
    region: str | None = None


ProgressSourceKind = Literal["actual-comment", "result-description", "activity-description"]
PROGRESS_SOURCES: tuple[ProgressSourceKind, ...] = (
    "actual-comment",
    "result-description",
    "activity-description",
)
RESULT_TYPES = ("1", "2", "3", "9")
"""IATI ResultType codes: output, outcome, impact, other."""
DESCRIPTION_TYPES = ("1", "2", "3", "4")
"""IATI DescriptionType codes: general, objectives, target groups, other."""


@dataclass(frozen=True)
class ProgressSource:
    """Where a publisher puts its progress narratives (module docstring, ``[progress]``)."""

    source: ProgressSourceKind
    result_type: str | None = None
    description_type: str | None = None


@dataclass(frozen=True)
class MoneyRules:
    budget_status: BudgetStatusRule = "prefer-committed"
    disbursements_are_expenditure: bool = False
    # Providers whose incoming funds are core (regular) resources; () means the publisher's
    # own reporting-org refs (Profile.core_providers).
    core_providers: tuple[str, ...] = ()


PAGE_BACKGROUND = "#FFFFFF"
AA_TEXT_CONTRAST = 4.5
"""WCAG 2.1 success criterion 1.4.3 (AA): normal text needs 4.5:1 against its background."""
_HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}


def relative_luminance(colour: str) -> float:
    """The WCAG 2.1 relative luminance of ``#RRGGBB`` (https://www.w3.org/TR/WCAG21/#dfn-relative-luminance).

    >>> round(relative_luminance("#FFFFFF"), 3), relative_luminance("#000000")
    (1.0, 0.0)
    """
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(one: str, other: str) -> float:
    """The WCAG contrast ratio of two ``#RRGGBB`` colours, 1 to 21.

    >>> round(contrast_ratio("#009EDB", "#FFFFFF"), 2)
    3.04
    """
    light, dark = sorted((relative_luminance(one), relative_luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@dataclass(frozen=True)
class FooterLink:
    label: Names
    url: str


@dataclass(frozen=True)
class Branding:
    """The portal's face. The defaults are the neutral theme (no logo, a slate blue)."""

    portal_name: Names = field(default_factory=Names)
    logo: Path | None = None
    favicon: Path | None = None
    primary: str = "#2D4F6C"
    on_primary: str = "#FFFFFF"
    accent: str = "#E0A526"
    on_accent: str = "#1A1A1A"
    introduction: Names = field(default_factory=Names)
    disclaimer: Names = field(default_factory=Names)
    data_licence: Names = field(default_factory=Names)
    data_licence_url: str | None = None
    footer_links: tuple[FooterLink, ...] = ()

    def colour_problems(self) -> list[str]:
        """Each pair of colours that fails the AA contrast for text, said with its ratio."""
        pairs = (
            ("on_primary", self.on_primary, "primary", self.primary),
            ("on_accent", self.on_accent, "accent", self.accent),
            ("primary", self.primary, "the page background", PAGE_BACKGROUND),
        )
        return [
            f"{fg_name} {fg} on {bg_name} {bg} has a contrast of {ratio:.2f}:1, "
            f"below the {AA_TEXT_CONTRAST}:1 that WCAG 2.1 AA needs for text"
            for fg_name, fg, bg_name, bg in pairs
            if (ratio := contrast_ratio(fg, bg)) < AA_TEXT_CONTRAST
        ]


@dataclass(frozen=True)
class ResultRules:
    """How a publisher's results read (``[results]``): ``activity_vocabulary`` is the
    result/reference vocabulary whose codes name the activity carrying a result's money (None:
    results carry no money)."""

    activity_vocabulary: str | None = None


@dataclass(frozen=True)
class Profile:
    """One publisher's profile (see the module docstring for the file format)."""

    key: str = "default"
    reporting_org_refs: tuple[str, ...] = ()
    name: Names = field(default_factory=Names)
    activity_label: Names = field(
        default_factory=lambda: Names({"en": "Activity", "fr": "Activité"})
    )
    activity_label_plural: Names = field(
        default_factory=lambda: Names({"en": "Activities", "fr": "Activités"})
    )
    money: MoneyRules = field(default_factory=MoneyRules)
    strategic_plan: StrategicPlan | None = None
    regions: tuple[Region, ...] = ()
    offices: tuple[Office, ...] = ()
    progress: ProgressSource | None = None  # None: the publisher's narratives are not located
    results: ResultRules = field(default_factory=ResultRules)
    branding: Branding = field(default_factory=Branding)

    @property
    def core_providers(self) -> tuple[str, ...]:
        """The providers whose incoming funds are core resources (the money rules' list, else
        the publisher's own refs: what it funds from its regular resources)."""
        return self.money.core_providers or self.reporting_org_refs

    def region_name(self, vocabulary: str, code: str, lang: str = DEFAULT_LANG) -> str | None:
        """The publisher's name for one of its own region codes, if the profile gives one."""
        for region in self.regions:
            if region.vocabulary == vocabulary and region.code == code:
                return region.name.get(lang)
        return None

    def office(self, code: str) -> Office | None:
        return next((o for o in self.offices if o.code == code), None)


@dataclass(frozen=True)
class Portal:
    """The publishers one portal shows: a profile per publisher, and the neutral default."""

    profiles: tuple[Profile, ...] = ()
    default: Profile = field(default_factory=Profile)

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for profile in self.profiles:
            for ref in profile.reporting_org_refs:
                if ref in seen:
                    raise ProfileError(
                        f"reporting org {ref} is in two profiles: {seen[ref]} and {profile.key}"
                    )
                seen[ref] = profile.key

    @property
    def home_org_refs(self) -> tuple[str, ...]:
        """Every reporting-org ref the portal's publishers report with, in profile order."""
        return tuple(ref for p in self.profiles for ref in p.reporting_org_refs)

    @property
    def home(self) -> Profile:
        """The first publisher (whose labels the portal uses), or the neutral default."""
        return self.profiles[0] if self.profiles else self.default

    def for_org(self, ref: str | None) -> Profile:
        for profile in self.profiles:
            if ref is not None and ref in profile.reporting_org_refs:
                return profile
        return self.default


def bundled(key: str) -> Path:
    """The path of a profile shipped with iatiportal (``iatiportal/profiles/{key}.toml``)."""
    return Path(str(resources.files("iatiportal") / "profiles" / f"{key}.toml"))


def load_profile(path: Path | str | None) -> Profile:
    """The profile in a TOML file; with None, the neutral default profile."""
    if path is None:
        return Profile()
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ProfileError(f"{path}: cannot read the profile: {e.strerror or e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"{path}: not valid TOML: {e}") from e
    return _profile(_Table(data, str(path), ""), default_key=path.stem, folder=path.parent)


def load_portal(paths: Iterable[Path | str]) -> Portal:
    """A portal of one profile per file (in that order); no files gives the neutral portal."""
    return Portal(tuple(load_profile(p) for p in paths))


class _Table:
    """A TOML table read key by key, refusing keys that nothing read (typos)."""

    def __init__(self, data: Mapping[str, Any], source: str, where: str) -> None:
        self.data = data
        self.source = source
        self.where = where
        self.used: set[str] = set()

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, message: str) -> ProfileError:
        return ProfileError(f"{self.source}: {self._name(key)}: {message}")

    def get(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key)

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value.strip()

    def year(self, key: str) -> int | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 2200:
            raise self.fail(key, "must be a year, a whole number such as 2022")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(key)
        if value is not None and value not in choices:
            raise self.fail(key, f"must be one of {', '.join(repr(c) for c in choices)}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, "must be a string or a list of strings")
        return tuple(v.strip() for v in value)

    def names(self, key: str, default: Names | None = None) -> Names:
        value = self.get(key)
        if value is None:
            return default if default is not None else Names()
        if isinstance(value, str):
            value = {DEFAULT_LANG: value}
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self.fail(key, 'must be a string or a table of languages: { en = "..." }')
        return Names({k.lower(): v for k, v in value.items()})

    def table(self, key: str) -> _Table | None:
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return _Table(value, self.source, self._name(key))

    def tables(self, key: str) -> list[_Table]:
        value = self.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"must be an array of tables ([[{self._name(key)}]])")
        return [_Table(v, self.source, f"{self._name(key)}[{i}]") for i, v in enumerate(value)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(unknown[0], "unknown key")


def _required(table: _Table, key: str) -> str:
    value = table.text(key)
    if value is None:
        raise table.fail(key, "is required")
    return value


def _coded_statement(table: _Table, taken: set[str]) -> tuple[str, Names]:
    """A plan entry's ``code`` (required, not one of ``taken``) and ``statement`` (required,
    no language blank): plan outcomes and plan indicators."""
    code = _required(table, "code")
    if code in taken:
        raise table.fail("code", f"{code} is given twice")
    statement = table.names("statement")
    if not statement or not all(v.strip() for v in statement.by_lang.values()):
        raise table.fail("statement", 'is required: { en = "...", fr = "..." }')
    return code, statement


def _profile(t: _Table, default_key: str, folder: Path) -> Profile:
    neutral = Profile()
    refs = t.texts("reporting_org_refs")
    if not refs:
        raise t.fail("reporting_org_refs", "is required (the publisher's reporting-org refs)")
    money = MoneyRules()
    money_table = t.table("money")
    if money_table is not None:
        rule = money_table.text("budget_status", money.budget_status)
        if rule not in BUDGET_STATUS_RULES:
            raise money_table.fail("budget_status", f"must be one of {BUDGET_STATUS_RULES}")
        money = MoneyRules(
            rule,
            money_table.flag("disbursements_are_expenditure", money.disbursements_are_expenditure),
            money_table.texts("core_providers"),
        )
        money_table.done()
    plan_table = t.table("strategic_plan")
    plan = _plan(plan_table) if plan_table is not None else None
    regions = []
    for rt in t.tables("regions"):
        regions.append(
            Region(rt.text("vocabulary", "99") or "99", _required(rt, "code"), rt.names("name"))
        )
        rt.done()
    offices = []
    for ot in t.tables("offices"):
        offices.append(Office(_required(ot, "code"), ot.names("name"), ot.text("region")))
        ot.done()
    progress_table = t.table("progress")
    progress = _progress(progress_table) if progress_table is not None else None
    results = ResultRules()
    results_table = t.table("results")
    if results_table is not None:
        results = ResultRules(results_table.text("activity_vocabulary"))
        results_table.done()
    branding_table = t.table("branding")
    profile = Profile(
        key=t.text("key", default_key) or default_key,
        reporting_org_refs=refs,
        name=t.names("name"),
        activity_label=t.names("activity_label", neutral.activity_label),
        activity_label_plural=t.names("activity_label_plural", neutral.activity_label_plural),
        money=money,
        strategic_plan=plan,
        regions=tuple(regions),
        offices=tuple(offices),
        progress=progress,
        results=results,
        branding=_branding(branding_table, folder) if branding_table else Branding(),
    )
    t.done()
    return profile


def _progress(t: _Table) -> ProgressSource:
    found = t.choice("source", PROGRESS_SOURCES)
    if found is None:
        raise t.fail("source", f"is required, one of {', '.join(PROGRESS_SOURCES)}")
    source: ProgressSourceKind = next(k for k in PROGRESS_SOURCES if k == found)
    result_type = t.choice("result_type", RESULT_TYPES)
    description_type = t.choice("description_type", DESCRIPTION_TYPES)
    if source == "activity-description":
        if description_type is None:
            raise t.fail("description_type", f'is required with source = "{source}"')
        if result_type is not None:
            raise t.fail("result_type", f'does not apply to source = "{source}"')
    elif description_type is not None:
        raise t.fail("description_type", 'applies to source = "activity-description" only')
    t.done()
    return ProgressSource(source, result_type, description_type)


def _plan(t: _Table) -> StrategicPlan:
    pattern_text = t.text("identifier_pattern")
    pattern = None
    if pattern_text is not None:
        try:
            pattern = re.compile(pattern_text)
        except re.error as e:
            raise t.fail("identifier_pattern", f"not a regular expression: {e}") from e
    templates: dict[str, str | None] = {}
    for key in ("outcome_code", "impact_area_code", "office", "plan_outcome_code"):
        templates[key] = t.text(key)
        template = templates[key]
        if template is not None and pattern is not None:
            missing = set(re.findall(r"{(\w+)}", template)) - set(pattern.groupindex)
            if missing:
                raise t.fail(key, f"names groups the pattern lacks: {sorted(missing)}")
    areas = []
    for at in t.tables("impact_areas"):
        areas.append(ImpactArea(_required(at, "code"), at.names("name")))
        at.done()
    area_codes = {a.code for a in areas}
    outcomes: list[PlanOutcome] = []
    for ot in t.tables("outcomes"):
        code, statement = _coded_statement(ot, {o.code for o in outcomes})
        area = ot.text("impact_area")
        if area is not None and area not in area_codes:
            raise ot.fail("impact_area", f"{area} is not one of the impact areas")
        outcomes.append(PlanOutcome(code, statement, area))
        ot.done()
    outcome_codes = {o.code for o in outcomes}
    indicators: list[PlanIndicator] = []
    for it in t.tables("indicators"):
        code, statement = _coded_statement(it, {i.code for i in indicators})
        outcome = it.text("outcome")
        if outcome is not None and outcome not in outcome_codes:
            raise it.fail("outcome", f"{outcome} is not one of the plan outcomes")
        found = it.choice("kind", PLAN_INDICATOR_KINDS)
        kind = next((k for k in PLAN_INDICATOR_KINDS if k == found), None)
        indicators.append(PlanIndicator(code, statement, outcome, kind))
        it.done()
    indicator_vocabulary = t.text("indicator_vocabulary")
    if indicators and indicator_vocabulary is None:
        raise t.fail(
            "indicator_vocabulary",
            "is required with [[strategic_plan.indicators]] (the indicator reference "
            "vocabulary whose codes are plan indicator codes)",
        )
    periods: list[PlanPeriod] = []
    for pt in t.tables("periods"):
        start, end = pt.year("start"), pt.year("end")
        if start is None or end is None:
            raise pt.fail("start" if start is None else "end", "is required")
        if end < start:
            raise pt.fail("end", f"{end} is before start {start}")
        period = PlanPeriod(start, end, pt.text("office"))
        for other in periods:
            if other.office == period.office and other.overlaps(period):
                whose = f"office {period.office}" if period.office else "every office"
                raise pt.fail("start", f"{period.label} overlaps {other.label}, also of {whose}")
        periods.append(period)
        pt.done()
    plan = StrategicPlan(
        name=t.names("name"),
        sector_vocabulary=t.text("sector_vocabulary"),
        impact_areas=tuple(areas),
        identifier_pattern=pattern,
        outcome_code=templates["outcome_code"],
        impact_area_code=templates["impact_area_code"],
        office=templates["office"],
        plan_outcome_code=templates["plan_outcome_code"],
        plan_outcome_vocabulary=t.text("plan_outcome_vocabulary"),
        outcomes=tuple(outcomes),
        periods=tuple(periods),
        indicator_vocabulary=indicator_vocabulary,
        indicators=tuple(indicators),
    )
    t.done()
    return plan


def _colour(t: _Table, key: str, default: str) -> str:
    value = t.text(key, default) or default
    if not _HEX_COLOUR.fullmatch(value):
        raise t.fail(key, f'must be a colour as "#RRGGBB", not {value!r}')
    return value.upper()


def _image(t: _Table, key: str, folder: Path) -> Path | None:
    name = t.text(key)
    if name is None:
        return None
    found = (folder / name).resolve()
    if found.suffix.lower() not in IMAGE_TYPES:
        raise t.fail(key, f"must be an {', '.join(IMAGE_TYPES)} file, not {name!r}")
    if not found.is_file():
        raise t.fail(key, f"no file {found}")
    return found


def _branding(t: _Table, folder: Path) -> Branding:
    neutral = Branding()
    links = []
    for lt in t.tables("footer_links"):
        label = lt.names("label")
        if not label:
            raise lt.fail("label", "is required")
        url = _required(lt, "url")
        if not url.startswith(("https://", "http://", "mailto:")):
            raise lt.fail("url", f"must be an http(s) or mailto: URL, not {url!r}")
        links.append(FooterLink(label, url))
        lt.done()
    licence_url = t.text("data_licence_url")
    if licence_url is not None and not licence_url.startswith(("https://", "http://")):
        raise t.fail("data_licence_url", f"must be an http(s) URL, not {licence_url!r}")
    branding = Branding(
        portal_name=t.names("portal_name"),
        logo=_image(t, "logo", folder),
        favicon=_image(t, "favicon", folder),
        primary=_colour(t, "primary", neutral.primary),
        on_primary=_colour(t, "on_primary", neutral.on_primary),
        accent=_colour(t, "accent", neutral.accent),
        on_accent=_colour(t, "on_accent", neutral.on_accent),
        introduction=t.names("introduction"),
        disclaimer=t.names("disclaimer"),
        data_licence=t.names("data_licence"),
        data_licence_url=licence_url,
        footer_links=tuple(links),
    )
    t.done()
    problems = branding.colour_problems()
    if problems:
        raise t.fail("colours", "; ".join(problems))
    return branding
