"""Where the gateway reads request parameters from, and the record of every request.

The PHP front end reads the query string and form fields; only the `send*` family and
`check_phones_batch` also read a JSON body (as the vendor's examples send them). Everything else
ignores JSON, so a client that posts JSON to, say, `set_webhook` sees "Access token is required",
as it would on the real gateway.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
import json
import time
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from .jsontypes import JsonDict

SEND_ENDPOINTS = frozenset(
    {
        "send",
        "send_group",
        "send_location",
        "send_contact",
        "send_audio",
        "send_album",
        "send_carousel",
    }
)
JSON_ENDPOINTS = SEND_ENDPOINTS | {"check_phones_batch"}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the gateway received it, for tests to inspect.

    `query` and `form` keep the last value of a repeated field (PHP does the same); `json` is the
    decoded body whatever the endpoint, even where the gateway itself would not read it.
    """

    endpoint: str
    method: str
    query: dict[str, str]
    form: dict[str, str]
    json: Any
    instance_id: str | None
    access_token: str | None
    content_type: str
    time: float = field(default_factory=time.time)

    def as_dict(self) -> JsonDict:
        """Return the record as JSON-serialisable data."""
        return asdict(self)


class RequestParams:
    """The merged parameters of one request: query, then form, then (JSON endpoints) JSON body."""

    def __init__(self, values: JsonDict) -> None:
        """Wrap the merged values."""
        self.values = values

    def text(self, name: str) -> str:
        """Return the field as a stripped string ("" when absent), the way PHP would see it."""
        value = self.values.get(name)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float, str)):
            return str(value).strip()
        if isinstance(value, list):
            return ",".join(str(item).strip() for item in value)
        return json.dumps(value)

    def items(self, name: str) -> list[Any]:
        """Return a list field: a JSON array, `name[]` form fields, or a JSON-encoded string."""
        value = self.values.get(name)
        if isinstance(value, list):
            return value
        if isinstance(value, str) and value.strip().startswith("["):
            try:
                decoded = json.loads(value)
            except ValueError:
                return []
            return decoded if isinstance(decoded, list) else []
        return []


def _php_fields(source: MultiMapping[Any]) -> tuple[JsonDict, dict[str, str]]:
    """Fold a multidict like PHP: `name[]` collects a list, a plain repeated name keeps the last."""
    values: JsonDict = {}
    record: dict[str, str] = {}
    for key, value in source.items():
        if not isinstance(value, str):  # an uploaded file: the gateway takes URLs only
            continue
        record[key] = value
        if key.endswith("[]"):
            values.setdefault(key[:-2], []).append(value)
        else:
            values[key] = value
    return values, record


async def read_params(request: web.Request, endpoint: str) -> tuple[RequestParams, RecordedRequest]:
    """Read a request's parameters the way the gateway does, and record the request."""
    query_values, query_record = _php_fields(request.query)
    form_values: JsonDict = {}
    form_record: dict[str, str] = {}
    json_body: Any = None
    content_type = request.content_type
    if content_type in _FORM_TYPES:
        form_values, form_record = _php_fields(await request.post())
    elif request.can_read_body:
        raw = await request.read()
        if raw.strip():
            try:
                json_body = json.loads(raw)
            except ValueError:
                json_body = None
    values = {**query_values, **form_values}
    # Like PHP's json_decode(php://input): whatever the Content-Type, on the endpoints that read it.
    if endpoint in JSON_ENDPOINTS and isinstance(json_body, dict):
        values.update(json_body)
    params = RequestParams(values)
    record = RecordedRequest(
        endpoint=endpoint,
        method=request.method,
        query=query_record,
        form=form_record,
        json=json_body,
        instance_id=params.text("instance_id") or None,
        access_token=params.text("access_token") or None,
        content_type=content_type,
    )
    return params, record
