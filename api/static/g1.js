// runrobot G1 operator page: polls GET /g1 (~5 Hz) and drives the lowcmd node through the sidecar's /g1 routes.
//
// window.runrobotG1 exposes what the page saw and did (for tests and debugging).

import { SERIES_COLORS, TimePlot } from "./plot.js";

const POLL_MS = 200; // GET /g1 at ~5 Hz
const SIM_POLL_EVERY = 5; // without a node, GET /g1/sim once a second
const REQUEST_TIMEOUT_MS = 3000;
const CMD_VEL_MIN_INTERVAL_MS = 100; // at most ~10 POST /g1/cmd_vel a second while dragging
const SLIDER_IDLE_MS = 1500; // after this long without input the sliders follow the node's command again
const FEEDBACK_FADE_MS = 8000;
const TRANSITIONS_SHOWN = 8;
const AXES = ["vx", "vy", "wz"];
const FALLBACK_MAX_CMD = [0.8, 0.5, 1.57];

// Which triggers the state machine accepts in which state (damp: any state).
const TRIGGER_STATES = {
  start: ["ZERO_TORQUE"],
  default: ["ZERO_TORQUE", "RUN", "DAMPING"],
  run: ["HOLD_DEFAULT"],
};

const $ = (id) => document.getElementById(id);

const stats = {
  polls: 0,
  pollErrors: 0,
  connection: "connecting", // live | no-node | down
  state: null,
  statesSeen: [], // the states shown, in order (consecutive repeats collapsed)
  nodeRunning: false,
  noNodeDetail: null,
  velocityCommand: null,
  velocitySource: null,
  sim: null,
  simAvailable: false,
  actions: [], // {action, ok, status, message}
  cmdVelSent: 0,
  cmdVelLast: null, // {body, status, reply}
  plotSamples: 0,
};
window.runrobotG1 = stats;

// ------------------------------------------------------------------------------------------ formatting

function fmt(value, digits = 2, suffix = "") {
  if (value === null || value === undefined || Number.isNaN(value)) return "\u2014";
  return `${Number(value).toFixed(digits)}${suffix}`;
}

function fmtDuration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return "\u2014";
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

function fmtVec(v) {
  return Array.isArray(v) ? `(${v.map((x) => (x >= 0 ? "+" : "") + Number(x).toFixed(2)).join(", ")})` : "\u2014";
}

function clockTime(wallS) {
  return new Date(wallS * 1000).toLocaleTimeString([], { hour12: false });
}

/** Wall-clock time of node-monotonic instant `t`, given a status carrying both clocks. */
function wallTime(status, t) {
  if (typeof status.wall_time !== "number" || typeof status.t !== "number") return "";
  return clockTime(status.wall_time - (status.t - t));
}

// ------------------------------------------------------------------------------------------ HTTP

async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  return { status: resp.status, data };
}

function detailText(data, status) {
  const detail = data?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => d.msg ?? JSON.stringify(d)).join("; ");
  return `HTTP ${status}`;
}

// ------------------------------------------------------------------------------------------ feedback

const fadeTimers = new Map();

function feedback(el, kind, text) {
  clearTimeout(fadeTimers.get(el));
  el.className = `feedback ${el.classList.contains("g1-feedback") ? "g1-feedback " : ""}${kind}`;
  el.textContent = text;
  if (kind !== "pending") fadeTimers.set(el, setTimeout(() => el.classList.add("faded"), FEEDBACK_FADE_MS));
}

// ------------------------------------------------------------------------------------------ stat tiles

function tiles(container, defs) {
  const cells = {};
  for (const [key, label, title] of defs) {
    const div = document.createElement("div");
    div.className = "stat";
    div.dataset.stat = key;
    if (title) div.title = title;
    div.innerHTML = '<div class="k"></div><div class="v">\u2014</div>';
    div.querySelector(".k").textContent = label;
    container.append(div);
    cells[key] = div;
  }
  return (key, text, alert = false) => {
    const cell = cells[key];
    if (!cell) return;
    cell.querySelector(".v").textContent = text;
    cell.classList.toggle("alert", alert);
  };
}

