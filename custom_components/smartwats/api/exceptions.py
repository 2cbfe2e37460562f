"""Exceptions raised by the SmartWats API client.

Every exception carries a human-readable message in its ``message`` attribute (also its
``str()``): the gateway's own text or a description written by the client, never the access token.
"""

from __future__ import annotations


class SmartwatsError(Exception):
    """Base class of every error the gateway or the transport reports."""

    def __init__(self, message: str) -> None:
        """Keep the gateway's message (or the client's description of the failure)."""
        super().__init__(message)
        self.message = message


class SmartwatsAuthError(SmartwatsError):
    """The access token is missing, wrong or revoked: the user must enter a new one."""


class SmartwatsInstanceError(SmartwatsError):
    """The instance id is missing, unknown or has been invalidated."""


class SmartwatsNotLinkedError(SmartwatsError):
    """The instance has not been linked to a phone yet (QR code or pair code not used)."""


class SmartwatsLoggedOutError(SmartwatsError):
    """The phone ended the session (relogin required): the instance must be linked again."""


class SmartwatsAlreadyLinkedError(SmartwatsError):
    """A QR code or pair code was asked for an instance that is already linked to a phone."""


class SmartwatsQuotaError(SmartwatsError):
    """The plan's message quota is used up."""


class SmartwatsRequestError(SmartwatsError):
    """The gateway rejected the request (validation error, generic failure, unknown error text)."""


class SmartwatsConnectionError(SmartwatsError):
    """A temporary failure: network error, timeout, outage, 5xx or an answer that is not JSON.

    Raised as such, the request surely had no effect (it never reached the gateway, or the gateway
    answered that it failed). See `SmartwatsOutcomeUnknownError` for the case where it may have.
    """


class SmartwatsNotReadyError(SmartwatsConnectionError):
    """The QR code or pair code has not been generated yet: ask again in a few seconds."""


class SmartwatsOutcomeUnknownError(SmartwatsConnectionError):
    """A send (or `create_instance`) failed after the request may have reached the gateway.

    Examples: a timeout while waiting for the answer, a connection reset after the request was
    written, a 5xx or a body that is not JSON. The message may have been sent: the client never
    resends it, and callers should not either without checking first.
    """


class InvalidPhoneNumberError(ValueError):
    """A phone number or WhatsApp id that cannot be used; the message names the bad value."""
