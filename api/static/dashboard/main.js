// The operators' dashboard: sign-in, the navigation and the router (#view?params). No framework.

import { SignedOut, capabilities, gql, setToken, token } from "./api.js";
import { h, problem } from "./ui.js";
import * as views from "./views.js";

const VIEWS = [
  { route: "home", title: "区域概览", draw: views.home },
  { route: "parked", title: "待处理订单", draw: views.parked },
  { route: "reconciliation", title: "每日对账", draw: views.reconciliation },
  { route: "statistics", title: "统计", draw: views.statistics },
  { route: "messages", title: "消息", draw: views.messages },
  { route: "inbound", title: "医院调用", draw: views.inbound },
  { route: "jobs", title: "定时任务", draw: views.jobs },
  { route: "audit", title: "审计日志", draw: views.audit },
  { route: "operators", title: "操作员", draw: views.operators, regionOnly: true },
];

const root = document.getElementById("app");
let ctx = null;
let flashed = null;

function route() {
  const hash = location.hash.replace(/^#/, "");
  const [name, query] = hash.split("?");
  return { name: name || "home", params: new URLSearchParams(query || "") };
}

function go(name, params = new URLSearchParams()) {
  const query = params.toString();
  const target = `#${name}${query ? `?${query}` : ""}`;
  if (location.hash === target) draw();
  else location.hash = target;
}

function flash(text, kind = "") {
  flashed = { text, kind };
}

async function start() {
  if (!token()) return signIn();
  let me;
  try {
    const { data } = await gql("{ me { operator { username role hospitalId } } }");
    me = data && data.me && data.me.operator;
  } catch (error) {
    if (!(error instanceof SignedOut)) return signIn(error.message);
  }
  if (!me) {
    setToken(null);
    return signIn();
  }
  const caps = await capabilities();
  ctx = { me, region: me.role === "REGION", caps, go, flash, refresh: draw };
  window.addEventListener("hashchange", draw);
  await draw();
}

function signIn(message = "") {
  window.removeEventListener("hashchange", draw);
  ctx = null;
  const error = problem(message);
  const username = h("input", { name: "username", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const button = h("button", { type: "submit", class: "primary" }, "登录");
  const form = h(
    "form",
    { class: "sign-in card", "aria-label": "操作员登录", onsubmit: submit },
    h("h1", {}, "区域平台运营看板"),
    h("p", { class: "hint" }, "请使用运营账号登录（会话仅保存在本标签页）。"),
    h("label", {}, "用户名", username),
    h("label", {}, "密码", password),
    error || h("p", { class: "problem", role: "alert", hidden: true }),
    button,
  );
  async function submit(event) {
    event.preventDefault();
    button.disabled = true;
    const alert = form.querySelector(".problem");
    try {
      const { data, errors } = await gql(
        `mutation Login($username: String!, $password: String!) {
          logInOperator(username: $username, password: $password) {
            __typename ... on Session { token expiresAt } ... on Refusal { code message }
          }
        }`,
        { username: username.value.trim(), password: password.value },
      );
      const answer = data && data.logInOperator;
      if (answer && answer.__typename === "Session") {
        setToken(answer.token);
        password.value = "";
        await start();
        return;
      }
      alert.textContent = answer ? `登录失败：${answer.message}` : `登录失败：${errors.map((e) => e.message).join("；")}`;
    } catch (failure) {
      alert.textContent = `登录失败：${failure.message}`;
    }
    alert.hidden = false;
    button.disabled = false;
  }
  root.replaceChildren(h("main", { class: "signed-out" }, form));
}

async function signOut() {
  try {
    if (ctx && ctx.caps.mutations.has("logOutOperator")) await gql("mutation { logOutOperator }");
  } catch (error) {
    // the session is dropped here whatever the gateway said
  }
  setToken(null);
  history.replaceState(null, "", location.pathname);
  signIn();
}

async function draw() {
  if (!ctx) return;
  const { name, params } = route();
  const allowed = VIEWS.filter((v) => !v.regionOnly || ctx.region);
  const current = allowed.find((v) => v.route === name) || allowed[0];
  const main = h("main", { class: "content", "aria-busy": "true" }, h("p", { class: "loading" }, "加载中…"));
  const nav = h(
    "nav",
    { "aria-label": "视图" },
    allowed.map((v) =>
      h("a", { href: `#${v.route}`, class: v === current ? "active" : null, "aria-current": v === current ? "page" : null }, v.title),
    ),
  );
  const who = `${ctx.me.username} · ${ctx.region ? "区域操作员" : `医院操作员（${ctx.me.hospitalId}）`}`;
  root.replaceChildren(
    h(
      "div",
      { class: "shell" },
      h(
        "header",
        {},
        h("h1", {}, "区域平台运营看板"),
        h("span", { class: "who", "data-testid": "who" }, who),
        h("button", { type: "button", class: "secondary", onclick: () => draw() }, "刷新"),
        h("button", { type: "button", class: "secondary", "data-action": "change-password", onclick: () => views.changePassword(ctx) }, "修改密码"),
        h("button", { type: "button", class: "secondary", "data-action": "sign-out", onclick: signOut }, "退出登录"),
      ),
      nav,
      main,
    ),
  );
  try {
    const body = await current.draw(ctx, params);
    const note = flashed ? h("p", { class: `flash ${flashed.kind}`, role: "status" }, flashed.text) : null;
    flashed = null;
    main.replaceChildren(...[note, body].filter(Boolean));
  } catch (error) {
    if (error instanceof SignedOut) return signIn(error.message);
    main.replaceChildren(problem(`加载失败：${error.message}`));
  }
  main.setAttribute("aria-busy", "false");
  main.dataset.view = current.route;
}

start();
