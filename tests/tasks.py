"""Which tasks a trio run holds (for tests that check nothing outlives a client)."""

from __future__ import annotations

import trio


def trio_task_names() -> list[str]:
    """The names of every task of the running trio run, its system tasks included."""

    def names(task: trio.lowlevel.Task) -> list[str]:
        found = [task.name]
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                found += names(child)
        return found

    return names(trio.lowlevel.current_root_task())
