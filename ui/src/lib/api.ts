/**
 * The one client of the control plane: REST calls (`docs/api.md`, HTTP) and the dashboard
 * WebSocket. Pages import from here only; nothing else calls `fetch` or opens a socket.
 */

import type {
  Capabilities,
  DashboardCommand,
  DashboardEvent,
  Job,
  JobEvent,
  Node,
} from './protocol.generated';
import { said, t } from './i18n.svelte';
import type { MetricsAnswer, NodeOverview, Range } from './metrics';
import type { Role } from './roles';
import type { ApiToken, NewApiToken } from './apiTokens';
import type { Decided, Submission, SubmissionDetail, Submitted, Upload } from './submissions';

// The wire's types are generated from the Rust ones (`protocol/src/dashboard/`); pages take them
// from here with the client.
export type {
  DashboardCommand,
  DashboardEvent,
  Job,
  JobEvent,
  JobKind,
  JobStatus,
  Node,
} from './protocol.generated';

export type ParamSpec = {
  name: string;
  type: 'string' | 'identifier' | 'integer' | 'bool' | 'choice';
  label?: string;
  default_value?: unknown;
  pattern?: string | null;
  options?: string[];
  min?: number | null;
  max?: number | null;
  max_len?: number | null;
  /** A credential: typed in a password field, never kept by the page. */
  secret?: boolean;
  /** `string`: may hold line breaks, one item a line (a text area). */
  multiline?: boolean;
  /** `choice`: where each option comes from, in the recipe's words (by option). */
  option_notes?: Record<string, string>;
};

/** One of a recipe's declared actions (`RECIPE.actions`, docs/recipes.md "Actions"). */
export type ActionSpec = {
  name: string;
  title: string;
  description?: string;
  params: ParamSpec[];
  /** It removes something for good: it runs only once `confirm`'s value is typed again. */
  destructive?: boolean;
  confirm?: string;
};

export type EnrollmentToken = {
  token: string;
  nodeId: string;
  name: string;
  expiresAt: number;
  installCommand: string;
};

/** An enrollment token not used yet (`GET /api/enrollment-tokens`): never the token itself. */
export type PendingToken = {
  /** The node id it was issued for. */
  id: string;
  name: string;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  /** Past its expiry: an agent enrolling with it is refused. */
  expired: boolean;
};

/** What `DELETE /api/nodes/{id}` answers: the command that uninstalls the agent there. */
export type RemovedNode = {
  id: string;
  name: string;
  wasOnline: boolean;
  uninstallCommand: string;
};

/** The control plane's settings (`GET /api/settings`). */
export type Settings = {
  /** The address set by `--public-url` or in the dashboard; null when none is. */
  publicUrl: string | null;
  /** Where the address other servers are told comes from. */
  publicUrlSource: 'flag' | 'dashboard' | 'request';
  /** What install commands carry now. */
  installBase: string;
};

export type Category = 'runtime' | 'database' | 'backup';

/** A declared program and what the recipe can make it do (the engine's policy, in words). */
export type ProgramPower = {
  program: string;
  power: string;
  /** `power` in the dashboard's other languages, in the engine's own words. */
  translations?: Record<string, string>;
};

/** A declared write path and what writing it can lead to (cron runs `/etc/cron.d`, …). */
export type PathPower = {
  path: string;
  power: string;
  /** `power` in the dashboard's other languages, in the engine's own words. */
  translations?: Record<string, string>;
};

export type Recipe = {
  id: string;
  file: string;
  title?: string;
  category?: Category;
  version?: number;
  description?: string;
  estimatedSizeMb?: number;
  params: ParamSpec[];
  /** Its further entry points besides the category's (empty when it has none). */
  actions?: ActionSpec[];
  capabilities: Capabilities | null;
  programs: ProgramPower[];
  paths: PathPower[];
  source: string;
  fingerprint?: string;
  keyId?: string;
  expiresAt?: number;
  published: boolean;
  /** The approved submission this version comes from, when not the file in `recipes/`. */
  submission?: string;
  error?: string;
  /** The recipe's own words in other languages (checked whole by the engine). */
  translations?: Record<string, RecipeTranslation>;
};

