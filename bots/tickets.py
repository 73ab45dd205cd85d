"""Short keys for uploads waiting for a choice (a genre, an action).

Buttons carry little data (Telegram: 64 bytes of ``callback_data``, Discord: 100
characters of ``custom_id``), so a button names a ticket, and the ticket remembers
whose upload it is: pressing someone else's button never touches their file.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from moodmix.bots.backend import ChatRef
from moodmix.engine.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Ticket:
    key: str
    chat: ChatRef
    file_id: str
    filename: str
    created_at: float


class TicketBook:
    """At most ``capacity`` tickets, each valid for ``ttl`` seconds; oldest dropped first."""

    def __init__(self, capacity: int = 5000, ttl: float = 86400.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self.clock = clock
        self._tickets: OrderedDict[str, Ticket] = OrderedDict()

    def add(self, chat: ChatRef, file_id: str, filename: str) -> Ticket:
        key = secrets.token_hex(4)
        while key in self._tickets:
            key = secrets.token_hex(4)
        ticket = Ticket(key, chat, file_id, filename, self.clock())
        self._tickets[key] = ticket
        while len(self._tickets) > self.capacity:
            self._tickets.popitem(last=False)
        return ticket

    def get(self, key: str, chat: ChatRef) -> Ticket:
        """The ticket ``key`` if it belongs to ``chat``; raises a message fit for chat otherwise."""
        ticket = self._tickets.get(key)
        if ticket is None or self.clock() - ticket.created_at > self.ttl:
            self._tickets.pop(key, None)
            raise NotFound("these buttons have expired; send the track again", code="ticket_expired")
        if (ticket.chat.platform, ticket.chat.user_id) != (chat.platform, chat.user_id):
            raise Forbidden("these buttons belong to someone else's upload; send your own track",
                            code="not_your_upload")
        return ticket
