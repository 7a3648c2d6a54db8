"""The bundled UN Women profile names everything in the six UN languages, and its sample
plan outcomes say in each language that their wording is a sample."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from iatiportal.profile import bundled, load_profile

SIX = {"ar", "zh", "en", "fr", "ru", "es"}
SAMPLE = {
    "en": " (sample wording)",
    "fr": " (formulation fictive)",
    "es": " (redacción de muestra)",
    "ar": " (صياغة توضيحية)",
    "ru": " (примерная формулировка)",
    "zh": "（示例措辞）",
}


def names(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, str]]]:
    """Every table of languages in the file (a table with an "en" key of text)."""
    if isinstance(node, dict):
        if isinstance(node.get("en"), str):
            yield where, node
            return
        for key, value in node.items():
            yield from names(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from names(value, f"{where}[{i}]")


def unwomen() -> dict[str, Any]:
    with Path(bundled("unwomen")).open("rb") as f:
        return tomllib.load(f)


def test_every_name_is_in_the_six_languages() -> None:
    found = dict(names(unwomen()))
    assert len(found) == 40  # name, 2 labels, plan, 7 areas, 3 regions, 2 offices, 9
    # outcomes, 10 plan indicators, portal name, introduction, disclaimer, 2 footer links
    wrong = {w: sorted(n) for w, n in found.items() if set(n) != SIX or not all(n.values())}
    assert wrong == {}


def test_sample_outcomes_keep_their_mark_in_every_language() -> None:
    outcomes = unwomen()["strategic_plan"]["outcomes"]
    assert outcomes
    for outcome in outcomes:
        statement = outcome["statement"]
        assert {
            lang: text.endswith(SAMPLE[lang]) for lang, text in statement.items()
        } == dict.fromkeys(SIX, True), outcome["code"]


def test_the_profile_answers_in_each_language() -> None:
    profile = load_profile(bundled("unwomen"))
    assert profile.name.get("es") == "ONU Mujeres"
    assert profile.name.get("ar") == "هيئة الأمم المتحدة للمرأة"
    assert profile.name.get("ru") == "«ООН-женщины»"
    assert profile.name.get("zh") == "联合国妇女署"
    assert profile.region_name("99", "2", "ar") == "الدول العربية"
