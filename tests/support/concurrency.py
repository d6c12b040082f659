"""Helpers for tests that look at the database from a second connection while work runs."""

from __future__ import annotations

import threading

from django.db import OperationalError, connection, transaction


def in_background(work):
    """Run ``work()`` in a thread with its own database connection.

    Returns the thread and a dict that gets ``result`` or ``error`` when it ends."""
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = work()
        except Exception as exc:  # asserted on by the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def row_is_free(table: str, pk: str) -> bool:
    """Could another connection lock the row right now? (NOWAIT: answer at once.)"""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # The table name comes from the test, never from input.
            cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT", [pk])  # noqa: S608
        return True
    except OperationalError:
        return False
