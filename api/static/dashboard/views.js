// The dashboard's views: each is async (ctx) => Node, drawn from one GraphQL request (or a few).
// ctx = { me: { username, role, hospitalId }, region: bool, caps, refresh() }.

import { beijing, beijingDay, errorsAt, gql, shownTime } from "./api.js";
import { badge, barChart, card, confirmDialog, h, money, problem, stat, table } from "./ui.js";

const ORDER_STATES = {
  CREATED: "待支付",
  PAID: "已支付",
  NOTIFIED: "已通知医院",
  REFUNDING: "退款中",
  REFUNDED: "已退款",
  PARKED: "待人工处理",
  CANCELLED: "已取消",
};
const PAID_FOR = {
  BILLS: "门诊缴费",
  REGISTRATION_TODAY: "当日挂号",
  REGISTRATION_APPOINTMENT: "预约挂号",
  DEPOSIT: "住院押金",
  RECHARGE: "就诊卡充值",
  ADMISSION: "入院缴费",
  CONSULTATION: "在线问诊",
  INSURANCE: "医保结算",
  LAB_APPOINTMENT: "检验预约",
  MEDICAL_RECORD: "病案复印",
  PHYSICAL_EXAM: "体检",
  SELF_ORDER: "自助开单",
  OTHER: "其他",
};
const CIRCUITS = { CLOSED: "正常", OPEN: "熔断", HALF_OPEN: "半开" };
const MESSAGE_STATES = {
  PENDING: "待发送",
  CLAIMED: "已领取",
  SENDING: "发送中",
  RESENDING: "重发中",
  SENT: "已发送",
  RETRY: "待重试",
  UNDELIVERABLE: "无法送达",
  UNCERTAIN: "结果不明",
};
const JOB_STATES = { RUNNING: "运行中", SUCCEEDED: "成功", PARTIAL: "部分失败", FAILED: "失败", INTERRUPTED: "中断" };
const OUTCOMES = {
  MARK_NOTIFIED: { text: "标记已通知", hint: "医院 14.2.2 已列出这笔支付（状态完成）时才可标记为已通知。" },
  RETRY_NOTIFY: { text: "重新通知医院", hint: "订单回到“已支付”，由后台重新通知医院；医院已有该支付时会被拒绝。" },
  REFUND: { text: "退款", hint: "医院 14.2.2 确认没有这笔支付时才可退款；钱只经由账本的退款流程退回一次。", danger: true },
};

function view(title, ...body) {
  return h("div", { class: "view" }, h("h2", {}, title), ...body);
}

function stateBadge(state) {
  const kind = { PARKED: "bad", REFUNDING: "warn", PAID: "warn", NOTIFIED: "ok", REFUNDED: "muted" }[state] || "";
  return badge(ORDER_STATES[state] || state, kind);
}

function today() {
  const day = beijingDay(new Date());
  return { from: `${day} 00:00:00`, to: beijing(new Date()), day };
}

function dayInput(name, value) {
  return h("input", { type: "date", name, value, required: true });
}

// ---------------------------------------------------------------- home: the region at a glance

export async function home(ctx) {
  const { from, to } = today();
  const messaging = ctx.caps.views.has("messaging")
    ? "messaging { workerRunning officialAccountConfigured tokenExpiresAt }"
    : "";
  const { data, errors } = await gql(
    `query Home($from: DateTime!, $to: DateTime!) {
      operator {
        hospitalHealth { hospitalId name circuit circuitSince degraded degradedBecause inFlight bulkheadLimit
          windows { minutes calls errors errorRate p50Ms p95Ms } lastError { code method at } referenceDataAgeSeconds }
        ledgerSummary(from: $from, to: $to) { total { orderCount paidCount paidAmount refundedCount refundedAmount inFlightCount parkedCount } }
        parked: orders(state: PARKED, first: 1) { totalCount }
        messageDeliveryCounts { state count }
        jobRuns(latestOnly: true, limit: 20) { job task state finishedAt scheduledFor error }
        ${messaging}
      }
    }`,
    { from, to },
  );
  const op = (data && data.operator) || {};
  const total = op.ledgerSummary ? op.ledgerSummary.total : null;
  const health = op.hospitalHealth || [];
  const degraded = health.filter((x) => x.degraded);
  const counts = op.messageDeliveryCounts || [];
  const pending = counts.filter((c) => !["SENT"].includes(c.state)).reduce((n, c) => n + c.count, 0);
  const failedJobs = (op.jobRuns || []).filter((r) => ["FAILED", "PARTIAL", "INTERRUPTED"].includes(r.state));
  const parked = op.parked ? op.parked.totalCount : null;

  const glance = h(
    "div",
    { class: "stats", "data-testid": "glance" },
    stat("今日支付金额", total ? money(total.paidAmount) : "—"),
    stat("今日支付笔数", total ? total.paidCount : "—"),
    stat("今日退款金额", total ? money(total.refundedAmount) : "—"),
    stat("处理中订单", total ? total.inFlightCount : "—"),
    stat("待人工处理订单", parked ?? "—", parked ? "bad" : ""),
    stat("异常医院", `${degraded.length} / ${health.length}`, degraded.length ? "bad" : ""),
    stat("未送达消息", pending, pending ? "warn" : ""),
    stat("异常任务", failedJobs.length, failedJobs.length ? "bad" : ""),
  );

  const messagingCard = op.messaging
    ? card(
        "消息投递",
        h(
          "p",
          {},
          op.messaging.workerRunning ? badge("投递进程运行中", "ok") : badge("投递进程未运行", "bad"),
          " ",
          op.messaging.officialAccountConfigured ? badge("公众号已配置", "ok") : badge("公众号未配置", "bad"),
          " ",
          op.messaging.tokenExpiresAt ? `令牌到期：${shownTime(op.messaging.tokenExpiresAt)}` : "",
        ),
        table(
          [
            { title: "状态", value: (c) => MESSAGE_STATES[c.state] || c.state },
            { title: "条数", value: (c) => String(c.count), class: "num" },
          ],
          counts.filter((c) => c.count > 0),
          { empty: "暂无消息" },
        ),
      )
    : card(
        "消息投递",
        table(
          [
            { title: "状态", value: (c) => MESSAGE_STATES[c.state] || c.state },
            { title: "条数", value: (c) => String(c.count), class: "num" },
          ],
          counts.filter((c) => c.count > 0),
          { empty: "暂无消息" },
        ),
      );

  return view(
    "区域概览",
    problem(errorsAt(errors, "operator")),
    glance,
    card("医院健康状况", problem(errorsAt(errors, "operator", "hospitalHealth")), healthTable(health)),
    h(
      "div",
      { class: "columns" },
      messagingCard,
      card(
        "定时任务（最近一次）",
        problem(errorsAt(errors, "operator", "jobRuns")),
        table(
          [
            { title: "任务", value: (r) => `${r.job} (${r.task})` },
            { title: "状态", value: (r) => jobBadge(r.state) },
            { title: "完成时间", value: (r) => shownTime(r.finishedAt) },
          ],
          op.jobRuns || [],
          { empty: "暂无任务记录" },
        ),
      ),
    ),
  );
}

