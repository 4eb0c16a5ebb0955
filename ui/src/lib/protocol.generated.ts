// Generated from the cairn-protocol crate by protocol/src/typescript.rs. Do not edit:
// change the Rust types, then run `CAIRN_UPDATE_TS=1 cargo test -p cairn-protocol typescript`.

export type Message = { "type": "HELLO", "payload": Hello } | { "type": "AUTH_CHALLENGE", "payload": AuthChallenge } | { "type": "AUTH_RESPONSE", "payload": AuthResponse } | { "type": "AUTH_OK", "payload": AuthOk } | { "type": "ENROLL_REQUEST", "payload": EnrollRequest } | { "type": "ENROLL_RESPONSE", "payload": EnrollResponse } | { "type": "GET_SERVER_STATUS", "payload": GetServerStatus } | { "type": "SERVER_STATUS", "payload": ServerStatus } | { "type": "GET_SERVICE_LOG", "payload": GetServiceLog } | { "type": "SERVICE_LOG", "payload": ServiceLog } | { "type": "INSTALL_RUNTIME", "payload": InstallRuntime } | { "type": "CONFIGURE_DATABASE", "payload": ConfigureDatabase } | { "type": "CONFIGURE_BACKUP", "payload": ConfigureBackup } | { "type": "PLAN_REQUEST", "payload": PlanRequest } | { "type": "CANCEL_JOB", "payload": CancelJob } | { "type": "LOG_ACK", "payload": LogAck } | { "type": "JOB_STARTED", "payload": JobStarted } | { "type": "INFRASTRUCTURE_LOG", "payload": InfrastructureLog } | { "type": "JOB_STEP", "payload": JobStep } | { "type": "JOB_PROGRESS", "payload": JobProgress } | { "type": "JOB_WAITING", "payload": JobWaiting } | { "type": "JOB_TIMINGS", "payload": JobTimings } | { "type": "RUNTIME_INSTALLED", "payload": RuntimeInstalled } | { "type": "DATABASE_CONFIGURED", "payload": DatabaseConfigured } | { "type": "BACKUP_CONFIGURED", "payload": BackupConfigured } | { "type": "PLAN_RESULT", "payload": PlanResult } | { "type": "JOB_FAILED", "payload": JobFailed } | { "type": "ERROR", "payload": ErrorMessage } | { "type": "METRICS", "payload": Metrics } | { "type": "METRICS_ACK", "payload": MetricsAck };

export type Hello = { nodeId: string, 
/**
 * The agent's key id; absent when the agent comes to enroll.
 */
keyId?: string | null, agentVersion: string, protocolVersion: number, 
/**
 * The [`crate::ids::detectors_hash`] of the detector bundles the agent kept from an earlier
 * connection (each verified when it arrived). The control plane then sends
 * `GET_SERVER_STATUS` with `sameDetectors` and this hash instead of the bundles when it
 * would send the same ones. Untrusted: it only chooses between two signed requests.
 */
detectorsHash?: string | null, };

export type ChallengePurpose = "auth" | "enroll";

export type AuthChallenge = { 
/**
 * 32 random bytes, hex.
 */
nonce: string, purpose: ChallengePurpose, controlPlaneKeyId: string, 
/**
 * The control plane's clock (unix seconds), so the agent can warn about skew.
 */
serverTime: number, };

export type AuthResponse = { nodeId: string, nonce: string, 
/**
 * Ed25519 signature, base64.
 */
signature: string, };

export type AuthOk = { sessionId: string, 
/**
 * The nonce the agent answered, binding this reply to that challenge.
 */
nonce: string, serverTime: number, };

export type EnrollRequest = { nodeId: string, token: string, 
/**
 * The agent's new Ed25519 public key, hex.
 */
publicKey: string, hostname: string, nonce: string, 
/**
 * Ed25519 signature by the new key, base64.
 */
proof: string, };

