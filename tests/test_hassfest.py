"""Our own hassfest: the repository follows core's rules, and the rules catch what they should."""

from __future__ import annotations

import json
from pathlib import Path
import shutil
from typing import Any

from homeassistant.helpers import config_validation as cv
import pytest

from tests import hassfest


def test_repository_follows_the_rules() -> None:
    """Manifest, hacs.json, services, translations and JSON files are all valid."""
    assert hassfest.check_all() == []


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the parts of the repository the rules read."""
    shutil.copytree(hassfest.INTEGRATION, tmp_path / "custom_components" / "smartwats")
    shutil.copy(hassfest.REPO / "hacs.json", tmp_path / "hacs.json")
    return tmp_path


def integration(repo: Path) -> Path:
    """The integration folder inside a copied repository."""
    return repo / "custom_components" / "smartwats"


def edit_json(path: Path, change: Any) -> None:
    """Load a JSON file, let `change` edit it, write it back (key order kept)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data = change(data) or data
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def write(path: Path, text: str) -> None:
    """Write a file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_copy_passes(repo: Path) -> None:
    """The copy used by the tests below is valid before they break it."""
    assert hassfest.check_all(repo) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda m: {k: m[k] for k in reversed(list(m))}, "keys must be domain, name, then sorted"),
        (lambda m: m.pop("version") and None, "required key 'version' is missing"),
        (lambda m: m.pop("iot_class") and None, "required key 'iot_class' is missing"),
        (lambda m: m.update(zz_unknown=1), "unknown key 'zz_unknown'"),
        (lambda m: m.update(domain="other"), "domain must be the folder name"),
        (lambda m: m.update(version="not a version!"), "is not a valid version"),
        (lambda m: m.update(iot_class="push"), "invalid iot_class"),
        (lambda m: m.update(integration_type="gadget"), "invalid integration_type"),
        (lambda m: m.update(documentation="http://x"), "documentation must be an https URL"),
        (lambda m: m.update(codeowners=["nobody"]), "codeowners must be a list of @names"),
        (lambda m: m.update(requirements=["requests==1"]), "no runtime requirements"),
        (
            lambda m: m.update(config_flow=not m["config_flow"]),
            "config_flow must be true exactly when",
        ),
    ],
)
def test_broken_manifest_is_caught(repo: Path, change: Any, expected: str) -> None:
    """Each manifest rule reports the broken manifest."""
    edit_json(integration(repo) / "manifest.json", change)
    problems = hassfest.check_manifest(integration(repo))
    assert any(expected in problem for problem in problems), problems


def test_undeclared_component_import_is_caught(repo: Path) -> None:
    """Importing a core integration requires listing it in the manifest."""
    write(integration(repo) / "extra.py", "from homeassistant.components import camera\n")
    write(integration(repo) / "other.py", "import homeassistant.components.zone.const\n")
    problems = hassfest.check_manifest(integration(repo))
    assert any("homeassistant.components.zone" in p for p in problems), problems
    assert not any("homeassistant.components.camera" in p for p in problems)  # after_dependency


def test_manifest_not_json_is_caught(repo: Path) -> None:
    """A manifest that does not parse is reported, not raised."""
    write(integration(repo) / "manifest.json", "{not json")
    assert any("not valid JSON" in p for p in hassfest.check_manifest(integration(repo)))
    assert any("not valid JSON" in p for p in hassfest.check_json_files(repo))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda h: h.pop("name") and None, "'name' is required"),
        (lambda h: h.update(homeassistant="2020.1.0"), "homeassistant must be"),
        (lambda h: h.update(render_readme=True), "unknown key 'render_readme'"),
        (lambda h: h.update(zip_release="yes"), "zip_release must be true or false"),
        (lambda h: h.pop("filename") and None, "zip_release needs a filename"),
        (lambda h: h.update(filename="smartwats.tar.gz"), "zip_release needs a filename"),
    ],
)
def test_broken_hacs_json_is_caught(repo: Path, change: Any, expected: str) -> None:
    """hacs.json rules report the broken file."""
    edit_json(repo / "hacs.json", change)
    assert any(expected in p for p in hassfest.check_hacs(repo))


def test_services_and_translations_must_match(repo: Path) -> None:
    """An action without text, an untranslated field and a text without action are all caught."""
    write(
        integration(repo) / "services.yaml",
        "send_text:\n  fields:\n    message:\n      selector:\n        text:\n"
        "    extra:\n      selector:\n        text:\n"
        "undescribed:\n",
    )
    edit_json(
        integration(repo) / "translations" / "en.json",
        lambda t: t.update(
            services={
                "send_text": {
                    "name": "Send text",
                    "description": "Sends a text.",
                    "fields": {"message": {"name": "Message", "description": "The text."}},
                },
                "ghost": {"name": "Ghost", "description": "No such action."},
            }
        ),
    )
    problems = hassfest.check_services(integration(repo))
    assert "services.yaml: field send_text.extra is not translated" in problems
    assert any("action 'undescribed' has no name/description" in p for p in problems)
    assert any("services.ghost describes an action services.yaml lacks" in p for p in problems)
    assert len(problems) == 3


FLOW_CODE = """
from homeassistant.config_entries import ConfigFlow, OptionsFlow, ConfigSubentryFlow
from homeassistant.exceptions import HomeAssistantError, ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir


