// Desktop notifications through the service worker (they show while the tab is in the background)
// and a short sound, for priority events (mentions, DMs) as the user's settings allow.
export const PRIORITY = new Set(["mention", "dm"]);

export async function registerWorker() {
  if (!("serviceWorker" in navigator)) return null;
  await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  return navigator.serviceWorker.ready;
}

/** Browsers allow the permission prompt only from a user gesture: the caller wires it to a click. */
export function needsPermission() {
  return "Notification" in window && Notification.permission === "default";
}

export async function askPermission() {
  return Notification.requestPermission();
}

export function inBackground() {
  return document.visibilityState === "hidden";
}

function beep() {
  const context = new AudioContext();
  const oscillator = context.createOscillator();
  const gain = context.createGain();
  gain.gain.value = 0.1;
  oscillator.connect(gain).connect(context.destination);
  oscillator.frequency.value = 880;
  oscillator.start();
  oscillator.stop(context.currentTime + 0.15);
  oscillator.onended = () => context.close();
}

/** One notification event (§4a `notification`); the service already applied levels, mute and DND. */
export async function deliver(notification, preferences) {
  if (!PRIORITY.has(notification.kind)) return false;
  if (preferences.sound) {
    try {
      beep();
    } catch {
      // Autoplay policy: no sound before the first user gesture.
    }
  }
  if (!inBackground() || !("Notification" in window) || Notification.permission !== "granted") return false;
  // Shown by the service worker's registration: it outlives the tab and its click focuses the app.
  const registration = await navigator.serviceWorker.ready;
  await registration.showNotification(notification.kind === "dm" ? "Direct message" : "Mention", {
    body: notification.text,
    tag: notification.id,
    data: { channelId: notification.channel_id },
  });
  return true;
}
