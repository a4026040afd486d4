import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, ApiError, unwrap, type Schemas } from "../api/client";
import { currentAccessToken } from "../auth/session";
import { Failure } from "../common/Failure";
import { useT } from "../i18n/context";
import type { ExportState } from "../project/useLiveProject";
import { keys, useExports } from "../project/queries";

/** The archive needs the bearer token, so it is fetched and handed to the browser as a file. */
async function downloadArchive(exported: Schemas["ExportRead"]): Promise<void> {
  if (exported.download_path === null) throw new Error("the export is not downloadable");
  const token = await currentAccessToken();
  const response = await fetch(exported.download_path, {
    headers: token === null ? {} : { Authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new ApiError(response.status, "download_failed", `download answered ${response.status}`);
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const plain = /filename="?([^";]+)"?/i.exec(disposition)?.[1];
  const name = encoded ? decodeURIComponent(encoded) : (plain ?? `export-${exported.id}.zip`);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function ExportPanel({
  projectId,
  canEdit,
  hasDocuments,
  live,
}: {
  projectId: string;
  canEdit: boolean;
  hasDocuments: boolean;
  live: ExportState | null;
}) {
  const { t } = useT();
  const queryClient = useQueryClient();
  const exports = useExports(projectId);
  const [requested, setRequested] = useState<string | null>(null);
  const start = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/projects/{project_id}/exports", { params: { path: { project_id: projectId } } })),
    onSuccess: async (created) => {
      setRequested(created.id);
      await queryClient.invalidateQueries({ queryKey: keys.exports(projectId) });
    },
  });
  const download = useMutation({ mutationFn: downloadArchive });
  const latest = exports.data?.[0];
  const liveForLatest = live !== null && latest !== undefined && live.exportId === latest.id ? live : null;
  const building = latest !== undefined && (latest.status === "queued" || latest.status === "building");

  return (
    <section className="export" aria-label={t("export")}>
      {canEdit && (
        <button type="button" onClick={() => start.mutate()} disabled={start.isPending || building || !hasDocuments}>
          {t("exportStart")}
        </button>
      )}
      {building && (
        <div role="status" className="export-progress">
          <span>
            {t("exportStep", {
              step: liveForLatest?.step ?? latest.status,
              percent: liveForLatest?.percent ?? 0,
            })}
          </span>
          <progress max={100} value={liveForLatest?.percent ?? 0} aria-label={t("export")} />
        </div>
      )}
      {latest?.status === "ready" && (
        <div className="export-ready">
          {requested === latest.id && <span role="status">{t("exportReady")}</span>}
          <button type="button" className="primary" onClick={() => download.mutate(latest)} disabled={download.isPending}>
            {t("download")}
          </button>
        </div>
      )}
      {latest?.status === "failed" && (
        <p role="alert">{t("exportFailed", { message: latest.error?.message ?? latest.status })}</p>
      )}
      {start.isError && <Failure error={start.error} />}
      {download.isError && <Failure error={download.error} />}
    </section>
  );
}
