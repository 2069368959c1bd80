"""Azure OpenAI's deployment path on the OpenAI wire's pipeline.

``POST /openai/deployments/{deployment}/chat/completions?api-version=…``: the same steps and
answers as ``/v1/chat/completions``, with Azure's differences — ``api-version`` required
(400 ``BadRequest``), the key in ``api-key`` (or an Entra token in ``Authorization: Bearer``;
401 in Azure's ``{"error": {"code": "401", "message"}}``), the deployment standing for a
model (``azure_deployments``; an unknown one is 404 ``DeploymentNotFound``), content-filter
results on every answer, and two seeded content-filter faults: the prompt refused (400
``content_filter``, ``innererror.code: ResponsibleAIPolicyViolation``) or the answer cut
(200, ``finish_reason: "content_filter"``).
"""

from __future__ import annotations

import hmac
import random
from typing import Any, Literal

from aiohttp import web

from .._json import dumps, loads
from .answers import Answer, estimate_tokens
from .config import SimConfig

__all__ = ["AZURE_PATH", "AzureWire", "FilterHit"]

AZURE_PATH = "/openai/deployments/{deployment}/chat/completions"
FilterHit = Literal["prompt", "output"]
_CATEGORIES = ("hate", "self_harm", "sexual", "violence")
_BAD_KEY = dumps(
    {
        "error": {
            "code": "401",
            "message": "Access denied due to invalid subscription key or wrong API endpoint. "
            "Make sure to provide a valid key for an active subscription and use a correct "
            "regional API endpoint for your resource.",
        }
    }
)
_NO_VERSION = dumps(
    {"error": {"code": "BadRequest", "message": "Missing required query parameter: api-version"}}
)
_NO_DEPLOYMENT = dumps(
    {
        "error": {
            "code": "DeploymentNotFound",
            "message": "The API deployment for this resource does not exist. If you created "
            "the deployment within the last 5 minutes, please wait a moment and try again.",
        }
    }
)


def filter_results(flagged: str | None = None) -> dict[str, Any]:
    """A ``content_filter_results`` object; ``flagged`` names the category filtered (high)."""
    out: dict[str, Any] = {
        name: {"filtered": name == flagged, "severity": "high" if name == flagged else "safe"}
        for name in _CATEGORIES
    }
    out["jailbreak"] = {"filtered": False, "detected": False}
    return out


def prompt_refusal(digest_index: int) -> bytes:
    """The 400 body of a prompt refused by the content filter (Azure's documented shape)."""
    flagged = _CATEGORIES[digest_index % len(_CATEGORIES)]
    return dumps(
        {
            "error": {
                "message": "The response was filtered due to the prompt triggering Azure "
                "OpenAI's content management policy. Please modify your prompt and retry. To "
                "learn more about our content filtering policies please read our "
                "documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": filter_results(flagged),
                },
            }
        }
    )


class AzureWire:
    """Azure's checks, deployment → model map, content filter and body additions."""

    def __init__(self, config: SimConfig) -> None:
        self.deployments = config.deployments()
        self.model_name = config.model_name
        self.prompt_rate = config.content_filter_rate
        self.output_rate = config.content_filter_output_rate
        self.random = random.Random(f"{config.seed}:content_filter").random
        key = config.api_key
        self.key = None if key is None else key.encode()
        self.bearer = None if key is None else f"Bearer {key}".encode()

    def refuse(self, request: web.Request) -> tuple[int, bytes] | None:
        """``(status, body)`` when the request fails Azure's own checks, else None."""
        if self.key is not None and self.bearer is not None:
            key = request.headers.get("api-key")
            given = key if key is not None else request.headers.get("Authorization", "")
            expected = self.key if key is not None else self.bearer
            if not hmac.compare_digest(given.encode("utf-8", "replace"), expected):
                return 401, _BAD_KEY
        if not request.query.get("api-version"):
            return 400, _NO_VERSION
        deployment = request.match_info["deployment"]
        if self.deployments and deployment not in self.deployments:
            return 404, _NO_DEPLOYMENT
        return None

    def model(self, request: web.Request) -> str:
        """The model the deployment serves (the configured model name when unmapped)."""
        return self.deployments.get(request.match_info["deployment"], self.model_name)

    def roll(self) -> FilterHit | None:
        """The content filter's seeded verdict for one admitted request."""
        if self.prompt_rate <= 0 and self.output_rate <= 0:
            return None
        u = self.random()
        if u < self.prompt_rate:
            return "prompt"
        return "output" if u < self.prompt_rate + self.output_rate else None

    @staticmethod
    def cut(answers: list[Answer]) -> None:
        """The output filter: the first half of each text, ``finish_reason: content_filter``."""
        for answer in answers:
            if answer.content is not None:
                answer.content = answer.content[: len(answer.content) // 2]
                answer.completion_tokens = estimate_tokens(answer.content)
            answer.finish_reason = "content_filter"

    @staticmethod
    def body(raw: bytes, filtered: bool) -> bytes:
        """Add Azure's ``prompt_filter_results`` and each choice's ``content_filter_results``."""
        data = loads(raw)
        data["prompt_filter_results"] = [
            {"prompt_index": 0, "content_filter_results": filter_results()}
        ]
        for choice in data["choices"]:
            choice["content_filter_results"] = filter_results("violence" if filtered else None)
        return dumps(data)
