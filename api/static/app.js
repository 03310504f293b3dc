// runrobot operator page: sessions from /ui/stream (SSE), controls via the session API,
// camera rooms over WebRTC, joint commands and queue depth plotted on canvases.

import { CameraFeed } from "./camera.js";
import { SERIES_COLORS, TimePlot } from "./plot.js";

const STREAM_URL = "/ui/stream";
const POLL_FALLBACK_MS = 1000;
const STREAM_STALE_MS = 3000;
const FEEDBACK_FADE_MS = 8000;

/** Counters for tests and debugging (read from the browser console or WebDriver). */
const stats = {
  events: 0,
  streamState: "connecting",
  lastEventAt: 0,
  statusBySession: {},
  plotSamples: {},
  plotDraws: 0,
  framesByRoom: {},
  fpsByRoom: {},
  videoStateByRoom: {},
  videoErrorsByRoom: {},
  actions: [],
};
window.runrobotStats = stats;

const el = (id) => document.getElementById(id);
const cards = new Map(); // session id -> SessionCard
let clockOffsetS = null; // server time - client time, smoothed

function serverNow() {
  return Date.now() / 1000 + (clockOffsetS ?? 0);
}

function fmt(v, digits = 0) {
  if (v === null || v === undefined || Number.isNaN(v)) return "\u2013";
  return typeof v === "number" ? v.toFixed(digits) : String(v);
}

const STAT_FIELDS = [
  ["timestep", "timestep", (s) => s.last_command?.timestep],
  ["commands", "commands", (s) => s.commands_published],
  ["queue", "queue depth", (s) => s.queue_depth],
  ["chunks", "chunks", (s) => s.chunks],
  ["starved", "starved ticks", (s) => s.starved_ticks, true],
  ["stale", "stale pauses", (s) => s.stale_input_pauses, true],
  ["warmup", "warmup ticks", (s) => s.warmup_ticks],
  ["latency", "infer p50 ms", (s) => s.inference_latency_p50_ms, false, 1],
  ["frames", "frames in", (s) => Object.values(s.frames_received || {}).reduce((a, b) => a + b, 0)],
];

class SessionCard {
  constructor(snap) {
    this.id = snap.id;
    this.root = el("session-template").content.firstElementChild.cloneNode(true);
    this.root.id = `session-${cssId(snap.id)}`;
    this.root.dataset.sessionId = snap.id;
    this.q = (sel) => this.root.querySelector(sel);
    this.q(".sid").textContent = snap.id;
    this.badge = this.q(".state");
    this.reason = this.q(".reason");
    this.feedback = this.q(".feedback");
    this.feedbackTimer = null;
    this.buttons = [...this.root.querySelectorAll("button[data-action]")];
    for (const b of this.buttons) b.addEventListener("click", () => this.act(b.dataset.action, b));
    this.statEls = {};
    const statBox = this.q(".stats");
    for (const [key, label] of STAT_FIELDS) {
      const div = document.createElement("div");
      div.className = "stat";
      div.dataset.stat = key;
      div.innerHTML = '<div class="k"></div><div class="v">\u2013</div>';
      div.querySelector(".k").textContent = label;
      statBox.append(div);
      this.statEls[key] = div;
    }
    this.jointPlot = new TimePlot(this.q(".joint-plot"), { yMin: -100, yMax: 100, yTicks: [-100, -50, 0, 50, 100] });
    this.queuePlot = new TimePlot(this.q(".queue-plot"), { yMin: 0, yMax: 20, yTicks: [0, 10, 20], autoMax: true, fill: true });
    this.queuePlot.setSeries(["queue depth"]);
    this.legendVals = [];
    this.lastTimestep = null;
    this.feeds = new Map(); // room id -> CameraFeed
    stats.plotSamples[this.id] = 0;
    this.navItem = document.createElement("li");
    this.navItem.innerHTML = '<a><span class="dot"></span><span class="name"></span><span class="state"></span></a>';
    this.navItem.querySelector("a").href = `#${this.root.id}`;
    this.navItem.querySelector(".name").textContent = snap.id;
  }

