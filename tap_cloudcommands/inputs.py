"""Checks of the files a user hands the tap besides its settings: state and catalog.

Each problem is one line naming what is wrong and how to fix it; all run before any API
call, and the tap writes no state when one fails, so the user's state stays as it was.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from tap_cloudcommands.errors import CloudCommandsError
from tap_cloudcommands.timestamps import parse_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

FILE_OPTIONS = ("--config", "--state", "--catalog")


class InputError(CloudCommandsError):
    """A config, state or catalog file the tap cannot use."""


def json_file_errors(argv: Sequence[str]) -> list[str]:
    """Read each JSON file named on the command line; report the unreadable ones.

    The SDK would stop on these with a traceback; a user needs the file and the line.

    Args:
        argv: Command-line arguments after the program name.

    Returns:
        One line per file that is not a JSON object.
    """
    errors = []
    for option, path in _file_arguments(argv):
        if option == "--config" and path == "ENV":
            continue
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue  # the CLI reports missing files itself
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(f"{option} {path}: cannot read it: {exc}")
            continue
        except json.JSONDecodeError as exc:
            errors.append(
                f"{option} {path}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                f"{exc.msg})"
            )
            continue
        if not isinstance(document, dict):
            errors.append(
                f"{option} {path}: must hold a JSON object, not {type(document).__name__}"
            )
    return errors


def _file_arguments(argv: Sequence[str]) -> list[tuple[str, str]]:
    found = []
    for index, argument in enumerate(argv):
        option, equals, value = argument.partition("=")
        if option not in FILE_OPTIONS:
            continue
        if equals:
            found.append((option, value))
        elif index + 1 < len(argv):
            found.append((option, argv[index + 1]))
    return found


def state_errors(state: Mapping[str, t.Any], replication_keys: Mapping[str, str]) -> list[str]:
    """Check incoming state against this tap's streams and bookmark form.

    Args:
        state: The state as loaded.
        replication_keys: Stream name to its replication key.

    Returns:
        One line per problem.
    """
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        return ["state: 'bookmarks' must be an object: pass a state this tap wrote"]
    errors = []
    unknown = sorted(set(bookmarks) - set(replication_keys))
    if unknown:
        errors.append(
            f"state has bookmarks for streams this tap does not have ({', '.join(unknown)}): "
            "is it another tap's state? Pass tap-cloudcommands' own state, or none"
        )
    for stream, replication_key in replication_keys.items():
        stream_state = bookmarks.get(stream, {})
        partitions = stream_state.get("partitions", []) if isinstance(stream_state, dict) else None
        if not isinstance(partitions, list):
            errors.append(f"state for {stream}: 'partitions' must be a list")
            continue
        errors += [
            problem
            for partition in partitions
            if (problem := _partition_error(stream, replication_key, partition))
        ]
    return errors


def _partition_error(  # noqa: PLR0911 - one return per problem
    stream: str, replication_key: str, partition: object
) -> str | None:
    if not isinstance(partition, dict):
        return f"state for {stream}: a partition is not an object"
    context = partition.get("context")
    if not isinstance(context, dict) or not isinstance(context.get("Region"), str):
        return f"state for {stream}: partition context {context!r} lacks a Region"
    account = context.get("AccountId")
    if account is not None and not isinstance(account, str):
        return f"state for {stream}: partition context {context!r}: AccountId must be a string"
    where = f"state for {stream} in {context['Region']}" + (
        f" of account {account}" if account else ""
    )
    key = partition.get("replication_key")
    if key is not None and key != replication_key:
        return f"{where}: replication_key {key!r} should be {replication_key!r}"
    value = partition.get("replication_key_value")
    if value is None:
        return None
    try:
        parse_timestamp(value)
    except ValueError:
        return f"{where}: replication_key_value {value!r} is not a timestamp: fix or remove it"
    return None


def catalog_errors(stream_ids: Sequence[str], known: Sequence[str]) -> list[str]:
    """Check that a catalog names only streams this tap has.

    Args:
        stream_ids: The catalog's ``tap_stream_id`` values.
        known: This tap's stream names.

    Returns:
        One line when the catalog names unknown streams.
    """
    unknown = sorted(set(stream_ids) - set(known))
    if not unknown:
        return []
    message = (
        f"catalog names streams this tap does not have ({', '.join(unknown)}): "
        "run --discover again and select from that catalog"
    )
    return [message]