const setTiming = tiles($("timing"), [
  ["publish_p99", "publish err p99", "500 Hz publish loop: period error p99 (ms)"],
  ["publish_max", "publish err max", "publish loop: period error max (ms)"],
  ["policy_period_p99", "policy err p99", "policy loop: period error p99 (ms)"],
  ["policy_step_p50", "policy step p50", "policy inference time p50 (ms)"],
  ["policy_step_p99", "policy step p99", "policy inference time p99 (ms)"],
  ["state_age_p99", "state age p99", "age of /lowstate when a LowCmd is sent, p99 (ms)"],
  ["lowstate_age", "lowstate age", "age of the latest /lowstate (ms)"],
  ["skipped", "skipped ticks", "publish + policy loop ticks skipped"],
  ["realtime", "realtime", "publish loop at real-time priority"],
]);

const setCounter = tiles($("counters"), [
  ["clips", "clips", "joint targets clipped to the joint limits (events)"],
  ["clipped_targets", "clipped targets", "joint targets clipped (count)"],
  ["nan_events", "nan events", "non-finite /lowstate or policy output"],
  ["stale_events", "stale events", "/lowstate too old"],
  ["policy_timeouts", "policy timeouts", "no policy output for too long"],
  ["publisher_conflicts", "pub conflicts", "another /lowcmd publisher appeared"],
  ["other_publishers", "other /lowcmd", "other /lowcmd publishers right now"],
  ["refusals", "refusals", "refused transition requests"],
  ["policy_steps", "policy steps", "policy steps run"],
  ["sent", "lowcmds sent", "LowCmds published"],
]);

const setSim = tiles($("sim-stats"), [
  ["crc_rejected", "CRC rejected", "LowCmds dropped for a wrong CRC"],
  ["invalid_rejected", "invalid rejected", "LowCmds dropped as invalid"],
  ["mode_machine_mismatches", "mode mismatch", "LowCmds with a different mode_machine"],
  ["fixed_base", "fixed base", "pelvis welded to the world"],
  ["sim_time", "sim time", "simulated seconds"],
  ["rtf", "real-time factor", "simulated / wall time"],
  ["lowcmd_p99", "lowcmd int p99", "interval between received LowCmds, p99 (ms)"],
  ["releases", "releases", "times released from frozen"],
  ["pelvis_z", "pelvis height", "ground truth: pelvis z (m)"],
  ["tilt", "tilt", "ground truth: pelvis roll / pitch (deg)"],
]);

// ------------------------------------------------------------------------------------------ velocity

const sliders = Object.fromEntries(AXES.map((a) => [a, $(`vel-${a}`)]));
const sliderVals = Object.fromEntries(AXES.map((a) => [a, $(`vel-${a}-val`)]));
let maxCmd = null;
let lastUserInputAt = -Infinity;
let velPending = null;
let velInFlight = false;
let velLastSentAt = -Infinity;
let velTimer = null;

function setMaxCmd(max) {
  if (!Array.isArray(max) || max.length !== 3) return;
  const m = max.map((x) => Math.abs(Number(x)));
  if (maxCmd && m.every((x, i) => x === maxCmd[i])) return;
  maxCmd = m;
  AXES.forEach((a, i) => {
    const lim = Number.isFinite(m[i]) ? m[i] : FALLBACK_MAX_CMD[i];
    sliders[a].min = String(-lim);
    sliders[a].max = String(lim);
    sliders[a].step = String(Math.max(lim / 100, 0.001));
  });
  $("vel-max").textContent = `clipped to \u00b1(${m.map((x) => x.toFixed(2)).join(", ")})`;
}

function showSliderValues() {
  for (const a of AXES) sliderVals[a].textContent = Number(sliders[a].value).toFixed(2);
}