export type EnrollResponse = { nodeId: string, keyId: string, controlPlaneKeyId: string, };

export type GetServerStatus = { 
/**
 * Echoed in the answer, so the control plane can match it to the dashboard that asked.
 */
requestId?: string | null, 
/**
 * The signed bundles of the recipes whose `detect()` the agent runs for this status. The
 * agent verifies each like any bundle (signature, manifest, expiry, not older than what it
 * ran) but records nothing: detection is read-only. A bundle that fails verification is
 * reported as that recipe's `error`.
 */
detectors?: Array<SignedBundle>, 
/**
 * Run the detectors the agent kept from the last `GET_SERVER_STATUS` that carried some,
 * in this connection or an earlier one (each verified again when it runs: signature,
 * expiry, not older than what it ran): the control plane sends the bundles once instead
 * of with every request and every reconnection. Ignored when `detectors` is not empty.
 */
sameDetectors?: boolean, 
/**
 * With `sameDetectors`: the [`crate::ids::detectors_hash`] of the bundles meant. An agent that
 * does not hold exactly those runs none of its kept ones: it forgets them and reconnects
 * without a hash in `HELLO`, so the control plane sends the bundles.
 */
detectorsHash?: string | null, 
/**
 * Only the machine's facts (`system`), no detector: what an open page asks for every
 * half minute to keep the server's figures current without running every recipe's
 * `detect()`. The detectors the agent keeps are neither used nor replaced.
 */
systemOnly?: boolean, };

export type ServerStatus = { requestId?: string | null, runtimes: Array<RuntimeInfo>, databases: Array<DatabaseInfo>, backups: Array<BackupInfo>, 
/**
 * Every service the recipes' `capabilities.services` declare, once each, by name.
 * Absent from older agents.
 */
services?: Array<ServiceInfo>, system: SystemInfo, 
/**
 * The answer to a `systemOnly` request: `runtimes`, `databases` and `backups` are empty
 * because nothing was detected, not because nothing is there. The control plane does not
 * store it as the node's status; the page keeps what it showed and updates `system`.
 */
systemOnly?: boolean, };

export type RuntimeInfo = { 
/**
 * The recipe id (`python`, `go`, `docker`, `rust`, `ruby`, …).
 */
type: string, installed: boolean, version?: string | null, 
/**
 * Human size estimate from the recipe ("350 MB").
 */
estimatedSize?: string | null, 
/**
 * Set when detection failed or timed out; the other fields are then best effort.
 */
error?: string | null, 
/**
 * Every installation the detector found besides the distribution's package (rustup, nvm,
 * pyenv, asdf, `/usr/local/go`, for root and each user), each with where it came from, so
 * the page shows what is there instead of offering to install over it.
 */
installations?: Array<Installation>, };

export type Installation = { version: string, 
/**
 * How it was installed and for whom: "rustup (root), stable-x86_64-unknown-linux-gnu".
 */
source: string, 
/**
 * Where it lives ("/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu").
 */
path: string, };

export type DatabaseInfo = { 
/**
 * The recipe id (`postgresql`, `mysql`, `redis`, …).
 */
type: string, installed: boolean, running: boolean, version?: string | null, estimatedSize?: string | null, error?: string | null, 
/**
 * While the server runs: the databases it holds (PostgreSQL, MariaDB).
 */
databases?: Array<DbDatabase>, 
/**
 * While the server runs: its users (PostgreSQL roles, MariaDB accounts, Redis ACL users),
 * never a password or a hash.
 */
users?: Array<DbUser>, };

export type DbDatabase = { name: string, owner?: string, 
/**
 * What it takes on disk, in bytes. (`size_bytes` is how the engine's detection, which the
 * agent reads into this type, spells it.)
 */
sizeBytes?: number, };

