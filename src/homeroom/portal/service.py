"""Portal rules: which district a page is, who may sign in how, what the launchpad shows.

Password checks run argon2id (tens of milliseconds of CPU), so a sign-in is two halves
(:meth:`PortalService.password_candidate`, :meth:`PortalService.finish_password`) around the
caller's own verification on the hasher's bounded pool (``PasswordHasher.verify_async``).
The database transaction is closed before the hash is verified, so a slow verification
never holds a pooled connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from homeroom.audit.group_commit import appender_for
from homeroom.audit.models import AuditEvent
from homeroom.errors import NotFound, RateLimited
from homeroom.identity.badges import BadgeService, badge_grades, credential_from_payload
from homeroom.identity.lockout import BADGE_ACCOUNT, SignInLocked, SignInLockout
from homeroom.identity.password_login import Candidate
from homeroom.identity.passwords import PasswordHasher
from homeroom.identity.sessions import Session, SessionStore
from homeroom.identity.upstream import district_idps
from homeroom.oidc.clients import ClientDirectory
from homeroom.portal.errors import SignInFailed, SignInThrottled
from homeroom.roster.models import District, User, valid_slug
from homeroom.sharing.models import ScopeMode
from homeroom.storage.sql import Database, UnitOfWork
from homeroom.storage.sql.types import utcnow
from homeroom.tenancy import TenantScope

__all__ = ["LaunchTile", "PortalService", "SignInMethods"]


@dataclass(frozen=True, slots=True)
class SignInMethods:
    password: bool
    badge: bool
    upstream: tuple[tuple[str, str], ...] = ()  # (idp id, button name)


@dataclass(frozen=True, slots=True)
class LaunchTile:
    client_id: str
    name: str
    icon_url: str | None


@dataclass
class PortalService:
    db: Database
    passwords: PasswordHasher
    sessions: SessionStore
    lockout: SignInLockout
    badges: BadgeService
    issuer: str
    clients: ClientDirectory  # the OpenID Provider's cached apps and districts

    # ---------------------------------------------------------------- districts

    def district(self, slug: str) -> District:
        """The district of a portal URL; NotFound (the same for malformed and unknown)."""
        if not valid_slug(slug):
            raise NotFound("not found")
        with self.db.platform() as uow:
            district = uow.districts.by_slug(slug)
        if district is None:
            raise NotFound("not found")
        return district

    def page_district(self, slug: str) -> District:
        """The district of a page that only shows things (the badge page, the launchpad),
        from the provider's short-lived cache (``oidc.clients``: the instant login reads
        its districts there too). Sign-ins and changes use :meth:`district`, which reads
        the database, so turning badges off for a grade takes effect at once."""
        district = self.clients.district_by_slug(slug) if valid_slug(slug) else None
        if district is None:
            raise NotFound("not found")
        return district

    def methods(self, district: District) -> SignInMethods:
        login_methods = district.settings.get("login_methods") or []
        upstream: tuple[tuple[str, str], ...] = ()
        if "upstream" in login_methods:
            upstream = tuple((i.id, i.name) for i in district_idps(district))
        return SignInMethods(
            password="password" in login_methods,
            badge=bool(badge_grades(district)),
            upstream=upstream,
        )

    def user(self, district: District, user_id: str) -> User:
        with TenantScope(district.id), self.db.scoped() as uow:
            return uow.users.get(user_id)

    def session_user(self, district: District, session: Session | None) -> User | None:
        """The signed-in user of *this* district; another district's session is no session."""
        if session is None or session.district_id != district.id:
            return None
        try:
            user = self.user(district, session.user_id)
        except NotFound:
            return None
        return user if user.status == "active" else None

    # ---------------------------------------------------------------- sign-in

    def _audit(self, district: District, event: AuditEvent) -> None:
        # Group-committed (``audit.group_commit``: the loop turn's batch with the embedded
        # stores, the threads' batch otherwise); the response waits for the commit.
        appender_for(self.db).append(district.id, event)

    def _admit(self, district: District, action: str, account: str, ip: str) -> None:
        """The shared sign-in guard (address rate limit, account lockout); a refusal is
        audited and raised as :class:`SignInThrottled` before any credential is checked."""
        try:
            self.lockout.admit(district.id, account, ip)
        except RateLimited as refused:
            reason = "locked" if isinstance(refused, SignInLocked) else "rate_limited"
            self._audit(
                district,
                AuditEvent(
                    actor="anonymous",
                    action=action,
                    outcome="failure",
                    ip=ip,
                    detail={"reason": reason},
                ),
            )
            raise SignInThrottled(reason, refused.retry_after, refused.headers) from None

    def password_candidate(self, district: District, username: str, ip: str) -> Candidate:
        """A password sign-in's first half: the district's switch, the sign-in guard and
        the one read of the account and its hash. No argon2 here: the caller verifies, on
        the hasher's bounded pool when it is on an event loop
        (:meth:`PasswordHasher.verify_async`), then calls :meth:`finish_password`."""
        username = username.strip()
        if not self.methods(district).password:
            raise SignInFailed("password sign-in is off in this district")
        self._admit(district, "signin.password", username, ip)
        if 0 < len(username) <= 255:
            with TenantScope(district.id), self.db.scoped() as uow:
                found = uow.sign_in_users.credentials(username)
            if found is not None:
                return Candidate(*found)
        return Candidate(None, None)

    def finish_password(
        self, district: District, username: str, ip: str, candidate: Candidate, password_ok: bool
    ) -> Session:
        """The second half: the guard's count, the audit event and, for an active account
        whose password matched, the portal session. Unknown, inactive and wrong are the same
        :class:`SignInFailed` (the caller spent one argon2 verification on each)."""
        username = username.strip()
        user = candidate.accepted(password_ok)
        if user is None:
            known = candidate.user
            locked = self.lockout.failed(district.id, username, ip)
            self._audit(
                district,
                AuditEvent(
                    actor="anonymous" if known is None else f"user:{known.id}",
                    action="signin.password",
                    target_type="user" if known else None,
                    target_id=known.id if known else None,
                    outcome="failure",
                    ip=ip,
                    detail={"reason": "locked_out" if locked else "bad_credentials"},
                ),
            )
            raise SignInFailed("bad credentials")
        self.lockout.succeeded(district.id, username, ip)
        self._audit(
            district,
            AuditEvent(
                actor=f"user:{user.id}",
                action="signin.password",
                target_type="user",
                target_id=user.id,
                ip=ip,
            ),
        )
        return self.sessions.start(district.id, user.id, "password")

    def sign_in_badge(self, district: District, payload: str, ip: str) -> Session:
        if not self.methods(district).badge:
            raise SignInFailed("badges are off in this district")
        self._admit(district, "signin.badge", BADGE_ACCOUNT, ip)
        credential = credential_from_payload(payload, district.slug)
        user = None if credential is None else self.badges.authenticate(district, credential)
        if user is None:
            if credential is not None:  # a well-formed credential that signs nobody in
                self.lockout.failed(district.id, BADGE_ACCOUNT, ip)
            self._audit(
                district,
                AuditEvent(
                    actor="anonymous",
                    action="signin.badge",
                    outcome="failure",
                    ip=ip,
                    detail={"reason": "bad_badge"},
                ),
            )
            raise SignInFailed("bad badge")
        self._audit(
            district,
            AuditEvent(
                actor=f"user:{user.id}",
                action="signin.badge",
                target_type="user",
                target_id=user.id,
                ip=ip,
            ),
        )
        return self.sessions.start(district.id, user.id, "badge")

    def sign_out(self, session_id: str | None) -> Session | None:
        return self.sessions.end(session_id) if session_id else None

    # ---------------------------------------------------------------- launchpad

    def launchpad(self, district: District, user: User) -> list[LaunchTile]:
        """Apps connected to the district, active, allowed for the user's role, and sharing
        a part of the district the user is in (a connection limited to some schools or
        sections shows no tile to anyone outside them).

        ``rules`` connections are evaluated by the sharing domain at authorization time;
        their tile is shown to every allowed role.
        """
        with TenantScope(district.id), self.db.scoped() as uow:
            return self._tiles(uow, user)

    def session_launchpad(
        self, district: District, session: Session | None
    ) -> tuple[User, list[LaunchTile]] | None:
        """The signed-in user of this district and their tiles, in one unit of work (the
        page every sign-in ends on); None when there is no such user (see
        :meth:`session_user`)."""
        if session is None or session.district_id != district.id:
            return None
        with TenantScope(district.id), self.db.scoped() as uow:
            try:
                user = uow.users.get(session.user_id)
            except NotFound:
                return None
            if user.status != "active":
                return None
            return user, self._tiles(uow, user)

    def _tiles(self, uow: UnitOfWork, user: User) -> list[LaunchTile]:
        now = utcnow()
        candidates = [
            c
            for c in uow.connections.list()
            if c.active(now) and user.role.value in c.roles_allowed
        ]
        sections: set[str] = set()
        if any(c.scope_mode is ScopeMode.SECTIONS for c in candidates):
            sections = {e.section_id for e in uow.enrollments.for_user(user.id)}
        connections = [
            c
            for c in candidates
            if c.scope_mode is not ScopeMode.SCHOOLS or set(c.school_ids) & set(user.school_ids)
        ]
        connections = [
            c
            for c in connections
            if c.scope_mode is not ScopeMode.SECTIONS or set(c.section_ids) & sections
        ]
        tiles: list[LaunchTile] = []
        for connection in connections:
            app = self.clients.app(connection.app_id)  # active apps only, cached
            if app is not None:
                tiles.append(LaunchTile(app.id, app.name, app.icon_url))
        return sorted(tiles, key=lambda t: t.name.lower())

    def launch_url(self, district: District, user: User, client_id: str) -> str:
        """Where a tile click goes.

        OpenID Connect Core 1.0 §4 (Initiating Login from a Third Party): redirect to the
        app's registered ``initiate_login_uri`` with ``iss`` (REQUIRED), ``login_hint`` and
        ``target_link_uri``; the app then sends the browser to ``/authorize``, which finds
        the portal session and answers with a code at once. An app that registered no
        initiate URI gets the Clever-style flow: an authorization request on its behalf to
        its first redirect URI.
        """
        if not any(t.client_id == client_id for t in self.launchpad(district, user)):
            raise NotFound("app not found")
        with self.db.platform() as uow:
            app = uow.apps.get(client_id)
        if app.initiate_login_uri:
            query = urlencode({"iss": self.issuer, "login_hint": user.id})
            sep = "&" if "?" in app.initiate_login_uri else "?"
            return f"{app.initiate_login_uri}{sep}{query}"
        query = urlencode(
            {
                "response_type": "code",
                "client_id": app.id,
                "redirect_uri": app.redirect_uris[0],
                "scope": "openid",
            }
        )
        return f"{self.issuer}/authorize?{query}"
