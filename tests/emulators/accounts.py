"""The accounts an emulator knows: their keys, roles, temporary credentials and regions.

One :class:`AccountRegistry` per emulator (AWS or Tencent) answers "which account
signed this?", "may this caller assume that role?" and "which regions does this
account have?". Data stores stay in the emulators; they key each account's data
by :func:`region_key`, so the default account keeps today's plain region keys.
"""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# System randomness: keys must not collide across emulators or test runs.
_random = random.SystemRandom()
_UPPER_DIGITS = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits


def random_text(alphabet: str, length: int) -> str:
    """A random string of ``length`` characters from ``alphabet``."""
    return "".join(_random.choice(alphabet) for _ in range(length))


def region_key(region: str, account: str | None, default_account: str) -> str:
    """The store key of one account's region (the default account keeps the bare region)."""
    if account is None or account == default_account:
        return region
    return f"{account}/{region}"


@dataclass
class KeyInfo:
    """One access key (AWS) or SecretId (Tencent) and what it stands for.

    Attributes:
        key_id: Access key id / SecretId.
        secret: Secret access key / SecretKey.
        account: The account the key belongs to.
        session_token: The session token that must come with it (temporary credentials).
        expiration: When temporary credentials lapse (None: never).
        expired: Set by ``expire_credentials``: lapsed now, whatever the clock says.
        role_arn: The role assumed (temporary credentials only).
        session_name: The RoleSessionName given (temporary credentials only).
        principal_id: The role's id (temporary credentials only).
        assumed_by: The account that called AssumeRole (temporary credentials only).
    """

    key_id: str
    secret: str
    account: str
    session_token: str | None = None
    expiration: datetime | None = None
    expired: bool = False
    role_arn: str | None = None
    session_name: str | None = None
    principal_id: str | None = None
    assumed_by: str | None = None

    @property
    def temporary(self) -> bool:
        """True for credentials issued by AssumeRole."""
        return self.session_token is not None

    def is_expired(self, now: datetime | None = None) -> bool:
        """True once :attr:`expired` was set or :attr:`expiration` has passed."""
        if self.expired:
            return True
        if self.expiration is None:
            return False
        return (now or datetime.now(UTC)) >= self.expiration


@dataclass
class Role:
    """An assumable role.

    Attributes:
        arn: The role's ARN (AWS) or qcs resource name (Tencent).
        account: The account the role lives in.
        name: The role name.
        role_id: A stable id for the role (AROA... on AWS, a numeric id on Tencent).
        external_id: The ExternalId AssumeRole must carry (None: no condition).
        trusted: Accounts whose principals may assume it (None: every known account).
    """

    arn: str
    account: str
    name: str
    role_id: str
    external_id: str | None = None
    trusted: frozenset[str] | None = None