  update(snap, t) {
    const status = snap.status;
    const paused = status === "running" && (snap.status_reason || "").startsWith("paused");
    stats.statusBySession[this.id] = status;
    for (const node of [this.root, this.badge]) {
      node.className = node.className.replace(/\bst-\S+/g, "").trim() + ` st-${status}`;
      node.classList.toggle("paused", paused);
    }
    this.badge.textContent = status;
    let reason = snap.error_message && status === "error" ? snap.error_message : snap.status_reason || "";
    if (reason === status) reason = "";
    this.reason.textContent = reason;
    this.reason.title = reason;
    this.reason.classList.toggle("warn", paused);
    this.reason.classList.toggle("err", status === "error");
    const dot = this.navItem.querySelector(".dot");
    dot.style.background = getComputedStyle(this.badge).backgroundColor;
    this.navItem.querySelector(".state").textContent = paused ? "paused" : status;
    this.status = status;
    this.syncButtons();
    const meta = [`policy ${snap.policy_path}`];
    if (snap.chunk_size) meta.push(`chunk ${snap.chunk_size}`);
    if (snap.fps) meta.push(`control ${fmt(snap.fps, 0)} Hz`);
    this.q(".meta-line").textContent = meta.join(" \u00b7 ");
    for (const [key, , get, alertable, digits] of STAT_FIELDS) {
      const v = get(snap);
      this.statEls[key].querySelector(".v").textContent = fmt(v, digits || 0);
      this.statEls[key].classList.toggle("alert", Boolean(alertable && v > 0));
    }
    this.q(".depth").textContent = `${fmt(snap.queue_depth)} steps`;
    this.queuePlot.push(t, [snap.queue_depth ?? 0]);
    this._plotCommand(snap, t);
    this._syncCameras(snap.cameras || {});
  }

  _plotCommand(snap, t) {
    const cmd = snap.last_command;
    const names = cmd?.names || snap.joint_names || [];
    if (names.length) this._legend(names);
    if (!cmd) return;
    if (this.lastTimestep !== null && cmd.timestep < this.lastTimestep) this.jointPlot.gap(t); // restarted
    if (cmd.timestep === this.lastTimestep) {
      if (snap.status !== "running" || snap.status_reason !== "running") this.jointPlot.gap(t);
      return; // no new command since the last event
    }
    this.lastTimestep = cmd.timestep;
    this.jointPlot.push(t - (cmd.age_s || 0), cmd.positions);
    stats.plotSamples[this.id] = this.jointPlot.samples;
    cmd.positions.forEach((v, i) => {
      if (this.legendVals[i]) this.legendVals[i].textContent = v.toFixed(1);
    });
    this.q(".step").textContent = `step ${cmd.timestep}`;
  }

  _legend(names) {
    if (this.jointPlot.names.length === names.length && names.every((n, i) => n === this.jointPlot.names[i])) return;
    this.jointPlot.setSeries(names);
    const legend = this.q(".legend");
    legend.replaceChildren();
    this.legendVals = names.map((name, i) => {
      const item = document.createElement("span");
      item.className = "item";
      item.innerHTML = '<span class="swatch"></span><span class="name"></span><span class="val">\u2013</span>';
      item.querySelector(".swatch").style.background = SERIES_COLORS[i % SERIES_COLORS.length];
      item.querySelector(".name").textContent = name;
      legend.append(item);
      return item.querySelector(".val");
    });
  }

  _syncCameras(cameras) {
    const wanted = new Map(Object.entries(cameras).map(([name, room]) => [room, name]));
    for (const [room, feed] of this.feeds) {
      if (!wanted.has(room)) {
        feed.stop();
        feed.figure.remove();
        this.feeds.delete(room);
      }
    }
    for (const [room, name] of wanted) {
      if (this.feeds.has(room)) continue;
      const fig = el("camera-template").content.firstElementChild.cloneNode(true);
      fig.dataset.room = room;
      fig.querySelector(".cam-name").textContent = name;
      fig.querySelector(".room").textContent = room;
      this.q(".cameras").append(fig);
      const feed = new CameraFeed(room, fig.querySelector("video"), fig.querySelector(".video-overlay"), fig.querySelector(".frames"), stats);
      feed.figure = fig;
      this.feeds.set(room, feed);
      feed.start();
    }
  }

  draw(now) {
    this.jointPlot.draw(now);
    this.queuePlot.draw(now);
  }

  /** Enable the buttons that make sense for the last status seen (none while an action is in flight). */
  syncButtons() {
    if (this.buttons.some((b) => b.classList.contains("busy"))) return;
    for (const b of this.buttons) {
      b.disabled = (b.dataset.action === "start" && this.status === "running") || (b.dataset.action === "stop" && this.status !== "running");
    }
  }

  async act(action, button) {
    for (const b of this.buttons) b.disabled = true;
    button.classList.add("busy");
    this.say("pending", `${action}\u2026`);
    const record = { session: this.id, action, ok: false, message: "" };
    stats.actions.push(record);
    try {
      const resp = await fetch(`/sessions/${encodeURIComponent(this.id)}/${action}`, { method: "POST" });
      const body = await resp.json().catch(() => ({}));
      record.ok = resp.ok;
      record.message = body.message || body.detail || resp.statusText;
      if (typeof record.message !== "string") record.message = JSON.stringify(record.message);
      this.say(resp.ok ? "ok" : "err", resp.ok ? `\u2713 ${record.message}` : `\u2717 ${action} failed (${resp.status}): ${record.message}`);
    } catch (err) {
      record.message = String(err);
      this.say("err", `\u2717 ${action} failed: ${err}`);
    } finally {
      button.classList.remove("busy");
      this.syncButtons();
      refreshOnce();
    }
  }

