"""Our own hassfest: the repository follows core's rules, and the rules catch what they should."""

from __future__ import annotations

import json
from pathlib import Path
import shutil
from typing import Any

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
