// The show's video (docs/video.md). hls.js plays HLS where the browser has Media Source
// Extensions (Chromium, Firefox, desktop Safari); an iPhone without MSE plays HLS natively.
// hls.js is the UMD build from npm, loaded by a classic <script> before this module.

const Hls = window.Hls;
const HLS_TYPE = "application/vnd.apple.mpegurl";
// The CSP allows workers from our origin only, not the blob: worker hls.js would inline.
const WORKER_PATH = "/static/vendor/hls.js/hls.worker.js";
const MAX_BACKOFF_MS = 8000;
// A live picture that has not moved for this long is re-attached from the live edge.
const STALL_MS = 10000;
const LONG_PRESS_MS = 700;
const STATS_MS = 500;

const NOTES = {
  idle: "Waiting for the host's video…",
  reconnecting: "Host reconnecting…",
  ended: "The show has ended.",
  unsupported: "This browser cannot play the video.",
};

function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text) node.textContent = text;
  return node;
}

function backoff(attempt) { return Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt); }

// Shared by the live room and the replay: one <video>, hls.js or native, with recovery.
class Player {
  constructor(slot, hlsConfig) {
    this.slot = slot;
    this.hlsConfig = hlsConfig;
    this.hls = null;
    this.src = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.lastMediaRecovery = 0;
    this.measuredBitrate = 0;
    slot.querySelector(".video-slot-note")?.remove();
    this.video = document.createElement("video");
    this.video.playsInline = true;
    this.note = element("p", "video-note");
    slot.append(this.video, this.note);
    this.video.addEventListener("loadedmetadata", () => {
      slot.classList.toggle("landscape", this.video.videoWidth > this.video.videoHeight);
    });
    this.video.addEventListener("playing", () => { this.attempt = 0; });
    // Native HLS (Safari) reports failures only here.
    this.video.addEventListener("error", () => {
      if (!this.hls && this.src) this.retry(() => this.attachNative(this.src));
    });
  }

  get engine() {
    if (Hls?.isSupported()) return "hls.js";
    return this.video.canPlayType(HLS_TYPE) ? "native" : null;
  }

  load(src) {
    if (src === this.src) return;
    this.unload();
    this.src = src;
    const engine = this.engine;
    if (engine === "hls.js") this.attachHls(src);
    else if (engine === "native") this.attachNative(src);
    else this.setNote(NOTES.unsupported);
  }

  // A fresh player, back at the live edge.
  reload() {
    const src = this.src;
    this.unload();
    if (src) this.load(src);
  }

  unload() {
    clearTimeout(this.retryTimer);
    this.hls?.destroy();
    this.hls = null;
    this.src = null;
    this.video.removeAttribute("src");
    this.video.load();
  }

  retry(action) {
    clearTimeout(this.retryTimer);
    const delay = backoff(this.attempt);
    this.attempt += 1;
    this.retryTimer = setTimeout(action, delay);
  }

  attachNative(src) {
    this.video.src = src;
    this.video.load();
  }

