// Relay's web client: wires sign-in, channels, messages, composer, search, status and settings.
import { get, post, put, uploadFile, useTokens } from "./api.js";
import { config, signIn } from "./auth.js";
import { clearBanner, installBoundary, report, showBanner } from "./boundary.js";
import { askPermission, deliver, needsPermission, registerWorker } from "./notify.js";
import { connect } from "./realtime.js";
import { channelItem, el, messageItem, searchItem } from "./views.js";

const PAGE = 50;
const $ = (id) => document.getElementById(id);
const state = {
  me: null, channels: [], current: null, oldest: null, loadingOlder: false, exhausted: false,
  preferences: { sound: true }, attachments: [], uploading: null, realtime: null, offline: false,
};

function renderChannels() {
  $("channel-list").replaceChildren(
    ...state.channels.map((channel) => channelItem(channel, channel.id === state.current, openChannel)));
}

function showMessage(message) {
  state.realtime?.seen(message);
  if (message.channel_id !== state.current) {
    const channel = state.channels.find((c) => c.id === message.channel_id);
    if (channel && message.author_id !== state.me.id) {
      channel.unread += 1;
      renderChannels();
    }
    return;
  }
  const list = $("message-list");
  const item = messageItem(message);
  const existing = document.getElementById(item.id);
  if (existing) return existing.replaceWith(item);
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const later = [...list.children].find((node) => Number(node.dataset.seq) > message.seq);
  list.insertBefore(item, later ?? null);
  if (atBottom || message.author_id === state.me.id) box.scrollTop = box.scrollHeight;
}

async function openChannel(channelId, focusMessageId) {
  const channel = state.channels.find((c) => c.id === channelId);
  state.current = channelId;
  state.oldest = null;
  state.exhausted = false;
  channel.unread = 0;
  renderChannels();
  $("channel-title").textContent = `${channel.kind === "dm" ? "@" : "#"} ${channel.name}`;
  $("add-member-form").hidden = !channel.private || channel.kind === "dm";
  $("composer").hidden = false;
  $("message-list").replaceChildren();
  $("messages-loader").hidden = false;
  try {
    const page = await get(`/channels/${channelId}/messages?limit=${PAGE}`);
    if (state.current !== channelId) return;
    page.messages.forEach(showMessage);
    state.oldest = page.messages[0]?.seq ?? null;
    state.exhausted = page.messages.length < PAGE;
  } finally {
    $("messages-loader").hidden = true;
  }
  const target = focusMessageId && document.getElementById(`m-${focusMessageId}`);
  if (target) target.scrollIntoView();
  else $("messages").scrollTop = $("messages").scrollHeight;
}

/** Infinite scroll: near the top, the page before the oldest shown (before=<seq>). */
async function loadOlder() {
  if (state.loadingOlder || state.exhausted || state.oldest === null) return;
  state.loadingOlder = true;
  $("older-loader").hidden = false;
  const channelId = state.current;
  const box = $("messages");
  const fromBottom = box.scrollHeight - box.scrollTop;
  try {
    const page = await get(`/channels/${channelId}/messages?before=${state.oldest}&limit=${PAGE}`);
    if (state.current !== channelId) return;
    page.messages.forEach(showMessage);
    state.oldest = page.messages[0]?.seq ?? state.oldest;
    state.exhausted = page.messages.length < PAGE;
    box.scrollTop = box.scrollHeight - fromBottom;
  } finally {
    state.loadingOlder = false;
    $("older-loader").hidden = true;
  }
}

async function send(event) {
  event.preventDefault();
  const input = $("composer-input");
  await state.uploading; // a file still on its way is attached once it is ready
  const body = input.value.trim();
  if (!body && !state.attachments.length) return;
  const payload = { channel_id: state.current, body, client_msg_id: crypto.randomUUID() };
  if (state.attachments.length) {
    const message = await post(`/channels/${state.current}/messages`, {
      body: payload.body, client_msg_id: payload.client_msg_id, attachment_ids: state.attachments,
    });
    showMessage(message);
  } else {
    const ack = await state.realtime.send(payload);
    if (!ack.ok) throw new Error(ack.error?.message || "the message was not accepted");
    showMessage(ack.message);
  }
  input.value = "";
  state.attachments = [];
  $("upload-status").hidden = true;
}

async function attach() {
  const file = $("file-input").files[0];
  if (!file) return;
  const status = $("upload-status");
  status.hidden = false;
  status.dataset.state = "uploading";
  $("upload-name").textContent = file.name;
  $("upload-progress").value = 0;
  state.uploading = uploadFile(file, (fraction) => ($("upload-progress").value = Math.round(fraction * 100)));
  try {
    const done = await state.uploading;
    state.attachments.push(done.id);
    status.dataset.state = "ready";
  } catch (error) {
    status.dataset.state = "failed";
    throw error;
  } finally {
    state.uploading = null;
    $("file-input").value = "";
  }
}

async function suggestMentions() {
  const input = $("composer-input");
  const word = input.value.slice(0, input.selectionStart).match(/(?:^|\s)@([\w.-]+)$/);
  const list = $("mention-suggestions");
  if (!word) return (list.hidden = true);
  const { users } = await get(`/users?q=${encodeURIComponent(word[1])}`);
  list.replaceChildren(...users.slice(0, 8).map((user) => {
    const item = el("li", { role: "option", dataset: { userId: user.id } }, `${user.name} (${user.id})`);
    item.addEventListener("mousedown", (e) => {
      e.preventDefault();
      const start = input.selectionStart - word[1].length;
      input.setRangeText(`${user.id} `, start, input.selectionStart, "end");
      list.hidden = true;
      input.focus();
    });
    return item;
  }));
  list.hidden = users.length === 0;
}