class Flow(ConfigFlow, domain="smartwats"):
    async def async_step_user(self, user_input=None):
        errors = {}
        errors["base"] = "cannot_connect"
        await self.async_set_unique_id("x")
        self._abort_if_unique_id_configured()
        return self.async_show_form(step_id="user", errors=errors)

    async def async_step_link(self, user_input=None):
        return self.async_show_menu(step_id="link", menu_options=["qr", "pair_code"])

    async def async_step_wait(self, user_input=None):
        return self.async_show_progress(step_id="wait", progress_action="wait_for_phone")

    async def async_step_reauth_confirm(self, user_input=None):
        return self.async_update_reload_and_abort(self._get_reauth_entry())

    @staticmethod
    def async_get_supported_subentry_types(entry):
        return {"recipient": RecipientFlow}


class Options(OptionsFlow):
    async def async_step_init(self, user_input=None):
        errors: dict[str, str] = {"base": "invalid_country_code"}
        return self.async_abort(reason="nothing_to_do")


class RecipientFlow(ConfigSubentryFlow):
    async def async_step_user(self, user_input=None):
        return self.async_show_form(step_id="user")


def fail():
    ir.async_create_issue(None, "smartwats", "id", translation_key="webhook_unavailable")
    raise HomeAssistantError(translation_domain="smartwats", translation_key="send_failed")
"""

SENSOR_CODE = """
from homeassistant.components.sensor import SensorEntityDescription

DESCRIPTIONS = [SensorEntityDescription(key="sent", translation_key="synthetic_count")]


class Linked:
    _attr_translation_key = "linked"