  attachHls(src) {
    const hls = new Hls(this.hlsConfig);
    this.hls = hls;
    hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) this.recover(hls, data); });
    hls.on(Hls.Events.FRAG_BUFFERED, () => { this.attempt = 0; });
    // A single-rendition playlist declares no BANDWIDTH: measure what segments weigh.
    hls.on(Hls.Events.FRAG_LOADED, (_, { frag }) => {
      if (frag.duration > 0 && frag.stats?.total) this.measuredBitrate = (frag.stats.total * 8) / frag.duration;
    });
    hls.loadSource(src);
    hls.attachMedia(this.video);
  }

  recover(hls, data) {
    if (hls !== this.hls) return;
    const { ErrorTypes, ErrorDetails } = Hls;
    const manifest = [ErrorDetails.MANIFEST_LOAD_ERROR, ErrorDetails.MANIFEST_LOAD_TIMEOUT,
      ErrorDetails.MANIFEST_PARSING_ERROR].includes(data.details);
    if (data.type === ErrorTypes.NETWORK_ERROR && manifest) {
      // The playlist is not there yet (ffmpeg writes it a moment after the host starts):
      // a fresh player asks again until it appears.
      const src = this.src;
      this.retry(() => { if (this.hls === hls) { this.unload(); this.load(src); } });
    } else if (data.type === ErrorTypes.NETWORK_ERROR) {
      this.retry(() => { if (this.hls === hls) hls.startLoad(); });
    } else if (data.type === ErrorTypes.MEDIA_ERROR) {
      // A second media error soon after the first: the codec guess was wrong, try the other.
      if (Date.now() - this.lastMediaRecovery < 3000) hls.swapAudioCodec();
      this.lastMediaRecovery = Date.now();
      hls.recoverMediaError();
    } else {
      this.retry(() => { if (this.hls === hls) this.reload(); });
    }
  }

  setNote(text) {
    this.note.textContent = text ?? "";
    this.note.hidden = !text;
  }

  bufferSeconds() {
    const { buffered, currentTime } = this.video;
    for (let i = 0; i < buffered.length; i += 1) {
      if (buffered.start(i) <= currentTime + 0.1 && currentTime <= buffered.end(i)) {
        return buffered.end(i) - currentTime;
      }
    }
    return 0;
  }

  level() {
    const level = this.hls?.levels?.[this.hls.currentLevel];
    if (level) {
      const height = level.height || this.video.videoHeight;
      const bitrate = level.bitrate || this.measuredBitrate;
      return `${height}p · ${(bitrate / 1e6).toFixed(2)} Mbit/s`;
    }
    return this.video.videoHeight ? `${this.video.videoHeight}p (native)` : "—";
  }
}

// The live room: muted autoplay near the live edge, a tap-to-unmute button, notes for the
// host's state, stall recovery and, with ?debug=1 only, a latency and buffer overlay (its
// "i" button or a long press hides and shows it): viewers are not shown the plumbing.
export class LivePlayer extends Player {
  // `unmuteSlot`: where "Tap to unmute" goes (default: over the picture).
  constructor(slot, { clock, unmuteSlot = slot }) {
    super(slot, {
      lowLatencyMode: false,
      liveSyncDurationCount: 3,
      // Catches up gently after a stall instead of staying behind forever.
      maxLiveSyncPlaybackRate: 1.1,
      workerPath: WORKER_PATH,
    });
    this.clock = clock;
    this.state = null;
    this.lastTime = -1;
    this.lastMoved = Date.now();
    Object.assign(this.video, { muted: true, autoplay: true });
    this.video.setAttribute("muted", "");
    this.video.addEventListener("playing", () => this.renderNote());
    this.unmute = element("button", "video-unmute", "Tap to unmute");
    this.unmute.type = "button";
    this.unmute.hidden = true;
    this.unmute.addEventListener("click", () => {
      this.video.muted = false;
      this.video.play().catch(() => {});
    });
    this.video.addEventListener("volumechange", () => this.renderUnmute());
    this.video.addEventListener("playing", () => this.renderUnmute());
    this.debug = debugRequested() ? new DebugOverlay(slot, this) : null;
    unmuteSlot.append(this.unmute);
    this.setNote(NOTES.idle);
    setInterval(() => this.watch(), STATS_MS);
  }

  // `video` is the snapshot's `video` object or a `video` event:
  // {state: "live"|"reconnecting"|"ended"|"idle", playlist, poster}.
  show(video) {
    this.state = video?.state ?? "idle";
    this.slot.dataset.videoState = this.state;
    if (video?.poster && this.video.getAttribute("poster") !== video.poster) {
      this.video.poster = video.poster;
    }
    // While the host reconnects the player stays on the playlist: it continues after the
    // #EXT-X-DISCONTINUITY the server writes when the video comes back.
    if (video?.playlist && this.state !== "ended") {
      this.load(video.playlist);
    } else if (this.state === "ended") {
      this.unload();
    }
    this.renderNote();
  }

  renderNote() {
    const playing = this.src && !this.video.paused && this.video.readyState > 2;
    if (this.state === "live") this.setNote(playing ? null : NOTES.idle);
    else this.setNote(NOTES[this.state] ?? NOTES.idle);
    this.renderUnmute();
  }

  renderUnmute() {
    this.unmute.hidden = !(this.video.muted && this.src && !this.video.paused && this.state === "live");
  }

