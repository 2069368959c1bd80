"""CrewAI compatibility: declaring flows and ``Flow.flow_definition()``, as CrewAI 1.15's
``lib/crewai/tests/test_flow_definition.py`` pins them down (written for fastcrew, not copied).

fastcrew's definition describes a Python flow with CrewAI's field names (docs/compatibility.md,
Flows); CrewAI's declarative flows built on the same model are not a fastcrew feature.

Covered (22 of its 61 tests): the condition trees ``and_`` / ``or_`` return, invalid
conditions, lowered and single-branch conditions, the DSL mapped to the definition (minus
``@human_feedback``), no conversational built-ins on a regular flow, start / listen / condition
fragments, start routers (both decorator orders), stacked ``@listen`` + ``@router``,
``@persist`` metadata, router labels (dynamic, ``Literal``, ``Enum``, unions of literals,
``Annotated``, containers, unannotated, explicit ``emit=``, dynamic string listeners),
definitions per class.

Deliberately different (each test says why): inherited flow methods are part of a subclass's
definition (and run); a router with neither a trigger nor ``@start()`` is refused.

Left out (39):

- the declarative contract (``FlowDefinition.from_declaration`` from YAML / JSON / files,
  ``do`` actions such as ``each`` / ``script`` / ``code``, its JSON schema, descriptions and
  examples, method-name rules, ``start: false`` / router-only declarations, legacy
  diagnostics): ``test_flow_public_exports_are_explicit``,
  ``test_flow_definition_json_schema_carries_reference_descriptions``,
  ``test_flow_definition_json_schema_carries_field_examples_only``,
  ``test_flow_state_definition_uses_discriminated_branches``,
  ``test_flow_definition_contract_is_dsl_agnostic``, the 7 ``..._from_declaration_...`` tests,
  ``test_each_action_loads_from_declaration``,
  ``test_flow_definition_rejects_invalid_method_names``,
  ``test_flow_definition_ignores_legacy_diagnostics_loaded_from_contract``,
  ``test_router_start_false_without_listen_is_allowed``,
  ``test_static_string_listener_is_allowed_by_contract``,
  ``test_flow_definition_rejects_method_self_listen`` (the declared form; the Python form is in
  test_flow.py), ``test_start_false_not_classified_as_start_method`` (also visualization);
- conversational flows (9: ``conversational = True``, ``ConversationConfig``, route-name
  collisions, including ``test_build_flow_definition_wraps_validation_error_with_class_name``);
- human feedback (4: ``test_human_feedback_emit_overrides_inner_router_emit``,
  ``test_flow_definition_classifies_start_router_from_human_feedback_emit``,
  ``test_flow_definition_degrades_human_feedback_metadata``,
  ``test_router_human_feedback_preserves_existing_router_metadata``);
- the authoring skill document (7 ``test_skill_*`` tests).
"""

from enum import Enum
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel

from fastcrew.flow import Flow, and_, listen, or_, persist, router, start


def test_condition_combinators_return_a_nested_tree() -> None:
    assert and_("event_a", "event_b", or_("event_c")) == {
        "type": "AND",
        "conditions": ["event_a", "event_b", {"type": "OR", "conditions": ["event_c"]}],
    }


def test_an_invalid_condition_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Invalid condition"):
        start(123)(lambda self: None)  # type: ignore[arg-type]


def test_nested_conditions_are_lowered() -> None:
    class Nested(Flow):
        @start()
        def begin(self):
            return "begin"

        @listen(begin)
        def validated(self):
            return "validated"

        @listen(begin)
        def processed(self):
            return "processed"

        @listen(or_(and_(validated, processed), begin))
        def finalize(self):
            return "done"

    finalize = Nested.flow_definition().methods["finalize"]
    assert finalize.listen == {"or": [{"and": ["validated", "processed"]}, "begin"]}


