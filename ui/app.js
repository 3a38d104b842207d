// taskgate's dashboard: follows GET /events (read with fetch, so that it can send the token), and reads /stats and
// /workers every few seconds. Everything it shows comes from the API; it keeps at most 200 tasks and 120 seconds of
// throughput.
"use strict";

const state = {
  token: sessionStorage.getItem("taskgate.token") || "",
  tasks: new Map(),          // id -> task event data, newest last
  finishedPerSecond: new Map(), // unix second -> count
  selected: null,
  lastEventId: "",
  stream: null,
};
const $ = (id) => document.getElementById(id);

function headers(extra) {
  const all = Object.assign({}, extra || {});
  if (state.token) all["Authorization"] = "Bearer " + state.token;
  return all;
}

async function api(method, path) {
  const response = await fetch(path, { method, headers: headers() });
  if (response.status === 401) { askForToken("the token was refused"); throw new Error("unauthorized"); }
  const body = await response.text();
  let json = null;
  try { json = body ? JSON.parse(body) : null; } catch (_) { json = null; }
  return { status: response.status, json };
}

function askForToken(reason) {
  $("board").hidden = true;
  $("token-form").hidden = false;
  $("token-error").textContent = state.token ? reason : "";
  if (state.stream) { state.stream.abort(); state.stream = null; }
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("token-input").value.trim();
  sessionStorage.setItem("taskgate.token", state.token);
  start();
});

function text(value) { return value === undefined || value === null ? "" : String(value); }