"""


def test_translation_keys_used_in_code_are_found(repo: Path) -> None:
    """Steps, errors, aborts, menus, progress, exceptions, issues and entities are collected."""
    write(integration(repo) / "config_flow.py", FLOW_CODE)
    write(integration(repo) / "sensor.py", SENSOR_CODE)
    # The real flow's texts would answer for FLOW_CODE's: start without them.
    edit_json(integration(repo) / "translations" / "en.json", lambda t: t.pop("config") and None)
    keys = hassfest.used_translation_keys(integration(repo))
    assert keys >= {
        ("config", "error", "cannot_connect"),
        ("config", "abort", "already_configured"),
        ("config", "step", "user"),
        ("config", "step", "link"),
        ("config", "step", "link", "menu_options", "qr"),
        ("config", "step", "link", "menu_options", "pair_code"),
        ("config", "step", "wait"),
        ("config", "progress", "wait_for_phone"),
        ("config", "abort", "reauth_successful"),
        ("options", "error", "invalid_country_code"),
        ("options", "abort", "nothing_to_do"),
        ("config_subentries", "recipient", "step", "user"),
        ("issues", "webhook_unavailable"),
        ("exceptions", "send_failed", "message"),
        ("entity", "sensor", "synthetic_count"),
        ("entity", "sensor", "linked"),
    }
    problems = hassfest.check_translation_keys(integration(repo))
    assert "en.json: missing config.error.cannot_connect" in problems
    assert "en.json: missing exceptions.send_failed.message" in problems
    assert "en.json: missing entity.sensor.synthetic_count" in problems


def test_present_translation_keys_pass(repo: Path) -> None:
    """Once en.json has the texts, the same code passes; unbalanced braces do not."""
    write(integration(repo) / "sensor.py", SENSOR_CODE)
    write(
        integration(repo) / "exceptions_user.py",
        "from homeassistant.exceptions import ServiceValidationError\n"
        "def f():\n    raise ServiceValidationError(translation_key='bad_target')\n",
    )

    def add(texts: dict[str, Any]) -> None:
        texts.setdefault("entity", {})["sensor"] = {
            "synthetic_count": {"name": "Sent"},
            "linked": {"name": "Linked"},
        }
        texts.setdefault("exceptions", {})["bad_target"] = {"message": "Bad target {target}"}

    edit_json(integration(repo) / "translations" / "en.json", add)
    assert hassfest.check_translation_keys(integration(repo)) == []

    edit_json(
        integration(repo) / "translations" / "en.json",
        lambda t: t["exceptions"]["bad_target"].update(message="Bad target {target"),
    )
    assert hassfest.check_translation_keys(integration(repo)) == [
        "en.json: exceptions.bad_target.message has unbalanced placeholder braces"
    ]


def test_api_client_must_not_import_home_assistant(repo: Path) -> None:
    """A Home Assistant import under api/ is reported, relative imports are fine."""
    write(integration(repo) / "api" / "bad.py", "from homeassistant.core import HomeAssistant\n")
    write(integration(repo) / "api" / "worse.py", "import homeassistant.const\n")
    write(integration(repo) / "api" / "fine.py", "from .client import SmartwatsClient\n")
    assert hassfest.check_api_independent(integration(repo)) == [
        "api/bad.py: imports homeassistant.core",
        "api/worse.py: imports homeassistant.const",
    ]


def test_platform_files_may_import_their_integration(repo: Path) -> None:
    """`image.py` may import the image integration; any other file needs a dependency."""
    write(
        integration(repo) / "image.py", "from homeassistant.components.image import ImageEntity\n"
    )
    assert hassfest.check_manifest(integration(repo)) == []
    write(integration(repo) / "helpers.py", "from homeassistant.components import image\n")
    assert hassfest.check_manifest(integration(repo)) == [
        (
            "manifest.json: imports homeassistant.components.image "
            "but lists it in neither dependencies nor after_dependencies"
        )
    ]


def test_brand_images_are_checked(repo: Path) -> None:
    """A missing, non-PNG or wrongly sized brand image is reported."""
    brand = integration(repo) / "brand"
    (brand / "icon@2x.png").unlink()
    (brand / "logo.png").write_bytes(b"GIF89a not a png")
    icon = bytearray((brand / "icon.png").read_bytes())
    icon[16:24] = (300).to_bytes(4) + (300).to_bytes(4)
    (brand / "icon.png").write_bytes(bytes(icon))
    assert hassfest.check_brand(integration(repo)) == [
        "brand/icon.png: 300x300 is not the expected size",
        "brand/icon@2x.png: missing",
        "brand/logo.png: not a PNG file",
    ]


def set_text(path: str, text: str) -> Any:
    """A change for `edit_json` that sets the string at a dotted key."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = text

    return change


