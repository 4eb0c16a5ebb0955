/**
 * The Server Settings page's state: the node, its last status, the recipes, the jobs started
 * from here, the plan being previewed, and the console. It starts from what the page's `load`
 * read (`+page.ts`), owns the dashboard socket for the page's lifetime and turns messages into
 * state; after the socket reconnects (it fell behind and the control plane closed it, or it was
 * lost) it reloads what it missed from the store.
 */

import {
  api,
  DashboardSocket,
  type DashboardCommand,
  type DashboardEvent,
  type Job,
  type JobEvent,
  type JobKind,
  type Node,
  type ReconnectReason,
  type Recipe,
  type SocketState,
  type ActionSpec,
} from '$lib/api';
import { PLAN_PLACEHOLDER } from '$lib/backup';
import { appendRows, MAX_LINES, rowsForEvent, type ConsoleLine } from '$lib/console';
import { saidOf, t } from '$lib/i18n.svelte';
import { failure, failureOf, retryOf } from '$lib/jobs';
import { recipeMessage } from '$lib/recipeText';
import type {
  PlannedStep,
  PlanSummary,
  ServerStatus,
  ServiceLog,
  WaitReason,
} from '$lib/protocol.generated';

export type JobPurpose = 'runtime' | 'database' | 'backup' | 'action' | 'plan';

/** What a card shows about the latest job started for its recipe. */
export type Task = {
  purpose: Exclude<JobPurpose, 'plan'>;
  jobId: string | null;
  status: 'requesting' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  percent: number | null;
  step: string;
  /** What the job is blocked on, while it waits (shown instead of a moving progress bar). */
  waiting: { reason: WaitReason; holder: string } | null;
  /** A failure as a sentence, and where in the recipe it happened (behind "Details"). */
  error: string;
  location: string;
  version: string;
  /** The recipe's own sentence about what it did (backups: "Snapshot … saved"). */
  message: string;
  /** A database's connection string, held only in this page's memory, shown once. */
  secret: string;
  /** The declared action the job runs, when it runs one (`make_key`, `test_connection`, …). */
  action: string;
  /** A backup's public key, as the job's result reports it (rsync's `make_key`). */
  publicKey: string;
};

/**
 * The plan being previewed before a job is confirmed. It is shown in its dialog only: its
 * events never reach the console (a preview changes nothing, so no line may say it did), and
 * the control plane keeps it out of the job history.
 */
export type Plan = {
  recipe: string;
  purpose: Exclude<JobPurpose, 'plan'>;
  jobId: string | null;
  status: 'requesting' | 'ready' | 'failed';
  actions: PlannedStep[];
  /** What would change, in words; `null` until the plan arrives. */
  summary: PlanSummary | null;
  error: string;
  /** A previewed action: its name, and for a destructive one the value to type again. */
  action?: { name: string; destructive: boolean; confirmParam: string; expected: string };
};

/** A preview's id (the control plane names them `plan-…`; jobs are `job-…`). */
const isPlan = (id: string) => id.startsWith('plan-');

const EMPTY_SUMMARY: PlanSummary = {
  packages: [],
  services: [],
  users: [],
  databases: [],
  files: [],
  downloads: [],
  ports: [],
  notes: [],
};

/** Lines of its own job a card shows. */
export const CARD_LINES = 3;

/** A card's task before anything is known of its job. */
function newTask(purpose: Task['purpose'], jobId: string | null, status: Task['status']): Task {
  return {
    purpose,
    jobId,
    status,
    percent: null,
    step: '',
    waiting: null,
    error: '',
    location: '',
    version: '',
    message: '',
    secret: '',
    action: '',
    publicKey: '',
  };
}

/**
 * Each job's last `CARD_LINES` rows after `rows`: one backward pass over the new rows, one new
 * object per frame (a streaming job sends thousands of rows a second).
 */
