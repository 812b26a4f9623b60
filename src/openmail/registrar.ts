/**
 * Pointing inboxes at this run's webhook URL and putting them back: the API calls of
 * `listen --inbox` and `restore`, in an order that survives a crash at any point (the state file
 * is written before each change), and refusing what would divert someone's production traffic.
 * Returns facts; never prints.
 */
import { CliError } from "../errors.js";
import { processAlive } from "../io/process-alive.js";
import { isTunnelUrl } from "../tunnel/tunnel-url.js";
import type { OpenMailApi } from "./api.js";
import { OpenMailApiError } from "./errors.js";
import type { InboxState, OwnUrl, PendingRestore, StateStore } from "./state.js";

export interface ClaimOptions {
  inboxIds: string[];
  webhookUrl: string;
  takeOver: boolean;
  rotateSecret: boolean;
}

export interface ClaimedInbox {
  inboxId: string;
  address?: string;
  previousUrl: string | null;
  /** The previous URL was one of this tool's earlier tunnels. */
  previousWasOurs: boolean;
  /** Learned in this run: OpenMail generated it with the first URL, or --rotate-secret rotated it. */
  secret?: string;
  secretOrigin?: "generated" | "rotated";
}

export interface RestoreResult {
  inboxId: string;
  address?: string;
  /** held-elsewhere: another tunnel took the inbox over; the entry is kept for a later restore. */
  outcome: "restored" | "changed-elsewhere" | "held-elsewhere" | "failed";
  previousUrl: string | null;
  /** The URL put back (or to be put back) is a tunnel's: right only while that tunnel's process runs. */
  previousIsTunnel: boolean;
  /** For changed-elsewhere: where it points now. */
  currentUrl?: string | null;
  message?: string;
  rotated: boolean;
}

export interface RepointResult {
  inboxId: string;
  ok: boolean;
  message?: string;
}

/**
 * Read every inbox before changing any, and refuse what a claim would refuse, so a refusal or a
 * typo changes nothing. `listen` calls it once before opening the tunnel (without the URL, which
 * is not known yet) so a refusal costs no tunnel, and `claimInboxes` again with the URL.
 */
export async function readClaimableInboxes(
  api: OpenMailApi,
  store: StateStore,
  options: Pick<ClaimOptions, "inboxIds" | "takeOver"> & { webhookUrl?: string },
): Promise<{ state: InboxState; inboxes: Awaited<ReturnType<OpenMailApi["getInbox"]>>[] }> {
  const state = await store.read();
  // Recovery runs before this; anything still pending belongs to a live run, except an inbox another
  // tunnel holds (kept for the restore after it lets go).
  const live = state.pending.filter((entry) => entry.heldBy === undefined);
  if (live.length > 0) {
    throw new CliError(
      `another openmail-hooks listen${state.pid ? ` (pid ${state.pid})` : ""} has inboxes registered from this capture folder (${live.map((p) => p.inboxId).join(", ")}): stop it first, or use another --save-dir`,
    );
  }
  const inboxes = [];
  for (const id of new Set(options.inboxIds)) inboxes.push(await api.getInbox(id));
  for (const inbox of inboxes) {
    const previous = inbox.webhookUrl;
    if (!previous || previous === options.webhookUrl || isOwnUrl(state, previous, api) || options.takeOver) continue;
    if (isTunnelUrl(previous)) {
      throw new CliError(
        `inbox ${inbox.id}${inbox.address ? ` (${inbox.address})` : ""} already delivers to ${previous}, an ngrok tunnel: probably another openmail-hooks listen (with another capture folder) or your own ngrok. Stop that one first, or pass --take-over to take the inbox over while this run lasts (it is then pointed back at that tunnel)`,
      );
    }
    throw new CliError(
      `inbox ${inbox.id}${inbox.address ? ` (${inbox.address})` : ""} already delivers to ${previous}, probably a production or staging endpoint: listen would divert its mail here until it stops. Pass --take-over to do it anyway (the URL is put back on exit), or use an inbox of its own for development`,
    );
  }
  return { state, inboxes };
}

