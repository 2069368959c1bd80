import json
import pickle

import pytest
from pydantic import BaseModel

from fastcrew import errors
from fastcrew._json import dumps
from fastcrew.limits.snapshot import RateLimitSnapshot, parse_duration
from fastcrew.llm.types import ChatDelta
from fastcrew.llm.wire import (
    MAX_ERROR_BODY,
    error_from_response,
    parse_completion,
    parse_stream_line,
    redact,
    redact_bytes,
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


# -- issue 20: the provider's own error kept, redacted ---------------------------------------


def test_error_keeps_status_error_object_body_and_request_id():
    body = dumps(
        {"error": {"message": "bad model", "type": "invalid_request_error", "param": "model",
                   "code": "model_not_found"}}
    )  # fmt: skip
    err = error_from_response(404, body, {"x-request-id": "req-42"}, None)
    assert (err.status, err.request_id, err.body) == (404, "req-42", body)
    assert err.error == {
        "message": "bad model",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
    assert str(err) == "LLM provider answered 404: bad model"


def test_error_object_is_none_for_a_non_json_body_and_the_body_is_bounded():
    err = error_from_response(502, b"<html>Bad gateway</html>", {}, None)
    assert (err.error, err.body) == (None, b"<html>Bad gateway</html>")
    huge = b"x" * (MAX_ERROR_BODY * 3)
    assert error_from_response(500, huge, {}, None).body == huge[:MAX_ERROR_BODY]
    assert error_from_response(400, b'{"error": "plain text"}', {}, None).error == {
        "message": "plain text"
    }


def test_an_echoed_real_looking_key_is_redacted_everywhere():
    key = "sk-proj-Zx81kLmQ0pRt5uVw9yAbCdEf"
    body = dumps(
        {
            "error": {
                "message": f"Incorrect API key provided: {key}. Bearer{key} key={key}x",
                "type": "invalid_request_error",
                "param": key,
                "code": "invalid_api_key",
            }
        }
    )
    err = error_from_response(401, body, {}, key)
    assert isinstance(err, errors.AuthenticationError)
    texts = [str(err), repr(err), repr(err.error), err.body.decode(), repr(pickle.dumps(err))]
    for text in texts:
        assert key not in text
        assert "Zx81kLmQ" not in text
    assert err.error["code"] == "invalid_api_key"
    assert err.error["message"].startswith("Incorrect API key provided: ***.")
    assert json.loads(err.body)["error"] == err.error


def test_a_short_key_is_redacted_only_as_a_whole_token():
    assert redact("please check your plan", "k") == "please check your plan"
    assert redact("key k is not valid; k.", "k") == "key *** is not valid; ***."
    assert redact("dev-key1 vs key1", "key1") == "dev-key1 vs ***"
    assert redact_bytes(b"please check k", "k") == b"please check ***"
    body = _err(message="please check your plan (key: k)")
    err = error_from_response(401, body, {}, "k")
    assert str(err) == "LLM provider answered 401: please check your plan (key: ***)"
    assert err.error["message"] == "please check your plan (key: ***)"
    assert b"check your plan (key: ***)" in err.body


def test_a_long_key_is_redacted_even_inside_a_word():
    key = "abcdefgh12345678"
    assert redact(f"token{key}suffix", key) == "token***suffix"
    assert redact_bytes(f"x{key}".encode(), key) == b"x***"
