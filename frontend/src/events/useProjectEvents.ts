/**
 * The one live connection of a project page: `POST …/events/ticket`, then an EventSource on
 * `…/events?ticket=…&last_event_id=…`. Tickets are single-use, so the browser's own reconnect
 * cannot work; on any error this hook closes the stream, takes a new ticket and reopens from
 * the last event id it saw (replayed by the server), with a growing pause.
 */
import { useEffect, useRef, useState } from "react";

import { api, ApiError, unwrap, type Schemas } from "../api/client";

export interface ProjectEventMap {
  "run.started": Schemas["RunStarted"];
  "agent.floor": Schemas["AgentFloor"];
  "agent.message": Schemas["AgentMessage"];
  "expert.questions": Schemas["ExpertQuestions"];
  "expert.section.delta": Schemas["ExpertSectionDelta"];
  "expert.section": Schemas["ExpertSection"];
  "document.version": Schemas["DocumentVersionCreated"];
  "trace.stale": Schemas["TraceStale"];
  "stage.completed": Schemas["StageCompleted"];
  "run.completed": Schemas["RunCompleted"];
  "run.failed": Schemas["RunFailed"];
  "export.progress": Schemas["ExportProgress"];
  "export.ready": Schemas["ExportReady"];
  "export.failed": Schemas["ExportFailed"];
}
export type ProjectEventName = keyof ProjectEventMap;
export type ProjectEvent = {
  [Name in ProjectEventName]: { name: Name; data: ProjectEventMap[Name] };
}[ProjectEventName];

// An object, not a list: the type check fails when the API gains an event this does not name.
const LISTENED: Record<ProjectEventName, true> = {
  "run.started": true,
  "agent.floor": true,
  "agent.message": true,
  "expert.questions": true,
  "expert.section.delta": true,
  "expert.section": true,
  "document.version": true,
  "trace.stale": true,
  "stage.completed": true,
  "run.completed": true,
  "run.failed": true,
  "export.progress": true,
  "export.ready": true,
  "export.failed": true,
};
const EVENT_NAMES = Object.keys(LISTENED) as ProjectEventName[];

const MAX_PAUSE_MS = 15_000;

export type LiveState = "connecting" | "open" | "reconnecting";

/**
 * Subscribe while `startAfter` is known (undefined = not loaded yet; null = from now on).
 * `onEvent` may change between renders; the latest one is called. `onGone` is called, and
 * reconnecting stops, when the project answers 404 (deleted, or access ended).
 */
export function useProjectEvents(
  projectId: string,
  startAfter: string | null | undefined,
  onEvent: (event: ProjectEvent) => void,
  onGone: () => void,
): LiveState {
  const [state, setState] = useState<LiveState>("connecting");
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const gone = useRef(onGone);
  gone.current = onGone;
  const ready = startAfter !== undefined;
  const initialId = useRef<string | null>(null);
  if (ready && initialId.current === null) initialId.current = startAfter;

  useEffect(() => {
    if (!ready) return;
    let lastEventId = initialId.current;
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let pause = 500;
    let stopped = false;

    const reopenLater = () => {
      source?.close();
      source = null;
      if (stopped) return;
      setState("reconnecting");
      timer = setTimeout(() => void open(), pause);
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    };

    const open = async () => {
      let ticket: string;
      try {
        const answer = await unwrap(
          api.POST("/api/v1/projects/{project_id}/events/ticket", {
            params: { path: { project_id: projectId } },
          }),
        );
        ticket = answer.ticket;
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          gone.current();
          return;
        }
        reopenLater();
        return;
      }
      if (stopped) return;
      const query = new URLSearchParams({ ticket });
      if (lastEventId !== null) query.set("last_event_id", lastEventId);
      const stream = new EventSource(`/api/v1/projects/${projectId}/events?${query.toString()}`);
      source = stream;
      stream.onopen = () => {
        pause = 500;
        setState("open");
      };
      stream.onerror = reopenLater;
      for (const name of EVENT_NAMES) {
        stream.addEventListener(name, (message: MessageEvent<string>) => {
          if (message.lastEventId) lastEventId = message.lastEventId;
          const data = JSON.parse(message.data) as ProjectEventMap[typeof name];
          handler.current({ name, data } as ProjectEvent);
        });
      }
    };

    void open();
    return () => {
      stopped = true;
      clearTimeout(timer);
      source?.close();
    };
  }, [projectId, ready]);

  return state;
}
