import type { ReactNode } from "react";
import { Link } from "wouter";

import { signOut } from "../auth/session";
import { useT } from "../i18n/context";

export function Header({ children }: { children?: ReactNode }) {
  const { t } = useT();
  return (
    <header className="app-header">
      <Link href="/" className="brand">
        {t("appName")}
      </Link>
      <div className="header-middle">{children}</div>
      <button type="button" className="quiet" onClick={() => void signOut()}>
        {t("signOut")}
      </button>
    </header>
  );
}
