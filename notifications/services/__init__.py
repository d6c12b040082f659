"""Every write the notifications app makes.

sending   record a notice, check who it may go to, render, send, record the outcome
bounces   mark an address as bounced (and unmark it)
"""

from notifications.services.bounces import (
    forget_bounce,
    record_bounce,
    record_bounce_of_notice,
)
from notifications.services.sending import NoticeNotSent, NoticeRequest, send_notice

__all__ = [
    "NoticeNotSent",
    "NoticeRequest",
    "forget_bounce",
    "record_bounce",
    "record_bounce_of_notice",
    "send_notice",
]
