import { useState } from "react";

import { ApiError } from "../api/client";
import { ChatPanel } from "../chat/ChatPanel";
import { Failure } from "../common/Failure";
import { Header } from "../common/Header";
import { NotFound } from "../common/NotFound";
import { DocumentPane } from "../documents/DocumentPane";
import { LanguageProvider, useT } from "../i18n/context";
import { ExportPanel } from "../progress/ExportPanel";
import { StageProgress } from "../progress/StageProgress";
import { MembersPanel } from "../projects/MembersPanel";
import { useProject } from "../projects/queries";
import { StaleBanner, TracePanel } from "../trace/TracePanel";
import { useMessages, useProgress } from "./queries";
import { useLiveProject } from "./useLiveProject";

function Loading() {
  const { t } = useT();
  return (
    <p className="page" role="status">
      {t("loading")}
    </p>
  );
}

export function ProjectPage({ projectId }: { projectId: string }) {
  const project = useProject(projectId);
  // Asked for beside the project, not after it: the first screen needs all three.
  useProgress(projectId);
  useMessages(projectId);
  if (project.isError) {
    const missing = project.error instanceof ApiError && [404, 422].includes(project.error.status);
    return (
      <LanguageProvider code={null}>
        {missing ? <NotFound /> : <Failure error={project.error} onRetry={() => void project.refetch()} />}
      </LanguageProvider>
    );
  }
  if (project.isPending) {
    return (
      <LanguageProvider code={null}>
        <Loading />
      </LanguageProvider>
    );
  }
  return (
    <LanguageProvider code={project.data.language}>
      <ProjectWorkspace projectId={projectId} name={project.data.name} role={project.data.role} />
    </LanguageProvider>
  );
}

function ProjectWorkspace({
  projectId,
  name,
  role,
}: {
  projectId: string;
  name: string;
  role: "owner" | "editor" | "viewer";
}) {
  const { t } = useT();
  const progress = useProgress(projectId);
  const live = useLiveProject(projectId, progress.isSuccess ? progress.data.last_event_id : undefined);
  const [showMembers, setShowMembers] = useState(false);
  const [showTrace, setShowTrace] = useState(false);
  const canEdit = role !== "viewer";

  return (
    <div className="project-screen">
      <Header>
        <h1 className="project-title">{name}</h1>
        <button type="button" className="quiet" aria-expanded={showTrace} onClick={() => setShowTrace((shown) => !shown)}>
          {t("trace")}
        </button>
        {role === "owner" && (
          <button type="button" className="quiet" aria-expanded={showMembers} onClick={() => setShowMembers((shown) => !shown)}>
            {t("members")}
          </button>
        )}
      </Header>
      {live.live === "reconnecting" && (
        <p className="banner" role="status">
          {t("liveDisconnected")}
        </p>
      )}
      <StaleBanner projectId={projectId} canEdit={canEdit} />
      {showMembers && <MembersPanel projectId={projectId} />}
      {showTrace && <TracePanel projectId={projectId} />}
      {progress.isError && <Failure error={progress.error} onRetry={() => void progress.refetch()} />}
      {progress.data && (
        <div className="progress-bar">
          <StageProgress projectId={projectId} progress={progress.data} canEdit={canEdit} />
          <ExportPanel
            projectId={projectId}
            canEdit={canEdit}
            hasDocuments={progress.data.documents.some((document) => document.active_version !== null)}
            live={live.exportState}
          />
        </div>
      )}
      <main className="workspace">
        <ChatPanel
          projectId={projectId}
          progress={progress.data}
          streams={live.streams}
          canEdit={canEdit}
        />
        {progress.data && <DocumentPane projectId={projectId} progress={progress.data} canEdit={canEdit} />}
      </main>
    </div>
  );
}
