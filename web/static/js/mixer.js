// Mixer for a result with several audio outputs: every track decoded into Web Audio and started on
// the same clock, so they stay in sync; per track a gain node driven by mute, solo and volume, and
// its waveform (peaks from the server). "Export mix" renders the current mix in the browser with an
// OfflineAudioContext and saves it as a 16-bit WAV; A/B switches to the original track and back.

import { fetchBlob, fetchPeaks, saveBlob, streamUrl } from "./api.js";
import { claimPlayback, onOtherPlayback, playButton } from "./player.js";
import { downloadButton } from "./download.js";
import { fmtTime, h, humanize, icon, notify, showError } from "./ui.js";
import { encodeWav } from "./wav.js";
import { createWaveform, peaksFromServer } from "./waveform.js";

/**
 * outputs: the audio outputs; title: accessible names; exportName: file name of the exported mix;
 * compare: {url, label} of the original, for A/B (optional).
 */
export function createMixer(outputs, { title, exportName = "mix.wav", compare = null }) {
  const ctx = new AudioContext();
  const master = ctx.createGain();
  master.connect(ctx.destination);
  const tracks = outputs.map((output) => ({ output, buffer: null, gain: ctx.createGain(), source: null,
    mute: false, solo: false, volume: 1, wave: null }));
  tracks.forEach((s) => s.gain.connect(master));
  // The original, for A/B: its own gain, silent until chosen.
  const original = compare ? { buffer: null, gain: ctx.createGain(), source: null } : null;
  if (original) {
    original.gain.gain.value = 0;
    original.gain.connect(ctx.destination);
  }
  let listening = "mix"; // or "original"

  let playing = false;
  let startedAt = 0; // ctx time at which position 0 would have played
  let offset = 0; // position while paused
  let duration = 0;

  const play = playButton(`all ${title} tracks`);
  const seek = h("input", { type: "range", class: "mixer-seek", min: "0", max: "0", step: "0.01", value: "0",
    "aria-label": `${title} mix position`, disabled: true });
  const time = h("span", { class: "time", "aria-hidden": "true" }, "0:00 / 0:00");
  const status = h("span", { class: "muted small" }, "Loading the tracks…");
  const exportButton = h("button", { type: "button", class: "button button-small", disabled: true,
    "aria-label": `Export the current ${title} mix as WAV` }, icon("export"), h("span", {}, "Export mix"));
  const ab = original ? h("button", { type: "button", class: "button button-small ab-button", disabled: true,
    "aria-pressed": "false", "aria-label": `Compare with ${compare.label}`,
    title: `A/B: switch between the mix and ${compare.label}` }, icon("compare"), h("span", {}, "A/B")) : null;
  const el = h("div", { class: "mixer", role: "group", "aria-label": `${title} mixer`,
    dataset: { state: "loading", listening } },
  h("div", { class: "mixer-transport" }, play, seek, time),
  h("div", { class: "mixer-rows" }, tracks.map((s) => trackRow(s))),
  h("div", { class: "mixer-foot" }, status, h("div", { class: "mixer-actions" }, ab, exportButton)));
  el.mixer = {
    ctx, get playing() { return playing; }, get position() { return position(); },
    get listening() { return listening; },
    close() { // the card went away: stop the sound and free the audio device
      if (playing) stop();
      ctx.close().catch(() => {});
    },
  };

  function position() {
    return playing ? Math.min(duration, ctx.currentTime - startedAt) : offset;
  }

  function audibleGain(s) {
    const anySolo = tracks.some((t) => t.solo);
    return (anySolo ? s.solo : !s.mute) ? s.volume : 0;
  }

  function applyGains() {
    for (const s of tracks) s.gain.gain.setTargetAtTime(audibleGain(s), ctx.currentTime, 0.015);
    master.gain.setTargetAtTime(listening === "mix" ? 1 : 0, ctx.currentTime, 0.015);
    if (original) original.gain.gain.setTargetAtTime(listening === "original" ? 1 : 0, ctx.currentTime, 0.015);
  }

  function trackRow(s) {
    const name = humanize(s.output.name);
    const toggle = (key, label) => {
      const button = h("button", { type: "button", class: `toggle toggle-${key}`, "aria-pressed": "false",
        "aria-label": `${label} ${name}`, title: label }, label.charAt(0));
      button.addEventListener("click", () => {
        s[key] = !s[key];
        button.setAttribute("aria-pressed", String(s[key]));
        applyGains();
      });
      return button;
    };
    const volume = h("input", { type: "range", class: "mixer-volume", min: "0", max: "1.5", step: "0.01",
      value: "1", "aria-label": `${name} volume` });
    volume.addEventListener("input", () => {
      s.volume = Number(volume.value);
      applyGains();
    });
    s.wave = createWaveform({ label: name, seekable: false, className: "waveform-small" });
    fetchPeaks(s.output.url, 400).then((p) => {
      s.wave.setDuration(p.duration);
      s.wave.setPeaks(peaksFromServer(p));
    }).catch(() => s.wave.setPeaks(null));
    return h("div", { class: "mixer-row", dataset: { output: s.output.name } },
      h("span", { class: "mixer-name" }, name), s.wave,
      h("div", { class: "mixer-controls" }, toggle("mute", "Mute"), toggle("solo", "Solo"), volume,
        downloadButton(s.output, `${title} ${s.output.name}`, { compact: true })));
  }

  function startSource(holder, when, at) {
    if (!holder.buffer) return;
    holder.source = ctx.createBufferSource();
    holder.source.buffer = holder.buffer;
    holder.source.connect(holder.gain);
    holder.source.start(when, Math.min(at, holder.buffer.duration));
  }

  function start(at) {
    const when = ctx.currentTime + 0.05; // a little headroom so every source starts on the same frame
    for (const s of tracks) startSource(s, when, at);
    if (original) startSource(original, when, at);
    startedAt = when - at;
    playing = true;
    el.dataset.state = "playing";
    play.show(true);
    claimPlayback(el);
    requestAnimationFrame(tick);
  }

  function stop() {
    offset = position();
    for (const s of [...tracks, ...(original ? [original] : [])]) {
      if (s.source) s.source.stop();
      s.source = null;
    }
    playing = false;
    el.dataset.state = "paused";
    play.show(false);
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
    for (const s of tracks) s.wave.setPosition(Number(seek.value));
    if (playing) requestAnimationFrame(tick);
  }

  play.addEventListener("click", async () => {
    if (playing) return stop();
    await ctx.resume();
    start(offset >= duration ? 0 : offset);
  });
  seek.addEventListener("input", () => {
    const target = Number(seek.value);
    time.textContent = `${fmtTime(target)} / ${fmtTime(duration)}`;
    for (const s of tracks) s.wave.setPosition(target);
    if (playing) {
      stop();
      start(target);
    } else {
      offset = target;
    }
  });
  if (ab) {
    ab.addEventListener("click", () => {
      listening = listening === "mix" ? "original" : "mix";
      ab.setAttribute("aria-pressed", String(listening === "original"));
      el.dataset.listening = listening;
      applyGains();
    });
  }
  exportButton.addEventListener("click", async () => {
    exportButton.disabled = true;
    try {
      saveBlob(await renderMix(), exportName);
      notify(`Exported ${exportName}`, "success");
    } catch (error) {
      showError(error, "Export failed");
    } finally {
      exportButton.disabled = false;
    }
  });
  onOtherPlayback(el, () => { if (playing) stop(); });

  /** The mix as it sounds now (mute, solo, volume), rendered offline into a WAV Blob. */
  async function renderMix() {
    const rate = Math.max(...tracks.map((s) => s.buffer.sampleRate));
    const channels = Math.max(...tracks.map((s) => s.buffer.numberOfChannels));
    const offline = new OfflineAudioContext(channels, Math.ceil(duration * rate), rate);
    for (const s of tracks) {
      const gain = offline.createGain();
      gain.gain.value = audibleGain(s);
      gain.connect(offline.destination);
      const source = offline.createBufferSource();
      source.buffer = s.buffer;
      source.connect(gain);
      source.start(0);
    }
    return encodeWav(await offline.startRendering());
  }

  const loadOriginal = async () => {
    const media = await streamUrl(compare.url, { rendition: "playable" });
    const response = await fetch(media.url);
    if (!response.ok) throw new Error("the original could not be loaded");
    original.buffer = await ctx.decodeAudioData(await response.arrayBuffer());
    ab.disabled = false;
  };
  Promise.all(tracks.map(async (s) => {
    const blob = await fetchBlob(s.output.url);
    s.buffer = await ctx.decodeAudioData(await blob.arrayBuffer());
  })).then(() => {
    duration = Math.max(...tracks.map((s) => s.buffer.duration));
    seek.max = String(duration);
    seek.disabled = false;
    play.disabled = false;
    exportButton.disabled = false;
    time.textContent = `0:00 / ${fmtTime(duration)}`;
    status.textContent = "Solo or mute tracks and set their levels while it plays.";
    el.dataset.state = "ready";
    if (original) loadOriginal().catch(() => { ab.hidden = true; }); // no A/B without the original
  }).catch((error) => {
    status.textContent = "The tracks could not be loaded.";
    showError(error, "Mixer");
  });
  return el;
}
