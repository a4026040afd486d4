/**
 * The signed-in session of this page. The access token lives in this module's memory only;
 * the refresh token is the API's httpOnly cookie, which `POST /auth/refresh` rotates.
 *
 * Refresh tokens are single-use and reusing one revokes the whole sign-in, so two refreshes
 * must never race: one at a time per page (a shared promise) and per browser (a Web Lock
 * shared by every tab of this origin).
 */

import { publicApi } from "../api/public";
import type { components } from "../api/schema";

type TokenAnswer = components["schemas"]["AccessTokenResponse"];
export type SessionStatus = "unknown" | "signed-in" | "signed-out";

const REFRESH_MARGIN_MS = 60_000;

let accessToken: string | null = null;
let expiresAt = 0;
let status: SessionStatus = "unknown";
let refreshing: Promise<boolean> | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<() => void>();

function setStatus(next: SessionStatus): void {
  status = next;
  for (const listener of listeners) listener();
}

export function sessionStatus(): SessionStatus {
  return status;
}

export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function accept(answer: TokenAnswer): void {
  accessToken = answer.access_token;
  expiresAt = Date.now() + answer.expires_in * 1000;
  clearTimeout(refreshTimer);
  const delay = Math.max(answer.expires_in * 1000 - REFRESH_MARGIN_MS, 5_000);
  refreshTimer = setTimeout(() => void refreshSession(), delay);
  setStatus("signed-in");
}

function forget(): void {
  accessToken = null;
  expiresAt = 0;
  clearTimeout(refreshTimer);
  setStatus("signed-out");
}

async function tokenFrom(
  call: Promise<{ data?: TokenAnswer; response: Response }>,
): Promise<TokenAnswer | null> {
  const { data, response } = await call;
  if (response.status === 401) return null;
  if (!response.ok || data === undefined) throw new Error(`sign-in answered ${response.status}`);
  return data;
}

async function withRefreshLock<T>(work: () => Promise<T>): Promise<T> {
  if (typeof navigator !== "undefined" && "locks" in navigator) {
    return navigator.locks.request("jeex-refresh", work);
  }
  return work();
}

/** Exchange the refresh cookie for a new access token; false when there is no session. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= withRefreshLock(async () => {
    const answer = await tokenFrom(publicApi.POST("/api/v1/auth/refresh", { body: {} }));
    if (answer === null) {
      forget();
      return false;
    }
    accept(answer);
    return true;
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** The access token for a request, refreshed first when it is about to expire. */
export async function currentAccessToken(): Promise<string | null> {
  if (refreshing !== null) await refreshing;
  if (accessToken !== null && Date.now() > expiresAt - 10_000) await refreshSession();
  return accessToken;
}

/** Sign in with a local single-use code (`serve` prints the link that carries it). */
export async function signInWithCode(code: string): Promise<boolean> {
  const answer = await tokenFrom(publicApi.POST("/api/v1/auth/sign-in-code", { body: { code } }));
  if (answer === null) return false;
  accept(answer);
  return true;
}

export async function signOut(): Promise<void> {
  await publicApi.POST("/api/v1/auth/logout", { body: {} });
  forget();
}
