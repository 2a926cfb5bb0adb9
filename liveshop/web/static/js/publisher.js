// The host's stream panel in the control room (docs/video.md): the RTMP URL and stream key
// for OBS or a phone app, and going live from this browser's camera: MediaRecorder WebM
// chunks sent as binary frames over /ws/shows/{id}/publish.
import { ApiError, api } from "./site.js";

const CHUNK_MS = 500;
const MIME_TYPES = ["video/webm;codecs=h264,opus", "video/webm;codecs=vp8,opus"];
const MAX_BACKOFF_MS = 15000;
// More than this waiting in the socket: the upload cannot keep up with the camera.
const SLOW_UPLOAD_BYTES = 4 * 1024 * 1024;
const ARM_MS = 4000;

// Refusals that a retry cannot fix (docs/video.md); the server's error frame, when one came
// first, says more.
const FINAL_CLOSES = {
  4401: "The browser's origin was refused. Open the control room from the site itself.",
  4403: "Only the show's host can publish video. Are you still logged in?",
  4404: "This show does not exist.",
  4409: "The show has ended, or someone else is publishing to it (another tab, or OBS).",
  4413: "A piece of video was too large to send.",
  4415: "The server could not read this browser's video.",
};
const VIDEO_BITS_PER_SECOND = 2_500_000;

const CAMERA_ERRORS = {
  NotAllowedError: "Allow this site to use your camera and microphone, then try again.",
  NotFoundError: "No camera or microphone was found.",
  NotReadableError: "The camera is in use by another application.",
  OverconstrainedError: "The camera cannot film at 1280×720.",
};

function pickMimeType() {
  return MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type)) ?? "";
}

