"""The one exception every statement parser raises for bad input."""


class StatementError(Exception):
    """A statement file that cannot be trusted.

    ``position`` is the 1-based number of the entry (camt.053 ``Ntry`` or MT940 ``:61:``)
    counted from the start of the file, or None when the problem is not in one entry
    (unknown format, a missing balance, a broken header).
    """

    def __init__(self, reason: str, position: int | None = None) -> None:
        # Both go to args so that the error survives pickling (Celery results, logs).
        super().__init__(reason, position)
        self.reason = reason
        self.position = position

    def __str__(self) -> str:
        if self.position is None:
            return self.reason
        return f"entry {self.position}: {self.reason}"

    def at(self, position: int) -> "StatementError":
        """This error, placed at ``position`` unless it already has one."""
        if self.position is not None:
            return self
        return StatementError(self.reason, position)
