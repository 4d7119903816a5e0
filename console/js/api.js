// The fetch wrapper: bearer token from sessionStorage, JSON in and out, problems
// (application/problem+json) thrown as ApiError, any 401 handed to the app.

const TOKEN_KEY = 'orgsync.admin.token';

/** A failed call: the problem's detail, code and status. */
export class ApiError extends Error {
  constructor({ status, title, detail, code, problem }) {
    super(detail || title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.title = title || '';
    this.detail = detail || this.message;
    this.code = code || '';
    this.problem = problem || null;
    /** true once the app has dealt with it (a 401 sends the user to sign in). */
    this.handled = false;
  }
}

export function isAbort(err) {
  return Boolean(err) && err.name === 'AbortError';
}

let unauthorizedHandler = () => {};

/** The app's reaction to a 401 (forget the token, show the sign-in form). */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage unavailable: nothing to forget */
  }
}

/** The token's payload ({sub, role, org, exp}), or null when there is none or it is unreadable. */
export function claims(token = getToken()) {
  if (!token) return null;
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    return payload && typeof payload === 'object' ? payload : null;
  } catch {
    return null;
  }
}

/** `/a/${x}/b` with every interpolated value encoded as one path segment. */
export function u(strings, ...values) {
  return strings.reduce(
    (out, s, i) => out + s + (i < values.length ? encodeURIComponent(String(values[i])) : ''),
    '',
  );
}

function queryString(query) {
  if (!query) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    p.append(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Sends one call; gives {data, status}. Throws ApiError (or an AbortError). */
export async function send(method, path, { body, query, signal, auth = true } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (auth) {
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
  }
  const init = { method, headers, signal, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path + queryString(query), init);
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError({
      status: 0,
      title: 'Network error',
      detail: `the server could not be reached (${err.message})`,
      code: 'network_error',
    });
  }
  let data = null;
  if (res.status !== 204) {
    const text = await res.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
  }
  if (!res.ok) {
    const p = data && typeof data === 'object' ? data : {};
    const plain = typeof data === 'string' && data.length < 300 && !data.trim().startsWith('<') ? data.trim() : '';
    const err = new ApiError({
      status: res.status,
      title: p.title || res.statusText,
      detail: p.detail || plain || `HTTP ${res.status} ${res.statusText}`.trim(),
      code: p.code || `http_${res.status}`,
      problem: p,
    });
    if (res.status === 401 && auth) {
      err.handled = true;
      unauthorizedHandler(err);
    }
    throw err;
  }
  return { data, status: res.status };
}

export const get = async (path, query, opts = {}) => (await send('GET', path, { ...opts, query })).data;
export const post = async (path, body, opts = {}) => (await send('POST', path, { ...opts, body })).data;
export const patch = async (path, body, opts = {}) => (await send('PATCH', path, { ...opts, body })).data;

/** Signs in; gives the token response. A bad password is an ApiError (401), not a sign-out. */
export async function signIn(org, userName, password) {
  const body = { UserName: userName, Password: password };
  if (org) body.Org = org;
  const { data } = await send('POST', '/rest/v1/auth/token', { body, auth: false });
  if (!data || !data.AccessToken) {
    throw new ApiError({ status: 500, detail: 'the answer holds no AccessToken', code: 'bad_answer' });
  }
  return data;
}

/**
 * Starts background work (SyncAsync, snapshots, CompareAsync…): gives the JobAccepted with
 * `Existing: true` when the server gave back a job already queued or running (200, not 202).
 */
export async function startJob(path, body, opts = {}) {
  const { data, status } = await send('POST', path, { ...opts, body });
  return { ...data, Existing: status === 200 };
}

export const ACTIVE = ['Queued', 'InProcess'];
export const isActive = (job) => Boolean(job) && ACTIVE.includes(job.Status);

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new DOMException('aborted', 'AbortError'));
    }, { once: true });
  });

/**
 * Polls a job until it is no longer Queued or InProcess (or `timeoutMs` passes); gives the
 * last job read. `onUpdate(job)` sees every reading.
 */
export async function watchJob(id, { signal, onUpdate, interval = 1000, timeoutMs = 300000 } = {}) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await get(u`/rest/v1/jobs/${id}`, undefined, { signal });
    onUpdate?.(job);
    if (!isActive(job) || Date.now() > until) return job;
    await sleep(interval, signal);
  }
}

// The paths of the calls the pages make, in one place.
export const paths = {
  connections: '/rest/v1/sync/connections',
  connection: (org) => u`/rest/v1/sync/${org}/connection`,
  links: (org) => u`/rest/v1/sync/${org}/links`,
  link: (org, entity) => u`/rest/v1/sync/${org}/links/${entity}`,
  explain: (org, entity) => u`/rest/v1/sync/${org}/links/${entity}/Explain`,
  sync: (org) => u`/rest/v1/sync/${org}/SyncAsync`,
  syncAll: '/rest/v1/sync/SyncAllAsync',
  updateMetadata: (org) => u`/rest/v1/sync/${org}/UpdateMetadataAsync`,
  snapshots: (org) => u`/rest/v1/sync/${org}/snapshots`,
  metadata: (org) => u`/rest/v1/orgs/${org}/metadata`,
  compare: (org) => u`/rest/v1/sync/${org}/CompareAsync`,
  jobs: '/rest/v1/jobs',
  job: (id) => u`/rest/v1/jobs/${id}`,
  jobLog: (id) => u`/rest/v1/jobs/${id}/log`,
  jobAction: (id, action) => u`/rest/v1/jobs/${id}/${action}`,
  quarantine: (id) => u`/rest/v1/jobs/${id}/quarantine`,
  undo: (id) => u`/rest/v1/jobs/${id}/UndoDeletes`,
  transactions: (org) => u`/rest/v1/sync/${org}/transactions`,
  txCounts: (org) => u`/rest/v1/sync/${org}/transactions/counts`,
  txAction: (org, action) => u`/rest/v1/sync/${org}/transactions/${action}`,
  conflicts: (org) => u`/rest/v1/sync/${org}/conflicts`,
  resolve: (org, id) => u`/rest/v1/sync/${org}/conflicts/${id}/Resolve`,
  timeline: (org, entity, id) => u`/rest/v1/sync/${org}/timeline/${entity}/${id}`,
};
