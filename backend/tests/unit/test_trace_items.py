"""Item ids and links, in the Markdown of one version at a time (pure code, no database)."""

from collections.abc import Sequence

import pytest

from app.documents.tracing.exceptions import TraceLimitError
from app.documents.tracing.graph import Gap, GapKind, gaps_of, reached_by
from app.documents.tracing.items import (
    MAX_ITEMS,
    Assignment,
    Author,
    Known,
    Node,
    assign,
    read_nodes,
)
from app.projects.stages import DocumentType

SPECS = DocumentType.SPECS
IDEA_KNOWN = {"G-1": Known(DocumentType.IDEA, False), "G-2": Known(DocumentType.IDEA, False)}


def specs(*items: str, extra: str = "") -> str:
    body = "\n".join(items)
    return (
        "# Specs\n\nIntro line.\n\n## Security\n\n<!-- section:security_requirements -->\n\n"
        f"{body}\n\n## Test strategy\n\n<!-- section:test_strategy -->\n\nProse only.\n{extra}"
    )


def known_after(assignment: Assignment, before: dict[str, Known]) -> dict[str, Known]:
    """The project's ids once ``assignment`` is recorded, as the service keeps them."""
    known = dict(before)
    for item in assignment.created:
        known[item] = Known(SPECS, False)
    for item in assignment.retired:
        known[item] = Known(SPECS, True)
    for item in assignment.restored:
        known[item] = Known(SPECS, False)
    return known


def write(
    content: str,
    previous: Sequence[Node] = (),
    known: dict[str, Known] | None = None,
    author: Author = Author.AGENT,
) -> Assignment:
    return assign(
        content,
        SPECS,
        previous=previous,
        known=IDEA_KNOWN if known is None else known,
        author=author,
    )


def test_items_get_ids_in_order_written_where_people_read_them() -> None:
    first = write(specs("- Passwords are hashed. → G-1", "- Sessions expire.\n  - after 30 min"))
    assert [node.id for node in first.nodes] == ["R-1", "R-2"]
    assert first.created == ("R-1", "R-2")
    assert "- **R-1** Passwords are hashed. → G-1\n- **R-2** Sessions expire.\n" in first.content
    # A nested bullet (an acceptance criterion) belongs to its item; prose sections have none.
    assert first.nodes[1].text == "Sessions expire. - after 30 min"
    assert first.nodes[0].links == ("G-1",)
    assert first.content.startswith("# Specs\n\nIntro line.\n")


def test_ids_written_by_hand_are_read_back_in_any_common_form() -> None:
    first = write(specs("- one", "- two", "- three"))
    known = known_after(first, IDEA_KNOWN)
    edited = write(
        specs("- **R-2:** two, reworded", "- [R-1] one", "- R-3: three"),
        previous=first.nodes,
        known=known,
        author=Author.PERSON,
    )
    assert [node.id for node in edited.nodes] == ["R-2", "R-1", "R-3"]
    assert "- **R-2** two, reworded\n- **R-1** one\n- **R-3** three" in edited.content
    assert edited.changed == ("R-2",)
    assert edited.created == ()


def test_an_unchanged_version_is_byte_identical_and_changes_nothing() -> None:
    first = write(specs("- one → G-1", "- two"))
    again = write(first.content, previous=first.nodes, known=known_after(first, IDEA_KNOWN))
    assert again.content == first.content
    assert (again.changed, again.created, again.retired) == ((), (), ())


def test_a_rewritten_item_that_lost_its_id_keeps_it_and_a_new_one_gets_the_next() -> None:
    first = write(specs("- Passwords are hashed with argon2id.", "- Sessions expire."))
    known = known_after(first, IDEA_KNOWN)
    rewritten = write(
        specs("- Passwords are hashed with argon2id (m=64MiB).", "- Audit log for admins."),
        previous=first.nodes,
        known=known,
    )
    assert [node.id for node in rewritten.nodes] == ["R-1", "R-3"]
    assert rewritten.retired == ("R-2",)
    assert set(rewritten.changed) == {"R-1", "R-2"}


