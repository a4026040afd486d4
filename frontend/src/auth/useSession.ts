import { useSyncExternalStore } from "react";

import { onSessionChange, sessionStatus, type SessionStatus } from "./session";

export function useSession(): SessionStatus {
  return useSyncExternalStore(onSessionChange, sessionStatus, sessionStatus);
}
