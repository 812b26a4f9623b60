// The inspector page: a live list of deliveries and the detail of one. Plain DOM, no framework.
// Everything in a payload is attacker-controlled: it only ever becomes text nodes (h() below) and
// never markup, a URL, a style or an event handler. The server's CSP blocks anything else anyway.

import { CONTROL_CHARACTERS } from "./sanitize.js";

const PAGE_SIZE = 50;
const token = new URLSearchParams(location.hash.slice(1)).get("token") ?? "";

const state = {
  items: [],
  next: null,
  total: 0,
  complete: true,
  selected: null,
  detail: null,
  status: null,
  filters: { type: "", verdict: "", inbox: "", q: "" },
  generation: 0,
  loading: false,
  /** Why the last list request failed (null: it did not); the footer says it instead of a count. */
  listError: null,
  /** Has one page of the list been loaded? Until then there is no count to show. */
  loaded: false,
  /** Why the capture folder could not be listed (removed while listen runs); null when it was. */
  folderProblem: null,
};

const $ = (id) => document.getElementById(id);

/** Build an element. Strings become text nodes; only the listed properties are ever set. */
function h(tag, props, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (SAFE_ATTRIBUTES.has(key)) element.setAttribute(key, value === true ? "" : String(value));
    else throw new Error(`h(): attribute ${key} is not allowed`);
  }
  append(element, children);
  return element;
}

const SAFE_ATTRIBUTES = new Set([
  "title",
  "type",
  "value",
  "placeholder",
  "disabled",
  "hidden",
  "role",
  "aria-label",
  "spellcheck",
  "rows",
  "colspan",
  "open",
  "selected",
  "id",
  "tabindex",
]);

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(
      typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child,
    );
  }
}

// Control characters (terminal escapes among them), bidi overrides, line separators and the invisible
// characters that make two different strings look the same, shown as visible escapes: the very set the
// terminal's sanitiser escapes (the server makes sanitize.js from it). Newlines and tabs are kept.
const CONTROL = new RegExp(CONTROL_CHARACTERS, "g");
const escapeChar = (ch) => {
  if (ch === "\n" || ch === "\t") return ch;
  const code = ch.codePointAt(0);
  if (code > 0xffff) return `\\u{${code.toString(16)}}`;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
};
/** Multi-line text with control characters made visible. */
const visible = (value) => String(value ?? "").replace(CONTROL, escapeChar);
/**
 * Multi-line text for a <pre>: each escaped character is a highlighted element, so that it cannot be
 * mistaken for the same six characters written in the text.
 */
function visibleNodes(value) {
  const text = String(value ?? "");
  const nodes = [];
  let at = 0;
  let marked = 0;
  for (const match of text.matchAll(CONTROL)) {
    const ch = match[0];
    if (ch === "\n" || ch === "\t") continue;
    // A body of a million NUL bytes must not become a million elements: the rest is escaped as text.
    if (++marked > MAX_MARKED) break;
    if (match.index > at) nodes.push(text.slice(at, match.index));
    nodes.push(h("span", { class: "esc", title: "an invisible or control character, shown escaped" }, escapeChar(ch)));
    at = match.index + ch.length;
  }
  if (at < text.length) nodes.push(visible(text.slice(at)));
  return nodes;
}
const MAX_MARKED = 2000;
/** One line: newlines and tabs become spaces too. */
const line = (value) => visible(value).replace(/[\n\t\r]+/g, " ");
/** One line with every run of whitespace folded (a body's first words). */
const folded = (value) => line(value).replace(/\s+/g, " ").trim();

const WRONG_TOKEN =
  "This link's token is missing or wrong (each run of listen has its own): open the inspector URL that listen printed when it started.";

const NOT_RUNNING = "listen is not running (it was stopped?): start it again, then open the inspector URL it prints";

async function api(path, init = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...init,
      headers: { "x-inspector-token": token, ...(init.body ? { "content-type": "application/json" } : {}) },
    });
  } catch {
    // fetch's own "Failed to fetch" says nothing: the server is gone.
    throw new Error(NOT_RUNNING);
  }
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) {
    // The refusal's body may offer what is still possible (a verbatim curl for a capture not re-signed).
    throw Object.assign(new Error(body.error ?? `HTTP ${response.status}`), { status: response.status, body });
  }
  return body;
}

// ---------------------------------------------------------------- list

function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  const today = new Date().toDateString() === date.toDateString();
  return today ? time : `${date.toLocaleDateString([], { month: "short", day: "numeric" })} ${time.slice(0, 5)}`;
}

