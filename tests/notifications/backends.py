"""An email backend that refuses the first messages, like a mail server that is down."""

from __future__ import annotations

from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

refusals = {"left": 0}


class FlakyBackend(LocmemBackend):
    def send_messages(self, messages):
        if refusals["left"] > 0:
            refusals["left"] -= 1
            raise ConnectionRefusedError("mail server did not answer")
        return super().send_messages(messages)


def outbox():
    return mail.outbox
