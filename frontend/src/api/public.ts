import createClient from "openapi-fetch";

import type { paths } from "./schema";

/**
 * The client for the sign-in calls themselves (code, refresh, logout): no Authorization
 * header, so it never waits on the session it is building. `fetch` is looked up per call.
 */
export const publicApi = createClient<paths>({
  baseUrl: window.location.origin,
  credentials: "same-origin",
  fetch: (request) => globalThis.fetch(request),
});