// How old the hospital's cached reference data is ("—" when none was loaded yet).
function age(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds} 秒前`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} 分钟前`;
  return `${Math.floor(seconds / 3600)} 小时前`;
}

function healthTable(health) {
  const window = (entry, minutes) => (entry.windows || []).find((w) => w.minutes === minutes) || {};
  const ms = (v) => (v === null || v === undefined ? "—" : `${Math.round(v)} ms`);
  const rate = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
  return table(
    [
      { title: "医院", value: (e) => `${e.name} (${e.hospitalId})` },
      {
        title: "状态",
        value: (e) =>
          e.degraded ? badge(`异常：${(e.degradedBecause || []).join("，") || "降级"}`, "bad") : badge("正常", "ok"),
      },
      { title: "熔断器", value: (e) => `${CIRCUITS[e.circuit] || e.circuit}${e.circuitSince ? ` 自 ${shownTime(e.circuitSince)}` : ""}` },
      { title: "P50/P95 (5分钟)", value: (e) => `${ms(window(e, 5).p50Ms)} / ${ms(window(e, 5).p95Ms)}` },
      { title: "错误率 5/15分钟", value: (e) => `${rate(window(e, 5).errorRate)} / ${rate(window(e, 15).errorRate)}` },
      { title: "并发", value: (e) => `${e.inFlight} / ${e.bulkheadLimit}`, class: "num" },
      { title: "参考数据", value: (e) => age(e.referenceDataAgeSeconds) },
      {
        title: "最近错误",
        value: (e) => (e.lastError ? `${e.lastError.code} ${e.lastError.method} ${shownTime(e.lastError.at)}` : "—"),
      },
    ],
    health,
    { empty: "没有可查看的医院", rowClass: (e) => (e.degraded ? "row-bad" : null) },
  );
}

function jobBadge(state) {
  const kind = { SUCCEEDED: "ok", RUNNING: "", PARTIAL: "warn", FAILED: "bad", INTERRUPTED: "bad" }[state] || "";
  return badge(JOB_STATES[state] || state, kind);
}

// ---------------------------------------------------------------- parked orders

const ORDER_FIELDS = `outTradeNo hospitalId flow businessType state stateReason version waitsForOperator
  totalAmount onlineAmount transactionId hisSerial createdAt paidAt
  patient { medicalCardNumber name }
  events { fromState toState reason at }
  outboxJob { kind state attempts lastError nextTryAt retryWindowEndsAt }
  refunds { outRefundNo hisRefundNo amount state reason }`;

export async function parked(ctx, params) {
  // Paid orders are read (and each read audited per patient) only when asked for: the API has no filter for
  // the ones past their retry window, so the page would otherwise read every paid order's patient.
  const withPaid = params.get("paid") === "1";
  const { data, errors } = await gql(`query Parked {
    operator {
      parked: orders(state: PARKED, first: 50) { totalCount orders { ${ORDER_FIELDS} } }
      ${withPaid ? `paid: orders(state: PAID, first: 100) { orders { ${ORDER_FIELDS} } }` : ""}
    }
  }`);
  const op = (data && data.operator) || {};
  const parkedOrders = op.parked ? op.parked.orders : [];
  const stuck = op.paid ? op.paid.orders.filter((o) => o.waitsForOperator) : [];
  const orders = [...parkedOrders, ...stuck];
  return view(
    "待人工处理订单",
    problem(errorsAt(errors, "operator")),
    h(
      "p",
      { class: "hint" },
      "以下订单需要人工处理：已挂起（PARKED）的订单，以及（按需查看）重试期已过的已支付订单。处理前会先向医院查询 14.2.2 订单记录作为依据。",
    ),
    withPaid
      ? null
      : h(
          "button",
          { type: "button", class: "secondary", "data-action": "show-paid", onclick: () => ctx.go("parked", new URLSearchParams({ paid: "1" })) },
          "同时查看重试期已过的已支付订单",
        ),
    orders.length === 0
      ? h("p", { class: "empty" }, "没有待人工处理的订单")
      : h("div", { class: "orders" }, orders.map((order) => orderCard(ctx, order))),
  );
}

function orderCard(ctx, order) {
  const outcomes = ctx.region ? ["MARK_NOTIFIED", "RETRY_NOTIFY", "REFUND"] : ["MARK_NOTIFIED", "RETRY_NOTIFY"];
  const job = order.outboxJob;
  return h(
    "article",
    { class: "order card", "data-order": order.outTradeNo },
    h("h3", {}, order.outTradeNo, " ", stateBadge(order.state)),
    h(
      "dl",
      { class: "facts" },
      fact("医院", order.hospitalId),
      fact("业务", `${PAID_FOR[order.flow] || order.flow} / ${order.businessType}`),
      fact("金额", `${money(order.totalAmount)}（线上 ${money(order.onlineAmount)}）`),
      fact("患者", `${order.patient.name || "—"} ${order.patient.medicalCardNumber}`),
      fact("原因", order.stateReason || "—"),
      fact("支付时间", shownTime(order.paidAt)),
      fact("版本", String(order.version)),
      job
        ? fact(
            "后台任务",
            `${job.kind} · ${job.state} · 已尝试 ${job.attempts} 次${job.lastError ? ` · 最近错误：${job.lastError}` : ""}${
              job.retryWindowEndsAt ? ` · 重试期至 ${shownTime(job.retryWindowEndsAt)}` : ""
            }`,
          )
        : null,
    ),
    h(
      "details",
      {},
      h("summary", {}, `状态变化（${order.events.length}）与退款（${order.refunds.length}）`),
      table(
        [
          { title: "时间", value: (e) => shownTime(e.at) },
          { title: "从", value: (e) => e.fromState || "—" },
          { title: "到", value: (e) => e.toState },
          { title: "原因", value: (e) => e.reason },
        ],
        order.events,
      ),
      table(
        [
          { title: "退款单号", value: (r) => r.outRefundNo },
          { title: "医院退款号", value: (r) => r.hisRefundNo },
          { title: "金额", value: (r) => money(r.amount) },
          { title: "状态", value: (r) => r.state },
        ],
        order.refunds,
        { empty: "无退款" },
      ),
    ),
    h(
      "div",
      { class: "actions" },
      outcomes.map((outcome) =>
        h(
          "button",
          {
            type: "button",
            class: OUTCOMES[outcome].danger ? "danger" : "primary",
            "data-outcome": outcome,
            onclick: () => resolveOrder(ctx, order, outcome),
          },
          OUTCOMES[outcome].text,
        ),
      ),
    ),
  );
}

