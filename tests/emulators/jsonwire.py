"""Fast JSON for answer bodies.

A page is mostly JSON encoding, so the encoder is built once instead of per call
(``json.dumps`` with options builds a new one every time), and non-ASCII text goes
out as UTF-8, as the real services send it, sparing the escaping work. The output is
byte for byte ``json.dumps(value, ensure_ascii=False, default=default).encode()``;
text UTF-8 cannot carry (lone surrogates) falls back to ``\\u`` escapes.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any

# The C encoder json.dumps itself uses (None on interpreters without it).
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)

__all__ = ["JsonWriter", "encode_json"]


def _not_serializable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class JsonWriter:
    """A reusable ``json.dumps(..., ensure_ascii=False, default=default).encode()``."""

    def __init__(self, default: Callable[[Any], Any] | None = None) -> None:
        """Build the encoder.

        Args:
            default: Renders values JSON has no type for (e.g. datetimes).
        """
        self._default = default or _not_serializable
        if _c_make_encoder is not None:
            # The same C encoder json.dumps uses, minus the circular-reference check
            # (stored commands are trees) and minus being rebuilt on every call.
            # Positional only: markers, default, encoder, indent, key_separator,
            # item_separator, sort_keys, skipkeys, allow_nan.
            sort_keys, skipkeys, allow_nan = False, False, True
            encoder = _c_make_encoder(
                None,
                self._default,
                json.encoder.encode_basestring,
                None,
                ": ",
                ", ",
                sort_keys,
                skipkeys,
                allow_nan,
            )
            self._text: Callable[[Any], str] = lambda value: "".join(encoder(value, 0))
        else:  # pragma: no cover - CPython always has the C encoder
            python_encoder = json.JSONEncoder(ensure_ascii=False, default=self._default)
            self._text = python_encoder.encode

    def __call__(self, value: Any) -> bytes:
        """Serialise a value."""
        try:
            return self._text(value).encode()
        except UnicodeEncodeError:
            return json.dumps(value, default=self._default).encode()


_PLAIN = JsonWriter()


def encode_json(payload: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """Serialise an answer body (see the module docstring)."""
    return (_PLAIN if default is None else JsonWriter(default))(payload)
