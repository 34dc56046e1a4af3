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


def test_every_public_name_is_in_the_generated_api_reference(tmp_path: Path) -> None:
    """The strict docs build renders the reference from the docstrings; each name of
    ``kaizala_async.__all__`` gets its own anchor there."""
    import os
    import subprocess
    import sys

    import kaizala_async

    site = tmp_path / "site"
    subprocess.run(  # noqa: S603 (our own interpreter, a fixed command)
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=DOCS.parent, check=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    page = (site / "reference" / "index.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="kaizala_async\.([A-Za-z_0-9]+)"', page))
    assert [name for name in kaizala_async.__all__ if name not in anchors] == []
    # The command line page lists its commands as terms with their descriptions below: a table
    # whose command cells never wrap was 1,183 px wide in the theme's 720 px column.
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    commands = cli.split('id="a-session"')[0]
    assert "<dl>" in commands and "<table>" not in commands
    assert commands.count("<dt>") >= 13


def test_the_docs_cite_nothing_a_user_does_not_have() -> None:
    """Users have only the package and its docs: no "SPEC" document, no path outside the site."""
    pages = [*DOCS.rglob("*.md"), DOCS.parent / "README.md"]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"\bSPEC\b", text), page
        assert "../shared" not in text, page


def test_docstrings_hold_no_rest_markup_the_reference_would_show_raw() -> None:
    """The API reference renders docstrings as Markdown: a Sphinx role (``:func:`x```) or a
    reStructuredText ``::`` block marker showed as text (43 of them did)."""
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "kaizala_async"
    role = re.compile(r":(?:func|class|meth|attr|exc|data|mod|obj):`")
    found = [
        f"{path.relative_to(package)}:{n}"
        for path in package.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if role.search(line) or line.rstrip().endswith("::")
    ]
    assert found == []
