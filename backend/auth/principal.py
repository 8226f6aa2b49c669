"""The signed-in user as the rest of the app sees them: who they are and where they may look."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.people.models import ProgrammeKind, Role


@dataclass(frozen=True, slots=True)
class Grant:
    """One active membership: a role in a programme over an area and everything beneath it."""

    programme_id: int
    programme_name: str
    programme_kind: ProgrammeKind
    role: Role
    area_id: int
    area_path: str
    area_name: str


@dataclass(frozen=True, slots=True)
class Principal:
    id: int
    session_id: int
    display_name: str
    locale: str | None
    is_admin: bool
    grants: tuple[Grant, ...]
    # When she last proved herself on this session (auth/stepup.py): None when never.
    verified_at: datetime | None = None
    # When a request last used this session (or when it began): auth/lifetime.py.
    last_seen_at: datetime | None = None

    def has_role(self, role: Role) -> bool:
        return any(g.role is role for g in self.grants)

    def grants_for(self, role: Role) -> tuple[Grant, ...]:
        return tuple(g for g in self.grants if g.role is role)

    @property
    def staff_programme_ids(self) -> frozenset[int]:
        return frozenset(g.programme_id for g in self.grants if g.role is Role.STAFF)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)

    @property
    def can_issue_cards(self) -> bool:
        """Staff and social workers hand over sign-in cards (see auth/policy.py for to whom)."""
        return self.is_admin or bool(self.roles & {Role.STAFF, Role.SOCIAL_WORKER})
