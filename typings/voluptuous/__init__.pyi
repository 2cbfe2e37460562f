# Type-checking view of `voluptuous` on the pinned Home Assistant, which installs probatio under
# that name at start-up (homeassistant/__init__.py). The integration imports `voluptuous as vol`
# so that it also loads on releases that ship voluptuous itself; mypy checks it against the
# probatio types Home Assistant's own signatures use.
from probatio import (
    ALLOW_EXTRA as ALLOW_EXTRA,
    PREVENT_EXTRA as PREVENT_EXTRA,
    All as All,
    Any as Any,
    Coerce as Coerce,
    In as In,
    Invalid as Invalid,
    Length as Length,
    Marker as Marker,
    MultipleInvalid as MultipleInvalid,
    Optional as Optional,
    Range as Range,
    Required as Required,
    Schema as Schema,
)
