// Sign-in. Local mode: a pasted token from `make token USER=…` (the service mints none over HTTP).
// Staging/prod: Clerk's browser SDK, whose session token Clerk keeps fresh; getToken() returns it.
const STORAGE_KEY = "relay.token";

export function config() {
  return JSON.parse(document.querySelector('meta[name="relay-config"]').content || "{}");
}

/** Seconds since the epoch at which a JWT expires (its `exp`), or null if unreadable. */
export function expiry(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).exp ?? null;
  } catch {
    return null;
  }
}

function waitForClerk() {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (window.Clerk) resolve(window.Clerk);
      else if (Date.now() - started > 15000) reject(new Error("Clerk's sign-in script did not load"));
      else setTimeout(poll, 50);
    };
    poll();
  });
}

/** Resolves with a session { getToken(), signOut() } once the user is signed in. */
export async function signIn(settings) {
  if (settings.clerkPublishableKey) {
    const clerk = await waitForClerk();
    await clerk.load();
    if (!clerk.user) {
      document.getElementById("signin").hidden = false;
      clerk.mountSignIn(document.getElementById("clerk-signin"));
      await new Promise((resolve) => clerk.addListener(({ user }) => user && resolve()));
      document.getElementById("signin").hidden = true;
    }
    return { getToken: () => clerk.session.getToken(), signOut: () => clerk.signOut(), refreshable: true };
  }
  if (settings.environment !== "local") {
    throw new Error("sign-in is not configured: the service needs RELAY_CLERK_PUBLISHABLE_KEY");
  }
  let token = localStorage.getItem(STORAGE_KEY);
  if (!token || (expiry(token) ?? 0) * 1000 < Date.now()) token = await tokenForm();
  return {
    getToken: async () => token,
    signOut: async () => localStorage.removeItem(STORAGE_KEY),
    refreshable: false,
  };
}

function tokenForm() {
  const form = document.getElementById("token-form");
  document.getElementById("signin").hidden = false;
  form.hidden = false;
  return new Promise((resolve) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const token = document.getElementById("token-input").value.trim();
      const response = await fetch("/api/me", { headers: { Authorization: `Bearer ${token}` } });
      if (!response.ok) {
        document.getElementById("signin-error").textContent = "That token was not accepted; mint a new one.";
        return;
      }
      localStorage.setItem(STORAGE_KEY, token);
      document.getElementById("signin").hidden = true;
      resolve(token);
    });
  });
}
