"""Run the real `tap-cloudcommands` CLI in a subprocess and read its Singer output."""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

# The tests never reach a cloud: no instance metadata lookups, no user profiles.
HERMETIC_ENV = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "PYTHONWARNINGS": "ignore",
}
STRIPPED_ENV_PREFIXES = ("AWS_", "TENCENTCLOUD_", "TAP_CLOUDCOMMANDS_")
# The Tencent SDK matches NO_PROXY as a substring of "127.0.0.1:PORT": a proxy setting
# would route emulator traffic away from loopback.
STRIPPED_ENV_NAMES = frozenset(
    {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"}
)


@dataclasses.dataclass
class TapRun:
    """What one run of the tap printed."""

    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, t.Any]]

    @property
    def records(self) -> dict[str, list[dict[str, t.Any]]]:
        """Records by stream."""
        by_stream: dict[str, list[dict[str, t.Any]]] = collections.defaultdict(list)
        for message in self.messages:
            if message["type"] == "RECORD":
                by_stream[message["stream"]].append(message["record"])
        return dict(by_stream)

    def ids(self, stream: str, region: str | None = None) -> list[str]:
        """CommandIds emitted for a stream (and region), in order, duplicates kept."""
        return [
            r["CommandId"]
            for r in self.records.get(stream, [])
            if region is None or r["Region"] == region
        ]

    @property
    def states(self) -> list[dict[str, t.Any]]:
        """Every STATE message value, in order."""
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, t.Any]:
        """The last STATE value."""
        assert self.states, f"no STATE message; stderr:\n{self.stderr}"
        return self.states[-1]

    def bookmarks(self, stream: str) -> dict[str, str | None]:
        """Region -> replication_key_value of a stream in the final state."""
        partitions = self.final_state["bookmarks"][stream].get("partitions", [])
        return {p["context"]["Region"]: p.get("replication_key_value") for p in partitions}

    def error_lines(self) -> list[str]:
        """stderr lines that report an error."""
        return [line for line in self.stderr.splitlines() if "error" in line.lower()]


def tap_command(
    run_dir: Path,
    config: dict[str, t.Any],
    state: dict[str, t.Any] | None,
    catalog: dict[str, t.Any] | None,
    args: t.Sequence[str],
) -> list[str]:
    """The CLI invocation, with its files written into ``run_dir``."""
    command = [sys.executable, "-m", "tap_cloudcommands"]
    config_path = run_dir / "config.json"
    config_path.write_text(json.dumps(config))
    command += ["--config", str(config_path)]
    if state is not None:
        (run_dir / "state.json").write_text(json.dumps(state))
        command += ["--state", str(run_dir / "state.json")]
    if catalog is not None:
        (run_dir / "catalog.json").write_text(json.dumps(catalog))
        command += ["--catalog", str(run_dir / "catalog.json")]
    return command + list(args)


def tap_env(env: dict[str, str] | None) -> dict[str, str]:
    """The process environment of a hermetic tap run."""
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(STRIPPED_ENV_PREFIXES) and k not in STRIPPED_ENV_NAMES
    }
    return full_env | HERMETIC_ENV | (env or {})


def parse_messages(stdout: str) -> list[dict[str, t.Any]]:
    """The Singer messages among the lines of stdout."""
    messages = []
    for line in stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue  # --discover and --about print multi-line JSON
        if isinstance(message, dict) and "type" in message:
            messages.append(message)
    return messages


def new_run_dir(tmp_path: Path) -> Path:
    """A fresh directory for one run's files."""
    run_dir = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}"
    run_dir.mkdir()
    return run_dir


def run_tap(
    tmp_path: Path,
    config: dict[str, t.Any],
    *,
    state: dict[str, t.Any] | None = None,
    catalog: dict[str, t.Any] | None = None,
    args: t.Sequence[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> TapRun:
    """Run the tap's CLI once.

    Args:
        tmp_path: Where config, state and catalog files are written.
        config: Settings.
        state: Incoming state, if any.
        catalog: Catalog, if any.
        args: Extra CLI arguments.
        env: Extra environment variables.
        timeout: Seconds before the run is killed.

    Returns:
        The exit code, output and parsed Singer messages.
    """
    command = tap_command(new_run_dir(tmp_path), config, state, catalog, args)
    done = subprocess.run(
        command, capture_output=True, text=True, env=tap_env(env), timeout=timeout, check=False
    )
    return TapRun(done.returncode, done.stdout, done.stderr, parse_messages(done.stdout))


def run_tap_killed_after(
    tmp_path: Path,
    config: dict[str, t.Any],
    records: int,
    *,
    state: dict[str, t.Any] | None = None,
) -> TapRun:
    """Run the tap and SIGKILL it once ``records`` RECORD messages have been read.

    Returns:
        What was read before the kill (returncode -9), or the whole run if it ended first.
    """
    command = tap_command(new_run_dir(tmp_path), config, state, None, ())
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=tap_env(None)
    )
    assert process.stdout is not None
    lines, seen = [], 0
    for line in process.stdout:
        lines.append(line)
        if line.startswith('{"type":"RECORD"'):
            seen += 1
            if seen >= records:
                process.kill()
                break
    process.stdout.close()
    returncode = process.wait(timeout=60)
    stdout = "".join(lines)
    return TapRun(returncode, stdout, "", parse_messages(stdout))