function readSliders() {
  // Range steps are max_cmd / 100: round away the float residue (0 reads as 2e-16 on a -1.57..1.57 slider).
  return Object.fromEntries(AXES.map((a) => [a, Math.round(Number(sliders[a].value) * 1e4) / 1e4]));
}

function queueVelocity(body) {
  lastUserInputAt = performance.now();
  velPending = body;
  pumpVelocity();
}

function pumpVelocity() {
  if (velInFlight || !velPending) return;
  const wait = velLastSentAt + CMD_VEL_MIN_INTERVAL_MS - performance.now();
  if (wait > 0) {
    if (!velTimer) {
      velTimer = setTimeout(() => {
        velTimer = null;
        pumpVelocity();
      }, wait);
    }
    return;
  }
  const body = velPending;
  velPending = null;
  velInFlight = true;
  velLastSentAt = performance.now();
  stats.cmdVelSent += 1;
  api("POST", "/g1/cmd_vel", body)
    .then(({ status, data }) => {
      stats.cmdVelLast = { body, status, reply: data };
      if (status === 200) {
        const clipped = data.clipped ? ` (clipped from ${fmtVec(data.requested)})` : "";
        feedback($("vel-feedback"), "ok", `sent ${fmtVec(data.command)}${clipped}`);
      } else {
        feedback($("vel-feedback"), "err", `cmd_vel refused: ${detailText(data, status)}`);
      }
    })
    .catch((err) => {
      stats.cmdVelLast = { body, status: 0, reply: String(err) };
      feedback($("vel-feedback"), "err", `cmd_vel failed: ${err}`);
    })
    .finally(() => {
      velInFlight = false;
      lastUserInputAt = Math.max(lastUserInputAt, performance.now() - SLIDER_IDLE_MS / 2);
      pumpVelocity();
    });
}

for (const a of AXES) {
  sliders[a].addEventListener("input", () => {
    showSliderValues();
    queueVelocity(readSliders());
  });
  sliders[a].addEventListener("change", () => queueVelocity(readSliders()));
}
$("btn-zero").addEventListener("click", () => {
  for (const a of AXES) sliders[a].value = "0";
  showSliderValues();
  queueVelocity({ vx: 0, vy: 0, wz: 0 });
});

/** The sliders follow the node's command while the operator is not moving them. */
function syncSliders(command) {
  if (!Array.isArray(command)) return;
  const idle = performance.now() - lastUserInputAt > SLIDER_IDLE_MS && !velPending && !velInFlight;
  if (!idle || AXES.some((a) => document.activeElement === sliders[a] && sliders[a].matches(":active"))) return;
  AXES.forEach((a, i) => {
    sliders[a].value = String(command[i]);
  });
  showSliderValues();
}

const velPlot = new TimePlot($("vel-plot"), { yMin: -1.6, yMax: 1.6, yTicks: [-1.5, -1, -0.5, 0, 0.5, 1, 1.5], windowS: 20 });
velPlot.setSeries(AXES);
const legendVals = AXES.map((name, i) => {
  const item = document.createElement("span");
  item.className = "item";
  item.innerHTML = `<span class="swatch" style="background:${SERIES_COLORS[i]}"></span><span class="name">${name}</span>`;
  const val = document.createElement("span");
  val.className = "val";
  item.append(val);
  $("vel-legend").append(item);
  return val;
});

// ------------------------------------------------------------------------------------------ transitions

const buttons = ["start", "default", "run", "damp"].map((t) => $(`btn-${t}`));

