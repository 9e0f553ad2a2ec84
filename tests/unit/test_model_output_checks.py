"""Model output checks: secrets put back from placeholders, review fixes, safe markdown."""

from __future__ import annotations

from lspilot.answers import safe_markdown
from lspilot.redaction import redact, restore_secrets, secrets_behind
from lspilot.review.fixes import checked_fix

KEY = "sk-" + "proj" + "Q7" * 20
CODE = f'KEY = "{KEY}"\nx = 1\npassword = "hunter22x"\n'


def test_placeholders_map_back_to_the_values_of_this_input() -> None:
    redacted = redact(CODE)
    assert KEY not in redacted
    assert secrets_behind(CODE) == {
        "«redacted:openai-key»": {KEY},
        "«redacted:password»": {"hunter22x"},
    }
    assert restore_secrets(redacted.replace("x = 1", "x = 2"), [CODE]) == CODE.replace(
        "x = 1", "x = 2"
    )


def test_a_placeholder_from_elsewhere_is_refused() -> None:
    assert restore_secrets('T = "«redacted:github-token»"', [CODE]) is None
    assert restore_secrets('T = "«redacted:openai-key»"', ["no secret here"]) is None
    # Two different keys behind one placeholder: which one is meant is unknown.
    other = "sk-" + "proj" + "R8" * 20
    assert restore_secrets('K = "«redacted:openai-key»"', [CODE, f'B = "{other}"']) is None


def test_a_placeholder_written_in_the_code_itself_stays() -> None:
    code = 'doc = "«redacted:x» is what you see"\n'
    assert restore_secrets(code, [code]) == code
    assert restore_secrets("no placeholder", []) == "no placeholder"


def test_review_fixes_are_cleaned_and_must_keep_the_code_valid() -> None:
    chunk = "def add(a, b):\n    return a - b\n"
    start = chunk.index("a - b")
    end = start + len("a - b")
    assert checked_fix(chunk, start, end, "```python\na + b\n```", "python") == "a + b"
    assert checked_fix(chunk, start, end, "a +", "python") is None
    assert checked_fix(chunk, start, end, "a - b", "python") is None  # a no-op
    line = chunk.index("return")
    multi = checked_fix(chunk, line, len(chunk), "total = a + b\nreturn total\n", "python")
    assert multi == "total = a + b\n    return total\n"
    js = "function f(a) {\n  return a - 1;\n}\n"
    assert checked_fix(js, js.index("a - 1"), js.index("a - 1") + 5, "a + (", "javascript") is None
    secret = f'def k():\n    return "{KEY}"\n'
    s = secret.index('"')
    fixed = checked_fix(secret, s, len(secret) - 1, '"«redacted:openai-key»".strip()', "python")
    assert fixed == f'"{KEY}".strip()'
    assert checked_fix(secret, s, len(secret) - 1, '"«redacted:jwt»"', "python") is None


def test_safe_markdown_drops_images_and_raw_html_but_keeps_code() -> None:
    text = (
        "See ![logo](https://evil.example/x.png) and ![ref][r] <img src=x> <!-- hidden -->\n"
        "```html\n<img src=kept>\n```\nInline `<b>` stays, <b>bold</b> does not."
    )
    out = safe_markdown(text)
    assert "](https://evil" not in out and "![" not in out
    assert "See logo and ref \\<img src=x> \\<!-- hidden -->" in out
    assert "```html\n<img src=kept>\n```" in out
    assert "Inline `<b>` stays, \\<b>bold\\</b> does not." in out
