"""The rules of Home Assistant's hassfest and translation guard, applied to this repo.

Core runs hassfest and checks every translation key in CI; neither runs for a custom integration.
This module holds the same rules as plain functions that return a list of problems (empty: all
good), so the tests can run them on the repository and on deliberately broken copies.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
import json
from pathlib import Path
import re
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import Platform
import yaml

REPO = Path(__file__).resolve().parent.parent
INTEGRATION = REPO / "custom_components" / "smartwats"
# The oldest supported Home Assistant release, which `scripts/test --ha-matrix` runs the tests on.
OLDEST_RELEASE = re.search(
    r"^homeassistant==(\S+)$",
    (REPO / "requirements_test_oldest.txt").read_text(encoding="utf-8"),
    re.MULTILINE,
)

# hassfest's manifest schema for custom integrations (script/hassfest/manifest.py).
MANIFEST_KEYS = {
    "domain",
    "name",
    "after_dependencies",
    "bluetooth",
    "codeowners",
    "config_flow",
    "dependencies",
    "dhcp",
    "disabled",
    "documentation",
    "homekit",
    "import_executor",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "loggers",
    "mqtt",
    "quality_scale",
    "requirements",
    "single_config_entry",
    "ssdp",
    "usb",
    "version",
    "zeroconf",
}
MANIFEST_REQUIRED = {
    "domain",
    "name",
    "codeowners",
    "config_flow",
    "documentation",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "version",
}
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
INTEGRATION_TYPES = {
    "device",
    "entity",
    "hardware",
    "helper",
    "hub",
    "service",
    "system",
    "virtual",
}
VERSION_STRATEGIES = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]
# HACS' hacs.json keys (https://hacs.xyz/docs/publish/start#hacsjson).
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
}
PLATFORMS = {platform.value for platform in Platform}
EXCEPTION_SUFFIXES = ("Error", "Exception", "Failed", "NotReady", "Invalid")
FLOW_CONTEXTS = {
    "ConfigFlow": "config",
    "OptionsFlow": "options",
    "OptionsFlowWithReload": "options",
    "ConfigSubentryFlow": "config_subentries",
}
STEP_CALLS = {"async_show_form", "async_show_menu", "async_show_progress", "async_external_step"}


def _load_json(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        problems.append(f"{path.name}: not valid JSON ({err})")
        return None


def check_json_files(root: Path = REPO) -> list[str]:
    """Every JSON file of the repository parses."""
    problems: list[str] = []
    for path in sorted(root.rglob("*.json")):
        parts = set(path.relative_to(root).parts)
        if parts & {".git", ".venv", ".dev", "node_modules", "artifacts"}:
            continue
        _load_json(path, problems)
    return problems


def _imported_components(integration: Path) -> set[str]:
    """Home Assistant integrations the code imports (`homeassistant.components.X`).

    As in core's hassfest, a platform file may import the integration it is a platform of
    (`image.py` imports `homeassistant.components.image`, `diagnostics.py` imports
    `homeassistant.components.diagnostics`): that needs no dependency.
    """
    found: set[str] = set()
    for path in integration.rglob("*.py"):
        platform_of = path.stem if path.parent == integration else None
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
                if node.module == "homeassistant.components":
                    names = [f"homeassistant.components.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                parts = name.split(".")
                if (
                    parts[:2] == ["homeassistant", "components"]
                    and len(parts) > 2
                    and parts[2] != platform_of
                ):
                    found.add(parts[2])
    return found


def check_manifest(integration: Path = INTEGRATION) -> list[str]:
    """The manifest follows hassfest's rules for custom integrations."""
    problems: list[str] = []
    manifest = _load_json(integration / "manifest.json", problems)
    if not isinstance(manifest, dict):
        return problems or ["manifest.json: not an object"]
    keys = list(manifest)
    for key in sorted(MANIFEST_REQUIRED - set(keys)):
        problems.append(f"manifest.json: required key {key!r} is missing")
    for key in keys:
        if key not in MANIFEST_KEYS:
            problems.append(f"manifest.json: unknown key {key!r}")
    expected_order = [key for key in ("domain", "name") if key in manifest] + sorted(
        key for key in keys if key not in ("domain", "name")
    )
    if keys != expected_order:
        problems.append(f"manifest.json: keys must be domain, name, then sorted: {expected_order}")
    if manifest.get("domain") != integration.name:
        problems.append(f"manifest.json: domain must be the folder name {integration.name!r}")
    if "iot_class" in manifest and manifest["iot_class"] not in IOT_CLASSES:
        problems.append(f"manifest.json: invalid iot_class {manifest['iot_class']!r}")
    if "integration_type" in manifest and manifest["integration_type"] not in INTEGRATION_TYPES:
        problems.append(f"manifest.json: invalid integration_type {manifest['integration_type']!r}")
    version = manifest.get("version")
    if version is not None and (
        not isinstance(version, str) or AwesomeVersion(version).strategy not in VERSION_STRATEGIES
    ):
        problems.append(f"manifest.json: version {version!r} is not a valid version")
    for key in ("documentation", "issue_tracker"):
        if key in manifest and not str(manifest[key]).startswith("https://"):
            problems.append(f"manifest.json: {key} must be an https URL")
    codeowners = manifest.get("codeowners", [])
    if not isinstance(codeowners, list) or not all(
        isinstance(owner, str) and owner.startswith("@") for owner in codeowners
    ):
        problems.append("manifest.json: codeowners must be a list of @names")
    if manifest.get("requirements"):
        problems.append("manifest.json: no runtime requirements beyond Home Assistant's own")
    config_flow_file = (integration / "config_flow.py").exists()
    if bool(manifest.get("config_flow")) != config_flow_file:
        problems.append(
            "manifest.json: config_flow must be true exactly when config_flow.py exists"
        )
    declared = set(manifest.get("dependencies", [])) | set(manifest.get("after_dependencies", []))
    for component in sorted(_imported_components(integration) - declared):
        problems.append(
            f"manifest.json: imports homeassistant.components.{component} "
            "but lists it in neither dependencies nor after_dependencies"
        )
    return problems


