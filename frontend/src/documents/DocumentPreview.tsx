import { useMemo } from "react";

import { Failure } from "../common/Failure";
import { useT } from "../i18n/context";
import { usePreview, type DocumentType } from "../project/queries";
import { sanitisePreview } from "./sanitise";

/**
 * The backend's preview: HTML it sanitised (no script, no event handler, no image), sanitised
 * again here on the same allowlist before it is written into the page, with the app's CSP
 * (script-src 'self', no 'unsafe-inline') as the third line.
 */
export function DocumentPreview({
  projectId,
  documentType,
  version,
}: {
  projectId: string;
  documentType: DocumentType;
  version: number;
}) {
  const { t } = useT();
  const preview = usePreview(projectId, documentType, version);
  // A preview may be megabytes: sanitised once per answer, not on every render of the pane.
  const html = useMemo(
    () => (preview.data === undefined ? "" : sanitisePreview(preview.data)),
    [preview.data],
  );
  if (preview.isPending) return <p role="status">{t("loading")}</p>;
  if (preview.isError) return <Failure error={preview.error} onRetry={() => void preview.refetch()} />;
  return (
    <article
      className="markdown"
      aria-label={`${t(`stage_${documentType}`)} v${version}`}
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}