/** A recipe's title, description, parameter labels and step titles in one language. */
export type RecipeTranslation = {
  title: string;
  description?: string;
  params?: Record<string, string>;
  /** Each choice parameter's option notes, by parameter and option. */
  option_notes?: Record<string, Record<string, string>>;
  steps?: Record<string, string>;
  /** Console lines and result messages, keyed by the English literal (`${…}` parts kept). */
  messages?: Record<string, string>;
  /** Each action's title, description and parameter labels, by action name. */
  actions?: Record<
    string,
    { title: string; description?: string; params?: Record<string, string> }
  >;
};

export type AuditEntry = {
  id: number;
  at: number;
  who: string;
  what: string;
  target: string;
  result: string;
  /** 1, or how many refused sign-ins a `login.refused` tally counts. */
  count: number;
  /** A tally's latest time; null for a single entry. */
  lastAt: number | null;
  /** The sentences `result` is made of, with their codes, when the control plane knows them all. */
  resultParts?: { message: string; messageCode?: string; messageArgs?: Record<string, string> }[];
};

/**
 * A failed call, with the control plane's sentence in the page's language (by its `code`; the
 * English sentence when the page does not know the code), or ours when it sent none.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The sentence's code (`docs/api.md`, "Sentences"), when the control plane gave one. */
    readonly code?: string,
    args?: Record<string, string>,
    /** A refused recipe's findings, `line:col: severity: message` each (issue 22). */
    readonly diagnostics: string[] = [],
  ) {
    super(said(code, args, message));
  }
}

/** Called when a call answers 401, so the layout can send the user to the sign-in page. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void) {
  onUnauthorized = f;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  // The control plane takes changes only as JSON from its own pages (docs/api.md, "Cross-site
  // requests"), so every call but a GET carries a JSON body, `{}` when there is nothing to say.
  const sends = method !== 'GET';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: sends ? { 'content-type': 'application/json' } : {},
      body: sends ? JSON.stringify(body ?? {}) : undefined,
    });
  } catch {
    throw new ApiError(0, t('api.unreachable'));
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const body = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
    const message =
      typeof body.error === 'string' ? body.error : t('api.answered', { status: res.status });
    const code = typeof body.code === 'string' ? body.code : undefined;
    const args =
      body.args && typeof body.args === 'object'
        ? (body.args as Record<string, string>)
        : undefined;
    const diagnostics = Array.isArray(body.diagnostics)
      ? body.diagnostics
          .map((d) => (d && typeof d === 'object' ? (d as Record<string, unknown>).at : null))
          .filter((at): at is string => typeof at === 'string')
      : [];
    if (res.status === 401 && !path.startsWith('/api/login')) onUnauthorized();
    throw new ApiError(res.status, message, code, args, diagnostics);
  }
  return data as T;
}

const enc = encodeURIComponent;

/** An alert rule's name (`docs/api.md`, "Alerts"). */
export type AlertRuleId = 'offline' | 'disk' | 'memory' | 'load' | 'service' | 'backup' | 'drill';

/** A rule as set (`GET /api/alert-rules`). */
export type AlertRule = {
  id: AlertRuleId;
  enabled: boolean;
  /** Percent (disk, memory), × cores (load), days (drill). */
  threshold: number;
  durationSecs: number;
  hasThreshold: boolean;
};

export type AlertOverride = {
  rule: AlertRuleId;
  nodeId: string;
  enabled: boolean | null;
  threshold: number | null;
};

export type AlertMute = {
  id: number;
  rule: AlertRuleId;
  /** null: every node. */
  nodeId: string | null;
  until: number;
  by: string;
};

/** An alert, firing or past (`GET /api/alerts`). */
export type Alert = {
  id: number;
  rule: AlertRuleId;
  nodeId: string;
  nodeName: string;
  /** The mount, service or backup it is about; empty for the whole node. */
  subject: string;
  state: 'firing' | 'resolved' | 'closed';
  value: number;
  threshold: number;
  firedAt: number;
  resolvedAt: number | null;
  notified: boolean;
  muted: boolean;
  deliveryError: string | null;
  /** The same failures one channel each, with each sentence's code (`docs/api.md`). */
  deliveryFailures?: DeliveryFailure[];
};

/** One channel's failure to deliver a notice (`channel` empty: before any channel was tried). */
export type DeliveryFailure = {
  channel: string;
  tries: number;
  message: string;
  messageCode?: string;
  messageArgs?: Record<string, string>;
};

