// Watch one camera room over WebRTC (recvonly) and count the frames the page decodes.

const BACKOFF_S = [1, 2, 4, 8, 15, 30];
const ICE_GATHER_TIMEOUT_MS = 3000;
const DISCONNECTED_GRACE_MS = 4000;

/** Resolve when ICE gathering is complete (aiortc wants every candidate in the offer), or after a timeout. */
function iceGatheringComplete(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/** Drop mDNS (`*.local`) host candidates when real ones exist: the server cannot resolve them. */
export function stripMdnsCandidates(sdp) {
  const lines = sdp.split("\r\n");
  const isCandidate = (l) => l.startsWith("a=candidate:");
  const isMdns = (l) => isCandidate(l) && (l.split(" ")[4] || "").endsWith(".local");
  if (!lines.some((l) => isCandidate(l) && !isMdns(l))) return sdp;
  return lines.filter((l) => !isMdns(l)).join("\r\n");
}

export class CameraFeed {
  /**
   * @param {string} roomId camera room to watch
   * @param {HTMLVideoElement} video
   * @param {HTMLElement} overlay status text over the video
   * @param {HTMLElement} label "N frames · fps" caption
   * @param {object} stats window.runrobotStats
   */
  constructor(roomId, video, overlay, label, stats) {
    this.roomId = roomId;
    this.video = video;
    this.overlay = overlay;
    this.label = label;
    this.stats = stats;
    this.pc = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.graceTimer = null;
    this.frameHandle = null;
    this.frames = 0;
    this.closed = false;
    this.fpsWindow = [];
    stats.framesByRoom[roomId] = stats.framesByRoom[roomId] || 0;
    this.frames = stats.framesByRoom[roomId];
    this.fpsTimer = setInterval(() => this._updateLabel(), 500);
  }

  start() {
    this._connect();
  }

  stop() {
    this.closed = true;
    clearInterval(this.fpsTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.graceTimer);
    this._teardown();
  }

  _setState(state, text) {
    this.stats.videoStateByRoom[this.roomId] = state;
    this.overlay.textContent = text || "";
    this.overlay.classList.toggle("hidden", !text);
  }

  async _connect() {
    if (this.closed) return;
    this._teardown();
    this._setState("connecting", "connecting\u2026");
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (ev) => {
      const stream = ev.streams[0] || new MediaStream([ev.track]);
      this.video.srcObject = stream;
      this.video.play().catch(() => {});
      this._setState("waiting", "waiting for frames\u2026");
      this._watchFrames();
    };
    pc.onconnectionstatechange = () => this._onConnectionState(pc);
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await iceGatheringComplete(pc, ICE_GATHER_TIMEOUT_MS);
      if (this.pc !== pc) return;
      const resp = await fetch("/webrtc/offer", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          sdp: stripMdnsCandidates(pc.localDescription.sdp),
          type: pc.localDescription.type,
          room_id: this.roomId,
          direction: "recvonly",
        }),
      });
      if (!resp.ok) {
        let detail = resp.statusText;
        try {
          detail = (await resp.json()).detail ?? detail;
        } catch {
          /* not JSON */
        }
        if (typeof detail !== "string") detail = JSON.stringify(detail);
        throw new Error(resp.status === 404 && !detail.includes("room") ? "WebRTC relay not available" : detail);
      }
      const answer = await resp.json();
      if (this.pc !== pc) return;
      await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
    } catch (err) {
      if (this.pc === pc) this._retry(`video: ${err.message || err}`);
    }
  }

  _onConnectionState(pc) {
    if (this.pc !== pc || this.closed) return;
    const state = pc.connectionState;
    clearTimeout(this.graceTimer);
    if (state === "failed" || state === "closed") {
      this._retry(`connection ${state}`);
    } else if (state === "disconnected") {
      this.graceTimer = setTimeout(() => {
        if (this.pc === pc && pc.connectionState === "disconnected") this._retry("connection lost");
      }, DISCONNECTED_GRACE_MS);
    }
  }

  _retry(reason) {
    this._teardown();
    if (this.closed) return;
    const delay = BACKOFF_S[Math.min(this.attempt, BACKOFF_S.length - 1)];
    this.attempt += 1;
    this.stats.videoErrorsByRoom[this.roomId] = reason;
    this._setState("retrying", `${reason}; retrying in ${delay} s`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this._connect(), delay * 1000);
  }

  _teardown() {
    if (this.frameHandle !== null && this.video.cancelVideoFrameCallback) {
      this.video.cancelVideoFrameCallback(this.frameHandle);
    }
    this.frameHandle = null;
    if (this.pc) {
      const pc = this.pc;
      this.pc = null;
      pc.ontrack = null;
      pc.onconnectionstatechange = null;
      pc.close();
    }
    this.video.srcObject = null;
  }

  _onFrame() {
    this.frames += 1;
    this.stats.framesByRoom[this.roomId] = this.frames;
    this.fpsWindow.push(performance.now());
    if (this.stats.videoStateByRoom[this.roomId] !== "playing") {
      this.attempt = 0; // frames flow: the next failure starts the backoff afresh
      this._setState("playing", "");
    }
  }

  _watchFrames() {
    const video = this.video;
    if (video.requestVideoFrameCallback) {
      const onFrame = () => {
        this._onFrame();
        this.frameHandle = video.requestVideoFrameCallback(onFrame);
      };
      this.frameHandle = video.requestVideoFrameCallback(onFrame);
      return;
    }
    // Fallback: poll the decoder's frame counter.
    let seen = 0;
    const poll = () => {
      if (video.srcObject === null) return;
      const total = video.getVideoPlaybackQuality().totalVideoFrames;
      for (; seen < total; seen += 1) this._onFrame();
      setTimeout(poll, 100);
    };
    poll();
  }

  _updateLabel() {
    const now = performance.now();
    while (this.fpsWindow.length && this.fpsWindow[0] < now - 1000) this.fpsWindow.shift();
    const fps = this.fpsWindow.length;
    this.stats.fpsByRoom[this.roomId] = fps;
    this.label.textContent = `${this.frames} frames \u00b7 ${fps.toFixed(1)} fps`;
    this.label.classList.toggle("stalled", fps === 0);
  }
}