@dataclass
class AccountRegistry:
    """Accounts, keys, roles and region states of one emulated cloud.

    Attributes:
        default_account: The account of the emulator's fixed default keys.
        default_regions: The region states an account has until ``set_regions``.
        multi: True once an account was added: unknown keys are then refused.
    """

    default_account: str
    default_regions: dict[str, str]
    multi: bool = False
    _accounts: list[str] = field(default_factory=list)
    _keys: dict[str, KeyInfo] = field(default_factory=dict)
    _roles: dict[str, Role] = field(default_factory=dict)
    _regions: dict[str, dict[str, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        """Register the default account."""
        self._accounts.append(self.default_account)

    # ---------------------------------------------------------------- accounts
    def accounts(self) -> list[str]:
        """Every account, the default one first, then in the order they were added."""
        with self._lock:
            return list(self._accounts)

    def add_account(self, account_id: str, key_id: str, secret: str) -> None:
        """Register an account with its base key pair.

        Raises:
            ValueError: If the account or the key exists already.
        """
        with self._lock:
            if account_id in self._accounts:
                raise ValueError(f"account {account_id} exists already")
            if key_id in self._keys:
                raise ValueError(f"key {key_id} exists already")
            self._accounts.append(account_id)
            self._keys[key_id] = KeyInfo(key_id, secret, account_id)
            self.multi = True

    def add_key(self, info: KeyInfo) -> None:
        """Register a key (a base key or temporary credentials)."""
        with self._lock:
            self._keys[info.key_id] = info

    def key(self, key_id: str | None) -> KeyInfo | None:
        """The registered key, or None."""
        if key_id is None:
            return None
        with self._lock:
            return self._keys.get(key_id)

    def account_of_key(self, key_id: str | None) -> str:
        """The account a key belongs to.

        Unregistered keys belong to the default account until an account was added
        (today's single-account tests sign with any key); afterwards to none ("").
        """
        info = self.key(key_id)
        if info is not None:
            return info.account
        return "" if self.multi else self.default_account

    def temporary_keys(self) -> list[KeyInfo]:
        """Every temporary credential set issued, oldest first."""
        with self._lock:
            return [k for k in self._keys.values() if k.temporary]

    def expire(self, key_id: str | None = None) -> None:
        """Mark temporary credentials (all, or one) as expired.

        Raises:
            KeyError: If ``key_id`` names no temporary credentials.
        """
        with self._lock:
            if key_id is None:
                for info in self._keys.values():
                    if info.temporary:
                        info.expired = True
                return
            one = self._keys.get(key_id)
            if one is None or not one.temporary:
                raise KeyError(f"no temporary credentials with key id {key_id}")
            one.expired = True

    # ------------------------------------------------------------------- roles
    def add_role(self, role: Role) -> None:
        """Register (or replace) an assumable role.

        Raises:
            ValueError: If the role's account is unknown.
        """
        with self._lock:
            if role.account not in self._accounts:
                raise ValueError(f"unknown account {role.account}; add_account it first")
            self._roles[role.arn] = role

    def role(self, arn: str) -> Role | None:
        """The registered role, or None."""
        with self._lock:
            return self._roles.get(arn)

    def roles(self) -> list[Role]:
        """Every registered role."""
        with self._lock:
            return list(self._roles.values())

    def may_assume(self, role: Role, caller_account: str) -> bool:
        """Whether a principal of ``caller_account`` is trusted by ``role``."""
        with self._lock:
            if role.trusted is None:
                return caller_account in self._accounts
            return caller_account in role.trusted

    def issue(
        self,
        role: Role,
        session_name: str,
        duration: int,
        *,
        token_prefix: str,
        key_prefix: str,
        assumed_by: str,
    ) -> KeyInfo:
        """Mint and register temporary credentials of the role's account.

        Args:
            role: The role assumed.
            session_name: The RoleSessionName.
            duration: Validity in seconds.
            token_prefix: How the cloud's session tokens begin.
            key_prefix: How the cloud's temporary key ids begin.
            assumed_by: The caller's account.

        Returns:
            The registered credentials.
        """
        info = KeyInfo(
            key_id=key_prefix + random_text(_UPPER_DIGITS, 16),
            secret=random_text(_SECRET_ALPHABET, 40),
            account=role.account,
            session_token=token_prefix + random_text(_SECRET_ALPHABET, 200),
            expiration=(datetime.now(UTC) + timedelta(seconds=duration)).replace(microsecond=0),
            role_arn=role.arn,
            session_name=session_name,
            principal_id=role.role_id,
            assumed_by=assumed_by,
        )
        self.add_key(info)
        return info

    # ----------------------------------------------------------------- regions
    def set_regions(self, account_id: str, regions: dict[str, str], allowed: Iterable[str]) -> None:
        """Replace an account's region states.

        Raises:
            ValueError: On an unknown account or a state the cloud does not have.
        """
        states = frozenset(allowed)
        bad = {r: s for r, s in regions.items() if s not in states}
        if bad:
            raise ValueError(f"unknown region states {bad}; allowed: {sorted(states)}")
        with self._lock:
            if account_id not in self._accounts:
                raise ValueError(f"unknown account {account_id}")
            self._regions[account_id] = dict(regions)

    def regions_of(self, account_id: str) -> dict[str, str]:
        """An account's region states (the defaults until ``set_regions``).

        Raises:
            ValueError: On an unknown account.
        """
        with self._lock:
            if account_id not in self._accounts:
                raise ValueError(f"unknown account {account_id}")
            return dict(self._regions.get(account_id, self.default_regions))
