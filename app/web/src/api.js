// REST calls under /api (DESIGN §4a) with the current session token; errors carry the §4a code.
let tokenSource = async () => null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function useTokens(source) {
  tokenSource = source;
}

async function authHeaders() {
  const token = await tokenSource();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function failure(response) {
  const body = await response.json().catch(() => ({}));
  const error = body.error || {};
  return new ApiError(response.status, error.code || "http_error", error.message || response.statusText);
}

export async function api(method, path, body) {
  const headers = await authHeaders();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response.status === 204 || response.status === 202 ? null : response.json();
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body ?? {});
export const put = (path, body) => api("PUT", path, body);

/** Presign, POST the file to storage with progress (XHR: fetch reports no upload progress), complete. */
export async function uploadFile(file, onProgress) {
  const contentType = file.type || "application/octet-stream";
  const presigned = await post("/uploads", { filename: file.name, content_type: contentType, size: file.size });
  const form = new FormData();
  for (const [name, value] of Object.entries(presigned.fields)) form.append(name, value);
  form.append("file", file);
  await new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", presigned.url);
    xhr.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
    xhr.onload = () =>
      xhr.status < 300 ? resolve() : reject(new ApiError(xhr.status, "upload_failed", `storage answered ${xhr.status}`));
    xhr.onerror = () => reject(new ApiError(0, "upload_failed", "the upload did not reach storage"));
    xhr.send(form);
  });
  const done = await post(`/uploads/${presigned.id}/complete`);
  if (done.status !== "ready") throw new ApiError(422, "upload_rejected", done.reason || "upload rejected");
  return done;
}