function fact(label, value) {
  return [h("dt", {}, label), h("dd", {}, value)];
}

async function resolveOrder(ctx, order, outcome) {
  // The 14.2.2 evidence first: what the hospital holds under this order number.
  const { data, errors } = await gql(
    `query Evidence($hospitalId: String!, $no: String!) {
      operator { reconciliationOrders(hospitalId: $hospitalId, outTradeNo: $no) {
        hospitalId orders { outTradeNo amount tradeTime payType complete } } }
    }`,
    { hospitalId: order.hospitalId, no: order.outTradeNo },
  );
  const entries = (data && data.operator && data.operator.reconciliationOrders) || [];
  const trades = entries.flatMap((e) => (e ? e.orders : []));
  const evidenceError = errorsAt(errors, "operator");
  const evidence = h(
    "div",
    { class: "evidence" },
    h("h4", {}, "医院 14.2.2 订单记录（依据）"),
    evidenceError
      ? problem(`医院未应答：${evidenceError}`)
      : table(
          [
            { title: "订单号", value: (t) => t.outTradeNo },
            { title: "金额", value: (t) => money(t.amount) },
            { title: "交易时间", value: (t) => t.tradeTime },
            { title: "支付方式", value: (t) => t.payType },
            { title: "完成", value: (t) => (t.complete ? badge("完成", "ok") : badge("未完成", "warn")) },
          ],
          trades,
          { empty: "医院没有这笔支付的记录" },
        ),
  );
  const note = await confirmDialog({
    title: `${OUTCOMES[outcome].text}：${order.outTradeNo}`,
    body: [
      h("p", {}, `${order.hospitalId} · ${money(order.totalAmount)} · ${order.patient.name || ""} · ${order.stateReason || ""}`),
      h("p", { class: "hint" }, OUTCOMES[outcome].hint),
      evidence,
    ],
    confirmText: `确认${OUTCOMES[outcome].text}`,
    danger: Boolean(OUTCOMES[outcome].danger),
    note: "为何这样处理，例如：已与医院信息科核对",
  });
  if (note === null) return;
  const result = await gql(
    `mutation Resolve($no: String!, $outcome: ParkedOrderOutcome!, $note: String!, $version: Int!) {
      resolveParkedOrder(outTradeNo: $no, outcome: $outcome, note: $note, expectedVersion: $version) {
        __typename
        ... on ParkedOrderResolved { fromState order { outTradeNo state version } }
        ... on Refusal { code message }
      }
    }`,
    { no: order.outTradeNo, outcome, note, version: order.version },
  );
  const answer = result.data && result.data.resolveParkedOrder;
  if (answer && answer.__typename === "ParkedOrderResolved") {
    ctx.flash(`订单 ${order.outTradeNo} 已处理：${ORDER_STATES[answer.order.state] || answer.order.state}`, "ok");
  } else {
    const why = answer ? `${answer.code}：${answer.message}` : result.errors.map((e) => e.message).join("；");
    ctx.flash(`未能处理订单 ${order.outTradeNo}：${why}`, "bad");
  }
  await ctx.refresh();
}

// ---------------------------------------------------------------- reconciliation by day

const RECONCILIATION_STATUS = {
  CLEAN: () => badge("一致", "ok"),
  MISMATCHES: (entry) => badge(`不一致 ${entry.mismatches.length} 项`, "bad"),
  NOT_CHECKED: () => badge("未核对", "warn"),
};
const MISMATCH_KINDS = {
  MISSING_AT_PROVIDER: "支付渠道无记录",
  MISSING_AT_HOSPITAL: "医院无记录",
  MISSING_IN_LEDGER: "账本无记录",
  AMOUNT_DIFFERS: "金额不符",
  STATE_DIFFERS: "状态不符",
  APPLIED_TWICE: "医院重复入账",
  PARKED: "待人工处理",
};
const RECONCILE = `query Reconcile($date: Date!, $hospitalId: String, $recheck: Boolean) {
  operator { reconciliationCheck(date: $date, hospitalId: $hospitalId, recheck: $recheck) {
    date clean notChecked
    unattributed { id kind outTradeNo outRefundNo ledgerAmount providerAmount hospitalAmount detail
      acknowledgement { by at note } }
    hospitals {
      hospitalId status checkedAt checkedBy notCheckedReason ledgerTotal providerTotal hospitalTotal
      mismatches { id kind outTradeNo outRefundNo ledgerAmount providerAmount hospitalAmount ledgerState detail
        acknowledgement { by at note } }
      inFlight { outTradeNo }
      waiting { outTradeNo ledgerState inFlight }
    }
  } }
}`;