export type DbUser = { name: string, 
/**
 * MariaDB: the account's host part (`localhost`, `127.0.0.1`, `%`).
 */
host?: string, 
/**
 * PostgreSQL: whether the role may log in; Redis: whether the ACL user is on.
 */
login?: boolean, superuser?: boolean, 
/**
 * The databases it owns (PostgreSQL).
 */
owns?: Array<string>, 
/**
 * The databases it may connect to (PostgreSQL) or has grants on (MariaDB).
 */
databases?: Array<string>, 
/**
 * Redis: what it may do (its ACL rules, passwords and hashes left out).
 */
access?: string, };

export type BackupInfo = { 
/**
 * `s3`, `rsync`, …
 */
provider: string, configured: boolean, schedule?: string | null, 
/**
 * Unix seconds of the last run, if any.
 */
lastRunAt?: number | null, lastRunOk?: boolean | null, 
/**
 * Unix seconds of the last restore test: the latest backup restored into a scratch
 * directory and compared byte for byte with what was backed up.
 */
lastRestoreTestAt?: number | null, lastRestoreTestOk?: boolean | null, 
/**
 * The public key the backup target must accept (rsync over SSH); the private half stays
 * on the server.
 */
publicKey?: string | null, 
/**
 * The snapshots kept, newest first, at most 50 (issue 18).
 */
snapshots?: Array<BackupSnapshot>, error?: string | null, 
/**
 * The restore drills: the restore test cron runs on its own schedule, and its last result.
 */
drill?: BackupDrill, 
/**
 * The current configuration, for the Change form (never a secret key or password).
 */
settings?: BackupSettings, };

export type BackupSnapshot = { 
/**
 * The snapshot's name at the target: rsync's UTC time, restic's short id.
 */
id: string, 
/**
 * Unix seconds when its backup started.
 */
time: number, 
/**
 * The bytes of the files it holds, as they were on the server.
 */
sizeBytes: number, files: number, 
/**
 * How long its backup took, in seconds.
 */
durationS: number, };

export type BackupDrill = { 
/**
 * The drills' cron expression; absent when none is scheduled.
 */
schedule?: string, 
/**
 * A verified restore older than this many days is overdue.
 */
maxAgeDays?: number, 
/**
 * Unix seconds of the last restore test.
 */
lastAt?: number, lastOk?: boolean, 
/**
 * Why the last restore test failed, in a sentence.
 */
lastError?: string, };

export type BackupSettings = { paths?: Array<string>, schedule?: string, keep?: number, drillSchedule?: string, drillMaxAgeDays?: number, 
/**
 * rsync: `user@host:/path` and the SSH port.
 */
target?: string, port?: number, 
/**
 * s3: where the repository is, and the access key id (not the secret key).
 */
endpoint?: string, bucket?: string, region?: string, accessKeyId?: string, };

export type ServiceState = "running" | "stopped" | "not_installed";

export type ServiceInfo = { 
/**
 * The unit or init script name (`redis-server`).
 */
name: string, state: ServiceState, 
/**
 * Unix seconds its main process started (with systemd: when it became active). Absent
 * when it is not running, or when nothing says (no pid file known).
 */
since?: number, 
/**
 * Whether it starts at boot; absent when that cannot be said (not installed, a systemd
 * unit that is `static`).
 */
enabledAtBoot?: boolean, 
/**
 * Where its log is read from: `journal`, or a file's path (a pattern such as
 * `/var/log/postgresql/postgresql-*-main.log` until read). Absent: it has none Cairn
 * knows of (no systemd, and its recipe declares no log file).
 */
log?: string, 
/**
 * The recipes that declare it (`redis`).
 */
recipes: Array<string>, };

export type GetServiceLog = { 
/**
 * Echoed in the answer, so the control plane gives it to the page that asked, only.
 */
requestId: string, 
/**
 * A service of `capabilities.services` of a recipe the agent keeps as a detector; any
 * other is refused.
 */
service: string, };

