"""The API's JSON parser: DRF's, plus refusals for input no agency means to send."""

from __future__ import annotations

from rest_framework.parsers import JSONParser

from hub.errors import InvalidRequest

NUL = "\u0000"

# No request body the API documents nests deeper than a handful of levels (metadata is a
# flat object inside the body). Deeper input only costs stack: serializers, the
# idempotency fingerprint and the JSON encoder all recurse.
MAX_DEPTH = 32
TOO_DEEP = f"JSON may nest at most {MAX_DEPTH} levels deep"


class HubJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # 100,000 "[" fit in 200 KB; the decoder gives up long before our limit
            # could be checked on what it built.
            _fail(None, "nested_too_deeply", TOO_DEEP)
        _refuse_hostile_structure(data)
        return data


def _refuse_hostile_structure(data) -> None:
    """Refuse nesting beyond MAX_DEPTH, and any string, key or field name holding U+0000
    or a lone surrogate (``"\\ud800"``).

    PostgreSQL's text and jsonb cannot store a NUL, and a lone surrogate cannot be
    encoded as UTF-8 at all, so one that slipped through to a save, into a stored
    idempotent refusal, or into an error message that echoes a bad field name was a 500.
    Walked with a stack, not recursion: the body's depth is the client's choice.
    """
    stack = [(data, None, 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value, path)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth >= MAX_DEPTH:
            _fail(path, "nested_too_deeply", TOO_DEEP)
        if isinstance(value, dict):
            for key, item in value.items():
                key_path = _join(path, key)
                _check_text(key, key_path)
                stack.append((item, key_path, depth + 1))
        else:
            stack.extend(
                (item, _join(path, str(index)), depth + 1) for index, item in enumerate(value)
            )


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
    field = (
        path.encode("ascii", "backslashreplace").decode().replace(NUL, "\\u0000") if path else None
    )
    raise InvalidRequest(message, code=code, field=field)