export type ChannelKind = 'email' | 'webhook' | 'slack' | 'discord' | 'ntfy';

/** A channel as answered: its secrets only as "set" (`url` masked). */
export type AlertChannel = {
  id: number;
  kind: ChannelKind;
  name: string;
  host: string | null;
  port: number | null;
  username: string | null;
  from: string | null;
  to: string[];
  url: string | null;
  secret: 'set' | null;
  password: 'set' | null;
  token: 'set' | null;
  createdAt: number;
  lastError: string | null;
  lastErrorCode?: string;
  lastErrorArgs?: Record<string, string>;
};

/** What adding a channel sends; secrets go once and never come back. */
export type ChannelInput = {
  kind: ChannelKind;
  name: string;
  url?: string;
  secret?: string;
  token?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  from?: string;
  to?: string[];
};

/** `GET /api/me`: who is signed in and what their role lets them do. */
export type Me = { username: string; role: Role; groups: string[]; mayDestroy: boolean };

/** A user as the owner sees them (`GET /api/users`). */
export type User = {
  username: string;
  role: Role;
  groups: string[];
  mayDestroy: boolean;
  disabled: boolean;
  createdAt: number;
  passwordChangedAt: number;
};

/** A one-time link (an invitation or a password reset), shown once. */
/** An invitation not yet accepted (`GET /api/invites`). */
export type PendingInvite = {
  username: string;
  role: Role;
  groups: string[];
  mayDestroy: boolean;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
};

export type InviteLink = { username: string; token: string; link: string; expiresAt: number };

/** A sign-in's answer: a session (`username`), or a code or enrolment first (`pending`). */
export type SignIn = {
  username?: string;
  twoFactor?: 'code' | 'enrol';
  pending?: string;
  recoveryCodes?: string[];
};

/** A new TOTP secret, shown once while enrolling. */
export type TotpEnrolment = { secret: string; url: string; qr: string };

/** One of the user's sessions (`GET /api/me/sessions`). */
export type SessionRow = {
  id: string;
  device: string;
  userAgent: string;
  address: string;
  createdAt: number;
  lastUsed: number;
  current: boolean;
};

