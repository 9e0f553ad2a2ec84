"""Test doubles that run for real: an OpenAI-compatible HTTP model server."""

from tests.fakes.model_server import FakeModelServer, RecordedRequest, Reply

__all__ = ["FakeModelServer", "RecordedRequest", "Reply"]
