import { ApiError } from "../api/client";
import { useT } from "../i18n/context";

/** An error shown where the thing that failed would have been. */
export function Failure({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useT();
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div role="alert" className="failure">
      <p>{t("errorGeneric", { message })}</p>
      {error instanceof ApiError && <p className="muted">{error.code}</p>}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t("retry")}
        </button>
      )}
    </div>
  );
}