export function lastRows(
  tails: Record<string, ConsoleLine[]>,
  rows: ConsoleLine[],
): Record<string, ConsoleLine[]> {
  const fresh: Record<string, ConsoleLine[]> = {};
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i];
    const got = (fresh[r.jobId] ??= []);
    if (got.length < CARD_LINES) got.unshift(r);
  }
  const out = { ...tails };
  for (const [jobId, got] of Object.entries(fresh)) {
    out[jobId] = (tails[jobId] ?? []).concat(got).slice(-CARD_LINES);
  }
  return out;
}

const PURPOSE: Record<JobKind, JobPurpose> = {
  INSTALL_RUNTIME: 'runtime',
  CONFIGURE_DATABASE: 'database',
  CONFIGURE_BACKUP: 'backup',
  PLAN_REQUEST: 'plan',
};

const TERMINAL = new Set([
  'RUNTIME_INSTALLED',
  'DATABASE_CONFIGURED',
  'BACKUP_CONFIGURED',
  'PLAN_RESULT',
  'JOB_FAILED',
]);

const JOB_EVENTS = new Set([
  'JOB_STARTED',
  'INFRASTRUCTURE_LOG',
  'JOB_STEP',
  'JOB_PROGRESS',
  'JOB_WAITING',
  'JOB_TIMINGS',
  ...TERMINAL,
]);

const JOB_TYPE: Record<JobPurpose, DashboardCommand['type']> = {
  runtime: 'INSTALL_RUNTIME',
  database: 'CONFIGURE_DATABASE',
  backup: 'CONFIGURE_BACKUP',
  action: 'RUN_ACTION',
  plan: 'PLAN_REQUEST',
};

/** How often an open page refreshes the machine's figures. */
export const SYSTEM_REFRESH_MS = 30_000;

export class NodeController {
  node = $state<Node | null>(null);
  status = $state<ServerStatus | null>(null);
  online = $state(false);
  recipes = $state<Recipe[]>([]);
  history = $state<Job[]>([]);
  tasks = $state<Record<string, Task>>({});
  plan = $state<Plan | null>(null);
  lines = $state.raw<ConsoleLine[]>([]);
  /** The last `CARD_LINES` rows of each job, for its card. */
  tails = $state.raw<Record<string, ConsoleLine[]>>({});
  /** A backup configuration to retry: its form, filled with what the job kept (no secret). */
  retryForm = $state<{ recipe: Recipe; values: Record<string, string> } | null>(null);
  jobLabels = $state<Record<string, string>>({});
  banner = $state('');
  /** Each service's log as last read (`'reading'` until the agent answers); never stored. */
  serviceLogs = $state<Record<string, ServiceLog | 'reading'>>({});
  loadError = $state('');
  socketState = $state<SocketState>('connecting');

  /** Jobs this page knows: id → recipe and purpose. */
  private jobs = new Map<string, { recipe: string; purpose: JobPurpose; action?: string }>();
  /**
   * What the previewed job sends once confirmed. Not reactive state, and dropped as soon as it
   * is sent or the preview is cancelled: it may hold a secret (an S3 secret key).
   */
  private planPayload: Record<string, unknown> | null = null;
  /** Console rows received since the last frame; drawn together by `flushLines`. */
  private pendingRows: ConsoleLine[] = [];
  private flushScheduled = false;
  /** Requests sent and not yet answered by `JOB_CREATED` or `ERROR`, oldest first. */
  private pending: { recipe: string; purpose: JobPurpose; action?: string }[] = [];
  private socket: DashboardSocket;
  private unsubscribe: (() => void)[] = [];
  /** The last `seq` shown per job: an event at or below it is one already shown. */
  private lastSeq = new Map<string, number>();
  /** Jobs whose terminal event was shown: nothing more to reload for them. */
  private finished = new Set<string>();
  /** Job events that arrive while a reload is under way; applied once it is done, in order. */
  private held: DashboardEvent[] | null = null;

  constructor(
    readonly nodeId: string,
    socket?: DashboardSocket,
  ) {
    this.socket = socket ?? new DashboardSocket();
  }

