"""Secrets live only in the OS keyring (service ``sre-console``, one entry per profile/field).

When no keyring backend exists the store says so plainly; the caller may then keep a
secret for this session only, in memory. It never falls back to a file.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

# keyring is imported on first use, off the start-up path: importing it and finding the
# backend take 0.1-0.35 s, and the window asks for it on the I/O thread after start-up.

SERVICE = "sre-console"
FIELDS = ("token", "password", "alertmanager_token", "alertmanager_password")


class SecretsUnavailable(Exception):
    """No OS keyring backend is available, or it refused the operation."""


class SecretStore:
    """Reads and writes profile secrets; session-only secrets shadow keyring ones."""

    def __init__(self, backend: "KeyringBackend | None" = None) -> None:
        self._chosen = backend
        self._session: dict[tuple[str, str], str] = {}

    @classmethod
    def session_only(cls) -> "SecretStore":
        """A store that never touches the OS keyring (e.g. to test an unsaved profile)."""
        from keyring.backends import fail

        return cls(fail.Keyring())  # type: ignore[no-untyped-call]

    @property
    def _backend(self) -> "KeyringBackend":
        if self._chosen is None:
            import keyring

            self._chosen = keyring.get_keyring()
        return self._chosen

    @property
    def available(self) -> bool:
        """True when a real keyring backend (not keyring's fail backend) is active."""
        from keyring.backends import chainer, fail

        backend = self._backend
        if isinstance(backend, fail.Keyring):
            return False
        if isinstance(backend, chainer.ChainerBackend):
            return bool(backend.backends)
        return True

    @property
    def backend_name(self) -> str:
        """The active backend, for status lines: e.g. "SecretService Keyring"."""
        return getattr(self._backend, "name", type(self._backend).__name__)

    def unavailable_reason(self) -> str:
        """A plain sentence for the GUI and CLI when there is no keyring."""
        return (
            f"No OS keyring is available (keyring backend: {self.backend_name}). "
            "Secrets cannot be stored; you may use a session-only secret, which is "
            "forgotten when the console exits."
        )

    def get(self, profile: str, field: str) -> str | None:
        """The secret, or None when none is stored."""
        if (profile, field) in self._session:
            return self._session[(profile, field)]
        if not self.available:
            return None
        from keyring.errors import KeyringError

        try:
            return self._backend.get_password(SERVICE, _entry(profile, field))
        except KeyringError as exc:
            raise SecretsUnavailable(
                f"the keyring refused to read {_entry(profile, field)}: {type(exc).__name__}"
            ) from None

    def set(self, profile: str, field: str, value: str) -> None:
        """Store in the OS keyring; raises SecretsUnavailable when there is none."""
        if not self.available:
            raise SecretsUnavailable(self.unavailable_reason())
        from keyring.errors import KeyringError

        try:
            self._backend.set_password(SERVICE, _entry(profile, field), value)
        except KeyringError as exc:
            raise SecretsUnavailable(
                f"the keyring refused to store {_entry(profile, field)}: {type(exc).__name__}"
            ) from None
        self._session.pop((profile, field), None)

    def set_session_only(self, profile: str, field: str, value: str) -> None:
        """Keep a secret in memory for this process only."""
        self._session[(profile, field)] = value

    def delete_profile(self, profile: str) -> None:
        """Forget every secret of ``profile`` (session and keyring)."""
        from keyring.errors import KeyringError, PasswordDeleteError

        for field in FIELDS:
            self._session.pop((profile, field), None)
            if not self.available:
                continue
            try:
                self._backend.delete_password(SERVICE, _entry(profile, field))
            except PasswordDeleteError:
                pass
            except KeyringError as exc:
                raise SecretsUnavailable(
                    f"the keyring refused to delete {_entry(profile, field)}: {type(exc).__name__}"
                ) from None


def _entry(profile: str, field: str) -> str:
    return f"{profile}:{field}"
