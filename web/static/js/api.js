// Talks to the moodmix REST API: envelopes, the session token, uploads, downloads and job events.

const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(message, { code = "error", status = 0 } = {}) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

let unauthorizedHandler = () => {};

/** Called with the error when the server rejects the token (expired, deleted account…). */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

// The access token lives in memory only (15 minutes); the refresh token is an HttpOnly cookie the
// page never sees, so a reload or a new tab resumes the session through POST /auth/refresh.
let accessToken = null;
let refreshTimer = null;
let refreshing = null;

export const session = {
  get token() {
    return accessToken;
  },
  set token(value) {
    accessToken = value || null;
    if (!accessToken) clearTimeout(refreshTimer);
  },
};

/** Use a session grant {token, expires_in}: keep the token, and refresh it a minute before it expires. */
export function useSession(grant) {
  session.token = grant.token;
  clearTimeout(refreshTimer);
  if (grant.expires_in) {
    refreshTimer = setTimeout(() => refreshSession().catch(() => {}), Math.max(5, grant.expires_in - 60) * 1000);
  }
}

/**
 * A fresh access token from the refresh cookie (which the server rotates); resolves to the grant
 * ({token, expires_in, user}) or null when there is no session. Callers share one request, and tabs
 * take turns (Web Locks), so no two refreshes present the same one-time cookie.
 */
