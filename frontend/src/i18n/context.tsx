import { createContext, useContext, useMemo, type ReactNode } from "react";

import { languageOf, translator, type Language, type Translate } from "./strings";

interface LanguageValue {
  language: Language;
  t: Translate;
}

const LanguageContext = createContext<LanguageValue | null>(null);

export function browserLanguage(): Language {
  return languageOf(typeof navigator === "undefined" ? "en" : navigator.language);
}

/** Speak `code` (an ISO 639-1 code; English when unknown) to everything inside. */
export function LanguageProvider({ code, children }: { code: string | null; children: ReactNode }) {
  const language = code === null ? browserLanguage() : languageOf(code);
  const value = useMemo(() => ({ language, t: translator(language) }), [language]);
  return <LanguageContext.Provider value={value}>{children}</LanguageContext.Provider>;
}

export function useT(): LanguageValue {
  const value = useContext(LanguageContext);
  if (value === null) throw new Error("useT needs a LanguageProvider above it");
  return value;
}