  /** Shows what the page's `load` read, then follows the node on the socket. */
  start(loaded: { node: Node; recipes: Recipe[] }) {
    this.unsubscribe.push(
      this.socket.onMessage((m) => this.handle(m)),
      this.socket.onState((s) => (this.socketState = s)),
      this.socket.onReconnect((why) => this.resync(why)),
    );
    this.socket.subscribe(this.nodeId);
    this.socket.start();
    this.show(loaded.node, loaded.recipes);
    this.loadHistory();
    const timer = setInterval(() => this.refreshSystem(), SYSTEM_REFRESH_MS);
    this.unsubscribe.push(() => clearInterval(timer));
  }

  stop() {
    for (const f of this.unsubscribe) f();
    this.socket.stop();
  }

  /**
   * Asks for the machine's figures alone (uptime, CPU, memory, disk), which change while the page
   * is open; no recipe's detector runs. Skipped while the tab is hidden or the node offline.
   */
  refreshSystem() {
    if (!this.online || (typeof document !== 'undefined' && document.hidden)) return;
    this.socket.send({ type: 'GET_SERVER_STATUS', nodeId: this.nodeId, systemOnly: true });
  }

  /**
   * Reads the node and the recipes again. The page is already up: a failure here is said on the
   * page (`loadError`), which keeps what it showed.
   */
  async load() {
    try {
      const [nodes, recipes] = await Promise.all([api.nodes(), api.recipes()]);
      const node = nodes.find((n) => n.id === this.nodeId) ?? null;
      this.show(node, recipes);
      if (!node) return;
    } catch (e) {
      this.loadError = e instanceof Error ? e.message : String(e);
    }
    this.loadHistory();
  }

  private show(node: Node | null, recipes: Recipe[]) {
    this.recipes = recipes;
    this.node = node;
    if (!node) {
      this.loadError = 'missing';
      return;
    }
    this.online = node.online;
    this.status ??= node.lastStatus;
    this.loadError = '';
  }

  /**
   * Reloads what the page missed while its socket was closed: the node and its history, and
   * the stored events of every job it follows that came after the last one it showed. Live
   * events arriving meanwhile are held and applied after, so the console stays in order and
   * shows nothing twice.
   */
  async resync(why: ReconnectReason) {
    if (this.held) return;
    this.held = [];
    // A preview's answer went to the closed socket and is not stored: ask again.
    if (this.plan?.status === 'requesting') {
      this.plan.status = 'failed';
      this.plan.error = t('plan.lost');
    }
    try {
      await this.load();
      for (const [jobId, job] of this.jobs) {
        if (this.finished.has(jobId) || job.purpose === 'plan') continue;
        let events: JobEvent[];
        try {
          events = await api.jobEvents(jobId);
        } catch {
          continue;
        }
        for (const e of events) this.jobEvent(e.type, jobId, { ...e.payload, seq: e.seq });
      }
      if (why === 'behind') this.banner = t('socket.behind');
    } finally {
      const held = this.held;
      this.held = null;
      for (const m of held) this.handle(m);
    }
  }

  async loadHistory() {
    try {
      this.history = await api.jobs(this.nodeId);
    } catch {
      // The list stays as it was; the next terminal event tries again.
      return;
    }
    this.seedTasks();
  }

