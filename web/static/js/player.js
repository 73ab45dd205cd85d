// An audio player: play/pause, waveform seek bar, time, and a download button.
// Playback streams from a short-lived media URL (media elements cannot send headers), so it
// starts at once and seeks with Range requests; the waveform is drawn from the whole file,
// fetched with the token alongside.

import { downloadTo, fetchBlob, streamUrl } from "./api.js";
import { fmtTime, h, showError } from "./ui.js";
import { computePeaks, createWaveform, decodeAudio } from "./waveform.js";

const PLAY_ICON = "▶";
const PAUSE_ICON = "❚❚";

/** Only one thing plays at a time: players and mixers pause when another starts. */
export function claimPlayback(owner) {
  document.dispatchEvent(new CustomEvent("moodmix:playing", { detail: owner }));
}

export function onOtherPlayback(owner, pause) {
  document.addEventListener("moodmix:playing", (event) => {
    if (event.detail !== owner) pause();
  });
}

/** Options: url, title (accessible names), filename (for downloads), duration (seconds, optional). */
export function createPlayer({ url, title, filename, duration = 0 }) {
  const audio = h("audio", { preload: "auto" });
  const playButton = h("button", {
    type: "button", class: "play-button", "aria-label": `Play ${title}`, disabled: true,
  }, PLAY_ICON);
  const time = h("span", { class: "time", "aria-hidden": "true" }, `0:00 / ${fmtTime(duration)}`);
  const wave = createWaveform({ label: `Position in ${title}`, onSeek: (s) => { audio.currentTime = s; } });
  wave.setDuration(duration);
  const download = h("button", {
    type: "button", class: "button button-small", "aria-label": `Download ${title}`,
    onclick: () => downloadTo(url, filename).catch((e) => showError(e, "Download failed")),
  }, "⤓ Download");
  const el = h("div", { class: "player" }, playButton, wave, time, download, audio);
  el.audio = audio;

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
    playButton.textContent = PAUSE_ICON;
    playButton.setAttribute("aria-label", `Pause ${title}`);
    el.dataset.state = "playing";
    if (!frame) frame = requestAnimationFrame(tick);
  });
  audio.addEventListener("pause", () => {
    playButton.textContent = PLAY_ICON;
    playButton.setAttribute("aria-label", `Play ${title}`);
    el.dataset.state = "paused";
    update();
  });
  audio.addEventListener("loadedmetadata", () => {
    wave.setDuration(audio.duration);
    update();
  });
  audio.addEventListener("seeked", update);
  audio.addEventListener("ended", update);
  playButton.addEventListener("click", () => {
    if (audio.paused) audio.play().catch((e) => showError(e, "Playback failed"));
    else audio.pause();
  });
  onOtherPlayback(el, () => audio.pause());

  const ready = () => {
    playButton.disabled = false;
    el.dataset.ready = "true";
  };
  streamUrl(url)
    .then((src) => {
      if (!audio.src) audio.src = src;
      ready();
    })
    .catch(() => {}); // the Blob below still plays
  fetchBlob(url)
    .then(async (blob) => {
      if (!audio.src) audio.src = URL.createObjectURL(blob);
      ready();
      try {
        const buffer = await decodeAudio(await blob.arrayBuffer());
        wave.setDuration(buffer.duration);
        wave.setPeaks(computePeaks(buffer));
      } catch {
        wave.setPeaks(null); // undecodable in this browser: the flat line still seeks
      }
    })
    .catch((error) => {
      el.classList.add("is-error");
      showError(error, `Could not load ${title}`);
    });
  return el;
}
