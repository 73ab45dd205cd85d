// An audio player: play/pause, waveform seek bar, time, download, and an optional A/B switch to
// compare with the original. Playback streams from a short-lived media link to what every browser
// plays (the server makes an MP3 preview when the original's format does not play everywhere, and
// the player says "Preview" then); the waveform's peaks come from the server too.

import { downloadTo, fetchPeaks, streamUrl } from "./api.js";
import { fmtTime, h, icon, showError } from "./ui.js";
import { createWaveform, peaksFromServer } from "./waveform.js";

/** Only one thing plays at a time: players and mixers pause when another starts. */
export function claimPlayback(owner) {
  document.dispatchEvent(new CustomEvent("moodmix:playing", { detail: owner }));
}

export function onOtherPlayback(owner, pause) {
  document.addEventListener("moodmix:playing", (event) => {
    if (event.detail !== owner) pause();
  });
}

/** A play/pause button whose icon and name follow the state. */
export function playButton(title) {
  const button = h("button", { type: "button", class: "play-button", "aria-label": `Play ${title}`, disabled: true },
    icon("play"));
  button.show = (playing) => {
    button.replaceChildren(icon(playing ? "pause" : "play"));
    button.setAttribute("aria-label", `${playing ? "Pause" : "Play"} ${title}`);
  };
  return button;
}

/**
 * Options: url (the protected file or output), title (accessible names), filename (fallback download
 * name), duration (seconds, optional), compare ({url, label}: an A/B switch to that audio, optional).
 */
export function createPlayer({ url, title, filename, duration = 0, compare = null }) {
  const audio = h("audio", { preload: "auto" });
  const play = playButton(title);
  const time = h("span", { class: "time", "aria-hidden": "true" }, `0:00 / ${fmtTime(duration)}`);
  const wave = createWaveform({ label: `Position in ${title}`, onSeek: (s) => { audio.currentTime = s; } });
  wave.setDuration(duration);
  const badge = h("span", { class: "badge badge-preview", hidden: true,
    title: "This format does not play in every browser: you hear an MP3 preview; downloads are the original." },
  "Preview");
  const download = h("button", {
    type: "button", class: "button button-small", "aria-label": `Download ${title}`,
    onclick: () => downloadTo(sources[0].url, filename).catch((e) => showError(e, "Download failed")),
  }, icon("download"), h("span", { class: "button-text" }, "Download"));
  const sources = [{ url, label: title }];
  let ab = null;
  if (compare) {
    sources.push(compare);
    ab = h("button", { type: "button", class: "button button-small ab-button", "aria-pressed": "false",
      "aria-label": `Compare with ${compare.label}`, title: `A/B: switch to ${compare.label} at the same moment` },
    icon("compare"), h("span", { class: "button-text" }, "A/B"));
  }
  const el = h("div", { class: "player" }, play, wave, time,
    h("div", { class: "player-tools" }, badge, ab, download), audio);
  el.audio = audio;
  let active = 0;

  const update = () => {
    const total = Number.isFinite(audio.duration) ? audio.duration : duration;
    time.textContent = `${fmtTime(audio.currentTime)} / ${fmtTime(total)}`;
    wave.setPosition(audio.currentTime);
  };
  let frame = 0;
  const tick = () => {
    update();
    frame = audio.paused ? 0 : requestAnimationFrame(tick);
  };
  audio.addEventListener("play", () => {
    claimPlayback(el);
    play.show(true);
    el.dataset.state = "playing";
    if (!frame) frame = requestAnimationFrame(tick);
  });
  audio.addEventListener("pause", () => {
    play.show(false);
    el.dataset.state = "paused";
    update();
  });
  audio.addEventListener("loadedmetadata", () => {
    wave.setDuration(audio.duration);
    update();
  });
  audio.addEventListener("seeked", update);
  audio.addEventListener("ended", update);
  play.addEventListener("click", () => {
    if (audio.paused) audio.play().catch((e) => showError(e, "Playback failed"));
    else audio.pause();
  });
  onOtherPlayback(el, () => audio.pause());

  // Media links expire after a while: ask for a fresh one once when the element gives up.
  let retried = false;
  audio.addEventListener("error", () => {
    if (retried) return showError(new Error("the audio could not be played"), title);
    retried = true;
    sources[active].link = null;
    load(active, { at: audio.currentTime, resume: false });
  });

  async function link(source) {
    source.link = source.link || streamUrl(source.url, { rendition: "playable" });
    return source.link;
  }

  function peaks(source) {
    source.peaks = source.peaks || fetchPeaks(source.url).then(peaksFromServer);
    return source.peaks;
  }

  /** Switch to source `index`, keeping the position and whether it plays. */
  async function load(index, { at = 0, resume = false } = {}) {
    active = index;
    const source = sources[index];
    const media = await link(source);
    badge.hidden = !media.preview;
    el.dataset.rendition = media.preview ? "preview" : "original";
    audio.src = media.url;
    if (at) audio.addEventListener("loadedmetadata", () => { audio.currentTime = at; }, { once: true });
    if (resume) audio.play().catch(() => {});
    peaks(source).then((p) => { if (active === index) wave.setPeaks(p); })
      .catch(() => { if (active === index) wave.setPeaks(null); }); // the flat line still seeks
  }

  if (ab) {
    ab.addEventListener("click", () => {
      const next = active === 0 ? 1 : 0;
      ab.setAttribute("aria-pressed", String(next === 1));
      el.dataset.source = next === 1 ? "compare" : "main";
      load(next, { at: audio.currentTime, resume: !audio.paused }).catch((e) => showError(e, "A/B"));
    });
  }

  load(0)
    .then(() => {
      play.disabled = false;
      el.dataset.ready = "true";
    })
    .catch((error) => {
      el.classList.add("is-error");
      showError(error, `Could not load ${title}`);
    });
  return el;
}
