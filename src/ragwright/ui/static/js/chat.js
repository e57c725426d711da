// The Chat page (docs/ui.md, "Chat"): ask, read the answer sentence by sentence as the server verifies it, open a
// citation in its source (PDFs through pdf.js, loaded only then; text with the span marked), rate the answer.
// Server endpoints come from the page's JSON config block; every POST carries the session's CSRF token.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("chat-config").textContent);
  var form = document.getElementById("ask-form");
  var input = document.getElementById("question");
  var kbSelect = document.getElementById("kb");
  var askButton = document.getElementById("ask-button");
  var conversation = document.getElementById("conversation");
  var status = document.getElementById("chat-status");
  var panel = document.getElementById("source-panel");
  var history = [];
  var busy = false;
  var enterAt = null;
  // What a test (or a curious user) can read: ms from Enter to the first sentence on screen, per question.
  var timings = [];
  window.ragwrightChat = { timings: timings };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function location(c) {
    var parts = [c.doc_id].concat(c.heading_path || []);
    if (c.page !== null && c.page !== undefined) parts.push("page " + c.page);
    return parts.join(" › ");
  }

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") enterAt = event.timeStamp; // the Performance API's clock (ms since timeOrigin)
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ask(enterAt !== null ? enterAt : event.timeStamp);
    enterAt = null;
  });
  document.getElementById("new-conversation").addEventListener("click", function () {
    history = [];
    conversation.textContent = "";
    closePanel();
    status.textContent = "New conversation started.";
    input.focus();
  });
  kbSelect.addEventListener("change", function () {
    history = []; // another knowledge base: earlier turns would mislead the follow-up rewrite
    status.textContent = "Knowledge base " + kbSelect.value + ": a new conversation starts with the next question.";
  });

  // -- asking and streaming ---------------------------------------------------------------------------------------

  function ask(startedAt) {
    var question = input.value.trim();
    if (!question || busy) return;
    busy = true;
    askButton.disabled = true;
    var kb = kbSelect.value;
    var turn = newTurn(question, kb);
    conversation.appendChild(turn.li);
    input.value = "";
    status.textContent = "Answering…";
    var body = { question: question, knowledge_base: kb, history: history.slice(-10) };
    fetch(config.stream, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        "X-CSRF-Token": window.ragwright.csrf
      },
      body: JSON.stringify(body),
      credentials: "same-origin"
    })
      .then(function (response) {
        if (!response.ok) {
          return response.json().then(
            function (b) { throw new Error((b.error && b.error.message) || "The request failed (" + response.status + ")."); },
            function () { throw new Error("The request failed (" + response.status + ")."); }
          );
        }
        return readEvents(response, function (name, data) {
          if (name === "delta") {
            addSentence(turn, data);
            if (!turn.timed) {
              turn.timed = true;
              requestAnimationFrame(function () {
                // after the frame that shows it: from Enter to the first sentence on screen
                var end = performance.now();
                performance.measure("rw-first-sentence", { start: startedAt, end: end });
                timings.push(end - startedAt);
              });
            }
          } else if (name === "done") {
            finish(turn, data);
          } else if (name === "error") {
            throw new Error(data.message || "The answer stopped with an error.");
          }
        });
      })
      .catch(function (err) {
        fail(turn, err.message || String(err));
      })
      .then(function () {
        busy = false;
        askButton.disabled = false;
      });
  }

  function readEvents(response, handle) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true });
        var cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          var block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          var name = "message";
          var data = "";
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event: ") === 0) name = line.slice(7);
            else if (line.indexOf("data: ") === 0) data += line.slice(6);
          });
          if (data) handle(name, JSON.parse(data));
        }
        return pump();
      });
    }
    return pump();
  }

  function newTurn(question, kb) {
    var li = el("li", "turn");
    var q = el("p", "turn-question");
    q.appendChild(el("span", "visually-hidden", "You asked: "));
    q.appendChild(document.createTextNode(question));
    li.appendChild(q);
    var answer = el("div", "answer");
    answer.setAttribute("aria-busy", "true");
    var text = el("p", "answer-text");
    var pending = el("span", "answer-pending muted", "Searching the documents…");
    text.appendChild(pending);
    answer.appendChild(text);
    li.appendChild(answer);
    return { li: li, answer: answer, text: text, pending: pending, question: question, kb: kb,
             citations: {}, sentences: [], timed: false, done: null };
  }

  function addSentence(turn, data) {
    if (turn.pending) {
      turn.pending.remove();
      turn.pending = null;
    }
    (data.citations || []).forEach(function (c) { turn.citations[c.n] = c; });
    var span = el("span", "sentence");
    var parts = data.text.split(/(\[\d+\])/);
    parts.forEach(function (part) {
      var m = /^\[(\d+)\]$/.exec(part);
      if (m && turn.citations[m[1]]) span.appendChild(citeButton(turn, turn.citations[m[1]]));
      else if (part) span.appendChild(document.createTextNode(part));
    });
    if (turn.sentences.length) turn.text.appendChild(document.createTextNode(" "));
    turn.text.appendChild(span);
    turn.sentences.push(data.text);
  }

  function citeButton(turn, c) {
    var b = el("button", "cite", "[" + c.n + "]");
    b.type = "button";
    b.setAttribute("aria-label", "Source " + c.n + ": " + location(c));
    b.dataset.n = c.n;
    b.addEventListener("click", function () { openSource(c, turn.kb, b); });
    return b;
  }

  function finish(turn, answer) {
    turn.done = answer;
    if (turn.pending) {
      turn.pending.remove();
      turn.pending = null;
    }
    if (!turn.sentences.length) {
      addSentence(turn, { text: answer.text, citations: answer.citations });
    }
    turn.answer.setAttribute("aria-busy", "false");
    if (answer.abstained) {
      turn.answer.classList.add("abstained");
      turn.li.appendChild(closestList(turn, answer.closest || []));
    }
    turn.li.appendChild(meta(turn, answer));
    history.push({ role: "user", content: turn.question });
    history.push({ role: "assistant", content: answer.text });
    status.textContent = answer.abstained ? "No answer found in the documents." : "Answer complete.";
  }

  function fail(turn, message) {
    if (turn.pending) {
      turn.pending.remove();
      turn.pending = null;
    }
    turn.answer.setAttribute("aria-busy", "false");
    var p = el("p", "notice notice-error", message);
    p.setAttribute("role", "alert");
    turn.answer.appendChild(p);
    status.textContent = "The answer failed.";
  }

  function closestList(turn, closest) {
    var box = el("div", "closest");
    box.appendChild(el("h3", "", "Closest passages in the documents"));
    if (!closest.length) {
      box.appendChild(el("p", "muted", "No passage came close."));
      return box;
    }
    var list = el("ol", "closest-list");
    closest.forEach(function (c) {
      var item = el("li");
      item.appendChild(el("p", "closest-snippet", c.snippet));
      var open = el("button", "btn btn-quiet", "Open in source");
      open.type = "button";
      open.setAttribute("aria-label", "Open passage " + c.n + " in " + location(c));
      open.addEventListener("click", function () { openSource(c, turn.kb, open); });
      var where = el("p", "muted closest-where", location(c));
      item.appendChild(where);
      item.appendChild(open);
      list.appendChild(item);
    });
    box.appendChild(list);
    return box;
  }

  function pct(x) { return Math.round(x * 100) + " %"; }

  function meta(turn, answer) {
    var box = el("div", "answer-meta");
    var facts = el("dl", "facts");
    function fact(name, value) {
      if (value === null || value === undefined || value === "") return;
      facts.appendChild(el("dt", "", name));
      facts.appendChild(el("dd", "", value));
    }
    fact("Answerability", answer.answerability !== null && answer.answerability !== undefined ? pct(answer.answerability) : "");
    fact("Answered by", answer.model ? answer.answered_by + " (" + answer.model + ")" : answer.answered_by);
    fact("Prompt", answer.prompt ? answer.prompt.name + " v" + answer.prompt.version : "none (extractive)");
    if (answer.rewritten_question) fact("Searched for", answer.rewritten_question);
    box.appendChild(facts);

    var actions = el("div", "answer-actions");
    var copy = el("button", "btn btn-quiet", "Copy");
    copy.type = "button";
    copy.setAttribute("aria-label", "Copy the answer");
    var said = el("span", "muted copy-status");
    said.setAttribute("role", "status");
    copy.addEventListener("click", function () {
      copyText(withSources(answer)).then(
        function () { said.textContent = "Copied."; },
        function () { said.textContent = "Copy failed: select the text instead."; }
      );
    });
    actions.appendChild(copy);
    actions.appendChild(said);
    box.appendChild(actions);
    box.appendChild(feedbackForm(turn, answer));
    return box;
  }

  function withSources(answer) {
    var lines = (answer.citations || []).map(function (c) { return "[" + c.n + "] " + location(c); });
    return lines.length ? answer.text + "\n\nSources:\n" + lines.join("\n") : answer.text;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = el("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      area.remove();
      if (ok) resolve(); else reject(new Error("copy"));
    });
  }

  var feedbackCount = 0;

  function feedbackForm(turn, answer) {
    var id = "fb-" + (++feedbackCount);
    var fs = el("fieldset", "feedback");
    fs.appendChild(el("legend", "", "Was this answer helpful?"));
    var row = el("div", "feedback-row");
    var rating = null;
    var up = el("button", "btn btn-quiet thumb", "Thumbs up");
    var down = el("button", "btn btn-quiet thumb", "Thumbs down");
    [up, down].forEach(function (b) { b.type = "button"; b.setAttribute("aria-pressed", "false"); });
    up.setAttribute("aria-label", "Thumbs up: helpful");
    down.setAttribute("aria-label", "Thumbs down: not helpful");
    row.appendChild(up);
    row.appendChild(down);
    fs.appendChild(row);
    var more = el("div", "feedback-more");
    more.hidden = true;
    var label = el("label", "", "Comment (optional)");
    label.htmlFor = id;
    var area = el("textarea");
    area.id = id;
    area.rows = 2;
    area.maxLength = 4000;
    var send = el("button", "btn btn-primary", "Send feedback");
    send.type = "button";
    more.appendChild(label);
    more.appendChild(area);
    more.appendChild(send);
    fs.appendChild(more);
    var said = el("p", "muted feedback-status");
    said.setAttribute("role", "status");
    fs.appendChild(said);
    function choose(value) {
      rating = value;
      up.setAttribute("aria-pressed", String(value === "up"));
      down.setAttribute("aria-pressed", String(value === "down"));
      more.hidden = false;
      area.focus();
    }
    up.addEventListener("click", function () { choose("up"); });
    down.addEventListener("click", function () { choose("down"); });
    send.addEventListener("click", function () {
      if (!rating) return;
      send.disabled = true;
      var cited = (answer.abstained ? answer.closest : answer.citations) || [];
      var payload = {
        knowledge_base: turn.kb,
        rating: rating,
        comment: area.value,
        question: answer.question,
        answer: answer.text,
        abstained: answer.abstained,
        cited_docs: cited.map(function (c) { return c.doc_id; }),
        cited_chunks: cited.map(function (c) { return c.chunk_id; }),
        model: answer.model,
        prompt_version: answer.prompt ? answer.prompt.name + "@" + answer.prompt.version : null,
        answerability: answer.answerability,
        trace_id: answer.trace_id,
        history: turn.history || []
      };
      fetch(config.feedback, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": window.ragwright.csrf },
        body: JSON.stringify(payload),
        credentials: "same-origin"
      }).then(function (r) {
        if (r.status !== 201) throw new Error(String(r.status));
        said.textContent = "Thank you: your feedback was saved.";
        more.hidden = true;
      }).catch(function (err) {
        said.textContent = "Your feedback could not be saved (" + err.message + "). Try again.";
        send.disabled = false;
      });
    });
    turn.history = history.slice(-10);
    return fs;
  }

  // -- the source panel ---------------------------------------------------------------------------------------------

  var opener = null;
  var openToken = 0;
  var pdfjs = null;
  var pdfDocs = {};

  document.getElementById("source-close").addEventListener("click", closePanel);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) closePanel();
  });

  function closePanel() {
    if (panel.hidden) return;
    panel.hidden = true;
    openToken++;
    if (opener && document.body.contains(opener)) opener.focus();
    opener = null;
  }

  function show(id, on) { document.getElementById(id).hidden = !on; }

  function openSource(c, kb, button) {
    var token = ++openToken;
    opener = button;
    panel.hidden = false;
    panel.dataset.state = "loading";
    document.getElementById("source-title").textContent = "Source " + c.n;
    document.getElementById("source-where").textContent = location(c);
    document.getElementById("source-loading").textContent = "Opening the source…";
    show("source-note", false);
    show("source-pdf", false);
    show("source-text", false);
    show("source-rendered", false);
    show("source-toggle", false);
    show("source-quote", false);
    document.getElementById("source-title").focus();
    var params = new URLSearchParams({
      doc_id: c.doc_id, chunk_id: c.chunk_id, start: String(c.char_start), end: String(c.char_end),
      knowledge_base: kb
    });
    fetch(config.source + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) {
        return r.json().then(function (b) {
          if (!r.ok) throw new Error((b.error && b.error.message) || "The source could not be opened.");
          return b;
        });
      })
      .then(function (view) {
        if (token !== openToken) return null;
        if (view.note) {
          var note = document.getElementById("source-note");
          note.textContent = view.note;
          note.hidden = false;
        }
        document.getElementById("source-highlighted").textContent = view.highlighted;
        show("source-quote", true);
        return view.kind === "pdf" ? showPdf(view, token) : showText(view);
      })
      .then(function () {
        if (token !== openToken) return;
        document.getElementById("source-loading").textContent = "";
        panel.dataset.state = "ready";
      })
      .catch(function (err) {
        if (token !== openToken) return;
        document.getElementById("source-loading").textContent = err.message || String(err);
        panel.dataset.state = "error";
      });
  }

  function showText(view) {
    var pre = document.getElementById("source-text");
    pre.textContent = "";
    var at = 0;
    view.marks.forEach(function (m) {
      if (m.start > at) pre.appendChild(document.createTextNode(view.text.slice(at, m.start)));
      pre.appendChild(el("mark", "source-mark", view.text.slice(m.start, m.end)));
      at = m.end;
    });
    pre.appendChild(document.createTextNode(view.text.slice(at)));
    var rendered = document.getElementById("source-rendered");
    var toggle = document.getElementById("source-toggle");
    // A Markdown file comes rendered by the server (raw HTML escaped, no images), the span in <mark>; the file's
    // own text stays one click away.
    rendered.innerHTML = view.html || "";
    toggle.hidden = !view.html;
    showRendered(!!view.html);
  }

  function showRendered(on) {
    var rendered = document.getElementById("source-rendered");
    var pre = document.getElementById("source-text");
    rendered.hidden = !on;
    pre.hidden = on;
    document.getElementById("source-toggle").textContent = on ? "Show the file's text" : "Show it rendered";
    var first = (on ? rendered : pre).querySelector("mark");
    if (first) first.scrollIntoView({ block: "center" });
  }

  document.getElementById("source-toggle").addEventListener("click", function () {
    showRendered(document.getElementById("source-rendered").hidden);
  });

  function loadPdfjs() {
    if (!pdfjs) {
      pdfjs = import(config.pdfjs).then(function (lib) {
        lib.GlobalWorkerOptions.workerSrc = config.pdfjsWorker;
        return lib;
      });
    }
    return pdfjs;
  }

  function showPdf(view, token) {
    var box = document.getElementById("pdf-page");
    box.dataset.page = "";
    return loadPdfjs().then(function (lib) {
      var url = view.original_url;
      if (!pdfDocs[url]) pdfDocs[url] = lib.getDocument({ url: url, withCredentials: true }).promise;
      return pdfDocs[url];
    }).then(function (doc) {
      if (token !== openToken) return null;
      return doc.getPage(view.page).then(function (page) {
        if (token !== openToken) return null;
        show("source-pdf", true);
        var canvas = document.getElementById("pdf-canvas");
        var width = Math.max(200, box.clientWidth || 600);
        var base = page.getViewport({ scale: 1 });
        var viewport = page.getViewport({ scale: width / base.width });
        var ratio = window.devicePixelRatio || 1;
        canvas.width = Math.floor(viewport.width * ratio);
        canvas.height = Math.floor(viewport.height * ratio);
        canvas.style.width = Math.floor(viewport.width) + "px";
        canvas.style.height = Math.floor(viewport.height) + "px";
        var label = document.getElementById("pdf-page-label");
        label.textContent = "Page " + view.page + " of " + doc.numPages + " of " + view.doc_id;
        return page.render({
          canvas: canvas,
          canvasContext: canvas.getContext("2d"),
          viewport: viewport,
          transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : null
        }).promise.then(function () {
          if (token !== openToken) return;
          drawMarks(view, viewport);
          box.dataset.page = String(view.page);
        });
      });
    });
  }

  function drawMarks(view, viewport) {
    var layer = document.getElementById("pdf-marks");
    layer.textContent = "";
    var first = null;
    view.rects.forEach(function (r) {
      if (r.page !== view.page) return;
      var a = viewport.convertToViewportPoint(r.left, r.bottom);
      var b = viewport.convertToViewportPoint(r.right, r.top);
      var box = [a[0], a[1], b[0], b[1]];
      var left = Math.min(box[0], box[2]);
      var top = Math.min(box[1], box[3]);
      var div = el("div", "pdf-mark");
      div.style.left = left + "px";
      div.style.top = top + "px";
      div.style.width = Math.abs(box[2] - box[0]) + "px";
      div.style.height = Math.abs(box[3] - box[1]) + "px";
      layer.appendChild(div);
      first = first || div;
    });
    if (first) first.scrollIntoView({ block: "center" });
  }
})();
