"""Which partitions a sync covers: every (cloud, account, region) the settings name.

A partition is one account's one region of one cloud: its own bookmark, its own rows
(``AccountId`` and ``Region`` are in every primary key). A cloud's scope starts from the
tap's own identity, adds the accounts listed (roles assumed from that identity) or
discovered (AWS Organizations), asks each account who it is (STS GetCallerIdentity) and,
for wildcard regions, which regions it has enabled, then keeps this shard's share.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor

from tap_cloudcommands.errors import CloudAPIError

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Mapping, Sequence

AWS = "aws"
TENCENT = "tencent"
ACCOUNT_FAILURE_FAIL = "fail"
ACCOUNT_FAILURE_SKIP = "skip"
DEFAULT_MAX_CONCURRENT_PARTITIONS = 8
DEFAULT_ROLE_SESSION_NAME = "tap-cloudcommands"
OWN_IDENTITY = "(configured identity)"


def is_pattern(region: str) -> bool:
    """Whether a configured region is a wildcard (``*``, ``eu-*``) rather than a name.

    Args:
        region: A value of a regions setting.

    Returns:
        True for a glob.
    """
    return any(char in region for char in "*?[")


def pick_regions(patterns: Sequence[str], enabled: Callable[[], list[str]]) -> list[str]:
    """Regions named, plus the enabled regions that match a wildcard.

    Args:
        patterns: Region names and globs, as configured.
        enabled: Lists the account's enabled regions (called only for a glob).

    Returns:
        Names in the order given, then matches sorted; each once.
    """
    chosen = [region for region in patterns if not is_pattern(region)]
    globs = [region for region in patterns if is_pattern(region)]
    if globs:
        available = enabled()
        chosen += sorted(r for r in available if any(fnmatch.fnmatchcase(r, g) for g in globs))
    return list(dict.fromkeys(chosen))


def shard_of(cloud: str, account_id: str, region: str, count: int) -> int:
    """The shard a partition belongs to: stable across runs, machines and Python versions.

    Args:
        cloud: ``aws`` or ``tencent``.
        account_id: The account.
        region: The region.
        count: How many shards there are.

    Returns:
        0 .. count - 1.
    """
    digest = hashlib.sha256(f"{cloud}/{account_id}/{region}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclasses.dataclass(frozen=True)
class Partition:
    """One account's one region of one cloud."""

    cloud: str
    account_id: str
    region: str

    @property
    def context(self) -> dict[str, str]:
        """The stream context (and state partition) of this partition."""
        return {"AccountId": self.account_id, "Region": self.region}


class Connector(t.Protocol):
    """What a scope needs of a cloud's connector (one identity in one account)."""

    @property
    def account_id(self) -> str:
        """The account of this identity (one call, cached)."""
        ...

    def enabled_regions(self) -> list[str]:
        """The regions the account can use now."""
        ...


@dataclasses.dataclass(frozen=True)
class RoleSpec:
    """A role (IAM or CAM) assumed on top of another identity's credentials."""

    role_arn: str
    external_id: str | None = None
    session_name: str = DEFAULT_ROLE_SESSION_NAME


@dataclasses.dataclass
class AccountEntry:
    """An account to sync: how to reach it, which regions, and a name for log lines."""

    connector: t.Any
    regions: Sequence[str]
    label: str