  /**
   * Gives each card the latest job of its recipe from the history when this page has not
   * followed one (after a reload): a failed or cancelled one keeps its Retry, a running one is
   * followed again, its stored events replayed.
   */
  private seedTasks() {
    const seen = new Set<string>();
    for (const j of this.history) {
      const purpose = j.action ? 'action' : PURPOSE[j.kind];
      if (purpose === 'plan' || seen.has(j.recipe)) continue;
      seen.add(j.recipe);
      if (this.tasks[j.recipe] || this.jobs.has(j.id)) continue;
      if (j.status === 'failed' || j.status === 'cancelled') {
        const f = failureOf(
          j,
          this.recipes.find((r) => r.id === j.recipe),
        );
        const task = newTask(purpose, j.id, j.status);
        task.error = f?.sentence ?? '';
        task.location = f?.location ?? '';
        this.tasks[j.recipe] = task;
        this.jobs.set(j.id, { recipe: j.recipe, purpose, action: j.action });
        this.finished.add(j.id);
      } else if (j.status === 'pending' || j.status === 'running') {
        this.tasks[j.recipe] = newTask(purpose, j.id, 'running');
        this.jobs.set(j.id, { recipe: j.recipe, purpose, action: j.action });
        this.jobLabels[j.id] = `${j.recipe} · ${purpose} · ${j.id.slice(0, 12)}`;
        void this.replay(j.id);
      }
    }
  }

  /** Applies a job's stored events (those not shown yet). */
  private async replay(jobId: string) {
    let events: JobEvent[];
    try {
      events = await api.jobEvents(jobId);
    } catch {
      return;
    }
    for (const e of events) this.jobEvent(e.type, jobId, { ...e.payload, seq: e.seq });
  }

  /**
   * Retry: the same command again, from what the job kept (`Job.params`). It is previewed
   * first like any job; a backup's configuration opens its form instead, filled in, so that
   * its secret (never stored) is asked again.
   */
  async retry(jobId: string) {
    let job = this.history.find((j) => j.id === jobId);
    if (!job) {
      try {
        job = await api.job(jobId);
      } catch (e) {
        this.banner = e instanceof Error ? e.message : String(e);
        return;
      }
    }
    const how = retryOf(job);
    const recipe = this.recipes.find((r) => r.id === job.recipe);
    if (!how || !recipe) {
      this.banner = t('retry.unavailable');
      return;
    }
    if (how.form) this.retryForm = { recipe, values: how.values };
    else this.preview(recipe, how.purpose, how.payload, how.params);
  }

  refreshStatus() {
    if (this.online) this.socket.send({ type: 'GET_SERVER_STATUS', nodeId: this.nodeId });
  }

  /** Asks the agent for the last lines of `service`'s log; `show` false forgets the ones shown. */
  serviceLog(service: string, show: boolean) {
    if (!show) {
      delete this.serviceLogs[service];
      return;
    }
    this.serviceLogs[service] = 'reading';
    if (!this.socket.send({ type: 'GET_SERVICE_LOG', nodeId: this.nodeId, service })) {
      delete this.serviceLogs[service];
      this.banner = t('error.socket');
    }
  }

  recipesOf(category: Recipe['category']): Recipe[] {
    return this.recipes.filter((r) => r.published && r.category === category);
  }

  /** Asks for a plan of `recipe`; the job itself is sent by `confirm()`. */
  preview(
    recipe: Recipe,
    purpose: Exclude<JobPurpose, 'plan'>,
    payload: Record<string, unknown>,
    params: Record<string, unknown>,
  ) {
    // Only the parameters the recipe declares: the engine refuses any other.
    const declared = Object.fromEntries(
      Object.entries(params).filter(([k]) => recipe.params.some((p) => p.name === k)),
    );
    // The run carries what was previewed (a runtime's chosen version included), or the control
    // plane refuses it as not what was previewed.
    this.planPayload =
      purpose !== 'runtime' || 'params' in payload || Object.keys(declared).length === 0
        ? payload
        : { ...payload, params: declared };
    this.plan = {
      recipe: recipe.id,
      purpose,
      jobId: null,
      status: 'requesting',
      actions: [],
      summary: null,
      error: '',
    };
    this.request('plan', recipe.id, { type: recipe.id, params: declared });
  }

