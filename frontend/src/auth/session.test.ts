import { afterEach, describe, expect, it, vi } from "vitest";

import { currentAccessToken, refreshSession, sessionStatus, signInWithCode } from "./session";

function answer(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("session", () => {
  it("refreshes once however many callers ask at the same time", async () => {
    // A refresh token is single-use: a second concurrent refresh would revoke the sign-in.
    const fetch = vi.fn(async () => answer(200, { access_token: "t1", expires_in: 900 }));
    vi.stubGlobal("fetch", fetch);
    const results = await Promise.all([refreshSession(), refreshSession(), refreshSession()]);
    expect(results).toEqual([true, true, true]);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(await currentAccessToken()).toBe("t1");
  });

  it("is signed out when the refresh cookie is refused", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => answer(401, { error: { code: "invalid_token", message: "no" } })));
    expect(await refreshSession()).toBe(false);
    expect(sessionStatus()).toBe("signed-out");
    expect(await currentAccessToken()).toBeNull();
  });

  it("posts the sign-in code and keeps the access token in memory", async () => {
    const sent: { path: string; body: string }[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        sent.push({ path: new URL(request.url).pathname, body: await request.text() });
        return answer(200, { access_token: "t2", expires_in: 900 });
      }),
    );
    expect(await signInWithCode("abc")).toBe(true);
    expect(sent).toEqual([{ path: "/api/v1/auth/sign-in-code", body: '{"code":"abc"}' }]);
    expect(await currentAccessToken()).toBe("t2");
    expect(window.localStorage.length).toBe(0);
    expect(window.sessionStorage.length).toBe(0);
  });
});