async function requestTransition(trigger) {
  const el = $("g1-feedback");
  const before = stats.state;
  feedback(el, "pending", `${trigger}\u2026`);
  let entry;
  try {
    const { status, data } = await api("POST", `/g1/${trigger}`);
    if (status === 200) {
      const msg = data.changed
        ? `${trigger}: ${before ?? "?"} \u2192 ${data.state}`
        : `${trigger}: no change, ${data.state}${data.reason ? ` (${data.reason})` : ""}`;
      entry = { action: trigger, ok: true, status, message: msg };
    } else {
      // The sidecar says "'run' refused in DAMPING: <reason>"; show "run refused in DAMPING: <reason>".
      const why = detailText(data, status).replace(/^'\w+' refused (in \w+: )/, "$1");
      const label = status === 409 ? "refused" : status === 503 ? "unavailable" : `failed (${status})`;
      const sep = why.startsWith("in ") ? " " : ": ";
      entry = { action: trigger, ok: false, status, message: `${trigger} ${label}${sep}${why}` };
    }
  } catch (err) {
    entry = { action: trigger, ok: false, status: 0, message: `${trigger} failed: ${err}` };
  }
  stats.actions.push(entry);
  feedback(el, entry.ok ? "ok" : "err", entry.message);
  pollNow();
}

for (const btn of buttons) btn.addEventListener("click", () => requestTransition(btn.dataset.trigger));

$("btn-release").addEventListener("click", async () => {
  const el = $("sim-feedback");
  feedback(el, "pending", "releasing\u2026");
  let entry;
  try {
    const { status, data } = await api("POST", "/g1/sim/release");
    entry =
      status === 200
        ? { action: "release", ok: true, status, message: `released (release #${data.releases ?? "?"})` }
        : { action: "release", ok: false, status, message: `release failed: ${detailText(data, status)}` };
  } catch (err) {
    entry = { action: "release", ok: false, status: 0, message: `release failed: ${err}` };
  }
  stats.actions.push(entry);
  feedback(el, entry.ok ? "ok" : "err", entry.message);
  pollNow();
});

// ------------------------------------------------------------------------------------------ rendering

function setConnection(kind, text) {
  stats.connection = kind;
  $("conn").className = `conn ${kind === "live" ? "live" : kind === "no-node" ? "nonode" : "down"}`;
  $("conn-text").textContent = text;
}

function setControlsEnabled(state) {
  const running = state !== null;
  for (const btn of buttons) {
    const allowed = TRIGGER_STATES[btn.dataset.trigger];
    btn.disabled = !running || (allowed !== undefined && !allowed.includes(state));
  }
  for (const a of AXES) sliders[a].disabled = !running;
  $("btn-zero").disabled = !running;
}

function renderState(status) {
  const badge = $("g1-state");
  badge.textContent = status.state;
  badge.dataset.state = status.state;
  const inState = typeof status.t === "number" && typeof status.state_since === "number" ? status.t - status.state_since : null;
  $("g1-state-time").textContent = fmtDuration(inState);
  const refusal = status.last_refusal;
  $("g1-refusal").textContent = refusal
    ? `last refusal: ${refusal.trigger} in ${refusal.state} (${refusal.source}): ${refusal.reason} \u00b7 ${fmtDuration(status.t - refusal.t)} ago`
    : "";
  const node = status.node ?? {};
  $("node-name").textContent = node.name ? `${node.name} (pid ${node.pid})` : "lowcmd node";
}

function renderSafety(status) {
  const ev = status.last_safety_event;
  const card = $("g1-safety");
  card.classList.toggle("has-event", Boolean(ev));
  card.dataset.kind = ev ? ev.kind : "";
  $("safety-kind").textContent = ev ? ev.kind : "none";
  $("safety-detail").textContent = ev ? ev.detail || "" : "no safety event since the node started";
  $("safety-time").textContent = ev
    ? `at ${ev.wall_time ? clockTime(ev.wall_time) : wallTime(status, ev.t)} \u00b7 ${fmtDuration(status.t - ev.t)} ago${ev.state ? ` \u00b7 in ${ev.state}` : ""}`
    : "";
  const n = (status.safety_events ?? []).length;
  $("safety-count").textContent = n > 1 ? `${n} safety events kept by the node` : "";
}

