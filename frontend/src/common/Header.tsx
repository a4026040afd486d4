import { useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Link } from "wouter";

import { signOut } from "../auth/session";
import { useT } from "../i18n/context";

export function Header({ children }: { children?: ReactNode }) {
  const { t } = useT();
  const queryClient = useQueryClient();
  // Nothing the last user saw may outlive their session in this tab.
  const leave = async () => {
    await signOut();
    queryClient.clear();
  };
  return (
    <header className="app-header">
      <Link href="/" className="brand">
        {t("appName")}
      </Link>
      <div className="header-middle">{children}</div>
      <button type="button" className="quiet" onClick={() => void leave()}>
        {t("signOut")}
      </button>
    </header>
  );
}
