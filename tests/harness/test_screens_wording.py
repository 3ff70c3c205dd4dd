"""A page may say "no quote now" in its own words and language, once its manifest declares them."""

from __future__ import annotations

import pytest

from conformance.checks.screens import says_unavailable


@pytest.mark.parametrize("text", [
    "No price available right now", "This pair is UNAVAILABLE", "We can't quote this now",
    "Trading is paused; try again later",
])
def test_the_built_in_english_wording_needs_no_declaration(text: str) -> None:
    assert says_unavailable(text)


@pytest.mark.parametrize("text, declared", [
    ("Derzeit ist kein Kurs verfügbar.", ("kein Kurs verfügbar",)),
    ("Aucun  prix\n pour le moment", ("aucun prix",)),  # spacing and case do not matter
    ("現在、価格を提示できません", ("価格を提示できません",)),
])
def test_a_declared_phrase_in_another_language_counts(text: str, declared: tuple[str, ...]) -> None:
    assert not says_unavailable(text)  # the harness cannot read it by itself...
    assert says_unavailable(text, declared)  # ...but the page's own declared words


def test_a_declared_phrase_must_appear() -> None:
    assert not says_unavailable("Ihr Kurs: 1,0790 USDT pro EUR", ("kein Kurs verfügbar",))
    assert not says_unavailable("Quote ready: 26.97 USDT", ())
