// Documents page (docs/ui.md): each dropped or chosen file is uploaded on its own (XHR, so its progress shows), its
// ingest job is then polled until it has finished, and the reason of a refusal or a failure is shown beside the file.
// The list is reloaded once the uploads have settled. The delete buttons open the confirmation dialog.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function refreshList() {
    var list = document.getElementById("doc-list");
    if (!list || !window.htmx) return;
    var params = new URLSearchParams(window.location.search);
    params.set("kb", form.dataset.kb);
    params.delete("after");
    window.htmx.ajax("GET", form.dataset.listUrl + "?" + params.toString(), { target: list, swap: "innerHTML" });
  }

  var pending = 0;
  function settled() {
    pending -= 1;
    if (pending === 0) refreshList();
  }

  function outcome(job) {
    var r = job.result || {};
    if (job.status === "failed" && !(r.failures && r.failures.length)) return [false, job.error || "the job failed"];
    if (r.failures && r.failures.length) return [false, r.failures[0].reason];
    var parts = [];
    ["added", "updated", "unchanged"].forEach(function (k) { if (r[k]) parts.push(k); });
    return [true, "Ingested (" + (parts.join(", ") || "done") + "), " + (r.chunks_written || 0) + " chunks written."];
  }

  function poll(item, jobId, bar, status) {
    fetch("/documents/jobs/" + encodeURIComponent(jobId), { headers: { Accept: "application/json" } })
      .then(function (resp) { return resp.json().then(function (body) { return [resp.ok, body]; }); })
      .then(function (res) {
        if (!res[0]) { fail(item, status, res[1].error || "the job could not be read"); return; }
        var job = res[1].job;
        var p = job.progress;
        if (job.status === "queued" || job.status === "running") {
          status.textContent = job.status === "queued" ? "Waiting for the ingest worker…" :
            "Ingesting: " + p.chunks_embedded + " chunks embedded…";
          window.setTimeout(function () { poll(item, jobId, bar, status); }, 400);
          return;
        }
        var o = outcome(job);
        bar.value = 100;
        if (o[0]) { item.classList.add("done"); item.dataset.state = "done"; status.textContent = o[1]; settled(); }
        else fail(item, status, o[1]);
      })
      .catch(function () { fail(item, status, "the server could not be reached"); });
  }

  function fail(item, status, reason) {
    item.classList.add("failed");
    item.dataset.state = "failed";
    status.textContent = "Failed: " + reason;
    settled();
  }

  function send(file) {
    var list = document.getElementById("uploads");
    var item = el("li", "upload-item");
    item.dataset.file = file.name;
    item.dataset.state = "uploading";
    var head = el("div", "upload-head");
    head.appendChild(el("span", "upload-name", file.name));
    head.appendChild(el("span", "muted", (file.size / 1024).toFixed(1) + " KB"));
    var bar = el("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    var status = el("p", "upload-status", "Uploading…");
    item.appendChild(head);
    item.appendChild(bar);
    item.appendChild(status);
    list.appendChild(item);
    pending += 1;
    var maxBytes = parseFloat(form.dataset.maxMb) * 1024 * 1024;
    if (file.size > maxBytes) {
      fail(item, status, "too large (" + (file.size / 1048576).toFixed(1) + " MB; the limit is " +
        form.dataset.maxMb + " MB)");
      return;
    }
    var data = new FormData();
    data.append("file", file, file.name);
    data.append("kb", form.dataset.kb);
    data.append("tags", document.getElementById("f-upload-tags").value);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/documents/upload");
    xhr.setRequestHeader("X-CSRF-Token", window.ragwright.csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 90);
    });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
      if (xhr.status !== 202) {
        var msg = body.error;
        if (msg && typeof msg === "object") msg = msg.message;
        fail(item, status, msg || ("the upload was refused (" + xhr.status + ")"));
        return;
      }
      bar.value = 90;
      item.dataset.state = "ingesting";
      status.textContent = "Uploaded; waiting for the ingest worker…";
      poll(item, body.job.id, bar, status);
    });
    xhr.addEventListener("error", function () { fail(item, status, "the server could not be reached"); });
    xhr.send(data);
  }

  function sendAll(files) {
    for (var i = 0; i < files.length; i += 1) send(files[i]);
  }

  if (form) {
    var input = document.getElementById("f-files");
    var zone = document.getElementById("dropzone");
    input.addEventListener("change", function () { sendAll(input.files); input.value = ""; });
    form.addEventListener("submit", function (e) { e.preventDefault(); sendAll(input.files); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("dragover"); });
    });
    zone.addEventListener("drop", function (e) { if (e.dataTransfer) sendAll(e.dataTransfer.files); });
  }

  // Delete: the row's button fills and opens the confirmation dialog (the list may be swapped in by htmx).
  var dialog = document.getElementById("delete-dialog");
  document.addEventListener("click", function (e) {
    var target = e.target instanceof Element ? e.target : null;
    if (!target || !dialog) return;
    var button = target.closest("[data-delete]");
    if (button) {
      document.getElementById("delete-name").textContent = button.dataset.delete;
      document.getElementById("delete-doc-id").value = button.dataset.delete;
      dialog.showModal();
      return;
    }
    if (target.closest("[data-close-dialog]")) dialog.close();
  });

  // Times: shown in the reader's locale.
  function localTimes(root) {
    root.querySelectorAll("time[data-epoch]").forEach(function (t) {
      var d = new Date(parseFloat(t.dataset.epoch) * 1000);
      t.dateTime = d.toISOString();
      t.textContent = d.toLocaleString();
    });
  }
  localTimes(document);
  document.addEventListener("htmx:afterSwap", function (e) { localTimes(e.target); });
})();