function cell(row, value, className) {
  const td = document.createElement("td");
  td.textContent = text(value);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function fill(tableID, rows, build) {
  const body = $(tableID).querySelector("tbody");
  body.replaceChildren();
  for (const item of rows) {
    const row = document.createElement("tr");
    build(row, item);
    body.appendChild(row);
  }
}

async function refresh() {
  const [stats, workers] = await Promise.all([api("GET", "/stats"), api("GET", "/workers")]);
  if (stats.status === 200) {
    const s = stats.json;
    $("summary").textContent =
      `${s.tasks.pending} pending · ${s.tasks.running} running · ${s.totals.succeeded} succeeded · ` +
      `${s.totals.failed} failed · ${s.totals.canceled} canceled · load ${s.load}/${s.capacity}`;
    fill("functions", s.functions || [], (row, f) => {
      for (const value of [f.name, f.pending, f.running, f.succeeded, f.failed, f.canceled]) cell(row, value);
    });
  }
  if (workers.status === 200) {
    fill("workers", workers.json.workers, (row, w) => {
      for (const value of [w.id, w.name, w.kind + (w.draining ? " (draining)" : ""), `${w.load}/${w.capacity}`,
        w.functions.join(", ")]) cell(row, value);
    });
  }
}

// The counts follow the events, at most twice a second.
let refreshPending = false;
function refreshSoon() {
  if (refreshPending) return;
  refreshPending = true;
  setTimeout(() => { refreshPending = false; refresh().catch(() => {}); }, 500);
}

function renderTasks() {
  const onlyFailed = $("only-failed").checked;
  const tasks = Array.from(state.tasks.values()).reverse().filter((t) => !onlyFailed || t.state === "failed");
  fill("tasks", tasks.slice(0, 50), (row, t) => {
    row.dataset.id = t.id;
    row.dataset.state = t.state;
    cell(row, t.id);
    cell(row, t.function);
    cell(row, t.state, "state-" + t.state);
    cell(row, t.attempt);
    cell(row, (t.updated_at || "").replace("T", " ").slice(0, 23));
    row.addEventListener("click", () => select(t.id));
  });
}
$("only-failed").addEventListener("change", renderTasks);

function onTaskEvent(task) {
  const before = state.tasks.get(task.id);
  state.tasks.delete(task.id);
  state.tasks.set(task.id, task);
  while (state.tasks.size > 200) state.tasks.delete(state.tasks.keys().next().value);
  if (task.done && task.finished_at) {
    const second = Math.floor(Date.parse(task.finished_at) / 1000);
    // Counted once, when the task is first seen finished (a webhook's later changes are new versions of it too).
    if (!(before && before.done)) state.finishedPerSecond.set(second, (state.finishedPerSecond.get(second) || 0) + 1);
  }
  if (state.selected === task.id) select(task.id);
}

function drawChart() {
  const canvas = $("chart");
  const context = canvas.getContext("2d");
  const now = Math.floor(Date.now() / 1000);
  const seconds = 120;
  const values = [];
  for (let s = now - seconds + 1; s <= now; s++) values.push(state.finishedPerSecond.get(s) || 0);
  for (const key of state.finishedPerSecond.keys()) if (key < now - seconds) state.finishedPerSecond.delete(key);
  const peak = Math.max(1, ...values);
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = "#1f4fa8";
  const width = canvas.width / seconds;
  values.forEach((value, index) => {
    const height = (canvas.height - 20) * value / peak;
    context.fillRect(index * width, canvas.height - height, Math.max(1, width - 1), height);
  });
  context.fillStyle = "#1d2330";
  context.fillText(`peak ${peak}/s, now ${values[values.length - 1]}/s`, 4, 12);
}

async function select(id) {
  state.selected = id;
  $("detail").hidden = false;
  $("detail-id").textContent = id;
  const [task, logs] = await Promise.all([api("GET", `/tasks/${id}`), api("GET", `/tasks/${id}/logs`)]);
  if (task.status !== 200) { $("detail-state").textContent = `${task.status} ${text(task.json && task.json.code)}`; return; }
  const t = task.json;
  $("detail-state").textContent = `${t.state} (version ${t.version}, attempt ${t.attempt})` +
    (t.cancel ? `\ncancel: ${text(t.cancel.confirm) || "waiting for the worker"}` : "") +
    (t.callback ? `\nwebhook: ${t.callback.state} after ${t.callback.attempts} attempt(s)` : "");
  $("detail-args").textContent = JSON.stringify(t.args, null, 2);
  $("detail-result").textContent = t.error ? `${t.error.code}: ${t.error.detail}` :
    ("result" in t ? JSON.stringify(t.result, null, 2) : "");
  $("cancel").disabled = t.done;
  fill("detail-attempts", t.attempts || [], (row, a) => {
    for (const value of [a.attempt, `${a.worker_name} (${a.worker})`, `${a.queue_wait_s.toFixed(3)} s`,
      a.run_s === undefined ? "running" : `${a.run_s.toFixed(3)} s`, a.outcome || ""]) cell(row, value);
  });
  const lines = logs.status === 200 ? logs.json.lines : [];
  $("detail-logs").textContent = (logs.status === 200 && logs.json.dropped ? `(${logs.json.dropped} earlier lines left out)\n` : "") +
    (lines.length ? lines.map((l) => `[${l.attempt}] ${l.text}`).join("\n") : "(no log lines)");
}

$("cancel").addEventListener("click", async () => {
  const id = state.selected;
  $("cancel-outcome").textContent = "cancelling…";
  const answer = await api("DELETE", `/tasks/${id}?wait=5`);
  const outcome = answer.status === 200 ? `canceled (confirmed, ${answer.json.cancel ? text(answer.json.cancel.confirm) : "canceled"})`
    : answer.status === 202 ? "canceling: the worker has not confirmed yet"
    : answer.status === 409 ? `not canceled: ${answer.json.detail}`
    : `${answer.status} ${text(answer.json && answer.json.code)}`;
  $("cancel-outcome").textContent = outcome;
  $("cancel-outcome").dataset.status = String(answer.status);
  select(id);
});

// The event stream, read with fetch: Server-Sent Events parsed here (EventSource cannot send a token).
async function follow() {
  const controller = new AbortController();
  state.stream = controller;
  try {
    const extra = state.lastEventId ? { "Last-Event-ID": state.lastEventId } : {};
    const response = await fetch("/events?results=true", { headers: headers(extra), signal: controller.signal });
    if (response.status === 401) { askForToken("the token was refused"); return; }
    if (response.status !== 200) throw new Error("stream answered " + response.status);
    $("live").textContent = "live";
    $("live").className = "badge on";
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message", data = "", id = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) name = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
          else if (line.startsWith("id: ")) id = line.slice(4);
        }
        if (id) state.lastEventId = id;
        if (name === "task" && data) { onTaskEvent(JSON.parse(data)); refreshSoon(); }
        else if (name === "worker" || name === "reset") refresh();
      }
      renderTasks();
    }
  } catch (error) {
    if (controller.signal.aborted) return;
  }
  $("live").textContent = "reconnecting";
  $("live").className = "badge";
  if (state.stream === controller) setTimeout(follow, 2000);
}

async function start() {
  const probe = await fetch("/stats", { headers: headers() });
  if (probe.status === 401) { askForToken(state.token ? "the token was refused" : ""); return; }
  $("token-form").hidden = true;
  $("board").hidden = false;
  await refresh();
  follow();
}

setInterval(() => { if (!$("board").hidden) { drawChart(); } }, 1000);
setInterval(() => { if (!$("board").hidden) { refresh().catch(() => {}); } }, 3000);
start();
