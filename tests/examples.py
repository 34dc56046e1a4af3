"""How many examples a property test draws: a fifth of them under mutation testing.

mutmut (``tools/mutate.py``) runs a module's tests once per mutant, and sets
``MUTANT_UNDER_TEST`` while it does; a mutant that breaks a promise fails within the first few
examples, and the full count would make the run take hours on two cores.
"""

from __future__ import annotations

import os


def examples(n: int) -> int:
    """``n``, or a fifth of it (at least 20) while mutmut runs."""
    return max(20, n // 5) if "MUTANT_UNDER_TEST" in os.environ else n
