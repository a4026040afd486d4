import { Link } from "wouter";

import { useT } from "../i18n/context";

export function NotFound() {
  const { t } = useT();
  return (
    <main className="page narrow" aria-labelledby="not-found-title">
      <h1 id="not-found-title">{t("notFoundTitle")}</h1>
      <p>{t("notFoundText")}</p>
      <Link href="/">{t("backToProjects")}</Link>
    </main>
  );
}
