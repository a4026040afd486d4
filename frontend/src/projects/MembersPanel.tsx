import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { api, unwrap, type Schemas } from "../api/client";
import { Failure } from "../common/Failure";
import { useT } from "../i18n/context";
import { projectKeys } from "./queries";

type Role = Schemas["ProjectRole"];
const ROLES: Role[] = ["owner", "editor", "viewer"];

function RoleSelect({ label, value, onChange }: { label: string; value: Role; onChange: (role: Role) => void }) {
  const { t } = useT();
  const id = useId();
  return (
    <span className="field-inline">
      <label htmlFor={id} className="visually-hidden">
        {label}
      </label>
      <select id={id} value={value} onChange={(event) => onChange(event.target.value as Role)}>
        {ROLES.map((role) => (
          <option key={role} value={role}>
            {t(`role_${role}`)}
          </option>
        ))}
      </select>
    </span>
  );
}

/** Owners manage who works on the project: members, their roles, and invitations. */
export function MembersPanel({ projectId }: { projectId: string }) {
  const { t } = useT();
  const queryClient = useQueryClient();
  const projectPath = { params: { path: { project_id: projectId } } };
  const members = useQuery({
    queryKey: projectKeys.members(projectId),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/members", projectPath)),
  });
  const invitations = useQuery({
    queryKey: projectKeys.invitations(projectId),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/invitations", projectPath)),
  });
  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: projectKeys.members(projectId) });
    await queryClient.invalidateQueries({ queryKey: projectKeys.invitations(projectId) });
  };
  const memberPath = (userId: string) => ({ params: { path: { project_id: projectId, user_id: userId } } });
  const changeRole = useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: Role }) =>
      unwrap(api.PATCH("/api/v1/projects/{project_id}/members/{user_id}", { ...memberPath(userId), body: { role } })),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (userId: string) => unwrap(api.DELETE("/api/v1/projects/{project_id}/members/{user_id}", memberPath(userId))),
    onSuccess: refresh,
  });
  const withdraw = useMutation({
    mutationFn: (invitationId: string) =>
      unwrap(
        api.DELETE("/api/v1/projects/{project_id}/invitations/{invitation_id}", {
          params: { path: { project_id: projectId, invitation_id: invitationId } },
        }),
      ),
    onSuccess: refresh,
  });
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("editor");
  const invite = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/projects/{project_id}/members", { ...projectPath, body: { email: email.trim(), role } })),
    onSuccess: async () => {
      setEmail("");
      await refresh();
    },
  });
  const emailId = useId();
  const failed = [changeRole, remove, withdraw, invite].find((mutation) => mutation.isError);

  return (
    <section className="card members" aria-labelledby={`${emailId}-title`}>
      <h2 id={`${emailId}-title`}>{t("members")}</h2>
      {members.isError && <Failure error={members.error} />}
      <ul className="plain">
        {members.data?.map((member) => {
          const name = member.name ?? member.email ?? member.user_id;
          return (
            <li key={member.user_id} className="member-row">
              <span>
                {name} {member.email && member.name && <span className="muted">{member.email}</span>}
              </span>
              <RoleSelect
                label={t("changeRoleOf", { name })}
                value={member.role}
                onChange={(next) => changeRole.mutate({ userId: member.user_id, role: next })}
              />
              <button type="button" className="quiet danger" aria-label={`${t("remove")}: ${name}`} onClick={() => remove.mutate(member.user_id)}>
                {t("remove")}
              </button>
            </li>
          );
        })}
      </ul>
      {invitations.data && invitations.data.some((item) => item.status === "pending") && (
        <>
          <h3>{t("pendingInvitations")}</h3>
          <ul className="plain">
            {invitations.data
              .filter((item) => item.status === "pending")
              .map((invitation) => (
                <li key={invitation.id} className="member-row">
                  <span>
                    {invitation.email} · {t(`role_${invitation.role}`)}
                  </span>
                  <button type="button" className="quiet" aria-label={`${t("withdraw")}: ${invitation.email}`} onClick={() => withdraw.mutate(invitation.id)}>
                    {t("withdraw")}
                  </button>
                </li>
              ))}
          </ul>
        </>
      )}
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (email.trim()) invite.mutate();
        }}
      >
        <label htmlFor={emailId}>{t("inviteEmail")}</label>
        <input id={emailId} type="email" value={email} onChange={(event) => setEmail(event.target.value)} required />
        <RoleSelect label={t("role")} value={role} onChange={setRole} />
        <button type="submit" disabled={invite.isPending}>
          {t("invite")}
        </button>
      </form>
      {invite.isSuccess && <p role="status">{t("invitationSent", { email: invite.data.email })}</p>}
      {failed?.error && <Failure error={failed.error} />}
    </section>
  );
}
