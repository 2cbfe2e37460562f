"""Constants of the SmartWats integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

from .api import DEFAULT_BASE_URL
from .api.inbound import GATEWAY_EVENTS

__all__ = ["DEFAULT_BASE_URL", "GATEWAY_EVENTS"]

DOMAIN: Final = "smartwats"
LOGGER = logging.getLogger(__package__)

# Where users find their instances and tokens.
PROFILE_URL: Final = "https://app.smartwats.com/whatsapp_profile"

# entry.data (access_token and webhook_id are Home Assistant's CONF_ACCESS_TOKEN / CONF_WEBHOOK_ID)
CONF_INSTANCE_ID: Final = "instance_id"
CONF_BASE_URL: Final = "base_url"
# The linked phone number, when known: pair-code linking tells it, QR linking asks for it.
CONF_PHONE: Final = "phone"

# entry.options
CONF_ALLOWED_EVENTS: Final = "allowed_events"
CONF_DEFAULT_COUNTRY_CODE: Final = "default_country_code"
CONF_SEND_INTERVAL: Final = "send_interval"
CONF_INCLUDE_OWN_MESSAGES: Final = "include_own_messages"
# How long a message that cannot be sent now may wait in the outbox (seconds; 0: now or fail).
CONF_OUTBOX_VALID_FOR: Final = "outbox_valid_for"
DEFAULT_OUTBOX_VALID_FOR: Final = 3600
MAX_OUTBOX_VALID_FOR: Final = 604800

# Config subentries: one per recipient (a number or a group), each with a notify entity.
SUBENTRY_RECIPIENT: Final = "recipient"
CONF_TARGET: Final = "target"  # a normalised number or a group JID; the name is CONF_NAME

# Messages and receipts; the contact and group events are bulky (history sync) and rarely useful.
DEFAULT_ALLOWED_EVENTS: Final = ("messages.upsert", "received_message", "messages.update")
DEFAULT_SEND_INTERVAL: Final = 1.0
MAX_SEND_INTERVAL: Final = 60.0
DEFAULT_INCLUDE_OWN_MESSAGES: Final = False

# How often the link state is probed: rarely while linked, often while a scan is awaited.
LINKED_POLL_INTERVAL: Final = timedelta(minutes=5)
UNLINKED_POLL_INTERVAL: Final = timedelta(seconds=30)

# While someone looks at the QR image (the frontend fetched it lately), the link state is probed
# more often so that the picture follows the gateway's QR, which rotates about every 20 s.
QR_WATCH_POLL_INTERVAL: Final = timedelta(seconds=10)
QR_WATCH_WINDOW: Final = timedelta(seconds=60)
# A QR older than this is fetched again before the image is served.
QR_MAX_AGE: Final = timedelta(seconds=15)
# How long serving the image waits for that fetch before it serves the QR it has.
QR_FETCH_WAIT: Final = timedelta(seconds=5)

# Repair issue raised while the phone has logged the WhatsApp session out.
ISSUE_RELOGIN_REQUIRED: Final = "relogin_required"

# Sending (actions, notify entities, the send queue).
EVENT_MESSAGE_SENT: Final = "smartwats_message_sent"
EVENT_MESSAGE_FAILED: Final = "smartwats_message_failed"
# Repair issue raised while the oldest queued message has waited this long for a relink.
ISSUE_OUTBOX_STALLED: Final = "outbox_stalled"
# Served media (local files, camera snapshots, media-source items): how long a signed URL
# lives, and how many can wait to be fetched at once (the oldest goes first).
MEDIA_URL_TTL: Final = timedelta(minutes=5)
MEDIA_MAX_PENDING: Final = 100
MEDIA_VIEW_URL: Final = "/api/smartwats/media/{token}/{filename}"

# Receiving (the webhook, events for automations, event entities).
CONF_CLOUDHOOK_URL: Final = "cloudhook_url"  # entry.data: the Home Assistant Cloud webhook URL
EVENT_MESSAGE_RECEIVED: Final = "smartwats_message_received"
EVENT_MESSAGE_STATUS: Final = "smartwats_message_status"
EVENT_WEBHOOK_EVENT: Final = "smartwats_webhook_event"
# Repair issue raised while Home Assistant has no URL the gateway can post to.
ISSUE_WEBHOOK_UNAVAILABLE: Final = "webhook_unavailable"
# Webhook bodies above this are refused (a contacts.upsert burst after linking is well below).
WEBHOOK_MAX_BODY: Final = 4 * 1024 * 1024
# After a failed set_webhook call, how long until it is tried again.
WEBHOOK_RETRY_INTERVAL: Final = timedelta(minutes=1)

# Assist over WhatsApp: a recipient's chat may talk to a conversation agent (subentry data).
CONF_ASSIST: Final = "assist"
CONF_AGENT_ID: Final = "agent_id"
CONF_USER_ID: Final = "user_id"
CONF_ASSIST_PREFIX: Final = "assist_prefix"  # groups only: the start of a text meant for Assist
DEFAULT_AGENT_ID: Final = "conversation.home_assistant"  # Home Assistant's own agent
DEFAULT_ASSIST_PREFIX: Final = "@ha"