  /**
   * Asks for a plan of one of `recipe`'s declared actions with its own `params`; `confirm()`
   * then runs it (a destructive one with the value typed again, which the control plane
   * checks too).
   */
  previewAction(recipe: Recipe, action: ActionSpec, params: Record<string, unknown>) {
    const own = Object.fromEntries(
      Object.entries(params).filter(([k]) => action.params.some((p) => p.name === k)),
    );
    const confirmParam = action.destructive ? (action.confirm ?? '') : '';
    this.planPayload = { type: recipe.id, action: action.name, params: own };
    this.plan = {
      recipe: recipe.id,
      purpose: 'action',
      jobId: null,
      status: 'requesting',
      actions: [],
      summary: null,
      error: '',
      action: {
        name: action.name,
        destructive: !!action.destructive,
        confirmParam,
        expected: confirmParam ? String(own[confirmParam] ?? '') : '',
      },
    };
    // A secret is never in a preview: a placeholder stands for it (the real one travels once,
    // with the job).
    const secret = (k: string) => action.params.some((p) => p.name === k && p.secret);
    const previewed = Object.fromEntries(
      Object.entries(own).map(([k, v]) => [k, secret(k) && v ? PLAN_PLACEHOLDER : v]),
    );
    this.request('plan', recipe.id, { type: recipe.id, action: action.name, params: previewed });
  }

  /**
   * Sends the previewed job, naming its preview: the control plane refuses it unless it is what
   * was previewed. Nothing is sent before the plan has arrived. `typed`: a destructive action's
   * confirmation.
   */
  confirm(typed?: string) {
    const plan = this.plan;
    const payload = this.planPayload;
    if (!plan || !payload || plan.status !== 'ready' || !plan.jobId) return;
    this.plan = null;
    this.planPayload = null;
    this.tasks[plan.recipe] = newTask(plan.purpose, null, 'requesting');
    this.tasks[plan.recipe].action = plan.action?.name ?? '';
    const confirm = plan.action?.destructive ? { confirm: typed ?? '' } : {};
    this.request(plan.purpose, plan.recipe, { ...payload, ...confirm, planId: plan.jobId });
  }

  /**
   * Runs one of `recipe`'s declared actions at once, without a preview: only for the backup
   * form's setup steps (`make_key`, `test_connection`), which change nothing but this server's
   * key and the script that checks the connection. Destructive actions always go through
   * `previewAction`.
   */
  runAction(recipe: Recipe, action: ActionSpec, params: Record<string, unknown>) {
    if (action.destructive) return;
    const task = newTask('action', null, 'requesting');
    task.action = action.name;
    this.tasks[recipe.id] = task;
    this.request('action', recipe.id, { type: recipe.id, action: action.name, params });
  }

  cancelPlan() {
    const plan = this.plan;
    this.plan = null;
    this.planPayload = null;
    if (plan?.jobId && plan.status === 'requesting') this.cancel(plan.jobId);
  }

  cancel(jobId: string) {
    this.socket.send({ type: 'CANCEL_JOB', nodeId: this.nodeId, jobId });
  }

  /** Forgets a revealed secret: after this, nothing in the page holds it. */
  forgetSecret(recipe: string) {
    const task = this.tasks[recipe];
    if (task) task.secret = '';
  }

  clearConsole() {
    this.pendingRows = [];
    this.lines = [];
  }

  /**
   * Draws the rows received since the last frame. A busy job sends thousands of lines a second,
   * each its own socket message: adding them one by one would re-render the console for every
   * line; batching them per animation frame renders it at most once a frame.
   */
  flushLines() {
    this.flushScheduled = false;
    if (this.pendingRows.length === 0) return;
    const rows = this.pendingRows;
    this.pendingRows = [];
    this.lines = appendRows(this.lines, rows);
    this.tails = lastRows(this.tails, rows);
  }

