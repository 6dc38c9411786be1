"""The tap's TAT client: environment settings resolved once, answers parsed once."""

from __future__ import annotations

import json
import logging

import pytest
import requests
from tencentcloud.common import abstract_client, credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.tat.v20201028 import tat_client as sdk_tat_client

from tap_cloudcommands.errors import CloudAPIError
from tap_cloudcommands.tencent.connector import TencentConnector
from tap_cloudcommands.tencent.sdk import TatClient
from tests.conftest import emulator_config
from tests.emulators import Fault
from tests.test_emulators import make_tat_client

pytestmark = pytest.mark.usefixtures("isolated_sdk_environment")

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
CORPORATE_PROXY = "http://proxy.corp.example:3128"


def chosen_proxy(client: sdk_tat_client.TatClient) -> str | None:
    """The proxy requests would use for the client's next call, found as Session.request does."""
    connection = client.request.conn
    url = f"https://{client.request.host}/"
    settings = connection._session.merge_environment_settings(
        url, connection.proxy or {}, stream=True, verify=connection.certification, cert=None
    )
    return requests.utils.select_proxy(url, settings["proxies"])


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, None),
        ({"HTTPS_PROXY": CORPORATE_PROXY}, CORPORATE_PROXY),
        ({"https_proxy": CORPORATE_PROXY, "NO_PROXY": "tat.tencentcloudapi.com"}, None),
        # The SDK reads no ALL_PROXY and no suffix in NO_PROXY; requests does.
        ({"ALL_PROXY": "socks5://proxy.corp.example:1080"}, "socks5://proxy.corp.example:1080"),
        ({"ALL_PROXY": CORPORATE_PROXY, "no_proxy": ".tencentcloudapi.com"}, None),
        # The SDK's own proxy wins over requests' bypass list, as it always did.
        ({"HTTPS_PROXY": CORPORATE_PROXY, "NO_PROXY": ".tencentcloudapi.com"}, CORPORATE_PROXY),
    ],
)
def test_proxies_from_the_environment_are_chosen_as_before(monkeypatch, environment, expected):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    secret = credential.Credential("AKIDexample", "example-key")

    sdk_client = sdk_tat_client.TatClient(secret, "ap-guangzhou", ClientProfile())
    tap_client = TatClient(secret, "ap-guangzhou", ClientProfile())

    assert chosen_proxy(sdk_client) == expected
    assert chosen_proxy(tap_client) == expected
    assert tap_client.request.conn._session.trust_env is False


def test_a_netrc_entry_for_the_endpoint_no_longer_replaces_the_signature(
    monkeypatch, tmp_path, tat_emulator
):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password not-for-tencent\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    tat_emulator.add_commands("ap-guangzhou", [{"CommandId": "cmd-netrc001"}])

    # The plain SDK client lets requests swap its signed Authorization for Basic auth.
    with pytest.raises(TencentCloudSDKException) as refused:
        make_tat_client(tat_emulator).call_json("DescribeCommands", {})
    assert str(refused.value.code).startswith("AuthFailure")

    answer = TencentConnector(emulator_config(None, tat_emulator), logging.getLogger()).call(
        "ap-guangzhou", "DescribeCommands", {}
    )
    assert [command["CommandId"] for command in answer["CommandSet"]] == ["cmd-netrc001"]


class CountingJson:
    """The json module, counting the SDK's calls of ``loads``."""

    def __init__(self) -> None:
        self.loads_calls = 0

    def loads(self, *args, **kwargs):
        self.loads_calls += 1
        return json.loads(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(json, name)


def test_each_answer_is_parsed_once_by_the_tap_not_again_by_the_sdk(monkeypatch, tat_emulator):
    tat_emulator.add_commands("ap-guangzhou", [{"CommandId": f"cmd-once{n:04d}"} for n in range(3)])
    sdk_json = CountingJson()
    # Should the SDK route answers past another parse, the CPU saved per page is lost.
    monkeypatch.setattr(abstract_client, "json", sdk_json)
    connector = TencentConnector(emulator_config(None, tat_emulator), logging.getLogger())

    page = connector.fetch_page("ap-guangzhou", "DescribeCommands", "CommandSet", 0, 100)

    assert len(page.items) == page.total == 3
    assert sdk_json.loads_calls == 0
    make_tat_client(tat_emulator).call("DescribeCommands", {})
    assert sdk_json.loads_calls == 1, "the plain SDK client parses each answer itself"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault("throttle", count=10), "RequestLimitExceeded"),
        (Fault("malformed", count=10), "MalformedResponse"),
    ],
)
def test_error_and_malformed_answers_are_still_caught_without_the_sdks_parse(
    tat_emulator, fault, code
):
    tat_emulator.inject(fault)
    connector = TencentConnector(
        emulator_config(None, tat_emulator) | {"tencent_max_attempts": 2}, logging.getLogger()
    )
    with pytest.raises(CloudAPIError) as failed:
        connector.call("ap-guangzhou", "DescribeCommands", {})
    assert failed.value.code == code