export async function reconciliation(ctx, params) {
  const yesterday = beijingDay(new Date(Date.now() - 86400000));
  const day = /^\d{4}-\d{2}-\d{2}$/.test(params.get("date") || "") ? params.get("date") : yesterday;
  const form = filterForm(ctx, "reconciliation", [h("label", {}, "对账日期 ", dayInput("date", day))], "对账");
  const { data, errors } = await gql(RECONCILE, { date: day });
  const result = data && data.operator && data.operator.reconciliationCheck;
  if (!result) return view("每日对账", form, problem(errorsAt(errors, "operator") || "未能对账"));
  const entries = result.hospitals;
  const mismatches = [
    ...entries.flatMap((e) => e.mismatches),
    ...(result.unattributed || []),
  ];
  return view(
    "每日对账",
    form,
    table(
      [
        { title: "医院", value: (e) => e.hospitalId },
        { title: "结果", value: (e) => RECONCILIATION_STATUS[e.status](e) },
        { title: "账本合计", value: (e) => money(e.ledgerTotal), class: "num" },
        { title: "支付渠道合计", value: (e) => money(e.providerTotal), class: "num" },
        { title: "医院合计", value: (e) => money(e.hospitalTotal), class: "num" },
        { title: "处理中", value: (e) => String(e.inFlight.length), class: "num" },
        { title: "他日待处理", value: (e) => String(e.waiting.length), class: "num" },
        { title: "核对", value: (e) => `${e.checkedBy} · ${shownTime(e.checkedAt)}` },
        {
          title: "说明",
          value: (e) =>
            e.status === "NOT_CHECKED"
              ? [
                  e.notCheckedReason || "",
                  " ",
                  h(
                    "button",
                    { type: "button", class: "primary", "data-recheck": e.hospitalId, onclick: () => recheck(ctx, day, e.hospitalId) },
                    "重新核对",
                  ),
                ]
              : "",
        },
      ],
      entries,
      { empty: "没有可对账的医院" },
    ),
    mismatches.length
      ? card(
          "不一致项",
          table(
            [
              { title: "医院", value: (m) => m.hospitalId || "未知" },
              { title: "类型", value: (m) => MISMATCH_KINDS[m.kind] || m.kind },
              { title: "订单号", value: (m) => m.outTradeNo + (m.outRefundNo ? ` / ${m.outRefundNo}` : "") },
              { title: "账本", value: (m) => money(m.ledgerAmount) },
              { title: "支付渠道", value: (m) => money(m.providerAmount) },
              { title: "医院", value: (m) => money(m.hospitalAmount) },
              { title: "说明", value: (m) => m.detail },
              {
                title: "已查看",
                value: (m) =>
                  m.acknowledgement
                    ? `${m.acknowledgement.by} · ${shownTime(m.acknowledgement.at)} · ${m.acknowledgement.note}`
                    : h(
                        "button",
                        { type: "button", "data-acknowledge": m.id, onclick: () => acknowledge(ctx, m) },
                        "确认已查看",
                      ),
              },
            ],
            mismatches.map((m) => ({ ...m, hospitalId: m.hospitalId || entryOf(entries, m) })),
          ),
        )
      : "",
  );
}

function entryOf(entries, mismatch) {
  const found = entries.find((e) => e.mismatches.some((m) => m.id === mismatch.id));
  return found ? found.hospitalId : null;
}

async function recheck(ctx, day, hospitalId) {
  const { data, errors } = await gql(RECONCILE, { date: day, hospitalId, recheck: true });
  const result = data && data.operator && data.operator.reconciliationCheck;
  const entry = result && result.hospitals[0];
  if (entry && entry.status !== "NOT_CHECKED") ctx.flash(`${hospitalId} 已重新核对`, "ok");
  else ctx.flash(`${hospitalId} 仍未能核对：${(entry && entry.notCheckedReason) || errorsAt(errors, "operator")}`, "bad");
  await ctx.refresh();
}

async function acknowledge(ctx, mismatch) {
  const note = await confirmDialog({
    title: `确认已查看：${mismatch.outTradeNo}`,
    body: [h("p", {}, `${MISMATCH_KINDS[mismatch.kind] || mismatch.kind} · ${mismatch.detail}`)],
    confirmText: "确认已查看",
    note: "查看结果，例如：已与医院核对，次日自动补记",
  });
  if (note === null) return;
  const result = await gql(
    `mutation Acknowledge($id: ID!, $note: String!) {
      acknowledgeMismatch(id: $id, note: $note) {
        __typename
        ... on MismatchAcknowledged { mismatch { id acknowledgement { by at note } } }
        ... on Refusal { code message }
      }
    }`,
    { id: mismatch.id, note },
  );
  const answer = result.data && result.data.acknowledgeMismatch;
  if (answer && answer.__typename === "MismatchAcknowledged") ctx.flash(`已记录查看：${mismatch.outTradeNo}`, "ok");
  else ctx.flash(`未能记录：${answer ? answer.message : (result.errors || []).map((e) => e.message).join("；")}`, "bad");
  await ctx.refresh();
}

function filterForm(ctx, route, fields, submitText) {
  return h(
    "form",
    {
      class: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        const params = new URLSearchParams();
        for (const [key, value] of new FormData(event.target).entries()) if (value) params.set(key, String(value));
        ctx.go(route, params);
      },
    },
    fields,
    h("button", { type: "submit", class: "primary" }, submitText),
  );
}

// ---------------------------------------------------------------- statistics over a range

const BUCKETS = { DAY: "按日", WEEK: "按周", MONTH: "按月" };

export async function statistics(ctx, params) {
  const now = new Date();
  const to = /^\d{4}-\d{2}-\d{2}$/.test(params.get("to") || "") ? params.get("to") : beijingDay(now);
  const from = /^\d{4}-\d{2}-\d{2}$/.test(params.get("from") || "")
    ? params.get("from")
    : beijingDay(new Date(now.getTime() - 13 * 86400000));
  const bucket = BUCKETS[params.get("bucket")] ? params.get("bucket") : "DAY";
  const form = filterForm(
    ctx,
    "statistics",
    [
      h("label", {}, "从 ", dayInput("from", from)),
      h("label", {}, "到 ", dayInput("to", to)),
      h(
        "label",
        {},
        "分组 ",
        h(
          "select",
          { name: "bucket" },
          Object.entries(BUCKETS).map(([value, text]) => h("option", { value, selected: value === bucket }, text)),
        ),
      ),
    ],
    "查看",
  );
  const { data, errors } = await gql(
    `query Stats($from: DateTime!, $to: DateTime!) {
      operator {
        ledgerSummary(from: $from, to: $to, groupBy: [DAY]) {
          groups { day orderCount paidCount paidAmount refundedCount refundedAmount parkedCount }
          total { orderCount paidCount paidAmount refundedCount refundedAmount inFlightCount parkedCount }
        }
        byHospital: ledgerSummary(from: $from, to: $to, groupBy: [HOSPITAL]) {
          groups { hospitalId paidCount paidAmount refundedCount refundedAmount parkedCount }
        }
      }
    }`,
    { from: `${from} 00:00:00`, to: `${to} 23:59:59` },
  );
  const op = (data && data.operator) || {};
  const days = (op.ledgerSummary && op.ledgerSummary.groups) || [];
  const byDay = new Map(days.map((g) => [g.day, g]));
  const series = [];
  for (let d = new Date(`${from}T00:00:00+08:00`); beijingDay(d) <= to && series.length < 400; d = new Date(d.getTime() + 86400000)) {
    const key = beijingDay(d);
    const g = byDay.get(key);
    series.push({ label: key.slice(5), value: g ? Number(g.paidAmount) : 0, shown: g ? money(g.paidAmount) : "¥0.00" });
  }
  const total = op.ledgerSummary ? op.ledgerSummary.total : null;
  return view(
    "统计",
    form,
    problem(errorsAt(errors, "operator")),
    total
      ? h(
          "div",
          { class: "stats" },
          stat("支付金额", money(total.paidAmount)),
          stat("支付笔数", total.paidCount),
          stat("退款金额", money(total.refundedAmount)),
          stat("退款笔数", total.refundedCount),
        )
      : null,
    card("每日线上支付金额（账本）", barChart(series, { title: `${from} 至 ${to} 每日支付金额`, unit: "" })),
    card(
      "各医院",
      table(
        [
          { title: "医院", value: (g) => g.hospitalId },
          { title: "支付笔数", value: (g) => String(g.paidCount), class: "num" },
          { title: "支付金额", value: (g) => money(g.paidAmount), class: "num" },
          { title: "退款笔数", value: (g) => String(g.refundedCount), class: "num" },
          { title: "退款金额", value: (g) => money(g.refundedAmount), class: "num" },
          { title: "待处理", value: (g) => String(g.parkedCount), class: "num" },
        ],
        (op.byHospital && op.byHospital.groups) || [],
      ),
    ),
    ...(await hospitalStatistics(from, to, bucket)),
  );
}