  // Live only: a picture frozen while the host is live gets a fresh player at the edge.
  watch() {
    const time = this.video.currentTime;
    if (time !== this.lastTime || this.video.paused || this.state !== "live") {
      this.lastTime = time;
      this.lastMoved = Date.now();
    } else if (Date.now() - this.lastMoved > STALL_MS) {
      this.lastMoved = Date.now();
      this.reload();
    }
    this.debug?.render();
  }

  // How far behind real time the picture is, measured from the playlist's
  // EXT-X-PROGRAM-DATE-TIME against the server's clock. Null until it is known.
  latencySeconds() {
    let playing = this.hls?.playingDate ?? null;
    if (!this.hls && this.video.getStartDate) {
      const start = this.video.getStartDate().getTime();
      if (Number.isFinite(start)) playing = new Date(start + this.video.currentTime * 1000);
    }
    if (!playing) return null;
    return (this.clock.now() - playing.getTime()) / 1000;
  }
}

function debugRequested() {
  return new URLSearchParams(location.search).get("debug") === "1";
}

class DebugOverlay {
  constructor(slot, player) {
    this.player = player;
    this.box = element("dl", "video-debug");
    this.values = {};
    for (const [key, label] of [["latency", "Latency"], ["edge", "Behind edge"], ["buffer", "Buffer"],
      ["level", "Level"], ["engine", "Player"]]) {
      const row = element("div", `video-debug-${key}`);
      const value = element("dd", key);
      row.append(element("dt", "", label), value);
      this.box.append(row);
      this.values[key] = value;
    }
    const toggle = element("button", "video-info", "i");
    toggle.type = "button";
    toggle.setAttribute("aria-label", "Video statistics");
    toggle.addEventListener("click", () => this.toggle());
    slot.append(this.box, toggle);
    // Long press anywhere on the picture, for phones where the "i" is hard to hit.
    let timer = null;
    slot.addEventListener("pointerdown", (pressed) => {
      if (pressed.target.closest("button")) return;
      timer = setTimeout(() => this.toggle(), LONG_PRESS_MS);
    });
    for (const end of ["pointerup", "pointercancel", "pointerleave"]) {
      slot.addEventListener(end, () => clearTimeout(timer));
    }
  }

  toggle() {
    this.box.hidden = !this.box.hidden;
    this.render();
  }

  render() {
    if (this.box.hidden) return;
    const latency = this.player.latencySeconds();
    this.values.latency.textContent = latency === null ? "—" : `${latency.toFixed(1)} s`;
    const edge = this.player.hls?.latency;
    this.values.edge.textContent = Number.isFinite(edge) && edge > 0 ? `${edge.toFixed(1)} s` : "—";
    this.values.buffer.textContent = `${this.player.bufferSeconds().toFixed(1)} s`;
    this.values.level.textContent = this.player.level();
    this.values.engine.textContent = this.player.engine ?? "none";
  }
}

// The replay: the recording from its start, with controls; seeks by wall-clock time so a
// pin's moment maps onto the recording whatever the delay between "Go live" and the
// first frame.
export class ReplayPlayer extends Player {
  constructor(slot, { recordingStartedAt }) {
    super(slot, { startPosition: 0, workerPath: WORKER_PATH });
    this.fallbackStart = recordingStartedAt;
    this.video.controls = true;
    this.video.preload = "metadata";
    this.setNote(null);
  }

  // Epoch ms of the recording's first frame: its EXT-X-PROGRAM-DATE-TIME when the playlist
  // carries one, else what the page said.
  recordingStart() {
    const first = this.hls?.levels?.[0]?.details?.fragments?.[0];
    if (first?.programDateTime) return first.programDateTime - first.start * 1000;
    const native = this.video.getStartDate?.().getTime();
    return Number.isFinite(native) ? native : this.fallbackStart;
  }

  async seekToMoment(epochMs) {
    await this.ready();
    const duration = Number.isFinite(this.video.duration) ? this.video.duration : Infinity;
    const offset = Math.max(0, (epochMs - this.recordingStart()) / 1000);
    this.video.currentTime = Math.min(offset, Math.max(0, duration - 1));
    this.video.play().catch(() => {});
  }

  ready() {
    if (this.video.readyState >= 1) return Promise.resolve();
    return new Promise((resolve) => {
      this.video.addEventListener("loadedmetadata", () => resolve(), { once: true });
    });
  }
}