def test_retired_ids_are_never_given_again() -> None:
    first = write(specs("- one", "- two", "- three"))
    known = known_after(first, IDEA_KNOWN)
    second = write(specs("- **R-1** one", "- **R-2** two"), previous=first.nodes, known=known)
    assert second.retired == ("R-3",)
    known = known_after(second, known)
    # The model writes the retired id on a new item: it gets a fresh one.
    third = write(
        specs("- **R-1** one", "- **R-2** two", "- **R-3** something else"),
        previous=second.nodes,
        known=known,
    )
    assert [node.id for node in third.nodes] == ["R-1", "R-2", "R-4"]
    # A person (or a rollback) who brings the retired item back restores it.
    restored = write(
        specs("- **R-1** one", "- **R-3** three"),
        previous=second.nodes,
        known=known,
        author=Author.PERSON,
    )
    assert restored.restored == ("R-3",)
    assert [node.id for node in restored.nodes] == ["R-1", "R-3"]


def test_an_id_of_another_document_or_a_duplicate_is_replaced() -> None:
    first = write(specs("- **G-1** not a goal here", "- **R-9** never given", "- a"))
    assert [node.id for node in first.nodes] == ["R-1", "R-2", "R-3"]
    known = known_after(first, IDEA_KNOWN)
    duplicated = write(specs("- **R-1** a", "- **R-1** b"), previous=first.nodes, known=known)
    assert [node.id for node in duplicated.nodes] == ["R-1", "R-4"]


def test_the_team_s_links_to_nothing_are_dropped_from_the_text_too() -> None:
    known = {**IDEA_KNOWN, "G-3": Known(DocumentType.IDEA, True)}
    written = write(specs("- one → G-1, G-9, G-3", "- two → C-1", "- three → G-2"), known=known)
    assert [(bad.item, bad.target) for bad in written.dropped_links] == [
        ("R-1", "G-9"),
        ("R-1", "G-3"),
        ("R-2", "C-1"),
    ]
    assert [node.links for node in written.nodes] == [("G-1",), (), ("G-2",)]
    assert "- **R-1** one → G-1\n- **R-2** two \n- **R-3** three → G-2" in written.content


def test_a_person_s_new_link_to_nothing_is_refused_but_an_old_one_stays_a_gap() -> None:
    first = write(specs("- one → G-1"))
    known = known_after(first, IDEA_KNOWN)
    refused = write(
        specs("- **R-1** one → G-1, G-7"), previous=first.nodes, known=known, author=Author.PERSON
    )
    assert [bad.describe() for bad in refused.refused_links] == ["R-1 → G-7: no such item"]
    known["G-1"] = Known(DocumentType.IDEA, True)
    kept = write(
        specs("- **R-1** one, reworded → G-1"),
        previous=first.nodes,
        known=known,
        author=Author.PERSON,
    )
    assert kept.refused_links == ()
    assert kept.nodes[0].links == ("G-1",)


def test_a_rollback_keeps_its_links_as_they_were() -> None:
    known = {**IDEA_KNOWN, "G-3": Known(DocumentType.IDEA, True)}
    rolled = write(specs("- one → G-3"), known=known, author=Author.ROLLBACK)
    assert (rolled.dropped_links, rolled.refused_links) == ((), ())
    assert rolled.nodes[0].links == ("G-3",)


def test_lists_in_code_blocks_and_other_sections_are_not_items() -> None:
    content = specs("- real", extra="\n```\n- fenced\n```\n")
    assert [node.text for node in write(content).nodes] == ["real"]
    idea = (
        "# Idea\n\n<!-- section:summary -->\n\n- not an item\n\n"
        "## Goals\n\n<!-- section:goals_kpis -->\n\n- **G-1** grow\n"
    )
    assert [(node.id, node.section) for node in read_nodes(idea, DocumentType.IDEA)] == [
        ("G-1", "goals_kpis")
    ]


