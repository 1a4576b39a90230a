// Live processing status: polls the clip API while the clip waits or is processed.
// Boxes are only marked live (data-clip-status) for such clips, so a failed clip's page
// never polls. A box marked data-reload-when-done reloads its page once when processing
// ends (to show the player, or the failed clip's page); list boxes just update in place.
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
    images: "Making previews",
    finishing: "Finishing",
    waiting: "Waiting its turn"
  };
  var stepWords = {
    pending: "",
    waiting: "Waiting its turn",
    done: "Done",
    skipped: "Not needed",
    failed: "Stopped here"
  };

  // The step list (clips/_status.html with show_steps): each step's state, and how far the
  // one under way is.
  function showSteps(box, clip) {
    var list = box.querySelector(".clip-steps");
    if (!list || !clip.steps) return;
    list.hidden = clip.status === "ready" || clip.status === "failed";
    clip.steps.forEach(function (step) {
      var item = list.querySelector('[data-step="' + step.name + '"]');
      if (!item) return;
      item.className = "clip-step step-" + step.state;
      item.querySelector(".step-state").textContent = step.state === "active"
        ? Math.round((clip.step_progress || 0) * 100) + "%"
        : stepWords[step.state] || "";
    });
  }

  function show(box, clip) {
    box.className = "clip-status status-" + clip.status;
    var label = labels[clip.status] || clip.status;
    if (clip.status === "processing" && steps[clip.step]) label += ": " + steps[clip.step].toLowerCase();
    box.querySelector(".status-label").textContent = label;
    var bar = box.querySelector("progress");
    bar.value = clip.progress;
    bar.textContent = Math.round(clip.progress * 100) + "%";
    bar.hidden = clip.status === "ready" || clip.status === "failed";
    showSteps(box, clip);
    var delay = box.querySelector(".clip-delay");
    if (delay) {
      delay.textContent = clip.delay || "";
      delay.hidden = !clip.delay;
    }
    var error = box.querySelector(".clip-error");
    error.textContent = clip.error || "";
    error.hidden = !clip.error;
  }

  function showMedia(clip) {
    var player = document.getElementById("player");
    if (!player) return;
    if (clip.media.video && !player.getAttribute("src")) {
      player.src = clip.media.video;
      var note = document.getElementById("not-playable");
      if (note) note.hidden = true;
    }
    if (clip.media.poster && !player.getAttribute("poster")) player.poster = clip.media.poster;
  }

  // The quick copy is deleted once the web rendition exists, so a player still reading it
  // (from the bucket, by a presigned link) would fail at its next seek. Load the video's
  // URL again, which now leads to the web rendition, at the same moment.
  function switchToWebRendition(player) {
    var at = player.currentTime;
    var wasPlaying = !player.paused;
    player.addEventListener("loadedmetadata", function resume() {
      player.removeEventListener("loadedmetadata", resume);
      try { player.currentTime = at; } catch (e) { /* not seekable yet */ }
      if (wasPlaying) player.play();
    });
    player.src = player.getAttribute("src");
  }

  function poll(box) {
    fetch(box.dataset.clipStatus, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return; // gone or no longer visible: stop asking
        var clip = data.clip;
        var player = document.getElementById("player");
        var hadVideo = !!(player && player.getAttribute("src"));
        show(box, clip);
        showMedia(clip);
        // The review page picks up what processing has made so far (length, waveform,
        // storyboard) from this event, without a reload.
        document.dispatchEvent(new CustomEvent("videocoach:clip", { detail: clip }));
        if (clip.status === "ready" || clip.status === "failed") {
          // Once, because this box only polls while the clip waits or is processed. A page
          // that already plays the quick copy keeps playing: only a failure redraws it. A
          // player given its source just now already reads the web rendition.
          var playing = player && clip.status === "ready";
          if (playing && hadVideo) switchToWebRendition(player);
          if (box.hasAttribute("data-reload-when-done") && !playing) window.location.reload();
          return;
        }
        window.setTimeout(function () { poll(box); }, 2000);
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, 5000); });
  }

  document.querySelectorAll("[data-clip-status]").forEach(function (box) { poll(box); });
})();
