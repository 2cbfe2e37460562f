"""The one table that turns gateway failures into translated errors (errors.py)."""

from __future__ import annotations

from unittest.mock import Mock

from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.smartwats.api import (
    SmartwatsAuthError,
    SmartwatsConnectionError,
    SmartwatsError,
    SmartwatsInstanceError,
    SmartwatsLoggedOutError,
    SmartwatsNotLinkedError,
    SmartwatsNotReadyError,
    SmartwatsOutcomeUnknownError,
    SmartwatsQuotaError,
    SmartwatsRequestError,
)
from custom_components.smartwats.const import DOMAIN
from custom_components.smartwats.errors import form_error, gateway_errors, ha_error, translation_key


@pytest.mark.parametrize(
    ("error", "key", "form"),
    [
        (SmartwatsAuthError("Access token does not exist"), "invalid_auth", "invalid_auth"),
        (SmartwatsInstanceError("Instance ID Invalidated"), "invalid_instance", "invalid_instance"),
        (SmartwatsLoggedOutError("relogin required"), "not_linked", "cannot_connect"),
        (SmartwatsNotLinkedError("not activated yet"), "not_linked", "cannot_connect"),
        (SmartwatsQuotaError("exceeded the maximum limit"), "quota_exceeded", "unknown"),
        (SmartwatsOutcomeUnknownError("No answer"), "outcome_unknown", "cannot_connect"),
        (SmartwatsNotReadyError("QR not ready"), "temporary_failure", "cannot_connect"),
        (SmartwatsConnectionError("Cannot connect"), "temporary_failure", "cannot_connect"),
        (SmartwatsRequestError("Error"), "rejected", "unknown"),
        (SmartwatsError("Error"), "rejected", "unknown"),
        (ValueError("Message must be a non-empty string"), "rejected", "unknown"),
        (RuntimeError("a bug"), "rejected", "unknown"),
    ],
)
def test_every_failure_has_its_key(error: Exception, key: str, form: str) -> None:
    """Subclasses before their bases: the most specific row wins."""
    assert translation_key(error) == key
    assert form_error(error) == form


def test_ha_error_keeps_the_gateways_text_and_cause() -> None:
    """The translated error names the gateway's text; the original is its cause."""
    err = SmartwatsQuotaError("The number of messages … exceeded the maximum limit")
    error = ha_error(err)
    assert error.translation_domain == DOMAIN
    assert error.translation_key == "quota_exceeded"
    assert error.translation_placeholders == {"error": str(err)}
    assert error.__cause__ is err


def test_gateway_errors_tells_then_raises() -> None:
    """Inside the block a failure is told to ``on_error`` first, then raised translated."""
    on_error = Mock()
    err = SmartwatsLoggedOutError("This WhatsApp account relogin required")
    with pytest.raises(HomeAssistantError) as raised, gateway_errors(on_error):
        raise err
    on_error.assert_called_once_with(err)
    assert raised.value.translation_key == "not_linked"
    with gateway_errors():
        pass  # nothing failed, nothing raised
