// @vitest-environment node
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

import { composeReply, selectionTokens, toggleOption } from "./compose";
import { enumerateReplyCases, type ReplyCase } from "./replyCases";

const FIXTURE = new URL("./__fixtures__/replies.json", import.meta.url);

function readFixture(): ReplyCase[] {
  return (JSON.parse(readFileSync(FIXTURE, "utf8")) as { cases: ReplyCase[] }).cases;
}

describe("reply fixture", () => {
  if (process.env.JEEX_UPDATE_REPLY_FIXTURE === "1") {
    const lines = enumerateReplyCases().map((item) => JSON.stringify(item));
    writeFileSync(FIXTURE, `{"cases": [\n${lines.join(",\n")}\n]}\n`);
  }

  it("holds exactly the replies the card composes, with their selections", () => {
    // The fixture is what the backend's parser is checked against (replies.parser.test.ts
    // runs it); a composer change that the fixture does not follow fails here.
    expect(readFixture()).toEqual(enumerateReplyCases());
  });

  it("covers several hundred compositions", () => {
    expect(readFixture().length).toBeGreaterThan(300);
  });
});

describe("composeReply", () => {
  it("writes each option with its question number, questions ascending", () => {
    expect(composeReply({ 2: ["d", "c"], 1: ["b"] }, "")).toBe("1.b, 2.c, 2.d");
  });

  it("puts the free text on the next line", () => {
    expect(composeReply({ 1: ["a"] }, "  быстрее  ")).toBe("1.a\nбыстрее");
  });

  it("closes the list with a dash before text that starts with a digit", () => {
    expect(composeReply({ 1: ["a"] }, "3 a day")).toBe("1.a —\n3 a day");
  });

  it("sends the free text alone when nothing is chosen", () => {
    expect(composeReply({ 1: [] }, "Не знаю")).toBe("Не знаю");
  });

  it("toggles an option on and off", () => {
    const on = toggleOption({}, 2, "c");
    expect(selectionTokens(on)).toEqual(["2.c"]);
    expect(selectionTokens(toggleOption(on, 2, "c"))).toEqual([]);
  });
});
