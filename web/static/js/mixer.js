// Mixer for a result with several audio outputs: every track decoded into Web Audio and started on
// the same clock, so they stay in sync; per track a gain node driven by mute, solo and volume.

import { fetchBlob } from "./api.js";
import { claimPlayback, onOtherPlayback } from "./player.js";
import { downloadButton } from "./download.js";
import { fmtTime, h, humanize, showError } from "./ui.js";

export function createMixer(outputs, { title }) {
  const ctx = new AudioContext();
  const master = ctx.createGain();
  master.connect(ctx.destination);
  const tracks = outputs.map((output) => ({ output, buffer: null, gain: ctx.createGain(), source: null,
    mute: false, solo: false, volume: 1 }));
  tracks.forEach((s) => s.gain.connect(master));

  let playing = false;
  let startedAt = 0; // ctx time at which position 0 would have played
  let offset = 0; // position while paused
  let duration = 0;

  const playButton = h("button", { type: "button", class: "play-button", disabled: true,
    "aria-label": `Play all ${title} tracks` }, "▶");
  const seek = h("input", { type: "range", class: "mixer-seek", min: "0", max: "0", step: "0.01", value: "0",
    "aria-label": `${title} mix position`, disabled: true });
  const time = h("span", { class: "time", "aria-hidden": "true" }, "0:00 / 0:00");
  const status = h("span", { class: "muted small" }, "Loading the tracks…");
  const el = h("div", { class: "mixer", role: "group", "aria-label": `${title} mixer`,
    dataset: { state: "loading" } },
  h("div", { class: "mixer-transport" }, playButton, seek, time),
  h("div", { class: "mixer-rows" }, tracks.map((s) => trackRow(s))),
  status);
  el.mixer = {
    ctx, get playing() { return playing; }, get position() { return position(); },
    close() { // the card went away: stop the sound and free the audio device
      if (playing) stop();
      ctx.close().catch(() => {});
    },
  };

  function position() {
    return playing ? Math.min(duration, ctx.currentTime - startedAt) : offset;
  }

  function applyGains() {
    const anySolo = tracks.some((s) => s.solo);
    for (const s of tracks) {
      const audible = anySolo ? s.solo : !s.mute;
      s.gain.gain.setTargetAtTime(audible ? s.volume : 0, ctx.currentTime, 0.015);
    }
  }

  function trackRow(s) {
    const name = humanize(s.output.name);
    const toggle = (key, label) => {
      const button = h("button", { type: "button", class: `toggle toggle-${key}`, "aria-pressed": "false",
        "aria-label": `${label} ${name}` }, label.charAt(0));
      button.addEventListener("click", () => {
        s[key] = !s[key];
        button.setAttribute("aria-pressed", String(s[key]));
        applyGains();
      });
      return button;
    };
    const volume = h("input", { type: "range", min: "0", max: "1.5", step: "0.01", value: "1",
      "aria-label": `${name} volume` });
    volume.addEventListener("input", () => {
      s.volume = Number(volume.value);
      applyGains();
    });
    return h("div", { class: "mixer-row", dataset: { output: s.output.name } },
      h("span", { class: "mixer-name" }, name), toggle("mute", "Mute"), toggle("solo", "Solo"), volume,
      downloadButton(s.output, `${title} ${s.output.name}`));
  }

  function start(at) {
    const when = ctx.currentTime + 0.05; // a little headroom so every source starts on the same frame
    for (const s of tracks) {
      if (!s.buffer) continue;
      s.source = ctx.createBufferSource();
      s.source.buffer = s.buffer;
      s.source.connect(s.gain);
      s.source.start(when, Math.min(at, s.buffer.duration));
    }
    startedAt = when - at;
    playing = true;
    el.dataset.state = "playing";
    playButton.textContent = "❚❚";
    playButton.setAttribute("aria-label", `Pause ${title} tracks`);
    claimPlayback(el);
    requestAnimationFrame(tick);
  }

  function stop() {
    offset = position();
    for (const s of tracks) {
      if (s.source) s.source.stop();
      s.source = null;
    }
    playing = false;
    el.dataset.state = "paused";
    playButton.textContent = "▶";
    playButton.setAttribute("aria-label", `Play all ${title} tracks`);
  }

  function tick() {
    if (!playing) return;
    const now = position();
    if (now >= duration) {
      stop();
      offset = 0;
    }
    seek.value = String(playing ? now : offset);
    time.textContent = `${fmtTime(Number(seek.value))} / ${fmtTime(duration)}`;
    if (playing) requestAnimationFrame(tick);
  }

  playButton.addEventListener("click", async () => {
    if (playing) return stop();
    await ctx.resume();
    start(offset >= duration ? 0 : offset);
  });
  seek.addEventListener("input", () => {
    const target = Number(seek.value);
    time.textContent = `${fmtTime(target)} / ${fmtTime(duration)}`;
    if (playing) {
      stop();
      start(target);
    } else {
      offset = target;
    }
  });
  onOtherPlayback(el, () => { if (playing) stop(); });

  Promise.all(tracks.map(async (s) => {
    const blob = await fetchBlob(s.output.url);
    s.buffer = await ctx.decodeAudioData(await blob.arrayBuffer());
  })).then(() => {
    duration = Math.max(...tracks.map((s) => s.buffer.duration));
    seek.max = String(duration);
    seek.disabled = false;
    playButton.disabled = false;
    time.textContent = `0:00 / ${fmtTime(duration)}`;
    status.textContent = "Solo or mute tracks and set their levels while it plays.";
    el.dataset.state = "ready";
  }).catch((error) => {
    status.textContent = "The tracks could not be loaded.";
    showError(error, "Mixer");
  });
  return el;
}
