// Shared page state plus change events, so views stay independent of each other.

export const state = {
  user: null,
  capabilities: [],
  genres: [], // every genre, each with its set
  genreSets: {}, // genre set name → its genres (from /genres?set=…), for the sets capabilities declare
  currentFile: null, // the file shown in the track panel
  trackResults: {}, // capability name → result of an on-upload job on currentFile
  jobOutputs: [], // audio outputs of jobs finished in this session: usable as inputs
  fileNames: new Map(), // file id → filename, for labelling jobs
};

const bus = new EventTarget();

/** Events: "user", "file", "track-results", "files-changed", "jobs-changed", "outputs". */
export function on(name, handler) {
  bus.addEventListener(name, (event) => handler(event.detail));
}

export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

export function rememberFile(file) {
  state.fileNames.set(file.id, file.filename);
}

export function setCurrentFile(file) {
  if (file) rememberFile(file);
  if (state.user) {
    try {
      if (file) localStorage.setItem(lastTrackKey(state.user), file.id);
      else localStorage.removeItem(lastTrackKey(state.user));
    } catch {
      // storage disabled: the page simply starts without a track
    }
  }
  state.currentFile = file;
  state.trackResults = {};
  emit("file", file);
  emit("track-results", state.trackResults);
}

// The last track's id per user (ids only: tokens never go to storage), to reopen it after a reload.
function lastTrackKey(user) {
  return `moodmix.lastTrack.${user.id}`;
}

export function lastTrackId(user) {
  try {
    return localStorage.getItem(lastTrackKey(user));
  } catch {
    return null;
  }
}

export function forgetLastTrack(user) {
  try {
    localStorage.removeItem(lastTrackKey(user));
  } catch {
    // storage disabled
  }
}

/** Record the result of a capability that runs on upload, when it is about the current track. */
export function setTrackResult(fileId, name, result) {
  if (state.currentFile && state.currentFile.id === fileId) {
    state.trackResults = { ...state.trackResults, [name]: result };
    emit("track-results", state.trackResults);
  }
}

/** The file id an (audio-input) job ran on, if it ran on an uploaded file. */
export function jobFileId(job) {
  const audio = (job && job.inputs && job.inputs.audio) || {};
  for (const ref of Object.values(audio)) {
    if (ref && ref.file_id) return ref.file_id;
  }
  return null;
}

export function capability(name) {
  return state.capabilities.find((c) => c.name === name) || null;
}

/** Capabilities the server runs on every new upload (declared by each capability's on_upload). */
export function onUploadCapabilities() {
  return state.capabilities.filter((c) => c.on_upload);
}

/** The one-line summary of a job's result: the capability's own, else its data's. */
export function resultSummary(result) {
  if (!result) return null;
  if (typeof result.summary === "string" && result.summary) return result.summary;
  const data = result.data;
  return data && typeof data.summary === "string" ? data.summary : null;
}
