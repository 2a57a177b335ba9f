// DOM rendering: text always goes through textContent; only the service's escaped search snippets
// (html.escape, then <mark>) are set as HTML.
const MENTION = /(^|[^\w@])(@[\w.-]+)/g;

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name in node) node[name] = value;
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function bodyWithMentions(body) {
  const span = el("span", { className: "body" });
  let last = 0;
  for (const match of body.matchAll(MENTION)) {
    const start = match.index + match[1].length;
    span.append(body.slice(last, start), el("span", { className: "mention" }, match[2]));
    last = start + match[2].length;
  }
  span.append(body.slice(last));
  return span;
}

function attachment(file) {
  const label = `${file.filename} (${Math.ceil(file.size / 1024)} KB)`;
  return el("div", { className: "attachment" },
    file.url ? el("a", { href: file.url, target: "_blank", rel: "noopener noreferrer" }, label) : label);
}

export function messageItem(message) {
  const time = new Date(message.created_at);
  return el("li", { className: "message", id: `m-${message.id}`, dataset: { seq: message.seq } },
    el("span", { className: "author" }, message.author_id),
    el("time", { dateTime: message.created_at, title: time.toLocaleString() }, time.toLocaleTimeString()),
    message.deleted_at ? el("span", { className: "body" }, "(deleted)") : bodyWithMentions(message.body),
    ...(message.attachments || []).map(attachment));
}

export function channelItem(channel, active, onSelect) {
  const button = el("button", { type: "button", dataset: { channelId: channel.id } },
    el("span", {}, `${channel.kind === "dm" ? "@" : "#"} ${channel.name}`),
    channel.unread ? el("span", { className: "badge", title: "unread" }, String(channel.unread)) : null);
  button.setAttribute("aria-current", String(active));
  button.addEventListener("click", () => onSelect(channel.id));
  return el("li", {}, button);
}

export function searchItem(result, onOpen) {
  const snippet = el("div", { className: "snippet" });
  snippet.innerHTML = result.snippet;
  const item = el("li", { className: "message" },
    el("span", { className: "author" }, result.message.author_id), snippet);
  item.addEventListener("click", () => onOpen(result.message));
  return item;
}
