"""Who may act through a profile: roles, protected profiles and the actor's identity. No Qt.

A viewer never acts. An operator acts, except on a protected profile that does not grant
operators (``protected_operators_may_act``). An admin always acts, and only an admin may
override a failing pre-check. Services call :func:`require_permission` before acting, so
a disabled button is a convenience, not the guard.
"""

import getpass
import socket

from console.config.settings import Profile, Role


class PermissionDenied(Exception):
    """The profile's role may not do this; the message says why."""


def denial_reason(profile: Profile) -> str | None:
    """Why the engineer may not act through ``profile`` (None: they may)."""
    if profile.role is Role.VIEWER:
        return f"profile {profile.name!r} gives the viewer role, which cannot act"
    if (
        profile.protected
        and profile.role is Role.OPERATOR
        and not profile.protected_operators_may_act
    ):
        return (
            f"profile {profile.name!r} is protected: only an admin may act "
            "(or set protected_operators_may_act = true)"
        )
    return None


def require_permission(profile: Profile) -> None:
    """Raise PermissionDenied unless the engineer may act through ``profile``."""
    reason = denial_reason(profile)
    if reason is not None:
        raise PermissionDenied(reason)


def may_override_precheck(profile: Profile) -> bool:
    """Only an admin may act despite a failing pre-check."""
    return profile.role is Role.ADMIN


def actor_of(profile: Profile) -> str:
    """Who acts, as audit entries name them: OS user@host and the profile identity."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name (e.g. a container without passwd entry)
        user = "unknown-user"
    identity = f"{profile.name}/{profile.role.value}"
    if profile.username:
        identity += f"/{profile.username}"
    return f"{user}@{socket.gethostname()} ({identity})"
