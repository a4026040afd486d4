import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../api/client";

export const projectKeys = {
  list: ["projects"] as const,
  one: (projectId: string) => ["project", projectId] as const,
  members: (projectId: string) => ["project", projectId, "members"] as const,
  invitations: (projectId: string) => ["project", projectId, "invitations"] as const,
};

export function useProjects() {
  return useQuery({
    queryKey: projectKeys.list,
    queryFn: () => unwrap(api.GET("/api/v1/projects", { params: { query: { limit: 100 } } })),
  });
}

export function useProject(projectId: string) {
  return useQuery({
    queryKey: projectKeys.one(projectId),
    queryFn: () =>
      unwrap(api.GET("/api/v1/projects/{project_id}", { params: { path: { project_id: projectId } } })),
  });
}