const count = (value) => (value === null || value === undefined ? null : String(value));

// Chapter 30 as the gateway keeps it: operator.statistics gives 30.1.1 per hospital and bucket with the region's
// total and the hospitals that did not answer, and its window field asks 30.1.2 once over the whole range.
async function hospitalStatistics(from, to, bucket) {
  const figures = "outpatientAmount outpatientTransactions inpatientAmount inpatientTransactions healthCardVisits";
  const { data, errors } = await gql(
    `query Series($from: Date!, $to: Date!, $bucket: StatisticsBucket!) {
      operator {
        statistics(from: $from, to: $to, bucket: $bucket) {
          rows { hospitalId bucket ${figures} }
          region { bucket hospitals ${figures} }
          notAnswered { hospitalId code }
          window {
            hospitalId hospitalName outpatientTransactions outpatientAmount inpatientTransactions inpatientAmount
            healthCardVisits appointments
          }
        }
      }
    }`,
    { from, to, bucket },
  );
  const series = data && data.operator && data.operator.statistics;
  if (!series) return [card("医院上报统计（30.1.1）", problem(errorsAt(errors, "operator") || "统计暂不可用"))];
  const silent = series.notAnswered.map((n) => `${n.hospitalId}（${n.code}）`);
  const amount = (r) => Number(r.outpatientAmount) + Number(r.inpatientAmount);
  const reported = card(
    "医院上报统计（30.1.1）",
    barChart(
      series.region.map((r) => ({
        label: bucket === "MONTH" ? r.bucket : r.bucket.slice(5),
        value: amount(r),
        shown: `门诊 ${money(r.outpatientAmount)}，住院 ${money(r.inpatientAmount)}（${r.hospitals} 家医院）`,
      })),
      { title: `${from} 至 ${to} 全区门诊与住院金额（${BUCKETS[bucket]}）` },
    ),
    table(
      [
        { title: "医院", value: (r) => r.hospitalId },
        { title: "时段", value: (r) => r.bucket },
        { title: "门诊金额", value: (r) => money(r.outpatientAmount), class: "num" },
        { title: "门诊笔数", value: (r) => count(r.outpatientTransactions), class: "num" },
        { title: "住院金额", value: (r) => money(r.inpatientAmount), class: "num" },
        { title: "住院笔数", value: (r) => count(r.inpatientTransactions), class: "num" },
        { title: "电子健康卡就诊人次", value: (r) => count(r.healthCardVisits), class: "num" },
      ],
      series.rows,
      { empty: "没有医院应答" },
    ),
    silent.length ? problem(`未应答的医院：${silent.join("，")}，不计入合计`) : null,
    problem(errorsAt(errors, "operator", "statistics", "rows") || errorsAt(errors, "operator", "statistics", "region")),
  );
  // 30.1.2 over the whole range: a hospital that failed is a null entry with an error at window.<index>.
  const windowFailed = (errors || [])
    .filter((e) => (e.path || []).join(".").startsWith("operator.statistics.window"))
    .map((e) => {
      const { hospitalId, code } = e.extensions || {};
      return `${hospitalId || ""}${code ? `（${code}）` : ""}`.trim() || e.message;
    });
  const counted = card(
    "各医院交易数量（30.1.2，整个时段）",
    table(
      [
        { title: "医院", value: (w) => `${w.hospitalName || ""} (${w.hospitalId})` },
        { title: "门诊笔数", value: (w) => count(w.outpatientTransactions), class: "num" },
        { title: "门诊金额", value: (w) => money(w.outpatientAmount), class: "num" },
        { title: "住院笔数", value: (w) => count(w.inpatientTransactions), class: "num" },
        { title: "住院金额", value: (w) => money(w.inpatientAmount), class: "num" },
        { title: "电子健康卡就诊人次", value: (w) => count(w.healthCardVisits), class: "num" },
        { title: "预约挂号数", value: (w) => count(w.appointments), class: "num" },
      ],
      (series.window || []).filter(Boolean),
      { empty: "没有医院应答" },
    ),
    windowFailed.length ? problem(`未应答的医院：${windowFailed.join("，")}`) : null,
  );
  return [reported, counted];
}

// ---------------------------------------------------------------- messages

