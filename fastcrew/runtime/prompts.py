"""The words fastcrew sends to the model (our own wording, kept in one place)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CONTEXT_SEPARATOR",
    "agent_system_prompt",
    "guardrail_check_prompt",
    "guardrail_retry_prompt",
    "join_context",
    "knowledge_query_messages",
    "memory_block",
    "repair_prompt",
    "task_prompt",
]

CONTEXT_SEPARATOR = "\n\n---\n\n"


def agent_system_prompt(role: str, goal: str, backstory: str) -> str:
    """Who the agent is: role, background and goal."""
    return f"You are {role}.\n{backstory}\n\nYour goal: {goal}"


def join_context(raws: Sequence[str]) -> str:
    """Earlier answers handed to a task, oldest first."""
    return CONTEXT_SEPARATOR.join(raws)


def task_prompt(
    description: str,
    expected_output: str,
    context: str,
    *,
    markdown: bool = False,
    structured: str | None = None,
) -> str:
    """The user message of a task: what to do, what to deliver, what came before."""
    lines = [
        description,
        "",
        f"Deliver: {expected_output}",
        "Reply with the complete answer itself, not a plan or a summary of it.",
    ]
    if markdown:
        lines.append("Format the answer in Markdown.")
    if structured:
        lines.append(f"Reply with JSON only, matching the {structured} schema.")
    if context:
        lines += ["", "Results from earlier work you can use:", "", context]
    return "\n".join(lines)


KNOWLEDGE_QUERY_SYSTEM = (
    "Turn the task below into one search query for a vector database of reference "
    "documents. Keep the words that name what the task is about and drop instructions about "
    "the answer's format, length or structure. Reply with the query alone: no preamble, no "
    "quotes, no explanation."
)


def knowledge_query_messages(prompt: str) -> list[dict[str, str]]:
    """Asks the agent's model for a knowledge search query from a task prompt (as CrewAI
    does before it searches an agent's or a crew's knowledge)."""
    return [
        {"role": "system", "content": KNOWLEDGE_QUERY_SYSTEM},
        {"role": "user", "content": f"The task: {prompt}"},
    ]


def memory_block(memories: str) -> str:
    """What the task's recall found, appended to its prompt (CrewAI appends it too)."""
    return f"\n\n# Memories from past work:\n{memories}"


def kickoff_memory_block(memories: str) -> str:
    """What an ``Agent.kickoff``'s recall found, appended to the request (as CrewAI does,
    with a reminder that the selection may be incomplete)."""
    return (
        f"\n\n# Memories from past conversations:\n{memories}\n\n"
        "These memories were picked automatically and may be incomplete: to count, add up or "
        "list things, search with the Search memory tool, in several phrasings, first."
    )


def repair_prompt(model_name: str, errors: str) -> str:
    """Asks once more after a structured answer failed validation."""
    return (
        f"That reply is not a valid {model_name}:\n{errors}\nReply again with corrected JSON only."
    )


def guardrail_retry_prompt(feedback: str) -> str:
    """Asks for a new answer after the guardrail rejected one."""
    return (
        f"Your answer was not accepted: {feedback}\n"
        "Reply with a corrected, complete answer that fixes this."
    )


def guardrail_check_prompt(criteria: str, answer: str) -> str:
    """Asks a model whether an answer meets a plain-language guardrail."""
    return (
        "Check whether the answer below meets these criteria.\n\n"
        f"Criteria: {criteria}\n\nAnswer:\n{answer}\n\n"
        "Set valid to true when it does; otherwise set valid to false and say in feedback "
        "what must change."
    )