class Scope:
    """The partitions of one cloud, resolved once per sync, and a connector per account."""

    def __init__(
        self,
        cloud: str,
        base: t.Any,  # noqa: ANN401 - AWSConnector or TencentConnector
        entries: Callable[[], list[AccountEntry]],
        config: Mapping[str, t.Any],
        logger: logging.Logger,
    ) -> None:
        """Keep what resolving needs; nothing is called yet.

        Args:
            cloud: ``aws`` or ``tencent``.
            base: The connector of the tap's own identity.
            entries: Lists the accounts to sync (may call Organizations).
            config: The tap's settings (shards, failure policy, concurrency).
            logger: For what was chosen and what was skipped.
        """
        self.cloud = cloud
        self.base = base
        self._entries = entries
        self._config = config
        self._logger = logger
        self._lock = threading.Lock()
        self._partitions: list[Partition] | None = None
        self.connectors: dict[str, t.Any] = {}
        # Accounts given up on in this sync (account_failure=skip): label -> error.
        self.skipped: dict[str, str] = {}
        self.skipped_accounts: set[str] = set()

    @property
    def label(self) -> str:
        """The cloud's name in log lines."""
        return "AWS" if self.cloud == AWS else "Tencent Cloud"

    @property
    def lists_accounts(self) -> bool:
        """Whether the settings name accounts beyond the tap's own identity."""
        names = ("aws_accounts", "aws_organization") if self.cloud == AWS else ("tencent_accounts",)
        return any(self._config.get(name) for name in names)

    @property
    def skip_failing_accounts(self) -> bool:
        """Whether an account that fails is skipped (else the sync fails)."""
        return bool(
            self._config.get("account_failure", ACCOUNT_FAILURE_FAIL) == ACCOUNT_FAILURE_SKIP
        )

    def connector(self, account_id: str) -> t.Any:  # noqa: ANN401 - the cloud's connector
        """The connector of an account of this scope.

        Args:
            account_id: An account of :meth:`partitions`.

        Returns:
            Its connector.
        """
        return self.connectors[account_id]

    def skip_account(self, account_id: str, error: CloudAPIError) -> None:
        """Give up on an account for the rest of the sync, with one error line.

        Args:
            account_id: The account.
            error: What failed.
        """
        with self._lock:
            if account_id in self.skipped_accounts:
                return
            self.skipped_accounts.add(account_id)
            self.skipped[account_id] = str(error)
        self._logger.error(
            "%s account %s skipped for the rest of the sync (account_failure=skip), its "
            "bookmarks kept: %s",
            self.label,
            account_id,
            error,
        )

    def partitions(self) -> list[Partition]:
        """Every partition of this shard, resolved on first use.

        Returns:
            Partitions, by account then region as configured.

        Raises:
            CloudAPIError: When an account cannot be reached and failures are not
                skipped.
        """
        with self._lock:
            if self._partitions is None:
                self._partitions = self._resolve()
            return self._partitions

    def _resolve(self) -> list[Partition]:
        entries = self._entries()
        if not entries:
            return []
        workers = int(
            self._config.get("max_concurrent_partitions", DEFAULT_MAX_CONCURRENT_PARTITIONS)
        )
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(entries)))) as pool:
            outcomes = list(pool.map(self._resolve_account, entries))
        partitions: list[Partition] = []
        for entry, outcome in zip(entries, outcomes, strict=True):
            if isinstance(outcome, CloudAPIError):
                if not self.skip_failing_accounts:
                    raise outcome
                self.skipped[entry.label] = str(outcome)
                self._logger.error(
                    "%s account %s skipped (account_failure=skip), its bookmarks kept: %s",
                    self.label,
                    entry.label,
                    outcome,
                )
                continue
            account_id, regions = outcome
            if account_id in self.connectors:
                continue  # listed twice (explicitly and through the organization)
            self.connectors[account_id] = entry.connector
            partitions += [Partition(self.cloud, account_id, region) for region in regions]
        count, index = self._shard
        partitions = [p for p in partitions if self.in_shard(p.cloud, p.account_id, p.region)]
        self._logger.info(
            "%s: %d account(s), %d partition(s)%s: %s",
            self.label,
            len({p.account_id for p in partitions}),
            len(partitions),
            f" in shard {index} of {count}" if count > 1 else "",
            ", ".join(f"{p.account_id}/{p.region}" for p in partitions) or "none",
        )
        return partitions

    @property
    def _shard(self) -> tuple[int, int]:
        """(shard_count, shard_index)."""
        return int(self._config.get("shard_count") or 1), int(self._config.get("shard_index") or 0)

    def in_shard(self, cloud: str, account_id: str, region: str) -> bool:
        """Whether this job's shard reads a partition.

        Args:
            cloud: The partition's cloud.
            account_id: Its account.
            region: Its region.

        Returns:
            True when there is one shard, or the partition hashes to this one.
        """
        count, index = self._shard
        return count <= 1 or shard_of(cloud, account_id, region, count) == index

    def _resolve_account(self, entry: AccountEntry) -> tuple[str, list[str]] | CloudAPIError:
        try:
            account_id = entry.connector.account_id
            regions = pick_regions(entry.regions, entry.connector.enabled_regions)
        except CloudAPIError as error:
            return error
        if any(is_pattern(region) for region in entry.regions):
            self._logger.info(
                "%s account %s: regions %s chose %s",
                self.label,
                account_id,
                ", ".join(entry.regions),
                ", ".join(regions) or "none",
            )
        return account_id, regions


def listed_entries(
    base: t.Any,  # noqa: ANN401 - AWSConnector or TencentConnector
    listed: Sequence[Mapping[str, t.Any]],
    default_regions: Sequence[str],
) -> list[AccountEntry]:
    """The accounts of an ``aws_accounts``/``tencent_accounts`` list, or the tap's own.

    Args:
        base: The tap's own identity; ``base.for_role(role)`` reaches another account.
        listed: The list's entries ``{role_arn, external_id, session_name, regions}``.
        default_regions: The cloud's regions setting, for entries without their own.

    Returns:
        One entry per listed account with regions (an entry without ``role_arn`` is the
        tap's own identity); with nothing listed, the tap's own identity alone.
    """
    if not listed:
        return [AccountEntry(base, default_regions, OWN_IDENTITY)] if default_regions else []
    entries = []
    for account in listed:
        regions = account.get("regions") or default_regions
        role_arn = account.get("role_arn")
        if not regions:
            continue
        if not role_arn:
            entries.append(AccountEntry(base, regions, OWN_IDENTITY))
            continue
        role = RoleSpec(
            role_arn,
            account.get("external_id"),
            account.get("session_name") or DEFAULT_ROLE_SESSION_NAME,
        )
        entries.append(AccountEntry(base.for_role(role), regions, role_arn))
    return entries