class BrowserPublisher {
  constructor(showId, { onStatus, onFailure }) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/shows/${showId}/publish`;
    this.onStatus = onStatus;
    this.onFailure = onFailure;
    this.stream = null;
    this.socket = null;
    this.recorder = null;
    this.wanted = false;
    this.slow = false;
    this.refusal = null;
    this.attempt = 0;
    this.timer = null;
  }

  async start(preview) {
    this.wanted = true;
    this.onStatus("starting", "Starting the camera…");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: 1280, height: 720 }, audio: true,
      });
    } catch (error) {
      this.wanted = false;
      this.onFailure(CAMERA_ERRORS[error.name] ?? `The camera did not start (${error.name}).`);
      return;
    }
    if (!this.wanted) { this.release(); return; }
    preview.srcObject = this.stream;
    this.connect();
  }

  connect() {
    this.refusal = null;
    this.onStatus("connecting", this.attempt ? "Reconnecting…" : "Connecting…");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    // Chunks recorded before the server's "publishing" answer are kept by the server.
    socket.addEventListener("open", () => this.record(socket));
    socket.addEventListener("message", (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      if (event.type === "publishing") {
        this.attempt = 0;
        this.onStatus("live", event.resumed ? "Live from this browser again." : "Live from this browser.");
      } else if (event.type === "error") {
        this.refusal = event.message;
      }
    });
    socket.addEventListener("close", (closed) => this.closed(socket, closed));
  }

  record(socket) {
    // Each connection starts a new WebM stream: the server's ffmpeg needs its header.
    const mimeType = pickMimeType();
    const recorder = new MediaRecorder(this.stream, {
      ...(mimeType ? { mimeType } : {}),
      videoBitsPerSecond: VIDEO_BITS_PER_SECOND,
      // Copied H.264 is cut into segments at keyframes: one a second keeps them short.
      videoKeyFrameIntervalDuration: 1000,
    });
    this.recorder = recorder;
    recorder.addEventListener("dataavailable", (chunk) => {
      if (!chunk.data.size || socket.readyState !== WebSocket.OPEN) return;
      socket.send(chunk.data);
      const slow = socket.bufferedAmount > SLOW_UPLOAD_BYTES;
      if (slow !== this.slow) {
        this.slow = slow;
        this.onStatus(slow ? "slow" : "live", slow
          ? "Your upload is too slow for this video; viewers will see it late."
          : "Live from this browser.");
      }
    });
    recorder.start(CHUNK_MS);
  }

  closed(socket, closed) {
    if (socket !== this.socket) return;
    this.stopRecorder();
    this.slow = false;
    if (!this.wanted) return;
    const final = FINAL_CLOSES[closed.code];
    if (final) {
      this.stop();
      this.onFailure(this.refusal || final);
      return;
    }
    // Viewers see "Host reconnecting…" meanwhile; the server keeps the show for its grace
    // period. 1011 (the packager failed) is worth a retry too.
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt);
    this.attempt += 1;
    this.onStatus("connecting", `Connection lost; reconnecting in ${Math.round(delay / 1000)} s…`);
    this.timer = setTimeout(() => { if (this.wanted) this.connect(); }, delay);
  }

  stopRecorder() {
    if (this.recorder?.state === "recording") this.recorder.stop();
    this.recorder = null;
  }

  release() {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
  }

  stop() {
    this.wanted = false;
    clearTimeout(this.timer);
    this.stopRecorder();
    this.socket?.close(1000, "host stopped");
    this.socket = null;
    this.release();
    this.onStatus("stopped", "Not publishing from this browser.");
  }
}

async function copyField(input, button) {
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    // No clipboard API outside secure contexts (a LAN address over http).
    input.type = "text";
    input.select();
    document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = label; }, 1500);
}

// -> { showVideo(video) } for the room socket's snapshot `video` and `video` events.
export function streamPanel(panel) {
  const $ = (id) => document.getElementById(id);
  const base = `/api/v1/shows/${panel.dataset.showId}/stream`;
  const preview = $("publish-preview");
  const status = $("publish-status");
  const failure = $("publish-error");

  function fail(message) {
    failure.textContent = message;
    failure.hidden = false;
  }

  function showStream(info) {
    $("rtmp-url").value = info.rtmp_url;
    $("stream-key").value = info.stream_key;
  }

  api("GET", base).then(showStream).catch((error) => {
    fail(error instanceof ApiError ? error.message : "Could not load the stream settings.");
  });

  for (const button of panel.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", () => copyField($(button.dataset.copy), button));
  }
  $("reveal-key").addEventListener("click", (clicked) => {
    const input = $("stream-key");
    const hidden = input.type === "password";
    input.type = hidden ? "text" : "password";
    clicked.currentTarget.textContent = hidden ? "Hide" : "Show";
  });
  $("regenerate-key").addEventListener("click", async (clicked) => {
    const button = clicked.currentTarget;
    // Two clicks: OBS stops at once and needs the new key typed in.
    if (!button.dataset.armed) {
      button.dataset.armed = "1";
      button.textContent = "Click again: the old key stops working";
      setTimeout(() => { delete button.dataset.armed; button.textContent = "Regenerate key"; }, ARM_MS);
      return;
    }
    delete button.dataset.armed;
    button.textContent = "Regenerate key";
    button.disabled = true;
    try {
      showStream(await api("POST", `${base}/key`));
      failure.hidden = true;
    } catch (error) {
      fail(error instanceof ApiError ? error.message : "No connection. Try again.");
    } finally {
      button.disabled = false;
    }
  });

  const start = $("start-publish");
  const stop = $("stop-publish");
  const publisher = new BrowserPublisher(panel.dataset.showId, {
    onStatus(state, text) {
      panel.dataset.publishing = state;
      status.textContent = text;
      const running = !["stopped", "idle"].includes(state);
      start.hidden = running;
      stop.hidden = !running;
      preview.hidden = !running;
      if (running) failure.hidden = true;
    },
    onFailure(message) {
      fail(message);
      if (!publisher.wanted) {
        panel.dataset.publishing = "stopped";
        start.hidden = false;
        stop.hidden = true;
        preview.hidden = true;
        status.textContent = "Not publishing from this browser.";
      }
    },
  });
  const supported = Boolean(navigator.mediaDevices?.getUserMedia && window.MediaRecorder);
  if (!supported) {
    start.disabled = true;
    status.textContent = "This browser cannot publish video: use OBS or a phone app with the key below.";
  }
  start.addEventListener("click", () => publisher.start(preview));
  stop.addEventListener("click", () => publisher.stop());

  return {
    showVideo(video) {
      const state = video?.state ?? "idle";
      const badge = $("video-state");
      badge.textContent = { idle: "no video", live: "video live", reconnecting: "reconnecting", ended: "ended" }[state] ?? state;
      badge.className = `badge video-${state}`;
    },
  };
}
