/**
 * Every composition the reply-composer tests cover: question shapes as the engine letters
 * them, the choices a card can make on them, and free texts that stress the boundary between
 * the list and the words (Russian, digits, several lines).
 */
import { composeReply, normalisedSelections, OPTION_LETTERS, type OptionLetter } from "./compose";

export interface ReplyCase {
  questions: { number: number; letters: string }[];
  reply: string;
  selections: Record<string, OptionLetter[]>;
  free_text: string;
}

type Shape = number[]; // option count of each question, numbered from 1

function subsets(count: number): OptionLetter[][] {
  const letters = OPTION_LETTERS.slice(0, count);
  const result: OptionLetter[][] = [];
  for (let mask = 0; mask < 1 << count; mask += 1) {
    result.push(letters.filter((_, index) => (mask & (1 << index)) !== 0));
  }
  return result;
}

function product<T>(lists: T[][]): T[][] {
  return lists.reduce<T[][]>(
    (combinations, list) => combinations.flatMap((prefix) => list.map((item) => [...prefix, item])),
    [[]],
  );
}

function choicesFor(shape: Shape, perQuestion: (count: number) => OptionLetter[][]) {
  return product(shape.map(perQuestion)).map((picks) =>
    Object.fromEntries(picks.map((letters, index) => [index + 1, letters])),
  );
}

const FREE_TEXTS = [
  "",
  "Главное — скорость запуска, бюджет небольшой.",
  "3 a day is the most we can send",
  "2 варианта нам не подходят",
  "Интеграция с 1С обязательна.\nИ ещё: B2B-клиенты платят по счёту.",
  "  We care about   privacy first  ",
];

function questionsOf(shape: Shape) {
  return shape.map((count, index) => ({
    number: index + 1,
    letters: OPTION_LETTERS.slice(0, count).join(""),
  }));
}

function makeCase(shape: Shape, choice: Record<number, OptionLetter[]>, freeText: string) {
  const reply = composeReply(choice, freeText);
  return reply
    ? [
        {
          questions: questionsOf(shape),
          reply,
          selections: normalisedSelections(choice),
          free_text: freeText.trim().split("\n").map((line) => line.trim().replace(/\s+/g, " ")).join("\n"),
        },
      ]
    : [];
}

export function enumerateReplyCases(): ReplyCase[] {
  const every = (shape: Shape) => choicesFor(shape, subsets);
  const sparse = (shape: Shape) =>
    choicesFor(shape, (count) => [[], ["b"], OPTION_LETTERS.slice(0, count)]);
  const cases: ReplyCase[] = [];
  for (const shape of [[5], [3, 4], [2, 2, 2]]) {
    for (const choice of every(shape)) cases.push(...makeCase(shape, choice, ""));
  }
  for (const shape of [[5, 5, 5, 5, 5]]) {
    for (const choice of sparse(shape)) cases.push(...makeCase(shape, choice, ""));
  }
  const withText = [{}, { 1: ["b"] }, { 1: ["a", "c"], 2: ["e"] }, { 3: ["d"], 1: ["a"] }] as Record<
    number,
    OptionLetter[]
  >[];
  for (const choice of withText) {
    for (const text of FREE_TEXTS) cases.push(...makeCase([5, 5, 5], choice, text));
  }
  return cases;
}
