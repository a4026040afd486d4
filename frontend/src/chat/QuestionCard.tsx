import { useId, useState } from "react";

import type { Schemas } from "../api/client";
import { useT } from "../i18n/context";
import { composeReply, OPTION_LETTERS, toggleOption, type OptionLetter, type Selections } from "./compose";

type Question = Schemas["Question"];

function isLetter(value: string | null | undefined): value is OptionLetter {
  return value !== null && value !== undefined && (OPTION_LETTERS as readonly string[]).includes(value);
}

function recommendations(questions: Question[]): Selections {
  const result: Record<number, OptionLetter[]> = {};
  for (const question of questions) {
    if (isLetter(question.recommended)) result[question.number] = [question.recommended];
  }
  return result;
}

interface Props {
  agent: string;
  questions: Question[];
  /** Null when the questions are answered already or the user cannot answer. */
  onSend: ((reply: string) => void) | null;
  /** The choices sent for these questions, once answered. */
  answered?: Readonly<Record<number, readonly string[]>> | null;
  sending: boolean;
}

function asSelections(answered: Readonly<Record<number, readonly string[]>>): Selections {
  const result: Record<number, OptionLetter[]> = {};
  for (const [number, letters] of Object.entries(answered)) result[Number(number)] = letters.filter(isLetter);
  return result;
}

export function QuestionCard({ agent, questions, onSend, answered = null, sending }: Props) {
  const { t } = useT();
  const [selections, setSelections] = useState<Selections>({});
  const shown = onSend === null && answered !== null ? asSelections(answered) : selections;
  const [freeText, setFreeText] = useState("");
  const freeTextId = useId();
  const reply = composeReply(selections, freeText);
  const open = onSend !== null;

  return (
    <section className="question-card" aria-label={t("questionsFrom", { agent })}>
      <ol className="questions">
        {questions.map((question) => (
          <li key={question.number}>
            <p className="question-text" id={`${freeTextId}-q${question.number}`}>
              <span className="question-number">{question.number}.</span> {question.text}
            </p>
            <div className="options" role="group" aria-labelledby={`${freeTextId}-q${question.number}`}>
              {question.options.map((option) => {
                const letter = option.letter as OptionLetter;
                const chosen = shown[question.number]?.includes(letter) ?? false;
                const isRecommended = question.recommended === option.letter;
                return (
                  <button
                    key={option.letter}
                    type="button"
                    className={`option${chosen ? " chosen" : ""}${isRecommended ? " recommended" : ""}`}
                    aria-pressed={chosen}
                    disabled={!open}
                    onClick={() => setSelections((current) => toggleOption(current, question.number, letter))}
                  >
                    <span className="option-letter">{option.letter}</span>
                    <span className="option-text">{option.text}</span>
                    {isRecommended && <span className="badge">{t("recommended")}</span>}
                  </button>
                );
              })}
            </div>
          </li>
        ))}
      </ol>
      {open && (
        <div className="card-reply">
          <label htmlFor={freeTextId}>{t("freeTextLabel")}</label>
          <textarea id={freeTextId} rows={2} value={freeText} onChange={(event) => setFreeText(event.target.value)} />
          <div className="card-actions">
            <button type="button" className="quiet" onClick={() => setSelections(recommendations(questions))}>
              {t("acceptRecommendations")}
            </button>
            <button
              type="button"
              className="quiet"
              onClick={() => {
                setSelections({});
                setFreeText("");
              }}
            >
              {t("clearAnswers")}
            </button>
          </div>
          <p className="reply-preview">
            <span>{t("replyPreview")}: </span>
            <output aria-label={t("replyPreview")}>{reply}</output>
          </p>
          <button type="button" className="primary" disabled={!reply || sending} onClick={() => onSend(reply)}>
            {sending ? t("sending") : t("sendAnswers")}
          </button>
        </div>
      )}
    </section>
  );
}