/** "2026-11-28 01:32:45" in local time. */
function formatDateTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return line(iso ?? "");
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function formatBytes(bytes) {
  if (typeof bytes !== "number") return "";
  // A payload's sizeBytes is whatever the sender wrote: "-5 B" would be a claim of a size.
  if (!Number.isSafeInteger(bytes) || bytes < 0) return `invalid size (${bytes})`;
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function typeClass(type) {
  if (!type) return "badge";
  if (type.endsWith(".suspended")) return "badge suspended";
  if (type.endsWith(".reactivated")) return "badge reactivated";
  if (type.startsWith("message.")) return "badge message";
  return "badge";
}

const VERDICT_TEXT = { valid: "✓ valid", invalid: "✗ invalid", unverified: "? unverified" };

function answerCell(item) {
  if (item.pending) return h("span", { class: "dim", title: "waiting for the answer" }, "… waiting");
  if (item.forward) {
    // Coloured by the judgement, as the terminal is: a 401 to a forged event is right, a 200 is not.
    const { note } = item.forward;
    return h(
      "span",
      { class: `answer ${item.forward.good ? "ok" : "bad"}`, title: [line(item.forward.url), line(note)].join("\n") },
      line(item.forward.text),
      note ? h("span", { class: "sub answer-note" }, line(note)) : null,
    );
  }
  if (item.answered?.undelivered) {
    return h("span", { class: "answer bad", title: line(item.answered.undelivered) }, "not delivered");
  }
  if (item.answered) {
    const ok = item.answered.status >= 200 && item.answered.status < 300;
    return h("span", { class: `answer ${ok ? "ok" : "bad"}`, title: line(item.answered.reason) }, [
      `answered ${item.answered.status}`,
    ]);
  }
  if (!item.thisRun && item.kind === "delivery") {
    // A capture from the folder keeps its forward's answer, but not the one listen gave itself.
    const title = "listen answered it itself (not forwarded); a capture does not record that answer";
    return h("span", { class: "dim", title }, "not recorded");
  }
  return h("span", { class: "dim" }, "–");
}

function mailCell(item) {
  if (item.lifecycle) {
    const who = item.inboxId ? `inbox ${line(item.to || item.inboxId)}` : "pod";
    return [h("div", { class: "mail-from" }, who), h("div", { class: "mail-subject" }, line(item.snippet ?? ""))];
  }
  if (!item.json) return h("div", { class: "dim" }, line(item.listNote ?? "body is not JSON"));
  return [
    h("div", { class: "mail-from" }, line(item.from ?? "(no sender)")),
    h(
      "div",
      { class: "mail-subject" },
      line(item.subject ?? "(no subject)"),
      item.snippet ? h("span", { class: "mail-snippet" }, ` — ${folded(item.snippet)}`) : null,
    ),
  ];
}

function rowFor(item, fresh) {
  const marks = [];
  if (item.kind === "replay") {
    marks.push(h("span", { class: "badge replay", title: `replay to ${line(item.replayTo)}` }, "↺ replay"));
  } else if (item.replayOf) {
    marks.push(h("span", { class: "badge replay", title: "arrived from a replay" }, "↺ replayed"));
  }
  if (item.retry) {
    const title = "this event_id was delivered before";
    marks.push(h("span", { class: "badge retry", title }, `retry #${item.retry.timesSeen}`));
  }
  if (item.attempt && item.attempt > 1) marks.push(h("span", { class: "badge retry" }, `attempt ${item.attempt}`));
  if (item.attachments.length) {
    const count = item.attachments.length;
    marks.push(
      h(
        "span",
        { class: "badge", title: line(item.attachments.join(", ")) },
        `${count} attachment${count > 1 ? "s" : ""}`,
      ),
    );
  }
  const inbox = item.inboxId ? h("span", { class: "mono dim", title: "inbox" }, line(item.inboxId)) : null;
  return h(
    "tr",
    {
      class: `row${item.id === state.selected ? " selected" : ""}${fresh ? " fresh" : ""}`,
      dataset: { id: item.id },
      tabindex: "0",
      onclick: () => select(item.id),
      onkeydown: (event) => openWithKey(event, item.id),
    },
    h("td", { class: "time", title: line(item.receivedAt) }, formatTime(item.receivedAt)),
    h(
      "td",
      { class: "type-cell" },
      h(
        "span",
        { class: typeClass(item.eventType) },
        line(item.eventType ?? (item.listNote ? "(not read)" : item.json ? "(no type)" : "(not JSON)")),
      ),
      h("span", { class: "sub", title: line(item.eventId ?? "") }, line(item.eventId ?? "(no event id)")),
    ),
    h("td", { class: "mail" }, mailCell(item), h("div", { class: "marks" }, inbox, ...marks)),
    h("td", { class: `verdict ${item.verdict}`, title: line(item.verdictMessage) }, VERDICT_TEXT[item.verdict]),
    h("td", { class: "answer-cell" }, answerCell(item)),
  );
}

/** Enter or Space on a focused row (or delivery) opens it, as a click does. */
function openWithKey(event, id) {
  if (event.key !== "Enter" && event.key !== " ") return;
  event.preventDefault();
  select(id);
}

function renderRows() {
  const rows = $("rows");
  rows.replaceChildren(...state.items.map((item) => rowFor(item, false)));
  renderFooter();
}

function renderFooter() {
  const filtered = Object.values(state.filters).some(Boolean);
  // No count, and no "waiting for events", before the list was read: an empty list is not an empty run.
  $("count").textContent = state.loaded
    ? `${state.total.toLocaleString()} deliver${state.total === 1 ? "y" : "ies"}`
    : "";
  const note = $("list-note");
  if (state.listError) {
    note.textContent = `Could not load the deliveries: ${line(state.listError.message)}`;
  } else if (!state.loaded) {
    note.textContent = "";
  } else if (state.items.length === 0 && !state.loading) {
    note.textContent = filtered
      ? state.next
        ? "No match yet in the newest deliveries."
        : "Nothing matches these filters."
      : "Waiting for events. Send one with: npx openmail-hooks send-test --url " +
        (state.status?.listenerUrl ?? "<listener>");
  } else {
    note.textContent = `Showing ${state.items.length.toLocaleString()}${filtered ? " matching" : ` of ${state.total.toLocaleString()}`}`;
  }
  // The list then holds only what listen keeps in memory: say so, or it looks like the folder's whole content.
  const folderNote = $("folder-note");
  folderNote.hidden = !state.folderProblem;
  folderNote.textContent = state.folderProblem ? `Capture folder: ${line(state.folderProblem)}` : "";
  const older = $("older");
  older.hidden = !state.next;
  older.textContent = filtered && !state.complete ? "Search older" : "Load older";
}

function currentQuery(cursor) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (cursor) params.set("cursor", cursor);
  const { type, verdict, inbox, q } = state.filters;
  if (type) params.set("type", type);
  if (verdict) params.set("verdict", verdict);
  if (inbox) params.set("inbox", inbox);
  if (q) params.set("q", q);
  return params.toString();
}