function renderTransitions(status) {
  const rows = (status.transitions ?? []).slice(-TRANSITIONS_SHOWN).reverse();
  const body = $("transitions");
  body.replaceChildren();
  if (!rows.length) {
    body.innerHTML = '<tr class="empty-row"><td colspan="5" class="muted">none yet</td></tr>';
    return;
  }
  for (const tr of rows) {
    const row = document.createElement("tr");
    row.className = `to-${tr.to_state}`;
    const cells = [
      ["ago", `${fmtDuration(status.t - tr.t)}`],
      ["fromto", `${tr.from_state} \u2192 ${tr.to_state}`],
      ["trig", tr.trigger],
      ["src", tr.source],
      ["why", tr.reason || ""],
    ];
    for (const [cls, text] of cells) {
      const td = document.createElement("td");
      td.className = cls;
      td.textContent = text;
      if (cls === "ago") td.title = wallTime(status, tr.t);
      row.append(td);
    }
    body.append(row);
  }
}

function renderVelocity(status, nowS) {
  setMaxCmd(status.max_cmd);
  const cmd = status.velocity_command;
  stats.velocityCommand = cmd;
  stats.velocitySource = status.velocity_source;
  $("vel-current").textContent = fmtVec(cmd);
  $("vel-source").textContent = status.velocity_source || "none yet";
  syncSliders(cmd);
  if (Array.isArray(cmd)) {
    velPlot.push(nowS, cmd.map(Number));
    stats.plotSamples = velPlot.samples;
    cmd.forEach((v, i) => {
      legendVals[i].textContent = Number(v).toFixed(2);
    });
  }
  velPlot.draw(nowS);
}

function renderTiming(status) {
  const loop = status.loop ?? {};
  const pub = loop.publish ?? {};
  const pol = loop.policy ?? {};
  setTiming("publish_p99", fmt(pub.period_error?.p99_ms, 3));
  setTiming("publish_max", fmt(pub.period_error?.max_ms, 3), (pub.period_error?.max_ms ?? 0) > 1);
  setTiming("policy_period_p99", fmt(pol.period_error?.p99_ms, 3));
  setTiming("policy_step_p50", fmt(loop.policy_step?.p50_ms, 3));
  setTiming("policy_step_p99", fmt(loop.policy_step?.p99_ms, 3));
  setTiming("state_age_p99", fmt(loop.state_age_at_send?.p99_ms, 3));
  setTiming("lowstate_age", status.lowstate_age_s == null ? "\u2014" : fmt(status.lowstate_age_s * 1e3, 1));
  const skipped = (pub.skipped_ticks ?? 0) + (pol.skipped_ticks ?? 0);
  setTiming("skipped", String(skipped), skipped > 0);
  setTiming("realtime", pub.realtime_priority ? "yes" : pub.running === false ? "\u2014" : "no");

  const c = status.counters ?? {};
  const count = (k, alert = true) => setCounter(k, String(c[k] ?? 0), alert && (c[k] ?? 0) > 0);
  count("clips");
  count("clipped_targets");
  count("nan_events");
  count("stale_events");
  count("policy_timeouts");
  count("publisher_conflicts");
  setCounter("other_publishers", String(status.other_lowcmd_publishers ?? 0), (status.other_lowcmd_publishers ?? 0) > 0);
  count("refusals", false);
  count("policy_steps", false);
  setCounter("sent", String(loop.sent ?? 0));
}

