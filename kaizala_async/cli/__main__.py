"""``python -m kaizala_async.cli``: the same as the ``kaizala`` command."""

from . import main

main()