  private queueRows(rows: ConsoleLine[]) {
    if (rows.length === 0) return;
    for (const r of rows) this.pendingRows.push(r);
    // A hidden tab gets no frames: keep no more than the console would show.
    if (this.pendingRows.length > 2 * MAX_LINES) {
      this.pendingRows = this.pendingRows.slice(-MAX_LINES);
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const flush = () => this.flushLines();
    if (typeof requestAnimationFrame === 'function' && document.visibilityState === 'visible') {
      requestAnimationFrame(flush);
    } else {
      setTimeout(flush, 100);
    }
  }

  private request(purpose: JobPurpose, recipe: string, payload: Record<string, unknown>) {
    // The payload comes from the page's forms: its fields are the command's (docs/api.md).
    const command = { type: JOB_TYPE[purpose], nodeId: this.nodeId, payload } as DashboardCommand;
    const sent = this.socket.send(command);
    if (!sent) {
      this.fail(purpose, recipe, t('error.socket'));
      return;
    }
    // An action's job: its console says the action was done, not the recipe installed.
    const action =
      purpose === 'action' && typeof payload.action === 'string' ? payload.action : undefined;
    this.pending.push({ recipe, purpose, action });
  }

  private fail(purpose: JobPurpose, recipe: string, message: string) {
    if (purpose === 'plan') {
      if (this.plan?.recipe === recipe) {
        this.plan.status = 'failed';
        this.plan.error = message;
      }
    } else {
      const task = this.tasks[recipe];
      if (task) {
        task.status = 'failed';
        task.error = failure(message).sentence;
      }
    }
  }

  handle(m: DashboardEvent) {
    if (m.nodeId && m.nodeId !== this.nodeId) return;
    if (this.held && JOB_EVENTS.has(m.type)) {
      this.held.push(m);
      return;
    }
    const p = (m.payload ?? {}) as Record<string, unknown>;
    switch (m.type) {
      case 'NODE_STATUS':
        // Answers SUBSCRIBE (once per connection) and follows the agent coming and going:
        // each time it is online, ask it for a fresh status.
        this.online = p.online === true;
        this.refreshStatus();
        return;
      case 'SERVER_STATUS':
        // A system-only answer detected nothing: keep the detections shown, update the figures.
        if (m.payload.systemOnly) {
          if (this.status) this.status = { ...this.status, system: m.payload.system };
        } else {
          this.status = m.payload;
        }
        return;
      case 'SERVICE_LOG':
        // Only an answer to a log still asked for (not hidden since).
        if (m.payload.service in this.serviceLogs) this.serviceLogs[m.payload.service] = m.payload;
        return;
      case 'JOB_CREATED':
        this.created(String(p.jobId ?? m.jobId ?? ''), String(p.recipe ?? ''));
        return;
      case 'ERROR': {
        const message = saidOf(p);
        const req = this.pending.shift();
        if (req) this.fail(req.purpose, req.recipe, message);
        else this.banner = message;
        return;
      }
      case 'AGENT_ERROR':
        this.banner = saidOf(p);
        return;
    }
    if (JOB_EVENTS.has(m.type)) this.jobEvent(m.type, String(m.jobId ?? p.jobId ?? ''), p);
  }

  private created(jobId: string, recipe: string) {
    const i = this.pending.findIndex((r) => r.recipe === recipe);
    const req = i >= 0 ? this.pending.splice(i, 1)[0] : { recipe, purpose: 'runtime' as const };
    this.jobs.set(jobId, req);
    if (req.purpose === 'plan') {
      if (this.plan?.recipe === recipe) this.plan.jobId = jobId;
    } else {
      this.jobLabels[jobId] = `${recipe} · ${req.purpose} · ${jobId.slice(0, 12)}`;
      const task = this.tasks[recipe];
      if (task) task.jobId = jobId;
      this.loadHistory();
    }
  }

  private jobEvent(type: string, jobId: string, p: Record<string, unknown>) {
    if (typeof p.seq === 'number') {
      if (p.seq <= (this.lastSeq.get(jobId) ?? 0)) return;
      this.lastSeq.set(jobId, p.seq);
    }
    if (TERMINAL.has(type)) this.finished.add(jobId);
    let job = this.jobs.get(jobId);
    if (!job && type === 'JOB_STARTED' && typeof p.recipeId === 'string' && !isPlan(jobId)) {
      // A job started elsewhere (another tab or user): show it too.
      const recipe = this.recipes.find((r) => r.id === p.recipeId);
      const purpose = recipe?.category ?? 'runtime';
      job = { recipe: p.recipeId, purpose };
      this.jobs.set(jobId, job);
      this.jobLabels[jobId] = `${p.recipeId} · ${jobId.slice(0, 12)}`;
    }
    // A preview is shown in its dialog, never as a job run in the console.
    if (job?.purpose === 'plan' || isPlan(jobId)) {
      const plan = this.plan;
      if (!plan || plan.jobId !== jobId) return;
      if (type === 'PLAN_RESULT') {
        plan.actions = (p.actions as PlannedStep[]) ?? [];
        plan.summary = (p.summary as PlanSummary | undefined) ?? EMPTY_SUMMARY;
        plan.status = 'ready';
      } else if (type === 'JOB_FAILED') {
        plan.status = 'failed';
        plan.error = recipeMessage(
          this.recipes.find((r) => r.id === job?.recipe),
          saidOf(p),
        );
      }
      return;
    }
    const recipe = job ? this.recipes.find((r) => r.id === job.recipe) : undefined;
    this.queueRows(rowsForEvent(type, jobId, p, recipe, job?.action));
    // A log line changes nothing else; this is the hot path while a job streams.
    if (!job || type === 'INFRASTRUCTURE_LOG') return;

    let task = (this.tasks[job.recipe] ??= newTask(job.purpose, jobId, 'running'));
    if (task.jobId !== jobId) {
      // A job of this recipe that starts once the card's last one has ended (the first backup
      // the control plane starts after a backup's configure, or a job from another tab): the
      // card follows it. Otherwise the card stays on its own job.
      const ended = task.status !== 'requesting' && task.status !== 'running';
      if (task.jobId !== null && !(ended && type === 'JOB_STARTED')) return;
      if (task.jobId !== null) {
        task = this.tasks[job.recipe] = newTask(job.purpose, jobId, 'running');
      }
      task.jobId = jobId;
    }
    switch (type) {
      case 'JOB_STARTED':
        task.status = 'running';
        // The history said "Pending" since JOB_CREATED: it is running now.
        this.loadHistory();
        break;
      case 'JOB_STEP':
        task.status = 'running';
        task.step = String(p.title ?? '');
        break;
      case 'JOB_PROGRESS':
        task.status = 'running';
        task.percent = Math.max(0, Math.min(100, Number(p.percent) || 0));
        break;
      case 'JOB_WAITING':
        task.status = 'running';
        task.waiting =
          typeof p.reason === 'string'
            ? {
                reason: p.reason as WaitReason,
                holder: typeof p.holder === 'string' ? p.holder : '',
              }
            : null;
        break;
      case 'RUNTIME_INSTALLED':
      case 'DATABASE_CONFIGURED':
      case 'BACKUP_CONFIGURED':
        task.status = p.success ? 'succeeded' : 'failed';
        task.version = typeof p.version === 'string' ? p.version : '';
        task.message = typeof p.message === 'string' ? p.message : '';
        task.publicKey = typeof p.publicKey === 'string' ? p.publicKey : '';
        if (typeof p.connectionString === 'string') task.secret = p.connectionString;
        break;
      case 'JOB_FAILED': {
        // A person stopped it: not a failure of the recipe.
        task.status = p.kind === 'cancelled' ? 'cancelled' : 'failed';
        const f =
          task.status === 'cancelled'
            ? { sentence: t('job.cancelledSentence'), location: '' }
            : failure(saidOf(p), typeof p.location === 'string' ? p.location : '', recipe);
        task.error = f.sentence;
        task.location = f.location;
        break;
      }
    }
    if (TERMINAL.has(type)) task.waiting = null;
    if (TERMINAL.has(type)) {
      this.refreshStatus();
      this.loadHistory();
    }
  }
}
