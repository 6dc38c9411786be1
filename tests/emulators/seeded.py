"""Reproducible pseudo-randomness for sample data and result orderings."""

from __future__ import annotations

import random


class SeededRandom(random.Random):
    """A ``random.Random`` always built from an explicit seed.

    The emulators need the same "random" data and shuffles on every run; nothing
    they generate this way is a secret (issued keys use ``random.SystemRandom``).
    """

    def __init__(self, seed: int) -> None:
        """Create a generator.

        Args:
            seed: The seed; equal seeds give equal sequences.
        """
        super().__init__(seed)