async function loadFirstPage() {
  const generation = ++state.generation;
  state.loading = true;
  try {
    const page = await api(`/api/events?${currentQuery()}`);
    if (generation !== state.generation) return;
    state.items = page.items;
    state.next = page.next;
    state.total = page.total;
    state.complete = page.complete;
    state.folderProblem = page.folderProblem ?? null;
    state.loaded = true;
    state.listError = null;
  } catch (error) {
    showListError(error);
  } finally {
    state.loading = false;
  }
  renderRows();
  continueSearch(generation);
}

async function loadOlder() {
  if (!state.next || state.loading) return;
  const generation = state.generation;
  state.loading = true;
  try {
    const page = await api(`/api/events?${currentQuery(state.next)}`);
    if (generation !== state.generation) return;
    const known = new Set(state.items.map((item) => item.id));
    const fresh = page.items.filter((item) => !known.has(item.id));
    state.items.push(...fresh);
    state.next = page.next;
    state.total = page.total;
    state.complete = page.complete;
    state.folderProblem = page.folderProblem ?? null;
    $("rows").append(...fresh.map((item) => rowFor(item, false)));
    state.listError = null;
  } catch (error) {
    showListError(error);
  } finally {
    state.loading = false;
  }
  renderFooter();
  continueSearch(generation);
}

/** A filtered search reads a bounded slice of the folder per request: keep going until a page is full. */
function continueSearch(generation) {
  const filtered = Object.values(state.filters).some(Boolean);
  if (filtered && !state.complete && state.next && generation === state.generation) {
    $("list-note").textContent = `Searching… ${state.items.length} found so far`;
    setTimeout(loadOlder, 0);
  }
}

function showListError(error) {
  state.listError = error;
  // A link with a wrong token (another run's, or cut short) reads nothing: say where the right one is.
  if (error.status === 401) {
    $("detail").replaceChildren(h("p", { class: "empty" }, WRONG_TOKEN));
  }
}

/** The same matching the server applies (event-index.ts, matches). */
function matchesFilters(item) {
  const { type, verdict, inbox, q } = state.filters;
  if (type && item.eventType !== type) return false;
  if (verdict && item.verdict !== verdict) return false;
  if (inbox && !(item.inboxId ?? "").toLowerCase().includes(inbox.toLowerCase())) return false;
  if (q) {
    const haystack = [
      item.id,
      item.eventId,
      item.eventType,
      item.inboxId,
      item.from,
      item.to,
      item.subject,
      item.snippet,
      ...item.attachments,
    ]
      .join("\n")
      .toLowerCase();
    return q
      .toLowerCase()
      .split(/\s+/)
      .filter(Boolean)
      .every((word) => haystack.includes(word));
  }
  return true;
}

function onLiveItem(item) {
  const existing = state.items.findIndex((other) => other.id === item.id);
  if (existing >= 0) {
    state.items[existing] = item;
    $("rows").children[existing]?.replaceWith(rowFor(item, false));
    return;
  }
  state.total += 1;
  if (matchesFilters(item)) {
    state.items.unshift(item);
    $("rows").prepend(rowFor(item, true));
  }
  renderFooter();
  // A replay of (or a redelivery of) the event on screen: refresh its related deliveries.
  const shown = state.detail?.item;
  if (shown && (item.replayOf === shown.id || (item.eventId && item.eventId === shown.eventId))) {
    loadDetail(shown.id, { keepScroll: true });
  }
}

/** Failed reconnections (one every 2 s) before the page says listen is gone rather than "reconnecting". */
const RECONNECTS_BEFORE_GIVING_UP = 3;

function connect() {
  let wasDown = false;
  let failures = 0;
  const source = new EventSource(`/api/stream?token=${encodeURIComponent(token)}`);
  source.addEventListener("item", (message) => onLiveItem(JSON.parse(message.data)));
  source.addEventListener("open", () => {
    failures = 0;
    setConnection("live", "live");
    setBanner("");
    // Events may have arrived while the stream was down: reload what is shown.
    if (wasDown) loadFirstPage();
    wasDown = false;
  });
  source.addEventListener("error", () => {
    wasDown = true;
    failures += 1;
    // A stream the server refused (too many pages open, a token of another run) is not retried by the
    // browser: ask the server why. A server that does not answer is retried by the browser.
    if (source.readyState === EventSource.CLOSED) {
      explainRefusedStream();
    } else if (failures >= RECONNECTS_BEFORE_GIVING_UP) {
      setConnection("down", "listen is not running");
      setBanner(`No live updates: ${NOT_RUNNING}.`);
    } else {
      setConnection("down", "reconnecting…");
    }
  });
}

