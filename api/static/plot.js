// A scrolling time plot on a <canvas>: a few named series over the last `windowS` seconds.

export const SERIES_COLORS = ["#4cc9f0", "#f72585", "#ffd166", "#06d6a0", "#b388ff", "#ff8c42", "#9be564", "#ef476f"];

const GRID = "#1f2a36";
const AXIS_TEXT = "#8b98a5";
const ZERO = "#3a4756";
const FONT = '11px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace';

export class TimePlot {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{yMin: number, yMax: number, yTicks: number[], windowS?: number, autoMax?: boolean, fill?: boolean}} opts
   */
  constructor(canvas, opts) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.yMin = opts.yMin;
    this.yMax = opts.yMax;
    this.yTicks = opts.yTicks;
    this.windowS = opts.windowS ?? 10;
    this.autoMax = opts.autoMax ?? false;
    this.fill = opts.fill ?? false;
    this.names = [];
    this.colors = [];
    this.series = []; // per series: array of [t, value]; value NaN = gap
    this.samples = 0;
  }

  setSeries(names) {
    if (names.length === this.names.length && names.every((n, i) => n === this.names[i])) return;
    this.names = [...names];
    this.colors = names.map((_, i) => SERIES_COLORS[i % SERIES_COLORS.length]);
    this.series = names.map(() => []);
  }

  /** Add one sample (time in seconds, one value per series). */
  push(t, values) {
    values.forEach((v, i) => this.series[i]?.push([t, v]));
    this.samples += 1;
    this._trim(t);
  }

  /** Break every line at time t (restart, pause). */
  gap(t) {
    for (const s of this.series) if (s.length && !Number.isNaN(s[s.length - 1][1])) s.push([t, NaN]);
  }

  _trim(now) {
    const oldest = now - this.windowS - 1;
    for (const s of this.series) {
      let drop = 0;
      while (drop < s.length - 1 && s[drop + 1][0] < oldest) drop += 1;
      if (drop) s.splice(0, drop);
    }
  }

  _resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return [w / dpr, h / dpr];
  }

  /** Redraw with the right edge at time `now` (seconds, same clock as the samples). */
  draw(now) {
    const [w, h] = this._resize();
    const ctx = this.ctx;
    const left = 40;
    const right = 8;
    const top = 8;
    const bottom = 18;
    const pw = w - left - right;
    const ph = h - top - bottom;
    let yMax = this.yMax;
    if (this.autoMax) {
      for (const s of this.series) for (const [, v] of s) if (v > yMax) yMax = v;
    }
    const x = (t) => left + pw * (1 - (now - t) / this.windowS);
    const y = (v) => top + ph * (1 - (v - this.yMin) / (yMax - this.yMin));

    ctx.clearRect(0, 0, w, h);
    ctx.font = FONT;
    ctx.lineWidth = 1;
    // Horizontal grid and value labels.
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const ticks = this.autoMax && yMax > this.yMax ? niceTicks(this.yMin, yMax) : this.yTicks;
    for (const v of ticks) {
      const yy = Math.round(y(v)) + 0.5;
      ctx.strokeStyle = v === 0 ? ZERO : GRID;
      ctx.beginPath();
      ctx.moveTo(left, yy);
      ctx.lineTo(left + pw, yy);
      ctx.stroke();
      ctx.fillStyle = AXIS_TEXT;
      ctx.fillText(String(v), left - 6, yy);
    }
    // Vertical grid every 2 s, labelled as seconds ago.
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let ago = 0; ago <= this.windowS; ago += 2) {
      const xx = Math.round(left + pw * (1 - ago / this.windowS)) + 0.5;
      ctx.strokeStyle = GRID;
      ctx.beginPath();
      ctx.moveTo(xx, top);
      ctx.lineTo(xx, top + ph);
      ctx.stroke();
      ctx.fillStyle = AXIS_TEXT;
      ctx.fillText(ago === 0 ? "now" : `-${ago}s`, Math.min(xx, left + pw - 12), top + ph + 4);
    }
    // Series, clipped to the plot area.
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, pw, ph);
    ctx.clip();
    ctx.lineWidth = 1.7;
    ctx.lineJoin = "round";
    this.series.forEach((s, i) => {
      if (!s.length) return;
      ctx.strokeStyle = this.colors[i];
      ctx.beginPath();
      let pen = false;
      for (const [t, v] of s) {
        if (Number.isNaN(v)) {
          pen = false;
          continue;
        }
        if (pen) ctx.lineTo(x(t), y(v));
        else ctx.moveTo(x(t), y(v));
        pen = true;
      }
      ctx.stroke();
      if (this.fill && s.length > 1) {
        ctx.lineTo(x(s[s.length - 1][0]), y(this.yMin));
        ctx.lineTo(x(s[0][0]), y(this.yMin));
        ctx.closePath();
        ctx.globalAlpha = 0.15;
        ctx.fillStyle = this.colors[i];
        ctx.fill();
        ctx.globalAlpha = 1;
      }
    });
    ctx.restore();
  }
}

function niceTicks(lo, hi) {
  const span = hi - lo;
  const step = [1, 2, 5, 10, 20, 25, 50, 100, 200, 500].find((s) => span / s <= 5) ?? Math.ceil(span / 5);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(v);
  return out;
}
