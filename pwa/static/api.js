// The signed-in session and the one way to call the server: JSON in, JSON out, bearer token added.
import * as db from "./db.js";

/** An error of a call: `.status` (0 when the server could not be reached), `.code` (the API's machine code,
 * "network" when unreachable), `.body` (the JSON error body, when there was one). */
export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

let session = null; // {token, user: {username, role}, device, expires_at}

/** The stored session (survives reloads and closing the app; the outbox never depends on it). */
export async function loadSession() {
  session = (await db.getMeta("auth")) || null;
  return session;
}

export function currentSession() { return session; }

export async function saveSession(value) {
  session = value;
  await db.setMeta("auth", value);
}

/** Forget the token (the queue and the pulled data stay on the device). */
export async function clearSession() {
  session = null;
  await db.deleteMeta("auth");
}

/** Call the API. Throws ApiError on a non-2xx answer or when the server cannot be reached. A 401 also fires
 * the window event "lotwise:unauthorized" (the app goes back to the login screen, keeping the queue). */
export async function request(method, path, body, { timeout = 30_000, token } = {}) {
  const headers = { Accept: "application/json" };
  const auth = token ?? session?.token;
  if (auth) headers.Authorization = `Bearer ${auth}`;
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  init.signal = controller.signal;
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "network", navigator.onLine ? "The server cannot be reached" : "Offline");
  } finally {
    clearTimeout(timer);
  }
  let json = null;
  const text = await response.text().catch(() => "");
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!response.ok) {
    const code = json?.error || `http_${response.status}`;
    const message = json?.message || `${response.status} ${response.statusText}`;
    if (response.status === 401 && auth) window.dispatchEvent(new CustomEvent("lotwise:unauthorized"));
    throw new ApiError(response.status, code, message, json);
  }
  return json;
}

/** Sign in: POST /api/auth/token; stores the session. */
export async function signIn(username, password, device) {
  const answer = await request("POST", "/api/auth/token", { username, password, device }, { token: "" });
  await saveSession({ token: answer.token, user: answer.user, device: answer.device || device,
    expires_at: answer.expires_at });
  return session;
}

/** Sign out: revoke the token when the server answers, forget it in any case. */
export async function signOut() {
  if (session?.token) {
    try { await request("DELETE", "/api/auth/token", undefined, { timeout: 5000 }); } catch { /* offline */ }
  }
  await clearSession();
}
