"""A unit of work: one transaction, with the repositories it may use.

Tenant repositories exist only when the unit of work has a district; asking for one in a
platform transaction raises ``TenantScopeError`` (loud, never "all districts").
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.engine import Connection as SqlConnection

from homeroom.storage.sql import repos, repos_oidc, repos_portal, repos_usage, roster_store

__all__ = ["UnitOfWork"]


class UnitOfWork:
    def __init__(self, conn: SqlConnection, district_id: str | None) -> None:
        self.conn = conn
        self.district_id = district_id

    # global
    @cached_property
    def districts(self) -> repos.SqlDistricts:
        return repos.SqlDistricts(self.conn)

    @cached_property
    def apps(self) -> repos.SqlApps:
        return repos.SqlApps(self.conn)

    @cached_property
    def platform_audit(self) -> repos.SqlPlatformAuditLog:
        return repos.SqlPlatformAuditLog(self.conn)

    # tenant
    @cached_property
    def schools(self) -> repos.SqlSchools:
        return repos.SqlSchools(self.conn, self.district_id)

    @cached_property
    def users(self) -> repos.SqlUsers:
        return repos.SqlUsers(self.conn, self.district_id)

    @cached_property
    def sections(self) -> repos.SqlSections:
        return repos.SqlSections(self.conn, self.district_id)

    @cached_property
    def enrollments(self) -> repos.SqlEnrollments:
        return repos.SqlEnrollments(self.conn, self.district_id)

    @cached_property
    def connections(self) -> repos.SqlConnections:
        return repos.SqlConnections(self.conn, self.district_id)

    @cached_property
    def audit(self) -> repos.SqlAuditLog:
        return repos.SqlAuditLog(self.conn, self.district_id)

    # OpenID Provider (repos_oidc)
    @cached_property
    def refresh_tokens(self) -> repos_oidc.SqlRefreshTokens:
        return repos_oidc.SqlRefreshTokens(self.conn, self.district_id)

    @cached_property
    def sign_in_users(self) -> repos_oidc.SqlSignInUsers:
        return repos_oidc.SqlSignInUsers(self.conn, self.district_id)

    @cached_property
    def badges(self) -> repos_portal.SqlBadges:
        return repos_portal.SqlBadges(self.conn, self.district_id)

    @cached_property
    def roster(self) -> roster_store.SqlRosterStore:
        return roster_store.SqlRosterStore(self.conn, self.district_id)

    # usage (repos_usage)
    @cached_property
    def usage_events(self) -> repos_usage.SqlUsageEvents:
        return repos_usage.SqlUsageEvents(self.conn, self.district_id)

    @cached_property
    def usage_rollups(self) -> repos_usage.SqlUsageRollups:
        return repos_usage.SqlUsageRollups(self.conn, self.district_id)

    @cached_property
    def usage_goals(self) -> repos_usage.SqlUsageGoals:
        return repos_usage.SqlUsageGoals(self.conn, self.district_id)
