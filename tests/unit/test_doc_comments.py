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
    "shop.tsx": "Total.\n\n@param items - The items.\n@param discount - The discount.\n"
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


def test_doc_comment_problem_refuses_types_in_tsdoc_tags() -> None:
    typed = "S.\n\n@param {number} a - A.\n@returns {number} The sum."
    for language in ("typescript", "tsx"):
        problem = doc_comment_problem(typed, language, "f", ["a"])
        assert problem is not None and "TypeScript has types" in problem
        assert "do not match" not in problem  # the parameters are right
        untyped = "S.\n\n@param a - A.\n@returns The sum."
        assert doc_comment_problem(untyped, language, "f", ["a"]) is None
        both = doc_comment_problem("S.\n\n@param {number} b - B.", language, "f", ["a"])
        assert both is not None and "exactly `a`" in both and "TypeScript has types" in both
    # JavaScript has no types of its own: JSDoc types are welcome there.
    assert doc_comment_problem(typed, "javascript", "f", ["a"]) is None


def test_offline_javascript_keeps_the_types_of_an_existing_jsdoc() -> None:
    code = (
        "/**\n * Add them.\n * @param {number} a The first.\n * @param {number} [b=1] The second.\n"
        " * @param {string} gone Gone.\n * @returns {number} The sum.\n */\n"
        "export function add(a, b = 1, c) {\n  return a + b + c;\n}\n"
    )
    request = DocumentInput(language="javascript", name="add", kind="function", code=code,
                            signature="function add(a, b = 1, c)")  # fmt: skip
    assert document(request) == (
        "Add them.\n\n@param {number} a The first.\n@param {number} [b=1] The second.\n"
        "@param c The c.\n@returns {number} The sum."
    )
    # TypeScript has the types in the signature: a rewrite drops the copies.
    ts = code.replace("(a, b = 1, c)", "(a: number, b = 1, c: number): number")
    request = DocumentInput(language="typescript", name="add", kind="function", code=ts,
                            signature="")  # fmt: skip
    assert document(request) == (
        "Add them.\n\n@param a - The first.\n@param b - The second.\n"
        "@param c - The c.\n@returns The sum."
    )


def test_offline_javadoc_lists_what_a_method_throws() -> None:
    code = (
        "/** Reads it. */\n"
        "public String read(String path) throws IOException {\n"
        '    if (path.isEmpty()) {\n        throw new IllegalArgumentException("path");\n    }\n'
        "    return Files.readString(Path.of(path));\n}\n"
    )
    request = DocumentInput(language="java", name="read", kind="method", code=code,
                            signature="")  # fmt: skip
    assert document(request) == (
        "Reads it.\n\n@param path The path.\n@return The string.\n"
        "@throws IOException Thrown on failure.\n"
        "@throws IllegalArgumentException Thrown on failure."
    )


# language, a function whose body throws, the @throws tags the offline engine writes: only
# for what the code visibly throws, never a made-up type for `throw err`.
THROWING = [
    ("typescript", "function parse(text: string): number {\n"
     "  if (!text) throw new Error('empty');\n  return Number(text);\n}\n",
     ["@throws {Error} Thrown on failure."]),
    ("typescript", "function parse(text: string): number {\n  try {\n    return load(text);\n"
     "  } catch (err) {\n    throw err;\n  }\n}\n", []),
    ("typescript", "function parse(text: string): number {\n  return Number(text);\n}\n", []),
    ("javascript", "function parse(text) {\n  if (!text) throw Error('empty');\n"
     "  if (text === '?') throw new errors.ParseError(text);\n  throw this.failure;\n}\n",
     ["@throws {Error} Thrown on failure.", "@throws {errors.ParseError} Thrown on failure."]),
    ("javascript", "function parse(text) {\n  throw makeError(text);\n}\n", []),
    ("java", "class P {\n  int parse(String text) {\n    if (text == null) {\n"
     "      throw new IllegalArgumentException(\"text\");\n    }\n    throw failure;\n  }\n}\n",
     ["@throws IllegalArgumentException Thrown on failure."]),
    ("cpp", "int parse(const std::string& text) {\n  if (text.empty()) throw std::invalid_argument"
     "(\"empty\");\n  if (text == \"?\") throw ParseError{text};\n  throw e;\n}\n",
     ["@throws std::invalid_argument Thrown on failure.", "@throws ParseError Thrown on failure."]),
    ("cpp", "int parse(const std::string& text) {\n  try {\n    return load(text);\n"
     "  } catch (...) {\n    throw;\n  }\n  throw 42;\n}\n", []),
]  # fmt: skip


@pytest.mark.parametrize(("language", "code", "throws"), THROWING)
def test_offline_throws_tags_only_for_what_the_code_visibly_throws(
    language: str, code: str, throws: list[str]
) -> None:
    request = DocumentInput(language=language, name="parse", kind="function", code=code,
                            signature="")  # fmt: skip
    tags = [line for line in document(request).split("\n") if line.startswith("@throws")]
    assert tags == throws


# file, function, a doc comment with a wrong tag, the offline fix (C++ in `///` lines).
MISMATCHED = [
    (
        "shop.ts", "total",
        "/**\n * Sum.\n * @param items - The items.\n * @param gone - Gone.\n */",
        "/**\n * Sum.\n *\n * @param items - The items.\n * @param discount - The discount.\n"
        " * @returns The number.\n */",
    ),
    (
        "Shop.java", "total",
        "/**\n     * Sum.\n     * @param prices The prices.\n     * @param gone Gone.\n     */",
        "/**\n     * Sum.\n     *\n     * @param prices The prices.\n"
        "     * @param discount The discount.\n     * @return The int.\n     */",
    ),
    (
        "shop.c", "total", "/**\n * Sum.\n * @param items The items.\n * @param gone Gone.\n */",
        "/**\n * Sum.\n *\n * @param items The items.\n * @param count The count.\n"
        " * @return The int.\n */",
    ),
    (
        "shop.cpp", "total", "/// Sum.\n/// @param items The items.\n/// @param gone Gone.",
        "/// Sum.\n///\n/// @param items The items.\n/// @param discount The discount.\n"
        "/// @return The int.",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("name", "function", "comment", "fix"), MISMATCHED)
def test_offline_review_flags_mismatched_tags_per_language(
    name: str, function: str, comment: str, fix: str
) -> None:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    language = language_of(name)
    assert language is not None
    d = next(d for d in parse(text, language).definitions() if d.name == function)
    header = d.text.split("\n", 1)[0]
    code = text.replace(header, comment + "\n" + d.indent + header, 1)
    settings = Settings()
    settings.code_actions.c_doc_style = "line" if language == "cpp" else "block"
    [issue] = review(ReviewInput(language=language, code=code), settings)
    assert issue.quote == comment
    assert issue.severity == "warning"
    assert "`gone` (no such parameter)" in issue.message
    assert "does not document `" in issue.message
    assert issue.fix == fix
    # The fix applied, the review has nothing more to say about this function.
    assert review(ReviewInput(language=language, code=code.replace(comment, fix)), settings) == []


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