def test_single_branch_nested_conditions_are_kept() -> None:
    class Ambiguous(Flow):
        @start()
        def event_a(self):
            return "a"

        @listen(event_a)
        def event_b(self):
            return "b"

        @router(event_b)
        def event_c_router(self):
            return "event_c"

        @listen(and_(event_a, event_b, or_("event_c")))
        def event_d(self):
            return "d"

    event_d = Ambiguous.flow_definition().methods["event_d"]
    assert event_d.listen == {"and": ["event_a", "event_b", {"or": ["event_c"]}]}


def test_the_dsl_maps_to_the_definition() -> None:
    class ContractState(BaseModel):
        topic: str = ""

    class Contract(Flow[ContractState]):
        """A flow with every core role."""

        initial_state = ContractState
        max_method_calls = 7

        @start()
        def begin(self):
            return "started"

        @listen(begin)
        def process(self):
            return "processed"

        @router(process)
        def decide(self):
            return "approved"

        @listen(or_("approved", "revise"))
        def review(self):
            return "review"

        @listen(and_(begin, process))
        def audit(self):
            return "audit"

    definition = Contract.flow_definition()
    assert definition.name == "Contract"
    assert definition.description == "A flow with every core role."
    assert definition.state is not None
    assert definition.state.type == "pydantic"
    assert definition.state.ref is not None
    assert definition.state.ref.endswith("ContractState")
    assert definition.config.stream is False
    assert definition.config.max_method_calls == 7
    methods = definition.methods
    assert set(methods) == {"begin", "process", "decide", "review", "audit"}
    assert methods["begin"].start is True
    assert methods["begin"].is_start
    assert methods["process"].listen == "begin"
    assert not methods["process"].is_start
    assert (methods["decide"].listen, methods["decide"].router) == ("process", True)
    assert methods["decide"].emit is None
    assert methods["review"].listen == {"or": ["approved", "revise"]}
    assert methods["audit"].listen == {"and": ["begin", "process"]}
    assert "diagnostics" not in definition.to_dict()


def test_fragments_cover_start_listen_and_condition_sugar() -> None:
    class Fragment(Flow):
        @start()
        def begin(self):
            return "begin"

        @start("restart_event")
        def restart(self):
            return "restart"

        @listen(begin)
        def by_callable(self):
            return "callable"

        @listen("manual_event")
        def by_string(self):
            return "string"

        @listen(and_(begin, by_callable))
        def by_and(self):
            return "and"

        @listen(or_(and_("manual_event", by_string), "fallback_event"))
        def nested(self):
            return "nested"

        @router(begin)
        def labels(self):  # a router: the events above may be labels
            return None

    methods = Fragment.flow_definition().methods
    assert methods["begin"].start is True
    assert methods["restart"].start == "restart_event"
    assert methods["by_callable"].listen == "begin"
    assert methods["by_string"].listen == "manual_event"
    assert methods["by_and"].listen == {"and": ["begin", "by_callable"]}
    assert methods["nested"].listen == {
        "or": [{"and": ["manual_event", "by_string"]}, "fallback_event"]
    }
    assert set(methods) == {
        "begin",
        "restart",
        "by_callable",
        "by_string",
        "by_and",
        "nested",
        "labels",
    }


def test_start_routers_in_either_decorator_order() -> None:
    class StartRouter(Flow):
        @start()
        @router(emit=["continue", "stop"])
        def entry_point(self):
            return "continue"

        @router(emit=["resume"])
        @start()
        def alternate_entry_point(self):
            return "resume"

    methods = StartRouter.flow_definition().methods
    for name, labels in (
        ("entry_point", ["continue", "stop"]),
        ("alternate_entry_point", ["resume"]),
    ):
        method = methods[name]
        assert (method.is_start, method.router, method.listen) == (True, True, None)
        assert method.emit == labels


def test_stacked_listen_and_router_merge() -> None:
    class Chained(Flow):
        @start()
        @router(emit=["approved", "not_approved"])
        def first_router(self):
            return "approved"

        @listen("approved")
        @router(emit=["second_approval", "not_approved"])
        def second_router(self):
            return "second_approval"

    methods = Chained.flow_definition().methods
    assert methods["first_router"].is_start
    assert methods["first_router"].listen is None
    second = methods["second_router"]
    assert (second.router, second.listen) == (True, "approved")
    assert second.emit == ["second_approval", "not_approved"]


