"""User-facing errors: one line naming the problem and the fix; the CLI exits with code 2."""

from __future__ import annotations


class LabeldistError(ValueError):
    """A problem with the user's input or environment, stated with its fix.

    The message is a single line of the form ``<problem>; <fix>``. The CLI prints it
    as ``labeldist: error: <message>`` and exits with status 2.
    """

    exit_code = 2

    def __init__(self, problem: str, fix: str | None = None):
        msg = problem if fix is None else f"{problem}; {fix}"
        super().__init__(" ".join(msg.split()))  # guarantee one line
