// Calls to Quorum's REST API with the session cookie and CSRF token; errors in one shape.

/** The server answered with an error body {"error": {code, message, details}} (or none). */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

/** The request never got an answer: offline, DNS, connection reset, server gone. */
export class NetworkError extends Error {
  constructor(message) {
    super(message);
    this.name = "NetworkError";
  }
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) return meta.content;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = body && body.error;
  if (error && error.message) {
    return new ApiError(response.status, error.code || "error", error.message, error.details);
  }
  const message =
    response.status === 401 || response.status === 403
      ? "You are signed out or not allowed to do this. Sign in again."
      : `The server answered ${response.status} ${response.statusText}.`;
  return new ApiError(response.status, `http_${response.status}`, message, {});
}

/**
 * fetch() for the API. Resolves to {status, data, response}: data is the parsed JSON body, or
 * null for 204. Rejects with ApiError for 4xx/5xx and NetworkError when nothing came back.
 */
export async function api(path, { method = "GET", json, body, accept = "application/json" } = {}) {
  const headers = { Accept: accept };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
  let payload = body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: payload,
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (error) {
    throw new NetworkError(`Could not reach the server (${error.message}).`);
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return { status: 204, data: null, response };
  const type = response.headers.get("Content-Type") || "";
  let data;
  try {
    data = type.includes("json") ? await response.json() : await response.text();
  } catch (error) {
    throw new NetworkError(`The server's answer was cut off (${error.message}).`);
  }
  return { status: response.status, data, response };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