def test_persist_metadata() -> None:
    @persist(verbose=True)
    class Persisted(Flow[dict]):
        initial_state = {}

        @start()
        def begin(self):
            return "started"

        @persist(verbose=False)
        @listen(begin)
        def checkpoint(self):
            return "saved"

    definition = Persisted.flow_definition()
    assert definition.persist is not None
    assert (definition.persist.enabled, definition.persist.verbose) == (True, True)
    assert definition.methods["begin"].persist is None
    method = definition.methods["checkpoint"].persist
    assert method is not None
    assert (method.enabled, method.verbose) == (True, False)
    assert definition.state is not None
    assert (definition.state.type, definition.state.default) == ("dict", None)


class Decision(str, Enum):  # noqa: UP042 (CrewAI's spelling; a StrEnum works too)
    APPROVE = "approve"
    REJECT = "reject"


class _Routes(Flow):
    """Routers whose labels come from their declaration or return annotation."""

    @start()
    def begin(self):
        return "started"

    @router(begin)
    def dynamic(self):
        return self.state["dynamic_event"]

    @router(begin)
    def literal(self) -> Literal["left", "right"]:
        return "left"

    @router(begin)
    def enum_route(self) -> Decision:
        return Decision.APPROVE

    @router(begin)
    def literal_union(self) -> Literal["left"] | Literal["right"]:
        return "left"

    @router(begin)
    def annotated(self) -> Annotated[Literal["left"] | None, "route"]:
        return "left"

    @router(begin)
    def list_route(self) -> list[Literal["left"]]:
        return ["left"]

    @router(begin)
    def dict_route(self) -> dict[str, Literal["right"]]:
        return {"route": "right"}

    @router(begin)
    def unannotated(self):
        return "left"

    @router(begin, emit=["left", "right", "left"])
    def explicit(self):
        return self.state["dynamic_event"]

    @listen("dynamic_event")
    def handle(self):
        return "handled"


@pytest.mark.parametrize(
    ("method", "emit"),
    [
        ("dynamic", None),
        ("literal", ["left", "right"]),
        ("enum_route", ["approve", "reject"]),
        ("literal_union", ["left", "right"]),
        ("annotated", ["left"]),
        ("list_route", None),
        ("dict_route", None),
        ("unannotated", None),
        ("explicit", ["left", "right"]),
    ],
)
def test_router_labels_in_the_definition(method: str, emit: list[str] | None) -> None:
    assert _Routes.flow_definition().methods[method].emit == emit


def test_a_listener_on_a_dynamic_router_label_is_valid() -> None:
    assert _Routes.flow_definition().methods["handle"].listen == "dynamic_event"


def test_definitions_are_per_class_and_include_inherited_methods() -> None:
    """Differs: a subclass's definition holds the methods it inherits too, and they run.
    CrewAI 1.15.30 lists a subclass's own methods only, and its kickoff does not run the
    inherited ones (its kickoff of the subclass below runs nothing)."""

    class Parent(Flow):
        @start()
        def begin(self):
            return "begin"

    parent = Parent.flow_definition()

    class Child(Parent):
        @listen(Parent.begin)
        def child_step(self):
            return "child"

    child = Child.flow_definition()
    assert (parent.name, child.name) == ("Parent", "Child")
    assert child is not parent
    assert set(parent.methods) == {"begin"}
    assert set(child.methods) == {"begin", "child_step"}
    assert Child().kickoff() == "child"


def test_a_router_without_a_trigger_is_refused() -> None:
    """Differs: such a router could never run; fastcrew refuses the class (CrewAI accepts it
    and describes it)."""
    with pytest.raises(ValueError, match="needs a condition unless it is a @start"):

        class Standalone(Flow):
            @router(emit=["continue"])
            def decision(self):
                return "continue"