function renderSim(sim) {
  stats.sim = sim;
  stats.simAvailable = Boolean(sim);
  $("sim-panel").hidden = !sim;
  if (!sim) return;
  const frozen = sim.frozen === true;
  const pill = $("sim-frozen");
  pill.textContent = frozen ? "yes" : "no";
  pill.className = `g1-pill ${frozen ? "yes" : "no"}`;
  $("btn-release").disabled = !frozen;
  setSim("crc_rejected", String(sim.crc_rejected ?? 0), (sim.crc_rejected ?? 0) > 0);
  setSim("invalid_rejected", String(sim.invalid_rejected ?? 0), (sim.invalid_rejected ?? 0) > 0);
  setSim("mode_machine_mismatches", String(sim.mode_machine_mismatches ?? 0), (sim.mode_machine_mismatches ?? 0) > 0);
  setSim("fixed_base", sim.fixed_base ? "yes" : "no");
  setSim("sim_time", fmt(sim.sim_time_s, 1, " s"));
  setSim("rtf", fmt(sim.real_time_factor, 2));
  setSim("lowcmd_p99", fmt(sim.lowcmd_interval?.p99_ms, 2));
  setSim("releases", String(sim.releases ?? 0));
  const pelvis = sim.pelvis;
  setSim("pelvis_z", pelvis ? fmt(pelvis.position[2], 2, " m") : "—", Boolean(pelvis && !sim.fixed_base && pelvis.position[2] < 0.5));
  const deg = (r) => fmt((r * 180) / Math.PI, 0);
  setSim("tilt", pelvis ? `${deg(pelvis.rpy[0])}° / ${deg(pelvis.rpy[1])}°` : "—");
  $("sim-rejection").textContent = sim.last_rejection ? `last rejection: ${sim.last_rejection}` : "";
}

function renderNode(status) {
  stats.nodeRunning = true;
  stats.noNodeDetail = null;
  stats.state = status.state;
  if (stats.statesSeen[stats.statesSeen.length - 1] !== status.state) {
    stats.statesSeen.push(status.state);
    if (stats.statesSeen.length > 50) stats.statesSeen.shift();
  }
  $("no-node").hidden = true;
  document.body.classList.remove("no-node");
  setConnection("live", `live \u00b7 status ${fmt((status.status_age_s ?? 0) * 1e3, 0)} ms old`);
  renderState(status);
  renderSafety(status);
  renderTransitions(status);
  renderVelocity(status, performance.now() / 1000);
  renderTiming(status);
  renderSim(status.sim ?? null);
  setControlsEnabled(status.state);
}

function renderNoNode(detail) {
  if (stats.nodeRunning) velPlot.gap(performance.now() / 1000);
  stats.nodeRunning = false;
  stats.state = null;
  stats.noNodeDetail = detail;
  $("no-node").hidden = false;
  $("no-node-detail").textContent = detail;
  document.body.classList.add("no-node");
  const badge = $("g1-state");
  badge.textContent = "NO NODE";
  badge.dataset.state = "OFFLINE";
  $("g1-state-time").textContent = "\u2014";
  $("node-name").textContent = "no node";
  setConnection("no-node", "no lowcmd node");
  setControlsEnabled(null);
}

// ------------------------------------------------------------------------------------------ polling

let pollTimer = null;
let polling = false;
let pollQueued = false;

async function poll() {
  if (polling) {
    pollQueued = true;
    return;
  }
  polling = true;
  clearTimeout(pollTimer);
  const started = performance.now();
  try {
    const { status, data } = await api("GET", "/g1");
    stats.polls += 1;
    if (status === 200) {
      renderNode(data);
    } else if (status === 503) {
      renderNoNode(detailText(data, status));
      if (stats.polls % SIM_POLL_EVERY === 1) {
        const sim = await api("GET", "/g1/sim").catch(() => null);
        renderSim(sim && sim.status === 200 ? sim.data : null);
      }
    } else {
      stats.pollErrors += 1;
      setConnection("down", `GET /g1 \u2192 ${status}`);
    }
  } catch (err) {
    stats.pollErrors += 1;
    setConnection("down", "sidecar unreachable");
    console.warn("GET /g1 failed", err);
  } finally {
    polling = false;
    if (pollQueued) {
      pollQueued = false;
      pollTimer = setTimeout(poll, 0);
    } else {
      pollTimer = setTimeout(poll, Math.max(0, POLL_MS - (performance.now() - started)));
    }
  }
}

function pollNow() {
  clearTimeout(pollTimer);
  poll();
}

function tickClock() {
  $("clock").textContent = new Date().toLocaleTimeString([], { hour12: false });
}

showSliderValues();
setControlsEnabled(null);
tickClock();
setInterval(tickClock, 1000);
poll();
