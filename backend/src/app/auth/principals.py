"""Who a bearer is, and what ``/auth/me`` says of its user, remembered briefly by each replica
and forgotten everywhere at once when the user's credentials or profile change.

Checking a bearer from scratch costs an ES256 verification and a user lookup (a personal
access token: a SHA-256 and a token lookup): more than the rest of a small read together. Each
replica keeps what it learnt for :data:`MAX_AGE_SECONDS` at most, filed under the user's
*credentials stamp* (:func:`credentials_stamp`), a value in Redis that every request reads in
the round trip that counts its rate limits anyway. Revoking a token renews the stamp, so the
next request on any replica finds a different value and checks the bearer from scratch: a
revocation takes effect everywhere with that request, not after an expiry. The user's profile
(``/auth/me``, read on every page load of the web app) is filed under the same stamp, which a
sign-in through a provider renews, since it may bring a new name, address, avatar or identity.

One rule keeps this sound: an entry is filed under a stamp read *before* the rows that vouch for
it. Then a revocation that commits after that read renews the stamp after it too (revocations
renew once more after they commit), and the entry is dropped on the next request. A check
that read its rows before it could read the stamp (a personal access token, whose user is known
only from its row) files its entry unconfirmed, and the next request checks it again.
"""

from dataclasses import dataclass
from uuid import UUID

from app.auth.schemas import MeRead
from app.core.rate_limit import Stamp
from app.core.stamped import StampedMemory

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


PrincipalCache = StampedMemory[str, Caller]
"""Bearer → who presented it, under the user's credentials stamp."""


def new_principal_cache() -> PrincipalCache:
    return PrincipalCache(max_entries=MAX_ENTRIES, max_age_seconds=MAX_AGE_SECONDS)


ProfileCache = StampedMemory[UUID, MeRead]
"""User → their profile as ``/auth/me`` answers it, under the user's credentials stamp."""


def new_profile_cache() -> ProfileCache:
    return ProfileCache(max_entries=MAX_ENTRIES, max_age_seconds=MAX_AGE_SECONDS)
