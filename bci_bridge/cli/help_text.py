"""The examples block at the end of each command's ``--help``.

Each ``*_args`` module lists its examples once, in ``EXAMPLES``; they are shown by ``--help``
and parsed (and, where cheap, run) by the tests, so no help text cites a file or flag that
does not exist.
"""

from __future__ import annotations

import argparse

__all__ = ["ExamplesFormatter", "with_examples"]

_HEADING = "examples:\n"


class ExamplesFormatter(argparse.HelpFormatter):
    """Wrap the description as usual; print the examples block line by line, as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(_HEADING):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def with_examples(examples: tuple[str, ...]) -> dict[str, object]:
    """Return the ``add_parser`` keywords that print ``examples`` after the options.

    Parameters
    ----------
    examples : tuple of str
        Whole command lines, each starting with ``bci-bridge``.
    """
    lines = "\n".join(f"  {line}" for line in examples)
    return {
        "epilog": f"{_HEADING}{lines}" if examples else None,
        "formatter_class": ExamplesFormatter,
    }
