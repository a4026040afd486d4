/**
 * Turns the project's events into fresh server state: each event invalidates the queries it
 * makes stale, and an expert's section deltas are gathered into the text being written.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useState } from "react";

import type { Schemas } from "../api/client";
import { useProjectEvents, type LiveState, type ProjectEvent } from "../events/useProjectEvents";
import { projectKeys } from "../projects/queries";
import { keys, type DocumentType } from "./queries";

export interface StreamingSection {
  runId: string;
  agent: string;
  text: string;
  sequence: number;
}

export interface ExportState {
  exportId: string;
  step: string;
  percent: number;
  error: Schemas["ErrorInfo"] | null;
}

export interface LiveProject {
  live: LiveState;
  streams: StreamingSection[];
  exportState: ExportState | null;
}

export function appendDelta(
  streams: StreamingSection[],
  delta: Schemas["ExpertSectionDelta"],
): StreamingSection[] {
  const index = streams.findIndex((item) => item.runId === delta.run_id && item.agent === delta.agent);
  const current = index >= 0 ? streams[index] : undefined;
  // A replayed delta (after a reconnect) was already applied.
  if (current !== undefined && delta.sequence <= current.sequence) return streams;
  const next = {
    runId: delta.run_id,
    agent: delta.agent,
    text: (current?.text ?? "") + delta.delta,
    sequence: delta.sequence,
  };
  return current === undefined ? [...streams, next] : streams.map((item, at) => (at === index ? next : item));
}

export function useLiveProject(projectId: string, startAfter: string | null | undefined): LiveProject {
  const queryClient = useQueryClient();
  const [streams, setStreams] = useState<StreamingSection[]>([]);
  const [exportState, setExportState] = useState<ExportState | null>(null);

  const invalidate = useCallback(
    (queryKey: readonly unknown[]) => void queryClient.invalidateQueries({ queryKey }),
    [queryClient],
  );
  const endStream = useCallback(
    (runId: string, agent?: string) =>
      setStreams((items) => items.filter((item) => item.runId !== runId || (agent !== undefined && item.agent !== agent))),
    [],
  );

  const onEvent = useCallback(
    (event: ProjectEvent) => {
      switch (event.name) {
        case "expert.section.delta":
          setStreams((items) => appendDelta(items, event.data));
          return;
        case "expert.section":
          endStream(event.data.run_id, event.data.agent);
          invalidate(keys.messages(projectId));
          return;
        case "agent.message":
        case "expert.questions":
          if (event.data.run_id) endStream(event.data.run_id, event.data.agent ?? undefined);
          invalidate(keys.messages(projectId));
          return;
        case "agent.floor":
          return;
        case "run.started":
          invalidate(keys.progress(projectId));
          invalidate(keys.messages(projectId));
          return;
        case "run.completed":
          endStream(event.data.run_id);
          // The first run names the project's language, which the interface then speaks.
          invalidate(projectKeys.one(projectId));
          invalidate(keys.progress(projectId));
          invalidate(keys.messages(projectId));
          return;
        case "run.failed":
          endStream(event.data.run_id);
          invalidate(keys.progress(projectId));
          invalidate(keys.messages(projectId));
          return;
        case "document.version":
          invalidate(keys.document(projectId, event.data.document_type as DocumentType));
          invalidate(keys.documents(projectId));
          invalidate(keys.progress(projectId));
          invalidate(keys.trace(projectId));
          return;
        case "trace.stale":
          invalidate(keys.trace(projectId));
          invalidate(keys.messages(projectId));
          return;
        case "stage.completed":
          invalidate(keys.progress(projectId));
          invalidate(projectKeys.one(projectId));
          invalidate(keys.messages(projectId));
          return;
        case "export.progress":
          setExportState({
            exportId: event.data.export_id,
            step: event.data.step,
            percent: event.data.percent,
            error: null,
          });
          return;
        case "export.ready":
          setExportState({ exportId: event.data.export_id, step: "ready", percent: 100, error: null });
          invalidate(keys.exports(projectId));
          return;
        case "export.failed":
          setExportState({ exportId: event.data.export_id, step: "failed", percent: 100, error: event.data.error });
          invalidate(keys.exports(projectId));
          return;
      }
    },
    [endStream, invalidate, projectId],
  );

  // The project page then shows "not found" from the project's own 404.
  const onGone = useCallback(() => invalidate(projectKeys.one(projectId)), [invalidate, projectId]);
  const live = useProjectEvents(projectId, startAfter, onEvent, onGone);
  return { live, streams, exportState };
}
