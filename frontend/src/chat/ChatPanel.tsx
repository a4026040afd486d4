import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";

import { api, unwrap, type Schemas } from "../api/client";
import { Failure } from "../common/Failure";
import { formatTime } from "../common/time";
import { useT } from "../i18n/context";
import type { StreamingSection } from "../project/useLiveProject";
import { keys, useMessages } from "../project/queries";
import { agentName, STAGE_EXPERTS } from "./agents";
import { QuestionCard } from "./QuestionCard";

type Message = Schemas["MessageRead"];
type Question = Schemas["Question"];

function questionsOf(message: Message): Question[] | null {
  const questions = message.payload?.questions;
  if (!Array.isArray(questions)) return null;
  const valid = questions.every(
    (item: unknown) =>
      typeof item === "object" && item !== null && "number" in item && "text" in item && "options" in item,
  );
  return valid ? (questions as Question[]) : null;
}

/** What the user chose on each answered card, as the expert's section records it. */
function answersByCard(messages: Message[]): Map<string, Record<number, string[]>> {
  const answers = new Map<string, Record<number, string[]>>();
  let card: string | null = null;
  for (const message of messages) {
    if (message.kind === "questions") card = message.id;
    const selections: unknown = message.payload?.selections;
    if (card !== null && message.kind === "section" && typeof selections === "object" && selections !== null) {
      answers.set(card, selections as Record<number, string[]>);
      card = null;
    }
  }
  return answers;
}

/** The questions still waiting for an answer: the newest card with no user message after it. */
function openQuestionsId(messages: Message[]): string | null {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if (message === undefined || message.role === "user") return null;
    if (message.kind === "questions") return message.id;
  }
  return null;
}

function useMe() {
  return useQuery({ queryKey: ["me"], queryFn: () => unwrap(api.GET("/api/v1/auth/me")) });
}

function useSendMessage(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (content: string) =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/messages", {
          params: { path: { project_id: projectId } },
          body: { content },
        }),
      ),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: keys.messages(projectId) });
      await queryClient.invalidateQueries({ queryKey: keys.progress(projectId) });
    },
  });
}

function MessageItem({
  message,
  myId,
  card,
}: {
  message: Message;
  myId: string | undefined;
  card: React.ReactNode;
}) {
  const { t, language } = useT();
  const speaker =
    message.role === "user"
      ? message.author_user_id === myId
        ? t("you")
        : t("role_editor")
      : message.role === "system"
        ? t("system")
        : agentName(message.author_agent, t);
  const alert = message.kind === "error";
  return (
    <li
      id={`message-${message.id}`}
      className={`message ${message.role} kind-${message.kind}`}
      role={alert ? "alert" : undefined}
      aria-label={`${speaker}, ${formatTime(message.created_at, language)}`}
    >
      <div className="message-head">
        <span className="speaker">{speaker}</span>
        <time dateTime={message.created_at}>{formatTime(message.created_at, language)}</time>
      </div>
      {card ?? <div className="message-body">{message.content}</div>}
    </li>
  );
}

function Streams({ streams }: { streams: StreamingSection[] }) {
  const { t } = useT();
  if (streams.length === 0) return null;
  return (
    <ul className="plain streams">
      {streams.map((stream) => (
        <li key={`${stream.runId}:${stream.agent}`} className="message agent streaming">
          <div className="message-head">
            <span className="speaker">{agentName(stream.agent, t)}</span>
            <span className="muted">{t("writing", { agent: agentName(stream.agent, t) })}</span>
          </div>
          <div className="message-body" aria-live="polite" aria-label={t("writing", { agent: agentName(stream.agent, t) })}>
            {stream.text}
          </div>
        </li>
      ))}
    </ul>
  );
}

function RunStatus({ projectId, run }: { projectId: string; run: Schemas["ActiveRun"] }) {
  const { t } = useT();
  const queryClient = useQueryClient();
  const cancel = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/runs/{run_id}/cancel", {
          params: { path: { project_id: projectId, run_id: run.id } },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.progress(projectId) }),
  });
  return (
    <div className="run-status" role="status">
      <span className="spinner" aria-hidden="true" />
      <span>{run.status === "queued" ? t("runQueued") : t("runRunning")}</span>
      <button type="button" className="quiet danger" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
        {t("stopRun")}
      </button>
      {cancel.isError && <Failure error={cancel.error} />}
    </div>
  );
}