def check_hacs(root: Path = REPO) -> list[str]:
    """hacs.json names the integration, the oldest Home Assistant release tested, its zip asset."""
    problems: list[str] = []
    hacs = _load_json(root / "hacs.json", problems)
    if not isinstance(hacs, dict):
        return problems or ["hacs.json: not an object"]
    if not hacs.get("name"):
        problems.append("hacs.json: 'name' is required")
    for key in hacs:
        if key not in HACS_KEYS:
            problems.append(f"hacs.json: unknown key {key!r}")
    oldest = OLDEST_RELEASE.group(1) if OLDEST_RELEASE else None
    if hacs.get("homeassistant") != oldest:
        problems.append(f"hacs.json: homeassistant must be {oldest!r}, the oldest release tested")
    # HACS installs a release's zip asset instead of the folder: it needs the asset's name.
    if "zip_release" in hacs and not isinstance(hacs["zip_release"], bool):
        problems.append("hacs.json: zip_release must be true or false")
    filename = hacs.get("filename")
    if hacs.get("zip_release") is True and not (
        isinstance(filename, str) and filename.endswith(".zip") and "/" not in filename
    ):
        problems.append("hacs.json: zip_release needs a filename, the name of a .zip asset")
    return problems


def _translations(integration: Path, problems: list[str]) -> dict[str, Any]:
    data = _load_json(integration / "translations" / "en.json", problems)
    return data if isinstance(data, dict) else {}


def check_services(integration: Path = INTEGRATION) -> list[str]:
    """Every action and field in services.yaml is translated, and every translated action exists."""
    problems: list[str] = []
    translated = _translations(integration, problems).get("services", {})
    services_file = integration / "services.yaml"
    services = (
        yaml.safe_load(services_file.read_text(encoding="utf-8")) if services_file.exists() else {}
    ) or {}

    def fields_of(spec: dict[str, Any]) -> Iterator[str]:
        for name, field in (spec.get("fields") or {}).items():
            if isinstance(field, dict) and "fields" in field and "selector" not in field:
                yield from fields_of(field)  # a collapsible section of fields
            else:
                yield name

    for action, spec in services.items():
        text = translated.get(action)
        if not isinstance(text, dict) or not text.get("name") or not text.get("description"):
            problems.append(f"services.yaml: action {action!r} has no name/description in en.json")
            continue
        for field in fields_of(spec or {}):
            field_text = (text.get("fields") or {}).get(field)
            if not isinstance(field_text, dict) or not field_text.get("name"):
                problems.append(f"services.yaml: field {action}.{field} is not translated")
    for action in translated:
        if action not in services:
            problems.append(f"en.json: services.{action} describes an action services.yaml lacks")
    return problems


