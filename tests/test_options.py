"""``fastcrew._options``: an option declared once is read the same way by the checks, the CLI
and ``--sim KEY=VALUE`` text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pytest
from click.testing import CliRunner

from fastcrew._options import check_options, declared, from_text, masked_repr, option
from fastcrew.batch.config import BatchConfig
from fastcrew.cli import main
from fastcrew.errors import ConfigurationError
from fastcrew.sim import SimConfig


@dataclass(frozen=True, kw_only=True)
class Example:
    name: str = option()
    count: int = option(1, ge=1)
    share: float = option(0.5, ge=0, le=1)
    wait: float | None = option(None, gt=0)
    mode: Literal["a", "b"] = option("a")
    on: bool | None = option(None)
    api_key: str | None = option(None)
    anything: Any = option(None, read="json")

    def __post_init__(self) -> None:
        check_options(self)


def test_types_choices_and_nullability_come_from_the_annotations():
    found = {d.name: d for d in declared(Example)}
    assert found["name"].required
    assert found["name"].kind is str
    assert (found["count"].kind, found["count"].nullable) == (int, False)
    assert (found["wait"].kind, found["wait"].nullable) == (float, True)
    assert found["mode"].choices == ("a", "b")
    assert (found["on"].kind, found["on"].nullable) == (bool, True)
    assert found["anything"].kind is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"count": 0}, "count must be >= 1, got 0"),
        ({"count": 2.5}, "count must be an integer, got 2.5"),
        ({"count": True}, "count must be an integer, got True"),
        ({"share": 1.5}, r"share must be in \[0, 1\], got 1.5"),
        ({"wait": 0}, "wait must be > 0, got 0"),
        ({"wait": "soon"}, "wait must be a float, got 'soon'"),
        ({"mode": "c"}, "mode must be one of a, b, got 'c'"),
        ({"name": 3}, "name must be a string, got 3"),
    ],
)
def test_a_bad_value_names_the_option(changes: dict[str, Any], message: str):
    with pytest.raises(ValueError, match=message):
        Example(**{"name": "x", **changes})


def test_good_values_pass_and_none_is_allowed_where_the_type_says_so():
    Example(name="x", count=3, share=1, wait=0.1, mode="b", on=False, anything=[1])
    with pytest.raises(ValueError, match="count must be an integer, got None"):
        Example(name="x", count=None)  # type: ignore[arg-type]


def test_text_values_follow_the_declared_type():
    found = {d.name: d for d in declared(Example)}
    assert from_text(found["count"], "7") == 7
    assert from_text(found["wait"], "none") is None
    assert from_text(found["on"], "yes") is True
    with pytest.raises(ValueError, match="count takes an integer"):
        from_text(found["count"], "seven")
    with pytest.raises(ValueError, match="on takes true or false"):
        from_text(found["on"], "maybe")


def test_the_repr_masks_the_key_and_a_mutable_default_is_refused():
    assert "api_key='***'" in masked_repr(Example(name="x", api_key="sk-secret"))
    assert "sk-secret" not in masked_repr(Example(name="x", api_key="sk-secret"))
    with pytest.raises(TypeError, match="mutable default"):
        option({})


def _edges() -> list[tuple[str, type, str, object, object]]:
    """(command, config, option, a value on the bound, a value just past it)."""
    edges = []
    for command, config in (("batch", BatchConfig), ("sim", SimConfig)):
        for d in declared(config):
            o = d.option
            if o.ge is not None:
                edges.append((command, config, d.name, o.ge, o.ge - 1))
            if o.gt is not None:
                edges.append((command, config, d.name, o.gt + 0.5, o.gt))
            if o.le is not None:
                edges.append((command, config, d.name, o.le, o.le + 1))
    return edges


@pytest.mark.parametrize(("command", "config", "name", "good", "bad"), _edges())
def test_the_command_line_and_the_config_accept_the_same_values(
    command: str, config: type, name: str, good: object, bad: object, monkeypatch
):
    """Both read one declaration: a value the config refuses, the flag refuses too."""
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr("fastcrew.batch.run_batch", lambda inputs, **kw: seen.append(kw))
    monkeypatch.setattr("fastcrew.sim.run", lambda config, **kw: seen.append({}))
    required = {"inputs": "in.jsonl"} if config is BatchConfig else {}
    kind = int if any(d.kind is int for d in declared(config) if d.name == name) else float
    # ping_timeout must stay >= 2 x ping_interval: keep the other one out of the way.
    extra: dict[str, float] = {
        "ping_interval": {"ping_timeout": 1000.0},
        "ping_timeout": {"ping_interval": 0.1},
    }.get(name, {})
    config(**required, **extra, **{name: kind(good)})
    with pytest.raises((ValueError, ConfigurationError), match=f"{name} must be"):
        config(**required, **extra, **{name: kind(bad)})
    args = [command, *(["in.jsonl"] if command == "batch" else [])]
    args += [f"--{name.replace('_', '-')}", str(kind(bad))]
    for other, value in extra.items():
        args += [f"--{other.replace('_', '-')}", str(value)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.output
    assert not seen
