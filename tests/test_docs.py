"""Every runnable example in the docs runs: those that end in ``asyncio.run(main())`` and use the
emulator (the others need a real service)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _examples() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        for n, code in enumerate(BLOCK.findall(page.read_text())):
            if "asyncio.run(main())" in code and "kaizala_async.emulator" in code:
                found.append((f"{page.relative_to(DOCS)}#{n}", code))
    return found


EXAMPLES = _examples()


def test_every_resource_page_has_a_runnable_example() -> None:
    pages = {name.split("#")[0] for name, _ in EXAMPLES}
    resource_pages = {str(p.relative_to(DOCS)) for p in (DOCS / "resources").glob("*.md")}
    assert len(resource_pages) == 12
    assert resource_pages <= pages


@pytest.mark.parametrize("code", [c for _, c in EXAMPLES], ids=[n for n, _ in EXAMPLES])
def test_doc_example_runs(code: str) -> None:
    exec(compile(code, "<doc example>", "exec"), {"__name__": "__main__"})  # noqa: S102
