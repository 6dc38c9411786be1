"""Run Meltano on this repository's meltano.yml with an isolated system database."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import typing as t
from pathlib import Path

from tests.tap_runner import HERMETIC_ENV, STRIPPED_ENV_NAMES, STRIPPED_ENV_PREFIXES

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MELTANO_PREFIXES = (*STRIPPED_ENV_PREFIXES, "MELTANO_", "TARGET_POSTGRES_", "DBT_")


class MeltanoUnavailableError(RuntimeError):
    """The Meltano CLI is not installed where `make` puts it."""


def find_meltano() -> Path:
    """The Meltano executable `make test` installs (or MELTANO_BIN).

    Returns:
        Its path.

    Raises:
        MeltanoUnavailableError: If it is missing.
    """
    candidate = Path(os.environ.get("MELTANO_BIN", PROJECT_ROOT / ".tools/meltano/bin/meltano"))
    if not candidate.is_file():
        msg = f"Meltano not found at {candidate}: run `make test` (it installs Meltano)"
        raise MeltanoUnavailableError(msg)
    return candidate


@dataclasses.dataclass
class Meltano:
    """Meltano commands against this project, isolated by their own system database."""

    executable: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run one Meltano command in the project root; fail loudly on a non-zero exit.

        Args:
            args: Meltano arguments, e.g. ("run", "tap-cloudcommands", "target-postgres").
            timeout: Seconds before the command is killed.

        Returns:
            The finished process.
        """
        done = subprocess.run(
            [str(self.executable), *args],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, (
            f"meltano {' '.join(args)} exited {done.returncode}\n"
            f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-8000:]}"
        )
        return done

    def state(self, state_id: str) -> dict[str, t.Any]:
        """The state Meltano stored for a job.

        Args:
            state_id: e.g. "emulators:tap-cloudcommands-to-target-postgres".

        Returns:
            The stored state.
        """
        output = self.run("state", "get", state_id).stdout
        return json.loads(output[output.index("{") :])


def meltano_env(database_path: Path, extra: dict[str, str]) -> dict[str, str]:
    """A clean environment for Meltano: no cloud or Meltano settings leak in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(MELTANO_PREFIXES) and k not in STRIPPED_ENV_NAMES
    }
    env |= HERMETIC_ENV | {
        "MELTANO_DATABASE_URI": f"sqlite:///{database_path}",
        "MELTANO_ENVIRONMENT": "emulators",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_CLI_LOG_LEVEL": "warning",
    }
    return env | extra
