// Centaur console: the live event stream of a thread page, the message form and "New conversation".
// The browser's EventSource cannot send an Authorization header; the HttpOnly centaur_key cookie set at sign-in
// authenticates it, and every call here goes to the same public API the CLI and the Slack adapter use.
"use strict";

(() => {
  const TYPES = ["execution_state", "assistant_delta", "assistant_message", "tool_use", "tool_result", "status", "error", "usage"];
  const TERMINAL = new Set(["succeeded", "failed", "cancelled", "interrupted"]);

  const badge = (state) =>
    ({ succeeded: "good", ready: "good", running: "busy", queued: "busy", spawning: "busy", failed: "bad",
       cancelled: "warn", interrupted: "warn", suspended: "warn" })[state] || "idle";

  const clock = (iso) => {
    const d = new Date(iso);
    return isNaN(d) ? "" : d.toISOString().slice(11, 19);
  };

  const truncate = (s, n) => (s.length <= n ? s : s.slice(0, n - 1) + "…");

  const text = (content) =>
    typeof content === "string" ? content
      : Array.isArray(content) ? content.map((b) => (b && b.text) || "").join("")
      : content == null ? "" : JSON.stringify(content);

  const tokens = (u) =>
    u && (u.input_tokens != null || u.output_tokens != null)
      ? `${(u.input_tokens || 0).toLocaleString("en")} / ${(u.output_tokens || 0).toLocaleString("en")}` : "–";

  // Mirrors ConsoleFormat.Summary on the server.
  const summary = (type, data) => {
    switch (type) {
      case "execution_state":
        return (data.state || "") + (data.error && typeof data.error === "object" ? `: ${data.error.message} (${data.error.code})` : "");
      case "assistant_message": case "assistant_delta": case "status":
        return truncate(data.text || "", 200);
      case "tool_use":
        return `${data.name} ${truncate(JSON.stringify(data.input ?? ""), 160)}`;
      case "tool_result":
        return (data.is_error ? "error: " : "") + truncate(text(data.content), 160);
      case "error":
        return `${data.message} (${data.code})`;
      case "usage":
        return `tokens ${tokens(data.usage)}` + (typeof data.cost_usd === "number" ? ` · $${data.cost_usd.toFixed(4)}` : "");
      default:
        return truncate(JSON.stringify(data), 200);
    }
  };

  const el = (tag, cls, content) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content != null) node.textContent = content;
    return node;
  };

  const randomId = () => {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  };

  async function api(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const payload = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(payload.detail || payload.title || `${path} answered ${response.status}`);
    return payload;
  }

  function threadPage(root) {
    const key = root.dataset.threadKey;
    let last = Number(root.dataset.lastEventId) || 0;
    const log = document.getElementById("event-log");
    const answer = document.getElementById("live-answer");
    const state = document.getElementById("live-state");
    const executionLabel = document.getElementById("live-execution");
    const note = document.getElementById("live-note");
    let execution = 0;
    let streamed = false;
    let source = null;
    let retry = 1000;
    let timer = 0;

    const setState = (value) => {
      state.textContent = value;
      state.className = `badge ${badge(value)}`;
    };

    // After each state change the server-rendered parts (transcript, sandbox, executions, tool calls, side effects,
    // egress) are fetched again from this same page and swapped in, so the page stays current without a reload and
    // without a second renderer in script. The live answer and the event log stay as the stream built them.
    let refreshing = false;
    let again = false;
    const refresh = async () => {
      if (refreshing) {
        again = true;
        return;
      }
      refreshing = true;
      try {
        const response = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
        if (!response.ok) return;
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const selector of ["#transcript", ".col-side", "#sandbox-state"]) {
          const next = fresh.querySelector(selector);
          const current = document.querySelector(selector);
          if (next && current) current.replaceWith(document.importNode(next, true));
        }
        const list = document.getElementById("transcript");
        list.scrollTop = list.scrollHeight;
        if (fresh.getElementById("transcript-empty") === null) document.getElementById("transcript-empty")?.remove();
      } finally {
        refreshing = false;
        if (again) {
          again = false;
          refresh();
        }
      }
    };

    const logRow = (ev) => {
      const row = el("li", `ev ev-${ev.type} fresh`);
      row.dataset.eventId = ev.event_id;
      row.append(el("time", null, clock(ev.created_at)), el("span", "id", `#${ev.event_id}`), el("span", "exec", `x${ev.execution_id}`),
        el("span", "type", ev.type), el("span", "summary", summary(ev.type, ev.data || {})));
      log.append(row);
      while (log.children.length > 400) log.firstElementChild.remove();
      row.scrollIntoView({ block: "nearest" });
    };

    const onEvent = (message) => {
      // The API's "error" event type shares its name with EventSource's own connection error, which has no data.
      if (typeof message.data !== "string") return;
      const ev = JSON.parse(message.data);
      if (!ev || typeof ev.event_id !== "number" || ev.event_id <= last) return; // a replayed event after a reconnect
      last = ev.event_id;
      retry = 1000;
      const data = ev.data || {};
      if (ev.execution_id !== execution) {
        execution = ev.execution_id;
        streamed = false;
        answer.textContent = "";
        note.hidden = true;
        executionLabel.textContent = `execution #${execution}`;
      }

      switch (ev.type) {
        case "assistant_delta":
          answer.textContent += data.text || "";
          streamed = true;
          break;
        case "assistant_message":
          if (!streamed) answer.textContent += (answer.textContent ? "\n\n" : "") + (data.text || "");
          streamed = false;
          logRow(ev);
          break;
        case "status":
          if (data.replay) {
            answer.textContent = "";
            streamed = false;
          }
          logRow(ev);
          break;
        case "execution_state":
          setState(data.state);
          logRow(ev);
          if (TERMINAL.has(data.state)) {
            if (!answer.textContent && data.result) answer.textContent = data.result;
            note.textContent = `Execution #${ev.execution_id} ${data.state}.`;
            note.hidden = false;
          }
          refresh();
          break;
        default:
          logRow(ev);
      }
    };

    const connect = () => {
      clearTimeout(timer);
      if (source) source.close();
      source = new EventSource(`/agent/threads/${encodeURIComponent(key)}/events?after_event_id=${last}`);
      for (const type of TYPES) source.addEventListener(type, onEvent);
      // The server ends an idle thread's stream on purpose (and a restarting API drops it): reopen it after the
      // last event seen, backing off while nothing happens. The query's after_event_id, not the browser's own
      // retry, decides where the stream resumes.
      source.onerror = () => {
        source.close();
        source = null;
        timer = setTimeout(connect, retry);
        retry = Math.min(retry * 2, 10000);
      };
    };

    const form = document.getElementById("send");
    const error = document.getElementById("send-error");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const textarea = form.elements.text;
      const body = textarea.value.trim();
      if (!body) return;
      const button = form.querySelector("button");
      button.disabled = true;
      error.hidden = true;
      try {
        const author = root.dataset.author || "console";
        await api("/agent/message", { thread_key: key, text: body, author, client_message_id: `console-${randomId()}` });
        await api("/agent/execute", { thread_key: key, idempotency_key: `console-${randomId()}` });
        textarea.value = "";
        refresh();
        retry = 1000;
        connect();
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });

    connect();
  }

  function threadsPage(button) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      const who = (button.dataset.author || "console").toLowerCase().replace(/[^a-z0-9_.-]/g, "");
      const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
      const key = `console:${who || "console"}-${stamp}-${randomId().slice(0, 4)}`;
      try {
        await api("/agent/spawn", { thread_key: key });
        location.href = `/console/thread?key=${encodeURIComponent(key)}`;
      } catch (err) {
        button.disabled = false;
        alert(err.message);
      }
    });
  }

  const root = document.getElementById("thread");
  if (root) threadPage(root);
  const newThread = document.getElementById("new-thread");
  if (newThread) threadsPage(newThread);
})();
