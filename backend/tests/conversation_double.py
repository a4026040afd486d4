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
    if fields == {"language", "greeting", "restructured_idea"}:
        idea = _block(prompt, "Raw idea:")
        cyrillic = any("а" <= char.lower() <= "я" for char in idea)
        return structured_reply(
            body,
            {
                "language": "ru" if cyrillic else "en",
                "greeting": "Здравствуйте! Команда задаст несколько вопросов.",
                "restructured_idea": f"# Идея\n\n<!-- section:summary -->\n\n{idea}",
            },
        )
    if fields == {"questions"}:
        return structured_reply(body, {"questions": QUESTIONS})
    if fields == {"kind", "expert", "reply"}:
        return structured_reply(body, _intent(_block(prompt, "User message:")))
    if fields == {"edits", "summary", "stage_covered"}:
        # The expert's section accepted as written: its own marker names it.
        section = _block(prompt, "section:\n<<<")
        markers = re.findall(r"<!-- section:([a-z_]+) -->", section)
        edits = [{"op": "accept", "section": markers[0], "content": None}] if markers else []
        return structured_reply(
            body,
            {"edits": edits, "summary": "Добавлен раздел эксперта.", "stage_covered": False},
        )
    if fields == {"message"}:
        return structured_reply(body, {"message": "Этап завершён. Напишите «дальше»."})
    if fields == {"sections"}:
        return structured_reply(body, propagation(prompt))
    return None


_STALE_SECTION = re.compile(r"Section ([a-z_]+) \(stale: ([^)]*)\):\n<<<\n(.*?)\n>>>", re.S)
UPDATED = " (updated to the new requirement)"


def propagation(prompt: str) -> dict[str, Any]:
    """An update of stale items: their lines get ``UPDATED``; the rest of each section stays."""
    sections = []
    for key, stale, text in _STALE_SECTION.findall(prompt):
        ids = {item.strip() for item in stale.split(",")}
        lines = [
            line + UPDATED if any(f"**{item}**" in line for item in ids) else line
            for line in text.splitlines()
        ]
        sections.append({"section": key, "content": "\n".join(lines)})
    return {"sections": sections}


QUESTIONS = [
    {
        "text": "Кто главный пользователь?",
        "options": ["Пекарни", "Покупатели", "Курьеры"],
        "recommended": 2,
    },
    {"text": "Как зарабатываем?", "options": ["Подписка", "Комиссия"], "recommended": 1},
]


def _intent(message: str) -> dict[str, Any]:
    lowered = message.strip().lower()
    reply = "Понял вас."
    if any(word in lowered for word in SATISFIED_WORDS):
        return {"kind": "satisfied", "expert": None, "reply": reply}
    if lowered in ACCEPT_WORDS:
        return {"kind": "accept_recommendations", "expert": None, "reply": reply}
    mention = _EXPERT_MENTION.search(lowered)
    if mention is not None:
        return {"kind": "address_expert", "expert": mention.group(1), "reply": reply}
    return {"kind": "answers", "expert": None, "reply": reply}


def _section(prompt: str) -> str:
    # The task names the expert's own markers first, before any document is quoted.
    marker = re.findall(r"<!-- section:[a-z_]+ -->", prompt)[0]
    answers = _block(prompt, "The user's answers")
    return f"## Раздел эксперта\n\n{marker}\n\nПо ответам пользователя: {answers}"
