import { useEffect, useId, useState } from "react";

import type { Schemas } from "../api/client";
import { Failure } from "../common/Failure";
import { useT } from "../i18n/context";
import { DOCUMENT_TYPES, useActiveDocument, useVersions, type DocumentType } from "../project/queries";
import { DocumentEditor } from "./DocumentEditor";
import { DocumentPreview } from "./DocumentPreview";
import { VersionDiff } from "./VersionDiff";
import { VersionList } from "./VersionList";

interface Props {
  projectId: string;
  progress: Schemas["ProjectProgress"];
  canEdit: boolean;
}

function activeVersions(progress: Schemas["ProjectProgress"]): Partial<Record<DocumentType, number>> {
  const result: Partial<Record<DocumentType, number>> = {};
  for (const status of progress.documents) {
    if (status.active_version !== null) result[status.document_type] = status.active_version;
  }
  return result;
}

function VersionSelect({
  label,
  value,
  versions,
  onChange,
}: {
  label: string;
  value: number;
  versions: number[];
  onChange: (version: number) => void;
}) {
  const id = useId();
  return (
    <span className="field-inline">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange(Number(event.target.value))}>
        {versions.map((version) => (
          <option key={version} value={version}>
            v{version}
          </option>
        ))}
      </select>
    </span>
  );
}

function DocumentView({
  projectId,
  documentType,
  active,
  canEdit,
}: {
  projectId: string;
  documentType: DocumentType;
  active: number;
  canEdit: boolean;
}) {
  const { t } = useT();
  const [shown, setShown] = useState(active);
  const [editing, setEditing] = useState(false);
  const [comparing, setComparing] = useState(false);
  const [from, setFrom] = useState(Math.max(active - 1, 1));
  const [to, setTo] = useState(active);
  const versions = useVersions(projectId, documentType, true);
  const current = useActiveDocument(projectId, documentType, editing);

  // A new version (an integration, a rollback, someone's edit) is what the reader wants next.
  useEffect(() => {
    setShown(active);
    setFrom(Math.max(active - 1, 1));
    setTo(active);
  }, [active]);

  const numbers = (versions.data ?? []).map((version) => version.version).sort((a, b) => a - b);
  return (
    <div className="document-view">
      <div className="toolbar">
        <span className="version-label">
          {t("versionN", { version: shown })}
          {shown !== active && ` (${t("versionN", { version: active })} ↑)`}
        </span>
        {canEdit && !editing && (
          <button type="button" onClick={() => setEditing(true)}>
            {t("edit")}
          </button>
        )}
        {numbers.length > 1 && (
          <button type="button" aria-pressed={comparing} onClick={() => setComparing((on) => !on)}>
            {t("compare")}
          </button>
        )}
      </div>
      {editing &&
        (current.isPending ? (
          <p role="status">{t("loading")}</p>
        ) : current.isError ? (
          <Failure error={current.error} />
        ) : (
          // Keyed by nothing that live updates change: a version saved meanwhile must not
          // replace the text being edited (saving then meets the conflict instead).
          <DocumentEditor
            projectId={projectId}
            documentType={documentType}
            base={current.data.version}
            onDone={() => setEditing(false)}
          />
        ))}
      {comparing && numbers.length > 1 && (
        <div className="compare">
          <div className="toolbar">
            <VersionSelect label={t("compareFrom")} value={from} versions={numbers} onChange={setFrom} />
            <VersionSelect label={t("compareTo")} value={to} versions={numbers} onChange={setTo} />
          </div>
          <VersionDiff projectId={projectId} documentType={documentType} from={from} to={to} />
        </div>
      )}
      {!editing && <DocumentPreview projectId={projectId} documentType={documentType} version={shown} />}
      {versions.isError && <Failure error={versions.error} />}
      {versions.data && (
        <VersionList
          projectId={projectId}
          documentType={documentType}
          versions={versions.data}
          active={active}
          shown={shown}
          canEdit={canEdit}
          onShow={setShown}
        />
      )}
    </div>
  );
}

export function DocumentPane({ projectId, progress, canEdit }: Props) {
  const { t } = useT();
  const active = activeVersions(progress);
  const preferred: DocumentType = active[progress.current_stage] !== undefined ? progress.current_stage : "idea";
  const [chosen, setChosen] = useState<DocumentType | null>(null);
  const selected = chosen ?? preferred;
  const tabsId = useId();
  const version = active[selected];

  return (
    <section className="document-pane" aria-label={t("document")}>
      <div role="tablist" aria-label={t("document")} className="tabs">
        {DOCUMENT_TYPES.map((type) => (
          <button
            key={type}
            role="tab"
            type="button"
            id={`${tabsId}-${type}`}
            aria-selected={type === selected}
            aria-controls={`${tabsId}-panel`}
            tabIndex={type === selected ? 0 : -1}
            onClick={() => setChosen(type)}
            onKeyDown={(event) => {
              const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
              if (step === 0) return;
              const index = (DOCUMENT_TYPES.indexOf(type) + step + DOCUMENT_TYPES.length) % DOCUMENT_TYPES.length;
              const next = DOCUMENT_TYPES[index] ?? type;
              setChosen(next);
              document.getElementById(`${tabsId}-${next}`)?.focus();
            }}
          >
            {t(`stage_${type}`)}
            {active[type] !== undefined && <span className="badge">v{active[type]}</span>}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${tabsId}-panel`} aria-labelledby={`${tabsId}-${selected}`} className="tab-panel">
        {version === undefined ? (
          <p className="muted">{t("documentEmpty")}</p>
        ) : (
          <DocumentView
            key={selected}
            projectId={projectId}
            documentType={selected}
            active={version}
            canEdit={canEdit}
          />
        )}
      </div>
    </section>
  );
}
