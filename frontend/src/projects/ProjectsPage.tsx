import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useLocation } from "wouter";

import { api, unwrap, type Schemas } from "../api/client";
import { Failure } from "../common/Failure";
import { Header } from "../common/Header";
import { formatTime } from "../common/time";
import { useT } from "../i18n/context";
import { projectKeys, useProjects } from "./queries";

function CreateProjectForm() {
  const { t } = useT();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/projects", {
          body: { name: name.trim(), description: description.trim() || null },
        }),
      ),
    onSuccess: async (project) => {
      await queryClient.invalidateQueries({ queryKey: projectKeys.list });
      navigate(`/projects/${project.id}`);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim()) create.mutate();
  };
  return (
    <form className="card create-project" onSubmit={submit} aria-labelledby="new-project-title">
      <h2 id="new-project-title">{t("newProject")}</h2>
      <label>
        {t("projectName")}
        <input value={name} onChange={(event) => setName(event.target.value)} maxLength={200} required />
      </label>
      <label>
        {t("projectDescription")}
        <input value={description} onChange={(event) => setDescription(event.target.value)} />
      </label>
      <button type="submit" disabled={create.isPending || !name.trim()}>
        {t("create")}
      </button>
      {create.isError && <Failure error={create.error} />}
    </form>
  );
}

function RenameForm({ project, onDone }: { project: Schemas["ProjectRead"]; onDone: () => void }) {
  const { t } = useT();
  const [name, setName] = useState(project.name);
  const queryClient = useQueryClient();
  const rename = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/api/v1/projects/{project_id}", {
          params: { path: { project_id: project.id } },
          body: { name: name.trim() },
        }),
      ),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: projectKeys.list });
      await queryClient.invalidateQueries({ queryKey: projectKeys.one(project.id) });
      onDone();
    },
  });
  return (
    <form
      className="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (name.trim()) rename.mutate();
      }}
    >
      <label>
        {t("projectName")}
        <input value={name} onChange={(event) => setName(event.target.value)} maxLength={200} autoFocus />
      </label>
      <button type="submit" disabled={rename.isPending}>
        {t("save")}
      </button>
      <button type="button" className="quiet" onClick={onDone}>
        {t("cancel")}
      </button>
      {rename.isError && <Failure error={rename.error} />}
    </form>
  );
}

function ProjectRow({ project }: { project: Schemas["ProjectRead"] }) {
  const { t, language } = useT();
  const [renaming, setRenaming] = useState(false);
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () =>
      unwrap(api.DELETE("/api/v1/projects/{project_id}", { params: { path: { project_id: project.id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: projectKeys.list }),
  });
  const owner = project.role === "owner";
  return (
    <li className="project-row">
      {renaming ? (
        <RenameForm project={project} onDone={() => setRenaming(false)} />
      ) : (
        <>
          <div className="project-summary">
            <Link href={`/projects/${project.id}`} className="project-link">
              {project.name}
            </Link>
            <span className="muted">
              {t(`stage_${project.current_stage}`)} · {t(`role_${project.role}`)} ·{" "}
              {formatTime(project.updated_at, language)}
            </span>
            {project.description && <span className="muted">{project.description}</span>}
          </div>
          {owner && (
            <div className="row-actions">
              <button type="button" className="quiet" onClick={() => setRenaming(true)} aria-label={`${t("rename")}: ${project.name}`}>
                {t("rename")}
              </button>
              <button
                type="button"
                className="danger quiet"
                aria-label={`${t("delete")}: ${project.name}`}
                disabled={remove.isPending}
                onClick={() => {
                  if (window.confirm(t("deleteConfirm", { name: project.name }))) remove.mutate();
                }}
              >
                {t("delete")}
              </button>
            </div>
          )}
        </>
      )}
      {remove.isError && <Failure error={remove.error} />}
    </li>
  );
}

export function ProjectsPage() {
  const { t } = useT();
  const projects = useProjects();
  return (
    <>
      <Header />
      <main className="page projects-page" aria-labelledby="projects-title">
        <h1 id="projects-title">{t("projects")}</h1>
        <div className="projects-layout">
          <section aria-labelledby="projects-title" className="projects-list">
            {projects.isPending && <p role="status">{t("loading")}</p>}
            {projects.isError && <Failure error={projects.error} onRetry={() => void projects.refetch()} />}
            {projects.data?.length === 0 && <p>{t("projectsEmpty")}</p>}
            {projects.data && projects.data.length > 0 && (
              <ul className="plain">
                {projects.data.map((project) => (
                  <ProjectRow key={project.id} project={project} />
                ))}
              </ul>
            )}
          </section>
          <CreateProjectForm />
        </div>
      </main>
    </>
  );
}
