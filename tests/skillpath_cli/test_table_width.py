"""Table widths: printable ASCII is measured without wcwidth (its tables cost 0.2 s to import, issue #22),
and must measure exactly as wcwidth does; wide and control characters still go through wcwidth."""

from __future__ import annotations

import string

from wcwidth import wcswidth, wcwidth

from skillpath_cli.common import _wrap, display_width


def test_ascii_fast_path_measures_as_wcwidth_and_wide_text_still_aligns():
    for text in ("", "published 2 years ago", string.printable.strip(), "a\tb", "x\x07y", "Python 🐍 basics",
                 "学习 Rust", "café"):
        want = wcswidth(text)
        assert display_width(text) == (want if want >= 0 else len(text)), repr(text)
    for word in ("abcdefghij" * 3, "学习学习学习学习", "ab\x07cd" * 4):
        for line in _wrap(word, 7):
            assert sum(max(wcwidth(ch), 0) for ch in line) <= 7, (word, line)
    assert _wrap("Hands-on Rust (forum) for beginners", 10) == ["Hands-on", "Rust", "(forum)", "for", "beginners"]