/** Why the server refused the live stream, said plainly; connects again if it is accepted now. */
async function explainRefusedStream() {
  let response;
  try {
    response = await fetch(`/api/stream?token=${encodeURIComponent(token)}`);
  } catch {
    setConnection("down", "listen is not running");
    setBanner(`No live updates: ${NOT_RUNNING}.`);
    return;
  }
  if (response.ok) {
    await response.body?.cancel();
    setTimeout(connect, 2000);
    return;
  }
  const body = await response.json().catch(() => ({}));
  const why = body.error ?? `HTTP ${response.status}`;
  setConnection("down", response.status === 503 ? "no live updates" : "refused");
  setBanner(
    response.status === 503
      ? `No live updates: ${line(why)}. Close another inspector page, then reload this one.`
      : `No live updates: ${line(why)}.`,
  );
}

function setConnection(kind, text) {
  const conn = $("conn");
  conn.className = `conn ${kind}`;
  conn.textContent = text;
}

/** A line under the top bar for what stops the page from working (empty: hidden). */
function setBanner(text) {
  const banner = $("banner");
  banner.textContent = text;
  banner.hidden = !text;
}

// ---------------------------------------------------------------- detail

function select(id) {
  state.selected = id;
  for (const row of $("rows").children) row.classList.toggle("selected", row.dataset.id === id);
  const params = new URLSearchParams({ token, id });
  history.replaceState(null, "", `#${params.toString()}`);
  loadDetail(id).then(() => {
    // With the detail below the list (a narrow window), show it: the click would otherwise seem to do nothing.
    if (state.selected === id && STACKED.matches) $("detail").scrollIntoView({ block: "start" });
  });
}

/** The narrow layout (app.css), where the detail is below the list rather than beside it. */
const STACKED = matchMedia("(max-width: 899px)");

async function loadDetail(id, { keepScroll = false } = {}) {
  const pane = $("detail");
  const scroll = pane.scrollTop;
  try {
    const detail = await api(`/api/events/${encodeURIComponent(id)}`);
    if (state.selected !== id) return;
    state.detail = detail;
    // A refresh of the same event keeps what the person was doing (an edit, a replay's outcome).
    const kept = keepScroll ? ["action-result", "action-panel"].map((id) => $(id)) : [];
    pane.replaceChildren(...renderDetail(detail).flat().filter(Boolean));
    for (const element of kept) if (element) $(element.id)?.replaceWith(element);
    if (keepScroll) pane.scrollTop = scroll;
  } catch (error) {
    if (state.selected !== id) return;
    pane.replaceChildren(h("p", { class: "empty" }, `Could not load this event: ${line(error.message)}`));
  }
}

function renderDetail(detail) {
  const { item } = detail;
  return [
    renderHead(detail),
    renderActions(detail),
    h("div", { id: "action-result" }),
    h("div", { id: "action-panel" }),
    detail.replay ? renderReplayInfo(detail) : null,
    detail.redacted
      ? h(
          "p",
          { class: "notice" },
          "This is the saved capture, redacted: personal data was replaced before it was written.",
        )
      : null,
    detail.email ? renderEmail(detail.email) : null,
    detail.lifecycle ? renderLifecycle(detail.lifecycle) : null,
    !detail.email && !detail.lifecycle ? renderPayloadNote(detail) : null,
    detail.payload.json && detail.payload.problems.length && detail.payload.known
      ? h("p", { class: "notice bad" }, `Payload is missing ${detail.payload.problems.map(line).join(", ")}`)
      : null,
    detail.payload.json && !detail.payload.known && item.eventType
      ? h("p", { class: "notice" }, "Unknown event type: a handler should answer 2xx and ignore it.")
      : null,
    renderVerification(detail.verification, item),
    renderForward(detail),
    renderDeliveries(detail),
    renderRequest(detail.request),
  ];
}

function renderHead(detail) {
  const { item } = detail;
  const title = item.lifecycle
    ? `${line(item.eventType)}${item.snippet ? `: ${line(item.snippet)}` : ""}`
    : item.json
      ? line(item.subject ?? "(no subject)")
      : "Request with a body that is not JSON";
  return h(
    "div",
    { class: "head" },
    h("h2", { id: "detail-title" }, title),
    h(
      "div",
      { class: "meta" },
      h("span", { class: typeClass(item.eventType) }, line(item.eventType ?? "(no type)")),
      h("span", { class: "mono" }, line(item.eventId ?? "(no event id)")),
      item.attempt ? h("span", {}, `attempt ${item.attempt}`) : null,
      h("span", {}, `${item.kind === "replay" ? "sent" : "received"} ${formatDateTime(item.receivedAt)}`),
      item.retry ? h("span", { class: "badge retry" }, `retry #${item.retry.timesSeen}`) : null,
      item.thisRun ? null : h("span", { class: "dim" }, "from the capture folder"),
    ),
  );
}

