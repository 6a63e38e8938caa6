"""The examples block at the end of each command's ``--help``.

Each ``*_args`` module lists its examples once, in ``EXAMPLES``; they are shown by ``--help``
and parsed (and, where cheap, run) by the tests, so no help text cites a file or flag that
does not exist.
"""

from __future__ import annotations

import argparse

__all__ = ["with_examples"]


def with_examples(examples: tuple[str, ...]) -> dict[str, object]:
    """Return the ``add_parser`` keywords that print ``examples`` after the options.

    Parameters
    ----------
    examples : tuple of str
        Whole command lines, each starting with ``bci-bridge``.
    """
    lines = "\n".join(f"  {line}" for line in examples)
    return {
        "epilog": f"examples:\n{lines}" if examples else None,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }
