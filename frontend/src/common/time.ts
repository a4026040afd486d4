const formats = new Map<string, Intl.DateTimeFormat>();

/** Short date and time; one formatter per language, since building one costs more than using it. */
export function formatTime(iso: string, language: string): string {
  let format = formats.get(language);
  if (format === undefined) {
    format = new Intl.DateTimeFormat(language, { dateStyle: "short", timeStyle: "short" });
    formats.set(language, format);
  }
  return format.format(new Date(iso));
}
