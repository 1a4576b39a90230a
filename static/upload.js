// Resumable upload with tus-js-client: survives dropped connections and page reloads.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.tus) return;
  var fileInput = document.getElementById("file");
  var fileError = document.getElementById("file-error");
  var panel = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var text = document.getElementById("upload-text");
  var pauseButton = document.getElementById("pause");
  var resumeButton = document.getElementById("resume");
  var dropZone = document.getElementById("drop-zone");
  var maxBytes = Number(form.dataset.maxBytes);
  var upload = null;

  function showError(message) {
    fileError.textContent = message;
    fileError.hidden = !message;
    fileInput.setAttribute("aria-invalid", message ? "true" : "false");
  }

  function formatBytes(bytes) {
    if (bytes >= 1e9) return (bytes / 1e9).toFixed(2) + " GB";
    if (bytes >= 1e6) return (bytes / 1e6).toFixed(1) + " MB";
    return Math.round(bytes / 1e3) + " kB";
  }

  ["dragover", "dragenter"].forEach(function (name) {
    dropZone.addEventListener(name, function (event) {
      event.preventDefault();
      dropZone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropZone.addEventListener(name, function () { dropZone.classList.remove("dragging"); });
  });
  dropZone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer.files.length) fileInput.files = event.dataTransfer.files;
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = fileInput.files[0];
    if (!file) return showError("Choose a video file first.");
    if (file.size > maxBytes) return showError("This file is larger than the " + formatBytes(maxBytes) + " limit.");
    showError("");
    var visibility = form.querySelector("input[name=visibility]:checked").value;
    var clipId = null;
    var started = Date.now();
    upload = new tus.Upload(file, {
      endpoint: form.dataset.endpoint,
      chunkSize: 16 * 1024 * 1024,
      // Keep retrying through a weak school connection: up to about ten minutes.
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000, 60000, 60000, 60000, 60000, 60000, 60000, 60000, 60000],
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      headers: { "X-CSRFToken": form.dataset.csrf },
      metadata: {
        partnership_id: form.dataset.partnership,
        filename: file.name,
        title: document.getElementById("title").value,
        visibility: visibility,
        recorded_on: document.getElementById("recorded_on").value
      },
      onProgress: function (sent, total) {
        var percent = total ? (sent / total) * 100 : 0;
        bar.value = percent;
        var seconds = (Date.now() - started) / 1000;
        var rate = seconds > 1 ? sent / seconds : 0;
        var left = rate ? Math.round((total - sent) / rate) : null;
        text.textContent = percent.toFixed(0) + "% · " + formatBytes(sent) + " of " + formatBytes(total) +
          (left !== null ? " · about " + (left > 90 ? Math.round(left / 60) + " min" : left + " s") + " left" : "");
      },
      onShouldRetry: function (error, retryAttempt) {
        text.textContent = "Connection lost. Trying again (" + (retryAttempt + 1) + ")… the upload will continue where it stopped.";
        var status = error.originalResponse ? error.originalResponse.getStatus() : 0;
        // 429 here is the daily upload allowance: trying again before midnight cannot help.
        return !(status === 403 || status === 404 || status === 413 || status === 422 || status === 429);
      },
      onAfterResponse: function (req, res) {
        var id = res.getHeader("Videocoach-Clip-Id");
        if (id) clipId = id;
      },
      onError: function (error) {
        var body = error.originalResponse ? error.originalResponse.getBody() : "";
        var message = "The upload stopped: " + (error.message || error);
        try { message = JSON.parse(body).error.message; } catch (ignored) { /* not JSON */ }
        if (error.originalResponse && error.originalResponse.getStatus() === 429) {
          // Refused before a byte was sent: back to the form, with the reason beside the file.
          panel.hidden = true;
          form.hidden = false;
          return showError(message);
        }
        text.textContent = message;
        pauseButton.hidden = true;
        resumeButton.hidden = false;
      },
      onSuccess: function () {
        bar.value = 100;
        text.textContent = "Uploaded. Preparing the video…";
        if (clipId) window.location.assign(form.dataset.clipUrl.replace("CLIP_ID", clipId));
      }
    });
    form.hidden = true;
    panel.hidden = false;
    document.getElementById("upload-file-name").textContent = file.name + " (" + formatBytes(file.size) + ")";
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
        text.textContent = "Resuming an earlier upload of this file…";
      }
      upload.start();
    });
  });

  pauseButton.addEventListener("click", function () {
    if (!upload) return;
    upload.abort();
    pauseButton.hidden = true;
    resumeButton.hidden = false;
    text.textContent = "Paused. " + text.textContent;
  });
  resumeButton.addEventListener("click", function () {
    if (!upload) return;
    upload.start();
    resumeButton.hidden = true;
    pauseButton.hidden = false;
  });
})();