def _const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _keyword(node: ast.Call, name: str) -> ast.AST | None:
    return next((kw.value for kw in node.keywords if kw.arg == name), None)


def _flow_context(cls: ast.ClassDef, subentry_types: dict[str, str]) -> tuple[str, ...] | None:
    for base in cls.bases:
        base_name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
        for suffix, context in FLOW_CONTEXTS.items():
            if base_name.endswith(suffix):
                if context == "config_subentries":
                    return (context, subentry_types.get(cls.name, "?"))
                return (context,)
    return None


def _subentry_types(tree: ast.Module) -> dict[str, str]:
    """Map subentry flow classes to their type from `{"type": FlowClass}` literals."""
    types: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (name := _const_str(key)) and isinstance(value, ast.Name):
                    types[value.id] = name
    return types


def _flow_keys(cls: ast.ClassDef, context: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    methods = {node.name for node in cls.body if isinstance(node, ast.AsyncFunctionDef)}
    for node in ast.walk(cls):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            step_id = _const_str(_keyword(node, "step_id"))
            if name in STEP_CALLS and step_id:
                yield (*context, "step", step_id)
                menu = _keyword(node, "menu_options")
                if isinstance(menu, ast.List | ast.Tuple):
                    for option in menu.elts:
                        if option_name := _const_str(option):
                            yield (*context, "step", step_id, "menu_options", option_name)
            if progress := _const_str(_keyword(node, "progress_action")):
                yield (*context, "progress", progress)
            if name in {"async_abort", "async_show_progress_done"} and (
                reason := _const_str(_keyword(node, "reason"))
            ):
                yield (*context, "abort", reason)
            if name == "_abort_if_unique_id_configured":
                yield (*context, "abort", "already_configured")
            if name == "_abort_if_unique_id_mismatch":
                reason = _const_str(_keyword(node, "reason")) or "unique_id_mismatch"
                yield (*context, "abort", reason)
            if name == "async_update_reload_and_abort":
                if any(method.startswith("async_step_reauth") for method in methods):
                    yield (*context, "abort", "reauth_successful")
                if "async_step_reconfigure" in methods:
                    yield (*context, "abort", "reconfigure_successful")
        # Assignments into the errors dict, whatever the key.
        if isinstance(node, ast.Assign) and (error := _const_str(node.value)):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "errors"
                ):
                    yield (*context, "error", error)
        # An errors dict written as a literal.
        if (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and isinstance(node.value, ast.Dict)
            and any(getattr(t, "id", None) == "errors" for t in _assign_targets(node))
        ):
            for value in node.value.values:
                if error := _const_str(value):
                    yield (*context, "error", error)


def _assign_targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return list(node.targets) if isinstance(node, ast.Assign) else [node.target]


