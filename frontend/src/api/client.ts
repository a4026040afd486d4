import createClient, { type Middleware } from "openapi-fetch";

import { currentAccessToken } from "../auth/session";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** An error answer of the API, with its stable code (`project_not_found`, …). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

function isErrorResponse(value: unknown): value is Schemas["ErrorResponse"] {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === "object" && error !== null && "code" in error && "message" in error;
}

export function toApiError(status: number, body: unknown): ApiError {
  if (isErrorResponse(body)) return new ApiError(status, body.error.code, body.error.message);
  return new ApiError(status, "http_error", `The server answered ${status}.`);
}

const authorise: Middleware = {
  async onRequest({ request }) {
    const token = await currentAccessToken();
    if (token !== null) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
};

export const api = createClient<paths>({
  baseUrl: window.location.origin,
  credentials: "same-origin",
  fetch: (request) => globalThis.fetch(request),
});
api.use(authorise);

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The body of a successful answer; any error answer becomes an ApiError. */
export async function unwrap<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw toApiError(response.status, error);
  return data as T;
}