async function search(event) {
  event.preventDefault();
  const q = $("search-input").value.trim();
  if (!q) return;
  $("search-panel").hidden = false;
  $("search-loader").hidden = false;
  $("search-results").replaceChildren();
  try {
    const { results } = await get(`/search?q=${encodeURIComponent(q)}&limit=20`);
    $("search-results").replaceChildren(...(results.length
      ? results.map((result) => searchItem(result, (message) => openChannel(message.channel_id, message.id)))
      : [el("li", {}, "No messages found")]));
  } finally {
    $("search-loader").hidden = true;
  }
}

async function openSettings() {
  const preferences = await get("/notification-preferences");
  state.preferences = preferences;
  const form = $("settings-form");
  for (const name of ["mentions", "dm", "sound", "dnd"]) form.elements[name].checked = preferences[name];
  $("channel-levels").replaceChildren(el("legend", {}, "Channels"), ...preferences.channels.map((pref) => {
    const name = state.channels.find((c) => c.id === pref.channel_id)?.name ?? pref.channel_id;
    const select = el("select", { name: `level:${pref.channel_id}` },
      ...["all", "mentions", "none"].map((level) => el("option", { value: level, selected: level === pref.level }, level)));
    return el("label", {}, `#${name} `, select,
      el("input", { type: "checkbox", name: `muted:${pref.channel_id}`, checked: pref.muted }), " muted");
  }));
  $("settings-panel").hidden = false;
}

async function saveSettings(event) {
  event.preventDefault();
  const form = $("settings-form");
  const channels = state.preferences.channels.map((pref) => ({
    channel_id: pref.channel_id,
    level: form.elements[`level:${pref.channel_id}`].value,
    muted: form.elements[`muted:${pref.channel_id}`].checked,
  }));
  state.preferences = await put("/notification-preferences", {
    ...Object.fromEntries(["mentions", "dm", "sound", "dnd"].map((name) => [name, form.elements[name].checked])),
    dnd_allow: state.preferences.dnd_allow, channels,
  });
  $("settings-saved").textContent = "Saved";
}

/** The first visit asks for notification permission on the user's first gesture (browsers require one). */
function offerNotifications() {
  if (!needsPermission()) return;
  const button = $("enable-notifications");
  button.hidden = false;
  const ask = async () => {
    document.removeEventListener("pointerdown", ask, true);
    button.hidden = true;
    await askPermission();
  };
  button.addEventListener("click", ask);
  document.addEventListener("pointerdown", ask, true);
}

function wire() {
  $("messages").addEventListener("scroll", () => $("messages").scrollTop < 80 && loadOlder());
  $("composer").addEventListener("submit", send);
  $("composer-input").addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.shiftKey) return;
    e.preventDefault();
    $("composer").requestSubmit();
  });
  $("composer-input").addEventListener("input", suggestMentions);
  $("file-input").addEventListener("change", attach);
  $("search-form").addEventListener("submit", search);
  $("search-close").addEventListener("click", () => ($("search-panel").hidden = true));
  $("settings-button").addEventListener("click", openSettings);
  $("settings-close").addEventListener("click", () => ($("settings-panel").hidden = true));
  $("settings-form").addEventListener("submit", saveSettings);
  $("status-picker").addEventListener("change", (e) => put("/me/status", { status: e.target.value }));
  $("new-channel-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const channel = await post("/channels", { name: $("new-channel-name").value.trim() });
    $("new-channel-name").value = "";
    state.channels.push(channel);
    openChannel(channel.id);
  });
  $("add-member-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    await post(`/channels/${state.current}/members`, { user_id: $("add-member-id").value.trim() });
    $("add-member-id").value = "";
  });
}

async function refreshChannels() {
  state.channels = (await get("/channels")).channels;
  renderChannels();
}

async function boot() {
  installBoundary();
  const worker = registerWorker().catch(report);
  const session = await signIn(config());
  useTokens(session.getToken);
  state.me = await get("/me");
  $("me-name").textContent = state.me.name;
  $("status-picker").value = state.me.status;
  await refreshChannels();
  state.preferences = await get("/notification-preferences");
  $("app").hidden = false;
  wire();
  offerNotifications();
  state.realtime = connect(session, {
    connected() {
      if (state.offline) clearBanner();
      state.offline = false;
      document.body.dataset.connection = "online";
    },
    disconnected(reason) {
      document.body.dataset.connection = "offline";
      if (state.offline) return;
      state.offline = true;
      showBanner(`Connection lost (${reason}); reconnecting…`, () => state.realtime.socket.connect());
      report(new Error(`socket disconnected: ${reason}`));
    },
    message: showMessage,
    notification(notification) {
      if (notification.kind === "message" || notification.kind === "mention") refreshChannels().catch(report);
      deliver(notification, state.preferences).catch(report);
    },
    refreshFailed: (error) => report(new Error(`auth:refresh failed: ${error?.message || error}`)),
    failure: report,
  });
  window.relay = { state, worker }; // for the console and the browser tests
  if (state.channels.length) openChannel(state.channels[0].id);
}

boot().catch((error) => {
  if (!navigator.onLine) {
    // The shell came from the service worker's cache: start for real once the network is back.
    showBanner("You are offline. Relay starts as soon as the network is back.", () => location.reload());
    window.addEventListener("online", () => location.reload(), { once: true });
    return;
  }
  showBanner(`Relay could not start: ${error.message}`, () => location.reload());
  report(error);
});
