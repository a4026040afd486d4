import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap, type Schemas } from "../api/client";
import { Failure } from "../common/Failure";
import { useT } from "../i18n/context";
import { keys, type DocumentType } from "../project/queries";

interface Props {
  projectId: string;
  progress: Schemas["ProjectProgress"];
  canEdit: boolean;
}

function nextStage(stages: Schemas["StageRead"][], stage: DocumentType): DocumentType | null {
  const index = stages.findIndex((item) => item.stage === stage);
  return stages[index + 1]?.stage ?? null;
}

export function StageProgress({ projectId, progress, canEdit }: Props) {
  const { t } = useT();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["project", projectId] });
  const stagePath = (stage: DocumentType) => ({ params: { path: { project_id: projectId, stage } } });
  const complete = useMutation({
    mutationFn: (stage: DocumentType) =>
      unwrap(api.POST("/api/v1/projects/{project_id}/stages/{stage}/complete", stagePath(stage))),
    onSuccess: refresh,
  });
  const start = useMutation({
    mutationFn: (stage: DocumentType) =>
      unwrap(api.POST("/api/v1/projects/{project_id}/stages/{stage}/start", stagePath(stage))),
    onSuccess: refresh,
  });
  const current = progress.stages.find((stage) => stage.stage === progress.current_stage);
  const following = nextStage(progress.stages, progress.current_stage);
  const busy = complete.isPending || start.isPending || progress.active_run !== null;

  return (
    <nav className="stages" aria-label={t("progress")}>
      <ol className="plain stage-list">
        {progress.stages.map((stage, index) => {
          const isCurrent = stage.stage === progress.current_stage;
          return (
            <li
              key={stage.stage}
              className={`stage ${stage.status}${isCurrent ? " current" : ""}`}
              aria-current={isCurrent ? "step" : undefined}
            >
              <span className="stage-number">{index + 1}</span>
              <span className="stage-name">{t(`stage_${stage.stage}`)}</span>
              <span className="stage-status">
                {t(`status_${stage.status}`)}
                {isCurrent && <span className="visually-hidden">, {t("currentStage")}</span>}
              </span>
              {canEdit && stage.status === "completed" && !isCurrent && (
                <button
                  type="button"
                  className="quiet small"
                  disabled={busy}
                  aria-label={`${t("reopen")}: ${t(`stage_${stage.stage}`)}`}
                  onClick={() => start.mutate(stage.stage)}
                >
                  {t("reopen")}
                </button>
              )}
            </li>
          );
        })}
      </ol>
      {canEdit && current?.status === "in_progress" && (
        <button type="button" disabled={busy} onClick={() => complete.mutate(current.stage)}>
          {t("completeStage")}
        </button>
      )}
      {canEdit && current?.status === "completed" && following !== null && (
        <button type="button" className="primary" disabled={busy} onClick={() => start.mutate(following)}>
          {t("startNext", { stage: t(`stage_${following}`) })}
        </button>
      )}
      {complete.isError && <Failure error={complete.error} />}
      {start.isError && <Failure error={start.error} />}
    </nav>
  );
}
