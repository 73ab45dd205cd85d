// Waveform drawn on a canvas from decoded Web Audio data; doubles as a keyboard-operable seek slider.

import { fmtTime, h } from "./ui.js";

let decoder = null;

/** Decode compressed audio to an AudioBuffer (an OfflineAudioContext needs no user gesture). */
export function decodeAudio(arrayBuffer) {
  decoder = decoder || new OfflineAudioContext(1, 1, 44100);
  return decoder.decodeAudioData(arrayBuffer);
}

/** Min/max pairs of `buckets` equal slices, over all channels. */
export function computePeaks(buffer, buckets = 800) {
  const channels = Array.from({ length: buffer.numberOfChannels }, (_, i) => buffer.getChannelData(i));
  const size = Math.max(1, Math.floor(buffer.length / buckets));
  const peaks = new Float32Array(buckets * 2);
  for (let b = 0; b < buckets; b++) {
    let min = 0;
    let max = 0;
    const start = b * size;
    const end = Math.min(buffer.length, start + size);
    for (const data of channels) {
      // Striding keeps long tracks cheap; 2k samples per slice is plenty for the picture.
      const step = Math.max(1, Math.floor((end - start) / 2048));
      for (let i = start; i < end; i += step) {
        const v = data[i];
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    peaks[b * 2] = min;
    peaks[b * 2 + 1] = max;
  }
  return peaks;
}

/**
 * A waveform seek bar. Options: label (accessible name), onSeek(seconds).
 * Methods: setPeaks(peaks), setDuration(s), setPosition(s).
 */
export function createWaveform({ label, onSeek }) {
  const canvas = h("canvas", { class: "waveform-canvas", "aria-hidden": "true" });
  const el = h("div", {
    class: "waveform is-loading", role: "slider", tabindex: "0", "aria-label": label,
    "aria-valuemin": "0", "aria-valuemax": "0", "aria-valuenow": "0", "aria-valuetext": "0:00",
  }, canvas);
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

  el.addEventListener("pointerdown", (event) => {
    const rect = el.getBoundingClientRect();
    seekTo(((event.clientX - rect.left) / rect.width) * duration);
  });
  el.addEventListener("keydown", (event) => {
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
    el.setAttribute("aria-valuemax", String(Math.round(duration)));
    draw();
  };
  el.setPosition = (seconds) => {
    position = seconds;
    el.setAttribute("aria-valuenow", String(Math.round(seconds)));
    el.setAttribute("aria-valuetext", `${fmtTime(seconds)} of ${fmtTime(duration)}`);
    draw();
  };
  return el;
}
