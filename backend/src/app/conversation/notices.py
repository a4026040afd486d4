"""The few chat messages the engine writes itself, without a model call.

They answer what code decides alone (a reference to an option that does not exist, a stage
already completed, the last stage done), so they must not wait for a model. Written for the
languages below; a project in another language gets them in English, and the message's payload
says which language it is in (``notice_language``) so a client can tell.
"""

from typing import Any

from app.projects.stages import DocumentType

_STAGE_NAMES: dict[str, dict[DocumentType, str]] = {
    "en": {
        DocumentType.IDEA: "Idea",
        DocumentType.SPECS: "Specifications",
        DocumentType.ARCHITECTURE: "Architecture",
        DocumentType.PLAN: "Plan",
    },
    "ru": {
        DocumentType.IDEA: "Идея",
        DocumentType.SPECS: "Спецификации",
        DocumentType.ARCHITECTURE: "Архитектура",
        DocumentType.PLAN: "План",
    },
}

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "refusal": "I could not apply that answer: {invalid}. You can refer to {valid}.",
        "stage_done": 'The {stage} stage is completed. Say "next" to start {next}.',
        "all_done": "All four documents are written. You can export the package now.",
        "conflict": (
            "The {stage} document changed while the expert was writing, in the same sections; "
            "the expert's section is in the chat and was not merged. Ask again to merge it."
        ),
        "closed": "The {stage} stage is completed: {sections}. {then}",
        "then_next": 'Say "next" to start {next}.',
        "then_end": "All four documents are written.",
        "cancelled": "Stopped as you asked.",
        "language_set": "The project's language is now {current}: the team writes in it "
        "from your next message.",
        "language_locked": (
            "The project's language stays {current}: it can change only until the team "
            "writes a document."
        ),
        "language_owner": "Only the project's owners can change its language.",
        "language_unknown": '"{code}" is not an ISO 639-1 language code (such as en, ru, de).',
        "stale": (
            "The new {stage} version {version} changed {changed}, so {stale} may no longer "
            'agree with it. Say "/update" and I will update only the sections they are in.'
        ),
        "propagated": "Updated to agree with the change: {documents}.",
        "nothing_stale": "Nothing is out of date: every item agrees with what it serves.",
        "still_stale": (
            'Updated: {documents}. Still out of date: {items}; say "/update" to try again, or '
            "edit them by hand."
        ),
    },
    "ru": {
        "refusal": "Не получилось применить ответ: {invalid}. Можно ссылаться на {valid}.",
        "stage_done": "Этап «{stage}» завершён. Напишите «дальше», чтобы начать «{next}».",
        "all_done": "Все четыре документа готовы. Пакет можно экспортировать.",
        "conflict": (
            "Документ «{stage}» изменился, пока эксперт писал, в тех же разделах; раздел "
            "эксперта остался в чате и не был внесён. Попросите ещё раз, чтобы внести его."
        ),
        "closed": "Этап «{stage}» завершён: {sections}. {then}",
        "then_next": "Напишите «дальше», чтобы начать «{next}».",
        "then_end": "Все четыре документа готовы.",
        "cancelled": "Остановлено по вашей просьбе.",
        "language_set": "Язык проекта теперь {current}: команда пишет на нём со следующего "
        "сообщения.",
        "language_locked": (
            "Язык проекта остаётся {current}: его можно сменить, только пока команда не "
            "написала документ."
        ),
        "language_owner": "Сменить язык проекта могут только его владельцы.",
        "language_unknown": "«{code}» — не код языка ISO 639-1 (например, en, ru, de).",
        "stale": (
            "Новая версия {version} документа «{stage}» изменила {changed}, поэтому {stale} "
            "могут с ней расходиться. Напишите «/update», и я обновлю только их разделы."
        ),
        "propagated": "Обновлено в соответствии с изменением: {documents}.",
        "nothing_stale": "Устаревших пунктов нет: всё согласовано с тем, чему служит.",
        "still_stale": (
            "Обновлено: {documents}. Всё ещё устарели: {items}; напишите «/update», чтобы "
            "попробовать снова, или исправьте их вручную."
        ),
    },
}


def notice_language(language: str | None) -> str:
    return language if language in _TEXTS else "en"


def stage_name(stage: DocumentType, language: str | None) -> str:
    return _STAGE_NAMES[notice_language(language)][stage]


def notice(key: str, language: str | None, **values: Any) -> str:
    return _TEXTS[notice_language(language)][key].format(**values)


def stage_done(stage: DocumentType, following: DocumentType | None, language: str | None) -> str:
    if following is None:
        return notice("all_done", language)
    return notice(
        "stage_done",
        language,
        stage=stage_name(stage, language),
        next=stage_name(following, language),
    )


def closed(
    stage: DocumentType, sections: list[str], following: DocumentType | None, language: str | None
) -> str:
    then = (
        notice("then_next", language, next=stage_name(following, language))
        if following is not None
        else notice("then_end", language)
    )
    return notice(
        "closed",
        language,
        stage=stage_name(stage, language),
        sections=", ".join(sections) or "—",
        then=then,
    )
