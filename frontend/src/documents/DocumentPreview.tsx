import { Failure } from "../common/Failure";
import { useT } from "../i18n/context";
import { usePreview, type DocumentType } from "../project/queries";

/**
 * The backend's preview: HTML it sanitised (no script, no event handler, no image). innerHTML
 * runs no <script>, but it would run an inline event handler: the sanitiser strips those, and
 * the app's CSP (script-src 'self', no 'unsafe-inline') refuses them as a second line.
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
  if (preview.isPending) return <p role="status">{t("loading")}</p>;
  if (preview.isError) return <Failure error={preview.error} onRetry={() => void preview.refetch()} />;
  return (
    <article
      className="markdown"
      aria-label={`${t(`stage_${documentType}`)} v${version}`}
      dangerouslySetInnerHTML={{ __html: preview.data }}
    />
  );
}