function replayTargets(detail) {
  const status = state.status ?? {};
  const forward =
    detail.item.inboxId && status.routes?.[detail.item.inboxId] ? status.routes[detail.item.inboxId] : status.forwardTo;
  const options = [];
  if (forward) options.push(h("option", { value: "forward" }, `forward target: ${line(forward)}`));
  options.push(h("option", { value: "listener" }, `this listener: ${line(status.listenerUrl ?? "")}`));
  options.push(h("option", { value: "url" }, "another URL…"));
  return options;
}

function renderActions(detail) {
  const target = h("select", { id: "replay-target", "aria-label": "Replay to" }, replayTargets(detail));
  const url = h("input", {
    id: "replay-url",
    type: "url",
    placeholder: "http://127.0.0.1:3000/webhooks",
    hidden: true,
    spellcheck: "false",
  });
  target.addEventListener("change", () => {
    url.hidden = target.value !== "url";
  });
  const ask = () => ({ target: target.value, url: target.value === "url" ? url.value : undefined });
  const download = h("a", { title: "Download the capture file" }, "Download capture");
  download.href = `/api/events/${encodeURIComponent(detail.item.id)}/download?token=${encodeURIComponent(token)}`;
  download.download = "";
  const hasBody = detail.request.body !== null && !detail.request.truncated;
  return h(
    "div",
    { class: "actions" },
    h("span", { class: "dim" }, "Replay to"),
    target,
    url,
    h(
      "button",
      { type: "button", id: "replay-resign", onclick: () => replay(detail, { ...ask(), mode: "resign" }) },
      "Replay (re-signed)",
    ),
    h(
      "button",
      {
        type: "button",
        class: "ghost",
        id: "replay-verbatim",
        onclick: () => replay(detail, { ...ask(), mode: "verbatim" }),
      },
      "Replay verbatim",
    ),
    h(
      "button",
      { type: "button", class: "ghost", id: "replay-edit", disabled: !hasBody, onclick: () => openEditor(detail, ask) },
      "Edit & replay",
    ),
    h("span", { class: "sep" }),
    h(
      "button",
      { type: "button", class: "ghost", id: "copy-curl", onclick: () => showCommand(detail, ask, "curl") },
      "Copy as curl",
    ),
    h(
      "button",
      {
        type: "button",
        class: "ghost",
        id: "copy-replay",
        disabled: !detail.capturePath,
        onclick: () => showCommand(detail, ask, "replay"),
      },
      "Copy replay command",
    ),
    download,
  );
}

/** A replay on its way: the buttons that send one are disabled until it is answered (a double click sends once). */
let replaying = false;
const SEND_BUTTONS = "#replay-resign, #replay-verbatim, #edit-send";

async function replay(detail, ask) {
  if (replaying) return undefined;
  replaying = true;
  for (const button of document.querySelectorAll(SEND_BUTTONS)) button.disabled = true;
  const result = $("action-result");
  result.replaceChildren(h("p", { class: "notice" }, "Sending…"));
  try {
    const sent = await api(`/api/events/${encodeURIComponent(detail.item.id)}/replay`, {
      method: "POST",
      body: JSON.stringify(ask),
    });
    const forward = sent.item.forward;
    // The detail may have been redrawn meanwhile (the replay arrived live): write to the current one.
    ($("action-result") ?? result).replaceChildren(
      h(
        "p",
        { class: `notice ${forward.good ? "ok" : "bad"}`, id: "replay-outcome" },
        `↺ ${ask.mode === "verbatim" ? "Verbatim replay" : ask.body !== undefined ? "Edited replay (re-signed)" : "Replay (re-signed)"} to ${line(forward.url)}: ${line(forward.text)}`,
        forward.note ? h("span", { class: "sub" }, line(forward.note)) : null,
        sent.hint ? h("span", { class: "sub" }, `hint: ${line(sent.hint)}`) : null,
        ...sent.notes.map((note) => h("span", { class: "sub" }, line(note))),
      ),
    );
    return sent;
  } catch (error) {
    ($("action-result") ?? result).replaceChildren(
      h("p", { class: "notice bad", id: "replay-outcome" }, `Not sent: ${line(error.message)}`),
    );
    return undefined;
  } finally {
    replaying = false;
    // (The detail may have been redrawn meanwhile: these are the buttons now on the page.)
    for (const button of document.querySelectorAll(SEND_BUTTONS)) button.disabled = false;
  }
}

function openEditor(detail, ask) {
  const panel = $("action-panel");
  const editor = h("textarea", { id: "edit-body", spellcheck: "false", "aria-label": "Body to send" });
  editor.value = detail.request.body ?? "";
  const problem = h("span", { class: "warn" });
  const check = () => {
    try {
      JSON.parse(editor.value);
      problem.textContent = "";
    } catch (error) {
      problem.textContent = `not valid JSON (${error.message}); it is sent as written`;
    }
  };
  editor.addEventListener("input", check);
  panel.replaceChildren(
    h(
      "div",
      { class: "card" },
      h("h3", {}, "Edit the body, then send it re-signed with a fresh timestamp"),
      h(
        "div",
        { class: "inner" },
        editor,
        h(
          "div",
          { class: "row-buttons" },
          h(
            "button",
            {
              type: "button",
              id: "edit-send",
              onclick: () => replay(detail, { ...ask(), mode: "resign", body: editor.value }),
            },
            "Send edited (re-signed)",
          ),
          h(
            "button",
            {
              type: "button",
              class: "ghost",
              onclick: () => {
                try {
                  editor.value = JSON.stringify(JSON.parse(editor.value), null, 2);
                  check();
                } catch {
                  check();
                }
              },
            },
            "Format JSON",
          ),
          h("button", { type: "button", class: "ghost", onclick: () => panel.replaceChildren() }, "Close"),
          problem,
        ),
      ),
    ),
  );
  editor.focus();
}

