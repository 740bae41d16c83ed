"""Running the CLI in tests."""

from __future__ import annotations

from ganbench.cli import main


def refused(capsys, argv: list[str], *expected: str) -> str:
    """``ganbench argv`` exits 2 with one line on stderr, no traceback, holding every ``expected`` text."""
    capsys.readouterr()  # what earlier calls printed is not this call's message
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    for text in expected:
        assert text in err, (text, err)
    return err
