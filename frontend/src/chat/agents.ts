import type { Translate } from "../i18n/strings";
import { hasString } from "../i18n/strings";
import type { DocumentType } from "../project/queries";

/** Who works at each stage (the product's roster); the PM coordinates all of them. */
export const STAGE_EXPERTS: Record<DocumentType, string[]> = {
  idea: ["business_analyst", "venture_expert", "triz_expert", "design_thinker", "system_analyst"],
  specs: ["engineering_standards", "qa_expert", "security_expert"],
  architecture: ["solution_architect", "devops_expert", "performance_expert"],
  plan: ["project_planner", "scrum_master", "risk_manager"],
};

export function agentName(agent: string | null | undefined, t: Translate): string {
  if (!agent) return t("system");
  const key = `agent_${agent}`;
  return hasString(key) ? t(key) : agent;
}
