import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useLocation } from "wouter";

import { api, unwrap } from "../api/client";
import { Failure } from "../common/Failure";
import { useT } from "../i18n/context";
import { signInWithCode } from "./session";
import { useSession } from "./useSession";

type CodeState = "none" | "checking" | "refused" | "failed";

/** Reads the single-use code once and takes it out of the address bar and history at once. */
function takeCodeFromUrl(): string | null {
  const url = new URL(window.location.href);
  const code = url.searchParams.get("code");
  if (code === null) return null;
  url.searchParams.delete("code");
  window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  return code;
}

function useCodeSignIn(): CodeState {
  const [state, setState] = useState<CodeState>("none");
  const [, navigate] = useLocation();
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return; // StrictMode runs effects twice; a code works only once
    started.current = true;
    const code = takeCodeFromUrl();
    if (code === null) return;
    setState("checking");
    signInWithCode(code).then(
      (accepted) => (accepted ? navigate("/", { replace: true }) : setState("refused")),
      () => setState("failed"),
    );
  }, [navigate]);
  return state;
}

export function SignInPage() {
  const { t } = useT();
  const status = useSession();
  const [location, navigate] = useLocation();
  const codeState = useCodeSignIn();
  const providers = useQuery({
    queryKey: ["auth", "providers"],
    queryFn: () => unwrap(api.GET("/api/v1/auth/providers")),
  });

  useEffect(() => {
    if (status === "signed-in" && codeState === "none" && location === "/sign-in") {
      navigate("/", { replace: true });
    }
  }, [status, codeState, location, navigate]);

  const local = useQuery({
    queryKey: ["auth", "local"],
    queryFn: () => unwrap(api.GET("/api/v1/auth/local")),
  });

  const returnTo = location === "/sign-in" ? "/" : location;
  return (
    <main className="page narrow sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">{t("signInTitle")}</h1>
      <p className="lead">{t("signInLead")}</p>
      {codeState === "checking" && <p role="status">{t("signingIn")}</p>}
      {codeState === "refused" && <p role="alert">{t("signInCodeInvalid")}</p>}
      {codeState === "failed" && <Failure error={new Error("sign-in failed")} />}
      {providers.isError && <Failure error={providers.error} onRetry={() => void providers.refetch()} />}
      {providers.data && (
        <ul className="providers">
          {providers.data.map((provider) => (
            <li key={provider.name}>
              <a
                className="button"
                href={`/api/v1/auth/login/${encodeURIComponent(provider.name)}?return_to=${encodeURIComponent(returnTo)}`}
              >
                {t("signInWith", { provider: provider.display_name })}
              </a>
            </li>
          ))}
        </ul>
      )}
      {providers.data?.length === 0 && local.data?.enabled === false && (
        <p className="muted">{t("noProviders")}</p>
      )}
      {local.data?.enabled && codeState === "none" && <p className="muted">{t("signInLocalHint")}</p>}
    </main>
  );
}
