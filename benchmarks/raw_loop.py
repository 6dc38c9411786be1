"""The baseline the tap is measured against: the same SDK client, paging, json.dumps.

It pages the same emulator and json-dumps each item, nothing else; prints the item count
and the seconds from the first call to the last item (start-up excluded, as the tap's
``sync_duration`` metric excludes the tap's).

Usage: python -m benchmarks.raw_loop (ssm|tat) URL REGION
"""

from __future__ import annotations

import json
import sys
import time

import boto3
from botocore.config import Config
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.tat.v20201028 import tat_client

from tests.emulators import (
    EMULATOR_AWS_ACCESS_KEY_ID,
    EMULATOR_AWS_SECRET_ACCESS_KEY,
    EMULATOR_TAT_SECRET_ID,
    EMULATOR_TAT_SECRET_KEY,
)


def ssm_items(url: str, region: str) -> int:
    client = boto3.Session(
        aws_access_key_id=EMULATOR_AWS_ACCESS_KEY_ID,
        aws_secret_access_key=EMULATOR_AWS_SECRET_ACCESS_KEY,
    ).client(
        "ssm", region_name=region, endpoint_url=url, config=Config(retries={"mode": "standard"})
    )
    count = 0
    for page in client.get_paginator("list_commands").paginate(PaginationConfig={"PageSize": 50}):
        for item in page["Commands"]:
            json.dumps(item, default=str)
            count += 1
    return count


def tat_items(url: str, region: str) -> int:
    http = HttpProfile(endpoint=url.removeprefix("http://"), protocol="http", keepAlive=True)
    client = tat_client.TatClient(
        credential.Credential(EMULATOR_TAT_SECRET_ID, EMULATOR_TAT_SECRET_KEY),
        region,
        ClientProfile(httpProfile=http),
    )
    count, offset, total = 0, 0, None
    while total is None or offset < total:
        response = client.call_json("DescribeCommands", {"Offset": offset, "Limit": 100})[
            "Response"
        ]
        total = response["TotalCount"]
        for item in response["CommandSet"]:
            json.dumps(item)
            count += 1
        offset += 100
    return count


if __name__ == "__main__":
    cloud, url, region = sys.argv[1:4]
    started = time.perf_counter()
    count = (ssm_items if cloud == "ssm" else tat_items)(url, region)
    print(count, time.perf_counter() - started)
