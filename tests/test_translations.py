"""Every translation carries exactly the keys and placeholders of translations/en.json."""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import re

import pytest

from tests import hassfest

TRANSLATIONS = Path(__file__).resolve().parent.parent / "custom_components/smartwats/translations"
# A placeholder is a name in braces ({instance_id}); test_icu_messages refuses any other brace.
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Arabic script: the Arabic translation must be Arabic, not a copy of the English text.
ARABIC = re.compile(r"[\u0600-\u06ff]")


def _strings(node: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string of a translation file with its path of keys."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    else:
        assert isinstance(node, str), f"{'.'.join(path)} is not a string"
        yield path, node


def _load(name: str) -> dict[tuple[str, ...], str]:
    data = json.loads((TRANSLATIONS / name).read_text(encoding="utf-8"))
    return dict(_strings(data))


ALL = sorted(path.name for path in TRANSLATIONS.glob("*.json"))
OTHERS = [name for name in ALL if name != "en.json"]


def test_arabic_is_there() -> None:
    """SmartWats' users are largely Arabic-speaking: the Arabic translation ships."""
    assert "ar.json" in OTHERS


@pytest.mark.parametrize("name", OTHERS)
def test_same_keys_as_english(name: str) -> None:
    """A translation has every key of en.json and no other."""
    english, translated = _load("en.json"), _load(name)
    assert sorted(set(english) - set(translated)) == [], "missing in the translation"
    assert sorted(set(translated) - set(english)) == [], "not in en.json (any more)"


@pytest.mark.parametrize("name", OTHERS)
def test_same_placeholders_as_english(name: str) -> None:
    """Each string keeps the placeholders of its English original (no more, no fewer)."""
    english, translated = _load("en.json"), _load(name)
    different = {
        ".".join(path): (PLACEHOLDER.findall(text), PLACEHOLDER.findall(translated[path]))
        for path, text in english.items()
        if path in translated
        and sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(translated[path]))
    }
    assert different == {}


@pytest.mark.parametrize("name", OTHERS)
def test_balanced_braces(name: str) -> None:
    """Braces are balanced in every string (the frontend formats them as ICU messages)."""
    for path, text in _load(name).items():
        assert text.count("{") == text.count("}"), ".".join(path)


def test_arabic_is_translated() -> None:
    """Every Arabic string with words in it is written in Arabic script."""
    untranslated = [
        ".".join(path)
        for path, text in _load("ar.json").items()
        if re.search(r"[A-Za-z]{3}", PLACEHOLDER.sub("", text)) and not ARABIC.search(text)
    ]
    assert untranslated == []


@pytest.mark.parametrize("name", ALL)
def test_icu_messages(name: str) -> None:
    """Every string is an ICU message the frontend can format, HTML-free (English included).

    The frontend shows "Translation error: ..." instead of a string it cannot parse; see
    `hassfest.icu_message_errors` for the rules, and tests/test_hassfest.py for broken copies.
    """
    errors = {
        ".".join(path): found
        for path, text in _load(name).items()
        if (found := hassfest.icu_message_errors(text))
    }
    assert errors == {}


# Core's hassfest (script/hassfest/translations.py, RE_TRANSLATION_KEY): the keys of a selector's
# options are translation keys, which hold no "." (so the options form offers the gateway's events
# as messages_upsert rather than messages.upsert).
TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")


def selector_key_errors(data: dict[str, object]) -> list[str]:
    """The selector option keys of a translation file that are not valid translation keys."""
    selectors = data.get("selector") or {}
    assert isinstance(selectors, dict)
    return [
        f"selector.{name}.options.{key}"
        for name, selector in selectors.items()
        for key in (selector.get("options") or {})
        if not TRANSLATION_KEY.match(key)
    ]


@pytest.mark.parametrize("name", ALL)
def test_selector_option_keys(name: str) -> None:
    """The options of every translated selector are keyed by valid translation keys."""
    data = json.loads((TRANSLATIONS / name).read_text(encoding="utf-8"))
    assert selector_key_errors(data) == []


def test_selector_option_keys_check_sees_a_dot() -> None:
    """The check above refuses a gateway event name used as it is."""
    broken = {"selector": {"allowed_events": {"options": {"messages.upsert": "Messages"}}}}
    assert selector_key_errors(broken) == ["selector.allowed_events.options.messages.upsert"]
