import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { Schemas } from "../api/client";
import { LanguageProvider } from "../i18n/context";
import { QuestionCard } from "./QuestionCard";

const QUESTIONS: Schemas["Question"][] = [
  {
    number: 1,
    text: "Кто платит?",
    recommended: "b",
    options: [
      { letter: "a", text: "Пользователи" },
      { letter: "b", text: "Компании" },
      { letter: "c", text: "Реклама" },
    ],
  },
  {
    number: 2,
    text: "Где запускаемся?",
    recommended: "a",
    options: [
      { letter: "a", text: "Россия" },
      { letter: "b", text: "СНГ" },
    ],
  },
];

function renderCard(onSend: ((reply: string) => void) | null, answered: Record<number, string[]> | null = null) {
  return render(
    <LanguageProvider code="ru">
      <QuestionCard agent="Бизнес-аналитик" questions={QUESTIONS} onSend={onSend} answered={answered} sending={false} />
    </LanguageProvider>,
  );
}

const reply = () => screen.getByRole("status", { name: "Ваш ответ" }).textContent;

afterEach(cleanup);

describe("QuestionCard", () => {
  it("marks the recommended option", () => {
    renderCard(vi.fn());
    const recommended = screen.getByRole("button", { name: /Компании/ });
    expect(recommended.textContent).toContain("рекомендуется");
    expect(screen.getByRole("button", { name: /Пользователи/ }).textContent).not.toContain("рекомендуется");
  });

  it("composes the reply from toggled options, several per question, as it will be sent", () => {
    const onSend = vi.fn();
    renderCard(onSend);
    fireEvent.click(screen.getByRole("button", { name: /Реклама/ }));
    fireEvent.click(screen.getByRole("button", { name: /Пользователи/ }));
    fireEvent.click(screen.getByRole("button", { name: /СНГ/ }));
    expect(screen.getByRole("button", { name: /Реклама/ }).getAttribute("aria-pressed")).toBe("true");
    expect(reply()).toBe("1.a, 1.c, 2.b");
    fireEvent.change(screen.getByLabelText("Что ещё добавить"), { target: { value: "Сначала B2B" } });
    expect(reply()).toBe("1.a, 1.c, 2.b\nСначала B2B");
    fireEvent.click(screen.getByRole("button", { name: "Отправить ответы" }));
    expect(onSend).toHaveBeenCalledWith("1.a, 1.c, 2.b\nСначала B2B");
  });

  it("takes the recommendations in one click", () => {
    renderCard(vi.fn());
    fireEvent.click(screen.getByRole("button", { name: "Принять рекомендации" }));
    expect(reply()).toBe("1.b, 2.a");
  });

  it("turns an option off again", () => {
    renderCard(vi.fn());
    const option = screen.getByRole("button", { name: /Компании/ });
    fireEvent.click(option);
    fireEvent.click(option);
    expect(option.getAttribute("aria-pressed")).toBe("false");
    expect(reply()).toBe("");
    expect(screen.getByRole<HTMLButtonElement>("button", { name: "Отправить ответы" }).disabled).toBe(true);
  });

  it("shows answered questions without a way to answer them again", () => {
    renderCard(null);
    expect(screen.queryByRole("button", { name: "Отправить ответы" })).toBeNull();
    expect(screen.getByRole<HTMLButtonElement>("button", { name: /Компании/ }).disabled).toBe(true);
  });

  it("shows on an answered card what was chosen", () => {
    renderCard(null, { 1: ["a", "c"], 2: ["b"] });
    const pressed = screen.getAllByRole("button").filter((button) => button.getAttribute("aria-pressed") === "true");
    expect(pressed.map((button) => button.textContent)).toEqual(["aПользователи", "cРеклама", "bСНГ"]);
  });
});
