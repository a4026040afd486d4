import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap, type Schemas } from "../api/client";
import { Failure } from "../common/Failure";
import { useT } from "../i18n/context";
import { keys, useTrace } from "../project/queries";

type Trace = Schemas["TraceRead"];

/** The chat command the engine answers by updating stale items (the same as typing it). */
export const UPDATE_COMMAND = "/update";

function staleSummary(trace: Trace): { items: string; changed: string } {
  const changed = new Set(trace.stale.flatMap((mark) => mark.cause_items));
  return { items: trace.stale.map((mark) => mark.item).join(", "), changed: [...changed].join(", ") };
}

/** A banner while a change has left later items stale, with the update one click away. */
export function StaleBanner({ projectId, canEdit }: { projectId: string; canEdit: boolean }) {
  const { t } = useT();
  const trace = useTrace(projectId);
  const update = useUpdateStale(projectId);
  if (!trace.data || trace.data.stale.length === 0) return null;
  return (
    <div className="banner stale-banner" role="status" aria-label={t("traceTitle")}>
      <span>{t("traceStale", staleSummary(trace.data))}</span>
      {canEdit && (
        <button type="button" disabled={update.isPending} onClick={() => update.mutate()}>
          {update.isPending ? t("traceUpdating") : t("traceUpdate")}
        </button>
      )}
      {update.isError && <Failure error={update.error} />}
    </div>
  );
}

function useUpdateStale(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/messages", {
          params: { path: { project_id: projectId } },
          body: { content: UPDATE_COMMAND },
        }),
      ),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: keys.messages(projectId) });
    },
  });
}

/** Every item of the active documents with what it serves, and the gaps. */
export function TracePanel({ projectId }: { projectId: string }) {
  const { t } = useT();
  const trace = useTrace(projectId);
  if (trace.isError) return <Failure error={trace.error} onRetry={() => void trace.refetch()} />;
  if (!trace.data) return <p role="status">{t("loading")}</p>;
  const { nodes, gaps } = trace.data;
  return (
    <section className="card trace-panel" aria-label={t("traceTitle")}>
      <h2>{t("traceTitle")}</h2>
      {nodes.length === 0 ? (
        <p>{t("traceEmpty")}</p>
      ) : (
        <>
          <h3>{t("traceItems")}</h3>
          <ul className="plain trace-items">
            {nodes.map((node) => (
              <li key={node.id} className={node.stale ? "stale" : undefined}>
                <strong>{node.id}</strong> {node.text}
                {node.links.length > 0 && (
                  <span className="trace-links">
                    {" "}
                    — {t("traceServes")} {node.links.join(", ")}
                  </span>
                )}
                {node.stale && <span className="trace-stale-mark"> ({t("traceStaleMark")})</span>}
              </li>
            ))}
          </ul>
          <h3>{t("traceGaps")}</h3>
          {gaps.length === 0 ? (
            <p>{t("traceNoGaps")}</p>
          ) : (
            <ul className="plain trace-gaps">
              {gaps.map((gap) => (
                <li key={`${gap.kind}-${gap.item}-${gap.target ?? ""}`}>
                  {t(`gap_${gap.kind}`, { item: gap.item, target: gap.target ?? "" })}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
