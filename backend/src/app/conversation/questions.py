"""Open questions as the engine keeps them: numbered and lettered by code, never by the model."""

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

from app.conversation.contracts import ExpertQuestions
from app.conversation.parser import OPTION_LETTERS, QuestionSpec


class OpenOption(BaseModel):
    letter: str = Field(pattern=r"^[a-e]$")
    text: str


class OpenQuestion(BaseModel):
    """One question the expert with the floor asked, as stored and shown."""

    number: int = Field(ge=1, le=5)
    text: str
    options: list[OpenOption]
    recommended: str | None = Field(default=None, pattern=r"^[a-e]$")

    def spec(self) -> QuestionSpec:
        return QuestionSpec(number=self.number, letters=tuple(o.letter for o in self.options))


def from_model(asked: ExpertQuestions) -> list[OpenQuestion]:
    """Number the questions and letter their options; a recommendation of an option that does
    not exist is no recommendation."""
    questions = []
    for number, question in enumerate(asked.questions, start=1):
        options = [
            OpenOption(letter=OPTION_LETTERS[index], text=text)
            for index, text in enumerate(question.options)
        ]
        recommended = question.recommended
        letter = (
            OPTION_LETTERS[recommended - 1]
            if recommended is not None and recommended <= len(options)
            else None
        )
        questions.append(
            OpenQuestion(number=number, text=question.text, options=options, recommended=letter)
        )
    return questions


def recommendations(questions: Sequence[OpenQuestion]) -> dict[int, list[str]]:
    return {q.number: [q.recommended] for q in questions if q.recommended is not None}


def questions_text(questions: Sequence[OpenQuestion]) -> str:
    lines = []
    for question in questions:
        lines.append(f"{question.number}. {question.text}")
        for option in question.options:
            mark = " (recommended)" if option.letter == question.recommended else ""
            lines.append(f"   {option.letter}) {option.text}{mark}")
    return "\n".join(lines)


def answers_text(
    questions: Sequence[OpenQuestion], selections: Mapping[int, Sequence[str]], free_text: str
) -> str:
    lines = []
    for question in questions:
        chosen = selections.get(question.number, [])
        texts = [option.text for option in question.options if option.letter in chosen]
        if texts:
            lines.append(f"{question.number}. {question.text} → {'; '.join(texts)}")
    if free_text:
        lines.append(free_text)
    return "\n".join(lines) or "(no answer)"