export type ServiceLog = { requestId: string, service: string, 
/**
 * `journal` or the file read.
 */
source?: string, 
/**
 * Oldest first, at most 50.
 */
lines: Array<string>, 
/**
 * Why there are no lines, for the page to say in its language.
 */
problem?: LogProblem, 
/**
 * The same, as an English sentence with its details.
 */
error?: string, };

export type LogProblem = "no_log" | "missing" | "unreadable" | "not_declared" | "other";

export type SystemInfo = { 
/**
 * Pretty name from os-release ("Debian GNU/Linux 12 (bookworm)").
 */
os: string, kernel: string, arch: string, hostname: string, cpu: CpuInfo, ram: Usage, 
/**
 * The root filesystem.
 */
disk: Usage, 
/**
 * Seconds since boot.
 */
uptime: number, 
/**
 * Non-loopback IP addresses.
 */
addresses: Array<string>, };

export type CpuInfo = { cores: number, model: string, 
/**
 * Average load over all cores, 0–100.
 */
usagePercent?: number | null, };

export type Usage = { totalBytes: number, usedBytes: number, 
/**
 * Absent from older agents (which sent total − available as used).
 */
availableBytes?: number, };

export type InstallRuntime = { jobId: string, 
/**
 * The recipe id (`python`, `go`, …); must equal the bundle's recipe id.
 */
type: string, 
/**
 * A specific version, when the recipe offers a choice.
 */
version?: string | null, 
/**
 * Recipe parameters; the recipe validates them.
 */
params?: { [key in string]: JsonValue }, 
/**
 * The plan the user previewed and confirmed, when the run comes from one.
 */
plan?: PlanBasis | null, 
/**
 * One of the recipe's declared actions (`RECIPE.actions`) to run instead of its
 * category's entry point; absent: the entry point. `params` are then that action's.
 */
action?: string | null, bundle: SignedBundle, };

export type ConfigureDatabase = { jobId: string, 
/**
 * The recipe id (`postgresql`, `mysql`, `redis`).
 */
type: string, 
/**
 * Empty for a recipe without databases (Redis): the agent then passes no `db_name`.
 */
dbName: string, user: string, 
/**
 * The plan the user previewed and confirmed, when the run comes from one.
 */
plan?: PlanBasis | null, 
/**
 * The recipe's other parameters (Redis's key `prefix`); the recipe validates them.
 */
params?: { [key in string]: JsonValue }, 
/**
 * One of the recipe's declared actions (`RECIPE.actions`) to run instead of its
 * category's entry point; absent: the entry point. `params` are then that action's.
 */
action?: string | null, bundle: SignedBundle, };

export type ConfigureBackup = { jobId: string, 
/**
 * `s3`, `rsync`, … (the recipe id).
 */
provider: string, 
/**
 * Provider settings (bucket, target host, schedule…). The control plane relays them and
 * must not persist any credential among them.
 */
config: { [key in string]: string }, 
/**
 * The plan the user previewed and confirmed, when the run comes from one.
 */
plan?: PlanBasis | null, 
/**
 * One of the recipe's declared actions (`RECIPE.actions`) to run instead of its
 * category's entry point; absent: the entry point. `params` are then that action's.
 */
action?: string | null, bundle: SignedBundle, };

export type PlanRequest = { jobId: string, 
/**
 * The entry point to plan (`install` or `configure`), even when `action` names another.
 */
entry: string, params?: { [key in string]: JsonValue }, 
/**
 * One of the recipe's declared actions (`RECIPE.actions`) to run instead of its
 * category's entry point; absent: the entry point. `params` are then that action's.
 */
action?: string | null, bundle: SignedBundle, };

export type CancelJob = { jobId: string, };

export type LogAck = { jobId: string, seq: number, };

export type JobStarted = { jobId: string, seq: number, recipeId: string, recipeVersion: number, };

export type LogStream = "stdout" | "stderr" | "info" | "warn" | "command";

