import { useQuery } from "@tanstack/react-query";

import { api, toApiError, unwrap, type Schemas } from "../api/client";

export type DocumentType = Schemas["DocumentType"];
export const DOCUMENT_TYPES: DocumentType[] = ["idea", "specs", "architecture", "plan"];

const path = (projectId: string) => ({ params: { path: { project_id: projectId } } });
const docPath = (projectId: string, documentType: DocumentType) => ({
  params: { path: { project_id: projectId, document_type: documentType } },
});

export const keys = {
  progress: (projectId: string) => ["project", projectId, "progress"] as const,
  messages: (projectId: string) => ["project", projectId, "messages"] as const,
  documents: (projectId: string) => ["project", projectId, "documents"] as const,
  document: (projectId: string, type: DocumentType) => ["project", projectId, "document", type] as const,
  exports: (projectId: string) => ["project", projectId, "exports"] as const,
  trace: (projectId: string) => ["project", projectId, "trace"] as const,
};

export function useProgress(projectId: string) {
  return useQuery({
    queryKey: keys.progress(projectId),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/progress", path(projectId))),
  });
}

export function useMessages(projectId: string) {
  return useQuery({
    queryKey: keys.messages(projectId),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/messages", {
          params: { path: { project_id: projectId }, query: { limit: 200 } },
        }),
      ),
  });
}

export function useActiveDocument(projectId: string, type: DocumentType, enabled: boolean) {
  return useQuery({
    queryKey: [...keys.document(projectId, type), "active"],
    enabled,
    queryFn: async () => {
      const { data, error, response } = await api.GET(
        "/api/v1/projects/{project_id}/documents/{document_type}",
        docPath(projectId, type),
      );
      if (!response.ok || data === undefined) throw toApiError(response.status, error);
      return { version: data, etag: response.headers.get("ETag") ?? `"${data.version}"` };
    },
  });
}

export function useVersions(projectId: string, type: DocumentType, enabled: boolean) {
  return useQuery({
    queryKey: [...keys.document(projectId, type), "versions"],
    enabled,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/documents/{document_type}/versions", docPath(projectId, type)),
      ),
  });
}

export function usePreview(projectId: string, type: DocumentType, version: number | null) {
  return useQuery({
    queryKey: [...keys.document(projectId, type), "preview", version],
    enabled: version !== null,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/documents/{document_type}/preview", {
          params: {
            path: { project_id: projectId, document_type: type },
            query: version === null ? {} : { version },
          },
          parseAs: "text",
        }),
      ),
  });
}

export function useDiff(projectId: string, type: DocumentType, from: number, to: number) {
  return useQuery({
    queryKey: [...keys.document(projectId, type), "diff", from, to],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/documents/{document_type}/diff", {
          params: { path: { project_id: projectId, document_type: type }, query: { from, to } },
        }),
      ),
  });
}

export function useExports(projectId: string) {
  return useQuery({
    queryKey: keys.exports(projectId),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/exports", {
          params: { path: { project_id: projectId }, query: { limit: 5 } },
        }),
      ),
  });
}

export function useTrace(projectId: string) {
  return useQuery({
    queryKey: keys.trace(projectId),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/trace", path(projectId))),
  });
}
