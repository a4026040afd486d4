import { describe, expect, it } from "vitest";

import { languageOf, translator } from "./strings";

describe("strings", () => {
  it("speaks Russian for ru and ru-RU, English for anything else", () => {
    expect(languageOf("ru")).toBe("ru");
    expect(languageOf("ru-RU")).toBe("ru");
    expect(languageOf("de")).toBe("en");
    expect(languageOf(null)).toBe("en");
  });

  it("fills the named values in", () => {
    expect(translator("ru")("startNext", { stage: "Спецификации" })).toBe(
      "Начать следующий этап: Спецификации",
    );
    expect(translator("en")("diffStats", { added: 3, removed: 1 })).toBe("+3 −1");
  });
});