export type InfrastructureLog = { jobId: string, seq: number, message: string, stream: LogStream, };

export type JobStep = { jobId: string, seq: number, index: number, title: string, };

export type JobProgress = { jobId: string, seq: number, percent: number, };

export type WaitReason = "package_manager" | "cairn_job";

export type JobWaiting = { jobId: string, seq: number, reason: WaitReason | null, 
/**
 * Who holds what it waits for ("process 1234 (apt-get)"), when known.
 */
holder?: string, };

export type TimedPart = { what: string, startMs: number, ms: number, };

export type CountedPart = { what: string, count: number, ms: number, };

export type JobTimings = { jobId: string, seq: number, totalMs: number, 
/**
 * Outside every timed host call: the interpreter and the quick host functions.
 */
scriptMs: number, steps: Array<TimedPart>, calls: Array<CountedPart>, processes: Array<TimedPart>, programs: Array<CountedPart>, waits: Array<CountedPart>, };

export type RuntimeInstalled = { jobId: string, seq: number, type: string, version?: string | null, success: boolean, };

export type DatabaseConfigured = { jobId: string, seq: number, type: string, connectionString?: string | null, success: boolean, };

export type BackupConfigured = { jobId: string, seq: number, provider: string, schedule?: string | null, success: boolean, 
/**
 * The recipe's sentence for the user (`result.message`).
 */
message?: string | null, 
/**
 * The public key the backup target must accept (rsync over SSH).
 */
publicKey?: string | null, 
/**
 * Whether the backup this job ran (or the last one, if it ran none) succeeded.
 */
lastRunOk?: boolean | null, 
/**
 * Whether the restore test this job ran (or the last one) found every file identical.
 */
lastRestoreTestOk?: boolean | null, 
/**
 * A configure that changed something: its first backup and restore test are due, as their
 * own job (the backup recipes' `first_backup`, which the control plane starts next).
 */
firstBackupDue?: boolean | null, };

export type PlannedStep = { "action": "run", program: string, args: Array<string>, stdin: boolean, } | { "action": "write_file", path: string, mode: number, bytes: number, } | { "action": "download", url: string, dest: string, sha256: string, };

export type PlanResult = { jobId: string, seq: number, actions: Array<PlannedStep>, summary: PlanSummary, };

export type PackageAction = "install" | "upgrade" | "remove";

export type PackageChange = { name: string, version: string, action: PackageAction, downloadBytes: number | null, installedBytes: number | null, };

export type ServiceChange = { name: string, action: string, };

export type FileChange = { path: string, mode: number, bytes: number, };

export type PlanSummary = { packages: Array<PackageChange>, services: Array<ServiceChange>, users: Array<string>, databases: Array<string>, files: Array<FileChange>, 
/**
 * URLs `download()` would fetch.
 */
downloads: Array<string>, 
/**
 * Addresses a service would listen on.
 */
ports: Array<string>, 
/**
 * Warnings the recipe gave while planning.
 */
notes: Array<string>, };

export type PlanBasis = { planId: string, summary: PlanSummary, };

export type FailureKind = "error" | "cancelled" | "interrupted" | "rejected";

export type JobFailed = { jobId: string, seq: number, kind: FailureKind, 
/**
 * A sentence for the user, redacted, without where in the script it happened.
 */
message: string, 
/**
 * Where in the recipe it happened (`rust.rhai:67`), for the page's "Details", when known.
 */
location?: string, };

export type ErrorCode = "bad_frame" | "unauthenticated" | "enrollment_refused" | "unknown_job" | "busy" | "internal" | "node_removed" | "unknown";

export type ErrorMessage = { code: ErrorCode, 
/**
 * A sentence for the user.
 */
message: string, 
/**
 * The frame this answers, if it could be read.
 */
frameId?: string | null, jobId?: string | null, };