async function showCommand(detail, ask, which) {
  const panel = $("action-panel");
  const { target, url } = ask();
  try {
    const params = new URLSearchParams();
    const chosen = target === "url" ? url : target === "listener" ? state.status?.listenerUrl : "";
    if (chosen) params.set("url", chosen);
    let commands;
    let refusal = null;
    try {
      commands = await api(`/api/events/${encodeURIComponent(detail.item.id)}/commands?${params}`);
    } catch (error) {
      // Refused to re-sign, with the verbatim command offered instead.
      if (!error.body?.curl) throw error;
      commands = error.body;
      refusal = h("p", { class: "notice bad", id: "command-refusal" }, line(error.message));
    }
    const text = which === "curl" ? commands.curl : commands.replay;
    const copied = h("span", { class: "dim" });
    panel.replaceChildren(
      refusal ?? "",
      text
        ? h(
            "div",
            { class: "card" },
            h(
              "h3",
              {},
              which === "curl" ? (refusal ? "curl (verbatim)" : "curl") : "openmail-hooks replay",
              h("span", { class: "right" }, copied),
            ),
            // Shown with invisible characters escaped; copied exactly (the command must send the same bytes).
            h("pre", { id: "command-text" }, visibleNodes(text)),
            which === "curl" ? h("p", { class: "dim inner" }, line(commands.curlNote)) : null,
          )
        : "",
    );
    if (!text) return;
    try {
      await navigator.clipboard.writeText(text);
      copied.textContent = "copied to the clipboard";
    } catch {
      copied.textContent = "select the text to copy it";
    }
  } catch (error) {
    panel.replaceChildren(h("p", { class: "notice bad" }, line(error.message)));
  }
}

function renderReplayInfo(detail) {
  const { item } = detail;
  return h(
    "div",
    { class: "card" },
    h("h3", {}, "Replay"),
    h(
      "div",
      { class: "inner" },
      h(
        "dl",
        { class: "fields" },
        h("dt", {}, "Of"),
        h(
          "dd",
          {},
          h("button", { type: "button", class: "ghost", onclick: () => select(item.replayOf) }, line(item.replayOf)),
        ),
        h("dt", {}, "To"),
        h("dd", { class: "mono" }, line(item.replayTo)),
        h("dt", {}, "How"),
        h(
          "dd",
          {},
          detail.replay.mode === "verbatim"
            ? "verbatim (captured headers)"
            : detail.replay.mode === "edited"
              ? "edited body, re-signed"
              : "re-signed with a fresh timestamp",
        ),
      ),
      ...detail.replay.notes.map((note) => h("p", { class: "warn" }, line(note))),
    ),
  );
}

function renderEmail(email) {
  const field = (name, value) => (value ? [h("dt", {}, name), h("dd", {}, value)] : []);
  return h(
    "div",
    { class: "card", id: "email" },
    h("h3", {}, "Email"),
    h(
      "div",
      { class: "inner" },
      h(
        "dl",
        { class: "fields" },
        field("From", line(email.from ?? "")),
        field("To", line(email.to ?? "")),
        field("Cc", email.cc.map(line).join(", ")),
        field("Subject", line(email.subject ?? "")),
        field("Date", email.date ? formatDateTime(email.date) : ""),
      ),
      email.bodyText !== null
        ? h("pre", { class: "body", id: "email-body" }, visibleNodes(email.bodyText))
        : h("p", { class: "dim" }, "(no text body)"),
      email.attachments.length
        ? h(
            "ul",
            { class: "attachments", id: "attachments" },
            email.attachments.map((attachment) =>
              h(
                "li",
                { class: "attachment" },
                h("span", { class: "ext" }, extensionOf(attachment.filename)),
                h("span", { class: "name" }, line(attachment.filename)),
                h(
                  "span",
                  { class: "sub" },
                  [
                    line(attachment.contentType ?? "unknown type"),
                    formatBytes(attachment.sizeBytes),
                    line(attachment.extraction),
                  ]
                    .filter(Boolean)
                    .join(" · "),
                ),
                attachment.parsedText !== null
                  ? h(
                      "details",
                      {},
                      h("summary", {}, "Extracted text"),
                      h("pre", {}, visibleNodes(attachment.parsedText)),
                    )
                  : null,
              ),
            ),
          )
        : null,
    ),
  );
}

function extensionOf(filename) {
  const match = /\.([A-Za-z0-9]{1,5})$/.exec(filename ?? "");
  return match ? match[1].toUpperCase() : "FILE";
}

