// Control desk client. Danmaku text is hostile: every value reaches the page through
// textContent or attribute setters of known-safe values, never through HTML parsing.
"use strict";

const LABELS = {
  return_refund: "退换退款", logistics: "物流发货", quality: "质量问题", warranty: "保修维修",
  price_promo: "价格优惠赠品", info_mismatch: "信息不符", complaint: "投诉维权",
  product_info: "商品咨询", other: "其他",
  price: "价格", free_shipping: "包邮", ship_within_hours: "发货时效", presale_days: "预售",
  seven_day_return: "七天无理由", warranty_months: "保修期", gifts: "赠品", specs: "规格",
  ad_law: "广告法绝对化用语",
};
const KINDS = { inquiry: "售后问题", misstatement: "口播错误", spike: "集中爆发", compliance: "违规用语" };
const STATES = { open: "待处理", acked: "已确认", escalated: "已升级", resolved: "已解决" };
const SEVERITY_RANK = { low: 0, medium: 1, high: 2, critical: 3 };

const state = {
  alerts: new Map(),      // alert_id -> alert
  rooms: new Map(),       // room -> room status
  products: [],
  room: null,             // selected room
  selected: null,         // selected alert_id
  skew: 0,                // server clock minus local clock, seconds
  sound: false,
  wall: new URLSearchParams(location.search).get("view") === "wall",
};

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// The correction line may already start with 更正; the banner adds its own lead-in.
function correction(a) { return String(a.correction || "").replace(/^\s*更正\s*[:：]\s*/, ""); }

function label(cat) { return LABELS[cat] || String(cat || ""); }
function now() { return Date.now() / 1000 + state.skew; }
function hhmmss(ts) { return new Date(ts * 1000).toLocaleTimeString("zh-CN", { hour12: false }); }