export async function messages(ctx, params) {
  const state = params.get("state") || "";
  const extra = ["lastError", "nextAttemptAt", "sentAt"].filter((f) => ctx.caps.delivery.has(f));
  const grouped = ctx.caps.views.has("messageCounts");
  const since = `${beijingDay(new Date(Date.now() - 6 * 86400000))} 00:00:00`;
  const { data, errors } = await gql(
    `query Messages($state: MessageDeliveryState${grouped ? ", $since: DateTime" : ""}) {
      operator {
        messageDeliveryCounts { state count }
        ${ctx.caps.views.has("messaging") ? "messaging { workerRunning officialAccountConfigured tokenExpiresAt pending }" : ""}
        ${grouped ? "messageCounts(from: $since) { hospitalId kind state count }" : ""}
        messageDeliveries(state: $state, limit: 100) { id kind hospitalId state attempts medicalCardNumber queuedAt updatedAt ${extra.join(" ")} }
      }
    }`,
    grouped ? { state: state || null, since } : { state: state || null },
  );
  const op = (data && data.operator) || {};
  const select = h(
    "select",
    { name: "state" },
    h("option", { value: "" }, "全部状态"),
    Object.entries(MESSAGE_STATES).map(([value, text]) => h("option", { value, selected: value === state }, text)),
  );
  const columns = [
    { title: "编号", value: (m) => m.id },
    { title: "类型", value: (m) => m.kind },
    { title: "医院", value: (m) => m.hospitalId },
    { title: "状态", value: (m) => badge(MESSAGE_STATES[m.state] || m.state, m.state === "SENT" ? "ok" : m.state === "UNDELIVERABLE" ? "bad" : "warn") },
    { title: "尝试", value: (m) => String(m.attempts), class: "num" },
    { title: "就诊卡", value: (m) => m.medicalCardNumber },
    { title: "入队时间", value: (m) => shownTime(m.queuedAt) },
  ];
  if (extra.includes("lastError")) columns.push({ title: "最近错误", value: (m) => m.lastError });
  if (extra.includes("nextAttemptAt")) columns.push({ title: "下次尝试", value: (m) => shownTime(m.nextAttemptAt) });
  if (extra.includes("sentAt")) columns.push({ title: "发送时间", value: (m) => shownTime(m.sentAt) });
  return view(
    "消息",
    problem(errorsAt(errors, "operator")),
    deliveryOff(op.messaging),
    h(
      "div",
      { class: "stats" },
      (op.messageDeliveryCounts || []).map((c) => stat(MESSAGE_STATES[c.state] || c.state, c.count)),
    ),
    grouped
      ? card(
          "近 7 天按医院与类型",
          table(
            [
              { title: "医院", value: (c) => c.hospitalId },
              { title: "类型", value: (c) => c.kind },
              { title: "状态", value: (c) => MESSAGE_STATES[c.state] || c.state },
              { title: "条数", value: (c) => String(c.count), class: "num" },
            ],
            op.messageCounts || [],
            { empty: "近 7 天没有消息" },
          ),
        )
      : null,
    filterForm(ctx, "messages", [h("label", {}, "状态 ", select)], "筛选"),
    table(columns, op.messageDeliveries || [], { empty: "没有消息" }),
  );
}

// Whether anything delivers the queued messages: said plainly when nothing does.
function deliveryOff(messaging) {
  if (!messaging) return null;
  const why = [];
  if (!messaging.workerRunning) why.push("投递进程未运行");
  if (!messaging.officialAccountConfigured) why.push("公众号未配置");
  if (why.length === 0) return null;
  return h(
    "p",
    { class: "problem", role: "alert", "data-testid": "delivery-off" },
    `消息没有在投递（${why.join("，")}）：${messaging.pending} 条待发送的消息不会送达患者。`,
  );
}

// ---------------------------------------------------------------- inbound calls (with replay)

const PAGE = 100;

export async function inbound(ctx, params) {
  const path = params.get("path") || "";
  const section = params.get("section") || "";
  const replyCode = params.get("replyCode") || "";
  const day = (name) => (/^\d{4}-\d{2}-\d{2}$/.test(params.get(name) || "") ? params.get(name) : "");
  const fromDay = day("from");
  const toDay = day("to");
  const after = /^\d+$/.test(params.get("after") || "") ? params.get("after") : null;
  const extra = ["claimedHospitalId", "isRepeat", "replayOf", "replayedBy"].filter((f) => ctx.caps.inbound.has(f));
  const { data, errors } = await gql(
    `query Inbound($path: String, $section: String, $replyCode: String, $from: DateTime, $to: DateTime, $after: ID) {
      operator {
        inboundCalls(path: $path, section: $section, replyCode: $replyCode, from: $from, to: $to, after: $after, limit: ${PAGE}) {
          id section path hospitalId replyCode duplicateOf receivedAt answeredAt body reply ${extra.join(" ")}
        }
      }
    }`,
    {
      path: path || null,
      section: section || null,
      replyCode: replyCode || null,
      from: fromDay ? `${fromDay} 00:00:00` : null,
      to: toDay ? `${toDay} 23:59:59` : null,
      after,
    },
  );
  const calls = (data && data.operator && data.operator.inboundCalls) || [];
  const input = (name, value, placeholder, size = 10) => h("input", { name, value, placeholder, size });
  const dayBox = (name, value) => h("input", { type: "date", name, value });
  const marks = (c) =>
    [
      c.duplicateOf ? `重复于 ${c.duplicateOf}` : c.isRepeat ? "重复调用" : "",
      c.replayOf ? `重放自 ${c.replayOf}（${c.replayedBy || "—"}）` : "",
      c.claimedHospitalId && c.claimedHospitalId !== c.hospitalId ? `声称医院 ${c.claimedHospitalId}` : "",
    ]
      .filter(Boolean)
      .join("；");
  const older = new URLSearchParams(params);
  if (calls.length) older.set("after", calls[calls.length - 1].id);
  return view(
    "医院调用记录",
    problem(errorsAt(errors, "operator")),
    filterForm(
      ctx,
      "inbound",
      [
        h("label", {}, "章节 ", input("section", section, "14.1.1", 8)),
        h("label", {}, "应答码 ", input("replyCode", replyCode, "10001", 8)),
        h("label", {}, "从 ", dayBox("from", fromDay)),
        h("label", {}, "到 ", dayBox("to", toDay)),
        h("label", {}, "接口路径 ", input("path", path, "/prefront/...", 24)),
      ],
      "筛选",
    ),
    table(
      [
        { title: "编号", value: (c) => c.id },
        { title: "时间", value: (c) => shownTime(c.receivedAt) },
        { title: "医院", value: (c) => c.hospitalId },
        { title: "章节", value: (c) => c.section },
        { title: "路径", value: (c) => h("code", {}, c.path) },
        { title: "应答码", value: (c) => badge(c.replyCode, c.replyCode === "10001" ? "ok" : "warn") },
        { title: "标记", value: marks },
        {
          title: "内容",
          value: (c) => h("details", {}, h("summary", {}, "请求/应答"), h("pre", {}, c.body), h("pre", {}, c.reply)),
        },
        {
          title: "操作",
          value: (c) =>
            h("button", { type: "button", class: "secondary", "data-replay": c.id, onclick: () => replay(ctx, c) }, "重放"),
        },
      ],
      calls,
      { empty: "没有调用记录" },
    ),
    calls.length === PAGE
      ? h(
          "button",
          { type: "button", class: "secondary", "data-action": "older-calls", onclick: () => ctx.go("inbound", older) },
          "更早的调用",
        )
      : null,
  );
}

