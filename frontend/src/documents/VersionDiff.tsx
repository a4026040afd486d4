import type { Schemas } from "../api/client";
import { Failure } from "../common/Failure";
import { useT } from "../i18n/context";
import { useDiff, type DocumentType } from "../project/queries";

function Words({ words }: { words: Schemas["WordChange"][] }) {
  return (
    <>
      {words.map((word, index) =>
        word.kind === "added" ? (
          <ins key={index}>{word.text}</ins>
        ) : word.kind === "removed" ? (
          <del key={index}>{word.text}</del>
        ) : (
          <span key={index}>{word.text}</span>
        ),
      )}
    </>
  );
}

const MARK = { added: "+", removed: "−", context: " " } as const;

function Line({ line }: { line: Schemas["DiffLine"] }) {
  return (
    <tr className={`diff-line ${line.kind}`}>
      <td className="line-number">{line.old_number ?? ""}</td>
      <td className="line-number">{line.new_number ?? ""}</td>
      <td className="line-mark" aria-hidden="true">
        {MARK[line.kind]}
      </td>
      <td className="line-text">
        <span className="visually-hidden">{line.kind === "context" ? "" : `${line.kind}: `}</span>
        {line.words ? <Words words={line.words} /> : line.text}
      </td>
    </tr>
  );
}

export function VersionDiff({
  projectId,
  documentType,
  from,
  to,
}: {
  projectId: string;
  documentType: DocumentType;
  from: number;
  to: number;
}) {
  const { t } = useT();
  const diff = useDiff(projectId, documentType, from, to);
  if (diff.isPending) return <p role="status">{t("loading")}</p>;
  if (diff.isError) return <Failure error={diff.error} />;
  const { hunks, stats } = diff.data;
  return (
    <figure className="diff" aria-label={`${t("compare")} v${from} → v${to}`}>
      <figcaption>
        {diff.data.from_label} → {diff.data.to_label}{" "}
        <span className="diff-stats">{t("diffStats", { added: stats.added, removed: stats.removed })}</span>
      </figcaption>
      {hunks.length === 0 ? (
        <p>{t("noChanges")}</p>
      ) : (
        <table>
          {hunks.map((hunk, index) => (
            <tbody key={index}>
              <tr className="diff-hunk">
                <td colSpan={4}>
                  @@ −{hunk.old_start},{hunk.old_lines} +{hunk.new_start},{hunk.new_lines} @@
                </td>
              </tr>
              {hunk.lines.map((line, at) => (
                <Line key={at} line={line} />
              ))}
            </tbody>
          ))}
        </table>
      )}
    </figure>
  );
}
