// The dashboard's only way to the gateway: POST /graphql with the operator's session token.
// The token is kept in this tab's sessionStorage (never localStorage, never a cookie).

const TOKEN_KEY = "hisgraph.operator.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class SignedOut extends Error {}

// One operation: { data, errors }. Throws SignedOut when the session is gone, Error on a transport failure.
export async function gql(query, variables = {}) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  const current = token();
  if (current) headers.Authorization = `Bearer ${current}`;
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new Error("无法连接网关");
  }
  if (response.status === 429) throw new Error("请求过于频繁，请稍后再试");
  let body;
  try {
    body = await response.json();
  } catch (error) {
    throw new Error(`网关应答异常 (HTTP ${response.status})`);
  }
  const errors = body.errors || [];
  if (current && errors.some(isSignedOut)) {
    setToken(null);
    throw new SignedOut("会话已结束，请重新登录");
  }
  return { data: body.data || null, errors };
}

function isSignedOut(error) {
  const code = String((error.extensions || {}).code || "");
  const message = String(error.message || "");
  return code === "UNAUTHENTICATED" || /sign in as an operator|session (has )?ended|not signed in/i.test(message);
}

// The errors of one field path (e.g. "operator.orders"), as text, or "".
export function errorsAt(errors, ...path) {
  const found = errors.filter((e) => {
    const p = e.path || [];
    return path.every((part, i) => p[i] === part);
  });
  return found.map((e) => e.message).join("；");
}

// Which optional fields this gateway has (the API grows: absent fields are left out of the page).
let known = null;

export async function capabilities() {
  if (known) return known;
  const query = `{
    views: __type(name: "OperatorViews") { fields { name args { name } } }
    mutations: __type(name: "Mutation") { fields { name } }
    delivery: __type(name: "MessageDelivery") { fields { name } }
    inbound: __type(name: "InboundCallRecord") { fields { name } }
    jobRun: __type(name: "JobRunRecord") { fields { name } }
  }`;
  const names = (t) => new Set(((t && t.fields) || []).map((f) => f.name));
  try {
    const { data } = await gql(query);
    known = {
      views: names(data && data.views),
      mutations: names(data && data.mutations),
      delivery: names(data && data.delivery),
      inbound: names(data && data.inbound),
      jobRun: names(data && data.jobRun),
    };
    const runs = ((data && data.views && data.views.fields) || []).find((f) => f.name === "jobRuns");
    known.jobRunFailedOnly = Boolean(runs && runs.args.some((a) => a.name === "failedOnly"));
  } catch (error) {
    if (error instanceof SignedOut) throw error;
    known = null;
    return { views: new Set(), mutations: new Set(), delivery: new Set(), inbound: new Set(), jobRun: new Set() };
  }
  return known;
}

// yyyy-MM-dd HH:mm:ss in Beijing time (what the operator API's from/to take).
export function beijing(date) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date);
  const get = (type) => (parts.find((p) => p.type === type) || {}).value;
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}`;
}

export function beijingDay(date) {
  return beijing(date).slice(0, 10);
}

// A DateTime from the API shown in Beijing time, or "—".
export function shownTime(value) {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return beijing(date);
}
