// Meeting mode on the clip page: follow the driver's playback, see who is here, share
// notes and next steps, and see everyone's comments live. Loaded after review.js.
// Everything a person does is an API call; the Server-Sent Events stream only listens.
(function () {
  "use strict";

  var panel = document.getElementById("meeting");
  var review = window.videocoachReview;
  if (!panel || !review) return;

  var $ = function (id) { return document.getElementById(id); };
  var video = review.video;
  var api = review.api;
  var me = $("review").dataset.me;
  var urls = panel.dataset;
  // One id per open page: a page skips the playback events it caused itself.
  var clientId = Math.random().toString(36).slice(2) + Date.now().toString(36);
  var SYNC_EVERY_MS = 4000;    // the driver re-states the moment while playing
  var DRIFT_S = 0.4;           // followers correct drift beyond this while playing
  var PAUSED_DRIFT_S = 0.05;   // and this when paused (a frame or so)
  var NOTES_DELAY_MS = 700;

  var driver = null;           // {id, name}
  var present = [];
  var clockOffset = 0;         // server clock minus ours, in seconds
  var source = null;
  var ended = false;

  function isDriver() { return driver && driver.id === me; }
  function serverNow() { return Date.now() / 1000 + clockOffset; }
  function setStatus(text, live) {
    var box = $("live-status");
    box.textContent = text;
    box.classList.toggle("is-live", !!live);
  }

  // ---------- following the driver ----------
  var followButton = null;
  function playFollowing() {
    var p = video.play();
    if (p && p.catch) {
      p.catch(function () {
        // The browser wants a click before it plays sound: offer one.
        if (followButton) return;
        followButton = document.createElement("button");
        followButton.type = "button";
        followButton.className = "primary";
        followButton.id = "follow-play";
        followButton.textContent = "Press to play along with the driver";
        followButton.addEventListener("click", function () {
          followButton.remove();
          followButton = null;
          video.play();
        });
        $("driver-line").after(followButton);
      });
    }
  }
  function applyPlayback(p, withPlayState) {
    var target = p.position;
    if (p.playing && p.at) target += Math.max(0, serverNow() - p.at) * p.rate;
    // Only real differences are applied, so a page that drives too (the same person in a
    // second tab) echoes nothing back and no loop can start. What is applied is noted:
    // the video events it causes are not the driver's own news (see below).
    if (video.playbackRate !== p.rate) {
      applied.rate = p.rate;
      video.playbackRate = p.rate;
    }
    var drift = Math.abs(video.currentTime - target);
    if (drift > (p.playing ? DRIFT_S : PAUSED_DRIFT_S)) {
      applied.seek = target;
      review.seek(target);
    }
    if (!withPlayState) return;
    if (p.playing && video.paused) { applied.playing = true; playFollowing(); }
    if (!p.playing && !video.paused) { applied.playing = false; video.pause(); }
  }

  // ---------- driving ----------
  var sending = false;
  var sendAgain = false;
  // Set while applying someone else's state; the video event that follows is skipped.
  var applied = { seek: null, rate: null, playing: null };
  // Leaving the page stops its video; that is not the driver pausing for everyone.
  var leaving = false;
  window.addEventListener("beforeunload", function () { leaving = true; });
  window.addEventListener("pagehide", function () { leaving = true; });
  function sendPlayback() {
    if (!isDriver() || ended || leaving) return;
    if (sending) { sendAgain = true; return; }
    sending = true;
    api("PUT", urls.playbackUrl, {
      position: Math.round(video.currentTime * 1000) / 1000,
      playing: !video.paused,
      rate: video.playbackRate,
      client_id: clientId
    }).catch(function (error) { review.announce(error.message); })
      .then(function () {
        sending = false;
        if (sendAgain) { sendAgain = false; sendPlayback(); }
      });
  }
  function isApplied(name) {
    var was;
    if (name === "seeked") {
      was = applied.seek !== null && Math.abs(video.currentTime - applied.seek) < 0.05;
      applied.seek = null;
    } else if (name === "ratechange") {
      was = applied.rate === video.playbackRate;
      applied.rate = null;
    } else {
      was = applied.playing === (name === "play");
      applied.playing = null;
    }
    return was;
  }
  // A driver who reloads lands on the shared moment and speed; that must not pause or
  // move everyone else.
  ["play", "pause", "seeked", "ratechange"].forEach(function (name) {
    video.addEventListener(name, function () { if (!isApplied(name)) sendPlayback(); });
  });
  window.setInterval(function () { if (!video.paused) sendPlayback(); }, SYNC_EVERY_MS);

  function setDriver(next) {
    driver = next;
    var text = !driver ? "Nobody is driving." :
      isDriver() ? "You are driving." : driver.name + " is driving.";
    $("driver-text").textContent = text;
    $("driver-line").classList.remove("is-notice");
    $("driver-text").title = !driver ? "" : isDriver() ?
      "Everyone follows your play, pause, seek and speed." : "You follow their play, pause, seek and speed.";
    // A lone member has nobody to hand to (an empty list); with one partner it is a button.
    var handTo = $("hand-to");
    $("driver-controls").hidden = !isDriver() || (handTo.options && handTo.options.length === 0);
    $("follow-hint").hidden = isDriver();
    var driverHere = driver && present.some(function (p) { return p.id === driver.id; });
    $("take-over").hidden = isDriver() || !!driverHere;
    renderPresence();
  }
  function handTo(userId) {
    api("PUT", urls.driverUrl, { driver_id: userId })
      .then(function (data) { setDriver(data.meeting.playback.driver); })
      .catch(function (error) { review.announce(error.message); window.alert(error.message); });
  }
  $("hand-over").addEventListener("click", function () { handTo($("hand-to").value); });
  $("take-over").addEventListener("click", function () { handTo(me); });

  // ---------- presence ----------
  function renderPresence() {
    var list = $("presence");
    list.textContent = "";
    present.forEach(function (person) {
      var li = document.createElement("li");
      li.textContent = person.name + (person.id === me ? " (you)" : "");
      if (driver && person.id === driver.id) {
        var badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = "driving";
        li.appendChild(document.createTextNode(" "));
        li.appendChild(badge);
      }
      li.dataset.userId = person.id;
      list.appendChild(li);
    });
    $("alone-hint").hidden = present.some(function (p) { return p.id !== me; });
  }

  // ---------- notes ----------
  var notes = $("meeting-notes");
  var notesVersion = parseInt(notes.dataset.version, 10) || 0;
  var notesSaved = notes.value;
  var notesTimer = null;
  function saveNotes() {
    notesTimer = null;
    var text = notes.value;
    if (text === notesSaved) return;
    $("notes-status").textContent = "Saving…";
    api("PUT", urls.notesUrl, { notes: text, notes_version: notesVersion })
      .then(function (data) {
        notesVersion = data.meeting.notes_version;
        notesSaved = text;
        $("notes-status").textContent = "Saved.";
        if (notes.value !== text) scheduleNotes();
      })
      .catch(function (error) {
        $("notes-status").textContent = error.message;
        return api("GET", urls.meetingUrl).then(function (data) {
          $("notes-mine").value = text;
          $("notes-conflict").hidden = false;
          showRemoteNotes(data.meeting.notes, data.meeting.notes_version);
        });
      });
  }
  function scheduleNotes() {
    if (notesTimer) window.clearTimeout(notesTimer);
    notesTimer = window.setTimeout(saveNotes, NOTES_DELAY_MS);
  }
  function showRemoteNotes(text, version) {
    notesVersion = version;
    notesSaved = text;
    notes.value = text;
  }
  notes.addEventListener("input", scheduleNotes);
  notes.addEventListener("blur", function () { if (notesTimer) { window.clearTimeout(notesTimer); saveNotes(); } });

  // ---------- next steps ----------
  var steps = [];
  try { steps = JSON.parse($("meeting-steps-data").textContent) || []; } catch (e) { steps = []; }
  var goalTitles = {};
  Array.prototype.forEach.call($("step-goal").options, function (o) { if (o.value) goalTitles[o.value] = o.textContent; });
  function renderSteps() {
    var list = $("meeting-steps");
    list.textContent = "";
    $("tab-step-count").textContent = steps.length ? "(" + steps.length + ")" : "";
    if (!steps.length) {
      var empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = "None yet. Agree what happens next and add it here.";
      list.appendChild(empty);
    }
    steps.forEach(function (step) {
      var li = document.createElement("li");
      li.dataset.stepId = step.id;
      var label = document.createElement("label");
      label.className = "check";
      var box = document.createElement("input");
      box.type = "checkbox";
      box.checked = step.done;
      box.addEventListener("change", function () {
        api("PATCH", urls.stepUrl.replace("STEP_ID", encodeURIComponent(step.id)), { done: box.checked })
          .then(function (data) { upsertStep(data.next_step); })
          .catch(function (error) { box.checked = !box.checked; review.announce(error.message); });
      });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + step.text));
      li.appendChild(label);
      var facts = [];
      if (step.goal_id && goalTitles[step.goal_id]) facts.push("Goal: " + goalTitles[step.goal_id]);
      if (step.owner) facts.push(step.owner.name);
      if (step.due_on) facts.push("due " + step.due_on);
      if (facts.length) {
        var meta = document.createElement("span");
        meta.className = "muted";
        meta.textContent = " · " + facts.join(" · ");
        li.appendChild(meta);
      }
      list.appendChild(li);
    });
  }
  function upsertStep(step) {
    for (var i = 0; i < steps.length; i++) {
      if (steps[i].id === step.id) { steps[i] = step; renderSteps(); return; }
    }
    steps.push(step);
    renderSteps();
  }
  $("step-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("step-text").value.trim();
    var error = $("step-error");
    if (!text) { error.textContent = "Say what the next step is."; error.hidden = false; $("step-text").focus(); return; }
    error.hidden = true;
    api("POST", urls.stepsUrl, {
      text: text,
      goal_id: $("step-goal").value || null,
      owner_id: $("step-owner").value || null,
      due_on: $("step-due").value || null,
      meeting_id: $("review").dataset.meeting
    }).then(function (data) {
      upsertStep(data.next_step);
      $("step-text").value = "";
      $("step-due").value = "";
      review.announce("Next step added.");
    }).catch(function (err) { error.textContent = err.message; error.hidden = false; });
  });

  // ---------- copy link ----------
  $("copy-link").addEventListener("click", function () {
    var link = window.location.href.split("#")[0];
    var done = function () { $("copy-result").textContent = "Link copied. Only members of this partnership can open it."; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(link).then(done, function () { $("copy-result").textContent = link; });
    } else {
      $("copy-result").textContent = link;
    }
  });

  // ---------- the live stream ----------
  function handle(kind, handler) {
    source.addEventListener(kind, function (message) {
      var data = JSON.parse(message.data);
      if (data.server_time) clockOffset = data.server_time - Date.now() / 1000;
      handler(data);
    });
  }
  function connect() {
    source = new EventSource(urls.eventsUrl);
    source.onopen = function () { setStatus("live", true); };
    source.onerror = function () {
      if (ended) return;
      if (source.readyState === EventSource.CLOSED) {
        setStatus("disconnected");
        // Refused for good (404: no longer a member; 409: ended). Ask why.
        api("GET", urls.meetingUrl).then(function (data) {
          if (data.meeting.ended_at) window.location.href = urls.recordUrl;
          else window.setTimeout(connect, 2000);
        }).catch(function (error) { leave(error.message); });
      } else {
        setStatus("reconnecting…");
      }
    };
    handle("hello", function (state) {
      present = state.present;
      setDriver(state.playback.driver);
      applyPlayback(state.playback, true);
      showRemoteNotes(state.notes, state.notes_version);
      panel.dataset.live = "true";
    });
    handle("playback", function (p) {
      if (p.client_id === clientId) return;
      applyPlayback(p, true);
    });
    handle("driver", function (data) {
      setDriver(data.driver);
      applyPlayback(data.playback, false);
      review.announce(isDriver() ? "You are driving now." : (data.driver ? data.driver.name + " is driving now." : ""));
    });
    handle("presence", function (data) { present = data.present; setDriver(driver); });
    handle("comment", function (c) {
      delete c.server_time;
      review.upsertComment(c);
      if (c.author && c.author.id !== me) markNew("tab-comments");
    });
    handle("comment_deleted", function (data) { review.removeComment(data.id); });
    handle("notes", function (data) {
      if (data.version <= notesVersion) return;
      // With unsaved typing here, keep it: the next save gets a 409 and shows both texts.
      if (notes.value === notesSaved) {
        showRemoteNotes(data.notes, data.version);
        markNew("tab-notes");
      }
    });
    handle("next_step", function (step) { delete step.server_time; upsertStep(step); markNew("tab-steps"); });
    handle("next_step_deleted", function (data) {
      steps = steps.filter(function (s) { return s.id !== data.id; });
      renderSteps();
    });
    handle("resync", function () { source.close(); connect(); });
    handle("ended", function () {
      ended = true;
      source.close();
      setStatus("ended");
      // The person who pressed "End meeting" is already on the way to the record; a second
      // navigation would cut that one off.
      if (!leaving) window.location.href = urls.recordUrl;
    });
    handle("bye", function (data) {
      if (data.code === "replaced") standAside(data.reason);
      else leave(data.reason);
    });
  }
  // This person opened the meeting elsewhere (more tabs or devices than they may have
  // open), and this page's stream made way. It never reconnects by itself, or it would
  // push out the newer page, which would push this one out again; a click brings it back.
  var followHere = null;
  function standAside(reason) {
    ended = true;
    if (source) source.close();
    setStatus("paused");
    panel.dataset.live = "false";
    $("driver-text").textContent = reason;
    $("driver-line").classList.add("is-notice");
    review.announce(reason);
    if (followHere) return;
    followHere = document.createElement("button");
    followHere.type = "button";
    followHere.className = "primary small";
    followHere.id = "follow-here";
    followHere.textContent = "Follow the meeting on this page";
    followHere.addEventListener("click", function () {
      followHere.remove();
      followHere = null;
      ended = false;
      setStatus("connecting…");
      connect();
    });
    $("driver-line").after(followHere);
  }
  function leave(reason) {
    ended = true;
    if (source) source.close();
    setStatus("disconnected");
    document.querySelectorAll("#meeting button, #panel-notes textarea, #panel-steps button, " +
      "#panel-steps input, #panel-steps select").forEach(function (n) { n.disabled = true; });
    $("driver-text").textContent = reason;
    $("driver-line").classList.add("is-notice");
    review.announce(reason);
  }


  // ---------- the tabs beside the video (static/tabs.js) ----------
  // News in a tab that is not open shows on the tab itself ("Notes new"), until it is opened.
  function markNew(tabId) {
    var tab = $(tabId);
    if (!tab || tab.getAttribute("aria-selected") === "true") return;
    tab.querySelector(".tab-new").hidden = false;
    tab.classList.add("has-new");
  }
  document.addEventListener("videocoach:tab", function (event) {
    var tab = $(event.detail.id);
    var news = tab && tab.querySelector(".tab-new");
    if (!news) return;
    news.hidden = true;
    tab.classList.remove("has-new");
  });
  function showComments() { if (window.videocoachTabs) window.videocoachTabs.select("tab-comments"); }
  // What review.js does with the composer or the list (c, [ and ], a marker, a Shift-drag,
  // a link to a comment) needs the Comments tab open: bring it forward first. Capturing
  // listeners run before review.js's own.
  window.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    if (["c", "C", "[", "]"].indexOf(event.key) >= 0) showComments();
  }, true);
  $("timeline").addEventListener("pointerdown", function (event) {
    if (event.shiftKey || (event.target.closest && event.target.closest(".marker"))) showComments();
  }, true);
  window.addEventListener("hashchange", function () {
    if (/^#comment-/.test(window.location.hash)) showComments();
  }, true);
  // The comment count review.js keeps under the (hidden) Comments heading, on the tab.
  var count = $("comment-count");
  new MutationObserver(function () { $("tab-comment-count").textContent = count.textContent; })
    .observe(count, { childList: true, characterData: true, subtree: true });

  // On a wide screen the video, the timeline and the tabs fit the window together: the
  // CSS sizes them from how far down the page they start (a flash message, a long title).
  function measureTop() {
    var top = $("review").getBoundingClientRect().top + window.scrollY;
    document.documentElement.style.setProperty("--meeting-top", Math.round(top) + "px");
  }
  measureTop();
  window.addEventListener("resize", measureTop);
  // The bar grows a line when presence fills in or a message shows.
  if (window.ResizeObserver) new ResizeObserver(measureTop).observe(panel);

  renderSteps();
  connect();
})();
