"""Who a bearer is, remembered briefly by each replica, and forgotten everywhere at once when
the user's credentials change.

Checking a bearer from scratch costs an ES256 verification and a user lookup (a personal
access token: a SHA-256 and a token lookup): more than the rest of a small read together. Each
replica keeps what it learnt for :data:`MAX_AGE_SECONDS` at most, filed under the user's
*credentials stamp* (:func:`credentials_stamp`), a value in Redis that every request reads in
the round trip that counts its rate limits anyway. Revoking a token renews the stamp, so the
next request on any replica finds a different value and checks the bearer from scratch: a
revocation takes effect everywhere with that request, not after an expiry.

One rule keeps this sound: an entry is filed under a stamp read *before* the rows that vouch for
it. Then a revocation that commits after that read renews the stamp after it too (revocations
renew once more after they commit), and the entry is dropped on the next request. A check
that read its rows before it could read the stamp (a personal access token, whose user is known
only from its row) files its entry unconfirmed, and the next request checks it again.
"""

import time
from collections import OrderedDict
from dataclasses import dataclass
from uuid import UUID

from app.core.rate_limit import Stamp

# Long enough that a busy client's requests are nearly all answered from memory; short enough
# that a personal token's "last used" keeps its one-minute resolution (it is noted when the
# token is checked from scratch) and that anything missed by a stamp (none is known) heals.
MAX_AGE_SECONDS = 60.0
MAX_ENTRIES = 10_000
# How long a stamp nobody renews is kept in Redis; made again (as a new value) when it expires.
STAMP_TTL_SECONDS = 24 * 60 * 60


def credentials_stamp(user_id: UUID) -> Stamp:
    return Stamp(key=f"auth:stamp:{user_id}", ttl_seconds=STAMP_TTL_SECONDS)


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user of a request."""

    user_id: UUID
    via_personal_token: bool


@dataclass(frozen=True, slots=True)
class Principal:
    caller: Caller
    # The stamp read before the rows behind this entry were; None: read after them, so the
    # entry still has to be confirmed by a check from scratch.
    stamp: str | None
    # time.monotonic() past which the entry is not used: its max age, or the token's own expiry.
    valid_until: float


class PrincipalCache:
    """Bearer → :class:`Principal`, least recently used dropped first. Only bearers that passed
    a check are ever stored, so strangers cannot fill it."""

    def __init__(
        self, *, max_entries: int = MAX_ENTRIES, max_age_seconds: float = MAX_AGE_SECONDS
    ) -> None:
        self._entries: OrderedDict[str, Principal] = OrderedDict()
        self._max_entries = max_entries
        self._max_age_seconds = max_age_seconds

    def get(self, bearer: str) -> Principal | None:
        principal = self._entries.get(bearer)
        if principal is None:
            return None
        if principal.valid_until <= time.monotonic():
            del self._entries[bearer]
            return None
        self._entries.move_to_end(bearer)
        return principal

    def remember(
        self,
        bearer: str,
        *,
        caller: Caller,
        stamp: str | None,
        expires_in_seconds: float | None,
    ) -> None:
        """File what a check from scratch found, until its max age or ``expires_in_seconds``
        (the token's own remaining life), whichever comes first."""
        lifetime = self._max_age_seconds
        if expires_in_seconds is not None:
            lifetime = min(lifetime, expires_in_seconds)
        if lifetime <= 0:
            return
        self._entries[bearer] = Principal(
            caller=caller,
            stamp=stamp,
            valid_until=time.monotonic() + lifetime,
        )
        self._entries.move_to_end(bearer)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def forget(self, bearer: str) -> None:
        self._entries.pop(bearer, None)

    def __len__(self) -> int:
        return len(self._entries)
