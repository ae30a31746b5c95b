"""Who the viewer is: the local administrator without [auth], else the signed-in person's row in `users`."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from closeloop.refusal import Refused

ROLES = ("viewer", "unit_editor", "auditor", "administrator")
EDITING = frozenset({"add_action", "start", "done", "extend", "cancel"})
VERIFYING = frozenset({"verify", "reopen"})
# What each role may do, besides seeing its unit's subtree.
MAY = {
    "viewer": frozenset(),
    "unit_editor": EDITING,
    "auditor": VERIFYING,
    "administrator": EDITING | VERIFYING | {"manage_users", "import"},
}
# A scope no unit has: the subtree of nothing, for someone who is not (yet) anyone.
NOWHERE = "\x00nowhere"


@dataclass(frozen=True)
class Identity:
    actor: str  # what the trail records: the email a provider vouched for, or the local login name
    role: str | None  # None: signed in, but not a user of this store
    unit: str | None = None  # the root of the subtree they see and change; None: the whole organisation
    name: str | None = None  # as written in actions' owner column
    local: bool = False

    def may(self, move: str) -> bool:
        return move in MAY.get(self.role, ())

    @property
    def scope(self) -> str | None:
        return NOWHERE if self.role is None else self.unit

    @property
    def names(self) -> list[str]:
        """What an action's owner may say for this person: login (email) and name; terms.sql's is_owned_by compares."""
        return [v for v in (self.actor, self.name) if v]


def local_administrator(actor: str | None = None) -> Identity:
    """The embedded default: one administrator of the whole organisation, like a notebook on your own machine."""
    return Identity(actor=actor or local_login(), role="administrator", local=True)


def local_login() -> str:
    """Who the trail names when nobody said who acts: the machine's login, marked as one (local:root), so that
    it never reads as a person of the organisation."""
    return f"local:{getpass.getuser()}"


def lookup(con, email: str) -> Identity | None:
    cur = con.cursor()
    try:
        row = cur.execute(
            "select email, role::varchar, unit, name from users where email = lower(trim($email))", {"email": email}
        ).fetchone()
    finally:
        cur.close()
    return Identity(actor=row[0], role=row[1], unit=row[2], name=row[3]) if row else None


def for_command_line(con, user: str | None) -> Identity:
    """`--as USER` (or $CLOSELOOP_ACTOR): that user's role and unit, held to them as the dashboard holds a signed-in
    user. A name the store's users do not hold is refused once it has users (nobody may act as someone it does
    not know); before the first user, it names the local administrator (how that first user is made). Nobody
    named: the local administrator as local:LOGIN."""
    user = (user or "").strip() or None
    if user is None:
        return local_administrator()
    known = lookup(con, user)
    if known is not None:
        return known
    cur = con.cursor()
    try:
        has_users = cur.execute("select count(*) from users").fetchone()[0] > 0
    finally:
        cur.close()
    if has_users:
        raise Refused("cli_unknown_user", user=user)
    return local_administrator(user)


def from_claims(email: str, claims: dict) -> Identity:
    """An identity provider may vouch for the role and unit itself (claims closeloop_role, closeloop_unit)."""
    role = claims.get("closeloop_role")
    return Identity(
        actor=email.strip().lower(),
        role=role if role in ROLES else None,
        unit=claims.get("closeloop_unit") or None,
        name=claims.get("name"),
    )
