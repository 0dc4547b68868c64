"""Who may do what in a project's Library (Pipelines -> Library -> Security), as Azure DevOps decides it.

Microsoft's "Configure library security" page gives the roles and defaults modelled here:
- Reader can read library assets, User can use them in pipelines, Creator can create them,
  Administrator can edit, delete and manage their security.
- By default Project Administrators (and Build/Release Administrators) are Administrator,
  Contributors are Creator at project level and Reader at object level, Project Valid Users Reader.
- Security set for the library is inherited by its assets; the creator of an asset is
  automatically its Administrator.
"""

from __future__ import annotations

from .world import ADMINISTRATOR, CREATOR, LIBRARY_ROLES, READER, USER, Organization, VariableGroup

# unverified: that an organization member is in every project as a Contributor unless
# Organization.project_members says otherwise. Adding a user or service principal to an
# organization asks for its projects and group, Contributors being the usual choice.
DEFAULT_ROLE = CREATOR


def in_project(org: Organization, oid: str, project: str) -> bool:
    projects = org.project_members.get(oid)
    return projects is None or project in projects


def visible_projects(org: Organization, oid: str) -> list[str]:
    """The projects `_apis/projects` lists to this identity: those it is in (the docs: "that the
    authenticated user has access to")."""
    return [p for p in org.projects if in_project(org, oid, p)]


def project_role(org: Organization, oid: str, project: str) -> str:
    """The identity's role in the project's Library, i.e. over every group in it."""
    return org.library_roles.get((oid, project), DEFAULT_ROLE)


def group_role(org: Organization, oid: str, group: VariableGroup, project: str) -> str:
    """The identity's role on one group, seen from one of its projects: the strongest of its creator
    right, a role set in the group's own Security, and what the project's Library passes down."""
    if group.created_by == oid:
        return ADMINISTRATOR
    inherited = project_role(org, oid, project)
    # What a project-level role gives on each group. The docs list Contributors as "Creator
    # (project-level), Reader (object-level)": Creator is no role on a single group.
    # unverified: that a project-level User is User on each group (the docs show no default for it).
    inherited = {ADMINISTRATOR: ADMINISTRATOR, USER: USER}.get(inherited, READER)
    explicit = org.group_roles.get((oid, group.id), READER)
    return max(inherited, explicit, key=LIBRARY_ROLES.index)


def can_create(org: Organization, oid: str, project: str) -> bool:
    return project_role(org, oid, project) in (CREATOR, ADMINISTRATOR)


def can_administer(org: Organization, oid: str, group: VariableGroup, project: str) -> bool:
    """Update and delete need Administrator on the group."""
    return group_role(org, oid, group, project) == ADMINISTRATOR