def used_translation_keys(integration: Path = INTEGRATION) -> set[tuple[str, ...]]:
    """Every translation key the code refers to, as a path into en.json."""
    keys: set[tuple[str, ...]] = set()
    for path in sorted(integration.rglob("*.py")):
        if "api" in path.relative_to(integration).parts:
            continue  # the API client knows nothing of Home Assistant's translations
        tree = ast.parse(path.read_text(encoding="utf-8"))
        platform = path.stem if path.stem in PLATFORMS else None
        subentry_types = _subentry_types(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                if context := _flow_context(node, subentry_types):
                    keys.update(_flow_keys(node, context))
                for stmt in node.body:
                    if (
                        platform
                        and isinstance(stmt, ast.Assign | ast.AnnAssign)
                        and any(
                            getattr(t, "id", None) == "_attr_translation_key"
                            for t in _assign_targets(stmt)
                        )
                        and (key := _const_str(stmt.value))
                    ):
                        keys.add(("entity", platform, key))
            if not isinstance(node, ast.Call):
                continue
            key = _const_str(_keyword(node, "translation_key"))
            if key is None:
                continue
            name = _call_name(node)
            if name in {"async_create_issue", "create_issue"}:
                keys.add(("issues", key))
            elif name.endswith(EXCEPTION_SUFFIXES):
                keys.add(("exceptions", key, "message"))
            elif name.endswith("EntityDescription") and platform:
                keys.add(("entity", platform, key))
    return keys


def check_translation_keys(integration: Path = INTEGRATION) -> list[str]:
    """Every translation key the code uses exists in translations/en.json."""
    problems: list[str] = []
    translations = _translations(integration, problems)
    for key in sorted(used_translation_keys(integration)):
        node: Any = translations
        for part in key:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            problems.append(f"en.json: missing {'.'.join(key)}")
        elif isinstance(node, dict) and key[0] in {"config", "options", "config_subentries"}:
            if key[-2] == "step" and not node.get("title") and not node.get("description"):
                problems.append(f"en.json: {'.'.join(key)} needs a title or description")
        elif key[0] == "issues" and not isinstance(node, dict):
            problems.append(f"en.json: issues.{key[1]} needs a title and description")
    for key in _placeholder_mismatches(translations):
        problems.append(f"en.json: {key} has unbalanced placeholder braces")
    return problems


def _placeholder_mismatches(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _placeholder_mismatches(value, f"{path}.{key}" if path else key)
    elif isinstance(node, str):
        # Home Assistant formats these with ICU message syntax: braces must pair up.
        depth = 0
        for char in node:
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth < 0:
                break
        if depth != 0:
            yield path


# Core's rules for every translation value (script/hassfest/translations.py,
# validate_translation_value). The HTML rule is homeassistant.helpers.config_validation's
# string_with_no_html, which hassfest calls first; the URL rule is hassfest's RE_URL.
RE_HTML = re.compile(r"<[a-z].*?>", re.IGNORECASE)
RE_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)
# The only values core lets hold a URL: preview_features.<feature>.description.
_URLS_ALLOWED = re.compile(r"preview_features\.[^.]+\.description")


def _translation_strings(integration: Path, problems: list[str]) -> Iterator[tuple[str, str, str]]:
    """(file name, dotted key, text) of every string of every file under translations/."""

    def walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, str):
            yield path, node

    for file in sorted((integration / "translations").glob("*.json")):
        data = _load_json(file, problems)
        for path, text in walk(data, ""):
            yield file.name, path, text


def check_no_html(integration: Path = INTEGRATION) -> list[str]:
    """No translation string of any language contains HTML (core's string_with_no_html)."""
    problems: list[str] = []
    for name, path, text in _translation_strings(integration, problems):
        if match := RE_HTML.search(text):
            problems.append(f"{name}: {path} should not contain HTML ({match.group()!r})")
    return problems


def check_no_urls(integration: Path = INTEGRATION) -> list[str]:
    """No translation string of any language contains a URL (hassfest's RE_URL).

    A URL the text needs is a placeholder the code fills in (`description_placeholders`,
    `translation_placeholders`), as `{profile_url}` is.
    """
    problems: list[str] = []
    for name, path, text in _translation_strings(integration, problems):
        if (match := RE_URL.search(text)) and not _URLS_ALLOWED.fullmatch(path):
            problems.append(
                f"{name}: {path} should not contain URLs ({match.group()!r}): "
                "use a placeholder the code fills in"
            )
    return problems


_ICU_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# After an apostrophe, these characters start ICU quoted text ('' is one apostrophe).
_ICU_QUOTABLE = "{}<>"


