"""Doc comments per language: the offline engine's text, how each language writes one,
which parameters one documents, and the check a model's doc comment must pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from lspilot.answers import doc_comment_problem
from lspilot.assistant.engines.offline import document, review
from lspilot.assistant.tasks import DocumentInput, ReviewInput
from lspilot.settings import Settings
from lspilot.syntax import language_of, parse
from lspilot.syntax.doc_comments import documented_parameters, format_doc_comment

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "languages"

# file -> the offline doc comment text of `total`/`Total` (no markers).
OFFLINE_TOTAL = {
    "shop.js": "Total.\n\n@param items The items.\n@param discount The discount.",
    "shop.ts": "Total.\n\n@param items - The items.\n@param discount - The discount.\n"
    "@returns The number.",
    "shop.go": "Total totals.",
    "shop.rs": "Total.\n\n# Arguments\n\n* `items` - The items.\n* `discount` - The discount.",
    "Shop.java": "Total.\n\n@param prices The prices.\n@param discount The discount.\n"
    "@return The int.",
    "shop.c": "Total.\n\n@param items The items.\n@param count The count.\n@return The int.",
    "shop.cpp": "Total.\n\n@param items The items.\n@param discount The discount.\n"
    "@return The int.",
}


def _request(name: str, function: str) -> DocumentInput:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    language = language_of(name)
    assert language is not None
    d = next(d for d in parse(text, language).definitions() if d.name == function)
    return DocumentInput(
        language=language,
        name=d.name,
        kind=d.kind,
        code=d.text,
        signature=d.signature,
        parameters=d.parameters,
        returns=d.returns,
        raises=d.raises,
        existing_docstring=d.docstring,
    )


@pytest.mark.parametrize("name", sorted(OFFLINE_TOTAL))
def test_offline_doc_comment_of_total(name: str) -> None:
    function = "Total" if name.endswith(".go") else "total"
    assert document(_request(name, function)) == OFFLINE_TOTAL[name]


def test_offline_keeps_an_existing_summary_and_descriptions() -> None:
    request = _request("shop.ts", "scale")
    assert document(request) == (
        "Old note about scale.\n\n@param items - The items.\n"
        "@param factor - The factor. Defaults to 2.\n@returns The item."
    )
    assert document(_request("shop.go", "Scale")) == "Scale is an old note."


def test_rust_errors_and_panics_sections() -> None:
    code = (
        "/// Parse it.\npub fn parse(s: &str) -> Result<u8, Error> {\n"
        "    Ok(s.parse().unwrap())\n}\n"
    )
    d = parse(code, "rust").definitions()[0]
    text = document(
        DocumentInput(
            language="rust", name=d.name, kind=d.kind, code=d.text, signature=d.signature,
            parameters=d.parameters,
            returns=d.returns, raises=d.raises, existing_docstring=d.docstring,
        )
    )  # fmt: skip
    assert text == (
        "Parse it.\n\n# Arguments\n\n* `s` - The s.\n\n# Errors\n\n"
        "Returns an error when the operation fails.\n\n# Panics\n\nMay panic: it calls `unwrap()`."
    )


def test_go_summary_names_the_declaration() -> None:
    code = (
        "package a\n\nfunc LoadConfig(p string) error { return nil }\n\ntype HTTPServer struct{}\n"
    )
    for d, want in zip(
        parse(code, "go").definitions(),
        ["LoadConfig loads config.", "HTTPServer is a HTTP server."],
        strict=True,
    ):
        request = DocumentInput(
            language="go", name=d.name, kind=d.kind, code=d.text, signature=d.signature
        )
        assert document(request) == want


@pytest.mark.parametrize(
    ("language", "style", "want"),
    [
        ("java", "block", "/**\n   * Sum.\n   *\n   * @param a A.\n   */"),
        ("cpp", "line", "/// Sum.\n  ///\n  /// @param a A."),
        ("c", "block", "/**\n   * Sum.\n   *\n   * @param a A.\n   */"),
        ("rust", "block", "/// Sum.\n  ///\n  /// @param a A."),
        ("go", "block", "// Sum.\n  //\n  // @param a A."),
    ],
)
def test_format_doc_comment(language: str, style: str, want: str) -> None:
    block = format_doc_comment("Sum.\n\n@param a A.", language, "  ", "\n", style)  # type: ignore[arg-type]
    assert block == want
    assert format_doc_comment("One line.", "typescript", "    ") == "/** One line. */"


def test_documented_parameters() -> None:
    assert documented_parameters("S.\n@param {number} a The a.\n@param b", "javascript") == [
        "a",
        "b",
    ]
    assert documented_parameters("S.\n\\param[in] a A.\n@param[out] b B.", "c") == ["a", "b"]
    assert documented_parameters("S.\n\n# Arguments\n\n* `x` - X.\n", "rust") == ["x"]
    assert documented_parameters("S.\n\n# Examples\n\n* `x` - X.\n", "rust") is None
    assert documented_parameters("Sum does things.", "go") is None
    assert documented_parameters("Just a summary.", "java") is None


def test_doc_comment_problem_is_the_repair_feedback() -> None:
    params = ["a", "b"]
    assert doc_comment_problem("S.\n@param a A.\n@param b B.", "java", "f", params) is None
    assert "exactly `a`, `b`" in (doc_comment_problem("S.\n@param a A.", "java", "f", params) or "")
    assert "every parameter" in (doc_comment_problem("S.", "typescript", "f", params) or "")
    assert doc_comment_problem("S.", "typescript", "f", []) is None
    assert "begin it with `Total`" in (doc_comment_problem("Sums.", "go", "Total", params) or "")
    assert doc_comment_problem("Total sums.", "go", "Total", params) is None
    assert doc_comment_problem("A Total is a sum.", "go", "Total", params) is None


def test_offline_review_flags_mismatched_tags_with_a_fix() -> None:
    code = (
        "/**\n * Add.\n * @param a The a.\n * @param c Gone.\n */\n"
        "export function add(a, b) {\n  return a + b;\n}\n"
    )
    [issue] = review(ReviewInput(language="javascript", code=code), Settings())
    assert issue.quote == code[: code.index("*/") + 2]
    assert issue.severity == "warning" and "`c`" in issue.message and "`b`" in issue.message
    assert issue.fix == "/**\n * Add.\n *\n * @param a The a.\n * @param b The b.\n */"


def test_offline_review_of_missing_doc_comments_only_public_ones() -> None:
    settings = Settings()
    settings.diagnostics.missing_docstrings = True
    code = "package a\n\nfunc Exported(x int) int {\n\treturn x\n}\n\nfunc hidden() {}\n"
    [issue] = review(ReviewInput(language="go", code=code), settings)
    assert issue.quote == "func Exported(x int) int {"
    assert issue.fix == "// Exported handles exported.\nfunc Exported(x int) int {"
    rust = "pub fn shown() {}\nfn private() {}\n"
    [issue] = review(ReviewInput(language="rust", code=rust), settings)
    assert issue.message == "Public function `shown` has no doc comment."


def test_placement_above_the_definition_keeps_crlf_and_replaces_old_comments() -> None:
    from lspilot.features.code_actions.edits import apply_edits
    from lspilot.features.code_actions.placement import doc_comment_edit

    text = "namespace n {\r\n  /// Old.\r\n  /// Older.\r\n  int f(int a) { return a; }\r\n}\r\n"
    d = parse(text, "cpp").definitions()[0]
    edit = doc_comment_edit(text, d, "New.\n\n@param a A.", "cpp", "line")
    assert apply_edits(text, [edit]) == (
        "namespace n {\r\n  /// New.\r\n  ///\r\n  /// @param a A.\r\n"
        "  int f(int a) { return a; }\r\n}\r\n"
    )
    go = "package a\n\nfunc F() {}\n"
    d = parse(go, "go").definitions()[0]
    assert apply_edits(go, [doc_comment_edit(go, d, "F does it.", "go")]) == (
        "package a\n\n// F does it.\nfunc F() {}\n"
    )
    rust = "#[test]\nfn t() {}\n"
    d = parse(rust, "rust").definitions()[0]
    assert apply_edits(rust, [doc_comment_edit(rust, d, "T.", "rust")]) == (
        "/// T.\n#[test]\nfn t() {}\n"
    )


def test_javascript_class_doc_lists_its_this_fields() -> None:
    text = (FIXTURES / "shop.js").read_text(encoding="utf-8")
    d = next(d for d in parse(text, "javascript").definitions() if d.name == "Shop")
    request = DocumentInput(
        language="javascript", name=d.name, kind=d.kind, code=d.text, signature=d.signature,
        attributes=d.attributes,
    )  # fmt: skip
    assert document(request) == "Shop.\n\n@property name The name."
