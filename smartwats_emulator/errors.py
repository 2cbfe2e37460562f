"""The gateway's answer texts, verbatim, and the emulator's own exception.

The texts come from shared/notes/gateway-behaviour.md §3: clients match on them, so they must not be
reworded. The few marked "not in the note" belong to SmartWats' own endpoints, whose bodies are not
public; they are worded like their siblings.
"""

from __future__ import annotations

ACCESS_TOKEN_REQUIRED = "Access token is required"  # noqa: S105 - a message, not a secret
ACCESS_TOKEN_UNKNOWN = "Access token does not exist"  # noqa: S105
INSTANCE_REQUIRED = "Instance ID is required"
INSTANCE_UNKNOWN = "Instance ID Invalidated"
INSTANCE_INVALIDATED = "The Instance ID provided has been invalidated"
NOT_ACTIVATED = "This instance ID has not been activated yet"
ALREADY_LINKED_QR = "Instance ID has been used"
ALREADY_LINKED_PAIR = "It seems that you have logged in successfully"
RELOGIN_REQUIRED = "This WhatsApp account relogin required"
ALREADY_LOGGED_OUT = "This account seems to have logged out before."
PHONE_REQUIRED = "Phone number is required"
RECIPIENT_REQUIRED = "Recipient is required"
MEDIA_OR_MESSAGE_REQUIRED = "Please enter media url or message"
CANNOT_CONNECT = "Cannot connect to WhatsApp server. Please try again later"
QR_NOT_READY = "The system cannot generate a WhatsApp QR code"
PAIR_NOT_READY = "Cannot get Pair Code"
QUOTA_EXCEEDED = "The number of messages you have sent per month has exceeded the maximum limit"
WEBHOOK_URL_REQUIRED = "Webhook URL is required"
WEBHOOK_URL_INVALID = "Webhook URL is not a valid URL"
ENABLE_REQUIRED = "Enable field is required"
SEND_FAILED = "Error"

# Not in the note: validation of SmartWats' own endpoints (LOW confidence in the exact wording).
LOCATION_REQUIRED = "Latitude and longitude are required"
CONTACT_REQUIRED = "Contact name and contact phone are required"
CARDS_REQUIRED = "Cards are required"
ALBUM_TOO_LARGE = "An album can contain up to 10 items"

# Success texts.
SUCCESS = "Success"
INSTANCE_CREATED = "Instance ID generated successfully"
WEBHOOK_SAVED = "Webhook URI Saved"


class EmulatorError(Exception):
    """A misuse of the emulator's Python or control API (unknown id, impossible transition)."""


class UnknownIdError(EmulatorError):
    """No account or instance has that token or id."""
