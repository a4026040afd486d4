import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api, unwrap, type Schemas } from "../api/client";
import { agentName } from "../chat/agents";
import { Failure } from "../common/Failure";
import { formatTime } from "../common/time";
import { useT } from "../i18n/context";
import { keys, useMessages, type DocumentType } from "../project/queries";

type Summary = Schemas["VersionSummary"];

function SourceMessages({ projectId, ids }: { projectId: string; ids: string[] }) {
  const messages = useMessages(projectId);
  if (ids.length === 0) return null;
  const byId = new Map((messages.data?.items ?? []).map((message) => [message.id, message]));
  return (
    <ul className="plain sources">
      {ids.map((id) => {
        const content = byId.get(id)?.content ?? id.slice(0, 8);
        return (
          <li key={id}>
            <a href={`#message-${id}`}>“{content.length > 60 ? `${content.slice(0, 60)}…` : content}”</a>
          </li>
        );
      })}
    </ul>
  );
}

interface Props {
  projectId: string;
  documentType: DocumentType;
  versions: Summary[];
  active: number;
  shown: number;
  canEdit: boolean;
  onShow: (version: number) => void;
}

export function VersionList({ projectId, documentType, versions, active, shown, canEdit, onShow }: Props) {
  const { t, language } = useT();
  const queryClient = useQueryClient();
  const rollback = useMutation({
    mutationFn: (version: number) =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/documents/{document_type}/rollback", {
          params: { path: { project_id: projectId, document_type: documentType } },
          body: { version },
        }),
      ),
    onSuccess: async (created) => {
      await queryClient.invalidateQueries({ queryKey: keys.document(projectId, documentType) });
      await queryClient.invalidateQueries({ queryKey: keys.progress(projectId) });
      onShow(created.version);
    },
  });
  const newestFirst = [...versions].sort((left, right) => right.version - left.version);
  return (
    <section aria-label={t("versions")} className="versions">
      <h3>{t("versions")}</h3>
      {rollback.isSuccess && <p role="status">{t("rollbackDone", { version: rollback.data.version })}</p>}
      {rollback.isError && <Failure error={rollback.error} />}
      <ol className="plain">
        {newestFirst.map((version) => {
          const author = version.author_agent ? agentName(version.author_agent, t) : t("manualEdit");
          return (
            <li key={version.version} className={`version${version.version === shown ? " shown" : ""}`}>
              <div className="version-head">
                <strong>{t("versionN", { version: version.version })}</strong>
                <span>{author}</span>
                <time dateTime={version.created_at}>{formatTime(version.created_at, language)}</time>
              </div>
              <p className="muted">{version.reason}</p>
              <SourceMessages projectId={projectId} ids={version.source_message_ids} />
              <div className="row-actions">
                <button
                  type="button"
                  className="quiet"
                  aria-label={`${t("viewVersion")} v${version.version}`}
                  aria-pressed={version.version === shown}
                  onClick={() => onShow(version.version)}
                >
                  {t("viewVersion")}
                </button>
                {canEdit && version.version !== active && (
                  <button
                    type="button"
                    className="quiet"
                    aria-label={`${t("rollback")} v${version.version}`}
                    disabled={rollback.isPending}
                    onClick={() => rollback.mutate(version.version)}
                  >
                    {t("rollback")}
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
