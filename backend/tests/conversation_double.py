"""Plays the models of a whole conversation: each reply follows from what the request asks
(its output schema) and what its prompt says, never from the order of the calls."""

import re
from typing import Any

from tests.llm_double.script import (
    Reply,
    TextReply,
    message_text,
    requested_schema,
    structured_reply,
)

SATISFIED_WORDS = ("устраивает", "looks good", "всё хорошо")
ACCEPT_WORDS = {"ok", "ок", "+", "okay", "да"}
_EXPERT_MENTION = re.compile(r"@([a-z_]+)")


def _block(text: str, label: str) -> str:
    """The text between ``label``'s ``<<<`` and ``>>>`` fences in a prompt."""
    start = text.find(label)
    if start < 0:
        return ""
    opened = text.find("<<<\n", start)  # the label's own fence, or the next one
    closed = text.find("\n>>>", opened)
    return text[opened + 4 : closed] if opened >= 0 and closed >= 0 else ""


def _line_after(text: str, label: str) -> str:
    for line in text.splitlines():
        if line.startswith(label):
            return line[len(label) :].strip()
    return ""


def _prompt(body: dict[str, Any]) -> str:
    return "\n".join(
        message_text(message) for message in body.get("messages", []) if message["role"] == "user"
    )


def conversation_responder(body: dict[str, Any]) -> Reply | None:
    prompt = _prompt(body)
    schema = requested_schema(body)
    if schema is None:
        return TextReply(_section(prompt))
    fields = set(schema.get("properties", {}))
    if fields == {"language"}:
        user_text = _block(prompt, "User message:")
        cyrillic = any("а" <= char.lower() <= "я" for char in user_text)
        return structured_reply(body, {"language": "ru" if cyrillic else "en"})
    if fields == {"greeting", "restructured_idea"}:
        idea = _block(prompt, "Raw idea:")
        return structured_reply(
            body,
            {
                "greeting": "Здравствуйте! Команда задаст несколько вопросов.",
                "restructured_idea": f"# Идея\n\n<!-- section:summary -->\n\n{idea}",
            },
        )
    if {"action", "reason"} <= fields:
        return structured_reply(body, _floor(prompt))
    if fields == {"questions"}:
        return structured_reply(body, {"questions": QUESTIONS})
    if fields == {"kind", "expert"}:
        return structured_reply(body, _intent(_block(prompt, "User message:")))
    if fields == {"document", "summary"}:
        # Anchored on the fences: the words alone also occur in the task's own text.
        document = _block(prompt, "document:\n<<<")
        section = _block(prompt, "section:\n<<<")
        return structured_reply(
            body, {"document": f"{document}\n\n{section}", "summary": "Добавлен раздел эксперта."}
        )
    return None


QUESTIONS = [
    {
        "text": "Кто главный пользователь?",
        "options": [
            {"letter": "a", "text": "Пекарни"},
            {"letter": "b", "text": "Покупатели"},
            {"letter": "c", "text": "Курьеры"},
        ],
        "recommended": "b",
    },
    {
        "text": "Как зарабатываем?",
        "options": [
            {"letter": "a", "text": "Подписка"},
            {"letter": "b", "text": "Комиссия"},
        ],
        "recommended": "a",
    },
]


def _floor(prompt: str) -> dict[str, Any]:
    listed = _line_after(prompt, "The experts of this stage:")
    experts = [name.strip() for name in listed.split(",")]
    spoken = _line_after(prompt, "Experts who already had the floor in this stage (in order):")
    waiting = [name for name in experts if name and name not in spoken]
    if not waiting:
        return {"action": "stage_covered", "agent": None, "reason": "Все эксперты выступили."}
    return {"action": "give_floor", "agent": waiting[0], "reason": "Его разделы пусты."}


def _intent(message: str) -> dict[str, Any]:
    lowered = message.strip().lower()
    if any(word in lowered for word in SATISFIED_WORDS):
        return {"kind": "satisfied", "expert": None}
    if lowered in ACCEPT_WORDS:
        return {"kind": "accept_recommendations", "expert": None}
    mention = _EXPERT_MENTION.search(lowered)
    if mention is not None:
        return {"kind": "address_expert", "expert": mention.group(1)}
    return {"kind": "answers", "expert": None}


def _section(prompt: str) -> str:
    # The task names the expert's own markers first, before any document is quoted.
    marker = re.findall(r"<!-- section:[a-z_]+ -->", prompt)[0]
    answers = _block(prompt, "The user's answers")
    return f"## Раздел эксперта\n\n{marker}\n\nПо ответам пользователя: {answers}"
