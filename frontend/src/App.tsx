import { Route, Switch, useLocation } from "wouter";

import { SignInPage } from "./auth/SignInPage";
import { useSession } from "./auth/useSession";
import { NotFound } from "./common/NotFound";
import { LanguageProvider } from "./i18n/context";
import { ProjectPage } from "./project/ProjectPage";
import { ProjectsPage } from "./projects/ProjectsPage";

export function App() {
  const status = useSession();
  const [location] = useLocation();
  const onSignIn = location === "/sign-in";

  if (status === "unknown" && !onSignIn) {
    return (
      <LanguageProvider code={null}>
        <p className="page" role="status">
          …
        </p>
      </LanguageProvider>
    );
  }
  if (status !== "signed-in" || onSignIn) {
    return (
      <LanguageProvider code={null}>
        <SignInPage />
      </LanguageProvider>
    );
  }
  return (
    <Switch>
      <Route path="/">
        <LanguageProvider code={null}>
          <ProjectsPage />
        </LanguageProvider>
      </Route>
      <Route path="/projects/:projectId">
        {(params) => <ProjectPage projectId={params.projectId} />}
      </Route>
      <Route>
        <LanguageProvider code={null}>
          <NotFound />
        </LanguageProvider>
      </Route>
    </Switch>
  );
}