export type SignedBundle = { format: string, 
/**
 * The signing key's id (lookup hint; the signed header repeats it).
 */
keyId: string, 
/**
 * Ed25519 signature over `cairn-bundle-v1\0 || header bytes`, base64.
 */
signature: string, 
/**
 * The exact signed header bytes (JSON), base64.
 */
header: string, 
/**
 * File name → content, base64.
 */
files: { [key in string]: string }, };

export type Capabilities = { 
/**
 * Programs the recipe may run.
 */
programs: Array<string>, 
/**
 * Path prefixes the recipe may write under.
 */
paths: Array<string>, 
/**
 * Services the recipe may start, stop or enable.
 */
services: Array<string>, };

export type Metrics = { 
/**
 * Echoed by `METRICS_ACK`; grows by one per batch the agent sends.
 */
batch: number, samples: Array<Sample>, 
/**
 * Samples the agent dropped (oldest first) because its buffer was full since its last
 * acknowledged batch.
 */
dropped?: number, };

export type MetricsAck = { batch: number, };

export type Sample = { 
/**
 * The agent's unix time, seconds.
 */
t: number, 
/**
 * CPU busy since the previous sample, percent of all cores; absent for the first.
 */
cpu?: number, 
/**
 * Memory `[used, total]`, bytes (used = total − available).
 */
mem: [number, number], 
/**
 * Swap `[used, total]`, bytes.
 */
swap: [number, number], 
/**
 * Load averages over 1, 5 and 15 minutes.
 */
load: [number, number, number], 
/**
 * Each real file system.
 */
disks: Array<DiskSample>, 
/**
 * Each network interface but loopback.
 */
nets: Array<NetSample>, 
/**
 * Each service the last status's detections declared.
 */
svcs: Array<ServiceSample>, };

export type DiskSample = { 
/**
 * Its mount point.
 */
m: string, 
/**
 * Used bytes, as `df` counts them.
 */
u: number, 
/**
 * The size its share in use is counted against, in bytes, as `df` counts it: used plus
 * what is available to users (the blocks reserved for root left out), so that `u / s` is
 * df's Use% and the status card's.
 */
s: number, 
/**
 * Bytes read from its device since boot (a counter).
 */
r: number, 
/**
 * Bytes written to its device since boot (a counter).
 */
w: number, };

export type NetSample = { 
/**
 * Its name (`eth0`).
 */
i: string, 
/**
 * Bytes received since boot (a counter).
 */
rx: number, 
/**
 * Bytes sent since boot (a counter).
 */
tx: number, };

export type ServiceSample = { 
/**
 * Its unit or init script name.
 */
n: string, 
/**
 * Whether it runs.
 */
up: boolean, };

export type DashboardCommand = { "type": "SUBSCRIBE", nodeId: string, } | { "type": "GET_SERVER_STATUS", nodeId: string, systemOnly?: boolean, } | { "type": "GET_SERVICE_LOG", nodeId: string, service: string, } | { "type": "INSTALL_RUNTIME", nodeId: string, payload: RuntimeJobRequest, } | { "type": "CONFIGURE_DATABASE", nodeId: string, payload: DatabaseJobRequest, } | { "type": "CONFIGURE_BACKUP", nodeId: string, payload: BackupJobRequest, } | { "type": "RUN_ACTION", nodeId: string, payload: ActionJobRequest, } | { "type": "PLAN_REQUEST", nodeId: string, payload: PlanJobRequest, } | { "type": "CANCEL_JOB", nodeId: string, jobId?: string, payload?: CancelJobRequest, };

export type RuntimeJobRequest = { 
/**
 * The recipe id (`python`, `go`, …).
 */
type: string, 
/**
 * A specific version, when the recipe offers a choice.
 */
version?: string, 
/**
 * The recipe's parameters; the recipe validates them.
 */
params?: Record<string, unknown>, 
/**
 * The preview this run confirms (`JOB_CREATED`'s `jobId` of its `PLAN_REQUEST`): the
 * control plane refuses the run when the recipe or the parameters differ from it.
 */
planId?: string, };

