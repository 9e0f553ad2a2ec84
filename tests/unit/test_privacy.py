"""Privacy: exclusion globs, .lspilotignore, secret redaction, endpoint warnings.

Every secret-looking fixture is assembled at run time, so no file in the repository contains
a string a secret scanner would flag.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lspilot.privacy import IGNORE_FILE, Privacy, endpoint_warning, placeholder, redact
from lspilot.settings import PrivacySettings


def _privacy(root: Path | None, **settings: object) -> Privacy:
    return Privacy(PrivacySettings.model_validate(settings), root)


# ---- fake secrets, built at run time -----------------------------------------------------

OPENAI_KEY = "sk-" + "proj-" + "A1b2" * 12
OPENAI_LEGACY_KEY = "sk-" + "Zy9X" * 12
ANTHROPIC_KEY = "sk-" + "ant-" + "api03-" + "Qw3" * 12
AWS_KEY_ID = "AKIA" + "Q2W3E4R5" + "T6Y7U8I9"
AWS_SECRET = "wJalrXUtnFEMI" + "/K7MDENG/" + "bPxRfiCY" + "EXAMPLEKEY"
GITHUB_CLASSIC = "ghp_" + "a1B2c3D4" * 5
GITHUB_OAUTH = "gho_" + "Z9y8X7w6" * 5
GITHUB_PAT = "github_pat_" + "11ABCDEFG" + "0" * 10 + "_" + "xY1" * 15
SLACK_TOKEN = "xoxb-" + "123456789012-" + "1234567890123-" + "AbCdEfGh" * 3
GOOGLE_KEY = "AIza" + "Sy" + "B1c2D3e4F5" * 3 + "g6H"
JWT = (
    "eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    "." + "eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0"
    "." + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
BEARER = "tok" + "9f8e7d6c5b4a" * 2
PEM_BEGIN = "-----BEGIN " + "RSA PRIVATE KEY-----"
PEM_END = "-----END " + "RSA PRIVATE KEY-----"
PEM_BODY = ["MIIEow" + "IBAAKCAQEA" * 5, "q1w2e3" + "r4t5y6" * 8, "zxcv" + "bnm1" * 9 + "=="]


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        (f'client = OpenAI(api_key="{OPENAI_KEY}")', OPENAI_KEY, "openai-key"),
        (f"key: {OPENAI_LEGACY_KEY}", OPENAI_LEGACY_KEY, "openai-key"),
        (f"ANTHROPIC = '{ANTHROPIC_KEY}'", ANTHROPIC_KEY, "anthropic-key"),
        (f"aws_access_key_id = {AWS_KEY_ID}", AWS_KEY_ID, "aws-access-key-id"),
        (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET, "aws-secret-key"),
        (f'AWS_SECRET_ACCESS_KEY="{AWS_SECRET}"', AWS_SECRET, "aws-secret-key"),
        (f"gh = '{GITHUB_CLASSIC}'", GITHUB_CLASSIC, "github-token"),
        (f"gh = '{GITHUB_OAUTH}'", GITHUB_OAUTH, "github-token"),
        (f"gh = '{GITHUB_PAT}'", GITHUB_PAT, "github-token"),
        (f"slack({SLACK_TOKEN!r})", SLACK_TOKEN, "slack-token"),
        (f"maps = Client(key='{GOOGLE_KEY}')", GOOGLE_KEY, "google-api-key"),
        (f"cookie = {JWT}", JWT, "jwt"),
        (f"headers = {{'Authorization': 'Bearer {BEARER}'}}", BEARER, "bearer-token"),
        (f"curl -H 'Authorization: bearer {BEARER}'", BEARER, "bearer-token"),
        ('password = "correct-horse"', "correct-horse", "password"),
        ("db_password: str = 'hunter2!'", "hunter2!", "password"),
        ("API_KEY: 'abcdef-123'", "abcdef-123", "secret"),
        ('{"secret": "s3cr3t value"}', "s3cr3t value", "secret"),
        ('{"clientSecret": "zzz-top"}', "zzz-top", "secret"),
        ("TOKEN=plainletters", "plainletters", "token"),
        ("export DB_PASS=letmein", "letmein", "password"),
        ("password: hunter2", "hunter2", "password"),  # YAML
        ("connect(host='db', password='pw-123')", "pw-123", "password"),
        ("$apiKey = 'php-secret';", "php-secret", "secret"),
        ("'auth_token' => 'ruby-hash-secret',", "ruby-hash-secret", "token"),
        ('secretKey := "go-secret"', "go-secret", "secret"),
        ('if token == "magic-42":', "magic-42", "token"),
    ],
)
def test_each_secret_kind_is_redacted(text: str, secret: str, kind: str) -> None:
    out = redact(text)
    assert secret not in out
    assert placeholder(kind) in out


def test_private_key_block_is_redacted_keeping_every_line() -> None:
    text = "\n".join(["key = '''", PEM_BEGIN, *PEM_BODY, PEM_END, "'''", "after = 1"])
    out = redact(text)

    assert all(line not in out for line in PEM_BODY)
    assert placeholder("private-key") in out
    assert out.count("\n") == text.count("\n")
    assert out.splitlines()[0] == "key = '''"
    assert out.splitlines()[-1] == "after = 1"
    # The markers stay, so the model still knows a key was there.
    assert PEM_BEGIN in out and PEM_END in out
    assert out.splitlines().index(PEM_END) == text.splitlines().index(PEM_END)


def test_private_key_without_end_marker_is_redacted_to_the_end() -> None:
    text = "\n".join([PEM_BEGIN, *PEM_BODY])
    out = redact(text)
    assert all(line not in out for line in PEM_BODY)
    assert out.count("\n") == text.count("\n")


def test_private_key_in_one_line_string_literal() -> None:
    text = f'KEY = "{PEM_BEGIN}\\n{PEM_BODY[0]}\\n{PEM_END}\\n"'
    out = redact(text)
    assert PEM_BODY[0] not in out
    assert "\n" not in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "DATABASE_URL = 'postgres://admin:" + "pa55word" + "@db.example.com:5432/app'",
            "DATABASE_URL = 'postgres://admin:«redacted:password»@db.example.com:5432/app'",
        ),
        (
            "url: redis://:" + "topsecret" + "@cache:6379/0",
            "url: redis://:«redacted:password»@cache:6379/0",
        ),
        (
            "mongodb+srv://app:" + "p@ss:w0rd" + "@cluster0.example.net/db",
            "mongodb+srv://app:«redacted:password»@cluster0.example.net/db",
        ),
    ],
)
def test_connection_string_keeps_user_and_host(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redaction_keeps_line_structure_of_a_whole_file() -> None:
    lines = [
        "import os",
        f'OPENAI_KEY = "{OPENAI_KEY}"',
        "",
        "def connect():",
        f"    return db.connect('mysql://root:{'toor' + '99'}@localhost/app')",
        f"    # token {GITHUB_CLASSIC}",
        PEM_BEGIN,
        *PEM_BODY,
        PEM_END,
        f"AWS = ['{AWS_KEY_ID}', '{GOOGLE_KEY}']",
        "x = 1  # ünïcödé ✓ 🙂",
    ]
    text = "\n".join(lines) + "\n"
    out = redact(text)
    assert out.count("\n") == text.count("\n")
    assert len(out.splitlines()) == len(text.splitlines())
    for secret in (OPENAI_KEY, GITHUB_CLASSIC, AWS_KEY_ID, GOOGLE_KEY, "toor99", *PEM_BODY):
        assert secret not in out
    assert out.splitlines()[0] == "import os"
    assert out.splitlines()[-1] == "x = 1  # ünïcödé ✓ 🙂"


def test_crlf_line_endings_are_kept() -> None:
    text = f'password = "abc-123"\r\nname = "x"\r\n{PEM_BEGIN}\r\n{PEM_BODY[0]}\r\n{PEM_END}\r\n'
    out = redact(text)
    assert out.count("\r\n") == text.count("\r\n")
    assert "abc-123" not in out and PEM_BODY[0] not in out


NOT_SECRETS = [
    "password_field = form.password",
    "def login(password: str, token: str | None = None) -> None:",
    "if password == other_password:",
    "password = get_password()",
    "password = os.environ['DB_PASSWORD']",
    "self.password = password",
    "token = None",
    "max_tokens = 100",
    "tokenizer = 'gpt2'",
    'token_url = "https://example.com/oauth/token"',
    'password_label = "Password"',
    "sorted(items, key=lambda x: x)",
    "cache_key = 'abc'",
    "secret = ${VAULT_SECRET}",
    'password = ""',
    "PWD=/home/user",
    "Bearer authentication is required",
    "Returns the token generated by the server.",
    "def parse(self) -> Token: ...",
    "https://user@example.com/path",
    "http://localhost:8000/v1",
    "sk-learn-style-component-name",
    "task-runner-configuration-key-name",
    "for key, value in mapping.items():",
    "bypass = True",
    "compass = 'north'",
    'AUTH_HEADER = "X-Api-Key"',
]


def test_ordinary_code_is_untouched() -> None:
    text = "\n".join(NOT_SECRETS)
    assert redact(text) == text


def test_redaction_is_idempotent() -> None:
    text = f'token = "{OPENAI_KEY}"\nDB=postgres://u:{"pw" + "1"}@h/db\npassword: "x-1"\n'
    once = redact(text)
    assert redact(once) == once


def test_large_text_is_redacted_completely() -> None:
    block = "def f(x):\n    return x + 1\n" * 50 + f'API_KEY = "{OPENAI_KEY}"\n'
    text = block * 200  # about 0.3 MB
    out = redact(text)
    assert OPENAI_KEY not in out
    assert out.count(placeholder("openai-key")) == 200
    assert out.count("\n") == text.count("\n")


def test_privacy_redact_honours_the_setting() -> None:
    text = f'key = "{OPENAI_KEY}"'
    assert OPENAI_KEY not in _privacy(None).redact(text)
    assert _privacy(None, redactSecrets=False).redact(text) == text


# ---- exclusion ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rel",
    [
        ".env",
        ".env.local",
        "config/.env.production",
        "certs/server.pem",
        "deploy/keys/prod.KEY",
        "app/secrets/db.yaml",
        "secrets/top.txt",
        "a/b/secrets/c/d.py",
        "home/.ssh/config",
        "id_rsa.pub",
    ],
)
def test_default_exclude_globs(tmp_path: Path, rel: str) -> None:
    reason = _privacy(tmp_path).excluded(tmp_path / rel)
    assert reason is not None
    assert rel in reason
    assert "privacy.exclude" in reason


@pytest.mark.parametrize(
    "rel", ["src/app.py", "environment.py", "docs/secrets.md", "keyboard.py", "env/main.py"]
)
def test_ordinary_files_are_not_excluded(tmp_path: Path, rel: str) -> None:
    assert _privacy(tmp_path).excluded(tmp_path / rel) is None


def test_custom_globs_with_double_star_braces_and_folders(tmp_path: Path) -> None:
    privacy = _privacy(
        tmp_path, exclude=["generated/**/*.py", "*.{crt,der}", "vendor", "data/*.csv"]
    )
    assert privacy.excluded(tmp_path / "generated" / "a" / "b" / "x.py") is not None
    assert privacy.excluded(tmp_path / "generated" / "x.py") is not None
    assert privacy.excluded(tmp_path / "pki" / "root.der") is not None
    assert privacy.excluded(tmp_path / "vendor" / "lib" / "mod.py") is not None
    assert privacy.excluded(tmp_path / "data" / "rows.csv") is not None
    # `*` does not cross folders, and patterns with a folder are anchored at the root.
    assert privacy.excluded(tmp_path / "data" / "old" / "rows.csv") is None
    assert privacy.excluded(tmp_path / "src" / "generated.py") is None
    # The defaults are replaced by a custom list.
    assert privacy.excluded(tmp_path / ".env") is None


def test_relative_paths_uris_and_files_outside_the_root(tmp_path: Path) -> None:
    privacy = _privacy(tmp_path)
    assert privacy.excluded("app/secrets/x.txt") is not None
    assert privacy.excluded((tmp_path / ".env.local").as_uri()) is not None
    assert privacy.excluded((tmp_path / "src" / "ok.py").as_uri()) is None
    # Outside the workspace the globs still apply to the whole path.
    assert privacy.excluded("/elsewhere/secrets/db.yaml") is not None
    assert privacy.excluded("/elsewhere/main.py") is None
    assert _privacy(None).excluded("/any/where/.env") is not None


def test_lspilotignore_is_read_and_re_read_when_it_changes(tmp_path: Path) -> None:
    privacy = _privacy(tmp_path)
    target = tmp_path / "build" / "gen.py"
    assert privacy.excluded(target) is None  # no ignore file yet

    ignore = tmp_path / IGNORE_FILE
    ignore.write_text("# generated code\n\nbuild/\n*.log\n!keep.log\n", encoding="utf-8")
    reason = privacy.excluded(target)
    assert reason == f"build/gen.py is listed in {IGNORE_FILE} (pattern `build/`)."
    assert privacy.excluded(tmp_path / "logs" / "x.log") is not None
    assert privacy.excluded(tmp_path / "keep.log") is None
    assert privacy.excluded(tmp_path / "src" / "main.py") is None

    ignore.write_text("src/\n", encoding="utf-8")
    stat = ignore.stat()
    # Make the change visible even on file systems with coarse timestamps.
    os.utime(ignore, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    assert privacy.excluded(target) is None
    assert privacy.excluded(tmp_path / "src" / "main.py") is not None

    ignore.unlink()
    assert privacy.excluded(tmp_path / "src" / "main.py") is None


# ---- endpoints ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8000/v1",
        "http://gpu-box.lan/v1",
        "HTTP://api.example.com/v1",
        "http://0.0.0.0:8000/v1",
    ],
)
def test_plain_http_to_another_machine_warns(url: str) -> None:
    warning = endpoint_warning(url)
    assert warning is not None
    assert "http" in warning and "https" in warning


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "https://api.openai.com/v1",
        "https://10.0.0.5/v1",
        "http://localhost:11434",
        "http://127.0.0.1:8000/v1",
        "http://127.1.2.3/v1",
        "http://[::1]:8080/v1",
        "http://ollama.localhost/v1",
    ],
)
def test_https_and_loopback_do_not_warn(url: str | None) -> None:
    assert endpoint_warning(url) is None


def test_endpoint_warning_never_shows_credentials() -> None:
    password = "pw" + "-" + "123"
    warning = endpoint_warning(f"http://alice:{password}@models.example.com:8080/v1")
    assert warning is not None
    assert password not in warning and "alice" not in warning
    assert "models.example.com:8080" in warning


def test_server_privacy_trusts_the_ignore_file_for_recheck_s_and_remembers_answers(
    tmp_path: Path,
) -> None:
    """With `recheck_s`, requests and keystrokes neither stat the file nor match again."""
    now = [100.0]
    privacy = Privacy(PrivacySettings(), tmp_path, recheck_s=1.0, clock=lambda: now[0])
    target = tmp_path / "build" / "gen.py"
    assert privacy.excluded(target) is None
    ignore = tmp_path / IGNORE_FILE
    ignore.write_text("build/\n", encoding="utf-8")
    # Within the second: the answer remembered, the new file not looked at yet.
    now[0] += 0.5
    assert privacy.excluded(target) is None
    # After it: the file is read again and the remembered answers are dropped.
    now[0] += 0.6
    assert (
        privacy.excluded(target) == f"build/gen.py is listed in {IGNORE_FILE} (pattern `build/`)."
    )
    ignore.unlink()
    assert privacy.excluded(target) is not None  # still trusted
    privacy.invalidate()  # the client told us the file changed
    assert privacy.excluded(target) is None
