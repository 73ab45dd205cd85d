// Shared page state plus change events, so views stay independent of each other.

export const state = {
  user: null,
  capabilities: [],
  genres: [],
  currentFile: null, // the file shown in the track panel
  analysis: null, // analyze result data of currentFile, when known
  jobOutputs: [], // audio outputs of jobs finished in this session: usable as inputs
  fileNames: new Map(), // file id → filename, for labelling jobs
};

const bus = new EventTarget();

/** Events: "user", "file", "analysis", "files-changed", "jobs-changed", "outputs". */
export function on(name, handler) {
  bus.addEventListener(name, (event) => handler(event.detail));
}

export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

export function rememberFile(file) {
  state.fileNames.set(file.id, file.filename);
}

export function setCurrentFile(file, analysis = null) {
  if (file) rememberFile(file);
  state.currentFile = file;
  state.analysis = analysis;
  emit("file", file);
  emit("analysis", analysis);
}

export function setAnalysis(fileId, data) {
  if (state.currentFile && state.currentFile.id === fileId) {
    state.analysis = data;
    emit("analysis", data);
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