async function replay(ctx, call) {
  const ok = await confirmDialog({
    title: `重放调用 ${call.id}`,
    body: [
      h("p", {}, `以医院 ${call.hospitalId || "—"} 的身份再次调用 ${call.path}。重复的调用只会按第一次应答，不会再次执行。`),
    ],
    confirmText: "确认重放",
  });
  if (ok === null) return;
  const { data, errors } = await gql(
    `mutation Replay($id: ID!) {
      replayInboundCall(callId: $id) {
        __typename
        ... on InboundReplaySuccess { success replyCode }
        ... on Refusal { code message }
      }
    }`,
    { id: call.id },
  );
  const answer = data && data.replayInboundCall;
  if (answer && answer.__typename === "InboundReplaySuccess") ctx.flash(`已重放调用 ${call.id}，应答码 ${answer.replyCode ?? "—"}`, answer.success ? "ok" : "warn");
  else ctx.flash(`未能重放：${answer ? `${answer.code} ${answer.message}` : errors.map((e) => e.message).join("；")}`, "bad");
  await ctx.refresh();
}

// ---------------------------------------------------------------- jobs

export async function jobs(ctx, params) {
  const nextRun = ctx.caps.jobRun.has("nextRunAt");
  const failedOnly = params.get("failedOnly") === "1" && ctx.caps.jobRunFailedOnly;
  const filter = failedOnly ? "failedOnly: true, " : "";
  const { data, errors } = await gql(`{
    operator { jobRuns(${filter}limit: 100) { id job task state instance attempt scheduledFor startedAt finishedAt hospitals queued error
      ${nextRun ? "nextRunAt" : ""} failures { hospitalId code message } } }
  }`);
  const runs = (data && data.operator && data.operator.jobRuns) || [];
  const canRun = ctx.region && ctx.caps.mutations.has("runJobNow");
  const names = [...new Set(runs.map((r) => r.job))];
  const columns = [
    { title: "任务", value: (r) => `${r.job} (${r.task})` },
    { title: "计划时间", value: (r) => shownTime(r.scheduledFor) },
    { title: "状态", value: (r) => jobBadge(r.state) },
    { title: "医院数", value: (r) => String(r.hospitals), class: "num" },
    { title: "入队消息", value: (r) => String(r.queued), class: "num" },
    { title: "完成时间", value: (r) => shownTime(r.finishedAt) },
  ];
  if (nextRun) columns.push({ title: "下次运行", value: (r) => shownTime(r.nextRunAt) });
  columns.push({
    title: "失败",
    value: (r) => (r.failures.length ? r.failures.map((f) => `${f.hospitalId}: ${f.code} ${f.message}`).join("；") : r.error),
  });
  const filterBox = h("input", { type: "checkbox", name: "failedOnly", value: "1", checked: failedOnly });
  return view(
    "定时任务",
    problem(errorsAt(errors, "operator")),
    ctx.caps.jobRunFailedOnly ? filterForm(ctx, "jobs", [h("label", { class: "inline" }, filterBox, "只看失败的运行")], "筛选") : null,
    canRun && names.length
      ? h(
          "div",
          { class: "actions" },
          names.map((name) => h("button", { type: "button", class: "secondary", onclick: () => runNow(ctx, name) }, `立即运行 ${name}`)),
        )
      : null,
    table(columns, runs, { empty: "暂无任务记录" }),
  );
}

async function runNow(ctx, job) {
  const ok = await confirmDialog({ title: `立即运行 ${job}`, body: [h("p", {}, "任务会立即运行一次。")], confirmText: "运行" });
  if (ok === null) return;
  const { data, errors } = await gql("mutation Run($job: String!) { runJobNow(job: $job) { id state } }", { job });
  if (data && data.runJobNow) ctx.flash(`已运行 ${job}`, "ok");
  else ctx.flash(`未能运行 ${job}：${errors.map((e) => e.message).join("；")}`, "bad");
  await ctx.refresh();
}

// ---------------------------------------------------------------- audit log

const AUDIT_ACTIONS = {
  login: "登录",
  "login-failed": "登录失败",
  logout: "退出登录",
  "password-changed": "修改密码",
  "password-reset": "重置密码",
  "operator-disabled": "停用操作员",
  "inbound-call-replayed": "重放医院调用",
  "parked-order-resolved": "处理挂起订单",
  "job-run-started": "立即运行任务",
  "reconciliation-checked": "对账",
  "mismatch-acknowledged": "确认差异",
  "patient-data-read": "查看患者数据",
};

export async function audit(ctx, params) {
  const operator = params.get("operator") || "";
  const action = AUDIT_ACTIONS[params.get("action")] ? params.get("action") : "";
  const day = (name) => (/^\d{4}-\d{2}-\d{2}$/.test(params.get(name) || "") ? params.get(name) : "");
  const fromDay = day("from");
  const toDay = day("to");
  const after = params.get("after") || null;
  const { data, errors } = await gql(
    `query Audit($operator: String, $action: String, $from: DateTime, $to: DateTime, $after: String) {
      operator { auditLog(operator: $operator, action: $action, from: $from, to: $to, first: 50, after: $after) {
        entries { id at operator action hospitalId target detail address } endCursor hasNextPage } }
    }`,
    {
      operator: operator || null,
      action: action || null,
      from: fromDay ? `${fromDay} 00:00:00` : null,
      to: toDay ? `${toDay} 23:59:59` : null,
      after,
    },
  );
  const page = data && data.operator && data.operator.auditLog;
  const next = new URLSearchParams(params);
  if (page && page.endCursor) next.set("after", page.endCursor);
  return view(
    "审计日志",
    problem(errorsAt(errors, "operator")),
    filterForm(
      ctx,
      "audit",
      [
        h("label", {}, "操作员 ", h("input", { name: "operator", value: operator })),
        h(
          "label",
          {},
          "动作 ",
          h(
            "select",
            { name: "action" },
            h("option", { value: "" }, "全部动作"),
            Object.entries(AUDIT_ACTIONS).map(([value, text]) => h("option", { value, selected: value === action }, text)),
          ),
        ),
        h("label", {}, "从 ", h("input", { type: "date", name: "from", value: fromDay })),
        h("label", {}, "到 ", h("input", { type: "date", name: "to", value: toDay })),
      ],
      "筛选",
    ),
    table(
      [
        { title: "时间", value: (e) => shownTime(e.at) },
        { title: "操作员", value: (e) => e.operator },
        { title: "动作", value: (e) => AUDIT_ACTIONS[e.action] || e.action },
        { title: "医院", value: (e) => e.hospitalId },
        { title: "对象", value: (e) => e.target },
        { title: "详情", value: (e) => e.detail },
        { title: "地址", value: (e) => e.address },
      ],
      page ? page.entries : [],
      { empty: "没有审计记录" },
    ),
    page && page.hasNextPage ? h("button", { type: "button", class: "secondary", onclick: () => ctx.go("audit", next) }, "下一页") : null,
  );
}