# The strings core's hassfest and the frontend refused, as they were (both languages).
BROKEN_TEXTS = [
    (
        hassfest.check_no_html,
        "services.send_album.fields.items.description",
        (
            "A list of 2 to 10 items, each {type: image or video, url: ...} or "
            "{type: ..., path: <local file>}."
        ),
        "should not contain HTML ('<local file>')",
    ),
    (
        hassfest.check_no_urls,
        "config.error.invalid_url",
        (
            "Enter an http:// or https:// address without a query, such as "
            "https://app.smartwats.com/api/."
        ),
        "should not contain URLs ('https://app.smartwats.com/api/.')",
    ),
    (
        hassfest.check_no_urls,
        "issues.webhook_unavailable.description",
        (
            "Or set an **external URL** that starts with https:// and points to a public address "
            "(Settings → System → Network → Home Assistant URL), such as https://home.example.com."
        ),
        "should not contain URLs ('https://home.example.com')",
    ),
    (
        hassfest.check_no_urls,
        "issues.webhook_unavailable.description",
        "أو اضبط عنوانًا يبدأ بـ https://\u200e، مثل www.example.com.",
        "should not contain URLs ('www.example.com')",
    ),
    (
        hassfest.check_icu_messages,
        "services.send_carousel.fields.cards.description",
        "A button is {type: url, text, url}, {type: copy, text, code}.",
        "'{type: url, text, url}' at 12 is not a placeholder {name}",
    ),
    (
        hassfest.check_icu_messages,
        "services.send_album.fields.items.description",
        "Each {type: ..., path: <local file>}.",
        "is not a placeholder {name}",
    ),
    (
        hassfest.check_icu_messages,
        "config.step.user.description",
        "Your [SmartWats profile]({profile_url).",
        "unbalanced '{' at 25",
    ),
    (
        hassfest.check_icu_messages,
        "exceptions.invalid_url.message",
        "{url} is not an <b>http</b> URL.",
        "'<b' at 16 starts an ICU tag (HTML)",
    ),
]


@pytest.mark.parametrize("language", ["en.json", "ar.json"])
@pytest.mark.parametrize("case", BROKEN_TEXTS)
def test_broken_translation_text_is_caught(
    repo: Path, language: str, case: tuple[Any, str, str, str]
) -> None:
    """HTML, a URL or a brace the frontend cannot format is reported, in every language."""
    rule, key, text, expected = case
    translations = integration(repo) / "translations"
    assert rule(integration(repo)) == []
    edit_json(translations / language, set_text(key, text))
    problems = rule(integration(repo))
    assert problems != []
    assert all(problem.startswith(f"{language}: {key}") for problem in problems), problems
    assert any(expected in problem for problem in problems), problems
    assert hassfest.check_all(repo) != []


@pytest.mark.parametrize(
    "rule", [hassfest.check_no_html, hassfest.check_no_urls, hassfest.check_icu_messages]
)
def test_every_translation_file_is_checked(repo: Path, rule: Any) -> None:
    """A new language file is held to the same rules as en.json and ar.json."""
    write(
        integration(repo) / "translations" / "fr.json",
        json.dumps({"title": "Voir <b>{name}</b> sur https://www.example.com et {type: url}"}),
    )
    problems = rule(integration(repo))
    assert problems != []
    assert all(problem.startswith("fr.json: title") for problem in problems), problems


def test_urls_only_where_core_allows_them(repo: Path) -> None:
    """Core lets a preview feature's description hold a URL, and nothing else."""
    edit_json(
        integration(repo) / "translations" / "en.json",
        lambda t: t.update(
            preview_features={
                "beta": {"name": "Beta", "description": "See https://www.example.com/beta."}
            }
        ),
    )
    assert hassfest.check_no_urls(integration(repo)) == []
    edit_json(
        integration(repo) / "translations" / "en.json",
        set_text("preview_features.beta.name", "Beta (www.example.com)"),
    )
    assert hassfest.check_no_urls(integration(repo)) == [
        (
            "en.json: preview_features.beta.name should not contain URLs ('www.example.com'): "
            "use a placeholder the code fills in"
        )
    ]


