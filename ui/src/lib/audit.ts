/**
 * The audit log as a person reads it: each entry's action in words ("Signed in", "Set up
 * database PostgreSQL"), the server it concerns named by its name, and the log's filter.
 *
 * The control plane writes each action as a code with a target whose shape the code fixes
 * (`job.create KIND` → "node job recipe", `node.enroll` → the node id, `login` → the address;
 * `control-plane/src/`, every `app.audit` call); this reads them by that shape.
 */

import type { AuditEntry, Job, Node } from './api';
import { said, t } from './i18n.svelte';
import { jobTitle } from './jobs';

/** The groups the audit log is filtered by. */
export type AuditGroup = 'signin' | 'jobs' | 'servers' | 'recipes';

export const AUDIT_GROUPS: AuditGroup[] = ['signin', 'jobs', 'servers', 'recipes'];

/** An entry in words: what happened, to which server (its name), and on what else. */
export type AuditWords = { group: AuditGroup | ''; action: string; node: string; detail: string };

/** What the page knows to name things by. */
export type Names = {
  nodes: Node[];
  jobs: Job[];
  recipeTitle: (id: string) => string;
};

export function nodeName(nodes: Node[], id: string): string {
  const n = nodes.find((x) => x.id === id);
  return n ? n.name || n.hostname || id : id;
}

export function auditWords(e: AuditEntry, names: Names): AuditWords {
  const [code, kind] = e.what.split(' ');
  const node = (id: string) => (id ? nodeName(names.nodes, id) : '');
  switch (code) {
    case 'login':
      return { group: 'signin', action: t('auditWords.login'), node: '', detail: e.target };
    case 'logout':
      return { group: 'signin', action: t('auditWords.logout'), node: '', detail: '' };
    case 'login.refused':
      return { group: 'signin', action: t('auditWords.refused'), node: '', detail: e.target };
    case 'job.create': {
      const [nodeId = '', jobId = '', recipe = ''] = e.target.split(' ');
      const job = names.jobs.find((j) => j.id === jobId);
      const title = names.recipeTitle(recipe);
      // The job as it was asked for (not as it ended): the entry records the request.
      const asked = job
        ? jobTitle({ ...job, status: 'pending' }, title)
        : jobTitle(
            {
              id: jobId,
              nodeId,
              recipe,
              kind: (kind ?? 'INSTALL_RUNTIME') as Job['kind'],
              requestedBy: e.who,
              status: 'pending',
              createdAt: e.at,
              finishedAt: null,
              result: null,
              params: null,
            },
            title,
          );
      return { group: 'jobs', action: asked, node: node(nodeId), detail: jobId };
    }
    case 'job.cancel': {
      const job = names.jobs.find((j) => j.id === e.target);
      const what = job
        ? jobTitle({ ...job, status: 'pending' }, names.recipeTitle(job.recipe))
        : '';
      return {
        group: 'jobs',
        action: what ? t('auditWords.cancelJob', { job: what }) : t('auditWords.cancel'),
        node: job ? node(job.nodeId) : '',
        detail: e.target,
      };
    }
    case 'node.enroll':
      return { group: 'servers', action: t('auditWords.enroll'), node: node(e.target), detail: '' };
    case 'node.auth':
      return { group: 'servers', action: t('auditWords.auth'), node: node(e.target), detail: '' };
    case 'enrollment-token.create':
      return { group: 'servers', action: t('auditWords.token'), node: node(e.target), detail: '' };
    case 'enrollment-token.revoke':
      return {
        group: 'servers',
        action: t('auditWords.tokenRevoke'),
        node: node(e.target),
        detail: '',
      };
    case 'node.change':
      return {
        group: 'servers',
        action: t('auditWords.nodeChange'),
        node: node(e.target),
        detail: '',
      };
    case 'node.remove':
      return {
        group: 'servers',
        action: t('auditWords.nodeRemove'),
        node: node(e.target),
        detail: '',
      };
    case 'recipes.reload':
      return { group: 'recipes', action: t('auditWords.reload'), node: '', detail: '' };
    // A recipe submitted, approved or rejected (issue 22): "stamp v2", and what grew.
    case 'recipe.submit':
    case 'recipe.approve':
    case 'recipe.reject':
      return {
        group: 'recipes',
        action: t(`auditWords.${code.slice('recipe.'.length) as 'submit' | 'approve' | 'reject'}`, {
          target: e.target,
        }),
        node: '',
        detail: e.result,
      };
    case 'settings.public-url':
      return { group: 'servers', action: t('auditWords.publicUrl'), node: '', detail: e.target };
    case 'plan.create': {
      const [nodeId = '', , recipe = ''] = e.target.split(' ');
      return {
        group: 'jobs',
        action: t('auditWords.preview', { recipe: names.recipeTitle(recipe) }),
        node: node(nodeId),
        detail: '',
      };
    }
    default:
      return { group: '', action: e.what, node: '', detail: e.target };
  }
}

/** Who did it: a person's account, or a server's agent named by the server's name. */
export function whoWords(who: string, nodes: Node[]): string {
  return who.startsWith('agent:')
    ? t('auditWords.agent', { name: nodeName(nodes, who.slice('agent:'.length)) })
    : who;
}

/**
 * An entry's result in words where it is one of the plain ones, or the control plane's
 * sentences it is made of, each by its code (`resultParts`).
 */
export function resultWords(result: string, entry?: Pick<AuditEntry, 'resultParts'>): string {
  if (result === 'ok') return t('auditWords.ok');
  if (result === 'sent') return t('auditWords.sent');
  const parts = entry?.resultParts;
  if (!parts?.length) return result;
  return parts.map((p) => said(p.messageCode, p.messageArgs, p.message)).join('; ');
}

export type AuditFilter = { group: AuditGroup | ''; node: string; text: string };

export const NO_AUDIT_FILTER: AuditFilter = { group: '', node: '', text: '' };

/** The entries `filter` keeps (`node` is a node's name, as the page shows it). */
export function filterAudit(
  entries: AuditEntry[],
  filter: AuditFilter,
  words: (e: AuditEntry) => AuditWords,
  who: (e: AuditEntry) => string = (e) => e.who,
): AuditEntry[] {
  const needle = filter.text.trim().toLowerCase();
  return entries.filter((e) => {
    const w = words(e);
    if (filter.group && w.group !== filter.group) return false;
    if (filter.node && w.node !== filter.node) return false;
    if (!needle) return true;
    const hay = [w.action, w.node, w.detail, who(e), resultWords(e.result, e)].join(' ');
    return hay.toLowerCase().includes(needle);
  });
}