export type DatabaseJobRequest = { 
/**
 * The recipe id (`postgresql`, `mysql`, `redis`).
 */
type: string, 
/**
 * The database to create; required when the recipe takes a `db_name` (Redis has none).
 */
dbName?: string | undefined, user: string, 
/**
 * The preview this run confirms (`JOB_CREATED`'s `jobId` of its `PLAN_REQUEST`): the
 * control plane refuses the run when the recipe or the parameters differ from it.
 */
planId?: string, 
/**
 * The recipe's other parameters (Redis's key `prefix`); the recipe validates them.
 */
params?: Record<string, unknown>, };

export type BackupJobRequest = { 
/**
 * The recipe id (`s3`, `rsync`, …).
 */
provider: string, 
/**
 * Provider settings, relayed to the agent and never stored (they may hold a credential).
 */
config: { [key in string]: string }, 
/**
 * The preview this run confirms (`JOB_CREATED`'s `jobId` of its `PLAN_REQUEST`): the
 * control plane refuses the run when the recipe or the parameters differ from it.
 */
planId?: string, };

export type PlanJobRequest = { 
/**
 * The recipe id.
 */
type: string, 
/**
 * The entry point to plan; the recipe's own (`install` or `configure`) when absent.
 */
entry?: string, 
/**
 * One of the recipe's declared actions to plan instead of its entry point; `params` are
 * then that action's.
 */
action?: string, params?: Record<string, unknown>, };

export type ActionJobRequest = { 
/**
 * The recipe id.
 */
type: string, 
/**
 * The action's name, as the recipe declares it.
 */
action: string, 
/**
 * The action's own parameters; the recipe validates them.
 */
params?: Record<string, unknown>, 
/**
 * A destructive action's confirmation: the value of its `confirm` parameter, typed again.
 * The control plane refuses the run unless it is exactly that value.
 */
confirm?: string, 
/**
 * The preview this run confirms (`JOB_CREATED`'s `jobId` of its `PLAN_REQUEST`).
 */
planId?: string, };

export type CancelJobRequest = { jobId?: string, };

export type DashboardEvent = { 
/**
 * The node it is about; empty for an `ERROR` that answers no node.
 */
nodeId: string, 
/**
 * The job it is about, on a job's messages only.
 */
jobId?: string, } & ({ "type": "JOB_CREATED", "payload": JobCreated } | { "type": "NODE_STATUS", "payload": NodeStatus } | { "type": "SERVER_STATUS", "payload": ServerStatus } | { "type": "SERVICE_LOG", "payload": ServiceLog } | { "type": "JOB_STARTED", "payload": JobStarted } | { "type": "INFRASTRUCTURE_LOG", "payload": LogLineEvent } | { "type": "JOB_STEP", "payload": JobStep } | { "type": "JOB_PROGRESS", "payload": JobProgress } | { "type": "JOB_WAITING", "payload": JobWaiting } | { "type": "JOB_TIMINGS", "payload": JobTimings } | { "type": "RUNTIME_INSTALLED", "payload": RuntimeInstalled } | { "type": "DATABASE_CONFIGURED", "payload": DatabaseConfigured } | { "type": "BACKUP_CONFIGURED", "payload": BackupConfigured } | { "type": "PLAN_RESULT", "payload": PlanResult } | { "type": "JOB_FAILED", "payload": JobFailedEvent } | { "type": "AGENT_ERROR", "payload": AgentErrorEvent } | { "type": "ERROR", "payload": DashboardError });

