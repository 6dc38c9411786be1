"""Errors the tap reports to its user as one line, and the redaction they go through."""

from __future__ import annotations

import typing as t

# Shorter values would match ordinary words; no real credential is that short.
MIN_SECRET_LENGTH = 4


class CloudCommandsError(Exception):
    """An error with a one-line message meant for the user; the CLI exits non-zero."""


class CloudAPIError(CloudCommandsError):
    """A cloud API call failed for good (after any retries)."""

    def __init__(  # noqa: PLR0913 - every part belongs in the one line
        self,
        *,
        cloud: str,
        region: str,
        operation: str,
        code: str,
        message: str,
        hint: str = "",
        account: str | None = None,
    ) -> None:
        """Build the one-line message.

        Args:
            cloud: "AWS" or "Tencent Cloud".
            region: The region the call went to.
            operation: The API operation, e.g. "ListCommands".
            code: The cloud's error code.
            message: The cloud's error message.
            hint: What the user can do about it.
            account: The account the call was made in, when known.
        """
        self.cloud = cloud
        self.region = region
        self.operation = operation
        self.code = code
        self.account = account
        text = f"{cloud} {operation} in region {region} failed: {code}: {message}"
        if account:
            text = f"{text} [account {account}]"
        if hint:
            text = f"{text} ({hint})"
        super().__init__(" ".join(text.split()))


class CloudAuthError(CloudAPIError):
    """The cloud refused the credentials or the permission; retrying cannot help."""


class Redactor:
    """Replaces known secret values in text, so error text never carries them."""

    def __init__(self, secrets: t.Iterable[str | None]) -> None:
        """Remember the secret values worth hiding.

        Args:
            secrets: Configured credentials; empty values are ignored.
        """
        self._secrets = sorted(
            {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        """Return text with every known secret replaced by ``***``.

        Args:
            text: Any text that may quote a credential.

        Returns:
            The text without secrets.
        """
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text
