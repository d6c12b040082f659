"""Drop the ``varchar_pattern_ops`` copies of the id indexes of the tables an import and
a run write row by row (issue 14).

Django's PostgreSQL backend gives every indexed or unique ``CharField`` a second index
(``…_like``) so that ``LIKE 'prefix%'`` can use it. Nothing reads these ids by prefix
(they are looked up and joined by equality; the admin's search is ``icontains``, which
no B-tree serves), yet every statement line, detail, match, match link and report row
paid for one to three such indexes on insert: 18 of the 43 index insertions per entry.
The equality indexes, primary keys and unique constraints are untouched.

PostgreSQL only; the reverse recreates them exactly as Django made them. Django drops
a ``_like`` index with ``DROP INDEX IF EXISTS`` when a field changes, so later
migrations of these fields are unaffected.
"""

from django.db import migrations

from hub.pattern_indexes import drop_pattern_indexes

TABLES = (
    "StatementLine",
    "StatementLineDetail",
    "Match",
    "MatchLine",
    "MatchItem",
    "RunItem",
)


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0003_run_heartbeat_and_abandoned"),
    ]

    operations = [drop_pattern_indexes("reconciliation", TABLES)]
