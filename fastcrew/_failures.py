"""The one error to raise when a task group fails: the first failure in time, unwrapped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

__all__ = ["first_failure", "leaves"]


def leaves(group: BaseExceptionGroup) -> Iterator[BaseException]:
    """The group's non-group exceptions, depth first, each once."""
    seen: set[int] = set()
    for exc in group.exceptions:
        items = leaves(exc) if isinstance(exc, BaseExceptionGroup) else (exc,)
        for leaf in items:
            if id(leaf) not in seen:
                seen.add(id(leaf))
                yield leaf


def first_failure(
    group: BaseExceptionGroup, failures: Sequence[BaseException], others: str = "failure(s)"
) -> BaseException:
    """The error a failed ``TaskGroup`` stands for.

    ``failures`` are the errors in the order they happened (recorded by the tasks); the first
    of them wins when the group holds it, else the group's first leaf. A note on it counts the
    other leaves (``others`` names them: "method(s)", ...).
    """
    found = list(leaves(group))
    first = failures[0] if failures and any(f is failures[0] for f in found) else found[0]
    if len(found) > 1:
        first.add_note(
            f"({len(found) - 1} other {others} failed or were cancelled at the same time)"
        )
    return first
