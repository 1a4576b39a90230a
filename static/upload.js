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
  var chosen = document.getElementById("file-chosen");
  var prompt = document.getElementById("drop-prompt");
  var maxBytes = Number(form.dataset.maxBytes);
  var upload = null;
  // What the server accepts besides video/* (browsers give .mkv, .mts and some .avi no type).
  var VIDEO_NAME = /\.(mov|mp4|m4v|avi|webm|mkv|3gp|mts|m2ts|wmv|mpg|mpeg)$/i;
  var readingLength = null;
  // A refusal the server drew into the page (the day's uploads are used up) stays in view.
  var refusal = fileError.hidden ? "" : fileError.textContent;

  function showError(message) {
    fileError.textContent = message || refusal;
    fileError.hidden = !(message || refusal);
    fileInput.setAttribute("aria-invalid", message ? "true" : "false");
  }

  function formatBytes(bytes) {
    if (bytes >= 1e9) return (bytes / 1e9).toFixed(2) + " GB";
    if (bytes >= 1e6) return (bytes / 1e6).toFixed(1) + " MB";
    return Math.max(1, Math.round(bytes / 1e3)) + " kB";
  }

  function formatDuration(seconds) {
    var s = Math.round(seconds);
    var clock = Math.floor(s / 60) % 60 + ":" + String(s % 60).padStart(2, "0");
    return s >= 3600 ? Math.floor(s / 3600) + ":" + clock.padStart(5, "0") : clock;
  }

  function isVideo(file) {
    return file.type.indexOf("video/") === 0 || VIDEO_NAME.test(file.name);
  }

  // The file's length, as the browser reads it from the file itself (no upload needed).
  // A format the browser cannot play (many .avi, some .mov) has none: the server still can.
  function readLength(file, done) {
    if (readingLength) readingLength.abort();
    var video = document.createElement("video");
    var url = URL.createObjectURL(file);
    var finished = false;
    function finish(seconds) {
      if (finished) return;
      finished = true;
      URL.revokeObjectURL(url);
      video.removeAttribute("src");
      done(seconds);
    }
    readingLength = { abort: function () { finished = true; URL.revokeObjectURL(url); } };
    video.preload = "metadata";
    video.muted = true;
    video.addEventListener("loadedmetadata", function () {
      finish(isFinite(video.duration) ? video.duration : null);
    });
    video.addEventListener("error", function () { finish(null); });
    video.src = url;
  }

  // A file was chosen (picker or drop): say what it is, or why it will not do.
  function fileChosen() {
    var file = fileInput.files[0];
    if (!file) {
      chosen.hidden = true;
      dropZone.classList.remove("has-file");
      prompt.textContent = "Choose a video, or drop it here";
      return;
    }
    document.getElementById("file-name").textContent = file.name;
    document.getElementById("file-size").textContent = formatBytes(file.size);
    var length = document.getElementById("file-duration");
    length.textContent = "";
    chosen.hidden = false;
    dropZone.classList.add("has-file");
    prompt.textContent = "Choose another video, or drop it here";
    if (!isVideo(file)) {
      dropZone.classList.add("not-video");
      return showError("“" + file.name + "” is not a video. Choose a video file, such as the MP4 or MOV your phone or camera made.");
    }
    dropZone.classList.remove("not-video");
    if (file.size > maxBytes) {
      showError("This file is larger than the " + formatBytes(maxBytes) + " limit.");
    } else {
      showError("");
    }
    length.textContent = "Reading its length…";
    readLength(file, function (seconds) {
      if (fileInput.files[0] !== file) return; // another file was chosen meanwhile
      length.textContent = seconds !== null ? formatDuration(seconds) : "Length shown once processed";
    });
  }

  fileInput.addEventListener("change", fileChosen);
  if (fileInput.files.length) fileChosen(); // kept by the browser on the way back

  function hasFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") !== -1;
  }
  ["dragover", "dragenter"].forEach(function (name) {
    dropZone.addEventListener(name, function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      dropZone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropZone.addEventListener(name, function () { dropZone.classList.remove("dragging"); });
  });
  dropZone.addEventListener("drop", function (event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    var files = event.dataTransfer.files;
    if (!files.length) return;
    // One file: the input takes one, whatever was dropped.
    var one = new DataTransfer();
    one.items.add(files[0]);
    fileInput.files = one.files;
    fileChosen();
  });
  // A file dropped beside the target would make the browser leave the page to show it.
  ["dragover", "drop"].forEach(function (name) {
    window.addEventListener(name, function (event) {
      if (hasFiles(event) && !dropZone.contains(event.target)) event.preventDefault();
    });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = fileInput.files[0];
    if (!file) {
      showError("Choose a video file first.");
      return fileInput.focus();
    }
    if (!isVideo(file)) return fileInput.focus();
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
          refusal = message;
          return showError("");
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