function renderLifecycle(lifecycle) {
  const field = (name, value) => [h("dt", {}, name), h("dd", {}, value)];
  const action = lifecycle.eventType?.endsWith(".suspended") ? "suspended" : "reactivated";
  return h(
    "div",
    { class: "card", id: "lifecycle" },
    h("h3", {}, lifecycle.eventType?.startsWith("pod.") ? `Pod ${action}` : `Inbox ${action}`),
    h(
      "div",
      { class: "inner" },
      h(
        "dl",
        { class: "fields" },
        field(
          "Inbox",
          lifecycle.inboxId
            ? `${line(lifecycle.inboxAddress ?? "")} (${line(lifecycle.inboxId)})`
            : "none (a pod event)",
        ),
        field("Pod", line(lifecycle.podId ?? "–")),
        field("Reason", lifecycle.reason ? line(lifecycle.reason) : "none (reactivated)"),
        field("When", lifecycle.occurredAt ? formatDateTime(lifecycle.occurredAt) : ""),
      ),
      action === "suspended"
        ? h("p", { class: "warn" }, "It cannot send until it is reactivated; OpenMail never reactivates on its own.")
        : null,
    ),
  );
}

function renderPayloadNote(detail) {
  return h(
    "div",
    { class: "card" },
    h("h3", {}, "Payload"),
    h(
      "p",
      { class: "inner" },
      detail.payload.json
        ? "A JSON body without an email or lifecycle fields."
        : `The body is not JSON (${formatBytes(detail.request.bytes)}).`,
    ),
  );
}

function renderVerification(verification, item) {
  const headline =
    verification.valid === null
      ? h("p", { class: "verdict unverified" }, `? ${line(verification.message)}`)
      : verification.valid
        ? h("p", { class: "verdict valid" }, "✓ signature valid when it arrived")
        : h("p", { class: "verdict invalid" }, `✗ ${line(verification.message)}`);
  const mark = { pass: "✓", fail: "✗", skipped: "–" };
  return h(
    "div",
    { class: "card", id: "verification" },
    h("h3", {}, "Signature"),
    h(
      "div",
      { class: "inner" },
      headline,
      h(
        "ul",
        { class: "checks" },
        verification.checks.map((check) =>
          h(
            "li",
            {},
            h("span", { class: `mark ${check.state}` }, mark[check.state]),
            h("b", {}, check.name.padEnd(10)),
            " ",
            line(check.text),
          ),
        ),
      ),
      verification.findings.map((finding) =>
        h(
          "div",
          { class: "finding" },
          h("div", {}, h("b", {}, "Why:"), " ", line(finding.why)),
          h("div", {}, h("b", {}, "Fix:"), " ", line(finding.fix)),
        ),
      ),
      verification.staleNow
        ? h(
            "p",
            { class: "warn" },
            "Valid when it arrived, but a receiver would reject it now (too old): replay re-signs it.",
          )
        : null,
      verification.secret
        ? h(
            "p",
            { class: "dim" },
            `secret ${line(verification.secret.masked)} from ${line(verification.secret.source)}`,
          )
        : null,
      item.kind === "delivery" &&
        item.verdict !== (verification.valid === null ? "unverified" : verification.valid ? "valid" : "invalid")
        ? h("p", { class: "dim" }, `When it arrived, listen said: ${line(item.verdictMessage)}`)
        : null,
    ),
  );
}

function renderForward(detail) {
  const { item, forward } = detail;
  const rows = [];
  if (forward) {
    rows.push(
      h(
        "dl",
        { class: "fields" },
        h("dt", {}, item.kind === "replay" ? "Sent to" : "Target"),
        h("dd", { class: "mono" }, line(forward.url)),
        h("dt", {}, "Answer"),
        h(
          "dd",
          { class: `answer ${forward.good ? "ok" : "bad"}`, id: "forward-answer" },
          `${line(forward.text)}${forward.judgement === "accepted" ? " (OpenMail would count it delivered)" : ""}`,
          forward.note ? h("span", { class: "judgement" }, line(forward.note)) : null,
        ),
      ),
    );
    if (forward.hint) rows.push(h("p", { class: "warn" }, `hint: ${line(forward.hint)}`));
    if (forward.answerBody !== null) {
      rows.push(
        h("p", { class: "dim" }, "The handler's answer body:"),
        h("pre", { id: "answer-body" }, forward.answerBody === "" ? "(empty)" : visibleNodes(forward.answerBody)),
      );
    } else {
      rows.push(h("p", { class: "dim" }, "The answer's body is kept only for events of this run."));
    }
  } else if (item.kind === "delivery") {
    rows.push(
      h("p", { class: "dim" }, "Not forwarded (start listen with --forward-to to pass events on to your handler)."),
    );
  }
  if (item.answered?.undelivered) {
    rows.push(h("p", { class: "warn", id: "answered" }, `listen's answer: ${line(item.answered.undelivered)}`));
  } else if (item.answered) {
    rows.push(h("p", { id: "answered" }, `listen answered ${item.answered.status}: ${line(item.answered.reason)}`));
  }
  if (rows.length === 0) return null;
  return h(
    "div",
    { class: "card", id: "forward" },
    h("h3", {}, item.kind === "replay" ? "Answer" : "Forward"),
    h("div", { class: "inner" }, rows),
  );
}