export async function claimInboxes(
  api: OpenMailApi,
  store: StateStore,
  options: ClaimOptions,
): Promise<ClaimedInbox[]> {
  const { state, inboxes } = await readClaimableInboxes(api, store, options);

  const pending: PendingRestore[] = inboxes.map((inbox) => ({
    inboxId: inbox.id,
    address: inbox.address,
    previousUrl: inbox.webhookUrl,
    setUrls: [options.webhookUrl],
    rotated: false,
  }));
  const next: InboxState = {
    ...state,
    pid: process.pid,
    apiBase: api.apiBase,
    // An inbox another tunnel holds stays, before this run's: restore goes newest first.
    pending: [...state.pending, ...pending],
    ownUrls: withOwnUrl(state.ownUrls, options.webhookUrl, api),
  };
  // Written before the first change: a crash from here on leaves enough to put everything back.
  await store.write(next);

  const claimed: ClaimedInbox[] = [];
  try {
    for (const inbox of inboxes) {
      const answer = await api.setWebhookUrl(inbox.id, options.webhookUrl);
      const entry: ClaimedInbox = {
        inboxId: inbox.id,
        address: inbox.address ?? answer.address,
        previousUrl: inbox.webhookUrl,
        previousWasOurs: inbox.webhookUrl !== null && isOwnUrl(state, inbox.webhookUrl, api),
      };
      if (answer.webhookSecret) {
        entry.secret = answer.webhookSecret;
        entry.secretOrigin = "generated";
      } else if (options.rotateSecret) {
        const pendingEntry = pending.find((p) => p.inboxId === inbox.id) as PendingRestore;
        pendingEntry.rotated = true;
        await store.write(next);
        entry.secret = await api.rotateWebhookSecret(inbox.id);
        entry.secretOrigin = "rotated";
      }
      claimed.push(entry);
    }
  } catch (error) {
    // Put back what was already changed, then report the failure that stopped us.
    const changed = new Set(claimed.map((c) => c.inboxId));
    const failedId =
      (error instanceof OpenMailApiError && "inboxId" in error.operation && error.operation.inboxId) || "";
    if (failedId) changed.add(failedId);
    await restoreInboxes(api, store, (p) => changed.has(p.inboxId)).catch(() => {});
    // Inboxes never touched have nothing to restore; changed ones whose restore failed stay for later.
    const latest = await store.read().catch(() => next);
    await store.write({ ...latest, pending: latest.pending.filter((p) => changed.has(p.inboxId)) }).catch(() => {});
    throw error;
  }
  return claimed;
}

/** The tunnel has a new URL: point every claimed inbox at it. */
export async function repointInboxes(
  api: OpenMailApi,
  store: StateStore,
  webhookUrl: string,
): Promise<RepointResult[]> {
  const state = await store.read();
  // Only this run's inboxes: one another tunnel holds (heldBy, from an earlier run) is not taken from it.
  const ours = (entry: PendingRestore) => entry.heldBy === undefined;
  const next: InboxState = {
    ...state,
    pending: state.pending.map((p) => (ours(p) ? { ...p, setUrls: addUnique(p.setUrls, webhookUrl) } : p)),
    ownUrls: withOwnUrl(state.ownUrls, webhookUrl, api),
  };
  await store.write(next);
  const results: RepointResult[] = [];
  for (const entry of next.pending.filter(ours)) {
    try {
      await api.setWebhookUrl(entry.inboxId, webhookUrl);
      results.push({ inboxId: entry.inboxId, ok: true });
    } catch (error) {
      results.push({ inboxId: entry.inboxId, ok: false, message: (error as Error).message });
    }
  }
  return results;
}

/**
 * Put pending inboxes back to their previous URL, unless someone else changed the URL meanwhile
 * (then it is left alone). Entries restored or left alone leave the state file; failures stay.
 */
