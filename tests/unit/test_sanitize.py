"""Cleaning observed text (pure logic)."""

from __future__ import annotations

from grader.report.sanitize import clean_text


def test_ansi_sequences_are_removed() -> None:
    assert clean_text("\x1b[1;31mred\x1b[0m \x1b]0;title\x07ok \x1b(B!") == "red ok !"


def test_control_characters_are_removed_but_lines_kept() -> None:
    assert clean_text("a\x00b\x01c\x7f\x85\td\r\ne") == "abc\td\ne"


def test_undecodable_bytes_and_non_characters() -> None:
    decoded = b"ok \xff\xfe end".decode("utf-8", "surrogateescape")

    assert clean_text(decoded + "\ufffe\uffff") == "ok  end"


def test_long_text_is_cut_and_the_cut_marked() -> None:
    cleaned = clean_text("A" * 5_000_000, limit=100)

    assert cleaned == "A" * 100 + " […4999900 characters cut]"


def test_cdata_terminator_is_left_to_the_xml_writer() -> None:
    assert clean_text("]]> <x>&") == "]]> <x>&"
