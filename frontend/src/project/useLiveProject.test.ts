import { describe, expect, it } from "vitest";

import { appendDelta, type StreamingSection } from "./useLiveProject";

const delta = (sequence: number, text: string, agent = "qa_expert") => ({
  project_id: "p",
  run_id: "r",
  agent,
  delta: text,
  sequence,
  type: "expert.section.delta" as const,
});

describe("appendDelta", () => {
  it("joins an expert's deltas in order", () => {
    const streams = [delta(0, "Раз "), delta(1, "два")].reduce(appendDelta, [] as StreamingSection[]);
    expect(streams).toEqual([{ runId: "r", agent: "qa_expert", text: "Раз два", sequence: 1 }]);
  });

  it("ignores a delta replayed after a reconnect", () => {
    const streams = [delta(0, "Раз "), delta(1, "два"), delta(1, "два")].reduce(appendDelta, [] as StreamingSection[]);
    expect(streams[0]?.text).toBe("Раз два");
  });

  it("keeps two experts' texts apart", () => {
    const streams = [delta(0, "A", "qa_expert"), delta(0, "B", "security_expert")].reduce(appendDelta, [] as StreamingSection[]);
    expect(streams.map((stream) => stream.text)).toEqual(["A", "B"]);
  });
});