function Composer({
  stage,
  onSend,
  sending,
}: {
  stage: keyof typeof STAGE_EXPERTS;
  onSend: (content: string) => Promise<unknown>;
  sending: boolean;
}) {
  const { t } = useT();
  const [text, setText] = useState("");
  const [expert, setExpert] = useState("");
  const textId = useId();
  const expertId = useId();
  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    const content = text.trim();
    if (!content) return;
    try {
      await onSend(expert ? `@${expert} ${content}` : content);
      setText("");
    } catch {
      // The panel shows the mutation's error beside the composer; the text stays to retry.
    }
  };
  return (
    <form className="composer" onSubmit={(event) => void submit(event)}>
      <label htmlFor={textId} className="visually-hidden">
        {t("composerLabel")}
      </label>
      <textarea
        id={textId}
        rows={3}
        value={text}
        placeholder={t("composerPlaceholder")}
        maxLength={20000}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) void submit();
        }}
      />
      <div className="composer-actions">
        <label htmlFor={expertId}>{t("addressExpert")}</label>
        <select id={expertId} value={expert} onChange={(event) => setExpert(event.target.value)}>
          <option value="">{t("anyExpert")}</option>
          {STAGE_EXPERTS[stage].map((agent) => (
            <option key={agent} value={agent}>
              {agentName(agent, t)}
            </option>
          ))}
        </select>
        <button type="submit" className="primary" disabled={sending || !text.trim()}>
          {sending ? t("sending") : t("send")}
        </button>
      </div>
    </form>
  );
}

interface Props {
  projectId: string;
  progress: Schemas["ProjectProgress"] | undefined;
  streams: StreamingSection[];
  canEdit: boolean;
}

/** The chat log. A failed run needs no banner: the engine posts its error into the chat. */
export function ChatPanel({ projectId, progress, streams, canEdit }: Props) {
  const { t } = useT();
  const messages = useMessages(projectId);
  const me = useMe();
  const send = useSendMessage(projectId);
  const log = useRef<HTMLDivElement>(null);
  const items = messages.data?.items ?? [];
  const openId = openQuestionsId(items);
  const answers = answersByCard(items);
  const activeRun = progress?.active_run ?? null;
  // Questions wait for an answer only while their stage is in progress (completing a stage
  // from the progress bar leaves its last card unanswered).
  const current = progress?.stages.find((stage) => stage.stage === progress.current_stage);
  const openStage = current?.status === "in_progress" ? current.stage : null;
  const streamed = streams.map((stream) => stream.text.length).join(",");

  useEffect(() => {
    const element = log.current;
    if (element !== null) element.scrollTop = element.scrollHeight;
  }, [items.length, streamed]);

  return (
    <section className="chat" aria-label={t("chatLabel")}>
      <div className="chat-log" ref={log}>
        {messages.isPending && <p role="status">{t("loading")}</p>}
        {messages.isError && <Failure error={messages.error} onRetry={() => void messages.refetch()} />}
        {messages.isSuccess && items.length === 0 && <p className="muted chat-empty">{t("chatEmpty")}</p>}
        <ol className="plain messages">
          {items.map((message) => {
            const questions = message.kind === "questions" ? questionsOf(message) : null;
            const answerable =
              canEdit && message.id === openId && activeRun === null && message.stage === openStage;
            return (
              <MessageItem
                key={message.id}
                message={message}
                myId={me.data?.id}
                card={
                  questions && (
                    <QuestionCard
                      agent={agentName(message.author_agent, t)}
                      questions={questions}
                      answered={answers.get(message.id) ?? null}
                      sending={send.isPending}
                      onSend={answerable ? (reply) => send.mutate(reply) : null}
                    />
                  )
                }
              />
            );
          })}
        </ol>
        <Streams streams={streams} />
      </div>
      {activeRun && <RunStatus projectId={projectId} run={activeRun} />}
      {send.isError && <Failure error={send.error} />}
      {canEdit && progress && (
        <Composer stage={progress.current_stage} sending={send.isPending} onSend={(content) => send.mutateAsync(content)} />
      )}
    </section>
  );
}
