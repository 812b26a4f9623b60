/**
 * The crash-recovery record of `listen --inbox`, kept in the capture folder: which inboxes this
 * tool pointed where, and what they pointed at before, so a later `listen` or `restore` can put
 * them back after a crash or kill -9. It holds URLs and ids only, never a secret or key. The name
 * starts with a dot, so capture readers (replay, the duplicate index) skip it.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { inputError } from "../errors.js";
import { InputTooLargeError, readRegularFileAsync } from "../io/request-input.js";

export const STATE_FILE_NAME = ".inbox-registrations.json";
const MAX_STATE_BYTES = 256 * 1024;
/** Enough to recognise this tool's recent tunnels, bounded so the file stays small. */
const MAX_OWN_URLS = 50;

export interface PendingRestore {
  inboxId: string;
  address?: string;
  /** What the inbox pointed at before (null: the account webhook). */
  previousUrl: string | null;
  /** Every URL this run set on it; restore only if the inbox still points at one of them. */
  setUrls: string[];
  /** The secret was rotated during the run: whoever used the old one needs the new one. */
  rotated: boolean;
  /**
   * Another tunnel (another listen's --take-over, most likely) holds the inbox: when this run stopped
   * the inbox pointed there. Kept, not dropped, because that one puts back this run's tunnel URL when
   * it stops, and only this entry knows what the inbox pointed at before (previousUrl).
   */
  heldBy?: string;
}

export interface InboxState {
  version: 1;
  /** The listen process that holds the registrations. */
  pid?: number;
  apiBase?: string;
  pending: PendingRestore[];
  /**
   * Webhook URLs this tool has set before, so an earlier run's tunnel is not mistaken for production.
   * Each carries a tag made with the API key (OpenMailApi.ownUrlTag): the file sits in the capture
   * folder, which a cloned repository can ship, and an untagged or mistagged entry is never trusted,
   * or it could name a production URL and skip the --take-over guard.
   */
  ownUrls: OwnUrl[];
}

export interface OwnUrl {
  url: string;
  tag: string;
}

export interface StateStore {
  readonly path: string;
  read(): Promise<InboxState>;
  write(state: InboxState): Promise<void>;
}

export function emptyState(): InboxState {
  return { version: 1, pending: [], ownUrls: [] };
}

/** Whether an earlier run left its registrations in `dir` (listen loads the OpenMail client only then). */
export function registrationStateExists(dir: string): boolean {
  return existsSync(join(dir, STATE_FILE_NAME));
}

export function openStateStore(dir: string): StateStore {
  const path = join(dir, STATE_FILE_NAME);
  return {
    path,
    async read() {
      let text: string;
      try {
        text = (await readRegularFileAsync(path, MAX_STATE_BYTES)).toString("utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyState();
        if (error instanceof InputTooLargeError) throw inputError(damaged(path, "larger than 256 KB"));
        if ((error as NodeJS.ErrnoException).code === "ENOTREGULAR")
          throw inputError(damaged(path, "not a regular file"));
        throw error;
      }
      return parseState(text, path);
    },
    async write(state) {
      await mkdir(dir, { recursive: true });
      const trimmed = { ...state, ownUrls: state.ownUrls.slice(-MAX_OWN_URLS) };
      const temporary = `${path}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
      const handle = await open(temporary, "wx", 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(trimmed, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, path).catch(async (error) => {
        await unlink(temporary).catch(() => {});
        throw error;
      });
    },
  };
}

function isOwnUrlEntry(entry: unknown): entry is OwnUrl {
  const candidate = entry as Partial<OwnUrl> | null;
  return typeof candidate?.url === "string" && typeof candidate.tag === "string";
}

function damaged(path: string, why: string): string {
  return `the inbox state file ${path} is damaged (${why}): check your inboxes' webhook URLs with \`openmail-hooks inboxes\`, then delete it`;
}

export function parseState(text: string, path: string): InboxState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw inputError(damaged(path, "not JSON"));
  }
  const record = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (record.version !== 1 || !Array.isArray(record.pending)) throw inputError(damaged(path, "unknown format"));
  const pending: PendingRestore[] = [];
  for (const item of record.pending as unknown[]) {
    const entry = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    if (typeof entry.inboxId !== "string" || !Array.isArray(entry.setUrls)) {
      throw inputError(damaged(path, "an entry without inboxId or setUrls"));
    }
    pending.push({
      inboxId: entry.inboxId,
      address: typeof entry.address === "string" ? entry.address : undefined,
      previousUrl: typeof entry.previousUrl === "string" ? entry.previousUrl : null,
      setUrls: entry.setUrls.filter((url): url is string => typeof url === "string"),
      rotated: entry.rotated === true,
      heldBy: typeof entry.heldBy === "string" ? entry.heldBy : undefined,
    });
  }
  return {
    version: 1,
    pid: typeof record.pid === "number" ? record.pid : undefined,
    apiBase: typeof record.apiBase === "string" ? record.apiBase : undefined,
    pending,
    // Entries of the older, untagged form (plain strings) are dropped: they cannot be told from planted ones.
    ownUrls: Array.isArray(record.ownUrls) ? record.ownUrls.filter(isOwnUrlEntry) : [],
  };
}
