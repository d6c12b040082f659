"""Ids made by PostgreSQL for rows written by ``INSERT … SELECT`` (tenants.ids.id_sql)
have new_id's format: the prefix, "_" and 24 base32 characters of 120 random bits.

PostgreSQL only (gen_random_uuid): SQLite runs never write matches this way."""

from __future__ import annotations

import base64
import re
import uuid

import pytest
from django.db import connection

from tenants.ids import id_bits_sql, id_sql, new_id

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

FORMAT = re.compile(r"mat_[a-z2-7]{24}")


def _ids(count: int) -> list[tuple[str, str]]:
    """(id, the UUID drawn for it) of ``count`` rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {id_sql("mat", "b")}, u::text
                FROM (SELECT {id_bits_sql("u")} AS b, u
                      FROM (SELECT gen_random_uuid() AS u FROM generate_series(1, %s)) drawn
                      OFFSET 0) bits""",  # noqa: S608
            [count],
        )
        return cursor.fetchall()


def test_sql_ids_have_the_format_of_new_id_and_are_distinct():
    ids = _ids(2000)
    assert all(FORMAT.fullmatch(made) for made, _ in ids)
    assert FORMAT.fullmatch(new_id("mat"))
    assert len({made for made, _ in ids}) == len(ids)


def test_an_sql_id_is_the_base32_of_the_uuids_120_random_bits():
    for made, drawn in _ids(50):
        digits = uuid.UUID(drawn).hex
        assert uuid.UUID(drawn).version == 4
        random_hex = digits[:12] + digits[13:16] + digits[17:]  # less version and variant
        expected = base64.b32encode(bytes.fromhex(random_hex)).decode().lower()
        assert made == f"mat_{expected}"


def test_a_prefix_must_be_a_constant_of_lower_case_letters():
    for prefix in ("Mat", "ma't", "", "m1"):
        with pytest.raises(ValueError):
            id_sql(prefix, "b")
