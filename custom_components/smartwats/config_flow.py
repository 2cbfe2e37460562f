"""Config flow of the SmartWats integration: link an instance by QR code or pair code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from ipaddress import ip_address
import logging
import re
from typing import TYPE_CHECKING, Any, Final, override

from homeassistant.components import webhook
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlowWithReload,
    SubentryFlowResult,
)
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_NAME, CONF_WEBHOOK_ID
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util.network import is_local
import voluptuous as vol
from yarl import URL

from .api import (
    DEFAULT_BASE_URL,
    Group,
    InvalidPhoneNumberError,
    LinkState,
    LinkStatus,
    SmartwatsAlreadyLinkedError,
    SmartwatsClient,
    SmartwatsError,
    SmartwatsNotReadyError,
    calling_code,
    format_phone,
    is_group_jid,
    normalize_phone,
)
from .api.responses import normalize_instance_id
from .const import (
    CONF_AGENT_ID,
    CONF_ALLOWED_EVENTS,
    CONF_ASSIST,
    CONF_ASSIST_PREFIX,
    CONF_BASE_URL,
    CONF_DEFAULT_COUNTRY_CODE,
    CONF_INCLUDE_OWN_MESSAGES,
    CONF_INSTANCE_ID,
    CONF_OUTBOX_VALID_FOR,
    CONF_PHONE,
    CONF_SEND_INTERVAL,
    CONF_TARGET,
    CONF_USER_ID,
    DEFAULT_AGENT_ID,
    DEFAULT_ALLOWED_EVENTS,
    DEFAULT_ASSIST_PREFIX,
    DEFAULT_INCLUDE_OWN_MESSAGES,
    DEFAULT_OUTBOX_VALID_FOR,
    DEFAULT_SEND_INTERVAL,
    DOMAIN,
    GATEWAY_EVENTS,
    MAX_OUTBOX_VALID_FOR,
    MAX_SEND_INTERVAL,
    PROFILE_URL,
    SUBENTRY_RECIPIENT,
)
from .errors import form_error
from .models import async_create_client, default_country_code

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigSubentry

    from .models import SmartwatsConfigEntry

_LOGGER = logging.getLogger(__name__)

# While a pair code is shown, the link state is asked this often (seconds), for at most this long.
PAIR_CODE_POLL_INTERVAL: Final = 2.0
PAIR_CODE_TIMEOUT: Final = 180.0
# While the QR code is shown, the link state (with the code, which the gateway changes about every
# 20 s) is asked this often, for at most this long.
QR_POLL_INTERVAL: Final = 2.0
QR_TIMEOUT: Final = 300.0

# The recipient form's dropdown of groups (a field of the form only, never stored).
CONF_GROUP: Final = "group"
# The section of the connection form holding the API address: collapsed, unless the address is
# not SmartWats' own or may be at fault. Home Assistant shows no error of a field in a section, so
# errors about the address are the form's ("base"), their texts naming the field.
SECTION_ADVANCED: Final = "advanced"
_ADDRESS_ERRORS: Final = frozenset({"invalid_url", "insecure_url", "cannot_connect"})

# The options form offers the gateway's events under translation keys, which cannot hold a ".".
_EVENT_CHOICES: Final = {event: event.replace(".", "_") for event in GATEWAY_EVENTS}
_EVENTS_CHOSEN: Final = {choice: event for event, choice in _EVENT_CHOICES.items()}

# A country calling code as the phone number normaliser accepts it: 1 to 3 digits, no leading 0.
_COUNTRY_CODE: Final = re.compile(r"[1-9][0-9]{0,2}")

_TOKEN_SELECTOR: Final = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off")
)
_URL_SELECTOR: Final = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_TEXT_SELECTOR: Final = TextSelector()
_PHONE_SELECTOR: Final = TextSelector(
    TextSelectorConfig(type=TextSelectorType.TEL, autocomplete="tel")
)

STEP_REAUTH_SCHEMA: Final = vol.Schema({vol.Required(CONF_ACCESS_TOKEN): _TOKEN_SELECTOR})
STEP_PAIR_CODE_SCHEMA: Final = vol.Schema({vol.Required(CONF_PHONE): _PHONE_SELECTOR})
OPTIONS_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_ALLOWED_EVENTS): SelectSelector(
            SelectSelectorConfig(
                options=list(_EVENT_CHOICES.values()),
                multiple=True,
                mode=SelectSelectorMode.LIST,
                translation_key=CONF_ALLOWED_EVENTS,
            )
        ),
        vol.Optional(CONF_DEFAULT_COUNTRY_CODE): _TEXT_SELECTOR,
        vol.Required(CONF_SEND_INTERVAL): NumberSelector(
            NumberSelectorConfig(
                min=0,
                max=MAX_SEND_INTERVAL,
                step=0.1,
                unit_of_measurement="s",
                mode=NumberSelectorMode.BOX,
            )
        ),
        vol.Required(CONF_INCLUDE_OWN_MESSAGES): BooleanSelector(),
        vol.Required(CONF_OUTBOX_VALID_FOR, default=DEFAULT_OUTBOX_VALID_FOR): NumberSelector(
            NumberSelectorConfig(
                min=0,
                max=MAX_OUTBOX_VALID_FOR,
                step=1,
                unit_of_measurement="s",
                mode=NumberSelectorMode.BOX,
            )
        ),
    }
)


def _connection_schema(*, instance_field: bool, open_address: bool) -> vol.Schema:
    """Return the token (and instance id) form, with the API address in a section.

    The section is collapsed unless ``open_address``: the reconfigure form has no instance id
    field (an entry's instance never changes).
    """
    schema: dict[vol.Marker, Any] = {vol.Required(CONF_ACCESS_TOKEN): _TOKEN_SELECTOR}
    if instance_field:
        schema[vol.Optional(CONF_INSTANCE_ID)] = _TEXT_SELECTOR
    schema[vol.Required(SECTION_ADVANCED)] = section(
        vol.Schema({vol.Required(CONF_BASE_URL, default=DEFAULT_BASE_URL): _URL_SELECTOR}),
        {"collapsed": not open_address},
    )
    return vol.Schema(schema)


def _open_address(shown: Mapping[str, Any], errors: Mapping[str, str]) -> bool:
    """Whether the connection form shows its API address: not SmartWats' own, or maybe wrong."""
    base_url = str((shown.get(SECTION_ADVANCED) or {}).get(CONF_BASE_URL) or DEFAULT_BASE_URL)
    return (
        base_url.strip().rstrip("/") != DEFAULT_BASE_URL.rstrip("/")
        or errors.get("base") in _ADDRESS_ERRORS
    )


def _connection_data(user_input: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """Return entry data from a connection form: typed values, else those of ``base``."""
    advanced = user_input.get(SECTION_ADVANCED) or {}
    return {
        CONF_ACCESS_TOKEN: str(user_input[CONF_ACCESS_TOKEN]).strip(),
        CONF_INSTANCE_ID: normalize_instance_id(
            str(user_input.get(CONF_INSTANCE_ID) or base.get(CONF_INSTANCE_ID) or "")
        ),
        CONF_BASE_URL: str(
            advanced.get(CONF_BASE_URL) or base.get(CONF_BASE_URL) or DEFAULT_BASE_URL
        ).strip(),
    }


def _connection_input(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return entry data as the reconfigure form's suggested values."""
    return {
        CONF_ACCESS_TOKEN: data[CONF_ACCESS_TOKEN],
        SECTION_ADVANCED: {CONF_BASE_URL: data.get(CONF_BASE_URL) or DEFAULT_BASE_URL},
    }


def is_insecure_url(base_url: str) -> bool:
    """Whether an API address is plain http to a host that may lie beyond the local network.

    The access token travels in the query string: in clear text it must not cross the internet.
    Local hosts are loopback, private and link-local addresses, ``localhost`` and ``.local``
    names; names are not resolved (a bare name may point anywhere).
    """
    try:
        url = URL(base_url.strip())
    except TypeError, ValueError:
        return False  # not a URL at all: the client refuses it as invalid
    if url.scheme != "http" or not url.host:
        return False
    host = url.host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".local"):
        return False
    try:
        return not is_local(ip_address(host))
    except ValueError:  # a name
        return True


def _own_number(typed: str, country_code: str | None) -> str:
    """Return the linked phone's number as typed, normalised; a group or LID is not one."""
    number = normalize_phone(typed, country_code)
    if "@" in number:
        raise InvalidPhoneNumberError(f"Invalid phone number {typed!r}: not a phone number")
    return number


def _qr_markdown(qr_code: str) -> str:
    """Return the QR code as a markdown image for a step description."""
    return f"![QR code]({qr_code})"


def _default_name(phone: str | None, instance_id: str) -> str:
    """Return an entry's name when none is given: its number, else "WhatsApp" and its id's end."""
    return format_phone(phone) if phone else f"WhatsApp {instance_id[-4:]}"


class SmartwatsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up an instance: check the token, then link a phone by QR code or pair code."""

    VERSION = 1
    # 1.2: the instance id, and the unique id made of it, are stored trimmed and upper-case.
    # 1.3: recipients' devices are keyed on their subentry (migrate.py).
    MINOR_VERSION = 3

    def __init__(self) -> None:
        """Start with nothing known."""
        self._data: dict[str, Any] = {}
        self._client: SmartwatsClient | None = None
        self._country_code: str | None = None
        # The linked phone's number, once known; the number a pair code was asked for.
        self._phone: str | None = None
        self._pair_phone: str | None = None
        self._pair_code: str | None = None
        self._link_task: asyncio.Task[bool] | None = None
        # While the QR step is shown: the code on screen, the task watching for a change, and
        # when watching stops (the loop's clock).
        self._qr_code: str | None = None
        self._qr_task: asyncio.Task[LinkState | None] | None = None
        self._qr_deadline = 0.0

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> SmartwatsOptionsFlow:
        """Return the options flow."""
        return SmartwatsOptionsFlow()

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the subentry types: one recipient (number or group) per subentry."""
        # The key is SUBENTRY_RECIPIENT, written out so tests/hassfest.py maps the texts to it.
        return {"recipient": RecipientSubentryFlowHandler}

    # -- set-up -----------------------------------------------------------------------------

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the access token and the instance (empty: create one).

        National numbers (a pair code's, the linked phone's) take the calling code of Home
        Assistant's country, which also becomes the entry's default country code.
        """
        self._country_code = calling_code(self.hass.config.country)
        errors: dict[str, str] = {}
        suggested = user_input
        if user_input is not None:
            data = _connection_data(user_input, {})
            state = await self._async_check_connection(data, errors)
            # An instance created for this flow is offered again, so a retry does not make another.
            suggested = user_input | {CONF_INSTANCE_ID: data[CONF_INSTANCE_ID]}
            if state is not None:
                await self.async_set_unique_id(data[CONF_INSTANCE_ID])
                self._abort_if_unique_id_configured()
                self._data = data
                return await self._async_linked_or_link(state)
        schema = _connection_schema(
            instance_field=True, open_address=_open_address(suggested or {}, errors)
        )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={"profile_url": PROFILE_URL},
        )

    async def async_step_link(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the two ways to link the phone."""
        return self.async_show_menu(
            step_id="link",
            menu_options=["qr", "pair_code"],
            description_placeholders={"instance_id": self._data[CONF_INSTANCE_ID]},
        )

    async def async_step_relink(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Say that the session was logged out, and offer the two ways to link it again."""
        return self.async_show_menu(
            step_id="relink",
            menu_options=["qr", "pair_code"],
            description_placeholders={"name": self._get_reauth_entry().title},
        )

    async def async_step_qr(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the gateway's QR code until the phone has scanned it, then move on by itself.

        A task watches the link state. It ends when the phone is linked, when the gateway shows
        another code (the step is shown again with it: the frontend reloads a progress step whose
        description changed) or when time is up. The phone's number, which scanning does not
        tell, is asked on the last step.
        """
        task = self._qr_task
        if task is not None and task.done():
            self._qr_task = None
            state = task.result()
            if state is None:
                return self.async_show_progress_done(next_step_id="qr_expired")
            if state.linked:
                return self.async_show_progress_done(next_step_id="finish")
            self._qr_code = state.qr_code
        elif task is None:
            # Chosen from a menu: get the code now, so that it shows at once.
            self._qr_deadline = self.hass.loop.time() + QR_TIMEOUT
            state = await self._async_gateway(self._async_link_state_for_qr(), {})
            if state is not None and state.linked:
                return await self.async_step_finish()
            self._qr_code = state.qr_code if state is not None else None
        elif user_input is not None:
            # Submitted, by a client that knows the step as the form it once was: look now.
            state = await self._async_gateway(self._async_link_state_for_qr(), {})
            if state is not None and state.linked:
                task.cancel()
                self._qr_task = None
                return self.async_show_progress_done(next_step_id="finish")
        return self._async_show_qr()

    def _async_show_qr(self) -> ConfigFlowResult:
        """Show the QR code (or that it is awaited), watching for the next change."""
        if self._qr_task is None:
            self._qr_task = self.hass.async_create_background_task(
                self._async_watch_qr(self._qr_code), "smartwats QR code wait"
            )
        if self._qr_code is None:
            return self.async_show_progress(
                step_id="qr", progress_action="wait_for_qr_code", progress_task=self._qr_task
            )
        return self.async_show_progress(
            step_id="qr",
            progress_action="wait_for_qr_scan",
            description_placeholders={"qr_code": _qr_markdown(self._qr_code)},
            progress_task=self._qr_task,
        )

    async def async_step_qr_expired(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Tell the QR code was not scanned in time and offer both ways again."""
        return self.async_show_menu(
            step_id="qr_expired",
            menu_options=["qr", "pair_code"],
            description_placeholders={"timeout": f"{QR_TIMEOUT:g}"},
        )

    async def async_step_pair_code(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the phone number and get a pair code for it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                phone = normalize_phone(str(user_input[CONF_PHONE]), self._country_code)
            except InvalidPhoneNumberError:
                errors[CONF_PHONE] = "invalid_phone"
            else:
                try:
                    self._pair_code = await self._async_pair_code(phone)
                except SmartwatsAlreadyLinkedError:
                    # Linked meanwhile (the QR code was scanned): only the last step is left.
                    return await self.async_step_finish()
                except SmartwatsNotReadyError:
                    errors["base"] = "pair_code_not_ready"
                except SmartwatsError as err:
                    _LOGGER.debug("No pair code: %s", err)
                    errors["base"] = form_error(err)
                else:
                    self._pair_phone = phone
                    self._link_task = None
                    return await self.async_step_pair_code_wait()
        return self.async_show_form(
            step_id="pair_code",
            data_schema=self.add_suggested_values_to_schema(
                STEP_PAIR_CODE_SCHEMA, user_input or {CONF_PHONE: self._pair_phone}
            ),
            errors=errors,
        )

    async def async_step_pair_code_wait(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the pair code while waiting for the phone to enter it."""
        if self._link_task is None:
            self._link_task = self.hass.async_create_task(
                self._async_wait_for_link(), "smartwats pair code wait"
            )
        if not self._link_task.done():
            return self.async_show_progress(
                step_id="pair_code_wait",
                progress_action="wait_for_pair_code",
                description_placeholders={
                    "pair_code": str(self._pair_code),
                    "phone": format_phone(str(self._pair_phone)),
                },
                progress_task=self._link_task,
            )
        linked = self._link_task.result()
        self._link_task = None
        if linked:
            self._phone = self._pair_phone
            return self.async_show_progress_done(next_step_id="finish")
        self._pair_code = None
        return self.async_show_progress_done(next_step_id="pair_code_expired")

    async def async_step_pair_code_expired(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Tell the pair code expired and offer both ways again."""
        return self.async_show_menu(
            step_id="pair_code_expired",
            menu_options=["qr", "pair_code"],
            description_placeholders={"timeout": f"{PAIR_CODE_TIMEOUT:g}"},
        )

    async def async_step_finish(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Once linked: name the new entry, and take the phone's number if linking did not tell.

        A relinked entry keeps its name, and is asked the number only if it has none.
        """
        reauth = self.source == SOURCE_REAUTH
        ask_phone = self._phone is None
        if (
            user_input is None
            and reauth
            and (not ask_phone or CONF_PHONE in self._get_reauth_entry().data)
        ):
            return await self._async_finish()
        errors: dict[str, str] = {}
        if user_input is not None:
            typed = str(user_input.get(CONF_PHONE) or "").strip()
            try:
                if ask_phone and typed:
                    self._phone = _own_number(typed, self._country_code)
            except InvalidPhoneNumberError:
                errors[CONF_PHONE] = "invalid_phone"
            else:
                return await self._async_finish(str(user_input.get(CONF_NAME) or "").strip())
        schema: dict[vol.Marker, Any] = {}
        if ask_phone:
            schema[vol.Optional(CONF_PHONE)] = _PHONE_SELECTOR
        if not reauth:
            schema[vol.Optional(CONF_NAME)] = _TEXT_SELECTOR
        offered = {
            CONF_PHONE: format_phone(self._pair_phone) if self._pair_phone else None,
            CONF_NAME: format_phone(self._phone) if self._phone else None,
        }
        instance_id = self._data[CONF_INSTANCE_ID]
        return self.async_show_form(
            step_id="finish",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(schema), user_input or offered
            ),
            errors=errors,
            description_placeholders={
                "instance_id": instance_id,
                "default_name": _default_name(None, instance_id),
            },
        )

    # -- re-authentication and reconfiguration ---------------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Find out what broke: the token (ask a new one) or the link (link the phone again)."""
        entry = self._get_reauth_entry()
        self._data = {
            CONF_ACCESS_TOKEN: entry_data[CONF_ACCESS_TOKEN],
            CONF_INSTANCE_ID: normalize_instance_id(entry_data[CONF_INSTANCE_ID]),
            CONF_BASE_URL: entry_data.get(CONF_BASE_URL) or DEFAULT_BASE_URL,
        }
        self._country_code = default_country_code(entry.options)
        errors: dict[str, str] = {}
        state = await self._async_check(self._data, errors)
        if state is None:
            return await self.async_step_reauth_confirm()
        return await self._async_linked_or_link(state)

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new access token of the same instance."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = self._data | {CONF_ACCESS_TOKEN: str(user_input[CONF_ACCESS_TOKEN]).strip()}
            state = await self._async_check(data, errors)
            if state is not None:
                self._data = data
                return await self._async_linked_or_link(state)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(STEP_REAUTH_SCHEMA, user_input),
            errors=errors,
            description_placeholders={
                "instance_id": self._data[CONF_INSTANCE_ID],
                "profile_url": PROFILE_URL,
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the access token or the gateway URL of the entry's instance (shown, not asked)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _connection_data(user_input, entry.data)
            if await self._async_check_connection(data, errors) is not None:
                # The instance id stays as stored (see _async_finish).
                del data[CONF_INSTANCE_ID]
                return self.async_update_reload_and_abort(entry, data_updates=data)
        shown = user_input or _connection_input(entry.data)
        schema = _connection_schema(instance_field=False, open_address=_open_address(shown, errors))
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, shown),
            errors=errors,
            description_placeholders={
                "profile_url": PROFILE_URL,
                "instance_id": entry.data[CONF_INSTANCE_ID],
            },
        )

    # -- helpers ------------------------------------------------------------------------------

    def _get_client(self) -> SmartwatsClient:
        """Return the client of the instance being linked (made by `_async_check`)."""
        if TYPE_CHECKING:  # every linking step comes after a successful check
            assert self._client is not None
        return self._client

    async def _async_check_connection(
        self, data: dict[str, Any], errors: dict[str, str]
    ) -> LinkState | None:
        """Check typed connection data: the API address, then with the gateway (`_async_check`)."""
        if is_insecure_url(data[CONF_BASE_URL]):
            errors["base"] = "insecure_url"
            return None
        return await self._async_check(data, errors)

    async def _async_check(self, data: dict[str, Any], errors: dict[str, str]) -> LinkState | None:
        """Check connection data with the gateway and return the link state, or fill errors.

        An empty instance id creates an instance, whose id is written into ``data``.
        """
        if not data[CONF_ACCESS_TOKEN]:
            errors[CONF_ACCESS_TOKEN] = "invalid_auth"
            return None
        try:
            client = async_create_client(self.hass, data)
        except ValueError:
            errors["base"] = "invalid_url"
            return None
        if not data[CONF_INSTANCE_ID]:
            instance_id = await self._async_gateway(client.create_instance(), errors)
            if instance_id is None:
                return None
            data[CONF_INSTANCE_ID] = client.instance_id = normalize_instance_id(instance_id)
        # Confirmed: the gateway's "linked" may be a dead session (see get_link_state).
        state = await self._async_gateway(client.get_link_state(verify=True), errors)
        if state is not None:
            self._client = client
        return state

    async def _async_link_state_for_qr(self) -> LinkState:
        """Return the link state with a QR code to scan, clearing a dead session first.

        The gateway gives no QR for a session that is gone ("relogin required") or dead while its
        database says linked; logging that session out makes it give a fresh one.
        """
        client = self._get_client()
        state = await client.get_link_state(verify=True)
        if state.status is LinkStatus.LOGGED_OUT and state.qr_code is None:
            await client.logout()
            state = await client.get_link_state(verify=True)
        return state

    async def _async_pair_code(self, phone: str) -> str:
        """Return a pair code for ``phone``, clearing a dead session first (as for the QR)."""
        client = self._get_client()
        try:
            return await client.get_pair_code(phone)
        except SmartwatsAlreadyLinkedError:
            if (await client.get_link_state(verify=True)).linked:
                raise
        await client.logout()
        return await client.get_pair_code(phone)

    async def _async_gateway[T](self, call: Awaitable[T], errors: dict[str, str]) -> T | None:
        """Await a gateway call; on failure fill ``errors`` and return None."""
        try:
            return await call
        except Exception as err:
            errors["base"] = form_error(err)
            if errors["base"] == "unknown":
                _LOGGER.exception("Unexpected error from the SmartWats gateway")
        return None

    async def _async_linked_or_link(self, state: LinkState) -> ConfigFlowResult:
        """Finish when the instance is linked (a new one is named first), else offer to link it."""
        if self.source == SOURCE_REAUTH:
            if state.linked:
                return await self._async_finish()
            return await self.async_step_relink()
        if state.linked:
            return await self.async_step_finish()
        return await self.async_step_link()

    async def _async_watch_qr(self, shown: str | None) -> LinkState | None:
        """Poll the link state until the phone has linked or the gateway shows another QR code.

        Return that state, or None when the time for scanning is up.
        """
        try:
            async with asyncio.timeout_at(self._qr_deadline):
                while True:
                    await asyncio.sleep(QR_POLL_INTERVAL)
                    try:
                        state = await self._async_link_state_for_qr()
                    except SmartwatsError as err:
                        _LOGGER.debug("Link state unknown while the QR code is shown: %s", err)
                        continue
                    if state.linked or state.qr_code not in (None, shown):
                        return state
        except TimeoutError:
            return None

    async def _async_wait_for_link(self) -> bool:
        """Poll the link state until the phone has linked (True) or the time is up (False)."""
        client = self._get_client()
        try:
            async with asyncio.timeout(PAIR_CODE_TIMEOUT):
                while True:
                    await asyncio.sleep(PAIR_CODE_POLL_INTERVAL)
                    try:
                        state = await client.get_link_state(verify=True)
                    except SmartwatsError as err:
                        _LOGGER.debug("Link state unknown while waiting for the pair code: %s", err)
                        continue
                    if state.linked:
                        return True
        except TimeoutError:
            return False

    async def _async_finish(self, name: str = "") -> ConfigFlowResult:
        """Create the entry (named ``name``, else by default), or update the re-authenticated one.

        A new entry's default country code is that of Home Assistant's country, if known.
        """
        data = dict(self._data)
        if self._phone:
            data[CONF_PHONE] = self._phone
        if self.source == SOURCE_REAUTH:
            # The instance id stays as stored: an entry the migration could not normalise (another
            # entry has its normalised id) would otherwise take that entry's entity and device ids.
            del data[CONF_INSTANCE_ID]
            return self._async_reauth_done(data)
        data[CONF_WEBHOOK_ID] = webhook.async_generate_id()
        options: dict[str, Any] = {
            CONF_ALLOWED_EVENTS: list(DEFAULT_ALLOWED_EVENTS),
            CONF_SEND_INTERVAL: DEFAULT_SEND_INTERVAL,
            CONF_INCLUDE_OWN_MESSAGES: DEFAULT_INCLUDE_OWN_MESSAGES,
            CONF_OUTBOX_VALID_FOR: DEFAULT_OUTBOX_VALID_FOR,
        }
        if self._country_code:
            options[CONF_DEFAULT_COUNTRY_CODE] = self._country_code
        return self.async_create_entry(
            title=name or _default_name(self._phone, data[CONF_INSTANCE_ID]),
            data=data,
            options=options,
        )

    def _async_reauth_done(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Store what re-authentication changed; reload only when the connection changed.

        A relink of a loaded entry needs no reload: its coordinator is told the session is
        back (a completed link is evidence of it), so the link state never reloads the entry.
        """
        entry: SmartwatsConfigEntry = self._get_reauth_entry()
        connection_changed = any(
            data.get(key) != entry.data.get(key) for key in (CONF_ACCESS_TOKEN, CONF_BASE_URL)
        )
        if connection_changed or entry.state is not ConfigEntryState.LOADED:
            return self.async_update_reload_and_abort(entry, data_updates=data)
        self.hass.config_entries.async_update_entry(entry, data={**entry.data, **data})
        entry.runtime_data.coordinator.async_set_linked(except_flow=self.flow_id)
        return self.async_abort(reason="reauth_successful")


class SmartwatsOptionsFlow(OptionsFlowWithReload):
    """Change which events arrive, the default country code, pacing and own messages."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and check the options.

        Without a default country code, that of Home Assistant's country is offered.
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            options = dict(user_input)
            code = str(options.pop(CONF_DEFAULT_COUNTRY_CODE, "") or "").strip()
            code = code.removeprefix("+").removeprefix("00")
            if not options.get(CONF_ALLOWED_EVENTS):
                errors[CONF_ALLOWED_EVENTS] = "no_events"
            if code and not _COUNTRY_CODE.fullmatch(code):
                errors[CONF_DEFAULT_COUNTRY_CODE] = "invalid_country_code"
            if not errors:
                options[CONF_ALLOWED_EVENTS] = [
                    _EVENTS_CHOSEN[choice] for choice in options[CONF_ALLOWED_EVENTS]
                ]
                if code:
                    options[CONF_DEFAULT_COUNTRY_CODE] = code
                return self.async_create_entry(data=options)
        if user_input is None:
            user_input = dict(self.config_entry.options)
            user_input[CONF_ALLOWED_EVENTS] = [
                _EVENT_CHOICES[event]
                for event in user_input.get(CONF_ALLOWED_EVENTS, ())
                if event in _EVENT_CHOICES
            ]
            if not user_input.get(CONF_DEFAULT_COUNTRY_CODE):
                user_input[CONF_DEFAULT_COUNTRY_CODE] = calling_code(self.hass.config.country)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, user_input),
            errors=errors,
            description_placeholders={
                "max_send_interval": f"{MAX_SEND_INTERVAL:g}",
                "max_valid_for": str(MAX_OUTBOX_VALID_FOR),
            },
        )


# What the recipient form suggests for Assist (off, Home Assistant's own agent).
_ASSIST_SUGGESTED: Final[Mapping[str, Any]] = {
    CONF_ASSIST: False,
    CONF_AGENT_ID: DEFAULT_AGENT_ID,
    CONF_ASSIST_PREFIX: DEFAULT_ASSIST_PREFIX,
}


def _recipient_data(name: str, target: str, user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Return a recipient's subentry data; the Assist settings only while Assist is on."""
    data: dict[str, Any] = {CONF_NAME: name, CONF_TARGET: target}
    if not user_input.get(CONF_ASSIST):
        return data
    data[CONF_ASSIST] = True
    data[CONF_AGENT_ID] = user_input.get(CONF_AGENT_ID) or DEFAULT_AGENT_ID
    if user_id := user_input.get(CONF_USER_ID):
        data[CONF_USER_ID] = user_id
    if is_group_jid(target):
        prefix = str(user_input.get(CONF_ASSIST_PREFIX) or "").strip()
        data[CONF_ASSIST_PREFIX] = prefix or DEFAULT_ASSIST_PREFIX
    return data


class RecipientSubentryFlowHandler(ConfigSubentryFlow):
    """Add or change a recipient: a phone number, a WhatsApp id or a group."""

    def __init__(self) -> None:
        """Start without the groups (fetched once, when the form is first shown)."""
        self._groups: list[Group] | None = None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a recipient."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            target = await self._async_target(user_input, errors)
            if target is not None and not self._target_taken(
                user_input, target, None, errors, placeholders
            ):
                name = str(user_input[CONF_NAME]).strip()
                return self.async_create_entry(
                    title=name, data=_recipient_data(name, target, user_input), unique_id=target
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                await self._async_schema(), user_input or _ASSIST_SUGGESTED
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a recipient's name or target."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        placeholders = {"name": subentry.title}
        if user_input is not None:
            target = await self._async_target(user_input, errors)
            if target is not None and not self._target_taken(
                user_input, target, subentry.subentry_id, errors, placeholders
            ):
                name = str(user_input[CONF_NAME]).strip()
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=name,
                    data=_recipient_data(name, target, user_input),
                    unique_id=target,
                )
        schema = await self._async_schema()
        if user_input is None:
            current = subentry.data[CONF_TARGET]
            if any(g.id == current for g in self._groups or ()):
                user_input = {CONF_NAME: subentry.data[CONF_NAME], CONF_GROUP: current}
            else:
                user_input = {
                    CONF_NAME: subentry.data[CONF_NAME],
                    CONF_TARGET: format_phone(current),
                }
            user_input |= {
                key: subentry.data.get(key, default) for key, default in _ASSIST_SUGGESTED.items()
            }
            if user_id := subentry.data.get(CONF_USER_ID):
                user_input[CONF_USER_ID] = user_id
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _target_taken(
        self,
        user_input: Mapping[str, Any],
        target: str,
        subentry_id: str | None,
        errors: dict[str, str],
        placeholders: dict[str, str],
    ) -> bool:
        """Whether another recipient of the entry has this target; if so, say which one.

        The error is on the field the target came from (the number typed or the group picked).
        """
        other: ConfigSubentry | None = next(
            (
                sub
                for sub in self._get_entry().subentries.values()
                if sub.subentry_type == SUBENTRY_RECIPIENT
                and sub.unique_id == target
                and sub.subentry_id != subentry_id
            ),
            None,
        )
        if other is None:
            return False
        errors[CONF_GROUP if user_input.get(CONF_GROUP) else CONF_TARGET] = "target_taken"
        placeholders["recipient"] = other.title
        return True

    def _client(self) -> SmartwatsClient:
        entry = self._get_entry()
        return async_create_client(self.hass, entry.data, entry.options)

    async def _async_schema(self) -> vol.Schema:
        """Return the form; the group dropdown is left out when no group is known."""
        if self._groups is None:
            try:
                self._groups = await self._client().get_groups()
            except SmartwatsError as err:
                _LOGGER.debug("Groups unavailable for the recipient form: %s", err)
                self._groups = []
        schema: dict[vol.Marker, Any] = {
            vol.Required(CONF_NAME): _TEXT_SELECTOR,
            vol.Optional(CONF_TARGET): _PHONE_SELECTOR,
        }
        if self._groups:
            schema[vol.Optional(CONF_GROUP)] = SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(value=group.id, label=group.name or group.id)
                        for group in self._groups
                    ],
                    mode=SelectSelectorMode.DROPDOWN,
                    sort=True,
                )
            )
        users = [
            SelectOptionDict(value=user.id, label=user.name or user.id)
            for user in await self.hass.auth.async_get_users()
            if user.is_active and not user.system_generated
        ]
        schema |= {
            vol.Required(CONF_ASSIST, default=False): BooleanSelector(),
            vol.Optional(CONF_AGENT_ID): EntitySelector(
                EntitySelectorConfig(domain="conversation")
            ),
            vol.Optional(CONF_USER_ID): SelectSelector(
                SelectSelectorConfig(options=users, mode=SelectSelectorMode.DROPDOWN, sort=True)
            ),
            vol.Optional(CONF_ASSIST_PREFIX): _TEXT_SELECTOR,
        }
        return vol.Schema(schema)

    async def _async_target(
        self, user_input: Mapping[str, Any], errors: dict[str, str]
    ) -> str | None:
        """Return the target of the form (a picked group or a typed number), or fill errors."""
        typed = str(user_input.get(CONF_TARGET) or "").strip()
        group = str(user_input.get(CONF_GROUP) or "")
        if bool(typed) == bool(group):
            errors["base"] = "target_or_group"
            return None
        if group:
            return group
        return await self._async_typed_target(typed, errors)

    async def _async_typed_target(self, typed: str, errors: dict[str, str]) -> str | None:
        """Return a typed number normalised and checked with the gateway, or fill errors."""
        entry = self._get_entry()
        try:
            target = normalize_phone(typed, default_country_code(entry.options))
        except InvalidPhoneNumberError:
            errors[CONF_TARGET] = "invalid_phone"
            return None
        if "@" in target:  # a group JID or a LID: nothing to check
            return target
        if target == entry.data.get(CONF_PHONE):
            errors[CONF_TARGET] = "own_number"
            return None
        try:
            check = await self._client().check_phone(target)
        except SmartwatsError as err:
            _LOGGER.debug("Cannot check %s: %s", target, err)
            errors["base"] = form_error(err)
            return None
        if check.exists:
            return target
        errors[CONF_TARGET] = "not_on_whatsapp"
        return None
