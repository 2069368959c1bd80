import pytest
from pydantic import BaseModel

from fastcrew import errors
from fastcrew._json import dumps
from fastcrew.limits.snapshot import RateLimitSnapshot, parse_duration
from fastcrew.llm.types import ChatDelta
from fastcrew.llm.wire import (
    error_from_response,
    parse_completion,
    parse_stream_line,
    redact,
    response_format_to_wire,
)


def _err(message="boom", type_=None, code=None):
    return dumps({"error": {"message": message, "type": type_, "code": code, "param": None}})


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.AuthenticationError),
        (404, errors.BadRequestError),
        (408, errors.LLMTimeoutError),
        (422, errors.BadRequestError),
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (503, errors.ServerError),
    ],
)
def test_status_maps_to_one_error_class(status, cls):
    err = error_from_response(status, _err(), {"x-request-id": "req-1"}, None)
    assert type(err) is cls
    assert err.status == status
    assert err.request_id == "req-1"
    assert "boom" in str(err)


def test_quota_is_not_a_rate_limit():
    err = error_from_response(429, _err(type_="insufficient_quota"), {}, None)
    assert isinstance(err, errors.QuotaExhaustedError)
    assert not isinstance(err, errors.RateLimitError)
    assert not err.retryable


def test_rate_limit_carries_retry_after_and_limit_kind():
    headers = {"retry-after": "3", "retry-after-ms": "1250"}
    err = error_from_response(429, _err(type_="tokens"), headers, None)
    assert isinstance(err, errors.RateLimitError)
    assert err.retry_after == pytest.approx(1.25)
    assert err.limit == "tokens"
    err = error_from_response(429, b"", {"retry-after": "2"}, None)
    assert err.retry_after == 2.0
    assert err.limit is None


def test_request_too_large_is_not_a_retryable_rate_limit():
    body = _err(message="Request too large for m on tokens per min (TPM): Limit 10", type_="tokens")
    err = error_from_response(429, body, {}, None)
    assert type(err) is errors.BadRequestError
    assert not err.retryable


def test_rate_limit_kind_inferred_from_headers():
    headers = {"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "0"}
    err = error_from_response(429, b"{}", headers, None)
    assert err.limit == "requests"


def test_non_json_error_bodies_still_give_a_message():
    err = error_from_response(502, b"<html>Bad gateway</html>", {}, None)
    assert isinstance(err, errors.ServerError)
    assert "Bad gateway" in str(err)


def test_error_messages_never_contain_the_key():
    key = "sk-proj-abcdefghijklmnop1234"
    body = _err(message=f"Incorrect API key provided: {key}")
    err = error_from_response(401, body, {}, key)
    assert key not in str(err)
    assert "sk-proj" not in redact(f"key={key[:-2]}", None)


def test_errors_survive_pickling():
    import pickle

    err = error_from_response(429, _err(type_="requests"), {"retry-after-ms": "500"}, None)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is errors.RateLimitError
    assert (again.retry_after, again.limit, again.status) == (0.5, "requests", 429)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1.5s", 1.5), ("1h2m3s", 3723.0), ("2", 2.0)],
)
def test_reset_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


def test_unparseable_durations_are_none():
    assert parse_duration("soon") is None
    assert parse_duration("") is None


def test_rate_limit_snapshot_from_headers():
    snap = RateLimitSnapshot.from_headers(
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "59",
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-limit-tokens": "1000",
            "x-ratelimit-remaining-tokens": "900",
            "x-ratelimit-reset-tokens": "6m0s",
        }
    )
    assert snap.present
    assert (snap.limit_requests, snap.remaining_requests, snap.reset_requests) == (60, 59, 1.0)
    assert (snap.limit_tokens, snap.remaining_tokens, snap.reset_tokens) == (1000, 900, 360.0)
    assert not RateLimitSnapshot.from_headers({}).present


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"choices": []}', b'{"choices": [{"message": {"content": 3}}]}', b"[]"],
)
def test_malformed_bodies(body):
    with pytest.raises(errors.MalformedResponseError):
        parse_completion(body, {})


def test_stream_lines():
    chunk = b'data: {"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}\n'
    assert parse_stream_line(chunk, None) == ChatDelta("Hi")
    assert parse_stream_line(b"\n", None) is None
    assert parse_stream_line(b": keep-alive\n", None) is None
    assert parse_stream_line(b"data: [DONE]\n", None) is True
    usage = parse_stream_line(b'data: {"choices":[],"usage":{"prompt_tokens":2}}', None)
    assert usage.usage.prompt_tokens == 2
    with pytest.raises(errors.MalformedResponseError):
        parse_stream_line(b"data: {oops", None)


def test_pydantic_response_format_becomes_json_schema():
    class Answer(BaseModel):
        text: str

    wire = response_format_to_wire(Answer)
    assert wire["type"] == "json_schema"
    assert wire["json_schema"]["name"] == "Answer"
    assert wire["json_schema"]["schema"]["properties"]["text"]["type"] == "string"
    assert response_format_to_wire({"type": "json_object"}) == {"type": "json_object"}
    with pytest.raises(TypeError):
        response_format_to_wire(42)
