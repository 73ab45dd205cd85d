// Waveform drawn on a canvas from peaks the server computes (so it never depends on what this browser
// can decode); doubles as a keyboard-operable seek slider.

import { fmtTime, h } from "./ui.js";

/** The server's {min, max} arrays as interleaved min/max pairs. */
export function peaksFromServer(data) {
  const peaks = new Float32Array(data.min.length * 2);
  data.min.forEach((low, i) => {
    peaks[i * 2] = low;
    peaks[i * 2 + 1] = data.max[i];
  });
  return peaks;
}

/**
 * A waveform seek bar. Options: label (accessible name), onSeek(seconds), seekable (false: a picture
 * only, hidden from assistive technology, e.g. one per mixer track beside the shared seek bar).
 * Methods: setPeaks(peaks), setDuration(s), setPosition(s).
 */
export function createWaveform({ label, onSeek = () => {}, seekable = true, className = "" }) {
  const canvas = h("canvas", { class: "waveform-canvas", "aria-hidden": "true" });
  const el = seekable ? h("div", {
    class: `waveform is-loading ${className}`, role: "slider", tabindex: "0", "aria-label": label,
    "aria-valuemin": "0", "aria-valuemax": "0", "aria-valuenow": "0", "aria-valuetext": "0:00",
  }, canvas) : h("div", { class: `waveform is-loading ${className}`, "aria-hidden": "true" }, canvas);
  let peaks = null;
  let duration = 0;
  let position = 0;

  const draw = () => {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(el.clientWidth * ratio));
    const height = Math.max(1, Math.round(el.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, width, height);
    const style = getComputedStyle(el);
    const played = style.getPropertyValue("--wave-played").trim() || "#6d5dfc";
    const rest = style.getPropertyValue("--wave-rest").trim() || "#b9b4e8";
    const split = duration ? (position / duration) * width : 0;
    const mid = height / 2;
    if (!peaks) {
      g.fillStyle = rest;
      g.fillRect(0, mid - ratio / 2, width, ratio);
      return;
    }
    const bars = peaks.length / 2;
    // Scale to the loudest peak so quiet tracks still show their shape.
    let loudest = 0.05;
    for (const v of peaks) loudest = Math.max(loudest, Math.abs(v));
    const barWidth = Math.max(ratio, Math.floor((width / bars) * 0.7));
    for (let x = 0; x < width; x += barWidth + ratio) {
      const b = Math.min(bars - 1, Math.floor((x / width) * bars));
      const top = Math.max(0.02, peaks[b * 2 + 1] / loudest) * mid * 0.92;
      const bottom = Math.max(0.02, -peaks[b * 2] / loudest) * mid * 0.92;
      g.fillStyle = x < split ? played : rest;
      g.fillRect(x, mid - top, barWidth, top + bottom);
    }
    g.fillStyle = played;
    g.fillRect(Math.min(width - ratio * 2, split), 0, ratio * 2, height);
  };

  const seekTo = (seconds) => {
    if (!duration) return;
    onSeek(Math.max(0, Math.min(duration, seconds)));
  };

  if (seekable) el.addEventListener("pointerdown", (event) => {
    const rect = el.getBoundingClientRect();
    seekTo(((event.clientX - rect.left) / rect.width) * duration);
  });
  if (seekable) el.addEventListener("keydown", (event) => {
    const big = Math.max(5, duration / 10);
    const moves = {
      ArrowLeft: position - 5, ArrowDown: position - 5, ArrowRight: position + 5, ArrowUp: position + 5,
      PageDown: position - big, PageUp: position + big, Home: 0, End: duration,
    };
    if (event.key in moves) {
      event.preventDefault();
      seekTo(moves[event.key]);
    }
  });
  new ResizeObserver(draw).observe(el);

  el.setPeaks = (value) => {
    peaks = value;
    el.classList.remove("is-loading");
    draw();
  };
  el.setDuration = (seconds) => {
    duration = Number.isFinite(seconds) ? seconds : 0;
    if (seekable) el.setAttribute("aria-valuemax", String(Math.round(duration)));
    draw();
  };
  el.setPosition = (seconds) => {
    position = seconds;
    if (seekable) {
      el.setAttribute("aria-valuenow", String(Math.round(seconds)));
      el.setAttribute("aria-valuetext", `${fmtTime(seconds)} of ${fmtTime(duration)}`);
    }
    draw();
  };
  return el;
}
