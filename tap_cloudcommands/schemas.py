"""The schema members every stream shares: ``AccountId`` and ``Region``, the partition's.

Each cloud's record schemas (``aws.schemas``, ``tencent.schemas``, and the audit streams'
own) start with them.
"""

from __future__ import annotations

from singer_sdk import typing as th

ACCOUNT_ID = th.Property(
    "AccountId",
    th.StringType,
    required=True,
    description="Account the record was read from (AWS account id, Tencent Cloud main "
    "account UIN), from STS GetCallerIdentity.",
)
REGION = th.Property(
    "Region", th.StringType, required=True, description="Region the record was read from."
)
