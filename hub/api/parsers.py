"""The API's JSON parser: DRF's, plus refusals for input no agency means to send."""

from __future__ import annotations

from rest_framework.parsers import JSONParser

from hub.api.errors import InvalidRequest

NUL = "\u0000"


class HubJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _refuse_unstorable_text(data)
        return data


def _refuse_unstorable_text(data) -> None:
    """No string, key or field name may hold U+0000 or a lone surrogate (``"\\ud800"``).

    PostgreSQL's text and jsonb cannot store a NUL, and a lone surrogate cannot be
    encoded as UTF-8 at all, so one that slipped through to a save, into a stored
    idempotent refusal, or into an error message that echoes a bad field name was a 500.
    Walked with a stack, not recursion: the body's depth is the client's choice.
    """
    stack = [(data, None)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, dict):
            for key, item in value.items():
                key_path = _join(path, key)
                _check_text(key, key_path)
                stack.append((item, key_path))
        elif isinstance(value, list):
            stack.extend((item, _join(path, str(index))) for index, item in enumerate(value))


def _join(path: str | None, part: str) -> str:
    return f"{path}.{part}" if path else part


def _check_text(text: str, path: str | None) -> None:
    if NUL in text:
        _fail(path, "nul_character", "Text may not contain the NUL character (U+0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        _fail(path, "invalid_unicode", "Text may not contain a lone UTF-16 surrogate")


def _fail(path: str | None, code: str, message: str):
    # The path names the offender without repeating the bad character itself.
    field = path.encode("ascii", "backslashreplace").decode() if path else None
    raise InvalidRequest(message, code=code, field=field)
