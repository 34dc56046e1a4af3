"""The public surface: every public name is exported, sorted, documented; internals stay private."""

from __future__ import annotations

import inspect

import kaizala_async


def test_all_is_sorted_and_complete() -> None:
    exported = kaizala_async.__all__
    assert list(exported) == sorted(exported)
    public = {
        name
        for name in dir(kaizala_async)
        if not name.startswith("_") and not inspect.ismodule(getattr(kaizala_async, name))
    }
    assert public == set(exported) - {"__version__"}


def test_exported_members_come_from_private_modules_and_are_documented() -> None:
    for name in kaizala_async.__all__:
        if name == "__version__":
            continue
        member = getattr(kaizala_async, name)
        if inspect.isclass(member) or inspect.isfunction(member):
            assert member.__module__.startswith("kaizala_async._"), name
            assert inspect.getdoc(member), f"{name} has no docstring"


def test_the_webhooks_module_offers_the_same_objects() -> None:
    from kaizala_async import webhooks

    assert list(webhooks.__all__) == sorted(webhooks.__all__)
    for name in webhooks.__all__:
        assert getattr(webhooks, name) is getattr(kaizala_async, name), name


def test_error_tree() -> None:
    k = kaizala_async
    for api_error in (
        k.AuthenticationError,
        k.PermissionDeniedError,
        k.NotFoundError,
        k.ThrottledError,
        k.EndpointMovedError,
        k.BadRequestError,
        k.ServerError,
    ):
        assert issubclass(api_error, k.APIError)
    assert issubclass(k.APIError, k.KaizalaError)
    assert issubclass(k.RequestTimeoutError, k.TransportError)
    assert issubclass(k.ValidationError, ValueError)


#: The pacing stack, bottom-up (DESIGN §4): each module may import only those before it.
PACING = ["_ledger", "_budget", "_lane", "_shared_tenant", "_limits", "_redis", "_ratelimit"]


def test_the_pacing_stack_reads_bottom_up_with_no_import_cycle() -> None:
    """Typing-only imports count too: `_budget` and `_shared_tenant` imported the lane from
    `_ratelimit`, which imports them."""
    import ast
    from pathlib import Path

    package = Path(kaizala_async.__file__).parent
    for position, name in enumerate(PACING):
        tree = ast.parse((package / f"{name}.py").read_text(encoding="utf-8"))
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        }
        above = imported & set(PACING[position:])
        assert not above, f"{name} imports {sorted(above)}, which are above it"
