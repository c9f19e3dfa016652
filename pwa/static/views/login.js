// Sign in: user name, password and this device's name (remembered); then the first pull.
import * as api from "../api.js";
import * as sync from "../sync.js";
import * as outbox from "../outbox.js";

const DEVICE_KEY = "lotwise.device";
const USER_KEY = "lotwise.username";

function suggestedDevice() {
  const saved = localStorage.getItem(DEVICE_KEY);
  if (saved) return saved;
  const made = `HH-${Math.random().toString(36).slice(2, 6).toUpperCase()}`;
  return made;
}

export async function show(root, ctx) {
  const message = sessionStorage.getItem("lotwise.loginMessage") || "";
  sessionStorage.removeItem("lotwise.loginMessage");
  const waiting = await outbox.pendingCount();
  root.innerHTML = `
    <section class="panel login">
      <h1>Sign in</h1>
      ${message ? `<p class="form-error" role="alert">${ctx.escape(message)}</p>` : ""}
      ${waiting && !message ? `<p class="hint"><b>${waiting} scan(s)</b> on this device wait to be sent; they are
        sent after you sign in.</p>` : ""}
      <form id="login-form" autocomplete="on" novalidate>
        <label for="username">User name</label>
        <input id="username" name="username" autocomplete="username" autocapitalize="off" spellcheck="false"
               required value="${ctx.escape(localStorage.getItem(USER_KEY) || "")}">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <label for="device">Device name</label>
        <input id="device" name="device" autocapitalize="characters" spellcheck="false" required maxlength="64"
               pattern="[A-Za-z0-9._\\-]+" value="${ctx.escape(suggestedDevice())}">
        <p class="hint">The name on this handheld (for example HH-07). It stays set on this device.</p>
        <p class="form-error" id="login-error" role="alert"></p>
        <button class="btn btn-block" type="submit" id="login-submit">Sign in</button>
      </form>
    </section>`;
  const form = root.querySelector("#login-form");
  const error = root.querySelector("#login-error");
  const submit = root.querySelector("#login-submit");
  const focusFirst = () => {
    const user = root.querySelector("#username");
    (user.value ? root.querySelector("#password") : user).focus();
  };
  requestAnimationFrame(focusFirst);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = form.username.value.trim();
    const password = form.password.value;
    const device = form.device.value.trim();
    error.textContent = "";
    if (!username || !password || !device) {
      error.textContent = "Fill in user name, password and device name.";
      return;
    }
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(device)) {
      error.textContent = "Device name: letters, digits, dot, dash or underscore only.";
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      await api.signIn(username, password, device);
      localStorage.setItem(DEVICE_KEY, device);
      localStorage.setItem(USER_KEY, username);
      submit.textContent = "Loading data…";
      window.dispatchEvent(new CustomEvent("lotwise:signed-in"));
      const result = await sync.syncNow("login");
      if (!result?.ok && result?.error) {
        ctx.feedback({ status: "info", message: `Signed in; the data could not be loaded yet (${result.error.message}).` });
      }
      const role = api.currentSession()?.user?.role;
      ctx.navigate(role === "supervisor" || role === "admin" ? "#/supervisor" : "#/tasks");
    } catch (e) {
      error.textContent = e.status === 0 ? "The server cannot be reached. Signing in needs a connection once."
        : e.status === 401 || e.status === 422 || e.status === 400 ? (e.message || "Wrong user name or password.")
          : e.message;
      submit.disabled = false;
      submit.textContent = "Sign in";
      form.password.select();
    }
  });
  return {};
}