def icu_message_errors(text: str, names: set[str] | frozenset[str] | None = None) -> list[str]:
    """Why the frontend cannot format `text` as an ICU message (empty: it can).

    The frontend formats every translation with ICU message syntax (intl-messageformat), and
    answers "Translation error: ..." instead of the text when that fails. What our strings may
    use of it:

    - `{name}` is a placeholder, `name` an identifier (hassfest's rule); with `names`, one of
      them. Any other brace is an error: `{type: url}` is a malformed argument, a lone `{` or
      `}` is unbalanced.
    - An apostrophe right before `{`, `}`, `<` or `>` starts quoted text, shown as is, up to
      the next lone apostrophe (`''` is one apostrophe, inside quotes too); an apostrophe
      anywhere else is an ordinary character. A quotation left open quotes the rest of the
      text, which is never what was meant: an error. (hassfest reads placeholders with
      Python's str.format rules and refuses quoted braces all the same: write such text
      without braces.)
    - `<` followed by a letter or `/` starts an ICU tag (HTML): an error.
    """
    errors: list[str] = []
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        following = text[index + 1] if index + 1 < end else ""
        if char == "'" and following == "'":
            index += 2
        elif char == "'" and following and following in _ICU_QUOTABLE:
            start, index = index, index + 1
            while index < end:
                if text[index] == "'" and text[index + 1 : index + 2] == "'":
                    index += 2
                elif text[index] == "'":
                    break
                else:
                    index += 1
            if index >= end:
                errors.append(f"quotation opened at {start} is never closed")
            index += 1
        elif char == "{":
            if match := _ICU_PLACEHOLDER.match(text, index):
                if names is not None and match.group(1) not in names:
                    errors.append(f"unknown placeholder {match.group()} at {index}")
                index = match.end()
                continue
            close = text.find("}", index + 1)
            if close == -1 or "{" in text[index + 1 : close]:
                errors.append(f"unbalanced '{{' at {index}")
                index += 1
            else:
                errors.append(
                    f"{text[index : close + 1]!r} at {index} is not a placeholder {{name}}"
                )
                index = close + 1
        elif char == "}":
            errors.append(f"unbalanced '}}' at {index}")
            index += 1
        elif char == "<" and (following == "/" or (following.isascii() and following.isalpha())):
            errors.append(f"'<{following}' at {index} starts an ICU tag (HTML)")
            index += 1
        else:
            index += 1
    return errors


def check_icu_messages(integration: Path = INTEGRATION) -> list[str]:
    """Every string of every translation file is a valid ICU message (`icu_message_errors`)."""
    problems: list[str] = []
    for name, path, text in _translation_strings(integration, problems):
        problems.extend(f"{name}: {path}: {error}" for error in icu_message_errors(text))
    return problems


def check_api_independent(integration: Path = INTEGRATION) -> list[str]:
    """The API client imports nothing of Home Assistant (it could be published on its own)."""
    problems: list[str] = []
    for path in sorted((integration / "api").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "homeassistant":
                    problems.append(f"api/{path.name}: imports {name}")
    return problems


# Home Assistant's brand rules: a square icon (256 px, 512 px at @2x), a logo at most 256 px high.
BRAND_IMAGES = {"icon.png": (256, 256), "icon@2x.png": (512, 512), "logo.png": (None, 256)}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_brand(integration: Path = INTEGRATION) -> list[str]:
    """The brand images exist, are PNG files and have the sizes Home Assistant expects."""
    problems: list[str] = []
    for name, (width, height) in BRAND_IMAGES.items():
        path = integration / "brand" / name
        if not path.is_file():
            problems.append(f"brand/{name}: missing")
            continue
        header = path.read_bytes()[:24]
        if header[:8] != _PNG_SIGNATURE:
            problems.append(f"brand/{name}: not a PNG file")
            continue
        size = (int.from_bytes(header[16:20]), int.from_bytes(header[20:24]))
        if (width is not None and size[0] != width) or (
            size[1] != height if width is not None else size[1] > height
        ):
            problems.append(f"brand/{name}: {size[0]}x{size[1]} is not the expected size")
    return problems


def check_all(root: Path = REPO) -> list[str]:
    """Run every rule on a repository."""
    integration = root / "custom_components" / "smartwats"
    return [
        *check_json_files(root),
        *check_manifest(integration),
        *check_hacs(root),
        *check_services(integration),
        *check_translation_keys(integration),
        *check_no_html(integration),
        *check_no_urls(integration),
        *check_icu_messages(integration),
        *check_api_independent(integration),
        *check_brand(integration),
    ]
