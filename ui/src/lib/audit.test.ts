import { describe, expect, it } from 'vitest';
import type { AuditEntry, Job, Node } from './api';
import {
  auditWords,
  filterAudit,
  NO_AUDIT_FILTER,
  resultWords,
  whoWords,
  type Names,
} from './audit';
import { locale } from './i18n.svelte';

const nodes = [{ id: 'node-7f3a', name: 'web-1', hostname: 'web-1.lan' } as Node];
const jobs = [
  {
    id: 'job-1',
    nodeId: 'node-7f3a',
    recipe: 'postgresql',
    kind: 'CONFIGURE_DATABASE',
    status: 'cancelled',
  } as Job,
];
const names: Names = {
  nodes,
  jobs,
  recipeTitle: (id) => ({ postgresql: 'PostgreSQL', node: 'Node.js' })[id] ?? id,
};

let id = 0;
function entry(what: string, target: string, who = 'admin', result = 'ok'): AuditEntry {
  return { id: ++id, at: 1, who, what, target, result, count: 1, lastAt: null };
}

describe('auditWords', () => {
  it('reads sign-ins and jobs as words, naming the server by its name', () => {
    expect(auditWords(entry('login', '127.0.0.1'), names).action).toBe('Signed in');
    const created = auditWords(
      entry('job.create CONFIGURE_DATABASE', 'node-7f3a job-1 postgresql'),
      names,
    );
    expect(created).toEqual({
      group: 'jobs',
      action: 'Set up database PostgreSQL',
      node: 'web-1',
      detail: 'job-1',
    });
    // A job the page does not know (older than the list) is still named from the entry.
    const older = auditWords(entry('job.create INSTALL_RUNTIME', 'node-7f3a job-0 node'), names);
    expect(older.action).toBe('Install Node.js');
  });

  it('names the job a cancel was for, and the server of an enrollment', () => {
    expect(auditWords(entry('job.cancel', 'job-1', 'admin', 'sent'), names)).toMatchObject({
      action: 'Cancelled: Set up database PostgreSQL',
      node: 'web-1',
    });
    expect(auditWords(entry('node.enroll', 'node-7f3a', 'agent:node-7f3a'), names).node).toBe(
      'web-1',
    );
    expect(whoWords('agent:node-7f3a', nodes)).toBe('Agent of web-1');
  });
});

describe('recipe publishing in the audit log (issue 22)', () => {
  it('says who submitted and approved which version, and what grew', () => {
    const submitted = auditWords(
      entry('recipe.submit', 'stamp v2', 'olga (token ci)', 'pending as sub-1; grew: program echo'),
      names,
    );
    expect(submitted).toEqual({
      group: 'recipes',
      action: 'Submitted recipe stamp v2',
      node: '',
      detail: 'pending as sub-1; grew: program echo',
    });
    const approved = auditWords(entry('recipe.approve', 'stamp v2', 'alice', 'grew: x'), names);
    expect(approved.action).toBe('Approved recipe stamp v2');
    expect(auditWords(entry('recipe.reject', 'stamp v3'), names).action).toBe(
      'Rejected recipe stamp v3',
    );
  });
});

describe('filterAudit', () => {
  const entries = [
    entry('login', '10.0.0.1'),
    entry('job.create INSTALL_RUNTIME', 'node-7f3a job-2 node'),
    entry('recipes.reload', '', 'alice', '11 of 11 published'),
  ];
  const words = (e: AuditEntry) => auditWords(e, names);
  const whats = (f: Partial<typeof NO_AUDIT_FILTER>) =>
    filterAudit(entries, { ...NO_AUDIT_FILTER, ...f }, words).map((e) => e.what);

  it('filters by action, by server name and by text', () => {
    expect(whats({ group: 'signin' })).toEqual(['login']);
    expect(whats({ node: 'web-1' })).toEqual(['job.create INSTALL_RUNTIME']);
    expect(whats({ text: 'alice' })).toEqual(['recipes.reload']);
    expect(whats({ text: 'node.js' })).toEqual(['job.create INSTALL_RUNTIME']);
  });
});

describe('an audit result in the page’s language', () => {
  it('says each tallied refusal by its code, and a result it does not know as written', () => {
    locale.lang = 'fr';
    const parts = [
      {
        message: '3 × wrong username or password',
        messageCode: 'audit.wrongPassword',
        messageArgs: { n: '3' },
      },
      {
        message: '1 × refused unchecked: address locked out',
        messageCode: 'audit.addressLocked',
        messageArgs: { n: '1' },
      },
    ];
    expect(resultWords('(as sent)', { resultParts: parts })).toBe(
      '3 × nom d’utilisateur ou mot de passe incorrect; 1 × refusée sans vérification : adresse bloquée',
    );
    expect(resultWords('something else')).toBe('something else');
    locale.lang = 'en';
  });
});