  say(kind, text) {
    clearTimeout(this.feedbackTimer);
    this.feedback.className = `feedback ${kind}`;
    this.feedback.textContent = text;
    if (kind !== "pending") this.feedbackTimer = setTimeout(() => this.feedback.classList.add("faded"), FEEDBACK_FADE_MS);
  }

  remove() {
    for (const feed of this.feeds.values()) feed.stop();
    this.root.remove();
    this.navItem.remove();
    delete stats.statusBySession[this.id];
  }
}

function cssId(text) {
  return text.replace(/[^A-Za-z0-9_-]/g, "_");
}

/** Apply one snapshot of every session (from the stream or the polling fallback). */
function applySessions(sessions, t) {
  const seen = new Set();
  for (const snap of sessions) {
    seen.add(snap.id);
    let card = cards.get(snap.id);
    if (!card) {
      card = new SessionCard(snap);
      cards.set(snap.id, card);
      el("sessions").append(card.root);
      el("session-list").append(card.navItem);
    }
    card.update(snap, t);
  }
  for (const [id, card] of cards) {
    if (!seen.has(id)) {
      card.remove();
      cards.delete(id);
    }
  }
  el("empty").hidden = cards.size > 0;
  el("session-count").textContent = `${cards.size} session${cards.size === 1 ? "" : "s"}`;
}

function onSnapshot(data) {
  const offset = data.t - Date.now() / 1000;
  clockOffsetS = clockOffsetS === null ? offset : clockOffsetS + 0.1 * (offset - clockOffsetS);
  stats.events += 1;
  stats.lastEventAt = Date.now();
  applySessions(data.sessions, data.t);
  el("clock").textContent = new Date(data.t * 1000).toLocaleTimeString([], { hour12: false });
}

// ---- live stream, with a polling fallback while it is down --------------------------------
function setConn(state, text) {
  stats.streamState = state;
  el("conn").className = `conn ${state}`;
  el("conn-text").textContent = text;
}

function openStream() {
  const source = new EventSource(STREAM_URL);
  source.onopen = () => setConn("live", "live");
  source.onmessage = (ev) => {
    if (stats.streamState !== "live") setConn("live", "live");
    onSnapshot(JSON.parse(ev.data));
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      setConn("down", "stream closed; reconnecting");
      setTimeout(openStream, 2000);
    } else {
      setConn("down", "reconnecting\u2026");
    }
  };
}

/** GET /sessions mapped to the stream's shape (no last command there). */
function fromStatus(s) {
  const inf = s.inference_stats || {};
  return {
    id: s.session_id,
    status: s.status,
    status_reason: s.stats?.status_reason ?? null,
    error_message: s.error_message,
    policy_path: s.policy_path,
    cameras: Object.fromEntries(Object.entries(s.rooms?.cameras || {}).map(([name, r]) => [name, r.room_id])),
    fps: s.stats?.fps ?? null,
    chunk_size: s.stats?.chunk_size ?? null,
    joint_names: s.stats?.joint_names || [],
    last_command: null,
    queue_depth: inf.queue_depth ?? 0,
    chunks: inf.chunks ?? 0,
    starved_ticks: inf.starved_ticks ?? 0,
    warmup_ticks: inf.warmup_ticks ?? 0,
    stale_input_pauses: inf.stale_input_pauses ?? 0,
    inference_latency_p50_ms: inf.inference_latency_p50_ms ?? null,
    commands_published: s.stats?.commands_published ?? 0,
    frames_received: s.stats?.frames_received || {},
  };
}

async function refreshOnce() {
  try {
    const resp = await fetch("/sessions");
    if (resp.ok) applySessions((await resp.json()).map(fromStatus), serverNow());
  } catch {
    /* server unreachable: the stream indicator says so */
  }
}

function pollWhileStreamDown() {
  if (Date.now() - stats.lastEventAt > STREAM_STALE_MS) refreshOnce();
  setTimeout(pollWhileStreamDown, POLL_FALLBACK_MS);
}

function drawLoop() {
  const now = serverNow();
  for (const card of cards.values()) card.draw(now);
  stats.plotDraws += 1;
  requestAnimationFrame(drawLoop);
}

refreshOnce();
openStream();
setTimeout(pollWhileStreamDown, POLL_FALLBACK_MS);
requestAnimationFrame(drawLoop);
