"""Settings loading: sources and their order, per-key recovery, problems, the JSON schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from lspilot import model
from lspilot.assistant import tasks
from lspilot.settings import (
    SOURCE_CLIENT,
    SOURCE_DEFAULT,
    SOURCE_ENVIRONMENT,
    SOURCE_INIT_OPTIONS,
    SOURCE_LSPILOT_TOML,
    SOURCE_PYPROJECT,
    DocstringStyle,
    Settings,
    SettingsProblem,
    Severity,
    load_settings,
    settings_json_schema,
)

# Built at run time so no fixture looks like a real key.
FAKE_KEY = "sk-" + "proj" + "A1" * 20


def _write(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text, encoding="utf-8")


def test_defaults_when_nothing_is_configured(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path, environ={})
    assert loaded.settings == Settings()
    assert loaded.problems == []
    assert set(loaded.sources.values()) == {SOURCE_DEFAULT}
    assert loaded.sources["hover.timeoutMs"] == SOURCE_DEFAULT
    assert loaded.sources["privacy.exclude"] == SOURCE_DEFAULT


def test_no_root_reads_no_files() -> None:
    loaded = load_settings(None, environ={"LSPILOT_MODEL": "m"})
    assert loaded.settings.model == "m"
    assert loaded.problems == []


def test_each_later_source_wins_and_sources_says_who(tmp_path: Path) -> None:
    # Every source sets `model`; each source also sets one key that only it sets, and one
    # key that the next source overrides.
    _write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.lspilot]\nmodel = "from-pyproject"\n'
        "temperature = 0.5\nmaxOutputTokens = 100\n",
    )
    _write(
        tmp_path,
        ".lspilot.toml",
        'model = "from-lspilot-toml"\nmax_output_tokens = 200\nrequest_timeout_ms = 1000\n',
    )
    environ = {
        "LSPILOT_MODEL": "from-env",
        "LSPILOT_REQUEST_TIMEOUT_MS": "2000",
        "LSPILOT_OLLAMA_MODEL": "env-ollama",
    }
    init_options = {"model": "from-init", "ollamaModel": "init-ollama", "logLevel": "debug"}
    client_config = {"model": "from-client", "log_level": "warning"}

    loaded = load_settings(
        tmp_path, init_options=init_options, client_config=client_config, environ=environ
    )

    s = loaded.settings
    assert loaded.problems == []
    assert (s.model, s.temperature, s.max_output_tokens) == ("from-client", 0.5, 200)
    assert (s.request_timeout_ms, s.ollama_model, s.log_level) == (2000, "init-ollama", "warning")
    assert {k: v for k, v in loaded.sources.items() if v != SOURCE_DEFAULT} == {
        "model": SOURCE_CLIENT,
        "temperature": SOURCE_PYPROJECT,
        "maxOutputTokens": SOURCE_LSPILOT_TOML,
        "requestTimeoutMs": SOURCE_ENVIRONMENT,
        "ollamaModel": SOURCE_INIT_OPTIONS,
        "logLevel": SOURCE_CLIENT,
    }


def test_camel_and_snake_case_nested_and_dotted_keys(tmp_path: Path) -> None:
    _write(
        tmp_path,
        ".lspilot.toml",
        '[hover]\ntimeout_ms = 1234\n\n[codeActions]\ndocstringStyle = "numpy"\n',
    )
    loaded = load_settings(
        tmp_path,
        environ={},
        init_options={"diagnostics.idleMs": 700, "code_actions": {"enabled": False}},
        client_config={"limits": {"max_concurrent": 2, "requestsPerMinute": 30}},
    )
    s = loaded.settings
    assert loaded.problems == []
    assert s.hover.timeout_ms == 1234
    assert s.code_actions.docstring_style == "numpy"
    assert s.code_actions.enabled is False
    assert s.diagnostics.idle_ms == 700
    assert (s.limits.max_concurrent, s.limits.requests_per_minute) == (2, 30)
    assert loaded.sources["diagnostics.idleMs"] == SOURCE_INIT_OPTIONS
    assert loaded.sources["limits.maxConcurrent"] == SOURCE_CLIENT


def test_a_bad_value_costs_only_its_own_key(tmp_path: Path) -> None:
    _write(tmp_path, ".lspilot.toml", "[hover]\ntimeoutMs = -5\nenabled = false\n")
    loaded = load_settings(tmp_path, environ={})

    assert loaded.settings.hover.timeout_ms == 4000
    assert loaded.settings.hover.enabled is False  # same source, same section, still applied
    assert loaded.sources["hover.enabled"] == SOURCE_LSPILOT_TOML
    assert loaded.sources["hover.timeoutMs"] == SOURCE_DEFAULT
    assert len(loaded.problems) == 1
    problem = loaded.problems[0]
    assert (problem.key, problem.source) == ("hover.timeoutMs", SOURCE_LSPILOT_TOML)
    assert "`hover.timeoutMs`" in problem.message
    assert "-5" in problem.message
    assert "the default 4000" in problem.message
    assert str(tmp_path / ".lspilot.toml") in problem.message


def test_a_bad_value_keeps_what_an_earlier_source_set(tmp_path: Path) -> None:
    _write(tmp_path, ".lspilot.toml", "[hover]\ntimeoutMs = 2500\n")
    loaded = load_settings(tmp_path, environ={}, client_config={"hover": {"timeoutMs": "soon"}})

    assert loaded.settings.hover.timeout_ms == 2500
    assert loaded.sources["hover.timeoutMs"] == SOURCE_LSPILOT_TOML
    assert [(p.key, p.source) for p in loaded.problems] == [("hover.timeoutMs", SOURCE_CLIENT)]
    assert "2500 from .lspilot.toml" in loaded.problems[0].message
    assert '"soon"' in loaded.problems[0].message


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"provider": "gpt"}, "provider"),
        ({"temperature": 9}, "temperature"),
        ({"temperature": True}, "temperature"),  # pydantic alone would read true as 1
        ({"diagnostics": {"triggers": ["open", "typing"]}}, "diagnostics.triggers"),
        ({"diagnostics": {"severityFloor": "fatal"}}, "diagnostics.severityFloor"),
        ({"privacy": {"redactSecrets": "maybe"}}, "privacy.redactSecrets"),
        ({"limits": {"maxConcurrent": 0}}, "limits.maxConcurrent"),
    ],
)
def test_each_invalid_value_is_one_problem_and_the_default(
    options: dict[str, object], key: str
) -> None:
    loaded = load_settings(None, environ={}, init_options=options)
    assert loaded.settings == Settings()
    assert [(p.key, p.source) for p in loaded.problems] == [(key, SOURCE_INIT_OPTIONS)]
    assert f"`{key}`" in loaded.problems[0].message
    assert "using the default" in loaded.problems[0].message


def test_unknown_keys_are_reported_with_a_suggestion_and_ignored(tmp_path: Path) -> None:
    _write(tmp_path, ".lspilot.toml", 'modle = "x"\n[hover]\ntimout = 3\n')
    loaded = load_settings(tmp_path, environ={}, init_options={"timeoutMs": 10})

    assert loaded.settings == Settings()
    assert [(p.key, p.source) for p in loaded.problems] == [
        ("modle", SOURCE_LSPILOT_TOML),
        ("hover.timout", SOURCE_LSPILOT_TOML),
        ("timeoutMs", SOURCE_INIT_OPTIONS),
    ]
    messages = [p.message for p in loaded.problems]
    assert "unknown setting `modle`" in messages[0]
    assert "did you mean `model`?" in messages[0]
    assert "unknown setting `hover.timout`" in messages[1]
    assert "did you mean `hover.timeoutMs`?" in messages[1]
    assert "did you mean `hover.timeoutMs`?" in messages[2]  # right name, wrong section


def test_unknown_key_without_a_near_match_has_no_suggestion() -> None:
    loaded = load_settings(None, environ={}, client_config={"zzqx": 1})
    assert [p.key for p in loaded.problems] == ["zzqx"]
    assert "did you mean" not in loaded.problems[0].message


def test_api_key_in_a_workspace_file_is_ignored_and_never_echoed(tmp_path: Path) -> None:
    _write(tmp_path, ".lspilot.toml", f'apiKey = "{FAKE_KEY}"\nmodel = "m"\n')
    _write(tmp_path, "pyproject.toml", f'[tool.lspilot]\napi_key = "{FAKE_KEY}"\n')
    loaded = load_settings(tmp_path, environ={})

    assert loaded.settings.api_key is None
    assert loaded.settings.model == "m"
    assert [(p.key, p.source) for p in loaded.problems] == [
        ("apiKey", SOURCE_PYPROJECT),
        ("apiKey", SOURCE_LSPILOT_TOML),
    ]
    for problem in loaded.problems:
        assert problem.message.startswith("apiKey is read from the environment only")
        assert FAKE_KEY not in problem.message
        assert "A1A1" not in problem.message


def test_api_key_on_the_wire_is_ignored_and_never_echoed() -> None:
    loaded = load_settings(
        None,
        environ={},
        init_options={"lspilot": {"apiKey": FAKE_KEY}},
        client_config={"api_key": FAKE_KEY},
    )
    assert loaded.settings.api_key is None
    assert [(p.key, p.source) for p in loaded.problems] == [
        ("apiKey", SOURCE_INIT_OPTIONS),
        ("apiKey", SOURCE_CLIENT),
    ]
    assert all(FAKE_KEY not in p.message for p in loaded.problems)
    assert loaded.sources["apiKey"] == SOURCE_DEFAULT


def test_toml_syntax_error_is_one_problem_and_other_sources_apply(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", '[tool.lspilot]\nmodel = "from-pyproject"\n')
    _write(tmp_path, ".lspilot.toml", 'model = "ok"\n\nhover = {timeoutMs = \n')
    loaded = load_settings(tmp_path, environ={"LSPILOT_HOVER__ENABLED": "false"})

    assert loaded.settings.model == "from-pyproject"  # nothing of the broken file applied
    assert loaded.settings.hover.enabled is False
    assert len(loaded.problems) == 1
    problem = loaded.problems[0]
    assert (problem.key, problem.source) == ("", SOURCE_LSPILOT_TOML)
    assert str(tmp_path / ".lspilot.toml") in problem.message
    assert "line 3" in problem.message


def test_pyproject_without_a_tool_lspilot_table_is_fine(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 1\n')
    loaded = load_settings(tmp_path, environ={})
    assert loaded.problems == []
    assert loaded.settings == Settings()


def test_environment_nested_list_and_bool_values() -> None:
    environ = {
        "LSPILOT_PROVIDER": "openai",
        "LSPILOT_MODEL": "env-model",
        "LSPILOT_HOVER__TIMEOUT_MS": "2000",
        "LSPILOT_HOVER__ENABLED": "0",
        "LSPILOT_DIAGNOSTICS__TRIGGERS": "open, save",
        "LSPILOT_DIAGNOSTICS__MISSING_DOCSTRINGS": "true",
        "LSPILOT_CACHE__ENABLED": "false",
        "LSPILOT_PRIVACY__EXCLUDE": '["*.secret", "private/**"]',
        "LSPILOT_MODELS__REVIEW": "small-model",
        "LSPILOT_LIMITS__BREAKER_COOLDOWN_S": "2.5",
        "LSPILOT_CODE_ACTIONS__ENABLED": "1",
    }
    loaded = load_settings(None, environ=environ)
    s = loaded.settings

    assert loaded.problems == []
    assert (s.provider, s.model) == ("openai", "env-model")
    assert (s.hover.timeout_ms, s.hover.enabled) == (2000, False)
    assert s.diagnostics.triggers == ["open", "save"]
    assert s.diagnostics.missing_docstrings is True
    assert s.cache.enabled is False
    assert s.privacy.exclude == ["*.secret", "private/**"]
    assert s.model_for("review") == "small-model"
    assert s.limits.breaker_cooldown_s == 2.5
    assert s.code_actions.enabled is True
    assert loaded.sources["diagnostics.triggers"] == SOURCE_ENVIRONMENT
    assert loaded.sources["codeActions.enabled"] == SOURCE_ENVIRONMENT


def test_environment_api_key_and_base_url_precedence() -> None:
    other = "sk-" + "other" + "B2" * 20
    loaded = load_settings(
        None,
        environ={
            "OPENAI_API_KEY": other,
            "LSPILOT_API_KEY": FAKE_KEY,
            "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
            "LSPILOT_BASE_URL": "http://127.0.0.1:2/v1",
        },
    )
    assert loaded.settings.api_key is not None
    assert loaded.settings.api_key.get_secret_value() == FAKE_KEY
    assert loaded.settings.base_url == "http://127.0.0.1:2/v1"
    assert loaded.sources["apiKey"] == SOURCE_ENVIRONMENT
    assert loaded.sources["baseUrl"] == SOURCE_ENVIRONMENT

    only_openai = load_settings(
        None, environ={"OPENAI_API_KEY": other, "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}
    )
    assert only_openai.settings.api_key is not None
    assert only_openai.settings.api_key.get_secret_value() == other
    assert only_openai.settings.base_url == "http://127.0.0.1:1/v1"
    assert FAKE_KEY not in repr(loaded.settings)


def test_environment_bad_value_names_the_variable() -> None:
    loaded = load_settings(
        None, environ={"LSPILOT_HOVER__TIMEOUT_MS": "fast", "LSPILOT_MODEL": "still-applied"}
    )
    assert loaded.settings.model == "still-applied"
    assert loaded.settings.hover.timeout_ms == 4000
    assert [(p.key, p.source) for p in loaded.problems] == [("hover.timeoutMs", SOURCE_ENVIRONMENT)]
    assert "LSPILOT_HOVER__TIMEOUT_MS" in loaded.problems[0].message
    assert '"fast"' in loaded.problems[0].message


def test_environment_typos_are_reported_but_foreign_variables_are_not() -> None:
    loaded = load_settings(
        None,
        environ={
            "LSPILOT_MODLE": "x",
            "LSPILOT_SOME_TOOL_FLAG": "1",  # may belong to a wrapper script: not ours to judge
            "PATH": "/usr/bin",
            "LSPILOT_HOVER__TIMOUT_MS": "5",
        },
    )
    assert loaded.settings == Settings()
    assert [p.key for p in loaded.problems] == ["hover.timout_ms", "modle"]
    assert "did you mean LSPILOT_HOVER__TIMEOUT_MS?" in loaded.problems[0].message
    assert "did you mean LSPILOT_MODEL?" in loaded.problems[1].message


def test_empty_environment_values_mean_unset() -> None:
    loaded = load_settings(None, environ={"OPENAI_BASE_URL": "", "LSPILOT_MODEL": ""})
    assert loaded.settings == Settings()
    assert loaded.problems == []


def test_init_options_wrapper_and_plain_mapping() -> None:
    wrapped = load_settings(None, environ={}, init_options={"lspilot": {"model": "wrapped"}})
    plain = load_settings(None, environ={}, init_options={"model": "plain"})
    client = load_settings(None, environ={}, client_config={"lspilot": {"hover.enabled": False}})

    assert (wrapped.settings.model, wrapped.problems) == ("wrapped", [])
    assert (plain.settings.model, plain.problems) == ("plain", [])
    assert (client.settings.hover.enabled, client.problems) == (False, [])
    assert wrapped.sources["model"] == SOURCE_INIT_OPTIONS


def test_null_from_the_client_does_not_wipe_a_file_value(tmp_path: Path) -> None:
    # Editors send null for settings the user left alone.
    _write(tmp_path, ".lspilot.toml", 'model = "from-file"\n')
    loaded = load_settings(
        tmp_path, environ={}, client_config={"model": None, "hover": {"timeoutMs": None}}
    )
    assert loaded.settings.model == "from-file"
    assert loaded.settings.hover.timeout_ms == 4000
    assert loaded.problems == []


def test_wrong_shapes_never_raise(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", "[tool]\nlspilot = 3\n")
    loaded = load_settings(
        tmp_path,
        environ={"LSPILOT_HOVER": "not json"},
        init_options=["not", "a", "mapping"],  # type: ignore[arg-type]
        client_config={"hover": 5, 7: "x"},  # type: ignore[dict-item]
    )
    assert loaded.settings == Settings()
    assert [(p.key, p.source) for p in loaded.problems] == [
        ("", SOURCE_PYPROJECT),
        ("hover", SOURCE_ENVIRONMENT),
        ("", SOURCE_INIT_OPTIONS),
        ("hover", SOURCE_CLIENT),
        ("", SOURCE_CLIENT),
    ]
    assert all(p.message for p in loaded.problems)


def test_list_setting_accepts_a_comma_string_anywhere(tmp_path: Path) -> None:
    _write(tmp_path, ".lspilot.toml", '[diagnostics]\ntriggers = "save"\n')
    loaded = load_settings(tmp_path, environ={})
    assert loaded.settings.diagnostics.triggers == ["save"]
    assert loaded.problems == []


def test_problems_compare_equal_so_the_server_can_skip_repeats(tmp_path: Path) -> None:
    _write(tmp_path, ".lspilot.toml", "temperature = 7\n")
    first = load_settings(tmp_path, environ={}).problems
    second = load_settings(tmp_path, environ={}).problems
    assert first == second
    assert isinstance(first[0], SettingsProblem)


def test_json_schema_is_camel_case_with_defaults_and_no_api_key() -> None:
    schema = settings_json_schema()
    props = schema["properties"]

    assert "apiKey" not in props and "api_key" not in props
    assert "$defs" not in schema
    assert props["provider"]["default"] == "auto"
    assert props["provider"]["enum"] == ["auto", "openai", "ollama", "offline"]
    assert props["provider"]["description"].startswith("Engine: auto")
    hover = props["hover"]["properties"]["timeoutMs"]
    assert (hover["default"], hover["minimum"], hover["maximum"]) == (4000, 0, 120_000)
    assert props["diagnostics"]["properties"]["triggers"]["default"] == ["open", "save", "idle"]
    assert props["codeActions"]["default"] == {
        "enabled": True,
        "docstringStyle": "google",
        "cDocStyle": "block",
    }
    assert "**/secrets/**" in props["privacy"]["properties"]["exclude"]["default"]
    assert "description" in props["privacy"]["properties"]["redactSecrets"]


def test_json_schema_validates_the_defaults() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    defaults = Settings().model_dump(by_alias=True, mode="json")
    jsonschema.validate(defaults, settings_json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**defaults, "apiKey": "x"}, settings_json_schema())


def test_settings_and_tasks_share_one_definition_of_the_literals() -> None:
    assert DocstringStyle is tasks.DocstringStyle is model.DocstringStyle
    assert Severity is tasks.Severity is model.Severity


def test_an_empty_lua_table_is_no_settings(tmp_path: Path) -> None:
    # Neovim sends `settings = { lspilot = {} }` as {"lspilot": []}.
    for options in ([], {"lspilot": []}):
        loaded = load_settings(tmp_path, init_options=options, client_config=options, environ={})
        assert loaded.problems == []
        assert loaded.settings == Settings()


def test_usage_prices_from_the_environment_as_json_and_from_a_workspace_file(
    tmp_path: Path,
) -> None:
    env = load_settings(None, environ={"LSPILOT_USAGE__PRICES": '{"my-model": [0.5, 1.5]}'})
    assert env.problems == []
    assert env.settings.usage.prices == {"my-model": (0.5, 1.5)}

    unreadable = load_settings(None, environ={"LSPILOT_USAGE__PRICES": "my-model=0.5"})
    assert unreadable.settings.usage.prices == {}
    [problem] = unreadable.problems
    assert "LSPILOT_USAGE__PRICES" in problem.message

    _write(tmp_path, ".lspilot.toml", '[usage.prices]\n"my-model" = [2.0, 4.0]\n')
    workspace = load_settings(tmp_path, environ={})
    assert workspace.problems == []
    assert workspace.settings.usage.prices == {"my-model": (2.0, 4.0)}
