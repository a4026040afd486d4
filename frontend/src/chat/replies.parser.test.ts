// @vitest-environment node
/**
 * The fixture against the backend's own reply parser (app.conversation.parser), run by the
 * repository's Python environment: every reply the card composes must parse to the selections
 * and free text it was composed from, with no error.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BACKEND = fileURLToPath(new URL("../../../backend", import.meta.url));
const FIXTURE = fileURLToPath(new URL("./__fixtures__/replies.json", import.meta.url));
const PYTHON =
  process.env.JEEX_PYTHON ?? fileURLToPath(new URL("../../../.venv/bin/python", import.meta.url));

const CHECK = `
import json, sys
from app.conversation.parser import QuestionSpec, parse_reply
mismatches = []
cases = json.load(open(sys.argv[1], encoding="utf-8"))["cases"]
for case in cases:
    questions = [QuestionSpec(q["number"], tuple(q["letters"])) for q in case["questions"]]
    parsed = parse_reply(case["reply"], questions)
    got = {str(number): letters for number, letters in parsed.selections.items()}
    if got != case["selections"] or parsed.free_text != case["free_text"] or parsed.errors:
        mismatches.append({"reply": case["reply"], "selections": got,
                           "free_text": parsed.free_text,
                           "errors": [error.message for error in parsed.errors]})
print(json.dumps({"checked": len(cases), "mismatches": mismatches}))
`;

describe.skipIf(!existsSync(PYTHON))(
  `backend reply parser (needs ${PYTHON}; run scripts/bootstrap.sh or set JEEX_PYTHON)`,
  () => {
    it("parses every composed reply to the selections and free text it came from", () => {
      const output = execFileSync(PYTHON, ["-c", CHECK, FIXTURE], {
        cwd: BACKEND,
        encoding: "utf8",
        env: { ...process.env, PYTHONPATH: `${BACKEND}/src` },
      });
      const result = JSON.parse(output) as { checked: number; mismatches: unknown[] };
      expect(result.mismatches).toEqual([]);
      expect(result.checked).toBeGreaterThan(300);
    });
  },
);
