"""Gateway errors as Home Assistant errors: one table, used by every part that calls the gateway.

The client raises `SmartwatsError` subclasses (api/exceptions.py). Actions, sends, the link
coordinator and the webhook registration turn them into translated `HomeAssistantError`s with
`gateway_errors` (or `ha_error`); the config flow turns them into form errors with `form_error`.
What an error reveals about the session (a revoked token, a session logged out) is acted on by
whoever is told through ``on_error`` — the link coordinator (`SmartwatsLinkCoordinator.
async_gateway_failed`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

from homeassistant.exceptions import HomeAssistantError

from .api import (
    SmartwatsAuthError,
    SmartwatsConnectionError,
    SmartwatsError,
    SmartwatsInstanceError,
    SmartwatsLoggedOutError,
    SmartwatsNotLinkedError,
    SmartwatsOutcomeUnknownError,
    SmartwatsQuotaError,
)
from .const import DOMAIN

# For each kind of failure, the first that matches: the translation key of the action's error
# (translations' "exceptions") and the config flow's form error (translations' "config.error").
_ERRORS: Final[tuple[tuple[type[Exception], str, str], ...]] = (
    (SmartwatsAuthError, "invalid_auth", "invalid_auth"),
    (SmartwatsInstanceError, "invalid_instance", "invalid_instance"),
    (SmartwatsLoggedOutError, "not_linked", "cannot_connect"),
    (SmartwatsNotLinkedError, "not_linked", "cannot_connect"),
    (SmartwatsQuotaError, "quota_exceeded", "unknown"),
    # Before its base class: the request may have reached the gateway.
    (SmartwatsOutcomeUnknownError, "outcome_unknown", "cannot_connect"),
    (SmartwatsConnectionError, "temporary_failure", "cannot_connect"),
    (SmartwatsError, "rejected", "unknown"),
    # The client's own checks of what it is asked to send.
    (ValueError, "rejected", "unknown"),
)


def _row(err: Exception) -> tuple[str, str]:
    for kind, key, form in _ERRORS:
        if isinstance(err, kind):
            return key, form
    return "rejected", "unknown"


def translation_key(err: Exception) -> str:
    """Return the translation key of the action error for a gateway failure."""
    return _row(err)[0]


def form_error(err: Exception) -> str:
    """Return the config flow's form error for a gateway failure."""
    return _row(err)[1]


def ha_error(err: SmartwatsError | ValueError) -> HomeAssistantError:
    """Return the translated error for a gateway failure (its text as ``error``)."""
    error = HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=translation_key(err),
        translation_placeholders={"error": str(err)},
    )
    error.__cause__ = err
    return error


@contextmanager
def gateway_errors(
    on_error: Callable[[SmartwatsError | ValueError], None] | None = None,
) -> Iterator[None]:
    """Raise a gateway failure inside the block as its translated `HomeAssistantError`.

    ``on_error`` is told of the failure first (the link coordinator acts on what it reveals).
    """
    try:
        yield
    except (SmartwatsError, ValueError) as err:
        if on_error is not None:
            on_error(err)
        raise ha_error(err) from err
