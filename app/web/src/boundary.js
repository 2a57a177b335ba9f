// The global error boundary: uncaught errors, rejected promises and socket failures show a banner
// the user can act on, and are reported to POST /api/client-errors (rate limited by the service).
import { post } from "./api.js";

const banner = () => document.getElementById("banner");
let retry = null;
let reporting = false;

export function showBanner(text, onRetry) {
  document.getElementById("banner-text").textContent = text;
  retry = onRetry;
  document.getElementById("banner-retry").hidden = !onRetry;
  banner().hidden = false;
}

export function clearBanner() {
  banner().hidden = true;
  retry = null;
}

export async function report(error) {
  if (reporting) return; // a failing report must not report itself
  reporting = true;
  try {
    await post("/client-errors", {
      message: String(error?.message || error || "unknown error").slice(0, 2000),
      stack: error?.stack ? String(error.stack).slice(0, 20000) : null,
      url: location.href.slice(0, 2048),
      user_agent: navigator.userAgent.slice(0, 512),
    });
  } catch {
    // Offline or rate limited: the banner already told the user.
  } finally {
    reporting = false;
  }
}

export function installBoundary() {
  document.getElementById("banner-retry").addEventListener("click", () => {
    const action = retry;
    clearBanner();
    if (action) action();
  });
  window.addEventListener("error", (event) => {
    showBanner("Something went wrong. You can keep working; reload if it persists.", () => location.reload());
    report(event.error || event.message);
  });
  window.addEventListener("unhandledrejection", (event) => {
    showBanner(`Something went wrong: ${event.reason?.message || event.reason}`, null);
    report(event.reason);
  });
}