export const api = {
  login: (username: string, password: string) =>
    call<SignIn>('POST', '/api/login', { username, password }),
  loginCode: (pending: string, code: string) =>
    call<SignIn>('POST', '/api/login/code', { pending, code }),
  loginEnrol: (pending: string) => call<TotpEnrolment>('POST', '/api/login/enrol', { pending }),
  loginEnrolConfirm: (pending: string, code: string) =>
    call<SignIn>('POST', '/api/login/enrol/confirm', { pending, code }),
  totp: () =>
    call<{ enabled: boolean; recoveryLeft: number; required: boolean }>('GET', '/api/me/totp'),
  startTotp: () => call<TotpEnrolment>('POST', '/api/me/totp'),
  confirmTotp: (code: string) =>
    call<{ recoveryCodes: string[] }>('POST', '/api/me/totp/confirm', { code }),
  disableTotp: (password: string, code: string) =>
    call<{ enabled: boolean }>('POST', '/api/me/totp/disable', { password, code }),
  requireTwoFactor: (required: boolean) =>
    call<{ required: boolean }>('PUT', '/api/settings/two-factor', { required }),
  sessions: () => call<SessionRow[]>('GET', '/api/me/sessions'),
  revokeSession: (id: string) => call<{ ok: boolean }>('DELETE', `/api/me/sessions/${enc(id)}`),
  endUserSessions: (name: string) =>
    call<{ ended: number }>('DELETE', `/api/users/${enc(name)}/sessions`),
  logout: () => call<{ ok: boolean }>('POST', '/api/logout'),
  me: () => call<Me>('GET', '/api/me'),
  changePassword: (current: string, next: string) =>
    call<{ ok: boolean }>('PUT', '/api/me/password', { current, new: next }),
  apiTokens: () => call<ApiToken[]>('GET', '/api/me/tokens'),
  createApiToken: (body: { name: string; role: Role; groups: string[]; expiresIn: number }) =>
    call<NewApiToken>('POST', '/api/me/tokens', body),
  revokeApiToken: (id: string) =>
    call<{ id: string; revoked: boolean }>('DELETE', `/api/me/tokens/${enc(id)}`),
  /** Invitations not yet accepted nor expired (never their links). */
  invites: () => call<PendingInvite[]>('GET', '/api/invites'),
  cancelInvite: (username: string) =>
    call<{ username: string; message: string }>('DELETE', `/api/invites/${enc(username)}`),
  users: () => call<User[]>('GET', '/api/users'),
  inviteUser: (invite: { username: string; role: Role; groups: string[]; mayDestroy?: boolean }) =>
    call<InviteLink>('POST', '/api/users', invite),
  changeUser: (
    name: string,
    change: { role?: Role; groups?: string[]; mayDestroy?: boolean; disabled?: boolean },
  ) => call<User>('PATCH', `/api/users/${enc(name)}`, change),
  resetUser: (name: string) => call<InviteLink>('POST', `/api/users/${enc(name)}/reset`),
  acceptInvite: (token: string, password: string) =>
    call<{ username: string }>('POST', '/api/invites/accept', { token, password }),
  nodes: () => call<Node[]>('GET', '/api/nodes'),
  createEnrollmentToken: (name: string) =>
    call<EnrollmentToken>('POST', '/api/enrollment-tokens', { name }),
  enrollmentTokens: () => call<PendingToken[]>('GET', '/api/enrollment-tokens'),
  revokeToken: (id: string) =>
    call<{ id: string; revoked: boolean }>('DELETE', `/api/enrollment-tokens/${enc(id)}`),
  changeNode: (id: string, change: { name?: string; tags?: string[] }) =>
    call<{ id: string; name: string; tags: string[] }>('PATCH', `/api/nodes/${enc(id)}`, change),
  removeNode: (id: string, confirm: string) =>
    call<RemovedNode>('DELETE', `/api/nodes/${enc(id)}`, { confirm }),
  metricsOverview: () => call<NodeOverview[]>('GET', '/api/metrics/overview'),
  metrics: (id: string, range: Range) =>
    call<MetricsAnswer>('GET', `/api/nodes/${enc(id)}/metrics?range=${enc(range)}`),
  recipes: () => call<Recipe[]>('GET', '/api/recipes'),
  reloadRecipes: () => call<Recipe[]>('POST', '/api/recipes/reload'),
  submissions: () => call<Submission[]>('GET', '/api/recipes/submissions'),
  submission: (id: string) => call<SubmissionDetail>('GET', `/api/recipes/submissions/${enc(id)}`),
  submitRecipe: (upload: Upload) => call<Submitted>('POST', '/api/recipes/submissions', upload),
  approveSubmission: (id: string) =>
    call<Decided>('POST', `/api/recipes/submissions/${enc(id)}/approve`),
  rejectSubmission: (id: string) =>
    call<Decided>('POST', `/api/recipes/submissions/${enc(id)}/reject`),
  cancelSubmission: (id: string) =>
    call<Decided>('POST', `/api/recipes/submissions/${enc(id)}/cancel`),
  withdrawSubmission: (id: string, confirm: string) =>
    call<Decided>('POST', `/api/recipes/submissions/${enc(id)}/withdraw`, { confirm }),
  jobs: (nodeId?: string) =>
    call<Job[]>('GET', nodeId ? `/api/jobs?node=${enc(nodeId)}` : '/api/jobs'),
  job: (id: string) => call<Job>('GET', `/api/jobs/${enc(id)}`),
  jobEvents: (id: string) => call<JobEvent[]>('GET', `/api/jobs/${enc(id)}/events`),
  audit: () => call<AuditEntry[]>('GET', '/api/audit'),
  settings: () => call<Settings>('GET', '/api/settings'),
  setPublicUrl: (publicUrl: string) => call<Settings>('PUT', '/api/settings', { publicUrl }),
  alerts: (q: { node?: string; state?: Alert['state'] } = {}) => {
    const p = new URLSearchParams(Object.entries(q).filter(([, v]) => v) as [string, string][]);
    return call<Alert[]>('GET', `/api/alerts${p.size ? `?${p}` : ''}`);
  },
  alertRules: () =>
    call<{ rules: AlertRule[]; overrides: AlertOverride[]; mutes: AlertMute[] }>(
      'GET',
      '/api/alert-rules',
    ),
  changeAlertRule: (
    id: AlertRuleId,
    change: { enabled?: boolean; threshold?: number; durationSecs?: number },
  ) => call<AlertRule>('PUT', `/api/alert-rules/${enc(id)}`, change),
  setAlertOverride: (
    id: AlertRuleId,
    nodeId: string,
    o: { enabled: boolean | null; threshold: number | null },
  ) => call<AlertOverride>('PUT', `/api/alert-rules/${enc(id)}/nodes/${enc(nodeId)}`, o),
  muteAlerts: (rule: AlertRuleId, nodeId: string | null, minutes: number) =>
    call<AlertMute>('POST', '/api/alert-mutes', { rule, nodeId, minutes }),
  unmuteAlerts: (id: number) => call<{ id: number }>('DELETE', `/api/alert-mutes/${id}`),
  alertChannels: () => call<AlertChannel[]>('GET', '/api/alert-channels'),
  createAlertChannel: (input: ChannelInput) =>
    call<AlertChannel>('POST', '/api/alert-channels', input),
  deleteAlertChannel: (id: number, confirm: string) =>
    call<{ id: number }>('DELETE', `/api/alert-channels/${id}`, { confirm }),
  testAlertChannel: (id: number) =>
    call<{ id: number; sent: boolean }>('POST', `/api/alert-channels/${id}/test`),
};

