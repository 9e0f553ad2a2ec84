"""The endpoint in the cache key: its normalized URL, or any endpoint when a team cache says
its URLs serve the same models (`cache.sharedAcrossUrls`)."""

from __future__ import annotations

from lspilot.assistant.cache import ANY_ENDPOINT, ResultCache, endpoint_identity, endpoint_key
from lspilot.assistant.tasks import ExplainInput, Task
from lspilot.settings import CacheSettings


def test_spellings_of_one_endpoint_are_one_identity() -> None:
    same = {
        endpoint_identity(url)
        for url in (
            "http://127.0.0.1:8080/v1",
            "http://127.0.0.1:8080/v1/",
            "HTTP://127.0.0.1:8080/v1",
            "http://user:pw@127.0.0.1:8080/v1",
        )
    }
    assert same == {"http://127.0.0.1:8080/v1"}
    assert endpoint_identity("https://API.openai.com:443/v1") == "https://api.openai.com/v1"
    assert endpoint_identity("http://[::1]:8080/v1") == "http://[::1]:8080/v1"
    assert endpoint_identity("http://127.0.0.1:8081/v1") != endpoint_identity(
        "http://127.0.0.1:8080/v1"
    )
    assert endpoint_identity("") == ""


def test_only_a_team_cache_may_share_across_urls() -> None:
    url = "http://gateway.example/v1"
    assert endpoint_key(url, CacheSettings()) == url
    assert endpoint_key(url, CacheSettings(shared_across_urls=True)) == url  # no team cache
    team = CacheSettings(shared_url="redis://127.0.0.1:6379/0", shared_across_urls=True)
    assert endpoint_key(url, team) == ANY_ENDPOINT
    assert endpoint_key(url, CacheSettings(shared_url="redis://127.0.0.1:6379/0")) == url


def test_the_endpoint_changes_the_key() -> None:
    request = ExplainInput(code="def f(): pass\n")

    def key(endpoint: str) -> str:
        return ResultCache.key("openai", "m", Task.EXPLAIN, "1", request, {}, endpoint)

    assert key("http://a/v1") != key("http://b/v1")
    assert key("http://a/v1") == key("http://a/v1")