function renderDeliveries(detail) {
  const { deliveries, replays, item } = detail;
  const cards = [];
  if (deliveries.length > 1) {
    cards.push(
      h(
        "div",
        { class: "card", id: "deliveries" },
        h("h3", {}, `Deliveries of this event_id (${deliveries.length})`),
        h(
          "div",
          { class: "deliveries" },
          deliveries.map((other) =>
            h(
              "div",
              {
                class: `delivery${other.id === item.id ? " current" : ""}`,
                tabindex: "0",
                onclick: () => select(other.id),
                onkeydown: (event) => openWithKey(event, other.id),
              },
              h("div", { class: "time" }, formatDateTime(other.receivedAt)),
              h(
                "div",
                {},
                other.attempt ? `attempt ${other.attempt}` : "attempt ?",
                other.retry ? ` · retry #${other.retry.timesSeen}` : "",
              ),
              h("div", { class: `verdict ${other.verdict}` }, VERDICT_TEXT[other.verdict]),
              h("div", {}, answerCell(other)),
            ),
          ),
        ),
      ),
    );
  }
  if (replays.length > 0) {
    cards.push(
      h(
        "div",
        { class: "card", id: "replays" },
        h("h3", {}, `Replays (${replays.length})`),
        h(
          "div",
          { class: "deliveries" },
          replays.map((other) =>
            h(
              "div",
              {
                class: "delivery",
                tabindex: "0",
                onclick: () => select(other.id),
                onkeydown: (event) => openWithKey(event, other.id),
              },
              h("div", { class: "time" }, formatTime(other.receivedAt)),
              h("div", { class: "mono sub" }, line(other.replayTo ?? "arrived here")),
              h("div", {}, answerCell(other)),
            ),
          ),
        ),
      ),
    );
  }
  return cards;
}

function renderRequest(request) {
  const body = h("pre", { id: "request-body" });
  // Both views escape control, bidi and invisible characters visibly (the pretty JSON has them as \u
  // escapes already, from the server): the body shown is what a handler would read, not a reordering.
  const showRaw = () => {
    body.replaceChildren(...visibleNodes(request.body ?? `(not UTF-8; base64)\n${request.bodyBase64}`));
  };
  const showPretty = () => {
    body.replaceChildren(...visibleNodes(request.pretty ?? request.body ?? ""));
  };
  if (request.pretty) showPretty();
  else showRaw();
  return h(
    "div",
    { class: "card", id: "request" },
    h(
      "h3",
      {},
      `Request: ${line(request.method)} ${line(request.path)}`,
      h(
        "span",
        { class: "right" },
        request.pretty ? h("button", { type: "button", class: "ghost", onclick: showPretty }, "Pretty") : null,
        h("button", { type: "button", class: "ghost", id: "show-raw", onclick: showRaw }, "Exact bytes"),
        h(
          "button",
          {
            type: "button",
            class: "ghost",
            onclick: (event) => {
              navigator.clipboard.writeText(body.textContent ?? "").then(
                () => {
                  event.target.textContent = "Copied";
                },
                () => {
                  event.target.textContent = "Select to copy";
                },
              );
            },
          },
          "Copy",
        ),
      ),
    ),
    h(
      "table",
      { class: "kv" },
      h(
        "tbody",
        {},
        request.headers.map(([name, value]) => h("tr", {}, h("td", {}, line(name)), h("td", {}, line(value)))),
      ),
    ),
    h(
      "p",
      { class: "dim inner" },
      `${formatBytes(request.bytes)}${request.truncated ? " — shown cut short; download the capture for all of it" : ""}`,
    ),
    body,
  );
}

// ---------------------------------------------------------------- start

function bindFilters() {
  let timer;
  const apply = () => {
    state.filters = {
      type: $("f-type").value,
      verdict: $("f-verdict").value,
      inbox: $("f-inbox").value.trim(),
      q: $("f-q").value.trim(),
    };
    loadFirstPage();
  };
  for (const id of ["f-type", "f-verdict"]) $(id).addEventListener("change", apply);
  for (const id of ["f-inbox", "f-q"]) {
    $(id).addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(apply, 250);
    });
  }
  $("f-clear").addEventListener("click", () => {
    for (const id of ["f-type", "f-verdict", "f-inbox", "f-q"]) $(id).value = "";
    apply();
  });
  $("older").addEventListener("click", loadOlder);
  // Scrolling to the end of the list loads the next page.
  new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting) && state.complete) loadOlder();
  }).observe($("more"));
}

async function start() {
  if (!token) {
    $("detail").replaceChildren(h("p", { class: "empty" }, WRONG_TOKEN));
    setConnection("down", "no token");
    return;
  }
  bindFilters();
  // The list does not wait for the status line: both are asked for at once.
  const first = loadFirstPage();
  try {
    state.status = await api("/api/status");
    const forward = state.status.forwardTo ? `  ·  forward → ${line(state.status.forwardTo)}` : "";
    $("where").textContent = `webhooks → ${line(state.status.listenerUrl)}${forward}`;
  } catch (error) {
    setConnection("down", line(error.message));
    return;
  }
  connect();
  await first;
  renderFooter();
  const wanted = new URLSearchParams(location.hash.slice(1)).get("id");
  if (wanted) select(wanted);
}

start();
