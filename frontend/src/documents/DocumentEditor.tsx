import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, toApiError, unwrap, type Schemas } from "../api/client";
import { Failure } from "../common/Failure";
import { useT } from "../i18n/context";
import { keys, type DocumentType } from "../project/queries";

type Version = Schemas["DocumentVersionRead"];

interface Props {
  projectId: string;
  documentType: DocumentType;
  base: Version;
  onDone: () => void;
}

class Conflict extends Error {
  constructor(readonly theirs: Version) {
    super("conflict");
  }
}

async function fetchActive(projectId: string, documentType: DocumentType): Promise<Version> {
  return unwrap(
    api.GET("/api/v1/projects/{project_id}/documents/{document_type}", {
      params: { path: { project_id: projectId, document_type: documentType } },
    }),
  );
}

/** A manual edit saved against the version it started from; 412 shows the newer version. */
export function DocumentEditor({ projectId, documentType, base, onDone }: Props) {
  const { t } = useT();
  const [text, setText] = useState(base.content);
  const [against, setAgainst] = useState(base.version);
  const [theirs, setTheirs] = useState<Version | null>(null);
  const queryClient = useQueryClient();
  const editorId = useId();

  const save = useMutation({
    mutationFn: async (expected: number) => {
      const { data, error, response } = await api.PUT("/api/v1/projects/{project_id}/documents/{document_type}", {
        params: {
          path: { project_id: projectId, document_type: documentType },
          header: { "if-match": `"${expected}"` },
        },
        body: { content: text, reason: "manual edit" },
      });
      if (response.status === 412) throw new Conflict(await fetchActive(projectId, documentType));
      if (!response.ok || data === undefined) throw toApiError(response.status, error);
      return data;
    },
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: keys.document(projectId, documentType) });
      await queryClient.invalidateQueries({ queryKey: keys.progress(projectId) });
      onDone();
    },
    onError: (error) => {
      if (error instanceof Conflict) setTheirs(error.theirs);
    },
  });

  return (
    <div className="editor">
      {theirs && (
        <section className="conflict" role="alert" aria-labelledby={`${editorId}-conflict`}>
          <h3 id={`${editorId}-conflict`}>{t("conflictTitle")}</h3>
          <p>{t("conflictText", { version: theirs.version })}</p>
          <h4>{t("theirVersion", { version: theirs.version })}</h4>
          <pre className="their-version" aria-label={t("theirVersion", { version: theirs.version })}>
            {theirs.content}
          </pre>
          <div className="card-actions">
            <button
              type="button"
              onClick={() => {
                setText(theirs.content);
                setAgainst(theirs.version);
                setTheirs(null);
              }}
            >
              {t("keepEditing")}
            </button>
            <button
              type="button"
              className="quiet"
              onClick={() => {
                setAgainst(theirs.version);
                setTheirs(null);
                save.mutate(theirs.version);
              }}
            >
              {t("overwrite")}
            </button>
          </div>
        </section>
      )}
      <label htmlFor={editorId}>{theirs ? t("yourText") : t("editorLabel")}</label>
      <textarea
        id={editorId}
        className="editor-text"
        value={text}
        rows={18}
        onChange={(event) => setText(event.target.value)}
        spellCheck
      />
      <div className="card-actions">
        <button type="button" className="primary" disabled={save.isPending || theirs !== null} onClick={() => save.mutate(against)}>
          {t("saveVersion")}
        </button>
        <button type="button" className="quiet" onClick={onDone}>
          {t("cancel")}
        </button>
      </div>
      {save.isError && !(save.error instanceof Conflict) && <Failure error={save.error} />}
    </div>
  );
}
