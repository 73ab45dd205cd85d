// Sign-in and sign-up forms; a successful one starts a browser session (a short token in memory and a
// refresh cookie), which survives reloads and new tabs until the user signs out.

import { api, endSession, refreshSession, useSession } from "./api.js";
import { $, setFormError } from "./ui.js";

/** Wire both forms; onSignedIn(user) runs after either succeeds. */
export function initAuth(onSignedIn) {
  const signin = $("#signin-form");
  const signup = $("#signup-form");

  bindForm(signin, async (form) => {
    const identifier = form.identifier.value.trim();
    if (!identifier || !form.password.value) throw new Error("enter your username (or email) and password");
    const body = { password: form.password.value, session: true };
    if (identifier.includes("@")) body.email = identifier;
    else body.username = identifier;
    return api("/auth/login", { method: "POST", body });
  }, onSignedIn);

  bindForm(signup, async (form) => {
    const body = { username: form.username.value.trim(), password: form.password.value, session: true };
    const email = form.email.value.trim();
    if (email) body.email = email;
    if (!body.username) throw new Error("choose a username");
    if (body.password.length < 8) throw new Error("the password needs at least 8 characters");
    return api("/auth/register", { method: "POST", body });
  }, onSignedIn);
}

function bindForm(form, submit, onSignedIn) {
  const error = form.querySelector(".form-error");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setFormError(error, "");
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const grant = await submit(form);
      const { user } = grant;
      useSession(grant);
      form.reset();
      onSignedIn(user);
    } catch (err) {
      setFormError(error, err.message);
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
}

/** The signed-in user of this browser's session (from the refresh cookie), or null. */
export async function restoreSession() {
  try {
    const grant = await refreshSession();
    return grant ? grant.user : null;
  } catch {
    return null; // offline: show the sign-in form
  }
}

/** End this browser's session on the server and forget the token. */
export function signOut() {
  return endSession();
}