export function refreshSession() {
  if (!refreshing) {
    const run = async () => {
      const response = await fetch(`${BASE}/auth/refresh`, {
        method: "POST", credentials: "same-origin", headers: { Accept: "application/json" },
      });
      let body = null;
      try {
        body = await response.json();
      } catch {
        // not JSON: no session
      }
      if (!response.ok || !body || !body.success) {
        session.token = null;
        return null;
      }
      useSession(body.data);
      return body.data;
    };
    const pending = navigator.locks ? navigator.locks.request("moodmix-refresh", run) : run();
    refreshing = pending.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** Sign out: forget the token now, then end the session on the server (cookie and token). */
export async function endSession() {
  const token = session.token;
  session.token = null;
  await fetch(`${BASE}/auth/logout`, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: "{}",
  }).catch(() => {});
}

function authHeaders() {
  const token = session.token;
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, value);
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

// The envelope's error.message is written for people, so it is what we show.
function errorFromEnvelope(body, status, fallback) {
  const err = body && body.error;
  const message = (err && err.message) || (body && body.message) || fallback || `request failed (${status})`;
  return new ApiError(message, { code: (err && err.code) || "http_" + status, status });
}

function raise(error) {
  if (error.status === 401 && session.token) unauthorizedHandler(error);
  throw error;
}

/** JSON request; resolves to the envelope's `data`, rejects with ApiError. */
export async function api(path, { method = "GET", body, query, retried = false } = {}) {
  const headers = { Accept: "application/json", ...authHeaders() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(BASE + withQuery(path, query), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("cannot reach the server; check your connection", { code: "network" });
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    // Non-JSON body (proxy error page…): handled below with the status code.
  }
  if (!response.ok || (payload && payload.success === false)) {
    // An expired or ended access token: refresh once from the cookie, then try again.
    if (response.status === 401 && session.token && !retried && !path.startsWith("/auth/")) {
      if (await refreshSession().catch(() => null)) return api(path, { method, body, query, retried: true });
    }
    raise(errorFromEnvelope(payload, response.status, response.statusText));
  }
  return payload ? payload.data : null;
}

/** Multipart upload with progress (fetch cannot report upload progress, XMLHttpRequest can). */
export function uploadFile(file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${BASE}/files`);
    const token = session.token;
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.responseType = "json";
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      const body = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300 && body && body.success) {
        onProgress(1);
        resolve(body.data);
      } else {
        const error = errorFromEnvelope(body, xhr.status, "upload failed");
        if (error.status === 401 && session.token) unauthorizedHandler(error);
        reject(error);
      }
    };
    xhr.onerror = () => reject(new ApiError("upload failed: the connection was interrupted", { code: "network" }));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

const blobCache = new Map();

/**
 * A protected file (upload or job output) as a Blob. Media elements cannot send the
 * Authorization header, so players and downloads use object URLs made from these.
 */
/** GET a file that needs the Authorization header; a refusal becomes the envelope's error. */
async function fetchProtected(url) {
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      // not JSON
    }
    raise(errorFromEnvelope(body, response.status, "download failed"));
  }
  return response;
}

export function fetchBlob(url) {
  if (!blobCache.has(url)) {
    const pending = fetchProtected(url).then((response) => response.blob());
    pending.catch(() => blobCache.delete(url));
    blobCache.set(url, pending);
  }
  return blobCache.get(url);
}

/**
 * A short-lived link (15 min) for a protected file that a media element can stream and seek with
 * Range requests, so playback starts before the whole file has arrived. With rendition "playable"
 * the server hands out what every browser plays (an MP3 preview when the original does not):
 * resolves to {url, preview, expires_in}.
 */
export async function streamUrl(url, { rendition = "original" } = {}) {
  const target = url.endsWith("/download") ? `${url.slice(0, -"/download".length)}/stream-url` : `${url}/stream-url`;
  return api(target.startsWith(BASE) ? target.slice(BASE.length) : target, { query: { rendition } });
}

/** Waveform peaks computed by the server ({points, duration, min, max}) for a file or job output. */
export function fetchPeaks(url, points = 800) {
  const base = url.endsWith("/download") ? url.slice(0, -"/download".length) : url;
  return api(`${base.startsWith(BASE) ? base.slice(BASE.length) : base}/waveform`, { query: { points } });
}

export function fileUrl(fileId) {
  return `${BASE}/files/${fileId}/download`;
}

/** The file name a Content-Disposition header gives (RFC 5987 filename* first). */
function dispositionName(header) {
  if (!header) return null;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      // malformed: try the plain one
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : null;
}

/** Save a protected file through a temporary object URL, under the name the server gives it. */
export async function downloadTo(url, fallbackName) {
  const response = await fetchProtected(url);
  const blob = await response.blob();
  saveBlob(blob, dispositionName(response.headers.get("Content-Disposition")) || fallbackName || "download");
}

/** Offer a Blob made in the page (an exported mix…) as a download. */
export function saveBlob(blob, filename) {
  const href = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = href;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

export const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/** Parse one Server-Sent Events block ("event: x\ndata: …") into {event, data}. */
function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length ? { event, data: data.join("\n") } : null;
}

/**
 * Follow a job until it ends, calling onUpdate(job) on every change; resolves to the final job.
 * Uses the SSE endpoint through fetch (EventSource cannot send the token) and falls back to
 * polling when the stream breaks.
 */
export async function followJob(jobId, onUpdate, { signal } = {}) {
  try {
    const job = await streamEvents(jobId, onUpdate, signal);
    if (job) return job;
  } catch (error) {
    if (signal && signal.aborted) throw error;
    // A client error (not found, signed out) will not heal by polling; anything else falls back.
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) throw error;
  }
  return pollJob(jobId, onUpdate, signal);
}

async function streamEvents(jobId, onUpdate, signal) {
  const response = await fetch(`${BASE}/jobs/${jobId}/events`, {
    headers: { Accept: "text/event-stream", ...authHeaders() }, signal,
  });
  if (!response.ok || !response.body) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      // not JSON
    }
    raise(errorFromEnvelope(body, response.status, "cannot follow the job"));
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return null; // stream closed before "done": the caller polls
    buffer += value.replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const parsed = parseEvent(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (!parsed) continue;
      const job = JSON.parse(parsed.data);
      onUpdate(job);
      if (parsed.event === "done" || TERMINAL.has(job.status)) {
        reader.cancel().catch(() => {});
        return job;
      }
    }
  }
}

async function pollJob(jobId, onUpdate, signal) {
  for (;;) {
    if (signal && signal.aborted) throw new DOMException("aborted", "AbortError");
    const job = await api(`/jobs/${jobId}`);
    onUpdate(job);
    if (TERMINAL.has(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
