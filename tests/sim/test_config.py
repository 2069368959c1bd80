"""``SimConfig``: defaults, validation, masking of the key, pickling, CLI round trip."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from fastcrew.sim import SimConfig

SECRET = "sk-secret-0123456789abcdef"


def test_defaults() -> None:
    config = SimConfig()
    assert (config.host, config.port, config.seed, config.completion_tokens) == (
        "127.0.0.1",
        0,
        0,
        32,
    )
    assert config.rpm is None
    assert config.tpm is None
    assert config.limit_window_s == 60
    assert config.to_cli_args() == []


def test_repr_masks_the_key_and_pickles() -> None:
    config = SimConfig(api_key=SECRET, rpm=5)
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert "api_key='***'" in repr(config)
    assert "api_key=None" in repr(SimConfig())
    clone = pickle.loads(pickle.dumps(config))
    assert clone == config
    assert clone.api_key == SECRET


def test_cli_args_round_trip_without_the_key() -> None:
    config = SimConfig(api_key=SECRET, rpm=5, fail_rate=0.25, model_name="m", latency_ms=3.5)
    args = config.to_cli_args()
    assert SECRET not in " ".join(args)
    assert args == ["--latency-ms", "3.5", "--rpm", "5", "--fail-rate", "0.25", "--model-name", "m"]
    tools = SimConfig(
        tool_rounds=3, parallel_calls=1, malformed_args_rate=0.5, tool_support="reject"
    )
    assert tools.to_cli_args() == [
        "--tool-rounds",
        "3",
        "--parallel-calls",
        "1",
        "--malformed-args-rate",
        "0.5",
        "--tool-support",
        "reject",
    ]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"host": "0.0.0.0"}, "not a loopback"),
        ({"host": "example.com"}, "not a loopback"),
        ({"fail_rate": 1.5}, "fail_rate must be in"),
        ({"stall_rate": -0.1}, "stall_rate must be in"),
        ({"fail_rate": 0.6, "reset_rate": 0.6}, "must be <= 1"),
        ({"rpm": 0}, "rpm must be >= 1"),
        ({"limit_window_s": 0}, "limit_window_s"),
        ({"completion_tokens": 0}, "completion_tokens"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"port": 70000}, "port"),
        ({"tool_rounds": -1}, "tool_rounds must be >= 0"),
        ({"parallel_calls": 0}, "parallel_calls must be >= 1"),
        ({"malformed_args_rate": 1.1}, "malformed_args_rate must be in"),
        ({"tool_support": "maybe"}, "tool_support must be one of native, reject"),
    ],
)
def test_invalid_options(options: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        SimConfig(**options)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "localhost", "[::1]"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert SimConfig(host=host).host == host


def test_importing_the_package_does_not_import_aiohttp() -> None:
    code = "import sys, fastcrew.sim; print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