function countdown(seconds) {
  const s = Math.abs(Math.round(seconds));
  const text = `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  return seconds < 0 ? `已超时 ${text}` : `SLA ${text}`;
}

function title(a) {
  if (a.kind === "inquiry") return `${label(a.category)}`;
  if (a.kind === "misstatement") return `口播错误 · ${label(a.category)}`;
  if (a.kind === "compliance") return `违规用语 · ${label(a.category)}`;
  return `集中爆发 · ${label(a.category)}`;
}

// -- server calls ------------------------------------------------------------------------

async function call(method, path, body) {
  const response = await fetch(path, {
    method, credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).error || message; } catch (_) { /* not json */ }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json();
}

function toast(text, error) {
  const node = $("toast");
  node.textContent = text;
  node.classList.toggle("error", Boolean(error));
}

function staff() { return $("staff").value.trim() || "中控"; }

async function act(action, extra) {
  const a = state.alerts.get(state.selected);
  if (!a) { toast("请先选择一条告警", true); return; }
  try {
    const updated = await call("POST", `/api/v1/alerts/${encodeURIComponent(a.alert_id)}/${action}`,
      Object.assign({ staff: staff() }, extra || {}));
    upsert(updated, false);
    toast({ ack: "已确认", resolve: "已解决", assign: "已指派" }[action] + "：" + title(updated));
  } catch (err) { toast(`操作失败：${err.message}`, true); }
}

async function mute() {
  const a = state.alerts.get(state.selected);
  if (!a) { toast("请先选择一条告警", true); return; }
  try {
    await call("POST", "/api/v1/silences", {
      matchers: { room: a.room, kind: a.kind, category: a.category },
      for_broadcast: true, by: staff(), comment: "中控台：本场静音",
    });
    toast(`本场已静音：${a.room} · ${title(a)}`);
  } catch (err) { toast(`静音失败：${err.message}`, true); }
}

async function copyReply() {
  const text = $("reply").textContent;
  if (!text) { toast("没有可复制的回复", true); return; }
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) {
    const area = el("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  toast("回复已复制，可粘贴到飘屏");
}

async function switchSku(sku) {
  if (!state.room) return;
  try {
    await call("PUT", `/api/v1/lineup/${encodeURIComponent(state.room)}`, { sku: sku || null });
    const r = state.rooms.get(state.room);
    if (r) r.sku = sku || null;
    toast(`已切换商品：${sku || "无"}`);
    render();
  } catch (err) { toast(`切换失败：${err.message}`, true); }
}

// -- state -------------------------------------------------------------------------------

function beep(severity) {
  if (!state.sound) return;
  const ctx = beep.ctx || (beep.ctx = new AudioContext());
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.frequency.value = severity === "critical" ? 880 : 660;
  gain.gain.value = 0.15;
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  osc.stop(ctx.currentTime + (severity === "critical" ? 0.5 : 0.2));
}

function upsert(a, live) {
  const before = state.alerts.get(a.alert_id);
  if (before && before.version > a.version) return;
  state.alerts.set(a.alert_id, a);
  if (live && !before && (SEVERITY_RANK[a.severity] >= 2 || a.kind !== "inquiry")) beep(a.severity);
  a._fresh = live && (!before || before.count !== a.count);
  if (!state.rooms.has(a.room)) state.rooms.set(a.room, { room: a.room, connected: null, stale: false, sku: null, counts: { recent: {}, total: {}, spiking: [] } });
  if (!state.room) state.room = a.room;
}

function setRooms(rooms, serverNow) {
  state.skew = serverNow - Date.now() / 1000;
  for (const r of rooms) state.rooms.set(r.room, r);
  if (!state.room && rooms.length) state.room = rooms[0].room;
}

function roomAlerts(room, includeResolved) {
  return [...state.alerts.values()]
    .filter((a) => a.room === room && (includeResolved || a.state !== "resolved"))
    .sort((x, y) => y.last_seen - x.last_seen);
}

function bannerAlert(room) {
  return roomAlerts(room, false).find((a) => a.kind === "misstatement" || a.kind === "compliance");
}

// -- rendering ---------------------------------------------------------------------------

function renderTabs() {
  const tabs = $("tabs");
  tabs.replaceChildren();
  [...state.rooms.keys()].sort().forEach((room, i) => {
    const r = state.rooms.get(room);
    const open = roomAlerts(room, false).length;
    const tab = el("button", "tab");
    tab.type = "button";
    tab.setAttribute("aria-selected", String(room === state.room));
    tab.title = `${i + 1}`;
    // connected is null for rooms without a live connection (replay, push relays).
    const dot = r.connected === true ? (r.stale ? " stale" : " up") : (r.connected === false ? "" : " unknown");
    tab.append(el("span", `dot${dot}`), el("span", "", room),
      el("span", `badge${open ? "" : " zero"}`, open));
    tab.addEventListener("click", () => { state.room = room; state.selected = null; render(); });
    tabs.append(tab);
  });
}

function renderBanner() {
  const banner = $("banner");
  const a = state.room && bannerAlert(state.room);
  banner.hidden = !a;
  if (!a) return;
  banner.className = a.kind === "compliance" ? "compliance" : "";
  banner.dataset.alertId = a.alert_id;
  banner.querySelector(".banner-kind").textContent =
    a.kind === "compliance" ? `⚠ 违规用语：${label(a.category)}` : `⚠ 主播口播错误：${label(a.category)}`;
  banner.querySelector(".banner-claim").textContent = a.examples && a.examples.length ? `原话：${a.examples[0]}` : "";
  banner.querySelector(".banner-correction").textContent =
    a.correction ? `请主播更正：${correction(a)}` : "请主播立即停止使用并更正";
}

function alertCard(a) {
  const li = el("li", `alert sev-${a.severity} kind-${a.kind} state-${a.state}`);
  li.dataset.alertId = a.alert_id;
  if (a.alert_id === state.selected) li.classList.add("selected");
  if (a._fresh) { li.classList.add("fresh"); a._fresh = false; }
  const head = el("div", "head");
  head.append(el("span", `state-tag ${a.state}`, STATES[a.state] || a.state), document.createTextNode(" " + title(a)));
  const meta = el("div", "meta",
    `${KINDS[a.kind] || a.kind} · ${hhmmss(a.last_seen)} · 首次 ${hhmmss(a.first_seen)}` +
    (a.sku ? ` · 商品 ${a.sku}` : "") + (a.assignee ? ` · 指派 ${a.assignee}` : "") +
    (a.escalation_level ? ` · 升级 ${a.escalation_level} 级` : ""));
  const examples = el("ul", "examples");
  for (const text of (a.examples || []).slice(0, 3)) examples.append(el("li", "", text));
  const side = el("div", "side");
  side.append(el("div", "count", `×${a.count}`));
  const sla = el("div", "sla");
  sla.dataset.deadline = a.sla_deadline == null ? "" : String(a.sla_deadline);
  side.append(sla);
  li.append(head, side, meta, examples);
  if (a.faq_question) li.append(el("div", "faq", `FAQ：${a.faq_question}`));
  li.addEventListener("click", () => { state.selected = a.alert_id; render(); });
  return li;
}

function renderFeed() {
  const list = roomAlerts(state.room, $("show-resolved").checked);
  if (state.selected && !list.some((a) => a.alert_id === state.selected)) state.selected = null;
  if (!state.selected && list.length) state.selected = list[0].alert_id;
  $("feed").replaceChildren(...list.map(alertCard));
  $("empty").hidden = list.length > 0;
  $("open-count").textContent = `(${roomAlerts(state.room, false).length} 条未解决)`;
  const r = state.rooms.get(state.room);
  const warning = $("room-warning");
  if (r && r.connected === false) {
    warning.hidden = false;
    warning.textContent = r.last_message == null ? `⚠ ${r.room} 弹幕源未连上，正在重试…` : `⚠ ${r.room} 弹幕源已断开，正在重连…`;
  }
  else if (r && r.stale) { warning.hidden = false; warning.textContent = `⚠ ${r.room} 超过一分钟没有新弹幕，请检查直播间或弹幕源`; }
  else warning.hidden = true;
}

function renderDetail() {
  const a = state.alerts.get(state.selected);
  $("detail-title").textContent = a ? `${title(a)} · ×${a.count}` : "用 ↑↓ 选择告警";
  $("detail-title").classList.toggle("muted", !a);
  $("reply").textContent = a ? (a.suggested_reply || a.correction || "") : "";
  for (const id of ["btn-ack", "btn-assign", "btn-resolve", "btn-fp", "btn-mute", "copy-reply"]) $(id).disabled = !a;
  if (a) $("btn-ack").disabled = a.state === "acked" || a.state === "resolved";
}

function renderSide() {
  const r = state.rooms.get(state.room);
  const sku = r ? r.sku : null;
  const product = state.products.find((p) => p.sku === sku);
  $("sku-now").textContent = sku ? `${sku}${product ? " · " + product.name : ""}` : "未设置";
  const select = $("sku-select");
  if (select.options.length !== state.products.length + 1) {
    select.replaceChildren(el("option", "", "— 切换商品 —"));
    select.options[0].value = "";
    for (const p of state.products) {
      const option = el("option", "", `${p.sku} · ${p.name}`);
      option.value = p.sku;
      select.append(option);
    }
  }
  if (document.activeElement !== select) select.value = sku || "";
  const counts = r ? r.counts : { recent: {}, total: {}, spiking: [] };
  const cats = Object.keys(counts.total).sort((x, y) => (counts.total[y] || 0) - (counts.total[x] || 0));
  $("counts").tBodies[0].replaceChildren(...cats.map((cat) => {
    const tr = el("tr", counts.spiking.includes(cat) ? "spike" : "");
    tr.append(el("td", "", label(cat) + (counts.spiking.includes(cat) ? " ▲爆发" : "")),
      el("td", "", counts.recent[cat] || 0), el("td", "", counts.total[cat] || 0));
    return tr;
  }));
}

function renderWall() {
  const wall = $("wall");
  wall.replaceChildren(...[...state.rooms.keys()].sort().map((room) => {
    const r = state.rooms.get(room);
    const open = roomAlerts(room, false);
    const banner = bannerAlert(room);
    const tile = el("section", "tile");
    if (r.connected === false) tile.classList.add("down");
    else if (r.stale) tile.classList.add("stale");
    if (banner || open.some((a) => a.severity === "critical" || a.state === "escalated")) tile.classList.add("alarm");
    const h = el("h3");
    h.append(el("span", "", room), el("span", "", `${open.length} 条`));
    tile.append(h, el("div", "tile-sku", `商品 ${r.sku || "—"}${r.stale ? " · 弹幕停滞" : ""}`));
    if (banner) tile.append(el("div", "tile-banner", banner.correction ? `更正：${correction(banner)}` : title(banner)));
    const list = el("ol");
    for (const a of open.slice(0, 6)) list.append(el("li", "", `${STATES[a.state]} · ${title(a)} ×${a.count} · ${(a.examples || [""])[0]}`));
    tile.append(list);
    tile.addEventListener("click", () => { state.room = room; setWall(false); });
    return tile;
  }));
}

function tick() {
  const t = now();
  $("clock").textContent = hhmmss(t);
  for (const node of document.querySelectorAll(".sla")) {
    const id = node.closest(".alert").dataset.alertId;
    const a = state.alerts.get(id);
    const deadline = node.dataset.deadline;
    if (!deadline || !a || a.state === "resolved") { node.textContent = ""; continue; }
    const left = Number(deadline) - t;
    node.textContent = countdown(left);
    node.classList.toggle("soon", left >= 0 && left < 30);
    node.classList.toggle("over", left < 0);
  }
}

function render() {
  document.body.classList.toggle("wall-mode", state.wall);
  $("wall").hidden = !state.wall;
  $("wall-toggle").textContent = state.wall ? "单间" : "多屏";
  renderTabs();
  if (state.wall) { renderWall(); return; }
  renderBanner();
  renderFeed();
  renderDetail();
  renderSide();
  tick();
}

let pending = false;
function scheduleRender() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render(); });
}

function setWall(on) {
  state.wall = on;
  const url = new URL(location.href);
  if (on) url.searchParams.set("view", "wall"); else url.searchParams.delete("view");
  history.replaceState(null, "", url);
  render();
}

// -- live feed ---------------------------------------------------------------------------

function connect() {
  const source = new EventSource("/api/v1/stream");
  const server = $("server");
  source.addEventListener("open", () => { server.textContent = "实时"; server.className = "conn up"; });
  source.addEventListener("error", () => { server.textContent = "与服务器断开，重连中…"; server.className = "conn down"; });
  source.addEventListener("snapshot", (event) => {
    const data = JSON.parse(event.data);
    state.alerts.clear();
    setRooms(data.rooms, data.now);
    for (const a of data.alerts) upsert(a, false);
    scheduleRender();
  });
  source.addEventListener("alert", (event) => { upsert(JSON.parse(event.data), true); scheduleRender(); });
  source.addEventListener("rooms", (event) => {
    const data = JSON.parse(event.data);
    setRooms(data.rooms, data.now);
    scheduleRender();
  });
}

// -- keyboard ----------------------------------------------------------------------------

function move(step) {
  const list = roomAlerts(state.room, $("show-resolved").checked);
  if (!list.length) return;
  const i = list.findIndex((a) => a.alert_id === state.selected);
  const next = list[Math.max(0, Math.min(list.length - 1, (i < 0 ? 0 : i + step)))];
  state.selected = next.alert_id;
  render();
  const node = document.querySelector(".alert.selected");
  if (node) node.scrollIntoView({ block: "nearest" });
}

function showAssign() {
  $("assign-row").hidden = false;
  $("assignee").focus();
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const tag = event.target.tagName;
  if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  const key = event.key.toLowerCase();
  const rooms = [...state.rooms.keys()].sort();
  const actions = {
    arrowdown: () => move(1), j: () => move(1), arrowup: () => move(-1), k: () => move(-1),
    a: () => act("ack"), s: showAssign, r: () => act("resolve"),
    f: () => act("resolve", { false_positive: true }), m: mute, c: copyReply,
    w: () => setWall(!state.wall), b: toggleSound,
  };
  if (actions[key]) { event.preventDefault(); actions[key](); return; }
  if (/^[1-9]$/.test(key) && rooms[Number(key) - 1]) {
    state.room = rooms[Number(key) - 1];
    state.selected = null;
    render();
  }
}

function toggleSound() {
  state.sound = !state.sound;
  const button = $("sound-toggle");
  button.setAttribute("aria-pressed", String(state.sound));
  button.textContent = state.sound ? "提示音：开" : "提示音：关";
  if (state.sound) beep("low");
}

function bannerAct(action) {
  const id = $("banner").dataset.alertId;
  if (!id) return;
  state.selected = id;
  act(action);
}

async function init() {
  $("staff").value = localStorage.getItem("danmaku.staff") || "中控";
  $("staff").addEventListener("change", () => localStorage.setItem("danmaku.staff", staff()));
  $("btn-ack").addEventListener("click", () => act("ack"));
  $("btn-resolve").addEventListener("click", () => act("resolve"));
  $("btn-fp").addEventListener("click", () => act("resolve", { false_positive: true }));
  $("btn-assign").addEventListener("click", showAssign);
  $("assign-go").addEventListener("click", () => {
    const who = $("assignee").value.trim();
    if (!who) { toast("请填写指派对象", true); return; }
    act("assign", { assignee: who });
    $("assign-row").hidden = true;
  });
  $("assignee").addEventListener("keydown", (e) => { if (e.key === "Enter") $("assign-go").click(); });
  $("btn-mute").addEventListener("click", mute);
  $("copy-reply").addEventListener("click", copyReply);
  $("sku-select").addEventListener("change", (e) => switchSku(e.target.value));
  $("show-resolved").addEventListener("change", render);
  $("wall-toggle").addEventListener("click", () => setWall(!state.wall));
  $("sound-toggle").addEventListener("click", toggleSound);
  document.querySelector("#banner .act-ack").addEventListener("click", () => bannerAct("ack"));
  document.querySelector("#banner .act-resolve").addEventListener("click", () => bannerAct("resolve"));
  document.addEventListener("keydown", onKey);
  setInterval(tick, 1000);
  try { state.products = await call("GET", "/api/v1/products"); } catch (_) { state.products = []; }
  connect();
  render();
}

document.addEventListener("DOMContentLoaded", init);
