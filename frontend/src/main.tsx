import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App";
import { ApiError } from "./api/client";
import { refreshSession } from "./auth/session";
import "./styles/app.css";

// Live data arrives over SSE, which invalidates what changed: nothing is polled or refetched
// on focus, and a 404 (no such project, or no access) is an answer, not something to retry.
const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      refetchOnWindowFocus: false,
      staleTime: Infinity,
      retry: (failures, error) =>
        !(error instanceof ApiError && error.status < 500) && failures < 2,
    },
  },
});

// Ask for the session before React renders: the first screen's data waits on it. The sign-in
// page trades its code instead.
if (window.location.pathname !== "/sign-in") void refreshSession();

const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