@pytest.mark.parametrize(
    "text",
    # Core's own cases (tests/hassfest/test_translations.py), and the forms we had.
    [
        "An example is: https://example.com.",
        "www.example.com",
        "http://example.com:8080",
        "WWW.EXAMPLE.COM",
        "HTTPS://www.example.com",
        "such as https://app.smartwats.com/api/.",
    ],
)
def test_url_rule_matches_urls(text: str) -> None:
    """The URL rule, hassfest's RE_URL, finds a URL in each of these."""
    assert hassfest.RE_URL.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "Enter an address that starts with http:// or https:// and has no query.",
        "يبدأ بـ http://\u200e أو https://\u200e",
        "Your [SmartWats profile]({profile_url}).",
        "An http(s) URL the SmartWats gateway can fetch.",
    ],
)
def test_url_rule_lets_schemes_alone_pass(text: str) -> None:
    """A scheme named alone, or a URL in a placeholder, is no URL to hassfest."""
    assert not hassfest.RE_URL.search(text)


@pytest.mark.parametrize(
    "text", ["<local file>", "<b>bold</b>", "a <br/> b", '<A HREF="x">', "x <span> y"]
)
def test_html_rule_is_core_s_refusing(text: str) -> None:
    """RE_HTML refuses what Home Assistant's string_with_no_html refuses."""
    assert hassfest.RE_HTML.search(text)
    with pytest.raises(Exception, match="should not contain HTML"):
        cv.string_with_no_html(text)


@pytest.mark.parametrize("text", ["a < b", "1 <2> 3", "<>", "→ <- ->", "`*bold*`", "x <span"])
def test_html_rule_is_core_s_accepting(text: str) -> None:
    """RE_HTML lets pass what Home Assistant's string_with_no_html lets pass."""
    assert not hassfest.RE_HTML.search(text)
    assert cv.string_with_no_html(text) == text


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("Instance {instance_id} is linked.", []),
        ("[SmartWats profile]({profile_url}) and {name}", []),
        ("The gateway's own forms, the phone's number", []),
        ("A button is `type: url` with `text` and `url`.", []),
        ("1 < 2 > 0, a -> b", []),
        # ICU quoting: '{' and '}' quote up to the next apostrophe, '' is one apostrophe.
        ("Write '{type: url}' literally", []),
        ("It''s '{'braces'}' and '<tag>' quoted", []),
        ("'{it''s quoted}'", []),
        ("Unclosed '{quote", ["quotation opened at 9 is never closed"]),
        ("{type: url, text, url}", ["'{type: url, text, url}' at 0 is not a placeholder {name}"]),
        ("{ name }", ["'{ name }' at 0 is not a placeholder {name}"]),
        ("{1st}", ["'{1st}' at 0 is not a placeholder {name}"]),
        ("{{name}}", ["unbalanced '{' at 0", "unbalanced '}' at 7"]),
        ("{name", ["unbalanced '{' at 0"]),
        ("name}", ["unbalanced '}' at 4"]),
        ("{a{b}}", ["unbalanced '{' at 0", "unbalanced '}' at 5"]),
        ("<local file>", ["'<l' at 0 starts an ICU tag (HTML)"]),
        ("a </b>", ["'</' at 2 starts an ICU tag (HTML)"]),
    ],
)
def test_icu_message_parser(text: str, errors: list[str]) -> None:
    """The ICU parser accepts placeholders and quoted text, and names each error."""
    assert hassfest.icu_message_errors(text) == errors


def test_icu_placeholders_can_be_limited_to_known_names() -> None:
    """Given the names the code passes, any other placeholder is an error."""
    text = "{name} is linked to {phone}"
    assert hassfest.icu_message_errors(text, {"name", "phone"}) == []
    assert hassfest.icu_message_errors(text, {"name"}) == ["unknown placeholder {phone} at 20"]
