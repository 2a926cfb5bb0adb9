// Shared by the live pages: the room socket with reconnect, a clock synced to the server,
// toasts and the chat list. Protocol: docs/live-protocol.md.

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Pages served over plain http on a LAN name are not a secure context.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Server time = local time + offset, measured when a frame carrying server_time arrives.
export class Clock {
  constructor(serverTime = Date.now()) { this.sync(serverTime); }
  sync(serverTime) { this.offset = serverTime - Date.now(); }
  now() { return Date.now() + this.offset; }
}

export function formatCountdown(ms) {
  // Rounded: a clock measured a few ms late must not show 02:01 for a two-minute sale.
  const total = Math.max(0, Math.round(ms / 1000));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  if (days) return `${days}d ${two(hours)}:${two(minutes)}:${two(seconds)}`;
  if (hours) return `${hours}:${two(minutes)}:${two(seconds)}`;
  return `${two(minutes)}:${two(seconds)}`;
}

export function formatMoney(amount, currency, locale) {
  // Display only: amounts stay integers everywhere else.
  return new Intl.NumberFormat(locale || undefined, { style: "currency", currency })
    .format(amount / 100);
}

// "12.5" or "12,50" -> 1250 exactly, or null when it is not an amount with <= 2 decimals.
export function parseMajor(text, digits = 2) {
  let cleaned = String(text).trim().replace(/\s/g, "");
  if (cleaned.includes(",") && !cleaned.includes(".")) cleaned = cleaned.replace(",", ".");
  const match = /^(\d+)(?:\.(\d*))?$/.exec(cleaned);
  if (!match || (match[2] ?? "").length > digits) return null;
  const minor = Number(match[1]) * 10 ** digits + Number((match[2] ?? "").padEnd(digits, "0"));
  return Number.isSafeInteger(minor) ? minor : null;
}

const FINAL_CLOSE_CODES = new Set([4401, 4403, 4404]);
const MAX_BACKOFF_MS = 15000;

// One socket per show, reconnecting with backoff (1 s, 2 s, 4 s ... 15 s). Every
// reconnect starts with a fresh snapshot, which the page uses to replace its state.
export function connectRoom(showId, market, { onEvent, onState }) {
  let socket = null;
  let attempt = 0;
  let timer = null;
  let stopped = false;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = market ? `?market=${encodeURIComponent(market)}` : "";
    socket = new WebSocket(`${scheme}://${location.host}/ws/shows/${showId}${query}`);
    socket.addEventListener("message", (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      if (event.type === "snapshot") { attempt = 0; onState?.("open"); }
      onEvent(event);
    });
    socket.addEventListener("close", (closed) => {
      if (stopped) return;
      if (FINAL_CLOSE_CODES.has(closed.code)) { onState?.("closed", closed.code); return; }
      onState?.("reconnecting");
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt);
      attempt += 1;
      timer = setTimeout(open, delay);
    });
  };
  open();
  return {
    send(message) {
      if (socket?.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(message));
      return true;
    },
    close() { stopped = true; clearTimeout(timer); socket?.close(); },
  };
}

const TOAST_MS = 4000;
const MAX_TOASTS = 3;

// Error toasts, with the same text shown at most once at a time (a user hammering the
// send button gets one "slow down", not ten).
export function toaster(container) {
  return (text, kind = "error") => {
    if (!container) return;
    for (const existing of container.children) {
      if (existing.textContent === text) return;
    }
    const item = document.createElement("p");
    item.className = `toast ${kind}`;
    item.textContent = text;
    container.append(item);
    while (container.children.length > MAX_TOASTS) container.firstElementChild.remove();
    setTimeout(() => item.remove(), TOAST_MS);
  };
}

// The chat: plain text through textContent only, de-duplicated by id, the last `limit`
// messages kept, scrolled to the newest unless the reader scrolled up.
export class ChatList {
  constructor(list, { limit = 200, decorate = null } = {}) {
    this.list = list;
    this.limit = limit;
    this.decorate = decorate;
    this.items = new Map();
  }

  replace(messages) {
    this.list.replaceChildren();
    this.items.clear();
    this.add(messages);
  }

  add(messages) {
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 48;
    for (const message of messages) {
      if (this.items.has(message.id)) continue;
      const item = document.createElement("li");
      item.className = "chat-message";
      item.dataset.messageId = message.id;
      item.dataset.userId = message.user_id;
      const author = document.createElement("span");
      author.className = "chat-author";
      author.textContent = message.author;
      const text = document.createElement("span");
      text.className = "chat-text";
      text.textContent = message.text;
      item.append(author, " ", text);
      this.decorate?.(item, message);
      this.list.append(item);
      this.items.set(message.id, item);
    }
    while (this.items.size > this.limit) {
      const [oldest, item] = this.items.entries().next().value;
      item.remove();
      this.items.delete(oldest);
    }
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  remove(ids) {
    for (const id of ids) {
      this.items.get(id)?.remove();
      this.items.delete(id);
    }
  }

  note(text) {
    const item = document.createElement("li");
    item.className = "chat-note";
    item.textContent = text;
    this.list.append(item);
    this.list.scrollTop = this.list.scrollHeight;
  }
}
