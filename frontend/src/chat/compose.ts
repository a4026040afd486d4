/**
 * The reply a question card sends: the chosen options as `1.b, 2.c, 2.d` (the form the
 * backend's reply parser reads without a model call), then the free text.
 *
 * Every option is written with its question number and an explicit `.` so that no choice
 * depends on how the parser reads a bare letter. The free text goes on its own line; when it
 * starts with a digit, a dash closes the list first, because whitespace alone would let
 * text such as "3 a day" continue the list as a selection.
 */

export const OPTION_LETTERS = ["a", "b", "c", "d", "e"] as const;
export type OptionLetter = (typeof OPTION_LETTERS)[number];

/** Question number → the letters chosen for it. */
export type Selections = Readonly<Record<number, readonly OptionLetter[]>>;

const STARTS_WITH_DIGIT = /^[0-9\uff10-\uff19]/;

export function selectionTokens(selections: Selections): string[] {
  return Object.keys(selections)
    .map(Number)
    .sort((left, right) => left - right)
    .flatMap((number) =>
      OPTION_LETTERS.filter((letter) => selections[number]?.includes(letter)).map(
        (letter) => `${number}.${letter}`,
      ),
    );
}

export function composeReply(selections: Selections, freeText: string): string {
  const list = selectionTokens(selections).join(", ");
  const text = freeText.trim();
  if (!list) return text;
  if (!text) return list;
  return STARTS_WITH_DIGIT.test(text) ? `${list} —\n${text}` : `${list}\n${text}`;
}

/** The selections as the parser reports them: questions ascending, letters in order. */
export function normalisedSelections(selections: Selections): Record<string, OptionLetter[]> {
  const result: Record<string, OptionLetter[]> = {};
  for (const number of Object.keys(selections).map(Number).sort((a, b) => a - b)) {
    const letters = OPTION_LETTERS.filter((letter) => selections[number]?.includes(letter));
    if (letters.length > 0) result[String(number)] = letters;
  }
  return result;
}

export function toggleOption(
  selections: Selections,
  question: number,
  letter: OptionLetter,
): Selections {
  const chosen = selections[question] ?? [];
  const next = chosen.includes(letter)
    ? chosen.filter((item) => item !== letter)
    : [...chosen, letter];
  return { ...selections, [question]: next };
}