export async function restoreInboxes(
  api: OpenMailApi,
  store: StateStore,
  which: (entry: PendingRestore) => boolean = () => true,
): Promise<RestoreResult[]> {
  const state = await store.read();
  const results: RestoreResult[] = [];
  const remaining: PendingRestore[] = [];
  // Newest first: an inbox taken back from the tunnel that held it is first pointed back at that
  // tunnel (this run's entry), and the older entry then finds it held again and keeps waiting.
  for (const entry of [...state.pending].reverse()) {
    if (!which(entry)) {
      remaining.unshift(entry);
      continue;
    }
    const base = {
      inboxId: entry.inboxId,
      address: entry.address,
      previousUrl: entry.previousUrl,
      previousIsTunnel: entry.previousUrl !== null && isTunnelUrl(entry.previousUrl),
      rotated: entry.rotated,
    };
    try {
      const current = await api.getInbox(entry.inboxId);
      if (current.webhookUrl !== null && !entry.setUrls.includes(current.webhookUrl)) {
        if (isTunnelUrl(current.webhookUrl)) {
          // Another listen took it over (--take-over) and will point it back at this run's tunnel,
          // closed by then: keep what it pointed at before, for the restore after that.
          remaining.unshift({ ...entry, heldBy: current.webhookUrl });
          results.push({ ...base, outcome: "held-elsewhere", currentUrl: current.webhookUrl });
          continue;
        }
        results.push({ ...base, outcome: "changed-elsewhere", currentUrl: current.webhookUrl });
        continue;
      }
      if (current.webhookUrl !== entry.previousUrl) await api.setWebhookUrl(entry.inboxId, entry.previousUrl);
      results.push({ ...base, outcome: "restored" });
    } catch (error) {
      if (error instanceof OpenMailApiError && error.status === 404) {
        results.push({
          ...base,
          outcome: "changed-elsewhere",
          currentUrl: null,
          message: "the inbox no longer exists",
        });
        continue;
      }
      remaining.unshift(entry);
      results.push({ ...base, outcome: "failed", message: (error as Error).message });
    }
  }
  // Entries another tunnel holds belong to no running listen: they wait for `restore` or the next run.
  const held = remaining.some((entry) => entry.heldBy === undefined);
  await store.write({ ...state, pending: remaining, pid: held ? state.pid : undefined });
  return results.reverse();
}

export type Recovery =
  | { kind: "nothing" }
  | { kind: "running"; pid: number; inboxIds: string[] }
  | { kind: "no-key"; pending: PendingRestore[] }
  /** Registered through another API base than this run's: not contacted, so the key is never sent there. */
  | { kind: "other-api"; apiBase: string; pending: PendingRestore[] }
  | { kind: "restored"; results: RestoreResult[] };

/**
 * Before a new run: registrations left by a run that died (crash, kill -9) are restored. Those of
 * a run still alive are left alone. `api` is undefined when no key is available.
 */
/** Were these registrations made through another API base than `base`? Then the key is not sent to theirs. */
export function registeredElsewhere(state: { apiBase?: string }, base: string): state is { apiBase: string } {
  return state.apiBase !== undefined && state.apiBase !== base;
}

export async function recoverAbandoned(
  store: StateStore,
  configuredBase: string,
  api: () => OpenMailApi | undefined,
  alive: (pid: number) => boolean = processAlive,
): Promise<Recovery> {
  const state = await store.read();
  if (state.pending.length === 0) return { kind: "nothing" };
  if (state.pid !== undefined && state.pid !== process.pid && alive(state.pid)) {
    return { kind: "running", pid: state.pid, inboxIds: state.pending.map((p) => p.inboxId) };
  }
  // The state file sits in the capture folder, which a cloned repository can ship: the API base it
  // names is never taken from it (the key went wherever it said). Only this run's own base is used.
  if (registeredElsewhere(state, configuredBase)) {
    return { kind: "other-api", apiBase: state.apiBase, pending: state.pending };
  }
  const client = api();
  if (!client) return { kind: "no-key", pending: state.pending };
  return { kind: "restored", results: await restoreInboxes(client, store) };
}

/** Did this tool set `url` before, with this API key? (An entry planted in the folder has no valid tag.) */
function isOwnUrl(state: InboxState, url: string, api: OpenMailApi): boolean {
  const own = state.ownUrls.find((entry) => entry.url === url);
  return own !== undefined && own.tag === api.ownUrlTag(url);
}

function withOwnUrl(list: OwnUrl[], url: string, api: OpenMailApi): OwnUrl[] {
  return [...list.filter((entry) => entry.url !== url), { url, tag: api.ownUrlTag(url) }];
}

function addUnique(list: string[], value: string): string[] {
  return list.includes(value) ? list : [...list, value];
}
