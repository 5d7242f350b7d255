"""The committed catalogs are exactly what `python -m dwh.docs` writes from the code."""

from __future__ import annotations

from dwh.docs.generate import generated_documents


def test_generated_documents_are_committed_and_current():
    stale = [
        str(path)
        for path, text in generated_documents().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"out of date, run `python -m dwh.docs`: {stale}"
