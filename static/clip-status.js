// Live processing status: polls the clip API until the clip is ready or failed.
(function () {
  "use strict";
  var labels = {
    queued: "Waiting to be processed",
    processing: "Processing",
    ready: "Ready",
    failed: "Could not be processed"
  };
  var steps = {
    probe: "Reading the file",
    playable: "Making it playable",
    checksum: "Checking the file",
    transcode: "Converting for the web",
    images: "Making previews"
  };

  function poll(box) {
    fetch(box.dataset.clipStatus, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        var clip = data.clip;
        box.className = "clip-status status-" + clip.status;
        var label = labels[clip.status] || clip.status;
        if (clip.status === "processing" && steps[clip.step]) label += ": " + steps[clip.step].toLowerCase();
        box.querySelector(".status-label").textContent = label;
        var bar = box.querySelector("progress");
        bar.value = clip.progress;
        bar.textContent = Math.round(clip.progress * 100) + "%";
        bar.hidden = clip.status === "ready" || clip.status === "failed";
        var error = box.querySelector(".clip-error");
        error.textContent = clip.error || "";
        error.hidden = !clip.error;
        var player = document.getElementById("player");
        if (player && clip.media.video && !player.getAttribute("src")) {
          player.src = clip.media.video;
          var note = document.getElementById("not-playable");
          if (note) note.hidden = true;
        }
        if (player && clip.media.poster && !player.getAttribute("poster")) player.poster = clip.media.poster;
        if (clip.status === "ready" || clip.status === "failed") {
          if (clip.status === "ready" && !player) window.location.reload();
          if (clip.status === "failed") window.location.reload();
          return;
        }
        window.setTimeout(function () { poll(box); }, 2000);
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, 5000); });
  }

  document.querySelectorAll("[data-clip-status]").forEach(function (box) { poll(box); });
})();