def node(item: str, section: str, *links: str) -> Node:
    return Node(item, section, item.lower(), links)


def test_gaps_name_exactly_what_is_missing() -> None:
    documents = {
        DocumentType.IDEA: [node("G-1", "goals_kpis"), node("G-2", "goals_kpis")],
        DocumentType.SPECS: [node("R-1", "coverage", "G-1"), node("R-2", "coverage", "G-1")],
        DocumentType.ARCHITECTURE: [node("C-1", "components", "R-1")],
        DocumentType.PLAN: [
            node("T-1", "tasks", "C-1"),
            node("T-2", "tasks"),
            node("T-3", "tasks", "R-9"),
        ],
    }
    assert gaps_of(documents) == [
        Gap(GapKind.UNSERVED_GOAL, "G-2"),
        Gap(GapKind.UNREALISED_REQUIREMENT, "R-2"),
        Gap(GapKind.PURPOSELESS_TASK, "T-2"),
        Gap(GapKind.RETIRED_LINK, "T-3", "R-9"),
    ]
    # Before specs exists, an unserved goal is not yet a gap.
    assert gaps_of({DocumentType.IDEA: documents[DocumentType.IDEA]}) == []


def test_a_change_reaches_the_later_items_that_link_to_it_only() -> None:
    documents = {
        DocumentType.SPECS: [node("R-1", "coverage"), node("R-2", "coverage")],
        DocumentType.ARCHITECTURE: [node("C-1", "components", "R-1"), node("C-2", "stack", "R-2")],
        DocumentType.PLAN: [node("T-1", "tasks", "C-1", "R-1"), node("T-2", "tasks", "C-2")],
    }
    assert reached_by(documents, DocumentType.SPECS, ["R-1"]) == {
        "C-1": {"R-1"},
        "T-1": {"R-1"},
    }
    assert reached_by(documents, DocumentType.PLAN, ["T-1"]) == {}


def test_an_id_copied_into_another_section_stays_with_its_own_item() -> None:
    first = write(specs("- one", extra="\n## Coverage\n<!-- section:coverage -->\n- **R-9** x\n"))
    [(one, _), (moved, _)] = [(node.id, node.section) for node in first.nodes]
    known = known_after(first, IDEA_KNOWN)
    # A rewrite of the security section copies R-1, which lives in coverage: the copy gets a
    # new id and the coverage item keeps its own, untouched.
    copied = specs(
        f"- **{one}** one",
        f"- **{moved}** copied here",
        extra=f"\n## Coverage\n<!-- section:coverage -->\n- **{moved}** x\n",
    )
    second = write(copied, previous=first.nodes, known=known)
    assert [(node.id, node.section) for node in second.nodes] == [
        (one, "security_requirements"),
        ("R-3", "security_requirements"),
        (moved, "coverage"),
    ]
    assert second.content.endswith(f"- **{moved}** x\n")


def test_a_link_is_read_on_the_line_of_its_arrow_only() -> None:
    written = write(specs("- one →\n  G-9 is only mentioned here", "- two → G-1"))
    assert [node.links for node in written.nodes] == [(), ("G-1",)]
    assert written.dropped_links == ()
    assert "  G-9 is only mentioned here" in written.content


def test_a_version_with_too_many_items_is_refused() -> None:
    items = [f"- item {number}" for number in range(MAX_ITEMS + 1)]
    with pytest.raises(TraceLimitError) as refused:
        write(specs(*items), author=Author.PERSON)
    assert refused.value.details == {"items": MAX_ITEMS + 1, "max_items": MAX_ITEMS}
    assert len(write(specs(*items[:MAX_ITEMS])).nodes) == MAX_ITEMS
