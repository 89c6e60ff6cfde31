"""Log lines with their facts as fields, not inside the message.

Every module of both layers logs with the standard ``logging`` module, a
short fixed message and its facts as ``extra=kv(...)``::

    log.info("uploaded file", extra=kv(name="UFS:sp-ca.pem", size=1234, wait=5))

``kv`` puts the fields on the record (``FIELDS_ATTRIBUTE``); the proxy's
formatters (``proxy.logging_setup``) write them after the message as
``key=value`` pairs, or as keys of the line's JSON object, so a log shipper
gets ``size`` as a number instead of parsing it out of a sentence.  Values
stay what they are (numbers, booleans, text); ``None`` fields are left out.
A program that uses the driver with a plain ``logging`` formatter sees the
messages without the fields.  Nothing secret is ever passed as a field.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FIELDS_ATTRIBUTE", "kv"]

FIELDS_ATTRIBUTE = "kv_fields"
"""The ``LogRecord`` attribute that holds a line's fields (a dict)."""


def kv(**fields: Any) -> dict[str, Any]:
    """The ``extra=`` argument that carries ``fields`` to the formatter."""
    return {FIELDS_ATTRIBUTE: fields}
