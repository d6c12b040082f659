"""``field__any=[…]``: membership in a long list of ids as one array parameter.

A run asks "which of these 1,000 lines / payments / matches …" a dozen times per batch.
With ``__in`` Django prepares each of the 1,000 values and writes 1,000 placeholders,
which psycopg then parses back out of the query text: a few milliseconds of Python per
query, more than PostgreSQL spends answering it. ``__any`` sends the list as one array
(``= ANY(%s)``) on PostgreSQL, which uses the same index; other databases get ``IN``.

For lists of plain ids (strings) only: the values are not converted by the field.

Platform code: registering a lookup changes every CharField and ForeignKey of the
project (payments' selectors use it as much as reconciliation), so it lives in hub and
hub's AppConfig.ready registers it, whichever apps are installed.
"""

from __future__ import annotations

from django.db.models import CharField, ForeignKey, Lookup


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = self.rhs
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            return "1 = 0", list(lhs_params)
        placeholders = ", ".join(["%s"] * len(values))
        return f"{lhs} IN ({placeholders})", [*lhs_params, *values]


CharField.register_lookup(AnyOf)
ForeignKey.register_lookup(AnyOf)