export type DashboardEventBody = { "type": "JOB_CREATED", "payload": JobCreated } | { "type": "NODE_STATUS", "payload": NodeStatus } | { "type": "SERVER_STATUS", "payload": ServerStatus } | { "type": "SERVICE_LOG", "payload": ServiceLog } | { "type": "JOB_STARTED", "payload": JobStarted } | { "type": "INFRASTRUCTURE_LOG", "payload": LogLineEvent } | { "type": "JOB_STEP", "payload": JobStep } | { "type": "JOB_PROGRESS", "payload": JobProgress } | { "type": "JOB_WAITING", "payload": JobWaiting } | { "type": "JOB_TIMINGS", "payload": JobTimings } | { "type": "RUNTIME_INSTALLED", "payload": RuntimeInstalled } | { "type": "DATABASE_CONFIGURED", "payload": DatabaseConfigured } | { "type": "BACKUP_CONFIGURED", "payload": BackupConfigured } | { "type": "PLAN_RESULT", "payload": PlanResult } | { "type": "JOB_FAILED", "payload": JobFailedEvent } | { "type": "AGENT_ERROR", "payload": AgentErrorEvent } | { "type": "ERROR", "payload": DashboardError };

export type JobCreated = { jobId: string, nodeId: string, 
/**
 * The recipe id.
 */
recipe: string, };

export type NodeStatus = { 
/**
 * Whether the node's agent has a live, authenticated connection.
 */
online: boolean, };

export type DashboardError = { 
/**
 * A sentence: what failed and what to do.
 */
message: string, messageCode?: string, messageArgs?: { [key in string]: string }, };

export type Said = { messageCode?: string, messageArgs?: { [key in string]: string }, };

export type JobFailedEvent = { jobId: string, seq: number, kind: FailureKind, 
/**
 * A sentence for the user, redacted, without where in the script it happened.
 */
message: string, 
/**
 * Where in the recipe it happened (`rust.rhai:67`), for the page's "Details", when known.
 */
location?: string, messageCode?: string, messageArgs?: { [key in string]: string }, };

export type AgentErrorEvent = { code: ErrorCode, 
/**
 * A sentence for the user.
 */
message: string, 
/**
 * The frame this answers, if it could be read.
 */
frameId?: string | null, jobId?: string | null, messageCode?: string, messageArgs?: { [key in string]: string }, };

export type LogLineEvent = { jobId: string, seq: number, message: string, stream: LogStream, messageCode?: string, messageArgs?: { [key in string]: string }, };

export type Node = { id: string, name: string, hostname: string, keyId: string, enrolledAt: number, 
/**
 * Whether its agent has a live, authenticated connection.
 */
online: boolean, lastSeen: number | null, 
/**
 * The last `SERVER_STATUS` payload its agent sent, as stored (`null` before the first).
 */
lastStatus: ServerStatus | null, 
/**
 * Its tags, set in the dashboard (`[a-z0-9][a-z0-9-]{0,31}`, at most 10).
 */
tags: Array<string>, };

export type JobKind = "INSTALL_RUNTIME" | "CONFIGURE_DATABASE" | "CONFIGURE_BACKUP" | "PLAN_REQUEST";

export type JobStatus = "pending" | "running" | "succeeded" | "failed" | "cancelled";

export type Job = { id: string, nodeId: string, 
/**
 * The recipe id.
 */
recipe: string, kind: JobKind, requestedBy: string, status: JobStatus, createdAt: number, finishedAt: number | null, 
/**
 * The terminal event's payload, masked.
 */
result: Record<string, unknown> | null, 
/**
 * What the job was asked with, for Retry: a runtime's `params`, a database's `dbName` and
 * `user`, a backup's `config` without any secret field (those are asked again, never
 * stored). `null` for a job stored before this was kept.
 */
params: Record<string, unknown> | null, 
/**
 * The recipe's declared action the job ran (`RECIPE.actions`); absent: its entry point.
 */
action?: string, };

export type JobEvent = { jobId: string, seq: number, 
/**
 * The agent's message type (`JOB_STARTED`, `INFRASTRUCTURE_LOG`, …).
 */
type: string, payload: Record<string, unknown>, receivedAt: number, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;