// ---------------------------------------------------------------- operators (region administrators)

export async function operators(ctx) {
  const { data, errors } = await gql("{ operator { operators { username role hospitalId disabled lastLoginAt } } }");
  const accounts = (data && data.operator && data.operator.operators) || [];
  return view(
    "操作员",
    problem(errorsAt(errors, "operator")),
    table(
      [
        { title: "用户名", value: (a) => a.username },
        { title: "角色", value: (a) => (a.role === "REGION" ? "区域" : "医院") },
        { title: "医院", value: (a) => a.hospitalId },
        { title: "状态", value: (a) => (a.disabled ? badge("已停用", "muted") : badge("启用", "ok")) },
        { title: "最近登录", value: (a) => shownTime(a.lastLoginAt) },
        {
          title: "操作",
          value: (a) =>
            a.disabled || a.username === ctx.me.username
              ? ""
              : h(
                  "span",
                  { class: "actions" },
                  h("button", { type: "button", class: "secondary", "data-reset": a.username, onclick: () => reset(ctx, a.username) }, "重置密码"),
                  " ",
                  h("button", { type: "button", class: "danger", "data-disable": a.username, onclick: () => disable(ctx, a.username) }, "停用"),
                ),
        },
      ],
      accounts,
      { empty: "没有操作员" },
    ),
  );
}

async function disable(ctx, username) {
  const ok = await confirmDialog({
    title: `停用操作员 ${username}`,
    body: [h("p", {}, "停用后该操作员不能登录，现有会话立即失效。此操作会写入审计日志。")],
    confirmText: "确认停用",
    danger: true,
  });
  if (ok === null) return;
  const { data, errors } = await gql(
    `mutation Disable($username: String!) {
      disableOperator(username: $username) {
        __typename ... on OperatorAccount { username disabled } ... on Refusal { code message }
      }
    }`,
    { username },
  );
  const answer = data && data.disableOperator;
  if (answer && answer.__typename === "OperatorAccount") ctx.flash(`已停用 ${username}`, "ok");
  else ctx.flash(`未能停用：${answer ? answer.message : errors.map((e) => e.message).join("；")}`, "bad");
  await ctx.refresh();
}

async function reset(ctx, username) {
  const ok = await confirmDialog({
    title: `重置 ${username} 的密码`,
    body: [h("p", {}, "将生成一次性密码，该操作员现有会话立即失效；登录后请其修改密码。此操作会写入审计日志。")],
    confirmText: "确认重置",
    danger: true,
  });
  if (ok === null) return;
  const { data, errors } = await gql(
    `mutation Reset($username: String!) {
      resetOperatorPassword(username: $username) {
        __typename ... on OperatorPasswordReset { username oneTimePassword } ... on Refusal { code message }
      }
    }`,
    { username },
  );
  const answer = data && data.resetOperatorPassword;
  if (!answer || answer.__typename !== "OperatorPasswordReset") {
    ctx.flash(`未能重置：${answer ? answer.message : errors.map((e) => e.message).join("；")}`, "bad");
    return;
  }
  await confirmDialog({
    title: `${username} 的一次性密码`,
    body: [
      h("p", {}, "请交给该操作员；关闭后不再显示。"),
      h("p", {}, h("code", { "data-testid": "one-time-password" }, answer.oneTimePassword)),
    ],
    confirmText: "已记下",
  });
  ctx.flash(`已重置 ${username} 的密码`, "ok");
  await ctx.refresh();
}

// ---------------------------------------------------------------- the operator's own password

// A dialog asking the current and the new password (twice); changeOperatorPassword ends the operator's other
// sessions. An operator given a one-time password changes it here after signing in.
export function changePassword(ctx) {
  const field = (name, label, autocomplete) =>
    h("label", {}, label, h("input", { type: "password", name, autocomplete, required: true, minlength: 12 }));
  const error = h("p", { class: "problem", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "password-form" },
    field("oldPassword", "当前密码", "current-password"),
    field("newPassword", "新密码（至少 12 位）", "new-password"),
    field("repeated", "再次输入新密码", "new-password"),
    error,
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { type: "button", class: "secondary", onclick: () => close() }, "取消"),
      h("button", { type: "submit", class: "primary" }, "修改密码"),
    ),
  );
  const dialog = h("dialog", { class: "confirm", "aria-label": "修改密码" }, h("h3", {}, "修改密码"), form);
  function close() {
    dialog.close();
    dialog.remove();
  }
  function say(text) {
    error.textContent = text;
    error.hidden = false;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    if (values.newPassword !== values.repeated) return say("两次输入的新密码不一致");
    const { data, errors } = await gql(
      `mutation Change($old: String!, $new: String!) {
        changeOperatorPassword(oldPassword: $old, newPassword: $new) {
          __typename ... on OperatorAccount { username } ... on Refusal { code message }
        }
      }`,
      { old: values.oldPassword, new: values.newPassword },
    );
    const answer = data && data.changeOperatorPassword;
    if (answer && answer.__typename === "OperatorAccount") {
      close();
      ctx.flash("密码已修改，其他会话已失效", "ok");
      await ctx.refresh();
    } else {
      say(`未能修改：${answer ? answer.message : errors.map((e) => e.message).join("；")}`);
    }
  });
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    close();
  });
  document.body.append(dialog);
  dialog.showModal();
}
