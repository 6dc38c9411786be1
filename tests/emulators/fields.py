"""Member names of an API shape, checked so a typo in test data fails loudly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class FieldNames:
    """The member names of one API shape (botocore shape or Tencent SDK model)."""

    def __init__(self, shape: str, names: Iterable[str]) -> None:
        """Remember the names.

        Args:
            shape: How error messages name the shape, e.g. "SSM Command".
            names: Its members, in the model's order (errors list them so).
        """
        self.shape = shape
        self.names = tuple(names)
        self._allowed = frozenset(self.names)

    def check(self, fields: Mapping[str, Any]) -> None:
        """Reject names that are not members of the shape.

        Raises:
            ValueError: On an unknown field name.
        """
        if self._allowed.issuperset(fields):
            return
        unknown = sorted(set(fields) - self._allowed)
        raise ValueError(f"unknown {self.shape} field(s) {unknown}; known: {list(self.names)}")
