// moodmix web client: boots the page, switches between the sign-in view and the workspace.

import { initActions } from "./js/actions.js";
import { initResultTabs } from "./js/jobs.js";
import { api, onUnauthorized } from "./js/api.js";
import { initAuth, restoreSession, signOut } from "./js/auth.js";
import { initLists } from "./js/lists.js";
import { emit, forgetLastTrack, lastTrackId, state } from "./js/state.js";
import { initTrackPanel, openFile } from "./js/track.js";
import { $, notify, showError } from "./js/ui.js";

async function showWorkspace(user) {
  state.user = user;
  $("#auth-view").hidden = true;
  $("#account").hidden = false;
  $("#account-name").textContent = user.username;
  try {
    // What this server can do comes from the API: the page never lists capabilities itself.
    [state.capabilities, state.genres] = await Promise.all([api("/capabilities"), api("/genres")]);
    // Each genre parameter offers exactly its set: fetch the sets the capabilities declare.
    const sets = [...new Set(state.capabilities.flatMap((c) => Object.values(c.genre_params || {})))];
    const lists = await Promise.all(sets.map((set) => api("/genres", { query: { set } })));
    state.genreSets = Object.fromEntries(sets.map((set, i) => [set, lists[i]]));
  } catch (error) {
    showError(error, "Could not load the capabilities");
  }
  $("#app-view").hidden = false;
  initTrackPanel();
  initActions();
  initResultTabs();
  initLists();
  emit("user", user);
  await reopenLastTrack(user);
}

/** Open the track the user had open last in this browser (its id is all that is kept, per user). */
async function reopenLastTrack(user) {
  const fileId = lastTrackId(user);
  if (!fileId || state.currentFile) return;
  try {
    await openFile(await api(`/files/${fileId}`));
    $("#files-panel").scrollIntoView({ block: "nearest" });
  } catch {
    forgetLastTrack(user); // deleted since, or not this user's
  }
}

function showSignIn() {
  $("#app-view").hidden = true;
  $("#account").hidden = true;
  $("#auth-view").hidden = false;
}

async function boot() {
  initAuth((user) => {
    // A fresh workspace per sign-in keeps one account's data out of another's page.
    if (state.user) return window.location.reload();
    showWorkspace(user);
    $("#main").focus();
  });
  $("#sign-out").addEventListener("click", async () => {
    await signOut();
    window.location.reload();
  });
  onUnauthorized((error) => {
    signOut();
    showSignIn();
    notify(`${error.message} — please sign in again.`, "error");
  });
  const user = await restoreSession();
  $("#boot-status").remove();
  if (user) await showWorkspace(user);
  else showSignIn();
}

boot();