export type SocketState = 'connecting' | 'open' | 'closed';

/**
 * The close code of a socket the control plane closed because the page fell too far behind
 * the live events (its queue overflowed or its oldest message waited too long).
 */
export const SOCKET_BEHIND = 4001;

/** Why a reconnection happened: the page fell behind, or the connection was lost. */
export type ReconnectReason = 'behind' | 'lost';

/**
 * The dashboard WebSocket: reconnects with backoff, re-sends the subscriptions on every
 * connection, and hands every message to the listeners. Messages sent while it was closed are
 * lost: after every reconnection the `onReconnect` listeners reload what they show from the
 * store.
 */
export class DashboardSocket {
  private ws: WebSocket | null = null;
  private listeners = new Set<(m: DashboardEvent) => void>();
  private stateListeners = new Set<(s: SocketState) => void>();
  private reconnectListeners = new Set<(why: ReconnectReason) => void>();
  private subscriptions = new Set<string>();
  private retry = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  /** Set by a close, read by the next open: whether that open is a reconnection, and why. */
  private gap: ReconnectReason | null = null;

  constructor(private readonly url = DashboardSocket.defaultUrl()) {}

  static defaultUrl(): string {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/ws/dashboard`;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close();
    this.ws = null;
  }

  onMessage(f: (m: DashboardEvent) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  onState(f: (s: SocketState) => void): () => void {
    this.stateListeners.add(f);
    return () => this.stateListeners.delete(f);
  }

  /** Called on every reconnection (not the first connection), once subscribed again. */
  onReconnect(f: (why: ReconnectReason) => void): () => void {
    this.reconnectListeners.add(f);
    return () => this.reconnectListeners.delete(f);
  }

  subscribe(nodeId: string) {
    this.subscriptions.add(nodeId);
    this.send({ type: 'SUBSCRIBE', nodeId });
  }

  /** Sends if the socket is open; returns whether it was sent. */
  send(m: DashboardCommand): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(m));
    return true;
  }

  private setState(s: SocketState) {
    for (const f of this.stateListeners) f(s);
  }

  private connect() {
    this.setState('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.retry = 0;
      this.setState('open');
      for (const nodeId of this.subscriptions) this.send({ type: 'SUBSCRIBE', nodeId });
      const gap = this.gap;
      this.gap = null;
      if (gap) for (const f of this.reconnectListeners) f(gap);
    };
    ws.onmessage = (ev) => {
      let m: DashboardEvent;
      try {
        m = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (!m || typeof m.type !== 'string') return;
      for (const f of this.listeners) f(m);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setState('closed');
      if (this.stopped) return;
      // Only a socket that was open leaves a gap; a failed attempt keeps the reason it had.
      if (opened) this.gap = ev.code === SOCKET_BEHIND ? 'behind' : (this.gap ?? 'lost');
      // 0.5 s, 1 s, 2 s … up to 15 s: a restarting control plane is found again quickly.
      const delay = Math.min(15000, 500 * 2 ** this.retry++);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }
}
